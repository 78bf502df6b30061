/**
 * Export: `signOmsModel` writes bundles that our verifier, sigstore-js's bundle validator and
 * DSSE verifier accept, and never one of the variants model_signing 1.1.1 rejects (the export
 * matrix: wrong key types, P1363 signatures, a wrong hash, other media types, extra fields,
 * shards, other hashes, a single file named other than "."). The adversarial tree checks both
 * resource orders against root digests model_signing itself computed for it.
 */
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { dssePae, encodeOmsBundle, generateSecretKey, rootOfDigests, toHex, type Signer } from '@ms-sign/core';
import { ecdsaKeySigner, ecPublicKeyFromKeyObject } from '@ms-sign/core/node';
import { signOmsModel, verifyOmsModel } from '@ms-sign/core/node';
import { rejectedCode } from '../helpers/codes.js';
import { tempDir } from '../helpers/index.js';
import { keysDir } from './corpus.js';

// Each file's content is its ASCII text; big.bin is 0x00..0xff, empty is empty.
const TREE: Record<string, string | Uint8Array> = {
  'a/b': 'ab',
  'a.txt': 'a.txt',
  'a-b': 'a-b',
  B: 'B',
  'é': 'e-acute',
  'Ａ': 'fullwidth A (BMP, U+FF21)',
  '😀': 'emoji (astral, U+1F600)',
  '.hidden': 'hidden',
  'sub/.git/HEAD': 'nested git',
  '.git/config': 'top git (ignored)',
  'big.bin': Uint8Array.from({ length: 256 }, (_, i) => i),
  empty: '',
};
// Root digests model_signing 1.1.1's hashing computed for this tree, and for the same resources
// listed in OMS order (whole names by code point) instead of Python's (by path component).
const ROOT = {
  filesPython: '8150c19ed486e62cc238cdd27c63f7580bc9591622ebc7a9b15b913f4cdf6666',
  filesOms: '6035abd6023f5e849cf9f120685164c7eb7d30efbe833b9d6d0c22223574e66d',
  shards8Python: '75c2d968665497b44d21fabf664cd165a9ca41f14cb1da96a3a47ef37e70ab2c',
  shards8Oms: '1a75722d89a3fd27e8f5d539a9fc615f674b2e94634584d1b69c5d4caf44f7ee',
};

function makeTree(dir: string): string {
  const root = join(dir, 'tree');
  for (const [path, content] of Object.entries(TREE)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

const codePoints = (s: string) => Array.from(s, (c) => c.codePointAt(0)!);
function compareCodePoints(a: string, b: string): number {
  const x = codePoints(a);
  const y = codePoints(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}
/** Python's order: by the list of path components, each by code point. */
function comparePython(a: string, b: string): number {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const c = compareCodePoints(x[i]!, y[i]!);
    if (c !== 0) return c;
  }
  return x.length - y.length;
}

const signedFiles = Object.keys(TREE).filter((p) => p !== '.git/config');
const bytesOf = (p: string) => (typeof TREE[p] === 'string' ? Buffer.from(TREE[p] as string) : Buffer.from(TREE[p] as Uint8Array));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest();

interface Resource {
  name: string;
  algorithm: string;
  digest: Buffer;
}
function filesResources(order: (a: string, b: string) => number): Resource[] {
  return [...signedFiles].sort(order).map((p) => ({ name: p, algorithm: 'sha256', digest: sha(bytesOf(p)) }));
}
function shardResources(pythonOrder: boolean): Resource[] {
  const shards = signedFiles.filter((p) => bytesOf(p).length > 0).flatMap((p) => {
    const b = bytesOf(p);
    const out: { path: string; start: number; end: number }[] = [];
    for (let s = 0; s < b.length; s += 8) out.push({ path: p, start: s, end: Math.min(s + 8, b.length) });
    return out;
  });
  const named = shards.map((s) => ({ ...s, name: `${s.path}:${s.start}:${s.end}` }));
  named.sort(pythonOrder ? (a, b) => comparePython(a.path, b.path) || a.start - b.start : (a, b) => compareCodePoints(a.name, b.name));
  return named.map((s) => ({ name: s.name, algorithm: 'sha256-sharded-8', digest: sha(bytesOf(s.path).subarray(s.start, s.end)) }));
}

const corpusKey = createPrivateKey(readFileSync(join(keysDir, 'signing-key.pem')));
const corpusPublic = ecPublicKeyFromKeyObject(createPublicKey(corpusKey));

/** A bundle over a hand-made statement, signed by the corpus P-384 key. */
function handSigned(resources: Resource[], serialization: Record<string, unknown>): { bundle: Uint8Array; root: string } {
  const root = toHex(rootOfDigests(resources.map((r) => r.digest)));
  const statement = {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'tree', digest: { sha256: root } }],
    predicateType: 'https://model_signing/signature/v1.0',
    predicate: { serialization, resources: resources.map((r) => ({ name: r.name, algorithm: r.algorithm, digest: r.digest.toString('hex') })) },
  };
  const payload = Buffer.from(JSON.stringify(statement, null, 2));
  const sig = sign('sha384', dssePae('application/vnd.in-toto+json', payload), { key: corpusKey, dsaEncoding: 'der' });
  return { bundle: encodeOmsBundle(payload, sig, corpusPublic.hint), root };
}

