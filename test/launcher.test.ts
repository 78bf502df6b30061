/**
 * bin/ms-sign.js answers a lone --version itself, and starts verify, exec, inspect and verify-raw from the one-file bundle when it is
 * at least as new as both packages' last compile, and everything else (or with a stale or missing
 * bundle) from dist/ (docs/performance.md, Start-up). Tested on a copy of the real launcher in a
 * package layout whose two entry points only say which one ran, with file times set explicitly.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { cliBin, tempDir } from './helpers/index.js';

function layout(t: TestContext) {
  const root = tempDir(t);
  const cli = join(root, 'cli');
  for (const dir of ['bin', 'dist', 'dist-bundle', '../core/dist']) mkdirSync(join(cli, dir), { recursive: true });
  writeFileSync(join(cli, 'package.json'), '{"type":"module","version":"9.9.9-test"}');
  copyFileSync(cliBin, join(cli, 'bin', 'ms-sign.js'));
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
    const r = spawnSync(process.execPath, [join(cli, 'bin', 'ms-sign.js'), ...argv], { encoding: 'utf8' });
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
