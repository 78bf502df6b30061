/**
 * The signing-command signer with real programs: OpenSSL signing with an Ed25519 key file, and
 * pkcs11-tool signing on a SoftHSM2 token. Then hostile commands: each must end in
 * SIGNER_COMMAND_FAILED within its bounds (time, output), never in a signature.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { parsePkcs11Uri, parsePublicKeyPem, verifyEd25519 } from '@ms-sign/core';
import { commandSigner, generatePkcs11Ed25519Key, splitCommandLine, SIGNER_COMMAND_LIMITS } from '@ms-sign/core/node';
import { rejectedCode, thrownCode } from './helpers/codes.js';
import { tempDir } from './helpers/index.js';
import { openssl } from './helpers/openssl.js';
import { makeToken } from './helpers/softhsm.js';

type Signer = ReturnType<typeof commandSigner>;

/** An Ed25519 key made by OpenSSL: KEY.pem and its public key. */
function opensslKey(dir: string): { key: string; publicKey: Uint8Array; keyId: string } {
  const key = join(dir, 'key.pem');
  openssl(['genpkey', '-algorithm', 'ed25519', '-out', key], dir);
  const pub = parsePublicKeyPem(openssl(['pkey', '-in', key, '-pubout'], dir).stdout);
  return { key, publicKey: pub.bytes, keyId: pub.keyId };
}

function opensslSigner(dir: string, extra: Partial<Parameters<typeof commandSigner>[0]> = {}): Signer {
  const k = opensslKey(dir);
  return commandSigner({
    argv: splitCommandLine(`openssl pkeyutl -sign -rawin -inkey '${k.key}' -in /dev/stdin`),
    algorithm: 'ed25519',
    publicKey: k.publicKey,
    keyId: k.keyId,
    ...extra,
  });
}

/** A signer running `sh -c SCRIPT`, claiming an OpenSSL key it does not hold. */
function hostile(dir: string, script: string, timeoutMs?: number): Signer {
  const k = opensslKey(dir);
  // Their complaints (a killed pipeline's "write error") are not this test's output.
  const stderr = collector().stream;
  return commandSigner({ argv: ['sh', '-c', script], algorithm: 'ed25519', publicKey: k.publicKey, keyId: k.keyId, stderr, ...(timeoutMs ? { timeoutMs } : {}) });
}

function collector(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  return {
    stream: new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk);
        callback();
      },
    }),
    text: () => Buffer.concat(chunks).toString('utf8'),
  };
}

const message = new TextEncoder().encode('ms-sign message bytes');

describe('splitCommandLine: POSIX quoting, no shell', () => {
  const cases: [string, string[]][] = [
    ['openssl pkeyutl -sign', ['openssl', 'pkeyutl', '-sign']],
    ['  a\tb\nc  ', ['a', 'b', 'c']],
    [`cmd 'two words' "and \\"more\\"" x\\ y`, ['cmd', 'two words', 'and "more"', 'x y']],
    [`cmd '' ""`, ['cmd', '', '']],
    [`cmd 'a|b' "\\$HOME" \\;`, ['cmd', 'a|b', '\\$HOME', ';']],
    [`cmd "it's" 'say "hi"'`, ['cmd', "it's", 'say "hi"']],
    [`cmd a'b'"c"`, ['cmd', 'abc']],
  ];
  for (const [line, argv] of cases) {
    test(JSON.stringify(line), () => assert.deepEqual(splitCommandLine(line), argv));
  }
  for (const bad of ['', '   ', `cmd 'open`, 'cmd "open', 'cmd \\', 'a | b', 'a; b', 'a && b', 'a > out', 'echo $SECRET', 'a `b`', 'ls *', "''"]) {
    test(`refuses ${JSON.stringify(bad)}`, () => assert.equal(thrownCode(() => splitCommandLine(bad)), 'USAGE'));
  }
  test('refuses an over-long command line', () => {
    assert.equal(thrownCode(() => splitCommandLine('a '.repeat(SIGNER_COMMAND_LIMITS.maxCommandLineBytes))), 'USAGE');
  });
});

