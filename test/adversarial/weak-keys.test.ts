/**
 * Weak public keys: the identity (01 00..00) and every other small-order point, in canonical and
 * non-canonical encodings. With such a key, signatures can be forged without any secret (shown
 * below with a permissive verifier), so ms-sign refuses them wherever a key enters: the library
 * (publicKeyFromBytes, verifyEd25519), `verify -p`, `trust add -p` and a trust policy file.
 * The generic Ed25519 vector loop lives in test/ed25519-vectors.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  checkPublicKeyBytes,
  compileGlob,
  encodeEnvelope,
  encodeManifest,
  keyIdHex,
  MANIFEST_PAYLOAD_TYPE,
  MsSignError,
  publicKeyFromBytes,
  signingMessage,
  verifyEd25519,
  type TrustPolicy,
} from '@ms-sign/core';
import { verifyModel } from '@ms-sign/core/node';
import { fileEntry, manifestOf, spkiBase64, spkiPem } from '../helpers/crafted.js';
import { canonicalSmallOrderEncodings, decodePoint, forgeSignature, isSmallOrder, nonCanonicalSmallOrderEncodings, permissiveVerify } from '../helpers/ed25519-curve.js';
import { errorCodes, runCli, tempDir } from '../helpers/index.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// The well-known list (libsodium's blocklist, ed25519-speccheck): derived again below, not trusted.
const KNOWN_CANONICAL = [
  '0100000000000000000000000000000000000000000000000000000000000000', // identity, order 1
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // order 2
  '0000000000000000000000000000000000000000000000000000000000000000', // order 4
  '0000000000000000000000000000000000000000000000000000000000000080', // order 4
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa', // order 8
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', // order 8
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85', // order 8
];

const CANONICAL = canonicalSmallOrderEncodings();
const NON_CANONICAL = nonCanonicalSmallOrderEncodings();
const WEAK_KEYS = [...CANONICAL, ...NON_CANONICAL].map((bytes) => ({ bytes, label: hex(bytes) }));

describe('weak public keys: the test data', () => {
  test('the eight canonical small-order encodings are the torsion subgroup, as published', () => {
    assert.deepEqual(CANONICAL.map(hex).sort(), [...KNOWN_CANONICAL].sort());
    for (const bytes of CANONICAL) assert.ok(isSmallOrder(decodePoint(bytes, true)!), hex(bytes));
  });

  test('the non-canonical variants decode only leniently, to small-order points', () => {
    assert.deepEqual(NON_CANONICAL.map(hex).sort(), [
      '0100000000000000000000000000000000000000000000000000000000000080', // identity, "negative zero"
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff', // order 2, "negative zero"
      'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p (0), order 4
      'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
      'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p + 1 (1), identity
      'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
    ]);
    for (const bytes of NON_CANONICAL) {
      assert.equal(decodePoint(bytes, true), undefined, hex(bytes));
      assert.ok(isSmallOrder(decodePoint(bytes, false)!), hex(bytes));
    }
  });
});

describe('weak public keys are refused by the library', () => {
  for (const { bytes, label } of WEAK_KEYS) {
    test(`publicKeyFromBytes throws BAD_KEY and verifyEd25519 rejects a forgery for ${label}`, () => {
      assert.notEqual(checkPublicKeyBytes(bytes), undefined);
      assert.throws(() => publicKeyFromBytes(bytes), (e: unknown) => e instanceof MsSignError && e.code === 'BAD_KEY');
      const message = new TextEncoder().encode('MSSIGN/v1 any message at all');
      const forged = forgeSignature(bytes, message);
      // The forgery is real: a verifier without ms-sign's key checks accepts it.
      assert.equal(permissiveVerify(forged, message, bytes), true);
      assert.equal(verifyEd25519(forged, message, bytes), false);
    });
  }

  test('a forged signature under a weak key smuggled into a policy object is still BAD_SIGNATURE', async (t) => {
    const dir = tempDir(t);
    const content = new TextEncoder().encode('model bytes');
    writeFileSync(join(dir, 'weights.bin'), content);
    const identity = CANONICAL[0]!;
    // A policy built by hand, bypassing publicKeyFromBytes: defence in depth at verification.
    const policy: TrustPolicy = {
      publishers: [{ name: 'mallory', models: [compileGlob('**')], keys: [{ publicKey: { bytes: identity, keyId: keyIdHex(identity) } }] }],
      revoked: new Set(),
      rules: [],
    };
    const manifest = manifestOf([fileEntry('weights.bin', content)]);
    const payload = encodeManifest(manifest);
    const message = signingMessage(MANIFEST_PAYLOAD_TYPE, payload);
    const signature = forgeSignature(identity, message);
    assert.equal(permissiveVerify(signature, message, identity), true);
    const sigPath = join(dir, 'model.sig');
    writeFileSync(sigPath, encodeEnvelope({ payloadType: MANIFEST_PAYLOAD_TYPE, payload, signatures: [{ keyId: Buffer.from(keyIdHex(identity), 'hex'), signature }] }));
    const report = await verifyModel(dir, { trust: { policy, source: 'hand-made' }, signaturePath: sigPath, threads: 1 });
    assert.equal(report.ok, false);
    assert.deepEqual(report.errors.map((e) => e.code), ['BAD_SIGNATURE']);
  });
});

describe('weak public keys are refused by the CLI', () => {
  test('verify -p WEAK.pub exits 2 with BAD_KEY for every weak key', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'model.ms'), 'model');
    writeFileSync(join(dir, 'model.ms.sig'), 'not read: the key is refused first');
    for (const { bytes, label } of WEAK_KEYS) {
      writeFileSync(join(dir, 'weak.pub'), spkiPem(bytes));
      const r = await runCli(['verify', 'model.ms', '-p', 'weak.pub', '--json'], { cwd: dir });
      assert.equal(r.code, 2, label);
      assert.deepEqual(errorCodes(r), ['BAD_KEY'], label);
    }
  });

  test('trust add NAME -p WEAK.pub exits 2 with BAD_KEY and leaves the policy unchanged', async (t) => {
    const dir = tempDir(t);
    assert.equal((await runCli(['trust', 'init', '-t', 'trust.json'], { cwd: dir })).code, 0);
    const before = readFileSync(join(dir, 'trust.json'));
    for (const { bytes, label } of WEAK_KEYS) {
      writeFileSync(join(dir, 'weak.pub'), spkiPem(bytes));
      const r = await runCli(['trust', 'add', 'mallory', '-p', 'weak.pub', '-t', 'trust.json', '--json'], { cwd: dir });
      assert.equal(r.code, 2, label);
      assert.deepEqual(errorCodes(r), ['BAD_KEY'], label);
    }
    assert.deepEqual(readFileSync(join(dir, 'trust.json')), before);
  });

  test('a trust policy file listing a weak key is refused: verify -t exits 2 with BAD_TRUST_POLICY', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'model.ms'), 'model');
    for (const { bytes, label } of WEAK_KEYS) {
      const policy = { version: 1, publishers: [{ name: 'mallory', models: ['**'], keys: [{ publicKey: spkiBase64(bytes) }] }], revoked: [], rules: [] };
      writeFileSync(join(dir, 'trust.json'), JSON.stringify(policy));
      const r = await runCli(['verify', 'model.ms', '-t', 'trust.json', '--json'], { cwd: dir });
      assert.equal(r.code, 2, label);
      assert.deepEqual(errorCodes(r), ['BAD_TRUST_POLICY'], label);
    }
  });
});
