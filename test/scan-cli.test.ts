/**
 * `ms-sign scan` through the real CLI, and the framework under it: detection of every format id,
 * verdicts, the JSON shape, exit codes, modes, bounded and escaped findings.
 */
import assert from 'node:assert/strict';
import { readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BufferSource, detectFormat, judgeScan, scanFile, SCAN_CODES, SCAN_ERROR_CODES, VERIFICATION_FAILURE_CODES, compileGlob, type FileScanResult } from '@ms-sign/core';
import { EXIT_CODES } from 'ms-sign';
import { copyFixture, errorCodes, fixture, FIXTURES, repoRoot, runCli, tempDir, writeFile } from './helpers/index.js';
import { HOSTILE_MS_VARIANTS, dagBomb } from './helpers/ms-models.js';

const enc = (s: string) => new TextEncoder().encode(s);
const detect = (bytes: Uint8Array | string, path = 'file') => detectFormat(new BufferSource(typeof bytes === 'string' ? enc(bytes) : bytes), path).format;
const cat = (...parts: (Uint8Array | number[])[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

test('detection: content decides, in the documented order', () => {
  assert.equal(detect(new Uint8Array(0)), 'empty');
  assert.equal(detect(cat(enc('PK\x03\x04'), new Uint8Array(40))), 'zip');
  assert.equal(detect(cat(enc('PK\x05\x06'), new Uint8Array(18))), 'zip');
  assert.equal(detect(cat([0x93], enc('NUMPY'), [1, 0], new Uint8Array(8))), 'numpy-npy');
  assert.equal(detect(cat([0x89], enc('HDF\r\n\x1a\n'), new Uint8Array(8))), 'hdf5');
  assert.equal(detect(cat(new Uint8Array(512), [0x89], enc('HDF\r\n\x1a\n'))), 'hdf5', 'after a 512-byte user block');
  assert.equal(detect(cat(enc('GGUF'), [3, 0, 0, 0])), 'gguf');
  assert.equal(detect(readFileSync(fixture('parallel.ms'))), 'mindspore-lite-ms');
  assert.equal(detect(cat([0xd8, 0x5e, 0x3a, 0x7f], new Uint8Array(12))), 'mindspore-encrypted');
  const tar = new Uint8Array(600);
  tar.set(enc('ustar'), 257);
  assert.equal(detect(tar), 'tar');
  assert.equal(detect(cat([14, 0, 0, 0, 0, 0, 0, 0], enc('{"a":"b"}    '), new Uint8Array(4))), 'safetensors');
  assert.equal(detect(cat([0x80, 4, 0x95], new Uint8Array(8))), 'pickle');
  assert.equal(detect(cat([0, 0, 0, 0], enc('TFL3'), new Uint8Array(8))), 'tflite');
  assert.equal(detect(readFileSync(fixture('retinaface0924.ms')), 'x.bin'), 'mindspore-lite-ms', 'legacy .ms by its version string, whatever the name');
  assert.equal(detect(readFileSync(fixture('relu.mindir'))), 'mindir');
  assert.equal(detect(readFileSync(join(repoRoot, 'test/fixtures/scan/mindspore/ok.ckpt'))), 'mindspore-ckpt');
  assert.equal(detect(cat([0x08, 0x07, 0x3a, 0x02, 0x0a, 0x00])), 'onnx');
  assert.equal(detect(cat(enc('\x7fELF'), new Uint8Array(60))), 'executable-code');
  assert.equal(detect('#!/bin/sh\necho hi\n'), 'executable-code');
  const pe = new Uint8Array(256);
  pe.set([0x4d, 0x5a]);
  pe.set([0x80], 0x3c);
  pe.set([0x50, 0x45, 0, 0], 0x80);
  assert.equal(detect(pe), 'executable-code');
  // "MZ" or "#!" alone is one random weights file in 65,536, not an executable.
  assert.equal(detect(cat([0x4d, 0x5a], new Uint8Array(254).fill(0xee))), 'unknown');
  assert.equal(detect(cat(enc('#!'), new Uint8Array(30).fill(0xee))), 'unknown');
  assert.equal(detect('print("hello")\n', 'model/modeling.py'), 'executable-code');
  assert.equal(detect(cat([0x1f, 0x8b, 8, 0], new Uint8Array(10))), 'archive-other');
  assert.equal(detect(cat([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], new Uint8Array(10))), 'archive-other');
  assert.equal(detect('# A model card\n'), 'text');
  assert.equal(detect(cat([0xff, 0xfe, 0x00, 0x01, 0x02])), 'unknown');
});

const scanOne = (bytes: Uint8Array, path: string): FileScanResult => scanFile(new BufferSource(bytes), path);
const codesOf = (r: FileScanResult) => r.findings.map((f) => f.code);

test('formats without a scanner yet are unknown, never clean; encrypted, archives and empty files say why', () => {
  assert.deepEqual([scanOne(cat([0, 0, 0, 0], enc('TFL3'), new Uint8Array(8)), 'm.tflite').verdict, codesOf(scanOne(cat([0, 0, 0, 0], enc('TFL3'), new Uint8Array(8)), 'm.tflite'))], ['unknown', ['FORMAT_UNKNOWN']]);
  assert.deepEqual(codesOf(scanOne(new Uint8Array(0), 'empty.bin')), ['FORMAT_EMPTY']);
  assert.deepEqual(codesOf(scanOne(cat([0xda, 0x5e, 0x3a, 0x7f], new Uint8Array(20)), 'enc.ms')), ['SCAN_ENCRYPTED']);
  assert.deepEqual(codesOf(scanOne(cat([0x1f, 0x8b], new Uint8Array(20)), 'w.tar.gz')), ['FORMAT_ARCHIVE']);
  assert.equal(scanOne(enc('#!/bin/sh\n'), 'run.sh').verdict, 'unsafe');
});

test('a waived code does not count towards the verdict, and only waivable codes can be waived', () => {
  const enc7f = cat([0xd8, 0x5e, 0x3a, 0x7f], new Uint8Array(20));
  const waived = scanFile(new BufferSource(enc7f), 'm.ms', { waive: new Set(['SCAN_ENCRYPTED']) });
  assert.equal(waived.verdict, 'clean');
  assert.equal(waived.findings[0]!.waived, true);
  const notWaivable = scanFile(new BufferSource(enc('#!/bin/sh\n')), 'run.sh', { waive: new Set(['CODE_FILE']) });
  assert.equal(notWaivable.verdict, 'unsafe');
});

test('the content decides, and a mismatching extension is noted', () => {
  const r = scanOne(readFileSync(fixture('parallel.ms')), 'weights.safetensors');
  assert.equal(r.format, 'mindspore-lite-ms');
  assert.equal(r.verdict, 'clean');
  assert.deepEqual(codesOf(r), ['FORMAT_EXTENSION_MISMATCH']);
  // A .ms name on text is text (unknown), and the name is noted as wrong.
  assert.deepEqual(codesOf(scanOne(enc('hello world, not a model'), 'model.ms')), ['FORMAT_UNKNOWN', 'FORMAT_EXTENSION_MISMATCH']);
  // A .ms with a plausible root table that fails verification is a broken .ms.
  const broken = new Uint8Array(readFileSync(fixture('parallel.ms')).subarray(0, 2000));
  broken.fill(0, 4, 8);
  assert.deepEqual(codesOf(scanOne(broken, 'model.ms')), ['MS_IDENTIFIER']);
});

test('findings are bounded and escaped: attacker text cannot inject control or bidi characters', () => {
  const hostile = `\u001b[2J\u202eevil${'x'.repeat(5000)}`;
  const r = scanOne(enc('#!/bin/sh\n'), `dir/${hostile}.sh`);
  const f = r.findings[0]!;
  assert.ok(!/[\u0000-\u001f\u202e]/.test(f.message), f.message.slice(0, 40));
  assert.ok(new TextEncoder().encode(f.message).length <= 1024);
});

test('judging a model: no-unsafe fails on unsafe and malformed; clean also on unknown unless allowed', () => {
  const files = [scanOne(readFileSync(fixture('parallel.ms')), 'a.ms'), scanOne(enc('# readme\n'), 'README.md')];
  assert.equal(judgeScan(files, { mode: 'no-unsafe' }).ok, true);
  const clean = judgeScan(files, { mode: 'clean' });
  assert.deepEqual(clean.problems.map((p) => p.code), ['SCAN_UNKNOWN_FORMAT']);
  assert.equal(judgeScan(files, { mode: 'clean', allowUnknown: [compileGlob('*.md')] }).ok, true);
  const bad = [scanOne(dagBomb(1000, 1000), 'bomb.ms')];
  const judged = judgeScan(bad, { mode: 'no-unsafe' });
  assert.ok(judged.problems.some((p) => p.code === 'MS_FB_AMPLIFICATION'));
  assert.ok(judged.problems.some((p) => p.code === 'SCAN_UNSAFE'));
  assert.equal(judgeScan(bad, { mode: 'off' }).ok, true);
});

test('every scan error code is a verification failure (exit 1); notes are not error codes', () => {
  for (const code of SCAN_ERROR_CODES) {
    assert.ok((VERIFICATION_FAILURE_CODES as readonly string[]).includes(code), code);
    assert.equal(EXIT_CODES[code], 1, code);
  }
  for (const code of ['SCAN_UNSAFE', 'SCAN_MALFORMED', 'SCAN_UNKNOWN_FORMAT'] as const) assert.equal(EXIT_CODES[code], 1);
  for (const [code, info] of Object.entries(SCAN_CODES)) if (info.severity === 'note') assert.ok(!(VERIFICATION_FAILURE_CODES as readonly string[]).includes(code), code);
});

test('docs/scan.md documents every scan code with its severity and effect', () => {
  const doc = readFileSync(join(repoRoot, 'docs', 'scan.md'), 'utf8');
  for (const [code, info] of Object.entries(SCAN_CODES)) {
    const row = new RegExp(`\\| \`${code}\` \\| ${info.severity} \\| ${info.effect} \\|`);
    assert.match(doc, row, code);
  }
});

test('ms-sign scan on the fixtures: exit 0, every .ms and the .mindir clean, JSON in the documented shape', async (t) => {
  const dir = tempDir(t);
  for (const name of FIXTURES) copyFixture(name, dir);
  const r = await runCli(['scan', '.', '--json'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr + r.stdout.slice(0, 400));
  const report = r.json<{ ok: boolean; model: string; scanner: { version: number; mode: string }; summary: Record<string, number>; files: FileScanResult[]; errors: unknown[] }>();
  assert.equal(report.ok, true);
  assert.equal(report.model, '.');
  assert.deepEqual(report.scanner, { version: 1, mode: 'no-unsafe' });
  assert.deepEqual(report.summary, { files: 6, clean: 6, unsafe: 0, malformed: 0, unknown: 0 });
  assert.deepEqual(report.errors, []);
  const legacy = report.files.find((f) => f.path === 'retinaface0924.ms')!;
  assert.deepEqual(legacy.findings.map((f) => f.code), ['MS_LEGACY_SCHEMA']);
  const quiet = await runCli(['scan', '.', '-q'], { cwd: dir });
  assert.equal(quiet.code, 0);
  assert.equal(quiet.stdout, '');
});

test('ms-sign scan on hostile files: exit 1, one line per bad file, every failure in errors[]', async (t) => {
  const dir = tempDir(t);
  const parallel = readFileSync(fixture('parallel.ms'));
  for (const v of HOSTILE_MS_VARIANTS.filter((x) => x.verdict !== 'clean')) writeFile(join(dir, 'm', `${v.name}.ms`), v.make(parallel));
  writeFile(join(dir, 'm', 'bomb.ms'), dagBomb(30_000, 30_000));
  const human = await runCli(['scan', 'm'], { cwd: dir });
  assert.equal(human.code, 1);
  assert.match(human.stdout, /^UNSAFE bomb\.ms: MS_FB_AMPLIFICATION/m);
  assert.match(human.stdout, /^MALFORMED root_oob\.ms: MS_FB_OUT_OF_BOUNDS/m);
  assert.match(human.stdout, /scanned \(mode no-unsafe\): 0 clean, 1 unsafe, \d+ malformed, 0 unknown/);
  const json = await runCli(['scan', 'm', '--json'], { cwd: dir });
  assert.equal(json.code, 1);
  const codes = errorCodes(json);
  for (const code of ['MS_FB_AMPLIFICATION', 'MS_FB_OUT_OF_BOUNDS', 'MS_FB_MISALIGNED', 'MS_FB_BAD_VTABLE', 'MS_FB_BAD_STRING', 'MS_FB_BAD_OFFSET', 'MS_INDEX_OUT_OF_RANGE', 'MS_DUPLICATE_INDEX', 'MS_TENSOR_DATA_SIZE', 'SCAN_UNSAFE', 'SCAN_MALFORMED']) {
    assert.ok(codes.includes(code), code);
  }
  // Notes never appear in errors[].
  assert.ok(!codes.includes('MS_FB_SHARED_TABLE'));
});

test('ms-sign scan --mode clean fails on unknown files; bad arguments are usage errors', async (t) => {
  const dir = tempDir(t);
  copyFixture('parallel.ms', dir);
  writeFile(join(dir, 'README.md'), '# model\n');
  const r = await runCli(['scan', '.', '--mode', 'clean', '--json'], { cwd: dir });
  assert.equal(r.code, 1);
  assert.deepEqual(errorCodes(r), ['SCAN_UNKNOWN_FORMAT']);
  assert.equal((await runCli(['scan', '.', '--ignore', 'README.md', '--mode', 'clean'], { cwd: dir })).code, 0);
  assert.equal((await runCli(['scan', '.', '--mode', 'paranoid'], { cwd: dir })).code, 2);
  assert.equal((await runCli(['scan', 'missing', '--json'], { cwd: dir })).code, 1);
  assert.equal((await runCli(['scan', '.', '--allow-global', 'not a global'], { cwd: dir })).code, 2);
});

test('ms-sign scan --ignore takes the .gitignore-style patterns of sign: any depth without "/", a directory with a trailing "/"', async (t) => {
  const dir = tempDir(t);
  copyFixture('parallel.ms', dir);
  writeFile(join(dir, 'sub', 'notes.tmp'), 'scratch\n');
  writeFile(join(dir, 'logs', 'deep', 'run.log'), 'log\n');
  const scanned = async (...ignore: string[]) => {
    const r = await runCli(['scan', '.', '--mode', 'clean', '--json', ...ignore.flatMap((g) => ['--ignore', g])], { cwd: dir });
    return { code: r.code, paths: (JSON.parse(r.stdout) as { files: { path: string }[] }).files.map((f) => f.path) };
  };
  assert.deepEqual(await scanned(), { code: 1, paths: ['logs/deep/run.log', 'parallel.ms', 'sub/notes.tmp'] });
  // As whole-path globs, "*.tmp" matched only a top-level file and "logs/" nothing.
  assert.deepEqual(await scanned('*.tmp', 'logs/'), { code: 0, paths: ['parallel.ms'] });
  assert.deepEqual(await scanned('/notes.tmp', 'logs/'), { code: 1, paths: ['parallel.ms', 'sub/notes.tmp'] }, 'a leading "/" anchors at the model root');
  assert.deepEqual(await scanned('sub/*.tmp'), { code: 1, paths: ['logs/deep/run.log', 'parallel.ms'] });
  assert.equal((await runCli(['scan', '.', '--ignore', '!x'], { cwd: dir })).code, 2, 'negation cannot be honoured: a usage error, as in sign');
});

test('ms-sign scan walks a directory as sign does: a symlink inside is refused, not followed', async (t) => {
  const dir = tempDir(t);
  copyFixture('parallel.ms', join(dir, 'm'));
  symlinkSync('/etc/hosts', join(dir, 'm', 'hosts'));
  const r = await runCli(['scan', 'm', '--json'], { cwd: dir });
  assert.equal(r.code, 1);
  assert.deepEqual(errorCodes(r), ['UNSAFE_FILE_TYPE']);
});

test('ms-sign scan leaves .git/ out of a directory as sign does, and --no-ignore-git scans it', async (t) => {
  const dir = tempDir(t);
  copyFixture('parallel.ms', dir);
  writeFile(join(dir, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  const scanned = async (...extra: string[]) => {
    const r = await runCli(['scan', '.', '--mode', 'clean', '--json', ...extra], { cwd: dir });
    return { code: r.code, paths: (JSON.parse(r.stdout) as { files: { path: string }[] }).files.map((f) => f.path) };
  };
  assert.deepEqual(await scanned(), { code: 0, paths: ['parallel.ms'] });
  assert.deepEqual(await scanned('--no-ignore-git'), { code: 1, paths: ['.git/HEAD', 'parallel.ms'] });
});
