/**
 * Verify before load (SPEC section 5): the check and the load see the same bytes. `verify --output`
 * writes the verified bytes only after success and nothing at all on failure; the library reads a
 * model once and returns exactly the bytes it verified; the examples in docs/verify-before-load.md
 * run.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { MsSignError, parsePublicKeyPem, policyFromKeys } from '@ms-sign/core';
import {
  copyVerifiedModel,
  loadVerifiedDirectory,
  loadVerifiedModel,
  ModelVerificationError,
  type VerifiedReadOptions,
} from '@ms-sign/core/node';
import { cliBin, copyFixture, errorCodes, makeKey, repoRoot, runCli, spawnCli, tempDir } from './helpers/index.js';
import { cliOk } from './helpers/trust.js';
import { DIRECTORY_MODEL_FILES, signedDirectory as signedFixtureDirectory } from './helpers/scenarios.js';

/** A signed copy of a real model, and the trust options for the library. */
async function signedModel(t: { after: (fn: () => void) => void }, name = 'lenet_tod_infer.ms') {
  const dir = tempDir(t);
  const key = await makeKey(dir);
  const model = copyFixture(name, dir);
  await cliOk(dir, ['sign', name, '-k', key.secret]);
  const trust = { policy: policyFromKeys([{ name: 'publisher', key: parsePublicKeyPem(readFileSync(key.public, 'utf8')) }]), source: '-p' };
  const options: VerifiedReadOptions = { trust };
  return { dir, key, model, name, options };
}

function flipByte(path: string, offset: number): void {
  const bytes = readFileSync(path);
  bytes[offset] = bytes[offset]! ^ 0x40;
  chmodSync(path, 0o644);
  writeFileSync(path, bytes);
}

/** The shared signed directory model (three real models, one nested), with library trust options. */
async function signedDirectory(t: { after: (fn: () => void) => void }) {
  const { dir, key, model } = await signedFixtureDirectory(t);
  const trust = { policy: policyFromKeys([{ name: 'publisher', key: parsePublicKeyPem(readFileSync(key.public, 'utf8')) }]), source: '-p' };
  return { dir, key, model: join(dir, model), options: { trust } satisfies VerifiedReadOptions };
}

const isVerificationError = (code: string) => (e: unknown) => e instanceof ModelVerificationError && e instanceof MsSignError && e.code === code && e.report.ok === false;

