/**
 * Frozen golden signature files of format v1 (test/data/golden/v1, made once by
 * scripts/make-golden.mjs). Every future ms-sign must keep verifying them, through the CLI and the
 * library, and must re-encode them byte for byte. Their SHA-256 digests are pinned here so that
 * nobody regenerates them silently: a new format gets a new folder, v1 never changes.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  decodeEnvelope,
  decodeManifest,
  encodeEnvelope,
  encodeManifest,
  MANIFEST_PAYLOAD_TYPE,
  parsePublicKeyPem,
  parseSecretKeyPem,
  policyFromKeys,
  toHex,
} from '@ms-sign/core';
import { loadVerifiedModel, verifyModel, type VerificationReport } from '@ms-sign/core/node';
import { dataDir, fixture, runCli, tempDir } from './helpers/index.js';
import { assertFailure } from './helpers/scenarios.js';

const golden = join(dataDir, 'golden', 'v1');
const testKeyPub = join(golden, 'test-key.pub');
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Never edit: a change here means a golden file changed, which must not happen. */
const PINNED_SHA256: Record<string, string> = {
  'model-dir.sig': '2d245b184e661384320f4b2a8346d613d0263e1c6f833a45ee61ee5c8ea880a5',
  'model-dir/README.ignored': 'a9e3ad19a634fc93a56db8e1c6d8270019047ad87ab6a70eb8b25bde169ffa54',
  'model-dir/lenet_tod_infer.ms': 'dc2e9f8695577fb4b81b15311b3ff524db01e7d4e8c1db92aef3a24d619c7bf3',
  'model-dir/nested/relu.mindir': 'e97eaaf916bafe3783a799bb66cdb7d665fca69ba454d91aa16795a0bddb2026',
  'parallel.ms.sig': 'a093d77f903a5be8a89693831b9451fa8073ccfd3175a21a82e3f88ce16e69fb',
  'test-key.key': '42a00533e910ad6e67d60a131bf24ed84522080cdceaa83e4a3336c1a2eee8d8',
  'test-key.pub': '089ce809143f068607bc74304760dada4edee5dfcd5fc94c5d8aabceda00c4af',
};

/** The two golden models, the signature file of each, and what verify must report. */
const GOLDEN_MODELS = [
  {
    sig: 'parallel.ms.sig',
    model: fixture('parallel.ms'),
    expected: {
      ok: true,
      subject: { name: 'parallel.ms', version: null },
      kind: 'file',
      hashAlgorithm: 'sha256',
      created: '2026-11-01T00:00:00Z',
      expires: null,
      annotations: {},
      files: { count: 1, bytes: 5352 },
      errors: [],
    },
  },
  {
    sig: 'model-dir.sig',
    model: join(golden, 'model-dir'),
    expected: {
      ok: true,
      subject: { name: 'example/lenet', version: '1.2.0' },
      kind: 'directory',
      hashAlgorithm: 'sha256',
      created: '2026-11-01T00:00:00Z',
      expires: '2100-01-01T00:00:00Z',
      annotations: { 'ci.run': '42', source: 'https://example.invalid/lenet' },
      files: { count: 2, bytes: 252248 + 439 },
      errors: [],
    },
  },
] as const;

const TEST_KEY_ID = '7cfd2ca33d5fd54da3abba96a2148853';

