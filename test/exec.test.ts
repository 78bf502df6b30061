/**
 * `ms-sign exec MODEL [verify options] [--copy] -- CMD ARGS...` (docs/verify-before-load.md): CMD runs only
 * when MODEL verifies, `{}` becomes the path to load (the model, or with --copy a private
 * read-only copy of exactly the verified bytes, gone afterwards), the exit code is CMD's, and
 * stop signals reach CMD. Run as a real process: CMD inherits ms-sign's stdio.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { cliBin, copyFixture, errorCodes, makeKey, runCli, spawnCli, tempDir } from './helpers/index.js';
import { cliOk } from './helpers/trust.js';

/** What the probe CMD saw of each argument. */
interface Seen {
  arg: string;
  exists: boolean;
  directory?: boolean;
  mode?: number;
  sha256?: string | null;
  entries?: string[];
}

// The CMD of these tests: records what each argument names, then exits with the code given.
const PROBE = `
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
const [out, code, ...args] = process.argv.slice(2);
const seen = args.map((arg) => {
  try {
    const st = statSync(arg);
    return { arg, exists: true, directory: st.isDirectory(), mode: st.mode & 0o777,
      sha256: st.isFile() ? createHash('sha256').update(readFileSync(arg)).digest('hex') : null,
      ...(st.isDirectory() ? { entries: readdirSync(arg, { recursive: true }).map(String).sort() } : {}) };
  } catch {
    return { arg, exists: false };
  }
});
writeFileSync(out, JSON.stringify(seen));
process.stdout.write('probe ran\\n');
process.exit(Number(code));
`;

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

async function setup(t: { after: (fn: () => void) => void }) {
  const dir = tempDir(t);
  const key = await makeKey(dir);
  const model = copyFixture('lenet_tod_infer.ms', dir);
  await cliOk(dir, ['sign', 'lenet_tod_infer.ms', '-k', key.secret]);
  writeFileSync(join(dir, 'probe.mjs'), PROBE);
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp);
  const seenFile = join(dir, 'seen.json');
  /** ms-sign exec MODEL FLAGS -- node probe.mjs seen.json CODE ARGS... */
  const exec = (flags: readonly string[], code: number, args: readonly string[], model = 'lenet_tod_infer.ms') =>
    spawnCli(['exec', model, ...flags, '--', process.execPath, 'probe.mjs', seenFile, String(code), ...args], { cwd: dir, env: { TMPDIR: tmp } });
  const seen = (): Seen[] | undefined => (existsSync(seenFile) ? (JSON.parse(readFileSync(seenFile, 'utf8')) as Seen[]) : undefined);
  return { dir, key, model, tmp, exec, seen };
}

describe('exec runs CMD only when the model verifies', () => {
  test('on success: CMD runs with {} replaced by the model path, and its exit code is exec’s', async (t) => {
    const { key, model, exec, seen } = await setup(t);
    const r = exec(['-p', key.public], 7, ['{}', '--model={}', 'no-braces']);
    assert.equal(r.code, 7);
    assert.equal(r.stdout, 'probe ran\n', 'stdout belongs to CMD');
    assert.match(r.stderr, /^Verified lenet_tod_infer\.ms/);
    const [plain, embedded, untouched] = seen()!;
    assert.deepEqual([plain!.arg, embedded!.arg, untouched!.arg], ['lenet_tod_infer.ms', '--model=lenet_tod_infer.ms', 'no-braces']);
    assert.equal(plain!.sha256, sha256(model));
    assert.equal(exec(['-p', key.public, '-q'], 0, ['{}']).code, 0);
  });

  for (const [what, flags, expectedCode, expectedError] of [
    ['tampered model', ['-p', 'publisher.pub'], 1, 'DIGEST_MISMATCH'],
    ['untrusted signer', ['-p', 'stranger.pub'], 1, 'UNTRUSTED_SIGNER'],
    ['no trust anchor', [], 2, 'NO_TRUST_ANCHOR'],
    ['malformed trust policy', ['-t', 'bad-policy.json'], 2, 'BAD_TRUST_POLICY'],
  ] as const) {
    test(`never on failure: ${what} (exit ${expectedCode}, CMD not started)`, async (t) => {
      const { dir, model, exec, seen, tmp } = await setup(t);
      await makeKey(dir, 'stranger');
      writeFileSync(join(dir, 'bad-policy.json'), '{"version": 1, "publishers": [], "revoked": [], "rules": [{"models": "**", "threshold": 0}]}');
      if (what === 'tampered model') {
        const bytes = readFileSync(model);
        bytes[4096] = bytes[4096]! ^ 1;
        writeFileSync(model, bytes);
      }
      for (const copy of [[], ['--copy']]) {
        const r = exec([...flags, ...copy], 0, ['{}']);
        assert.equal(r.code, expectedCode, r.stderr);
        assert.equal(seen(), undefined, 'CMD must not have run');
        assert.equal(r.stdout, '');
        assert.match(r.stderr, new RegExp(expectedError));
        assert.deepEqual(readdirSync(tmp), [], 'no copy is left behind');
      }
    });
  }

  test('a rollback refused by --state does not start CMD', async (t) => {
    const { dir, key, exec, seen } = await setup(t);
    await cliOk(dir, ['sign', 'lenet_tod_infer.ms', '-k', key.secret, '--model-version', '2.0.0']);
    assert.equal(exec(['-p', key.public, '--state', 'state.json'], 0, []).code, 0);
    writeFileSync(join(dir, 'seen.json'), '[]');
    await cliOk(dir, ['sign', 'lenet_tod_infer.ms', '-k', key.secret, '--model-version', '1.0.0']);
    const r = exec(['-p', key.public, '--state', 'state.json'], 0, ['{}']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ROLLBACK/);
    assert.deepEqual(seen(), [], 'CMD must not have run again');
  });

  test('CMD that cannot start: 127 (not found), 126 (not executable); --json is refused', async (t) => {
    const { dir, key, tmp } = await setup(t);
    const notFound = spawnCli(['exec', 'lenet_tod_infer.ms', '-p', key.public, '--copy', '--', 'no-such-command-ms-sign'], { cwd: dir, env: { TMPDIR: tmp } });
    assert.equal(notFound.code, 127);
    assert.match(notFound.stderr, /COMMAND_NOT_FOUND/);
    assert.deepEqual(readdirSync(tmp), []);
    writeFileSync(join(dir, 'not-executable'), '#!/bin/sh\n');
    const notExecutable = spawnCli(['exec', 'lenet_tod_infer.ms', '-p', key.public, '--', './not-executable'], { cwd: dir });
    assert.equal(notExecutable.code, 126);
    const json = await runCli(['exec', 'lenet_tod_infer.ms', '-p', key.public, '--json', '--', 'true'], { cwd: dir });
    assert.equal(json.code, 2);
    assert.deepEqual(errorCodes(json), ['USAGE']);
  });
});

