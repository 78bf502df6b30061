/**
 * crypto/keys.ts and crypto/pem.ts: key files are PEM (RFC 7468) around PKCS#8 and SPKI
 * (RFC 8410). A public key is a trust anchor, so exactly one encoding of an Ed25519 key is read,
 * and keys that would accept forged signatures are refused when they are loaded. Secret keys made
 * by OpenSSL or by ms-sign (plain or encrypted) are read; the passphrase is asked for only when
 * needed and never appears in an error.
 */
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  encodePublicKeyPem,
  encodePublicKeySpki,
  encodeSecretKeyPem,
  generateSecretKey,
  MsSignError,
  parsePublicKeyPem,
  parseSecretKeyPem,
  secretKeyFromSeed,
  toHex,
} from '@ms-sign/core';
import { nodeKeyFileCipher } from '@ms-sign/core/node';
import { rejectedCode, thrownCode } from '../../../test/helpers/codes.js';

/** The golden test key of test/data/golden/v1 (public test material). */
const GOLDEN_SEED = new Uint8Array(createHash('sha256').update('ms-sign golden test key v1').digest());
const GOLDEN_PUBLIC_PEM = '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAr3vm8PZAclAwTzvDghFybSiG2SGDwXYAsC4aKULQ1Pc=\n-----END PUBLIC KEY-----\n';
const GOLDEN_SECRET_PEM = '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJtHlyjs2EkX3H10EY96oZimpSqePTflOsZLIy9/422n\n-----END PRIVATE KEY-----\n';
const SPKI_PREFIX = '302a300506032b6570032100';
const PKCS8_PREFIX = '302e020100300506032b657004220420';

const golden = secretKeyFromSeed(GOLDEN_SEED);
const pem = (label: string, derHex: string) => {
  const lines = Buffer.from(derHex.replace(/\s+/g, ''), 'hex').toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
};
const spki = (keyHex: string, prefix = SPKI_PREFIX) => pem('PUBLIC KEY', prefix + keyHex);
const GOLDEN_KEY_HEX = toHex(golden.publicKey.bytes);

const noPassphrase = () => assert.fail('the passphrase must not be asked for');

const secretKeyCode = (text: string, passphrase: () => string = noPassphrase) => rejectedCode(parseSecretKeyPem(text, passphrase, undefined, nodeKeyFileCipher));
const publicKeyCode = (text: string) => thrownCode(() => parsePublicKeyPem(text));

