/**
 * A file that changes while it is hashed is an error (FILE_CHANGED), never a silent wrong digest
 * (SPEC section 3). Driven deterministically through the library's progress callback, which runs
 * on the main thread between units of hashing work. Shards are 8 MiB, so that each is a unit of
 * its own (small files and shards may be hashed together in one unit), and files are sparse, so
 * that this costs little.
 */
import assert from 'node:assert/strict';
import { appendFileSync, closeSync, ftruncateSync, openSync, readFileSync, renameSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { generateSecretKey, MsSignError, secretKeySigner } from '@ms-sign/core';
import { loadVerifiedModel, ModelVerificationError, signModel, verifyModel } from '@ms-sign/core/node';
import { sha256, trustKeys } from '../helpers/crafted.js';
import { tempDir } from '../helpers/index.js';

const SHARD = 8 * 1024 * 1024;
const key = generateSecretKey();
const trust = trustKeys(key.publicKey);

/** Calls `change` once, at the first progress report (after the first hash task or batch). */
function once(change: () => void): (done: number, total: number) => void {
  let fired = false;
  return () => {
    if (fired) return;
    fired = true;
    change();
  };
}

/** A sparse file of `size` bytes with some distinct bytes at the start of every shard. */
function sparseFile(path: string, size: number, salt = 0): void {
  const fd = openSync(path, 'w');
  ftruncateSync(fd, size);
  for (let offset = 0; offset < size; offset += SHARD) writeSync(fd, Buffer.from(`shard at ${offset}, salt ${salt}`), 0, undefined, offset);
  closeSync(fd);
  // An old modification time, so that any later write visibly changes it.
  utimesSync(path, new Date('2001-01-01'), new Date('2001-01-01'));
}

function threeShardFile(path: string): void {
  sparseFile(path, 3 * SHARD);
}

/** Writes other bytes into the third shard, keeping the size. */
function rewriteInPlace(path: string): void {
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.from('REWRITTEN'), 0, undefined, 2 * SHARD + 1);
  closeSync(fd);
}

async function signedModel(t: Parameters<typeof tempDir>[0]) {
  const dir = tempDir(t);
  const model = join(dir, 'model.bin');
  threeShardFile(model);
  const bytes = new Uint8Array(readFileSync(model));
  const sig = join(dir, 'model.bin.sig');
  const { signatureFile } = await signModel(model, { signers: [secretKeySigner(key)], signaturePath: sig, shardSize: SHARD, threads: 1 });
  writeFileSync(sig, signatureFile);
  return { dir, model, sig, bytes };
}

const isFileChanged = (e: unknown) => e instanceof MsSignError && e.code === 'FILE_CHANGED';

describe('sign: a file that changes while it is hashed is FILE_CHANGED', () => {
  test('a file that grows between two of its shards', async (t) => {
    const dir = tempDir(t);
    const model = join(dir, 'model.bin');
    threeShardFile(model);
    await assert.rejects(
      signModel(model, { signers: [secretKeySigner(key)], signaturePath: `${model}.sig`, shardSize: SHARD, threads: 1, onProgress: once(() => appendFileSync(model, 'more')) }),
      isFileChanged,
    );
  });

  test('a file rewritten in place (same size) between two of its shards', async (t) => {
    const dir = tempDir(t);
    const model = join(dir, 'model.bin');
    threeShardFile(model);
    await assert.rejects(signModel(model, { signers: [secretKeySigner(key)], signaturePath: `${model}.sig`, shardSize: SHARD, threads: 1, onProgress: once(() => rewriteInPlace(model)) }), isFileChanged);
  });

  test('a file replaced by another of the same size after the walk, before it is hashed', async (t) => {
    const dir = tempDir(t);
    for (const name of ['a.bin', 'b.bin']) sparseFile(join(dir, name), SHARD);
    // Both are replaced after the first is hashed: the one not hashed yet is caught.
    const swap = () => {
      for (const name of ['a.bin', 'b.bin']) {
        sparseFile(join(dir, `${name}.new`), SHARD, 1);
        renameSync(join(dir, `${name}.new`), join(dir, name));
      }
    };
    await assert.rejects(signModel(dir, { signers: [secretKeySigner(key)], signaturePath: join(dir, '..', 'x.sig'), shardSize: SHARD, threads: 1, onProgress: once(swap) }), isFileChanged);
  });

  test('with worker threads: a file that grows while its shards are being hashed', async (t) => {
    const dir = tempDir(t);
    const model = join(dir, 'big.bin');
    // 64 MiB in 8 shards: more units than threads, so shards are still waiting when the first
    // result arrives.
    sparseFile(model, 8 * SHARD);
    await assert.rejects(
      signModel(model, { signers: [secretKeySigner(key)], signaturePath: `${model}.sig`, shardSize: SHARD, threads: 2, onProgress: once(() => appendFileSync(model, 'x')) }),
      isFileChanged,
    );
  });
});

describe('verify: a file that changes while it is hashed fails', () => {
  test('rewritten in place between two shards: FILE_CHANGED', async (t) => {
    const m = await signedModel(t);
    const report = await verifyModel(m.model, { trust, signaturePath: m.sig, threads: 1, onProgress: once(() => rewriteInPlace(m.model)) });
    assert.deepEqual(report.errors.map((e) => e.code), ['FILE_CHANGED']);
  });

  test('grown between two shards: FILE_CHANGED', async (t) => {
    const m = await signedModel(t);
    const report = await verifyModel(m.model, { trust, signaturePath: m.sig, threads: 1, onProgress: once(() => appendFileSync(m.model, 'x')) });
    assert.deepEqual(report.errors.map((e) => e.code), ['FILE_CHANGED']);
  });

  test('verify-before-load: a change during loadVerifiedModel gives no bytes; a change after it cannot reach them', async (t) => {
    const m = await signedModel(t);
    await assert.rejects(
      loadVerifiedModel(m.model, { trust, signaturePath: m.sig, threads: 1, onProgress: once(() => appendFileSync(m.model, 'x')) }),
      (e: unknown) => e instanceof ModelVerificationError && e.report.errors.some((p) => p.code === 'FILE_CHANGED'),
    );
    writeFileSync(m.model, m.bytes);
    const { bytes } = await loadVerifiedModel(m.model, { trust, signaturePath: m.sig, threads: 1 });
    // The co-tenant rewrites the file right after the check: the loader still holds what was verified.
    writeFileSync(m.model, new Uint8Array(m.bytes.length));
    assert.deepEqual(sha256(bytes), sha256(m.bytes));
    assert.notDeepEqual(sha256(readFileSync(m.model)), sha256(m.bytes));
  });
});
