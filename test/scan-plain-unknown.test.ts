/**
 * Verify's hashing threads report a small file of no known format as one byte (PLAIN_UNKNOWN),
 * decided by a few byte compares (detect.ts isPlainUnknown), and the main thread rebuilds its scan
 * result from the path and size (scan.ts plainUnknownResult). That shortcut must never change what
 * the scan says: a file it accepts is one detection calls `unknown` and whose scan result is exactly
 * the rebuilt one, every format's signature turns it away, and `verify --json` still lists every
 * file and finding that `scan --json` lists.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BufferSource, detectFormat, scanFile } from '@ms-sign/core';
import { isPlainUnknown, plainUnknownResult, runHashJob } from '@ms-sign/core/internal';
import { copyFixture, makeKey, repoRoot, runCli, tempDir, writeFile } from './helpers/index.js';

/** Deterministic bytes (xorshift32): a failure reproduces. */
function pseudoRandom(seed: number): (n: number) => Uint8Array {
  let x = seed >>> 0 || 1;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      out[i] = x & 0xff;
    }
    return out;
  };
}

const ascii = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));

function planted(base: Uint8Array, at: number, bytes: Uint8Array): Uint8Array {
  const out = base.slice();
  out.set(bytes, at);
  return out;
}

/** The shortcut's promise for one file: accepted only if detection and the scan agree with it exactly. */
function checkAgreement(bytes: Uint8Array, path: string): boolean {
  const plain = isPlainUnknown(bytes, path);
  if (plain) {
    assert.equal(detectFormat(new BufferSource(bytes), path).format, 'unknown', `${path}: accepted, but detection finds a format`);
    // JSON text, so that key order (what --json prints) is compared too.
    assert.equal(JSON.stringify(plainUnknownResult(path, bytes.length)), JSON.stringify(scanFile(new BufferSource(bytes), path)), `${path}: rebuilt result differs`);
  }
  return plain;
}

describe('the quick rejection of bytes of no known format', () => {
  test('accepts only what detection calls unknown, with the scan result rebuilt exactly, and most random .bin files', () => {
    const random = pseudoRandom(0x5eed);
    const names = ['w.bin', 'w', 'w.dat', 'w.data', 'w.txt', 'w.json', 'w.ms', 'w.pkl', 'w.pt', 'w.py', 'w.so', 'w.safetensors', 'w.onnx', 'w.npy', 'W.BIN', 'd/x.tar', 'd/\u202ex.bin'];
    let acceptedBin = 0;
    let bins = 0;
    for (let i = 0; i < 12_000; i++) {
      const size = [12, 13, 100, 300, 600, 1100, 4096, 4096, 4096, 70_000][i % 10]!;
      const name = names[i % names.length]!;
      const plain = checkAgreement(random(size), name);
      if (name === 'w.bin' && size === 4096) {
        bins++;
        if (plain) acceptedBin++;
      }
    }
    // The shortcut is the point: random bytes named .bin take it almost always (each 2-byte
    // signature and each protocol 0/1 pickle opcode pair sends a few to the full detection).
    assert.ok(acceptedBin > bins * 0.95, `${acceptedBin} of ${bins} random .bin files took the shortcut`);
  });

  test('every format signature detection tests turns it away, wherever detection looks', () => {
    const random = pseudoRandom(7);
    const u32 = (n: number) => Uint8Array.of(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24);
    const signatures: [string, number, Uint8Array][] = [
      ['zip', 0, ascii('PK\x03\x04')],
      ['empty zip', 0, ascii('PK\x05\x06')],
      ['numpy', 0, ascii('\x93NUMPY\x01\x00')],
      ['hdf5', 0, ascii('\x89HDF\r\n\x1a\n')],
      ['hdf5 after 512', 512, ascii('\x89HDF\r\n\x1a\n')],
      ['hdf5 after 2048', 2048, ascii('\x89HDF\r\n\x1a\n')],
      ['gguf', 0, ascii('GGUF')],
      ...['ggml', 'ggmf', 'ggjt', 'lmgg', 'fmgg', 'tjgg'].map((m): [string, number, Uint8Array] => [m, 0, ascii(m)]),
      ['ms', 4, ascii('MSL2')],
      ['encrypted', 0, Uint8Array.of(0xd9, 0x5e, 0x3a, 0x7f)],
      ['tar', 257, ascii('ustar')],
      ['safetensors', 0, Uint8Array.of(16, 0, 0, 0, 0, 0, 0, 0, 0x7b)],
      ['pickle protocol 2', 0, Uint8Array.of(0x80, 0x02)],
      ['tflite', 4, ascii('TFL3')],
      ['legacy ms root', 0, u32(16)],
      ['protocol 0 pickle', 0, ascii('(lp0\n.')],
      ['elf', 0, ascii('\x7fELF')],
      ['script', 0, ascii('#!/bin/sh\n')],
      ['pe', 0, ascii('MZ')],
      ['mach-o', 0, Uint8Array.of(0xcf, 0xfa, 0xed, 0xfe)],
      ['pyc', 0, Uint8Array.of(0x6f, 0x0d, 0x0d, 0x0a)],
      ['7z', 0, ascii("7z\xbc\xaf\x27\x1c")],
      ['gzip', 0, Uint8Array.of(0x1f, 0x8b)],
      ['xz', 0, ascii('\xfd7zXZ\x00')],
      ['zstd', 0, Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd)],
      ['rar', 0, ascii('Rar!')],
    ];
    for (const [what, at, signature] of signatures) {
      // Zero bytes at the start of the random part keep it from reading as text or a legacy .ms root.
      const bytes = planted(planted(random(4096), 0, Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x00, 0x00)), at, signature);
      assert.equal(checkAgreement(bytes, 'x.bin'), false, `${what} at ${at}`);
    }
    // Bytes that start like a protobuf model or a protocol 0/1 pickle get detection's own tests:
    // accepted exactly when those fail (checkAgreement), and a real one is turned away.
    for (const start of [[0x08, 0x07, 0x3a, 0x02], [0x0a, 0x03], ascii('cos\nsystem\n(S'), ascii('I1\n')]) {
      checkAgreement(planted(random(4096), 0, Uint8Array.from(start)), 'x.bin');
    }
    assert.equal(checkAgreement(readFileSync(join(repoRoot, 'test', 'fixtures', 'mindspore-lite', 'relu.mindir')), 'x.bin'), false, 'a MindIR model');
    assert.equal(checkAgreement(readFileSync(join(repoRoot, 'test', 'fixtures', 'scan', 'onnx', 'benign.onnx')), 'x.bin'), false, 'an ONNX model');
    // Without a signature, the same bytes do take the shortcut: the cases above test something.
    assert.equal(checkAgreement(planted(random(4096), 0, Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x00, 0x00)), 'x.bin'), true);
    const plainBytes = planted(random(4096), 0, Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x00, 0x00));
    for (const name of ['x.pkl', 'x.pt', 'x.py', 'x.sh', 'x.safetensors', 'x.ms', 'x.onnx', 'x.npy', 'x.h5', 'x.gguf', 'x.keras']) {
      assert.equal(checkAgreement(plainBytes, name), false, `a name that promises something: ${name}`);
    }
    assert.equal(checkAgreement(ascii('plain text, no model at all\n'), 'notes.bin'), false, 'text');
  });

  test('never accepts a real model or fixture', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.isFile() && statSync(path).size < 4 * 1024 * 1024) files.push(path);
      }
    };
    walk(join(repoRoot, 'test', 'fixtures'));
    assert.ok(files.length > 20, `${files.length} fixtures`);
    for (const path of files) checkAgreement(new Uint8Array(readFileSync(path)), path.slice(repoRoot.length + 1));
  });
});

