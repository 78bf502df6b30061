/**
 * A file that changes while it is hashed is an error (FILE_CHANGED), never a silent wrong digest
 * (SPEC section 3). Driven deterministically through the library's progress callback, which runs
 * between hash tasks: on the main thread after each shard (threads: 1), or, with worker threads,
 * after each batch and before the next batch is handed out.
 */
import assert from 'node:assert/strict';
import { appendFileSync, closeSync, ftruncateSync, openSync, readFileSync, renameSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { generateSecretKey, loadVerifiedModel, ModelVerificationError, MsSignError, signModel, verifyModel } from '@ms-sign/core';
import { sha256, trustKeys } from '../helpers/crafted.js';
import { tempDir } from '../helpers/index.js';

const SHARD = 64 * 1024;
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

/** Three shards of distinct bytes, with an old mtime so any write visibly changes it. */
function threeShardFile(path: string): Uint8Array {
  const bytes = new Uint8Array(3 * SHARD).map((_, i) => (i * 31) & 0xff);
  writeFileSync(path, bytes);
  utimesSync(path, new Date('2001-01-01'), new Date('2001-01-01'));
  return bytes;
}

async function signedModel(t: Parameters<typeof tempDir>[0]) {
  const dir = tempDir(t);
  const model = join(dir, 'model.bin');
  const bytes = threeShardFile(model);
  const sig = join(dir, 'model.bin.sig');
  const { signatureFile } = await signModel(model, { keys: [key], signaturePath: sig, shardSize: SHARD, threads: 1 });
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
      signModel(model, { keys: [key], signaturePath: `${model}.sig`, shardSize: SHARD, threads: 1, onProgress: once(() => appendFileSync(model, 'more')) }),
      isFileChanged,
    );
  });

  test('a file rewritten in place (same size) between two of its shards', async (t) => {
    const dir = tempDir(t);
    const model = join(dir, 'model.bin');
    threeShardFile(model);
    const rewrite = () => {
      const fd = openSync(model, 'r+');
      writeSync(fd, new Uint8Array(SHARD), 0, SHARD, 2 * SHARD);
      closeSync(fd);
    };
    await assert.rejects(signModel(model, { keys: [key], signaturePath: `${model}.sig`, shardSize: SHARD, threads: 1, onProgress: once(rewrite) }), isFileChanged);
  });

  test('a file replaced by another of the same size after the walk, before it is hashed', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'a.bin'), 'first file');
    writeFileSync(join(dir, 'b.bin'), 'second file');
    writeFileSync(join(dir, 'impostor'), 'IMPOSTOR!!!');
    const swap = () => renameSync(join(dir, 'impostor'), join(dir, 'b.bin'));
    await assert.rejects(signModel(dir, { keys: [key], signaturePath: join(dir, '..', 'x.sig'), threads: 1, onProgress: once(swap) }), (e: unknown) => isFileChanged(e) && (e as MsSignError).path === 'b.bin');
  });

  test('with worker threads: a file that grows while its shards are being hashed', async (t) => {
    const dir = tempDir(t);
    const model = join(dir, 'big.bin');
    // 64 MiB without writing them (sparse), in 8 shards: more batches than workers, so shards are
    // still waiting for a worker when the first result arrives.
    const fd = openSync(model, 'w');
    ftruncateSync(fd, 64 * 1024 * 1024);
    closeSync(fd);
    await assert.rejects(
      signModel(model, { keys: [key], signaturePath: `${model}.sig`, shardSize: 8 * 1024 * 1024, threads: 2, onProgress: once(() => appendFileSync(model, 'x')) }),
      isFileChanged,
    );
  });
});

describe('verify: a file that changes while it is hashed fails', () => {
  test('rewritten in place between two shards: FILE_CHANGED', async (t) => {
    const m = await signedModel(t);
    const rewrite = () => {
      const fd = openSync(m.model, 'r+');
      writeSync(fd, new Uint8Array(SHARD), 0, SHARD, 2 * SHARD);
      closeSync(fd);
    };
    const report = await verifyModel(m.model, { trust, signaturePath: m.sig, threads: 1, onProgress: once(rewrite) });
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
