/**
 * The Signer seam: signing takes signers, and every signature a signer returns is checked with
 * the signer's public key (strict Ed25519) before any signature-file bytes exist. The broken
 * signers here are real Signer objects that misbehave the way a faulty token or a hostile signing
 * command could.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  createSignatureFile,
  decodeEnvelope,
  generateSecretKey,
  MsSignError,
  secretKeySigner,
  type Signer,
} from '@ms-sign/core';
import { cosignModel, signModel, verifyModel } from '@ms-sign/core/node';
import { fileEntry, manifestOf, trustKeys } from './helpers/crafted.js';
import { tempDir, writeFile } from './helpers/index.js';

const failedWith = (code: string) => (error: unknown) => error instanceof MsSignError && error.code === code;

/** A signer that claims `key` but signs with `sign`. */
function brokenSigner(sign: (message: Uint8Array) => Promise<Uint8Array>): Signer {
  const honest = secretKeySigner(generateSecretKey(), 'broken test signer');
  return { ...honest, sign };
}

const other = secretKeySigner(generateSecretKey());
const BROKEN: [string, Signer][] = [
  ['returns a signature by another key', brokenSigner((m) => other.sign(m))],
  ['returns a short signature', brokenSigner(async (m) => (await other.sign(m)).subarray(0, 32))],
  ['returns 64 zero bytes', brokenSigner(async () => new Uint8Array(64))],
  ['signs other bytes than asked', brokenSigner((m) => secretKeySigner(generateSecretKey()).sign(new Uint8Array([...m, 0])))],
  ['throws', brokenSigner(() => Promise.reject(new Error('token removed')))],
  ['claims a key id that is not its public key\'s', { ...secretKeySigner(generateSecretKey()), keyId: other.keyId }],
  ['is not Ed25519', { ...secretKeySigner(generateSecretKey()), algorithm: 'ecdsa-p256-sha256' }],
];

describe('signers', () => {
  test('the file-key signer signs, and the signature file verifies under its key', async (t) => {
    const dir = tempDir(t);
    writeFile(join(dir, 'model.ms'), 'weights');
    const key = generateSecretKey();
    const signer = secretKeySigner(key, 'test key');
    assert.equal(signer.keyId, key.publicKey.keyId);
    assert.deepEqual(signer.publicKey, key.publicKey.bytes);
    const sig = join(dir, 'model.ms.sig');
    const { signatureFile } = await signModel(join(dir, 'model.ms'), { signers: [signer], signaturePath: sig, threads: 1 });
    writeFile(sig, signatureFile);
    const report = await verifyModel(join(dir, 'model.ms'), { trust: trustKeys(key.publicKey), threads: 1 });
    assert.deepEqual(report.errors, []);
    assert.equal(report.ok, true);
  });

  for (const [what, signer] of BROKEN) {
    test(`a signer that ${what}: SIGNER_FAILED, no signature file bytes`, async (t) => {
      const dir = tempDir(t);
      writeFile(join(dir, 'model.ms'), 'weights');
      const manifest = manifestOf([fileEntry('model.ms', new TextEncoder().encode('weights'))]);
      await assert.rejects(createSignatureFile(manifest, [secretKeySigner(generateSecretKey()), signer]), failedWith('SIGNER_FAILED'));
      await assert.rejects(signModel(join(dir, 'model.ms'), { signers: [signer], signaturePath: join(dir, 'model.ms.sig'), threads: 1 }), failedWith('SIGNER_FAILED'));
      // Co-signing: the existing file is good, the appended signature must be checked too.
      const good = await signModel(join(dir, 'model.ms'), { signers: [other], signaturePath: join(dir, 'model.ms.sig'), threads: 1 });
      await assert.rejects(cosignModel(join(dir, 'model.ms'), good.signatureFile, { signer, signaturePath: join(dir, 'model.ms.sig'), threads: 1 }), failedWith('SIGNER_FAILED'));
    });
  }

  test('co-signing with a good signer adds its verified signature', async (t) => {
    const dir = tempDir(t);
    writeFile(join(dir, 'model.ms'), 'weights');
    const first = await signModel(join(dir, 'model.ms'), { signers: [other], signaturePath: join(dir, 'model.ms.sig'), threads: 1 });
    const second = secretKeySigner(generateSecretKey());
    const { signatureFile } = await cosignModel(join(dir, 'model.ms'), first.signatureFile, { signer: second, signaturePath: join(dir, 'model.ms.sig'), threads: 1 });
    assert.equal(decodeEnvelope(signatureFile).signatures.length, 2);
    await assert.rejects(cosignModel(join(dir, 'model.ms'), signatureFile, { signer: second, signaturePath: join(dir, 'model.ms.sig'), threads: 1 }), failedWith('ALREADY_SIGNED'));
  });
});

describe('signing checks the manifest with the decoder\'s rules', () => {
  for (const [what, options, code] of [
    ['a name with a control character', { name: 'a\nb' }, 'USAGE'],
    ['an annotation value that is not valid UTF-16 text', { annotations: { note: '\ud800' } }, 'USAGE'],
    ['an annotation key with a space', { annotations: { 'a b': 'x' } }, 'USAGE'],
    ['an expiry before the creation time', { expires: 1_700_000_000, now: 1_700_000_001 }, 'USAGE'],
  ] as const) {
    test(`${what}: ${code}, before any hashing`, async (t) => {
      const dir = tempDir(t);
      writeFile(join(dir, 'model.ms'), 'weights');
      let hashed = false;
      await assert.rejects(
        signModel(join(dir, 'model.ms'), { signers: [other], signaturePath: join(dir, 'model.ms.sig'), threads: 1, onProgress: () => void (hashed = true), ...options }),
        failedWith(code),
      );
      assert.equal(hashed, false);
    });
  }
});
