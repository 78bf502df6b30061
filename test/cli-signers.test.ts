/**
 * `sign --pkcs11`, `keygen --pkcs11` and `sign --signer-cmd` through the real CLI, against a
 * SoftHSM2 token and real programs (openssl, pkcs11-tool): the signature files are the native
 * format, byte for byte, and verify with the ordinary commands; every broken setup and hostile
 * signer ends in exit code 2 with no signature file; no PIN and no signer output leaks.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { cliBin, repoRoot, copyFixture, errorCodes, makeKey, runCli, spawnCli, tempDir, type CliResult } from './helpers/index.js';
import { openssl } from './helpers/openssl.js';
import { makeToken, pkcs11Tool, type SoftToken } from './helpers/softhsm.js';

const URI = 'pkcs11:token=release;object=model-key';

/** Environment for the CLI: the module and PIN, and SoftHSM2's config (read by the module itself). */
function tokenEnv(token: SoftToken, pin = token.pin): Record<string, string> {
  // The module reads SOFTHSM2_CONF from the real process environment when it initialises.
  process.env.SOFTHSM2_CONF = token.conf;
  return { MS_SIGN_PKCS11_MODULE: token.module, MS_SIGN_PKCS11_PIN: pin, SOFTHSM2_CONF: token.conf };
}

/** A token holding an Ed25519 key made by `ms-sign keygen --pkcs11`, and a model to sign. */
async function tokenWithKey(t: Parameters<typeof tempDir>[0]): Promise<{ dir: string; token: SoftToken; env: Record<string, string>; keyId: string }> {
  const dir = tempDir(t);
  copyFixture('parallel.ms', dir);
  const token = makeToken(t);
  const env = tokenEnv(token);
  const r = await runCli(['keygen', '--pkcs11', `${URI};id=%c0%de`, '-o', 'release', '--json'], { cwd: dir, env });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const made = r.json<{ keyId: string; publicKey: string; pkcs11: string }>();
  assert.equal(made.publicKey, join(dir, 'release.pub'));
  assert.equal(made.pkcs11, `${URI};id=%c0%de`);
  return { dir, token, env, keyId: made.keyId };
}

function assertFailed(r: CliResult, code: string, dir: string, sig = 'parallel.ms.sig'): void {
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.deepEqual(errorCodes(r), [code]);
  assert.ok(!existsSync(join(dir, sig)), 'no signature file may be written');
}

/** An Ed25519 key made by OpenSSL, and the signing command that signs with it. */
function opensslSigner(dir: string, name = 'ossl'): { pub: string; cmd: string } {
  openssl(['genpkey', '-algorithm', 'ed25519', '-out', `${name}.pem`], dir);
  openssl(['pkey', '-in', `${name}.pem`, '-pubout', '-out', `${name}.pub`], dir);
  return { pub: `${name}.pub`, cmd: `openssl pkeyutl -sign -rawin -inkey ${name}.pem -in /dev/stdin` };
}

/** Signs twice until both runs fall in the same second (the manifest records the time). */
async function sameSecond(run: () => Promise<Buffer>, runAgain: () => Promise<Buffer>): Promise<[Buffer, Buffer]> {
  for (let attempt = 0; ; attempt++) {
    const before = Math.floor(Date.now() / 1000);
    const a = await run();
    const b = await runAgain();
    if (Math.floor(Date.now() / 1000) === before || attempt === 4) return [a, b];
  }
}