describe('verify --output -', () => {
  test('writes bytes identical to the model to stdout on success, the report to stderr', async (t) => {
    const { dir, key, model, name } = await signedModel(t);
    const r = spawnCli(['verify', name, '-p', key.public, '--output', '-'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdoutBytes.equals(readFileSync(model)), 'stdout must be the model, byte for byte');
    assert.match(r.stderr, /^Verified lenet_tod_infer\.ms/);
  });

  test('writes nothing at all to stdout when the model is not verified', async (t) => {
    const { dir, key, model, name } = await signedModel(t);
    const stranger = await makeKey(dir, 'stranger');
    const untrusted = spawnCli(['verify', name, '-p', stranger.public, '--output', '-'], { cwd: dir });
    assert.equal(untrusted.code, 1);
    assert.equal(untrusted.stdoutBytes.length, 0);
    assert.match(untrusted.stderr, /UNTRUSTED_SIGNER/);
    flipByte(model, 200_000);
    const tampered = spawnCli(['verify', name, '-p', key.public, '--output', '-'], { cwd: dir });
    assert.equal(tampered.code, 1);
    assert.equal(tampered.stdoutBytes.length, 0);
    assert.match(tampered.stderr, /DIGEST_MISMATCH/);
    const setup = spawnCli(['verify', name, '--output', '-'], { cwd: dir });
    assert.equal(setup.code, 2);
    assert.equal(setup.stdoutBytes.length, 0);
  });

  test('a reader that closes the pipe early is an IO_ERROR (exit 2), not a crash', async (t) => {
    const { dir, key, name } = await signedModel(t, 'retinaface0924.ms');
    const child = spawn(process.execPath, [cliBin, 'verify', name, '-p', key.public, '--output', '-', '-q'], { cwd: dir, env: { PATH: process.env.PATH, HOME: dir } });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // Read one chunk, then close the read end, as `| head -c 10` does.
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    assert.equal(code, 2, stderr);
    assert.match(stderr, /^ms-sign: IO_ERROR: cannot write the model to stdout/);
  });

  test('-q leaves stderr empty on success; --json and directories are refused', async (t) => {
    const { dir, key, name } = await signedModel(t);
    const quiet = spawnCli(['verify', name, '-p', key.public, '--output', '-', '-q'], { cwd: dir });
    assert.equal(quiet.code, 0);
    assert.equal(quiet.stderr, '');
    const json = await runCli(['verify', name, '-p', key.public, '--output', '-', '--json'], { cwd: dir });
    assert.equal(json.code, 2);
    assert.deepEqual(errorCodes(json), ['USAGE']);
    const d = await signedDirectory(t);
    const directory = await runCli(['verify', 'model', '-p', d.key.public, '--output', '-', '--json'], { cwd: d.dir });
    assert.equal(directory.code, 2);
    assert.deepEqual(errorCodes(directory), ['USAGE']);
  });
});

describe('verify --output FILE', () => {
  test('writes a read-only copy identical to the model, only on success', async (t) => {
    const { dir, key, model, name } = await signedModel(t);
    const r = await runCli(['verify', name, '-p', key.public, '--output', 'out/verified.ms', '--json'], { cwd: dir });
    // The directory must exist: ms-sign creates the file, not the folders.
    assert.equal(r.code, 2);
    mkdirSync(join(dir, 'out'));
    const ok = await runCli(['verify', name, '-p', key.public, '--output', 'out/verified.ms', '--json'], { cwd: dir });
    assert.equal(ok.code, 0, ok.stdout);
    assert.ok(readFileSync(join(dir, 'out', 'verified.ms')).equals(readFileSync(model)));
    assert.equal(statSync(join(dir, 'out', 'verified.ms')).mode & 0o777, 0o400);
    assert.deepEqual(readdirSync(join(dir, 'out')), ['verified.ms']);
  });

  test('on failure creates nothing and leaves an existing FILE as it was', async (t) => {
    const { dir, key, model, name } = await signedModel(t);
    flipByte(model, 10);
    const r = await runCli(['verify', name, '-p', key.public, '--output', 'new.ms', '--json'], { cwd: dir });
    assert.equal(r.code, 1);
    assert.deepEqual(errorCodes(r), ['DIGEST_MISMATCH']);
    assert.ok(!existsSync(join(dir, 'new.ms')));
    writeFileSync(join(dir, 'old.ms'), 'previous content');
    const again = await runCli(['verify', name, '-p', key.public, '--output', 'old.ms'], { cwd: dir });
    assert.equal(again.code, 1);
    assert.equal(readFileSync(join(dir, 'old.ms'), 'utf8'), 'previous content');
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temporary file is left behind');
  });
});

describe('loadVerifiedModel', () => {
  test('returns bytes equal to the file, and the report', async (t) => {
    const { model, options } = await signedModel(t, 'retinaface0924.ms');
    const { bytes, report } = await loadVerifiedModel(model, options);
    assert.ok(bytes instanceof Uint8Array);
    assert.ok(Buffer.from(bytes).equals(readFileSync(model)));
    assert.equal(report.ok, true);
    assert.equal(report.subject.name, 'retinaface0924.ms');
  });

  test('returns bytes that later changes to the file cannot reach', async (t) => {
    const { model, options } = await signedModel(t);
    const original = readFileSync(model);
    const { bytes } = await loadVerifiedModel(model, options);
    flipByte(model, 0);
    assert.ok(Buffer.from(bytes).equals(original));
  });

  test('throws ModelVerificationError with the report when the model was tampered with', async (t) => {
    const { model, options } = await signedModel(t);
    flipByte(model, 123);
    await assert.rejects(loadVerifiedModel(model, options), (e: unknown) => {
      assert.ok(isVerificationError('DIGEST_MISMATCH')(e));
      assert.deepEqual((e as ModelVerificationError).report.errors.map((p) => p.code), ['DIGEST_MISMATCH']);
      return true;
    });
  });

  test('throws for an untrusted signer, and USAGE for a directory', async (t) => {
    const { dir, model } = await signedModel(t);
    const stranger = parsePublicKeyPem(readFileSync((await makeKey(dir, 'stranger')).public, 'utf8'));
    await assert.rejects(loadVerifiedModel(model, { trust: { policy: policyFromKeys([{ name: 's', key: stranger }]), source: '-p' } }), isVerificationError('UNTRUSTED_SIGNER'));
    const d = await signedDirectory(t);
    await assert.rejects(loadVerifiedModel(d.model, d.options), (e: unknown) => e instanceof MsSignError && e.code === 'USAGE');
  });
});

describe('loadVerifiedDirectory', () => {
  test('returns every file of the directory, by model-relative path, equal to the files', async (t) => {
    const { model, options } = await signedDirectory(t);
    const { files, report } = await loadVerifiedDirectory(model, options);
    assert.equal(report.ok, true);
    assert.deepEqual([...files.keys()].sort(), [...DIRECTORY_MODEL_FILES].sort());
    for (const [path, bytes] of files) assert.ok(Buffer.from(bytes).equals(readFileSync(join(model, ...path.split('/')))), path);
  });

  test('throws when a file was changed or added; USAGE for a single file', async (t) => {
    const { model, options } = await signedDirectory(t);
    writeFileSync(join(model, 'extra.bin'), 'not signed');
    await assert.rejects(loadVerifiedDirectory(model, options), isVerificationError('UNSIGNED_FILE'));
    const single = await signedModel(t);
    await assert.rejects(loadVerifiedDirectory(single.model, single.options), (e: unknown) => e instanceof MsSignError && e.code === 'USAGE');
  });
});

describe('copyVerifiedModel', () => {
  test('copies a file or a directory: exactly the verified bytes, files read-only', async (t) => {
    const { dir, model, options } = await signedModel(t);
    const target = join(dir, 'copy.ms');
    const report = await copyVerifiedModel(model, target, options);
    assert.equal(report.ok, true);
    assert.ok(readFileSync(target).equals(readFileSync(model)));
    assert.equal(statSync(target).mode & 0o777, 0o400);

    const d = await signedDirectory(t);
    const copy = join(d.dir, 'copy');
    await copyVerifiedModel(d.model, copy, d.options);
    assert.ok(readFileSync(join(copy, 'nested', 'relu.mindir')).equals(readFileSync(join(d.model, 'nested', 'relu.mindir'))));
    assert.equal(statSync(join(copy, 'parallel.ms')).mode & 0o777, 0o400);
    assert.equal(statSync(copy).mode & 0o777, 0o700);
  });

  test('never overwrites or deletes a destination that already exists', async (t) => {
    const { dir, model, options } = await signedModel(t);
    const target = join(dir, 'existing.ms');
    writeFileSync(target, 'keep me');
    await assert.rejects(copyVerifiedModel(model, target, options), (e: unknown) => e instanceof MsSignError && e.code === 'FILE_EXISTS');
    assert.equal(readFileSync(target, 'utf8'), 'keep me');
    // Not even when verification fails first.
    flipByte(model, 5);
    await assert.rejects(copyVerifiedModel(model, target, options), (e: unknown) => e instanceof MsSignError && e.code === 'FILE_EXISTS');
    assert.equal(readFileSync(target, 'utf8'), 'keep me');

    const d = await signedDirectory(t);
    mkdirSync(join(d.dir, 'existing'));
    writeFileSync(join(d.dir, 'existing', 'mine.txt'), 'keep me too');
    await assert.rejects(copyVerifiedModel(d.model, join(d.dir, 'existing'), d.options), (e: unknown) => e instanceof MsSignError && e.code === 'FILE_EXISTS');
    assert.deepEqual(readdirSync(join(d.dir, 'existing')), ['mine.txt']);
  });

  test('removes what it created when the model is not verified', async (t) => {
    const { dir, model, options } = await signedModel(t);
    flipByte(model, 5);
    await assert.rejects(copyVerifiedModel(model, join(dir, 'copy.ms'), options), isVerificationError('DIGEST_MISMATCH'));
    assert.ok(!existsSync(join(dir, 'copy.ms')));
    const d = await signedDirectory(t);
    flipByte(join(d.model, 'nested', 'relu.mindir'), 3);
    await assert.rejects(copyVerifiedModel(d.model, join(d.dir, 'copy'), d.options), isVerificationError('DIGEST_MISMATCH'));
    assert.ok(!existsSync(join(d.dir, 'copy')));
  });
});

describe('the examples in docs/verify-before-load.md run', () => {
  test('examples/load-verified-model.mjs (Node): loads a verified model, refuses a tampered one', async (t) => {
    const { dir, key, model, name } = await signedModel(t);
    await cliOk(dir, ['trust', 'init']);
    await cliOk(dir, ['trust', 'add', 'acme', '-p', key.public]);
    const script = join(repoRoot, 'examples', 'load-verified-model.mjs');
    const run = () => spawnSync(process.execPath, [script, name], { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir } });
    const ok = run();
    assert.equal(ok.status, 0, ok.stderr);
    const digest = createHash('sha256').update(readFileSync(model)).digest('hex');
    assert.equal(ok.stdout, `verified ${name} (signed by acme): ${readFileSync(model).length} bytes, sha256 ${digest}\n`);
    flipByte(model, 77);
    const bad = run();
    assert.equal(bad.status, 1);
    assert.equal(bad.stdout, '');
    assert.match(bad.stderr, /^DIGEST_MISMATCH: /);
  });

  const python = spawnSync('python3', ['--version']).status === 0;
  test('examples/load_verified.py (Python, MindSpore Lite stubbed): builds only from verified bytes', { skip: python ? false : 'python3 is not installed' }, async (t) => {
    const { dir, key, model, name } = await signedModel(t);
    // A stand-in for mindspore_lite that records what build_from_buffer was given: the test
    // checks the example's plumbing (ms-sign's pipe), not MindSpore Lite itself.
    const stub = join(dir, 'stub', 'mindspore_lite');
    mkdirSync(stub, { recursive: true });
    writeFileSync(
      join(stub, '__init__.py'),
      [
        'import enum, hashlib, os',
        'class ModelType(enum.Enum):',
        '    MINDIR = 0',
        '    MINDIR_LITE = 4',
        'class Context:',
        '    target = None',
        'class Model:',
        '    def build_from_buffer(self, model_bytes, weight_bytes=None, model_type=None, context=None):',
        '        with open(os.environ["BUILT"], "w") as f:',
        '            f.write(f"{model_type.name} {len(model_bytes)} {hashlib.sha256(model_bytes).hexdigest()}")',
        '',
      ].join('\n'),
    );
    const run = () =>
      spawnSync('python3', [join(repoRoot, 'examples', 'load_verified.py'), name, '-p', key.public], {
        cwd: dir,
        encoding: 'utf8',
        env: { PATH: process.env.PATH, HOME: dir, PYTHONPATH: join(dir, 'stub'), BUILT: join(dir, 'built.txt'), MS_SIGN: `"${process.execPath}" "${cliBin}"` },
      });
    const ok = run();
    assert.equal(ok.status, 0, ok.stderr);
    const bytes = readFileSync(model);
    assert.equal(readFileSync(join(dir, 'built.txt'), 'utf8'), `MINDIR_LITE ${bytes.length} ${createHash('sha256').update(bytes).digest('hex')}`);
    writeFileSync(join(dir, 'built.txt'), '');
    flipByte(model, 1000);
    const bad = run();
    assert.equal(bad.status, 1);
    assert.equal(readFileSync(join(dir, 'built.txt'), 'utf8'), '', 'nothing may be built from a model that failed verification');
  });

  const gxx = spawnSync('g++', ['--version']).status === 0;
  test('examples/load_verified.cc (C++, built without MindSpore Lite): reads the verified bytes from the pipe', { skip: gxx ? false : 'g++ is not installed' }, async (t) => {
    const { dir, key, model, name } = await signedModel(t);
    const binary = join(dir, 'load_verified');
    const built = spawnSync('g++', ['-std=c++17', '-O2', '-Wall', '-Werror', '-o', binary, join(repoRoot, 'examples', 'load_verified.cc')], { encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);
    // `ms-sign` on PATH, as an installed ms-sign would be.
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'bin', 'ms-sign'), `#!/bin/sh\nexec "${process.execPath}" "${cliBin}" "$@"\n`, { mode: 0o755 });
    const run = () => spawnSync(binary, [name, '-p', key.public], { cwd: dir, encoding: 'utf8', env: { PATH: `${join(dir, 'bin')}:${process.env.PATH}`, HOME: dir } });
    const ok = run();
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stdout, `received ${readFileSync(model).length} verified bytes of ${name} (built without MindSpore Lite)\n`);
    flipByte(model, 2000);
    const bad = run();
    assert.equal(bad.status, 1);
    assert.equal(bad.stdout, '');
    assert.match(bad.stderr, /is not verified \(ms-sign exit code 1\)/);
  });
});
