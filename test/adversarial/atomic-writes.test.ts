/**
 * Key, signature and trust policy files are written atomically (docs/performance.md: nothing lost or
 * half written): a crash or a failing syscall at any point leaves the old file or none, never a
 * part. Failures are simulated exactly where they hurt: the final rename or link, the write
 * itself, and a SIGKILL in the middle of writing the bytes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { generateSecretKey } from '@ms-sign/core';
import { writeKeyFiles } from '../helpers/crafted.js';
import { withFsOverride } from '../helpers/fs-spy.js';
import { assertCodes } from '../helpers/hostile.js';
import { cliBin, runCli, tempDir } from '../helpers/index.js';

const failWith = (code: string) => () => () => {
  throw Object.assign(new Error(`${code}: simulated failure`), { code });
};

/** The directory's entries and their bytes, to compare before and after a failed write. */
function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).sort().map((name) => [name, readFileSync(join(dir, name)).toString('base64')]));
}

async function signedModel(t: Parameters<typeof tempDir>[0]) {
  const dir = tempDir(t);
  const key = await writeKeyFiles(dir, generateSecretKey());
  writeFileSync(join(dir, 'model.ms'), 'model bytes');
  assert.equal((await runCli(['sign', 'model.ms', '-k', key.secretPath, '-a', 'release=old'], { cwd: dir })).code, 0);
  return { dir, key };
}

describe('a write that fails at its last step leaves the old file and no temporary file', () => {
  for (const [step, name, code] of [
    ['the final rename', 'renameSync', 'EIO'],
    ['fsync (disk full)', 'fsyncSync', 'ENOSPC'],
    ['the write', 'writeSync', 'ENOSPC'],
  ] as const) {
    test(`sign replacing a signature file, failing at ${step}: exit 2, old signature file intact`, async (t) => {
      const { dir, key } = await signedModel(t);
      const before = snapshot(dir);
      const r = await withFsOverride(name, failWith(code), () => runCli(['sign', 'model.ms', '-k', key.secretPath, '-a', 'release=new', '--json'], { cwd: dir }));
      assertCodes(r, 2, ['IO_ERROR']);
      assert.deepEqual(snapshot(dir), before);
      assertCodes(await runCli(['verify', 'model.ms', '-p', key.publicPath, '--json'], { cwd: dir }), 0, []);
    });
  }

  test('keygen failing to link the secret key into place: no key file at all', async (t) => {
    const dir = tempDir(t);
    const r = await withFsOverride('linkSync', failWith('EIO'), () => runCli(['keygen', '-o', 'k', '--no-passphrase', '--json'], { cwd: dir }));
    assertCodes(r, 2, ['IO_ERROR']);
    assert.deepEqual(readdirSync(dir), []);
  });

  test('keygen failing to link the public key into place: the secret key is removed too', async (t) => {
    const dir = tempDir(t);
    const failOnPub = (original: (this: unknown, ...args: unknown[]) => unknown) =>
      function (this: unknown, ...args: unknown[]) {
        if (String(args[1]).endsWith('.pub')) throw Object.assign(new Error('EIO: simulated failure'), { code: 'EIO' });
        return original.apply(this, args);
      };
    const r = await withFsOverride('linkSync', failOnPub, () => runCli(['keygen', '-o', 'k', '--no-passphrase', '--json'], { cwd: dir }));
    assertCodes(r, 2, ['IO_ERROR']);
    assert.deepEqual(readdirSync(dir), []);
  });

  for (const which of ['.key', '.pub']) {
    test(`keygen --force failing to replace the ${which} file: the old key pair is intact`, async (t) => {
      const dir = tempDir(t);
      assert.equal((await runCli(['keygen', '-o', 'k', '--no-passphrase'], { cwd: dir })).code, 0);
      const before = snapshot(dir);
      const failFor = (original: (this: unknown, ...args: unknown[]) => unknown) =>
        function (this: unknown, ...args: unknown[]) {
          if (String(args[1]).endsWith(which)) throw Object.assign(new Error('EIO: simulated failure'), { code: 'EIO' });
          return original.apply(this, args);
        };
      const r = await withFsOverride('renameSync', failFor, () => runCli(['keygen', '-o', 'k', '--no-passphrase', '--force', '--json'], { cwd: dir }));
      assertCodes(r, 2, ['IO_ERROR']);
      assert.deepEqual(snapshot(dir), before);
    });
  }

  test('trust add failing at the final rename: the old policy is intact', async (t) => {
    const { dir, key } = await signedModel(t);
    assert.equal((await runCli(['trust', 'init', '-t', 'trust.json'], { cwd: dir })).code, 0);
    const before = snapshot(dir);
    const r = await withFsOverride('renameSync', failWith('EIO'), () => runCli(['trust', 'add', 'someone', '-p', key.publicPath, '-t', 'trust.json', '--json'], { cwd: dir }));
    assertCodes(r, 2, ['IO_ERROR']);
    assert.deepEqual(snapshot(dir), before);
  });
});

