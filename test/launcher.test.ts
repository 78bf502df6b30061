/**
 * bin/ms-sign.cjs answers a lone --version itself, and starts verify, exec, inspect and verify-raw from the one-file bundle when it is
 * at least as new as both packages' last compile, and everything else (or with a stale or missing
 * bundle) from dist/ (docs/performance.md, Start-up). Tested on a copy of the real launcher in a
 * package layout whose two entry points only say which one ran, with file times set explicitly.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { cliBin, cliOk, makeKey, tempDir, writeFile } from './helpers/index.js';

function layout(t: TestContext) {
  const root = tempDir(t);
  const cli = join(root, 'cli');
  for (const dir of ['bin', 'dist', 'dist-bundle', '../core/dist']) mkdirSync(join(cli, dir), { recursive: true });
  writeFileSync(join(cli, 'package.json'), '{"type":"module","version":"9.9.9-test"}');
  copyFileSync(cliBin, join(cli, 'bin', 'ms-sign.cjs'));
  writeFileSync(join(cli, 'dist', 'main.js'), `export const processIo = () => ({});
export async function main(argv) { process.stdout.write('dist ' + argv.join(' ')); return 0; }`);
  writeFileSync(join(cli, 'dist-bundle', 'ms-sign.cjs'), `process.stdout.write('bundle ' + process.argv.slice(2).join(' '));`);
  const infos = [join(cli, 'dist', '.tsbuildinfo'), join(root, 'core', 'dist', '.tsbuildinfo')];
  for (const info of infos) writeFileSync(info, '{}');
  const setTimes = (bundleAt: number, compiledAt: number) => {
    utimesSync(join(cli, 'dist-bundle', 'ms-sign.cjs'), bundleAt, bundleAt);
    for (const info of infos) utimesSync(info, compiledAt, compiledAt);
  };
  const run = (...argv: string[]) => {
    const r = spawnSync(process.execPath, [join(cli, 'bin', 'ms-sign.cjs'), ...argv], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  return { cli, root, infos, setTimes, run };
}

describe('the launcher', () => {
  test('verify, exec, inspect and verify-raw run from a current bundle; other commands from dist', (t) => {
    const { setTimes, run } = layout(t);
    setTimes(2_000_000, 1_000_000);
    for (const command of ['verify', 'exec', 'inspect', 'verify-raw']) assert.equal(run(command, 'm.bin'), `bundle ${command} m.bin`);
    for (const argv of [['sign', 'm.bin'], ['keygen'], ['trust', 'list'], ['--version', 'x'], []]) assert.equal(run(...argv), `dist ${argv.join(' ')}`);
  });

  test('--version and -V alone are answered by the launcher from package.json, loading neither entry point', (t) => {
    const { setTimes, run } = layout(t);
    setTimes(2_000_000, 1_000_000);
    for (const flag of ['--version', '-V']) assert.equal(run(flag), '9.9.9-test\n');
  });

  test('a bundle older than either package compile, or none, is not used', (t) => {
    const { cli, infos, setTimes, run } = layout(t);
    setTimes(1_000_000, 2_000_000);
    assert.equal(run('verify', 'm.bin'), 'dist verify m.bin');
    setTimes(2_000_000, 1_000_000);
    utimesSync(infos[1]!, 3_000_000, 3_000_000); // core recompiled after the bundle
    assert.equal(run('verify', 'm.bin'), 'dist verify m.bin');
    setTimes(2_000_000, 1_000_000);
    assert.equal(run('verify', 'm.bin'), 'bundle verify m.bin');
    rmSync(join(cli, 'dist-bundle'), { recursive: true });
    assert.equal(run('verify', 'm.bin'), 'dist verify m.bin');
  });
});

/** Node without the coverage run's NODE_V8_COVERAGE, which changes V8's flags (and so would refuse any code cache). */
const plainEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'NODE_V8_COVERAGE'));

