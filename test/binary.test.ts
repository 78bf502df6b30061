/**
 * What only the single binary must show (docs/binaries.md): it runs with an empty environment and
 * no Node.js on PATH, ignores NODE_OPTIONS and OPENSSL_CONF (a verifier must not run code an
 * attacker put in its environment), hashes a model large enough to use worker threads, signs
 * through a signing command, and refuses --pkcs11 (a native addon) with PKCS11_UNAVAILABLE.
 * Run with MS_SIGN_CLI=packages/cli/dist-bin/ms-sign-linux-x64 (scripts/test-binary.mjs does);
 * without a binary there is nothing to test and each test says so.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { cliUnderTest, copyFixture, makeKey, runCli, tempDir } from './helpers/index.js';
import { openssl } from './helpers/openssl.js';

const binary = cliUnderTest !== undefined && !/\.[cm]?js$/.test(cliUnderTest) ? cliUnderTest : undefined;

function needsBinary(t: TestContext): string | undefined {
  if (binary === undefined) t.skip('no single binary under test (MS_SIGN_CLI=path/to/ms-sign-linux-x64)');
  return binary;
}

/** Runs the binary with exactly `env` (nothing inherited). */
function runBinary(bin: string, argv: readonly string[], cwd: string, env: Record<string, string>) {
  return spawnSync(bin, argv, { cwd, env, encoding: 'utf8', timeout: 120_000 });
}

async function signedFixture(t: TestContext) {
  const dir = tempDir(t);
  const key = await makeKey(dir);
  copyFixture('parallel.ms', dir);
  const r = await runCli(['sign', 'parallel.ms', '-k', key.secret], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  return { dir, key };
}

describe('the single binary', () => {
  test('verifies with an empty environment: no PATH, no HOME, no Node.js', async (t) => {
    const bin = needsBinary(t);
    if (!bin) return;
    const { dir, key } = await signedFixture(t);
    const r = runBinary(bin, ['verify', 'parallel.ms', '-p', key.public], dir, {});
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Verified parallel\.ms/);
  });

  test('ignores NODE_OPTIONS: a --require preload from the environment never runs', async (t) => {
    const bin = needsBinary(t);
    if (!bin) return;
    const { dir, key } = await signedFixture(t);
    const marker = join(dir, 'preload-ran');
    writeFileSync(join(dir, 'x.js'), `require('fs').writeFileSync(${JSON.stringify(marker)}, 'ran');\n`);
    for (const options of ['--require ./x.js', `--require ${join(dir, 'x.js')}`, `--import ${join(dir, 'x.js')}`]) {
      const r = runBinary(bin, ['verify', 'parallel.ms', '-p', key.public, '-q'], dir, { NODE_OPTIONS: options });
      assert.equal(r.status, 0, `${options}: ${r.stderr}`);
      assert.equal(existsSync(marker), false, `NODE_OPTIONS=${options} ran the preload`);
    }
    // The same preload through a plain Node.js does run: the test can see a preload.
    spawnSync(process.execPath, ['-e', '0'], { cwd: dir, env: { NODE_OPTIONS: '--require ./x.js' } });
    assert.equal(existsSync(marker), true, 'the preload works with node itself');
  });

  test('ignores OPENSSL_CONF: a configuration that loads a provider library is never read', async (t) => {
    const bin = needsBinary(t);
    if (!bin) return;
    const { dir, key } = await signedFixture(t);
    // A provider that does not exist: a runtime that reads this file aborts at start-up.
    writeFileSync(
      join(dir, 'openssl.cnf'),
      `nodejs_conf = init\n[init]\nproviders = providers\n[providers]\nevil = evil\n[evil]\nmodule = ${join(dir, 'evil.so')}\nactivate = 1\n`,
    );
    const env = { OPENSSL_CONF: join(dir, 'openssl.cnf') };
    const r = runBinary(bin, ['verify', 'parallel.ms', '-p', key.public, '-q'], dir, env);
    assert.equal(r.status, 0, r.stderr);
    const node = spawnSync(process.execPath, ['-e', '0'], { env, encoding: 'utf8' });
    assert.notEqual(node.status, 0, 'node itself reads OPENSSL_CONF: the test can see it');
  });

  test('sign --pkcs11 says the PKCS#11 binding (a native addon) is not in the single binary', async (t) => {
    const bin = needsBinary(t);
    if (!bin) return;
    const dir = tempDir(t);
    copyFixture('parallel.ms', dir);
    const r = runBinary(bin, ['sign', 'parallel.ms', '--pkcs11', 'pkcs11:token=t;object=o', '--json'], dir, { MS_SIGN_PKCS11_MODULE: '/nonexistent/module.so' });
    assert.equal(r.status, 2, r.stderr);
    const [error] = (JSON.parse(r.stdout) as { errors: { code: string; message: string }[] }).errors;
    assert.equal(error?.code, 'PKCS11_UNAVAILABLE');
    assert.match(error!.message, /not available in the single binary/);
  });

  test('sign --signer-cmd signs through an external command (openssl) from inside the binary; the binary verifies it', async (t) => {
    const bin = needsBinary(t);
    if (!bin) return;
    const dir = tempDir(t);
    copyFixture('parallel.ms', dir);
    openssl(['genpkey', '-algorithm', 'ed25519', '-out', 'ossl.pem'], dir);
    openssl(['pkey', '-in', 'ossl.pem', '-pubout', '-out', 'ossl.pub'], dir);
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    const signed = runBinary(bin, ['sign', 'parallel.ms', '--signer-cmd', 'openssl pkeyutl -sign -rawin -inkey ossl.pem -in /dev/stdin', '-p', 'ossl.pub'], dir, env);
    assert.equal(signed.status, 0, signed.stderr);
    assert.equal(runBinary(bin, ['verify', 'parallel.ms', '-p', 'ossl.pub', '-q'], dir, env).status, 0);
  });

  test('hashes a model over 64 MiB on worker threads and finds a flipped byte in its last shard', async (t) => {
    const bin = needsBinary(t);
    if (!bin) return;
    const dir = tempDir(t);
    const key = await makeKey(dir);
    const size = 96 * 1024 * 1024 + 123;
    const fd = openSync(join(dir, 'big.bin'), 'w');
    const block = Buffer.alloc(1024 * 1024);
    for (let written = 0; written < size; written += block.length) {
      for (let i = 0; i < block.length; i += 4096) block[i] = (written + i) & 0xff;
      writeSync(fd, block, 0, Math.min(block.length, size - written));
    }
    closeSync(fd);
    const sign = runBinary(bin, ['sign', 'big.bin', '-k', key.secret, '--threads', '2'], dir, {});
    assert.equal(sign.status, 0, sign.stderr);
    const ok = runBinary(bin, ['verify', 'big.bin', '-p', key.public, '--threads', '2', '--json'], dir, {});
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    const bytes = openSync(join(dir, 'big.bin'), 'r+');
    writeSync(bytes, Buffer.of(0x5a), 0, 1, size - 10);
    closeSync(bytes);
    const bad = runBinary(bin, ['verify', 'big.bin', '-p', key.public, '--threads', '2', '--json'], dir, {});
    assert.equal(bad.status, 1, bad.stderr);
    assert.deepEqual(
      (JSON.parse(bad.stdout) as { errors: { code: string }[] }).errors.map((e) => e.code),
      ['DIGEST_MISMATCH'],
    );
  });
});
