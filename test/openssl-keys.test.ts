/**
 * OpenSSL interoperability (SPEC section 2): keys made by `openssl genpkey -algorithm ed25519`
 * work in ms-sign, `openssl pkey` reads ms-sign's keys, OpenSSL-encrypted PKCS#8 keys open with
 * MS_SIGN_PASSPHRASE, and the signatures are plain RFC 8032 Ed25519 that OpenSSL verifies.
 * Skipped, visibly, where openssl is not installed.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { decodeEnvelope, SCRYPT_PARAMS, signingMessage, verifyEd25519 } from '@ms-sign/core';
import { cliOk, copyFixture, makeKey, runCli, tempDir } from './helpers/index.js';
import { openssl, opensslStatus, skipWithoutOpenssl } from './helpers/openssl.js';
import { assertFailure, assertNoSecrets, ownerOnly, secretForms } from './helpers/scenarios.js';

const PASSPHRASE = 'openssl interop passphrase 7';

/** A fresh directory holding a copy of parallel.ms and an Ed25519 key made by openssl. */
function opensslKeyDir(t: Parameters<typeof tempDir>[0]): string {
  const dir = tempDir(t);
  copyFixture('parallel.ms', dir);
  openssl(['genpkey', '-algorithm', 'ed25519', '-out', 'openssl.key'], dir);
  ownerOnly(join(dir, 'openssl.key'));
  openssl(['pkey', '-in', 'openssl.key', '-pubout', '-out', 'openssl.pub'], dir);
  return dir;
}

/** The raw 32-byte public key of an SPKI PEM file, as openssl decodes it. */
function rawPublicKey(dir: string, pubFile: string): Buffer {
  openssl(['pkey', '-pubin', '-in', pubFile, '-outform', 'DER', '-out', 'public.der'], dir);
  const der = readFileSync(join(dir, 'public.der'));
  assert.equal(der.length, 44, 'an Ed25519 SubjectPublicKeyInfo');
  return der.subarray(12);
}