/** In a child Node: loads the launcher as a module and prints what V8 said of the code cache it passed (undefined: none). */
function cacheVerdict(launcher: string): string {
  const code = `process.stdout.write(String(require(${JSON.stringify(launcher)}).compileBundle(true).script.cachedDataRejected))`;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', env: plainEnv });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

describe("the launcher's code cache", () => {
  /** Compiles and runs the layout's bundle once as the launcher does, then writes its code cache as scripts/build-code-cache.mjs does. */
  function writeCache(launcher: string) {
    const code = `const { writeFileSync } = require('node:fs');
const l = require(${JSON.stringify(launcher)});
const { key, script } = l.compileBundle(false);
l.runBundle(script);
writeFileSync(l.codeCachePath, Buffer.concat([key, script.createCachedData()]));`;
    const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', env: plainEnv });
    assert.equal(r.status, 0, r.stderr);
  }

  test('a cache made from the bundle is used for it', (t) => {
    const { cli, setTimes, run } = layout(t);
    setTimes(2_000_000, 1_000_000);
    const launcher = join(cli, 'bin', 'ms-sign.cjs');
    assert.equal(cacheVerdict(launcher), 'undefined'); // no cache yet: compiled from source
    writeCache(launcher);
    assert.equal(cacheVerdict(launcher), 'false'); // passed to V8 and accepted
    assert.equal(run('verify', 'm.bin'), 'bundle verify m.bin');
  });

  test('a cache made from other bytes of the same length is never run', (t) => {
    // V8 checks only the source's length (and its own version and flags): given this cache, it
    // would run the old bundle's code. The launcher binds the cache to the bundle's SHA-256.
    const { cli, setTimes, run } = layout(t);
    const bundle = join(cli, 'dist-bundle', 'ms-sign.cjs');
    const launcher = join(cli, 'bin', 'ms-sign.cjs');
    writeFileSync(bundle, `process.stdout.write('old ' + process.argv.slice(2).join(' '));`);
    writeCache(launcher);
    writeFileSync(bundle, `process.stdout.write('new ' + process.argv.slice(2).join(' '));`);
    setTimes(2_000_000, 1_000_000);
    assert.equal(cacheVerdict(launcher), 'undefined');
    assert.equal(run('verify', 'm.bin'), 'new verify m.bin');
  });

  test('npm run build made a cache that this Node accepts for the real bundle', () => {
    assert.equal(cacheVerdict(cliBin), 'false');
  });
});

describe('what a quiet verify loads (docs/performance.md, Start-up)', () => {
  test('verify -q of a small model from the real bundle loads no process, network or worker module and creates no stdio stream', async (t) => {
    // The bundle loads node:child_process and node:worker_threads on first use, and the CLI
    // creates stdout and stderr only when it writes: each would cost milliseconds of a verify
    // that runs before every model load. Stdio are pipes here, so creating either loads node:net.
    const dir = tempDir(t);
    const key = await makeKey(dir);
    writeFile(join(dir, 'model.bin'), new Uint8Array(100_000).fill(3));
    await cliOk(dir, ['sign', 'model.bin', '-k', key.secret]);
    const code = `const l = require(${JSON.stringify(cliBin)});
process.argv = [process.execPath, l.bundlePath, 'verify', 'model.bin', '-p', ${JSON.stringify(key.public)}, '-q'];
process.on('exit', (status) => require('node:fs').writeSync(3, JSON.stringify({ status, loaded: process.moduleLoadList })));
l.runBundle(l.compileBundle(true).script);`;
    const r = spawnSync(process.execPath, ['-e', code], { cwd: dir, encoding: 'utf8', env: plainEnv, stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    assert.equal(r.status, 0, r.stderr);
    const { status, loaded } = JSON.parse(r.output[3]!) as { status: number; loaded: string[] };
    assert.equal(status, 0);
    assert.ok(loaded.includes('NativeModule crypto'), 'the verify ran'); // a check that the list is the real one
    const unwanted = ['NativeModule child_process', 'NativeModule worker_threads', 'NativeModule net', 'NativeModule tty'];
    assert.deepEqual(loaded.filter((m) => unwanted.includes(m)), []);
    assert.equal(r.stdout + r.stderr, '');
  });
});