function reportFields(report: VerificationReport | Record<string, unknown>): Record<string, unknown> {
  const r = report as Record<string, unknown>;
  const pick = ['ok', 'subject', 'kind', 'hashAlgorithm', 'created', 'expires', 'annotations', 'files', 'errors'];
  return Object.fromEntries(pick.map((k) => [k, r[k]]));
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

describe('golden signature files of format v1', () => {
  test('are exactly the files pinned here, unchanged', () => {
    assert.deepEqual(listFiles(golden), Object.keys(PINNED_SHA256).sort());
    for (const [path, digest] of Object.entries(PINNED_SHA256)) assert.equal(sha256(readFileSync(join(golden, path))), digest, path);
  });

  test('the test key is the documented public test key (derived from a fixed string)', async () => {
    const key = await parseSecretKeyPem(readFileSync(join(golden, 'test-key.key'), 'utf8'), () => {
      throw new Error('the golden test key is not encrypted');
    });
    assert.equal(toHex(key.seed), sha256(Buffer.from('ms-sign golden test key v1')));
    assert.equal(key.publicKey.keyId, TEST_KEY_ID);
    assert.deepEqual(parsePublicKeyPem(readFileSync(testKeyPub, 'utf8')), key.publicKey);
  });

  for (const { sig, model, expected } of GOLDEN_MODELS) {
    test(`${sig} verifies through the CLI`, async (t) => {
      const r = await runCli(['verify', model, '-s', join(golden, sig), '-p', testKeyPub, '--json'], { cwd: tempDir(t) });
      assert.equal(r.code, 0, r.stdout);
      const report = r.json<VerificationReport>();
      assert.deepEqual(reportFields(report), expected);
      assert.deepEqual(report.signers, [{ keyId: TEST_KEY_ID, publisher: testKeyPub, valid: true }]);
    });

    test(`${sig} verifies through the library`, async () => {
      const policy = policyFromKeys([{ name: 'golden', key: parsePublicKeyPem(readFileSync(testKeyPub, 'utf8')) }]);
      // A fixed "now" inside the validity window: the golden files must verify whatever the clock says.
      const report = await verifyModel(model, { trust: { policy, source: 'golden' }, signaturePath: join(golden, sig), now: 1_800_000_000 });
      assert.deepEqual(reportFields(report), expected);
      assert.deepEqual(report.signers, [{ keyId: TEST_KEY_ID, publisher: 'golden', valid: true }]);
    });

    test(`${sig} decodes and re-encodes to identical bytes`, () => {
      const bytes = new Uint8Array(readFileSync(join(golden, sig)));
      const envelope = decodeEnvelope(bytes);
      assert.equal(envelope.payloadType, MANIFEST_PAYLOAD_TYPE);
      assert.deepEqual(envelope.signatures.map((s) => toHex(s.keyId)), [TEST_KEY_ID]);
      // Compared as hex: cbor-x leaves a cached `dataView` property on arrays it decoded.
      assert.equal(toHex(encodeEnvelope(envelope)), toHex(bytes));
      assert.equal(toHex(encodeManifest(decodeManifest(envelope.payload))), toHex(envelope.payload));
    });
  }

  test('loadVerifiedModel hands back exactly the bytes of parallel.ms', async () => {
    const policy = policyFromKeys([{ name: 'golden', key: parsePublicKeyPem(readFileSync(testKeyPub, 'utf8')) }]);
    const { bytes, report } = await loadVerifiedModel(fixture('parallel.ms'), {
      trust: { policy, source: 'golden' },
      signaturePath: join(golden, 'parallel.ms.sig'),
      now: 1_800_000_000,
    });
    assert.equal(report.ok, true);
    assert.deepEqual(Buffer.from(bytes), readFileSync(fixture('parallel.ms')));
  });

  test('the manifests record what the format promises: plain SHA-256 digests, shards, ignore patterns', () => {
    const manifestOf = (sig: string) => decodeManifest(decodeEnvelope(new Uint8Array(readFileSync(join(golden, sig)))).payload);
    const single = manifestOf('parallel.ms.sig');
    // A file of one shard is recorded with the digest sha256sum prints (SPEC section 3).
    assert.deepEqual(single.files.map((f) => [f.path, f.size, f.digests.map(toHex)]), [['parallel.ms', 5352, [sha256(readFileSync(fixture('parallel.ms')))]]]);
    const dir = manifestOf('model-dir.sig');
    assert.equal(dir.shardSize, 64 * 1024);
    assert.deepEqual(dir.ignore, ['*.ignored']);
    assert.deepEqual(dir.files.map((f) => [f.path, f.size, f.digests.length]), [['lenet_tod_infer.ms', 252248, 4], ['nested/relu.mindir', 439, 1]]);
    const lenet = readFileSync(join(golden, 'model-dir', 'lenet_tod_infer.ms'));
    const shards = [0, 1, 2, 3].map((i) => sha256(lenet.subarray(i * 65536, (i + 1) * 65536)));
    assert.deepEqual(dir.files[0]!.digests.map(toHex), shards);
    assert.equal(toHex(dir.files[1]!.digests[0]!), sha256(readFileSync(fixture('relu.mindir'))));
  });

  test('the recorded ignore pattern is applied on verify; a change to a covered file is not', async (t) => {
    const dir = tempDir(t);
    cpSync(join(golden, 'model-dir'), join(dir, 'model-dir'), { recursive: true });
    writeFileSync(join(dir, 'model-dir', 'README.ignored'), 'changed after signing\n');
    writeFileSync(join(dir, 'model-dir', 'notes.ignored'), 'added after signing\n');
    const verify = () => runCli(['verify', 'model-dir', '-s', join(golden, 'model-dir.sig'), '-p', testKeyPub, '--json'], { cwd: dir });
    const ok = await verify();
    assert.equal(ok.code, 0, ok.stdout);
    // "*" stops at "/": the pattern covers top-level names only (format/glob.ts).
    writeFileSync(join(dir, 'model-dir', 'nested', 'notes.ignored'), 'added after signing\n');
    assertFailure(await verify(), 1, ['UNSIGNED_FILE']);
    rmSync(join(dir, 'model-dir', 'nested', 'notes.ignored'));
    writeFileSync(join(dir, 'model-dir', 'nested', 'relu.mindir'), 'changed after signing\n');
    assertFailure(await verify(), 1, ['SIZE_MISMATCH']);
  });
});
