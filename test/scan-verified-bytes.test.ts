/**
 * The scan inside verify and sign judges exactly the bytes they verified or signed: a file that
 * changes between hashing and scanning is FILE_CHANGED, never scanned as if it were verified.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { walkModel } from '@ms-sign/core/internal';
import { scanVerifiedFiles, scanWalkedFiles } from '@ms-sign/core/node';
import { thrownCode } from './helpers/codes.js';
import { copyFixture, tempDir } from './helpers/index.js';
import { dagBomb } from './helpers/ms-models.js';

const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());

test('a small verified file is re-read and its digest checked: a change in between is FILE_CHANGED', (t) => {
  const dir = tempDir(t);
  const path = copyFixture('parallel.ms', dir);
  const bytes = readFileSync(path);
  const file = { path: 'parallel.ms', size: bytes.length, absolutePath: path, digest: { algorithm: 'sha256' as const, value: sha256(bytes) } };
  assert.equal(scanVerifiedFiles([file], {})[0]!.verdict, 'clean');
  // Same size, other bytes: a DAG bomb swapped in after hashing is not scanned as the verified file.
  const bomb = dagBomb(1000, 1000);
  const swapped = new Uint8Array(bytes.length);
  swapped.set(bomb.subarray(0, Math.min(bomb.length, swapped.length)));
  writeFileSync(path, swapped);
  assert.equal(thrownCode(() => scanVerifiedFiles([file], {})), 'FILE_CHANGED');
  truncateSync(path, 10);
  assert.equal(thrownCode(() => scanVerifiedFiles([file], {})), 'FILE_CHANGED');
});

test('bytes verify holds in memory are scanned as they are', () => {
  const r = scanVerifiedFiles([{ path: 'bomb.ms', size: 0, bytes: dagBomb(1000, 1000) }], {});
  assert.equal(r[0]!.verdict, 'unsafe');
});

test('a large verified file must keep the identity the hashing saw', (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'big.bin');
  writeFileSync(path, new Uint8Array(2 * 1024 * 1024));
  const s = statSync(path, { bigint: true });
  const identity = { dev: s.dev, ino: s.ino, size: Number(s.size), mtimeNs: s.mtimeNs, ctimeNs: s.ctimeNs };
  const file = { path: 'big.bin', size: Number(s.size), absolutePath: path, identity };
  assert.equal(scanVerifiedFiles([file], {})[0]!.verdict, 'unknown');
  assert.equal(thrownCode(() => scanVerifiedFiles([{ ...file, identity: { ...identity, mtimeNs: identity.mtimeNs - 1n } }], {})), 'FILE_CHANGED');
});

test('sign\'s scan checks each descriptor against the walk', (t) => {
  const dir = tempDir(t);
  copyFixture('parallel.ms', dir);
  const walk = walkModel(dir, { withStats: true });
  assert.equal(scanWalkedFiles(walk.files)[0]!.verdict, 'clean');
  writeFileSync(join(dir, 'parallel.ms'), dagBomb(1000, 1000));
  assert.equal(thrownCode(() => scanWalkedFiles(walk.files)), 'FILE_CHANGED');
});