describe('public keys', () => {
  test('encode as OpenSSL does and parse back to the same key and id', () => {
    assert.equal(encodePublicKeyPem(golden.publicKey), GOLDEN_PUBLIC_PEM);
    assert.deepEqual(parsePublicKeyPem(GOLDEN_PUBLIC_PEM), golden.publicKey);
    assert.equal(golden.publicKey.keyId, '7cfd2ca33d5fd54da3abba96a2148853');
  });

  test('the SPKI DER is the one OpenSSL exports for the key', () => {
    for (const pem of [GOLDEN_PUBLIC_PEM, ...Array.from({ length: 8 }, () => generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' }) as string)]) {
      const openssl = new Uint8Array(createPublicKey(pem).export({ format: 'der', type: 'spki' }));
      assert.deepEqual(encodePublicKeySpki(parsePublicKeyPem(pem)), openssl);
    }
  });

  test('CRLF line ends and a missing final newline are read', () => {
    assert.deepEqual(parsePublicKeyPem(GOLDEN_PUBLIC_PEM.replaceAll('\n', '\r\n')), golden.publicKey);
    assert.deepEqual(parsePublicKeyPem(GOLDEN_PUBLIC_PEM.trimEnd()), golden.publicKey);
  });

  const identity = `01${'00'.repeat(31)}`;
  const refused: [string, string][] = [
    ['empty', ''],
    ['not PEM', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK97 user@host\n'],
    ['indented', GOLDEN_PUBLIC_PEM.replace(/^/gm, '  ')],
    ['two keys', GOLDEN_PUBLIC_PEM + spki(toHex(generateSecretKey().publicKey.bytes))],
    ['mismatched labels', GOLDEN_PUBLIC_PEM.replace('END PUBLIC KEY', 'END PRIVATE KEY')],
    ['a lower-case label', GOLDEN_PUBLIC_PEM.replaceAll('PUBLIC KEY', 'public key')],
    ['an RSA PUBLIC KEY label', GOLDEN_PUBLIC_PEM.replaceAll('PUBLIC KEY', 'RSA PUBLIC KEY')],
    ['a character outside base64', GOLDEN_PUBLIC_PEM.replace('MCow', 'MC*w')],
    ['a base64 body of the wrong length', GOLDEN_PUBLIC_PEM.replace('MCow', 'MCo')],
    ['padding inside the body', GOLDEN_PUBLIC_PEM.replace('MCow', 'MC=w')],
    ['a secret key', GOLDEN_SECRET_PEM],
    ['an X25519 key', spki(GOLDEN_KEY_HEX, '302a300506032b656e032100')],
    ['an Ed448 key', spki('11'.repeat(57), '3043300506032b6571033a00')],
    ['an EC key', generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString()],
    // Keys that would let forged signatures verify (docs/signature-format.md).
    ['the identity point', spki(identity)],
    ['a point of order 8', spki('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa')],
    ['a non-canonical encoding (y = p)', spki(`ed${'ff'.repeat(30)}7f`)],
    ['a non-canonical encoding of the identity (y = p + 1)', spki(`ee${'ff'.repeat(30)}7f`)],
    // One key, one encoding (RFC 8410): OpenSSL itself reads these laxer forms.
    ['a byte after the DER', pem('PUBLIC KEY', `${SPKI_PREFIX}${GOLDEN_KEY_HEX}00`)],
    ['a non-minimal (BER) length', pem('PUBLIC KEY', `30812a300506032b6570032100${GOLDEN_KEY_HEX}`)],
    ['unused bits in the key BIT STRING', spki(GOLDEN_KEY_HEX, '302a300506032b6570032101')],
    ['NULL algorithm parameters', spki(GOLDEN_KEY_HEX, '302c300706032b65700500032100')],
    ['a key one byte short', pem('PUBLIC KEY', `3029300506032b6570032000${GOLDEN_KEY_HEX.slice(2)}`)],
  ];
  for (const [what, text] of refused) {
    test(`refuses ${what}: BAD_KEY`, () => {
      assert.equal(publicKeyCode(text), 'BAD_KEY');
    });
  }
});

describe('plain secret keys', () => {
  test('encode exactly as `openssl genpkey -algorithm ed25519` writes, and parse back without asking for a passphrase', async () => {
    assert.equal(await encodeSecretKeyPem(golden), GOLDEN_SECRET_PEM);
    const parsed = await parseSecretKeyPem(GOLDEN_SECRET_PEM, noPassphrase);
    assert.equal(toHex(parsed.seed), toHex(GOLDEN_SEED));
    assert.deepEqual(parsed.publicKey, golden.publicKey);
  });

  test('a random key round-trips', async () => {
    const key = generateSecretKey();
    assert.deepEqual(await parseSecretKeyPem(await encodeSecretKeyPem(key), noPassphrase), key);
  });

  const foreign = (type: 'rsa' | 'ec' | 'x25519' | 'ed448') => {
    const options = type === 'rsa' ? { modulusLength: 1024 } : type === 'ec' ? { namedCurve: 'P-256' } : {};
    return (generateKeyPairSync as (t: string, o: object) => { privateKey: { export: (o: object) => string | Buffer } })(type, options)
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
  };
  const refused: [string, string][] = [
    ['empty', ''],
    ['a public key', GOLDEN_PUBLIC_PEM],
    ['a PKCS#1 RSA PRIVATE KEY label', GOLDEN_SECRET_PEM.replaceAll('PRIVATE KEY', 'RSA PRIVATE KEY')],
    ['an OPENSSH PRIVATE KEY label', GOLDEN_SECRET_PEM.replaceAll('PRIVATE KEY', 'OPENSSH PRIVATE KEY')],
    ['two keys', GOLDEN_SECRET_PEM + GOLDEN_SECRET_PEM],
    ['a character outside base64', GOLDEN_SECRET_PEM.replace('MC4C', 'MC#C')],
    ['a 31-byte seed', pem('PRIVATE KEY', `302d020100300506032b65700421041f${toHex(GOLDEN_SEED).slice(2)}`)],
    ['DER that is not a key', pem('PRIVATE KEY', '3000')],
    ['an RSA key', foreign('rsa')],
    ['an EC key', foreign('ec')],
    ['an X25519 key', foreign('x25519')],
    ['an Ed448 key', foreign('ed448')],
    ['an encrypted key that is not DER', pem('ENCRYPTED PRIVATE KEY', '30ff')],
  ];
  for (const [what, text] of refused) {
    test(`refuses ${what}: BAD_KEY`, async () => {
      assert.equal(await secretKeyCode(text), 'BAD_KEY');
    });
  }

  test('the PKCS#8 prefix is the fixed one of RFC 8410', () => {
    assert.equal(Buffer.from(GOLDEN_SECRET_PEM.split('\n')[1]!, 'base64').toString('hex'), PKCS8_PREFIX + toHex(GOLDEN_SEED));
  });
});

describe("secret keys encrypted by ms-sign (PBES2, scrypt, AES-256-GCM)", () => {
  const passphrase = 'unit test passphrase 9';
  // One key for both tests: each scrypt at the real cost (N = 2^17) takes a good part of a second.
  const key = generateSecretKey();
  let encrypted: Promise<string> | undefined;
  const encryptedKey = () => (encrypted ??= encodeSecretKeyPem(key, passphrase, nodeKeyFileCipher));
  const derOf = (text: string) => Buffer.from(text.split('\n').slice(1, -2).join(''), 'base64');

  test('open with the right passphrase, asked once; refuse a wrong one or a damaged file; never echo it', async () => {
    const text = await encryptedKey();
    assert.match(text, /^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
    const damaged = derOf(text);
    damaged[damaged.length - 20]! ^= 1; // inside the ciphertext
    let asked = 0;
    const [right, wrong, corrupt] = await Promise.allSettled([
      parseSecretKeyPem(text, () => {
        asked++;
        return passphrase;
      }, undefined, nodeKeyFileCipher),
      parseSecretKeyPem(text, () => `${passphrase}x`, undefined, nodeKeyFileCipher),
      parseSecretKeyPem(pem('ENCRYPTED PRIVATE KEY', damaged.toString('hex')), () => passphrase, undefined, nodeKeyFileCipher),
    ]);
    assert.equal(right.status, 'fulfilled');
    assert.deepEqual(right.value, key);
    assert.equal(asked, 1);
    for (const failed of [wrong, corrupt]) {
      assert.equal(failed.status, 'rejected');
      const error = failed.reason as MsSignError;
      assert.equal(error.code, 'WRONG_PASSPHRASE');
      assert.ok(!error.message.includes(passphrase) && !String(error.cause).includes(passphrase));
    }
  });

  test('scrypt parameters beyond the documented bounds are refused before any work (a crafted key cannot claim gigabytes)', async () => {
    const der = derOf(await encryptedKey());
    // N = 2^17 is written as INTEGER 02 03 020000; 2^22 (4 GiB with r = 8) has the same length.
    const at = der.indexOf(Buffer.from('0203020000', 'hex'));
    assert.ok(at > 0);
    const huge = Buffer.from(der);
    Buffer.from('0203400000', 'hex').copy(huge, at);
    const notPowerOfTwo = Buffer.from(der);
    Buffer.from('0203020001', 'hex').copy(notPowerOfTwo, at);
    for (const bad of [huge, notPowerOfTwo]) {
      assert.equal(await secretKeyCode(pem('ENCRYPTED PRIVATE KEY', bad.toString('hex')), () => passphrase), 'BAD_KEY');
    }
  });
});