describe('sign --pkcs11 on a SoftHSM2 token', () => {
  test('keygen on the token, sign, verify with the .pub: the ordinary commands', async (t) => {
    const { dir, env, keyId } = await tokenWithKey(t);
    const signed = await runCli(['sign', 'parallel.ms', '--pkcs11', URI, '--json'], { cwd: dir, env });
    assert.equal(signed.code, 0, signed.stdout + signed.stderr);
    assert.equal(signed.json<{ keyId: string }>().keyId, keyId);
    const verified = await runCli(['verify', 'parallel.ms', '-p', 'release.pub', '--json'], { cwd: dir });
    assert.equal(verified.code, 0, verified.stdout);
    // The same, from a child process (the real binary, the addon loaded there).
    assert.equal(spawnCli(['verify', 'parallel.ms', '-p', 'release.pub'], { cwd: dir }).code, 0);
  });

  test('module-path and pin-value in the URI work without the environment variables', async (t) => {
    const { dir, token } = await tokenWithKey(t);
    const r = await runCli(['sign', 'parallel.ms', '--pkcs11', `${URI}?module-path=${token.module}&pin-value=${token.pin}`], { cwd: dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(!r.stdout.includes(token.pin) && !r.stderr.includes(token.pin));
    assert.equal((await runCli(['verify', 'parallel.ms', '-p', 'release.pub'], { cwd: dir })).code, 0);
  });

  test('the token signature is byte-identical to pkcs11-tool signing with the same key (native format)', async (t) => {
    const { dir, token, env } = await tokenWithKey(t);
    const viaTool = `pkcs11-tool --module ${token.module} --token-label release --login --pin ${token.pin} --sign --mechanism EDDSA --id c0de`;
    const [a, b] = await sameSecond(
      async () => {
        const r = await runCli(['sign', 'parallel.ms', '--pkcs11', URI, '-o', 'a.sig'], { cwd: dir, env });
        assert.equal(r.code, 0, r.stderr);
        return readFileSync(join(dir, 'a.sig'));
      },
      async () => {
        const r = await runCli(['sign', 'parallel.ms', '--signer-cmd', viaTool, '-p', 'release.pub', '-o', 'b.sig'], { cwd: dir, env: { SOFTHSM2_CONF: token.conf } });
        assert.equal(r.code, 0, r.stderr);
        return readFileSync(join(dir, 'b.sig'));
      },
    );
    assert.deepEqual(a, b);
  });

  test('co-signing with --append: a file key, then the token, then a signing command; verified under a 3-publisher policy', async (t) => {
    const { dir, env } = await tokenWithKey(t);
    const fileKey = await makeKey(dir, 'alice');
    const ossl = opensslSigner(dir);
    assert.equal((await runCli(['sign', 'parallel.ms', '-k', fileKey.secret], { cwd: dir })).code, 0);
    const onToken = await runCli(['sign', 'parallel.ms', '--append', '--pkcs11', URI], { cwd: dir, env });
    assert.equal(onToken.code, 0, onToken.stderr);
    assert.match(onToken.stdout, /^Co-signed/);
    const byCommand = await runCli(['sign', 'parallel.ms', '--append', '--signer-cmd', ossl.cmd, '-p', ossl.pub], { cwd: dir });
    assert.equal(byCommand.code, 0, byCommand.stderr);
    // Appending the token's signature again is refused: one signature per key.
    assertFailedKeep(await runCli(['sign', 'parallel.ms', '--append', '--pkcs11', URI, '--json'], { cwd: dir, env }), 'ALREADY_SIGNED');

    const policy = ['-t', 'trust.json'];
    assert.equal((await runCli(['trust', 'init', ...policy], { cwd: dir })).code, 0);
    for (const [name, pub] of [['alice', fileKey.public], ['release-token', 'release.pub'], ['kms', ossl.pub]] as const) {
      assert.equal((await runCli(['trust', 'add', name, '-p', pub, ...policy], { cwd: dir })).code, 0);
    }
    assert.equal((await runCli(['trust', 'rule', '*', '--threshold', '3', ...policy], { cwd: dir })).code, 0);
    const verified = await runCli(['verify', 'parallel.ms', ...policy, '--json'], { cwd: dir });
    assert.equal(verified.code, 0, verified.stdout);
    // The token's signature really counted: with its publisher gone, 2 of 3 is not enough.
    assert.equal((await runCli(['trust', 'remove', 'release-token', ...policy], { cwd: dir })).code, 0);
    const short = await runCli(['verify', 'parallel.ms', ...policy, '--json'], { cwd: dir });
    assert.equal(short.code, 1);
    assert.ok(errorCodes(short).includes('THRESHOLD_NOT_MET'), short.stdout);
  });

  test('a wrong PIN: PKCS11_LOGIN_FAILED, exit 2, no signature, and the PIN appears nowhere', async (t) => {
    const { dir, token } = await tokenWithKey(t);
    const wrong = 'wrong-pin-9f3a7c';
    for (const json of [true, false]) {
      const r = await runCli(['sign', 'parallel.ms', '--pkcs11', URI, ...(json ? ['--json'] : [])], { cwd: dir, env: tokenEnv(token, wrong) });
      assert.equal(r.code, 2);
      if (json) assertFailed(r, 'PKCS11_LOGIN_FAILED', dir);
      assert.ok(!r.stdout.includes(wrong) && !r.stderr.includes(wrong), r.stdout + r.stderr);
      assert.ok(!r.stdout.includes(token.pin) && !r.stderr.includes(token.pin));
    }
    const inUri = await runCli(['sign', 'parallel.ms', '--pkcs11', `${URI}?pin-value=${wrong}`, '--json'], { cwd: dir, env: { MS_SIGN_PKCS11_MODULE: token.module } });
    assertFailed(inUri, 'PKCS11_LOGIN_FAILED', dir);
    assert.ok(!inUri.stdout.includes(wrong));
  });

  test('without MS_SIGN_PKCS11_PIN, the PIN is asked on the terminal and not echoed', async (t) => {
    const { dir, token } = await tokenWithKey(t);
    const driver = join(repoRoot, 'test', 'tools', 'pty-driver.py');
    const prompt = `PIN for ${URI}:`;
    const r = spawnSync('python3', [driver, '30', JSON.stringify([[prompt, `${token.pin}\r`]]), '--', process.execPath, cliBin, 'sign', 'parallel.ms', '--pkcs11', URI], {
      cwd: dir,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: dir, NO_COLOR: '1', TERM: 'xterm', SOFTHSM2_CONF: token.conf, MS_SIGN_PKCS11_MODULE: token.module },
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.ok(r.stdout.includes(`<${prompt}>`), r.stdout);
    assert.ok(!r.stdout.includes(token.pin), 'the PIN must not be echoed');
    assert.equal((await runCli(['verify', 'parallel.ms', '-p', 'release.pub'], { cwd: dir })).code, 0);
  });

  test('no PIN and no terminal: PKCS11_LOGIN_FAILED, with what to do', async (t) => {
    const { dir, token } = await tokenWithKey(t);
    const r = await runCli(['sign', 'parallel.ms', '--pkcs11', URI, '--json'], { cwd: dir, env: { MS_SIGN_PKCS11_MODULE: token.module } });
    assertFailed(r, 'PKCS11_LOGIN_FAILED', dir);
    assert.match(r.stdout, /MS_SIGN_PKCS11_PIN/);
  });

  test('a missing key, a missing token, an RSA key, no module, a relative module path', async (t) => {
    const { dir, token, env } = await tokenWithKey(t);
    const sign = (uri: string, extra: Record<string, string> = env) => runCli(['sign', 'parallel.ms', '--pkcs11', uri, '--json'], { cwd: dir, env: extra });
    assertFailed(await sign('pkcs11:token=release;object=no-such-key'), 'PKCS11_NOT_FOUND', dir);
    assertFailed(await sign('pkcs11:token=staging;object=model-key'), 'PKCS11_NOT_FOUND', dir);
    pkcs11Tool(token, ['--keypairgen', '--key-type', 'rsa:2048', '--label', 'rsa-key', '--id', '99', '--usage-sign']);
    assertFailed(await sign('pkcs11:token=release;object=rsa-key'), 'PKCS11_UNSUPPORTED_KEY', dir);
    // A P-256 key opens (for the OMS format), but native signature files hold Ed25519 only.
    pkcs11Tool(token, ['--keypairgen', '--key-type', 'EC:prime256v1', '--label', 'p256-key', '--id', '98', '--usage-sign']);
    assertFailed(await sign('pkcs11:token=release;object=p256-key'), 'SIGNER_FAILED', dir);
    assertFailed(await sign(URI, { MS_SIGN_PKCS11_PIN: token.pin }), 'PKCS11_UNAVAILABLE', dir);
    assertFailed(await sign(`${URI}?module-path=libsofthsm2.so`), 'USAGE', dir);
    assertFailed(await sign('pkcs11:token=release;objet=model-key'), 'USAGE', dir);
  });

  test('keygen --pkcs11 refuses an existing label and an existing .pub', async (t) => {
    const { dir, env } = await tokenWithKey(t);
    const again = await runCli(['keygen', '--pkcs11', URI, '-o', 'other', '--json'], { cwd: dir, env });
    assert.equal(again.code, 2);
    assert.deepEqual(errorCodes(again), ['PKCS11_OBJECT_EXISTS']);
    assert.ok(!existsSync(join(dir, 'other.pub')));
    const pubExists = await runCli(['keygen', '--pkcs11', 'pkcs11:token=release;object=second', '-o', 'release', '--json'], { cwd: dir, env });
    assert.deepEqual(errorCodes(pubExists), ['FILE_EXISTS']);
  });
});

/** A failed --append: exit 2 with `code`, and the existing signature file unchanged. */
function assertFailedKeep(r: CliResult, code: string): void {
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.deepEqual(errorCodes(r), [code]);
}

describe('sign --signer-cmd', () => {
  test('openssl as the signer: byte-identical to signing with the same key file (-k)', async (t) => {
    const dir = tempDir(t);
    copyFixture('parallel.ms', dir);
    const ossl = opensslSigner(dir);
    chmodSync(join(dir, 'ossl.pem'), 0o600);
    const [a, b] = await sameSecond(
      async () => {
        assert.equal((await runCli(['sign', 'parallel.ms', '-k', 'ossl.pem', '-o', 'a.sig'], { cwd: dir })).code, 0);
        return readFileSync(join(dir, 'a.sig'));
      },
      async () => {
        const r = await runCli(['sign', 'parallel.ms', '--signer-cmd', ossl.cmd, '-p', ossl.pub, '-o', 'b.sig'], { cwd: dir });
        assert.equal(r.code, 0, r.stderr);
        return readFileSync(join(dir, 'b.sig'));
      },
    );
    assert.deepEqual(a, b);
    assert.equal((await runCli(['verify', 'parallel.ms', '-s', 'b.sig', '-p', ossl.pub], { cwd: dir })).code, 0);
  });

  test('MS_SIGN_SIGNER_CMD stands for --signer-cmd; a directory model signs too', async (t) => {
    const dir = tempDir(t);
    copyFixture('parallel.ms', join(dir, 'model'));
    copyFixture('relu.mindir', join(dir, 'model'));
    const ossl = opensslSigner(dir);
    const r = await runCli(['sign', 'model', '-p', ossl.pub], { cwd: dir, env: { MS_SIGN_SIGNER_CMD: ossl.cmd } });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal((await runCli(['verify', 'model', '-p', ossl.pub], { cwd: dir })).code, 0);
  });

  const hostile: [string, string, string, string[]][] = [
    ['exits non-zero', 'cat >/dev/null; exit 7', 'SIGNER_COMMAND_FAILED', []],
    ['hangs past the timeout', 'exec sleep 60', 'SIGNER_COMMAND_FAILED', ['--signer-timeout', '1']],
    ['prints 64 random bytes', 'head -c 64 /dev/urandom', 'SIGNER_FAILED', []],
    ['prints megabytes', 'yes SIGNER-STDOUT-MARKER | head -c 20000000', 'SIGNER_COMMAND_FAILED', []],
    ['prints its output around a signature', 'echo SIGNER-STDOUT-MARKER; head -c 64 /dev/zero', 'SIGNER_COMMAND_FAILED', []],
  ];
  for (const [what, script, code, flags] of hostile) {
    test(`a signer that ${what}: ${code}, exit 2, no signature file, nothing of its stdout shown`, async (t) => {
      const dir = tempDir(t);
      copyFixture('parallel.ms', dir);
      const ossl = opensslSigner(dir);
      writeFileSync(join(dir, 'signer.sh'), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
      const started = Date.now();
      for (const json of [true, false]) {
        const r = await runCli(['sign', 'parallel.ms', '--signer-cmd', './signer.sh', '-p', ossl.pub, ...flags, ...(json ? ['--json'] : [])], { cwd: dir });
        if (json) assertFailed(r, code, dir);
        else assert.equal(r.code, 2);
        assert.ok(!r.stdout.includes('SIGNER-STDOUT-MARKER') && !r.stderr.includes('SIGNER-STDOUT-MARKER'));
      }
      assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
      // Co-signing with it leaves the existing signature file exactly as it was.
      const fileKey = await makeKey(dir, 'alice');
      assert.equal((await runCli(['sign', 'parallel.ms', '-k', fileKey.secret], { cwd: dir })).code, 0);
      const before = readFileSync(join(dir, 'parallel.ms.sig'));
      const r = await runCli(['sign', 'parallel.ms', '--append', '--signer-cmd', './signer.sh', '-p', ossl.pub, ...flags, '--json'], { cwd: dir });
      assertFailedKeep(r, code);
      assert.deepEqual(readFileSync(join(dir, 'parallel.ms.sig')), before);
    });
  }

  test("the command's stderr passes through; ms-sign's secrets are not in its environment", async (t) => {
    const dir = tempDir(t);
    copyFixture('parallel.ms', dir);
    const ossl = opensslSigner(dir);
    writeFileSync(join(dir, 'signer.sh'), `#!/bin/sh\necho "signer says hello" >&2\nenv >&2\nexec ${ossl.cmd}\n`, { mode: 0o755 });
    const secrets = { MS_SIGN_PKCS11_PIN: 'pin-5c1e', MS_SIGN_PASSPHRASE: 'pass-77ab' };
    const r = await runCli(['sign', 'parallel.ms', '--signer-cmd', './signer.sh', '-p', ossl.pub], { cwd: dir, env: secrets });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /signer says hello/);
    assert.match(r.stderr, /^PATH=/m, 'the environment listing passed through');
    for (const secret of Object.values(secrets)) assert.ok(!r.stderr.includes(secret) && !r.stdout.includes(secret));
  });

  test('usage errors: two key sources, no -p, -p without a command, shell syntax, a wrong -p key', async (t) => {
    const dir = tempDir(t);
    copyFixture('parallel.ms', dir);
    const ossl = opensslSigner(dir);
    const other = opensslSigner(dir, 'other');
    const fileKey = await makeKey(dir, 'alice');
    const sign = (args: string[], env: Record<string, string> = {}) => runCli(['sign', 'parallel.ms', ...args, '--json'], { cwd: dir, env });
    assertFailed(await sign(['-k', fileKey.secret, '--signer-cmd', ossl.cmd, '-p', ossl.pub]), 'USAGE', dir);
    assertFailed(await sign(['-k', fileKey.secret, '--pkcs11', URI]), 'USAGE', dir);
    assertFailed(await sign(['--signer-cmd', ossl.cmd]), 'USAGE', dir);
    assertFailed(await sign(['-k', fileKey.secret, '-p', ossl.pub]), 'USAGE', dir);
    assertFailed(await sign(['--signer-cmd', `${ossl.cmd} | base64 -d`, '-p', ossl.pub]), 'USAGE', dir);
    assertFailed(await sign(['-p', ossl.pub], { MS_SIGN_SIGNER_CMD: ossl.cmd, MS_SIGN_KEY: readFileSync(join(dir, 'alice.key'), 'utf8') }), 'USAGE', dir);
    // The command signs with another key than -p names: caught before anything is written.
    assertFailed(await sign(['--signer-cmd', ossl.cmd, '-p', other.pub]), 'SIGNER_FAILED', dir);
  });
});

describe('the native PKCS#11 addon is loaded only for --pkcs11', () => {
  /**
   * Runs the real binary with a preload that logs every native addon loaded (process.dlopen) and,
   * with BLOCK_PKCS11, makes loading pkcs11js's addon fail as a failed build would.
   */
  function runLogged(dir: string, args: string[], env: Record<string, string> = {}): { code: number; stdout: string; addons: string[] } {
    const preload = join(dir, 'dlopen-log.mjs');
    const log = join(dir, 'dlopen.log');
    writeFileSync(log, '');
    writeFileSync(
      preload,
      `import { appendFileSync } from 'node:fs';
const original = process.dlopen;
process.dlopen = function (module, filename, ...rest) {
  appendFileSync(${JSON.stringify(log)}, filename + '\\n');
  if (process.env.BLOCK_PKCS11 && filename.includes('pkcs11')) throw new Error('simulated: the addon was never built');
  return original.call(this, module, filename, ...rest);
};
`,
    );
    const r = spawnSync(process.execPath, ['--import', `file://${preload}`, cliBin, ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir, NO_COLOR: '1', ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { code: r.status ?? 128, stdout: r.stdout, addons: readFileSync(log, 'utf8').split('\n').filter(Boolean) };
  }

  test('sign -k, verify and --help never load it; sign --pkcs11 does', async (t) => {
    const { dir, token, env } = await tokenWithKey(t);
    const fileKey = await makeKey(dir, 'alice');
    for (const args of [['--help'], ['sign', 'parallel.ms', '-k', fileKey.secret], ['verify', 'parallel.ms', '-p', fileKey.public]]) {
      const r = runLogged(dir, args);
      assert.equal(r.code, 0, r.stdout);
      assert.deepEqual(r.addons.filter((a) => a.includes('pkcs11')), [], args.join(' '));
    }
    const r = runLogged(dir, ['sign', 'parallel.ms', '--append', '--pkcs11', URI], { ...env, SOFTHSM2_CONF: token.conf });
    assert.equal(r.code, 0, r.stdout);
    assert.ok(r.addons.some((a) => a.endsWith('pkcs11.node')), r.addons.join(', '));
  });

  test('when the addon cannot load, --pkcs11 is PKCS11_UNAVAILABLE (exit 2) and file keys still sign', async (t) => {
    const { dir, env } = await tokenWithKey(t);
    const blocked = runLogged(dir, ['sign', 'parallel.ms', '--pkcs11', URI, '--json'], { ...env, BLOCK_PKCS11: '1' });
    assert.equal(blocked.code, 2);
    assert.deepEqual((JSON.parse(blocked.stdout) as { errors: { code: string }[] }).errors.map((e) => e.code), ['PKCS11_UNAVAILABLE']);
    assert.match(blocked.stdout, /pkcs11js/);
    assert.ok(!existsSync(join(dir, 'parallel.ms.sig')));
    const fileKey = await makeKey(dir, 'alice');
    assert.equal(runLogged(dir, ['sign', 'parallel.ms', '-k', fileKey.secret], { BLOCK_PKCS11: '1' }).code, 0);
  });
});