describe('exec --copy', () => {
  test('hands CMD a private read-only copy of exactly the verified bytes, gone afterwards', async (t) => {
    const { key, model, tmp, exec, seen } = await setup(t);
    const r = exec(['-p', key.public, '--copy'], 3, ['{}']);
    assert.equal(r.code, 3, r.stderr);
    const [copy] = seen()!;
    assert.notEqual(copy!.arg, model);
    assert.equal(basename(copy!.arg), 'lenet_tod_infer.ms', 'the copy keeps the file name (loaders look at the extension)');
    assert.equal(dirname(dirname(copy!.arg)), tmp);
    assert.match(basename(dirname(copy!.arg)), /^ms-sign-exec-/);
    assert.equal(copy!.mode, 0o400);
    assert.equal(copy!.sha256, sha256(model));
    assert.ok(!existsSync(copy!.arg) && !existsSync(dirname(copy!.arg)), 'the copy and its directory are removed when CMD ends');
    assert.deepEqual(readdirSync(tmp), []);
  });

  test('copies a directory model; {} names the copied directory', async (t) => {
    const { dir, key, tmp, exec, seen } = await setup(t);
    copyFixture('parallel.ms', join(dir, 'model'));
    copyFixture('relu.mindir', join(dir, 'model', 'nested'));
    await cliOk(dir, ['sign', 'model', '-k', key.secret]);
    const r = exec(['-p', key.public, '--copy'], 0, ['{}', '{}/nested/relu.mindir'], 'model');
    assert.equal(r.code, 0, r.stderr);
    const [root, nested] = seen()!;
    assert.equal(root!.directory, true);
    assert.deepEqual(root!.entries, ['nested', 'nested/relu.mindir', 'parallel.ms']);
    assert.equal(nested!.sha256, sha256(join(dir, 'model', 'nested', 'relu.mindir')));
    assert.equal(nested!.mode, 0o400);
    assert.deepEqual(readdirSync(tmp), []);
  });
});

describe('exec and signals', () => {
  // A CMD that says when it is ready, and on SIGTERM records it and exits 42 (or, with
  // "die", lets SIGTERM end it).
  const WAITER = `
import { writeFileSync } from 'node:fs';
const [ready, got, mode] = process.argv.slice(2);
if (mode !== 'die') process.on('SIGTERM', () => { writeFileSync(got, 'SIGTERM'); process.exit(42); });
writeFileSync(ready, process.argv[5] ?? '');
setInterval(() => {}, 1000);
`;

  async function runUntilReady(dir: string, key: string, tmp: string, mode: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; copy: string }> {
    writeFileSync(join(dir, 'waiter.mjs'), WAITER);
    const child = spawn(process.execPath, [cliBin, 'exec', 'lenet_tod_infer.ms', '-p', key, '--copy', '--', process.execPath, 'waiter.mjs', 'ready', 'got', mode, '{}'], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir, TMPDIR: tmp, NO_COLOR: '1' },
      stdio: 'ignore',
    });
    const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    const deadline = Date.now() + 30_000;
    while (!existsSync(join(dir, 'ready'))) {
      if (Date.now() > deadline) throw new Error('CMD never started');
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 50));
    const copy = readFileSync(join(dir, 'ready'), 'utf8');
    child.kill('SIGTERM');
    return { ...(await ended), copy };
  }

  test('SIGTERM sent to ms-sign reaches CMD; exec exits with CMD’s code and removes the copy', async (t) => {
    const { dir, key, tmp } = await setup(t);
    const { code, copy } = await runUntilReady(dir, key.public, tmp, 'handle');
    assert.equal(readFileSync(join(dir, 'got'), 'utf8'), 'SIGTERM');
    assert.equal(code, 42);
    assert.ok(copy.startsWith(tmp) && !existsSync(copy));
    assert.deepEqual(readdirSync(tmp), []);
  });

  test('CMD ended by a signal: exit code 128 + the signal number', async (t) => {
    const { dir, key, tmp } = await setup(t);
    const { code } = await runUntilReady(dir, key.public, tmp, 'die');
    assert.equal(code, 128 + 15);
    assert.deepEqual(readdirSync(tmp), []);
  });
});