// Loaded into the child with --import: the first write into a temporary file matching
// KILL_TEMP writes half its bytes, flushes them, and the process kills itself with SIGKILL.
const CRASH_PRELOAD = `
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
const match = new RegExp(process.env.KILL_TEMP);
const temps = new Set();
const open = fs.openSync;
const write = fs.writeSync;
fs.openSync = function (path, ...rest) {
  const fd = open.call(this, path, ...rest);
  if (String(path).endsWith('.tmp') && match.test(String(path))) temps.add(fd);
  return fd;
};
fs.writeSync = function (fd, buffer, offset = 0, length = buffer.length - offset, ...rest) {
  if (temps.has(fd)) {
    write.call(this, fd, buffer, offset, Math.max(1, Math.floor(length / 2)));
    fs.fsyncSync(fd);
    process.kill(process.pid, 'SIGKILL');
  }
  return write.call(this, fd, buffer, offset, length, ...rest);
};
syncBuiltinESMExports();
`;

/** Runs the CLI as a child that dies with SIGKILL half-way through writing a file matching `killTemp`. */
function crashingCli(dir: string, argv: readonly string[], killTemp: string): void {
  const preload = join(dir, '..', `${dir.split('/').pop()}-crash.mjs`);
  writeFileSync(preload, CRASH_PRELOAD);
  const child = spawnSync(process.execPath, ['--import', pathToFileURL(preload).href, cliBin, ...argv], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: dir, NO_COLOR: '1', KILL_TEMP: killTemp },
    timeout: 30_000,
  });
  assert.equal(child.signal, 'SIGKILL', `the child was not killed mid-write: ${child.stderr.toString()}`);
}

/** What a crash leaves besides the target: at most the hidden, half-written temporary file. */
const leftovers = (dir: string, before: Record<string, string>) => Object.keys(snapshot(dir)).filter((name) => !(name in before));

describe('killed in the middle of writing (SIGKILL): the old file or none, never a part', () => {
  test('sign replacing a signature file: the old signature file is intact and still verifies', async (t) => {
    const { dir, key } = await signedModel(t);
    const before = snapshot(dir);
    crashingCli(dir, ['sign', 'model.ms', '-k', key.secretPath, '-a', 'release=new'], '\\.model\\.ms\\.sig\\.');
    const now = snapshot(dir);
    assert.equal(now['model.ms.sig'], before['model.ms.sig']);
    // The only trace: the temporary file, hidden and never taken for the signature file.
    assert.deepEqual(leftovers(dir, before).map((n) => n.replace(/[0-9a-f]{12}/, 'X')), ['.model.ms.sig.X.tmp']);
    assertCodes(await runCli(['verify', 'model.ms', '-p', key.publicPath, '--json'], { cwd: dir }), 0, []);
  });

  test('keygen: no secret key file at its name; keygen --force: every key file is whole, never torn', async (t) => {
    const dir = tempDir(t);
    crashingCli(dir, ['keygen', '-o', 'k', '--no-passphrase'], '\\.k\\.key\\.');
    assert.deepEqual(readdirSync(dir).filter((n) => !n.endsWith('.tmp')), []);
    const again = tempDir(t);
    assert.equal((await runCli(['keygen', '-o', 'k', '--no-passphrase'], { cwd: again })).code, 0);
    const before = snapshot(again);
    crashingCli(again, ['keygen', '-o', 'k', '--no-passphrase', '--force'], '\\.k\\.pub\\.');
    const now = snapshot(again);
    assert.equal(now['k.pub'], before['k.pub']);
    // The secret key was replaced before the crash hit the public key: a whole new file, never a
    // torn one, but no longer the pair of k.pub (docs/threat-model.md, what ms-sign does not do).
    assert.match(Buffer.from(now['k.key']!, 'base64').toString(), /^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=]{64}\n-----END PRIVATE KEY-----\n$/);
  });
});
