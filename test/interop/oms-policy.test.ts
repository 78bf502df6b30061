/** Trust policies with the anchors of OMS bundles: ECDSA keys, certificate roots, Sigstore identities. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseTrustPolicy } from '@ms-sign/core';
import { thrownCode } from '../helpers/codes.js';
import { caPath, IDENTITY, ISSUER, pemCertificates, publicKeyPath } from './corpus.js';

const ecKey = readFileSync(publicKeyPath, 'utf8').split('-----BEGIN PUBLIC KEY-----')[1]!.split('-----END')[0]!.replace(/\s/g, '');
const root = Buffer.from(pemCertificates(caPath)[0]!).toString('base64');

function policy(publishers: unknown[], revoked: unknown[] = []): string {
  return JSON.stringify({ version: 1, publishers, revoked, rules: [] });
}

test('a publisher with an ECDSA key, a certificate root and a Sigstore identity compiles', () => {
  const { policy: p } = parseTrustPolicy(
    policy([{ name: 'ibm', models: ['**'], keys: [{ publicKey: ecKey, notAfter: '2030-01-01' }], certificateRoots: [{ certificate: root }], sigstoreIdentities: [{ identity: IDENTITY, issuer: ISSUER }] }]),
    'p.json',
  );
  const pub = p.publishers[0]!;
  assert.equal(pub.keys.length, 0);
  assert.deepEqual(pub.ecdsaKeys?.map((k) => [k.curve, k.keyId, k.notAfter]), [['P-384', 'e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e', 1893456000]]);
  assert.equal(pub.certificateRoots?.length, 1);
  assert.deepEqual(pub.sigstoreIdentities, [{ identity: IDENTITY, issuer: ISSUER }]);
});

test('the same anchor under two publishers is refused (one signature must not count twice)', () => {
  for (const anchor of [{ keys: [{ publicKey: ecKey }] }, { keys: [], certificateRoots: [{ certificate: root }] }, { keys: [], sigstoreIdentities: [{ identity: IDENTITY, issuer: ISSUER }] }]) {
    const text = policy([
      { name: 'a', models: ['**'], ...anchor },
      { name: 'b', models: ['**'], ...anchor },
    ]);
    assert.equal(thrownCode(() => parseTrustPolicy(text, 'p.json')), 'BAD_TRUST_POLICY');
  }
});

test('a publisher without any anchor, a non-key and a non-certificate are refused', () => {
  assert.equal(thrownCode(() => parseTrustPolicy(policy([{ name: 'a', models: ['**'], keys: [] }]), 'p.json')), 'BAD_TRUST_POLICY');
  assert.equal(thrownCode(() => parseTrustPolicy(policy([{ name: 'a', models: ['**'], keys: [{ publicKey: root.slice(0, 200) }] }]), 'p.json')), 'BAD_TRUST_POLICY');
  assert.equal(thrownCode(() => parseTrustPolicy(policy([{ name: 'a', models: ['**'], keys: [], certificateRoots: [{ certificate: ecKey.slice(4) }] }]), 'p.json')), 'BAD_TRUST_POLICY');
  assert.equal(thrownCode(() => parseTrustPolicy(policy([{ name: 'a', models: ['**'], keys: [], sigstoreIdentities: [{ identity: IDENTITY }] }]), 'p.json')), 'BAD_TRUST_POLICY');
});

test('64-hex ids (ECDSA keys, certificates) can be revoked', () => {
  const { policy: p } = parseTrustPolicy(policy([], [{ keyId: 'e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e' }]), 'p.json');
  assert.ok(p.revoked.has('e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e'));
});
