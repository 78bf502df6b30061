/**
 * Verifying real model_signing bundles (every release and trust mode in the corpus) offline, and
 * every mutation upstream's own tests would catch, each with its stable code.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { appendFileSync, chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ecPublicKeyFromKeyObject, type OmsTrustAnchors } from '@ms-sign/core/node';
import { verifyOmsModel } from '@ms-sign/core/node';
import { tempDir } from '../helpers/index.js';
import { CASES, copyCase, corpusDir, IDENTITY, ISSUER, publicGoodRoot, trustedRootPath, TRUSTED_ROOT_SHA256, trustFor, type CorpusCase } from './corpus.js';

function modelOf(c: CorpusCase, dir = join(corpusDir, c.name)): string {
  return c.model === '.' ? dir : join(dir, c.model);
}

async function verifyCase(c: CorpusCase, options: { dir?: string; trust?: OmsTrustAnchors; ignore?: readonly string[]; at?: Date } = {}) {
  const dir = options.dir ?? join(corpusDir, c.name);
  return verifyOmsModel(modelOf(c, dir), join(dir, 'model.sig'), { trust: options.trust ?? trustFor(c.mode), ignore: options.ignore ?? c.ignore, ...(options.at ? { at: options.at } : {}) });
}

function codes(r: { errors: { code: string }[] }): string[] {
  return r.errors.map((e) => e.code);
}

test('the vendored Sigstore trusted root is the pinned public-good one', () => {
  assert.equal(createHash('sha256').update(readFileSync(trustedRootPath)).digest('hex'), TRUSTED_ROOT_SHA256);
});

describe('every corpus bundle verifies with the inputs upstream uses', () => {
  for (const c of CASES) {
    test(c.name, async () => {
      const r = await verifyCase(c);
      assert.deepEqual(r.errors, []);
      assert.equal(r.ok, true);
      assert.equal(r.signer?.mode, c.mode === 'elliptic-key' ? 'key' : c.mode);
      assert.equal(r.flavour, c.name.startsWith('v0.2') ? 'model_signing-0.2' : c.name.startsWith('v1.1') ? 'model_signing-1.1' : 'model_signing-0.3-1.0');
      if (r.signer?.mode === 'sigstore') assert.deepEqual([r.signer.identity, r.signer.issuer], [IDENTITY, ISSUER]);
      if (r.signer?.mode === 'key') assert.equal(r.signer.keyId, 'e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e');
    });
  }
});

describe('mutated corpus cases fail with a stable code', () => {
  for (const c of CASES) {
    test(`${c.name}: a byte appended to signme-2 or signme-1`, async (t) => {
      const dir = copyCase(c.name, tempDir(t));
      const file = readdirSync(dir).includes('signme-2') && c.model === '.' ? 'signme-2' : 'signme-1';
      chmodSync(join(dir, file), 0o644);
      appendFileSync(join(dir, file), 'x');
      assert.deepEqual(codes(await verifyCase(c, { dir })), ['DIGEST_MISMATCH']);
    });
    if (c.model === '.') {
      test(`${c.name}: an extra file`, async (t) => {
        const dir = copyCase(c.name, tempDir(t));
        chmodSync(dir, 0o755);
        writeFileSync(join(dir, 'extra'), 'not signed');
        assert.deepEqual(codes(await verifyCase(c, { dir })), ['UNSIGNED_FILE']);
      });
    }
  }
  for (const c of CASES.filter((c) => c.ignore.length > 0)) {
    test(`${c.name}: without the ignore the old bundle did not record`, async () => {
      assert.deepEqual(codes(await verifyCase(c, { ignore: [] })), ['UNSIGNED_FILE']);
    });
  }
  test('a single-file bundle verified against its directory: MODEL_KIND_MISMATCH', async () => {
    const c = CASES.find((c) => c.name === 'v1.0.0-elliptic-key')!;
    assert.deepEqual(codes(await verifyCase({ ...c, model: '.' })), ['MODEL_KIND_MISMATCH']);
  });

  const otherKey = ecPublicKeyFromKeyObject(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey);
  for (const c of CASES.filter((c) => c.mode === 'elliptic-key')) {
    test(`${c.name}: a wrong key`, async () => {
      // v1.1 bundles name their key (hint): another key is not the signer; older ones do not.
      const r = await verifyCase(c, { trust: { keys: [otherKey], certificateRoots: [] } });
      assert.deepEqual(codes(r), ['UNTRUSTED_SIGNER']);
    });
  }
  for (const c of CASES.filter((c) => c.mode === 'certificate')) {
    test(`${c.name}: a wrong root (the intermediate's issuer is not trusted)`, async () => {
      const wrongRoot = trustFor('certificate').certificateRoots.map(() => new Uint8Array(generateSelfSigned()));
      assert.deepEqual(codes(await verifyCase(c, { trust: { keys: [], certificateRoots: wrongRoot } })), ['UNTRUSTED_SIGNER']);
    });
    test(`${c.name}: checked after the chain expired`, async () => {
      assert.deepEqual(codes(await verifyCase(c, { at: new Date('2035-05-01T00:00:00Z') })), ['CERTIFICATE_REJECTED']);
      assert.deepEqual(codes(await verifyCase(c, { at: new Date('2025-05-02T23:36:27Z') })), ['CERTIFICATE_REJECTED']);
      // Inclusive bounds: model_signing 1.1.1 checks at exactly the leaf's notBefore.
      assert.deepEqual(codes(await verifyCase(c, { at: new Date('2025-05-02T23:36:28Z') })), []);
    });
  }
  for (const c of CASES.filter((c) => c.mode === 'sigstore')) {
    const sigstore = (identity: string, issuer: string) => ({ keys: [], certificateRoots: [], sigstore: { trust: publicGoodRoot(), identities: [{ identity, issuer }] } });
    for (const identity of ['b@us.ibm.com', 'stefanb@us.ibm.co', 's.e.anb@us.ibm.com', 'STEFANB@us.ibm.com']) {
      test(`${c.name}: identity ${identity} (a regular-expression match would pass) is not the signer`, async () => {
        assert.deepEqual(codes(await verifyCase(c, { trust: sigstore(identity, ISSUER) })), ['UNTRUSTED_SIGNER']);
      });
    }
    test(`${c.name}: a wrong issuer`, async () => {
      assert.deepEqual(codes(await verifyCase(c, { trust: sigstore(IDENTITY, 'https://accounts.google.com') })), ['UNTRUSTED_SIGNER']);
      assert.deepEqual(codes(await verifyCase(c, { trust: sigstore(IDENTITY, `${ISSUER}/`) })), ['UNTRUSTED_SIGNER']);
    });
    test(`${c.name}: no Sigstore trusted root`, async () => {
      assert.deepEqual(codes(await verifyCase(c, { trust: { keys: [], certificateRoots: [] } })), ['UNTRUSTED_SIGNER']);
    });
  }
  test('v1.1.0-sigstore against a trusted root without the timestamp authority: TRANSPARENCY_LOG_REJECTED', async (t) => {
    const { parseSigstoreTrustedRoot } = await import('@ms-sign/core/node');
    const root = JSON.parse(readFileSync(trustedRootPath, 'utf8')) as Record<string, unknown>;
    root.timestampAuthorities = [];
    const path = join(tempDir(t), 'no-tsa.json');
    writeFileSync(path, JSON.stringify(root));
    const trust = parseSigstoreTrustedRoot(readFileSync(path), path);
    const c = CASES.find((c) => c.name === 'v1.1.0-sigstore')!;
    const r = await verifyCase(c, { trust: { keys: [], certificateRoots: [], sigstore: { trust, identities: [{ identity: IDENTITY, issuer: ISSUER }] } } });
    assert.deepEqual(codes(r), ['TRANSPARENCY_LOG_REJECTED']);
    // A bundle without a timestamp token still verifies on the log's time alone.
    const older = await verifyCase(CASES.find((c) => c.name === 'v1.0.1-sigstore')!, { trust: { keys: [], certificateRoots: [], sigstore: { trust, identities: [{ identity: IDENTITY, issuer: ISSUER }] } } });
    assert.deepEqual(codes(older), []);
  });
});

/** A throwaway self-signed P-256 CA certificate named like the corpus root (root-ca): the name alone must not make it the issuer. */
function generateSelfSigned(): Buffer {
  return execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '/dev/null', '-subj', '/CN=root-ca', '-days', '30', '-outform', 'DER'], { stdio: ['ignore', 'pipe', 'ignore'] });
}
