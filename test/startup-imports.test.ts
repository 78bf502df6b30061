/**
 * What a verify loads: a native signature never loads the Sigstore libraries (~0.17 s of CPU at
 * start-up, more than the whole verify of a small model). The child process runs the CLI from its
 * compiled modules (packages/cli/dist/main.js, the module graph a library user gets; a one-file
 * bundle would hide its modules from the report) with a preloaded script that reports, at exit,
 * which Sigstore modules are in require's cache (the Sigstore packages are CommonJS: imported or
 * required, they land there).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { cliBin, copyFixture, makeKey, spawnCli, tempDir, writeFile } from './helpers/index.js';
import { caPath, corpusDir } from './interop/corpus.js';

const MAIN = pathToFileURL(join(cliBin, '..', '..', 'dist', 'main.js')).href;
const RUN = `import { main, processIo } from ${JSON.stringify(MAIN)}; process.exitCode = await main(process.argv.slice(1), processIo());`;
const REPORT = "process.on('exit', () => { process.stderr.write('SIGSTORE_MODULES=' + Object.keys(require.cache).filter((k) => k.includes('@sigstore')).length + '\\n'); });\n";

function sigstoreModulesLoaded(dir: string, args: readonly string[]): number {
  const preload = join(dir, 'report-sigstore.cjs');
  writeFile(preload, REPORT);
  const r = spawnSync(process.execPath, ['--require', preload, '--input-type=module', '-e', RUN, ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: dir, XDG_CONFIG_HOME: join(dir, '.config-home'), NO_COLOR: '1' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const m = /SIGSTORE_MODULES=(\d+)/.exec(r.stderr);
  assert.ok(m, `no report from the preloaded script: ${r.stderr}`);
  return Number(m[1]);
}

test('verifying a native signature loads no Sigstore module', async (t) => {
  const dir = tempDir(t);
  const key = await makeKey(dir);
  copyFixture('parallel.ms', dir);
  assert.equal(spawnCli(['sign', 'parallel.ms', '-k', key.secret], { cwd: dir }).code, 0);
  assert.equal(sigstoreModulesLoaded(dir, ['verify', 'parallel.ms', '-p', key.public, '-q']), 0);
});

test('verifying an OMS bundle with a certificate chain does load them (the report sees them)', (t) => {
  const model = join(corpusDir, 'v1.1.0-certificate');
  const loaded = sigstoreModulesLoaded(tempDir(t), ['verify', model, '-s', join(model, 'model.sig'), '--cert-root', caPath, '-q']);
  assert.ok(loaded > 0, 'the certificate checks parse extensions with @sigstore/core');
});