test('verify --json lists every file and finding scan --json lists, whichever thread scanned it', async (t) => {
  const dir = tempDir(t);
  const model = join(dir, 'model');
  const random = pseudoRandom(42);
  // 1,500 small files: several claim units, so that with two threads a worker scans some.
  for (let i = 0; i < 1500; i++) writeFile(join(model, `w/${String(i).padStart(4, '0')}.bin`), random(4096));
  copyFixture('lenet_tod_infer.ms', model, 'lenet.ms');
  copyFixture('retinaface0924.ms', model, 'legacy.ms');
  const evil = Uint8Array.from([0x80, 0x02, ...ascii("cos\nsystem\n(S'true'\ntR.")]);
  for (const name of ['w/0000-evil.pkl', 'w/0700-evil.bin', 'w/1499-evil.pt']) writeFileSync(join(model, name), evil);
  writeFile(join(model, 'w/0800-notes.txt'), 'not a model\n');
  writeFile(join(model, 'w/0900-broken.pkl'), random(4096));
  writeFile(join(model, 'w/1000-odd.onnx'), random(4096));
  const key = await makeKey(dir);
  const signed = await runCli(['sign', 'model', '-k', key.secret, '-o', 'model.sig', '--scan', 'off'], { cwd: dir });
  assert.equal(signed.code, 0, signed.stderr);

  const scanned = await runCli(['scan', 'model', '--json'], { cwd: dir });
  const verified = await runCli(['verify', 'model', '-s', 'model.sig', '-p', key.public, '--json', '--threads', '2'], { cwd: dir });
  assert.equal(verified.code, 1, 'unsafe files: not verified');
  type Files = { summary: { unknown: number }; files: { path: string; verdict: string; findings: unknown[] }[] };
  const scan = scanned.json<Files>();
  const report = verified.json<{ scan: Files }>().scan;
  assert.deepEqual(report.summary, scan.summary);
  assert.ok(report.files.length >= 1500 && report.summary.unknown >= 1490, `${report.files.length} files listed, ${report.summary.unknown} unknown`);
  // verify lists the files that are not clean, in the signed order; scan lists all.
  assert.equal(JSON.stringify(report.files), JSON.stringify(scan.files.filter((f) => f.verdict !== 'clean')));
  assert.deepEqual(report.files.filter((f) => f.verdict === 'unsafe').map((f) => f.path), ['w/0000-evil.pkl', 'w/0700-evil.bin', 'w/1499-evil.pt']);
});

test('a worker hands PLAIN_UNKNOWN back through shared memory, for every such file it hashed', async (t) => {
  const path = join(tempDir(t), 'w.bin');
  const bytes = planted(pseudoRandom(3)(4096), 0, Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x00, 0x00));
  assert.equal(isPlainUnknown(bytes, 'w.bin'), true);
  writeFileSync(path, bytes);
  const digest = new Uint8Array(createHash('sha256').update(bytes).digest());
  const files = Array.from({ length: 20_000 }, () => ({ path, size: bytes.length }));
  const scan = { paths: files.map((_, i) => `f${i}.bin`), digests: files.map(() => digest), allowGlobals: new Set<string>(), waive: new Set<never>() };
  const scans: unknown[] = [];
  const summary = await runHashJob(
    { files, algorithm: 'sha256', shardSize: 1024 * 1024, sizesSigned: true, scan },
    { threads: 2, onResult: (f, _shard, result) => void (scans[f] = result.ok ? result.scan : 'failed') },
  );
  assert.ok(summary.tasksFromWorkers > 0, 'a worker hashed and scanned some files');
  assert.equal(scans.length, files.length);
  assert.deepEqual(new Set(scans), new Set(['plain-unknown']));
});
