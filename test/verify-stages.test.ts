/**
 * The pure stages of verification, called directly (no files, no clock): checkSignatures over the
 * raw payload, applyPolicy and its one signer verdict (signerReport), and verifySignatureFile
 * which chains them behind the format registry. Real keys, real signature files.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  applyPolicy,
  checkSignatures,
  compileGlob,
  decodeEnvelope,
  encodeManifest,
  NATIVE_FORMAT,
  signatureFormatOf,
  signerReport,
  verifySignatureFile,
  type Manifest,
  type TrustPolicy,
} from '@ms-sign/core';
import { fileEntry, manifestOf, seedKey, signManifest, signPayload } from './helpers/crafted.js';

const NOW = 1_800_000_000;
const acme = seedKey(1);
const beta = seedKey(2);
const stranger = seedKey(3);
const revokedKey = seedKey(4);
const manifest: Manifest = manifestOf([fileEntry('w.bin', new TextEncoder().encode('weights'))], { subject: { name: 'acme/llm', version: '1.0.0' }, created: NOW - 3600 });

function policy(overrides: Partial<TrustPolicy> = {}): TrustPolicy {
  return {
    publishers: [
      { name: 'acme', models: [compileGlob('acme/**')], keys: [{ publicKey: acme.publicKey }, { publicKey: revokedKey.publicKey }] },
      { name: 'beta', models: [compileGlob('**')], keys: [{ publicKey: beta.publicKey, notAfter: NOW - 7200 }] },
    ],
    revoked: new Set([revokedKey.publicKey.keyId]),
    rules: [],
    ...overrides,
  };
}
const codes = (problems: readonly { code: string }[]) => problems.map((p) => p.code).sort();

describe('checkSignatures', () => {
  test('verified, untrusted, revoked and bad signatures, each told apart', () => {
    const good = decodeEnvelope(signManifest(manifest, [acme, stranger, revokedKey]));
    const checks = checkSignatures(good, policy());
    assert.deepEqual(checks.map((c) => c.status), ['verified', 'untrusted', 'revoked']);
    // A signature made by another key under acme's key id is a bad signature, not acme's.
    const forged = decodeEnvelope(signManifest(manifest, [stranger]));
    const lying = { ...forged, signatures: [{ keyId: Buffer.from(acme.publicKey.keyId, 'hex'), signature: forged.signatures[0]!.signature }] };
    assert.deepEqual(checkSignatures(lying, policy()).map((c) => c.status), ['bad-signature']);
  });
});

describe('applyPolicy and signerReport', () => {
  test('a trusted signer in scope counts; the report names its publisher', () => {
    const checks = checkSignatures(decodeEnvelope(signManifest(manifest, [acme])), policy());
    const outcome = applyPolicy(manifest, checks, policy(), NOW);
    assert.deepEqual(outcome.problems, []);
    assert.deepEqual(outcome.signers, [{ keyId: acme.publicKey.keyId, publisher: 'acme', valid: true }]);
  });

  test('a key outside its validity window does not count: KEY_NOT_VALID', () => {
    const checks = checkSignatures(decodeEnvelope(signManifest(manifest, [beta])), policy());
    assert.deepEqual(codes(applyPolicy(manifest, checks, policy(), NOW).problems), ['KEY_NOT_VALID']);
  });

  test('a publisher outside its scope does not count: OUT_OF_SCOPE', () => {
    const other = { ...manifest, subject: { name: 'beta/x' } };
    const checks = checkSignatures(decodeEnvelope(signManifest(other, [acme])), policy());
    assert.deepEqual(codes(applyPolicy(other, checks, policy(), NOW).problems), ['OUT_OF_SCOPE']);
  });

  test('a revoked co-signer fails verification even when the threshold is met', () => {
    const checks = checkSignatures(decodeEnvelope(signManifest(manifest, [acme, revokedKey])), policy());
    const outcome = applyPolicy(manifest, checks, policy(), NOW);
    assert.deepEqual(codes(outcome.problems), ['REVOKED_KEY']);
    assert.equal(outcome.signers[1]!.error?.code, 'REVOKED_KEY');
  });

  test('the threshold counts distinct publishers, not signatures', () => {
    const rules = [{ models: compileGlob('acme/**'), threshold: 2, requireExpiry: false }];
    const twice = checkSignatures(decodeEnvelope(signManifest(manifest, [acme, acme])), policy({ rules }));
    assert.deepEqual(codes(applyPolicy(manifest, twice, policy({ rules }), NOW).problems), ['THRESHOLD_NOT_MET']);
  });

  test('expiry, maximum age, required expiry and a creation time in the future', () => {
    const rules = [{ models: compileGlob('**'), threshold: 1, maxAgeSeconds: 60, requireExpiry: true }];
    const checks = checkSignatures(decodeEnvelope(signManifest(manifest, [acme])), policy({ rules }));
    assert.deepEqual(codes(applyPolicy(manifest, checks, policy({ rules }), NOW).problems), ['EXPIRY_REQUIRED', 'TOO_OLD']);
    const expired = { ...manifest, expires: NOW - 1 };
    assert.deepEqual(codes(applyPolicy(expired, checks, policy(), NOW).problems), ['EXPIRED']);
    const future = { ...manifest, created: NOW + 3600 };
    assert.deepEqual(codes(applyPolicy(future, checks, policy(), NOW).problems), ['NOT_YET_VALID']);
  });

  test('signerReport gives the same verdict whether or not the payload was decoded', () => {
    for (const status of ['revoked', 'untrusted', 'bad-signature'] as const) {
      const check = { keyId: 'ab'.repeat(16), status };
      const withStatement = signerReport(check, manifest);
      const without = signerReport(check);
      assert.deepEqual(withStatement, without);
      assert.equal(without.report.error?.message, without.problem?.message);
      assert.equal(without.fatal, status === 'revoked');
    }
  });
});

describe('verifySignatureFile', () => {
  test('accepts a file signed by a trusted publisher and says what it claims and contains', () => {
    const result = verifySignatureFile(signManifest(manifest, [acme]), policy(), NOW);
    assert.deepEqual(result.problems, []);
    assert.equal(result.format, NATIVE_FORMAT.id);
    assert.equal(result.statement?.subject.name, 'acme/llm');
    assert.equal(result.expected?.kind, 'manifest');
    assert.equal(result.rule?.threshold, 1);
  });

  test('no trusted signature: the payload is not decoded, not even a malformed one', () => {
    const garbage = signPayload(new Uint8Array([0xff, 0x00]), [stranger]);
    const result = verifySignatureFile(garbage, policy(), NOW);
    assert.equal(result.statement, undefined);
    assert.equal(result.expected, undefined);
    assert.deepEqual(codes(result.problems), ['UNTRUSTED_SIGNER']);
    // The same payload under a trusted key is decoded, and refused as malformed.
    assert.deepEqual(codes(verifySignatureFile(signPayload(new Uint8Array([0xff, 0x00]), [acme]), policy(), NOW).problems), ['MALFORMED_SIGNATURE_FILE']);
  });

  test('a file no format recognises is malformed, never a thrown error', () => {
    for (const bytes of [new Uint8Array(), new TextEncoder().encode('{"mediaType": "x"}'), new Uint8Array([0xa3, 0x01])]) {
      const result = verifySignatureFile(bytes, policy(), NOW);
      assert.deepEqual(codes(result.problems), ['MALFORMED_SIGNATURE_FILE']);
      assert.equal(result.statement, undefined);
    }
    assert.equal(signatureFormatOf(encodeManifest(manifest)), NATIVE_FORMAT);
  });

  test('expectedName: NAME_MISMATCH after the policy problems', () => {
    const result = verifySignatureFile(signManifest(manifest, [acme]), policy(), NOW, { expectedName: 'acme/other' });
    assert.deepEqual(codes(result.problems), ['NAME_MISMATCH']);
  });

  test('the time is the caller\'s: the same file is valid before its expiry and EXPIRED after', () => {
    const bytes = signManifest({ ...manifest, expires: NOW + 10 }, [acme]);
    assert.deepEqual(verifySignatureFile(bytes, policy(), NOW).problems, []);
    assert.deepEqual(codes(verifySignatureFile(bytes, policy(), NOW + 10).problems), ['EXPIRED']);
  });
});
