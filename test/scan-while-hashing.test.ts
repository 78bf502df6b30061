/**
 * Verify's scan of small files runs in the hashing threads, on the bytes of the one read that
 * hashed them: the verdicts are those of the scan stage, whichever thread hashed a file, a file
 * is scanned only once its digest matched, and a small file is opened once, not twice.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateSecretKey, secretKeySigner } from '@ms-sign/core';
import { runHashJob } from '@ms-sign/core/internal';
import { signModel, verifyModel } from '@ms-sign/core/node';
import { trustKeys } from './helpers/crafted.js';
import { withFsPaths } from './helpers/fs-spy.js';
import { tempDir, writeFile } from './helpers/index.js';

// A protocol 2 pickle that imports and calls os.system: unsafe under every scan mode.
const evilPickle = () => new Uint8Array([0x80, 0x02, ...new TextEncoder().encode("cos\nsystem\n(S'true'\ntR.")]);

async function signedModel(t: Parameters<typeof tempDir>[0], files: number) {
  const dir = tempDir(t);
  const model = join(dir, 'model');
  for (let i = 0; i < files; i++) writeFile(join(model, `part-${String(i).padStart(4, '0')}.txt`), `line ${i}\n`);
  const key = generateSecretKey();
  const signaturePath = join(dir, 'model.sig');
  const sign = async () => {
    const { signatureFile } = await signModel(model, { signers: [secretKeySigner(key)], signaturePath, threads: 1, scan: 'off' });
    writeFile(signaturePath, signatureFile);
  };
  return { model, sign, trust: trustKeys(key.publicKey), signaturePath };
}

test('unsafe small files are found whichever hashing thread read them (worker and main thread)', async (t) => {
  // 600 files are three claim units: with two threads the worker may take some (the direct test
  // below proves that a worker's scan results arrive).
  const m = await signedModel(t, 600);
  const evil = ['part-0000.txt', 'part-0300.txt', 'part-0599.txt'];
  for (const name of evil) writeFileSync(join(m.model, name), evilPickle());
  await m.sign();
  const report = await verifyModel(m.model, { trust: m.trust, signaturePath: m.signaturePath, threads: 2 });
  assert.equal(report.ok, false);
  assert.deepEqual(report.scan?.summary, { files: 600, clean: 0, unsafe: 3, malformed: 0, unknown: 597 });
  assert.deepEqual(report.scan?.files.filter((f) => f.verdict === 'unsafe').map((f) => f.path), evil);
  const codes = new Set(report.errors.map((e) => e.code));
  assert.ok(codes.has('PICKLE_UNSAFE_IMPORT') && codes.has('SCAN_UNSAFE'), [...codes].join(','));
});

test('a small file is opened once by verify with the scan on (hashed and scanned from one read)', async (t) => {
  const m = await signedModel(t, 3);
  await m.sign();
  const { result, paths } = await withFsPaths(() => verifyModel(m.model, { trust: m.trust, signaturePath: m.signaturePath, threads: 1 }));
  assert.equal(result.ok, true, JSON.stringify(result.errors));
  assert.equal(result.scan?.summary?.files, 3);
  assert.equal(paths.filter((p) => p.endsWith('part-0001.txt')).length, 1, 'opened once: hashed and scanned from one read');
});

test('the hashing threads scan only bytes whose digest is the signed one', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'evil.pkl');
  writeFileSync(path, evilPickle());
  const digest = new Uint8Array(createHash('sha256').update(evilPickle()).digest());
  const other = digest.map((b, i) => (i === 0 ? b ^ 1 : b));
  for (const threads of [1, 2]) {
    for (const [expected, scanned] of [
      [digest, true],
      [other, false],
    ] as const) {
      // Enough copies of the file for many claim units, so that a started worker takes part.
      const files = Array.from({ length: 20_000 }, () => ({ path, size: evilPickle().length }));
      const scan = { paths: files.map((_, i) => `f${i}.pkl`), digests: files.map(() => expected), allowGlobals: new Set<string>(), waive: new Set<never>() };
      const verdicts: (string | undefined)[] = [];
      const summary = await runHashJob(
        { files, algorithm: 'sha256', shardSize: 1024 * 1024, sizesSigned: true, scan },
        { threads, onResult: (f, _shard, result) => void (verdicts[f] = !result.ok ? 'failed' : result.scan === 'plain-unknown' ? 'unknown' : result.scan?.verdict) },
      );
      assert.deepEqual(new Set(verdicts), new Set([scanned ? 'unsafe' : undefined]), `threads ${threads}, digest ${scanned ? 'signed' : 'other'}`);
      assert.equal(verdicts.length, files.length);
      if (threads === 2) assert.ok(summary.tasksFromWorkers > 0, 'a worker hashed and scanned some files');
    }
  }
});
