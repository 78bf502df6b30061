#!/usr/bin/env node
// Made test/data/golden/v1 once (format version 1). Golden files are FROZEN: they must keep
// verifying with every future ms-sign, so never regenerate them; add a v2 folder for a new format.
// Kept for provenance: it shows exactly how the files were made.
import { createSignatureFile, secretKeySigner, encodePublicKeyPem, encodeSecretKeyPem, secretKeyFromSeed, compileGlob } from '@ms-sign/core';
import { hashModelFiles, walkModel } from '@ms-sign/core/internal';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const out = process.argv[2];
if (!out) throw new Error('usage: make-golden.mjs OUTDIR');
// A test key derived from a fixed string: public test material, never a real key.
const seed = createHash('sha256').update('ms-sign golden test key v1').digest();
const key = secretKeyFromSeed(new Uint8Array(seed));
writeFileSync(join(out, 'test-key.key'), await encodeSecretKeyPem(key), { mode: 0o600 });
writeFileSync(join(out, 'test-key.pub'), encodePublicKeyPem(key.publicKey));

const fixtures = new URL('../test/fixtures/mindspore-lite/', import.meta.url).pathname;
const created = 1793491200; // 2026-11-01T00:00:00Z

// 1. A single file, defaults: SHA-256, 64 MiB shards.
{
  const walk = walkModel(join(fixtures, 'parallel.ms'), { withStats: true });
  const files = await hashModelFiles(walk, 'sha256', 64 * 1024 * 1024);
  const manifest = { version: 1, kind: 'file', subject: { name: 'parallel.ms' }, hashAlgorithm: 'sha256', shardSize: 64 * 1024 * 1024, files, created, ignore: [], annotations: {} };
  writeFileSync(join(out, 'parallel.ms.sig'), await createSignatureFile(manifest, [secretKeySigner(key)]));
}

// 2. A directory with a nested file, a sharded file (64 KiB shards), an ignored file, a version,
//    an expiry and annotations: every optional field of the format.
{
  const dir = join(out, 'model-dir');
  mkdirSync(join(dir, 'nested'), { recursive: true });
  copyFileSync(join(fixtures, 'lenet_tod_infer.ms'), join(dir, 'lenet_tod_infer.ms'));
  copyFileSync(join(fixtures, 'relu.mindir'), join(dir, 'nested', 'relu.mindir'));
  writeFileSync(join(dir, 'README.ignored'), 'not part of the model\n');
  const ignore = ['*.ignored'];
  const walk = walkModel(dir, { withStats: true, ignore: ignore.map(compileGlob) });
  const files = await hashModelFiles(walk, 'sha256', 64 * 1024);
  const manifest = {
    version: 1, kind: 'directory', subject: { name: 'example/lenet', version: '1.2.0' }, hashAlgorithm: 'sha256', shardSize: 64 * 1024,
    files, created, expires: 4102444800 /* 2100-01-01 */, ignore, annotations: { 'ci.run': '42', source: 'https://example.invalid/lenet' },
  };
  writeFileSync(join(out, 'model-dir.sig'), await createSignatureFile(manifest, [secretKeySigner(key)]));
}