describe('the adversarial tree: both resource orders, files and shards, as model_signing computes them', () => {
  const cases = [
    ['files, Python order', filesResources(comparePython), { method: 'files', hash_type: 'sha256', allow_symlinks: false }, ROOT.filesPython],
    ['files, OMS order', filesResources(compareCodePoints), { method: 'files', hash_type: 'sha256', allow_symlinks: false }, ROOT.filesOms],
    ['shards/8, Python order', shardResources(true), { method: 'shards', hash_type: 'sha256', allow_symlinks: false, shard_size: 8 }, ROOT.shards8Python],
    ['shards/8, OMS order', shardResources(false), { method: 'shards', hash_type: 'sha256', allow_symlinks: false, shard_size: 8 }, ROOT.shards8Oms],
  ] as const;
  for (const [name, resources, serialization, expectedRoot] of cases) {
    test(name, async (t) => {
      const dir = tempDir(t);
      const tree = makeTree(dir);
      const { bundle, root } = handSigned([...resources], serialization);
      assert.equal(root, expectedRoot);
      writeFileSync(join(dir, 'tree.sig'), bundle);
      const r = await verifyOmsModel(tree, join(dir, 'tree.sig'), { trust: { keys: [corpusPublic], certificateRoots: [] } });
      assert.deepEqual(r.errors, []);
      // One changed byte in the last shard of big.bin.
      const big = Buffer.from(TREE['big.bin'] as Uint8Array);
      big[255]! ^= 1;
      writeFileSync(join(tree, 'big.bin'), big);
      const bad = await verifyOmsModel(tree, join(dir, 'tree.sig'), { trust: { keys: [corpusPublic], certificateRoots: [] } });
      assert.deepEqual(bad.errors.map((e) => [e.code, e.path]), [['DIGEST_MISMATCH', 'big.bin']]);
    });
  }
});

function p256Signer(): { signer: Signer; publicKey: ReturnType<typeof ecPublicKeyFromKeyObject> } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { signer: ecdsaKeySigner(privateKey, 'test key'), publicKey: ecPublicKeyFromKeyObject(publicKey) };
}

