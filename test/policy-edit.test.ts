/**
 * Trust-policy edits as pure functions (core policy/edit.ts): the input document is never
 * changed, the result passes the checks verify applies, and refusals are USAGE.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  addPublisherKey,
  checkTrustPolicy,
  EMPTY_POLICY_DOCUMENT,
  MsSignError,
  removePublisher,
  removeRule,
  revokeKey,
  setRule,
  type TrustPolicyDocument,
} from '@ms-sign/core';
import { seedKey } from './helpers/crafted.js';

const usage = (error: unknown) => error instanceof MsSignError && error.code === 'USAGE';
const a = seedKey(11).publicKey;
const b = seedKey(12).publicKey;

function frozen(doc: TrustPolicyDocument): TrustPolicyDocument {
  return JSON.parse(JSON.stringify(doc)) as TrustPolicyDocument;
}

describe('policy edits', () => {
  test('add a publisher, a second key, a window; the input stays as it was', () => {
    const empty = frozen(EMPTY_POLICY_DOCUMENT);
    const one = addPublisherKey(empty, 'acme', a, { models: ['acme/**'] });
    assert.deepEqual(empty, EMPTY_POLICY_DOCUMENT);
    assert.equal(one.changed, true);
    assert.deepEqual(one.document.publishers.map((p) => [p.name, p.models, p.keys.length]), [['acme', ['acme/**'], 1]]);
    const two = addPublisherKey(one.document, 'acme', b);
    assert.equal(two.document.publishers[0]!.keys.length, 2);
    const windowed = addPublisherKey(two.document, 'acme', a, { notAfter: '2027-01-31' });
    assert.equal(windowed.document.publishers[0]!.keys[0]!.notAfter, '2027-01-31');
    const again = addPublisherKey(windowed.document, 'acme', a);
    assert.equal(again.changed, false);
    assert.match(again.summary, /nothing changed/);
    checkTrustPolicy(windowed.document, 'test');
  });

  test('one key serves one publisher; bad dates and globs are refused', () => {
    const doc = addPublisherKey(EMPTY_POLICY_DOCUMENT, 'acme', a).document;
    assert.throws(() => addPublisherKey(doc, 'beta', a), usage);
    assert.throws(() => addPublisherKey(doc, 'beta', b, { notBefore: '2026-02-30' }), usage);
    assert.throws(() => addPublisherKey(doc, 'beta', b, { models: ['a**'] }), usage);
  });

  test('remove a publisher; an unknown one is refused', () => {
    const doc = addPublisherKey(EMPTY_POLICY_DOCUMENT, 'acme', a).document;
    assert.deepEqual(removePublisher(doc, 'acme').document.publishers, []);
    assert.throws(() => removePublisher(doc, 'beta'), usage);
  });

  test('revoke: lower-cased key id, revokedAt from the given time, idempotent', () => {
    const result = revokeKey(EMPTY_POLICY_DOCUMENT, a.keyId.toUpperCase(), 1_800_000_000, 'leaked');
    assert.deepEqual(result.document.revoked, [{ keyId: a.keyId, revokedAt: '2027-01-15T08:00:00Z', reason: 'leaked' }]);
    assert.equal(revokeKey(result.document, a.keyId, 1_900_000_000).changed, false);
    assert.throws(() => revokeKey(EMPTY_POLICY_DOCUMENT, 'xyz', 0), usage);
  });

  test('rules: create, change one setting, lift it, remove; threshold 0 and bad durations refused', () => {
    const created = setRule(EMPTY_POLICY_DOCUMENT, 'acme/**', { threshold: 2, maxAge: '90d' }).document;
    assert.deepEqual(created.rules, [{ models: 'acme/**', threshold: 2, maxAge: '90d' }]);
    const lifted = setRule(created, 'acme/**', { maxAge: false, requireExpiry: true }).document;
    assert.deepEqual(lifted.rules, [{ models: 'acme/**', threshold: 2, requireExpiry: true }]);
    assert.deepEqual(removeRule(lifted, 'acme/**').document.rules, []);
    assert.throws(() => removeRule(lifted, 'beta/**'), usage);
    assert.throws(() => setRule(EMPTY_POLICY_DOCUMENT, 'x', { threshold: 0 }), usage);
    assert.throws(() => setRule(EMPTY_POLICY_DOCUMENT, 'x', { maxAge: '90 days' }), usage);
  });
});