describe('OpenSSL interoperability', () => {
  test('a key from openssl genpkey signs, and verifies with its public key from openssl pkey -pubout', async (t) => {
    if (skipWithoutOpenssl(t)) return;
    const dir = opensslKeyDir(t);
    const signed = await cliOk(dir, ['sign', 'parallel.ms', '-k', 'openssl.key', '--json']);
    // The key id is the first 16 bytes of SHA-256 of the raw public key (SPEC section 2).
    const expectedKeyId = createHash('sha256').update(rawPublicKey(dir, 'openssl.pub')).digest().subarray(0, 16).toString('hex');
    assert.equal(signed.json<{ keyId: string }>().keyId, expectedKeyId);
    const verified = await cliOk(dir, ['verify', 'parallel.ms', '-p', 'openssl.pub', '--json']);
    assert.deepEqual(verified.json<{ signers: { keyId: string; valid: boolean }[] }>().signers.map((s) => [s.keyId, s.valid]), [[expectedKeyId, true]]);
  });

  test("openssl pkey reads ms-sign's plain secret key and its public key, and they match", async (t) => {
    if (skipWithoutOpenssl(t)) return;
    const dir = tempDir(t);
    const key = await makeKey(dir);
    const secretPem = readFileSync(key.secret, 'utf8');
    const publicPem = readFileSync(key.public, 'utf8');
    // ms-sign writes exactly what OpenSSL writes, so OpenSSL re-encodes both byte for byte.
    assert.equal(openssl(['pkey', '-in', key.secret], dir).stdout, secretPem);
    assert.equal(openssl(['pkey', '-in', key.secret, '-pubout'], dir).stdout, publicPem);
    assert.equal(openssl(['pkey', '-pubin', '-in', key.public], dir).stdout, publicPem);
    assert.match(openssl(['pkey', '-in', key.secret, '-noout', '-text'], dir).stdout, /^ED25519 Private-Key:/);
    assert.equal(createHash('sha256').update(rawPublicKey(dir, key.public)).digest().subarray(0, 16).toString('hex'), key.keyId);
  });

  test('ms-sign signatures are RFC 8032 Ed25519: openssl verifies them, and ms-sign verifies openssl signatures', async (t) => {
    if (skipWithoutOpenssl(t)) return;
    const dir = tempDir(t);
    const key = await makeKey(dir);
    copyFixture('parallel.ms', dir);
    await cliOk(dir, ['sign', 'parallel.ms', '-k', key.secret]);
    const envelope = decodeEnvelope(new Uint8Array(readFileSync(join(dir, 'parallel.ms.sig'))));
    writeFileSync(join(dir, 'message.bin'), signingMessage(envelope.payloadType, envelope.payload));
    writeFileSync(join(dir, 'ms-sign.sig.bin'), envelope.signatures[0]!.signature);
    const verify = (message: string) => ['pkeyutl', '-verify', '-pubin', '-inkey', key.public, '-rawin', '-in', message, '-sigfile', 'ms-sign.sig.bin'];
    assert.equal(opensslStatus(verify('message.bin'), dir).status, 0, 'openssl verifies the ms-sign signature');
    const altered = readFileSync(join(dir, 'message.bin'));
    altered[altered.length - 1]! ^= 1;
    writeFileSync(join(dir, 'altered.bin'), altered);
    assert.notEqual(opensslStatus(verify('altered.bin'), dir).status, 0, 'and refuses it over another message');

    openssl(['pkeyutl', '-sign', '-inkey', key.secret, '-rawin', '-in', 'message.bin', '-out', 'openssl.sig.bin'], dir);
    const opensslSignature = new Uint8Array(readFileSync(join(dir, 'openssl.sig.bin')));
    // Ed25519 is deterministic: the same key and message give the same signature in both.
    assert.deepEqual(opensslSignature, envelope.signatures[0]!.signature);
    const message = new Uint8Array(readFileSync(join(dir, 'message.bin')));
    const publicKey = new Uint8Array(rawPublicKey(dir, key.public));
    assert.equal(verifyEd25519(opensslSignature, message, publicKey), true);
    message[message.length - 1]! ^= 1;
    assert.equal(verifyEd25519(opensslSignature, message, publicKey), false);
  });

  const encryptions: [string, string[]][] = [
    ['PBES2 with PBKDF2 and AES-256-CBC (-v2 aes-256-cbc)', ['-v2', 'aes-256-cbc']],
    ['PBES2 with scrypt and AES-256-CBC (-scrypt)', ['-scrypt']],
  ];
  for (const [what, options] of encryptions) {
    test(`an OpenSSL-encrypted PKCS#8 key, ${what}, opens with MS_SIGN_PASSPHRASE`, async (t) => {
      if (skipWithoutOpenssl(t)) return;
      const dir = opensslKeyDir(t);
      openssl(['pkcs8', '-topk8', ...options, '-in', 'openssl.key', '-out', 'encrypted.key', '-passout', 'env:MS_TEST_PASSPHRASE'], dir, { MS_TEST_PASSPHRASE: PASSPHRASE });
      ownerOnly(join(dir, 'encrypted.key'));
      assert.match(readFileSync(join(dir, 'encrypted.key'), 'utf8'), /^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
      const plain = await cliOk(dir, ['sign', 'parallel.ms', '-k', 'openssl.key', '-o', 'plain.sig', '--json']);

      const [right, wrong, none] = await Promise.all([
        runCli(['sign', 'parallel.ms', '-k', 'encrypted.key', '--json'], { cwd: dir, env: { MS_SIGN_PASSPHRASE: PASSPHRASE } }),
        runCli(['sign', 'parallel.ms', '-k', 'encrypted.key', '-o', 'wrong.sig', '--json'], { cwd: dir, env: { MS_SIGN_PASSPHRASE: `${PASSPHRASE}!` } }),
        runCli(['sign', 'parallel.ms', '-k', 'encrypted.key', '-o', 'none.sig', '--json'], { cwd: dir }),
      ]);
      assert.equal(right.code, 0, right.stdout);
      assert.equal(right.json<{ keyId: string }>().keyId, plain.json<{ keyId: string }>().keyId, 'the same key as the plain file');
      assertFailure(wrong, 2, ['WRONG_PASSPHRASE']);
      assertFailure(none, 2, ['PASSPHRASE_REQUIRED']);
      await cliOk(dir, ['verify', 'parallel.ms', '-p', 'openssl.pub']);
      assertNoSecrets([plain, right, wrong, none], await secretForms([join(dir, 'openssl.key')], [PASSPHRASE]));
    });
  }

  test("ms-sign's own encrypted key is PBES2 with scrypt and AES-256-GCM, and round-trips", async (t) => {
    if (skipWithoutOpenssl(t)) return;
    const dir = tempDir(t);
    copyFixture('parallel.ms', dir);
    const made = await cliOk(dir, ['keygen', '-o', 'sealed', '--json'], { MS_SIGN_PASSPHRASE: PASSPHRASE });
    // What the docs promise, read by an independent DER parser.
    const structure = openssl(['asn1parse', '-in', 'sealed.key'], dir).stdout;
    const objects = [...structure.matchAll(/OBJECT\s+:(\S+)/g)].map((m) => m[1]);
    assert.deepEqual(objects, ['PBES2', 'scrypt', 'aes-256-gcm']);
    const integers = [...structure.matchAll(/INTEGER\s+:([0-9A-F]+)/g)].map((m) => parseInt(m[1]!, 16));
    assert.deepEqual(integers, [SCRYPT_PARAMS.N, SCRYPT_PARAMS.r, SCRYPT_PARAMS.p, 32, 16], 'N, r, p, key length, GCM tag length');
    assert.deepEqual(SCRYPT_PARAMS, { N: 2 ** 17, r: 8, p: 1 });
    const octets = [...structure.matchAll(/OCTET STRING\s+\[HEX DUMP\]:([0-9A-F]+)/g)].map((m) => m[1]!.length / 2);
    assert.deepEqual(octets, [16, 12, 48 + 16], 'salt, GCM nonce, sealed PKCS#8 with its tag');

    const signed = await cliOk(dir, ['sign', 'parallel.ms', '-k', 'sealed.key', '--json'], { MS_SIGN_PASSPHRASE: PASSPHRASE });
    assert.equal(signed.json<{ keyId: string }>().keyId, made.json<{ keyId: string }>().keyId);
    await cliOk(dir, ['verify', 'parallel.ms', '-p', 'sealed.pub']);
  });
});