describe('signing commands that work', () => {
  test('openssl pkeyutl -sign -rawin with an Ed25519 key: the exact message on stdin', async (t) => {
    const signer = opensslSigner(tempDir(t));
    const signature = await signer.sign(message);
    assert.equal(signature.length, 64);
    assert.ok(verifyEd25519(signature, message, signer.publicKey));
    assert.equal(signer.description, 'signing command "openssl"');
  });

  test('a message of 3 MiB (a large manifest) goes through the pipe whole', async (t) => {
    const signer = opensslSigner(tempDir(t));
    const big = new Uint8Array(randomBytes(3 * 1024 * 1024));
    assert.ok(verifyEd25519(await signer.sign(big), big, signer.publicKey));
  });

  test("pkcs11-tool --sign --mechanism EDDSA on a SoftHSM2 token; the command's stderr passes through", async (t) => {
    const token = makeToken(t);
    process.env.SOFTHSM2_CONF = token.conf;
    const made = await generatePkcs11Ed25519Key(parsePkcs11Uri('pkcs11:token=release;object=model-key;id=%c0%de'), { modulePath: token.module, pin: () => token.pin });
    const stderr = collector();
    const signer = commandSigner({
      // pkcs11-tool selects the key by --id (it ignores --label when signing).
      argv: ['pkcs11-tool', '--module', token.module, '--token-label', 'release', '--login', '--pin', token.pin, '--sign', '--mechanism', 'EDDSA', '--id', 'c0de'],
      algorithm: 'ed25519',
      publicKey: made.publicKey,
      keyId: made.keyId,
      env: { ...process.env, ...token.env },
      stderr: stderr.stream,
    });
    const signature = await signer.sign(message);
    assert.ok(verifyEd25519(signature, message, made.publicKey));
    assert.match(stderr.text(), /Using signature algorithm EDDSA/);
  });
});

describe('hostile signing commands: SIGNER_COMMAND_FAILED, quickly, and nothing they print is shown', () => {
  test('exits non-zero', async (t) => {
    assert.equal(await rejectedCode(hostile(tempDir(t), 'cat >/dev/null; exit 3').sign(message)), 'SIGNER_COMMAND_FAILED');
  });

  test('prints a valid-looking signature but exits non-zero', async (t) => {
    assert.equal(await rejectedCode(hostile(tempDir(t), 'head -c 64 /dev/zero; exit 1').sign(message)), 'SIGNER_COMMAND_FAILED');
  });

  test('hangs past the timeout: killed, and ms-sign does not wait for it', async (t) => {
    const started = Date.now();
    assert.equal(await rejectedCode(hostile(tempDir(t), 'exec sleep 30', 500).sign(message)), 'SIGNER_COMMAND_FAILED');
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  });

  test('a child that keeps stdout open after the command exits is bounded by the timeout too', async (t) => {
    const started = Date.now();
    assert.equal(await rejectedCode(hostile(tempDir(t), 'sleep 30 & exit 0', 500).sign(message)), 'SIGNER_COMMAND_FAILED');
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  });

  test('prints megabytes: stopped at the output limit', async (t) => {
    const started = Date.now();
    const error = await hostile(tempDir(t), 'head -c 50000000 /dev/zero | tr "\\000" S').sign(message).catch((e: unknown) => e);
    assert.equal((error as { code?: string }).code, 'SIGNER_COMMAND_FAILED');
    assert.ok(!String((error as Error).message).includes('SSSS'));
    assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
  });

  test('prints too few or too many bytes (base64 instead of raw)', async (t) => {
    const dir = tempDir(t);
    assert.equal(await rejectedCode(hostile(dir, 'head -c 63 /dev/zero').sign(message)), 'SIGNER_COMMAND_FAILED');
    assert.equal(await rejectedCode(hostile(dir, 'head -c 64 /dev/zero | base64').sign(message)), 'SIGNER_COMMAND_FAILED');
  });

  test('prints 64 random bytes: passed on, and they do not verify (the signing code refuses them)', async (t) => {
    const signer = hostile(tempDir(t), 'head -c 64 /dev/urandom');
    const signature = await signer.sign(message);
    assert.equal(signature.length, 64);
    assert.ok(!verifyEd25519(signature, message, signer.publicKey));
  });

  test('does not read its stdin: the answer decides', async (t) => {
    const big = new Uint8Array(4 * 1024 * 1024);
    assert.equal(await rejectedCode(hostile(tempDir(t), 'exit 0').sign(big)), 'SIGNER_COMMAND_FAILED');
  });

  test('a program that does not exist or cannot run', async (t) => {
    const dir = tempDir(t);
    const k = opensslKey(dir);
    const notExecutable = join(dir, 'signer.sh');
    writeFileSync(notExecutable, '#!/bin/sh\n', { mode: 0o644 });
    for (const argv of [['/nonexistent/signer'], [notExecutable]]) {
      const signer = commandSigner({ argv, algorithm: 'ed25519', publicKey: k.publicKey, keyId: k.keyId });
      assert.equal(await rejectedCode(signer.sign(message)), 'SIGNER_COMMAND_FAILED');
    }
  });
});