describe('exported bundles', () => {
  test('the adversarial tree, bundle inside the model: the exact shape, OMS order, verified by us and by sigstore-js', async (t) => {
    const tree = makeTree(tempDir(t));
    const { signer, publicKey } = p256Signer();
    const sigPath = join(tree, 'model.sig');
    const { bundle } = await signOmsModel(tree, { signer, signaturePath: sigPath });
    writeFileSync(sigPath, bundle);
    const json = JSON.parse(new TextDecoder().decode(bundle));
    // No field beyond these, anywhere (model_signing's parser forbids extra fields).
    assert.deepEqual(Object.keys(json), ['mediaType', 'verificationMaterial', 'dsseEnvelope']);
    assert.equal(json.mediaType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
    assert.deepEqual(json.verificationMaterial, { publicKey: { hint: publicKey.hint }, tlogEntries: [] });
    assert.deepEqual(Object.keys(json.dsseEnvelope), ['payload', 'payloadType', 'signatures']);
    assert.equal(json.dsseEnvelope.signatures.length, 1);
    assert.deepEqual(Object.keys(json.dsseEnvelope.signatures[0]), ['sig', 'keyid']);
    // The hint is SHA-256 over the PEM text, not over the DER.
    assert.equal(publicKey.hint, createHash('sha256').update(publicKey.keyObject.export({ type: 'spki', format: 'pem' })).digest('hex'));
    const payload = Buffer.from(json.dsseEnvelope.payload, 'base64');
    const sig = Buffer.from(json.dsseEnvelope.signatures[0].sig, 'base64');
    // DER (not P1363), over PAE, with SHA-256 for P-256 (SHA-384 must not verify).
    assert.equal(sig[0], 0x30);
    const pae = dssePae('application/vnd.in-toto+json', payload);
    assert.equal(verify('sha256', pae, { key: publicKey.keyObject, dsaEncoding: 'der' }, sig), true);
    assert.equal(verify('sha384', pae, { key: publicKey.keyObject, dsaEncoding: 'der' }, sig), false);
    const statement = JSON.parse(payload.toString('utf8'));
    assert.deepEqual(Object.keys(statement), ['_type', 'subject', 'predicateType', 'predicate']);
    assert.deepEqual(statement.predicate.serialization, { method: 'files', hash_type: 'sha256', allow_symlinks: false, ignore_paths: ['.git', '.gitattributes', '.github', '.gitignore', 'model.sig'] });
    assert.equal(statement.subject[0].digest.sha256, ROOT.filesOms);
    assert.ok(statement.predicate.resources.every((r: { algorithm: string }) => r.algorithm === 'sha256'));

    const ours = await verifyOmsModel(tree, sigPath, { trust: { keys: [publicKey], certificateRoots: [] } });
    assert.deepEqual(ours.errors, []);
    // sigstore-js: its bundle validator, then its DSSE check with the key (no log, no timestamps).
    const parsed = bundleFromJSON(json);
    const material = toTrustMaterial(TrustedRoot.fromJSON({ mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] }), {
      [publicKey.hint]: { rawBytes: Buffer.from(publicKey.spki), keyDetails: 5, validFor: { start: new Date(0) } } as never,
    });
    new Verifier(material, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(toSignedEntity(parsed));
  });

  test('a single-file model is named "." and verifies as a file', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'weights.bin'), 'weights');
    const { signer, publicKey } = p256Signer();
    const { bundle, payload } = await signOmsModel(join(dir, 'weights.bin'), { signer, signaturePath: join(dir, 'weights.bin.sig') });
    writeFileSync(join(dir, 'weights.bin.sig'), bundle);
    const statement = JSON.parse(new TextDecoder().decode(payload));
    assert.deepEqual(statement.predicate.resources.map((r: { name: string }) => r.name), ['.']);
    assert.equal(statement.subject[0].name, 'weights.bin');
    const r = await verifyOmsModel(join(dir, 'weights.bin'), join(dir, 'weights.bin.sig'), { trust: { keys: [publicKey], certificateRoots: [] } });
    assert.deepEqual(r.errors, []);
  });

  test('P-384 and P-521 keys sign with their own hash', async (t) => {
    for (const curve of ['P-384', 'P-521'] as const) {
      const dir = tempDir(t);
      writeFileSync(join(dir, 'm'), 'model');
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
      const { bundle } = await signOmsModel(join(dir, 'm'), { signer: ecdsaKeySigner(privateKey), signaturePath: join(dir, 'm.sig') });
      writeFileSync(join(dir, 'm.sig'), bundle);
      const r = await verifyOmsModel(join(dir, 'm'), join(dir, 'm.sig'), { trust: { keys: [ecPublicKeyFromKeyObject(publicKey)], certificateRoots: [] } });
      assert.deepEqual(r.errors, [], curve);
    }
  });

  test('Ed25519 and RSA keys are refused for OMS (model_signing accepts only elliptic-curve keys)', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'm'), 'model');
    const ed = generateSecretKey();
    const edSigner: Signer = { algorithm: 'ed25519', keyId: ed.publicKey.keyId, publicKey: ed.publicKey.bytes, description: 'ed25519 key', sign: () => Promise.resolve(new Uint8Array(64)) };
    assert.equal(await rejectedCode(signOmsModel(join(dir, 'm'), { signer: edSigner, signaturePath: join(dir, 'm.sig') })), 'BAD_KEY');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    assert.throws(() => ecdsaKeySigner(rsa.privateKey), (e: Error & { code?: string }) => e.code === 'BAD_KEY');
  });

  test('a signer that returns P1363 (raw r||s) or a signature by another key writes nothing', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'm'), 'model');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const good = ecdsaKeySigner(privateKey);
    const p1363: Signer = { ...good, sign: (m: Uint8Array) => Promise.resolve(new Uint8Array(sign('sha256', m, { key: privateKey, dsaEncoding: 'ieee-p1363' }))) };
    assert.equal(await rejectedCode(signOmsModel(join(dir, 'm'), { signer: p1363, signaturePath: join(dir, 'm.sig') })), 'BAD_SIGNATURE');
    const other = ecdsaKeySigner(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
    assert.equal(await rejectedCode(signOmsModel(join(dir, 'm'), { signer: { ...good, sign: other.sign }, signaturePath: join(dir, 'm.sig') })), 'BAD_SIGNATURE');
  });

  test('a model with a symbolic link is refused', async (t) => {
    const tree = makeTree(tempDir(t));
    symlinkSync('a.txt', join(tree, 'link'));
    const { signer } = p256Signer();
    assert.equal(await rejectedCode(signOmsModel(tree, { signer, signaturePath: join(tree, '..', 'x.sig') })), 'UNSAFE_FILE_TYPE');
  });

  test('user ignores are recorded and applied; ".." is refused', async (t) => {
    const tree = makeTree(tempDir(t));
    const { signer, publicKey } = p256Signer();
    const sigPath = join(tree, '..', 'tree.sig');
    const { bundle, payload } = await signOmsModel(tree, { signer, signaturePath: sigPath, ignore: ['a', 'sub/'] });
    writeFileSync(sigPath, bundle);
    const statement = JSON.parse(new TextDecoder().decode(payload));
    assert.deepEqual(statement.predicate.serialization.ignore_paths.slice(-2), ['a', 'sub']);
    assert.ok(!statement.predicate.resources.some((r: { name: string }) => r.name.startsWith('a/') || r.name.startsWith('sub/')));
    const r = await verifyOmsModel(tree, sigPath, { trust: { keys: [publicKey], certificateRoots: [] } });
    assert.deepEqual(r.errors, []);
    assert.equal(await rejectedCode(signOmsModel(tree, { signer, signaturePath: sigPath, ignore: ['../x'] })), 'USAGE');
  });
});
