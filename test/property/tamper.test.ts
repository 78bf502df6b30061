/**
 * Property: after signing, ANY single-bit change to a model file, to the signature file, or to a
 * field of the signed manifest makes verification fail, with the code that names the change.
 * (test/tamper.test.ts walks every byte of one fixed signature file; here the models, the bits
 * and the fields are random.)
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  createSignatureFile,
  decodeEnvelope,
  decodeManifest,
  encodeEnvelope,
  generateSecretKey,
  shardCount,
  type Manifest,
  type ManifestFile,
  secretKeySigner,
} from '@ms-sign/core';
import { signModel, verifyModel } from '@ms-sign/core/node';
import { trustKeys } from '../helpers/crafted.js';
import { tempDir, writeFile } from '../helpers/index.js';
import { contentOf, fcParams, SHARD, sizeArbitrary, treeArbitrary } from '../helpers/property.js';

const trusted = generateSecretKey();
const untrusted = generateSecretKey();
const trust = trustKeys(trusted.publicKey);

const modelArbitrary = fc.record({ paths: treeArbitrary(4), sizes: fc.array(sizeArbitrary, { minLength: 4, maxLength: 4 }), salt: fc.nat(1000) });
type ModelSpec = { paths: string[]; sizes: number[]; salt: number };

/** Writes and signs a random directory model; returns where everything is. */
async function signedModel(root: string, run: number, spec: ModelSpec) {
  const dir = join(root, String(run));
  const model = join(dir, 'model');
  const files = spec.paths.map((path, i) => ({ path, content: contentOf(spec.sizes[i]!, spec.salt + i) }));
  for (const f of files) writeFile(join(model, f.path), f.content);
  const signaturePath = join(dir, 'model.sig');
  const { signatureFile, manifest } = await signModel(model, { signers: [secretKeySigner(trusted)], signaturePath, shardSize: SHARD, threads: 1 });
  writeFileSync(signaturePath, signatureFile);
  const verify = async () => (await verifyModel(model, { trust, signaturePath, threads: 1 })).errors;
  return { model, files, signaturePath, signatureFile, manifest, verify };
}

const codes = (problems: readonly { code: string }[]) => problems.map((p) => p.code);

const flipBit = (bytes: Uint8Array, bit: number): Uint8Array => {
  const out = new Uint8Array(bytes);
  out[bit >> 3]! ^= 1 << (bit & 7);
  return out;
};

/** Byte ranges of a signature file and the code a flipped bit inside each must give. */
function expectedCodeAt(signatureFile: Uint8Array, bit: number): string {
  const envelope = decodeEnvelope(signatureFile);
  const buffer = Buffer.from(signatureFile);
  const byte = bit >> 3;
  const within = (part: Uint8Array) => {
    const start = buffer.indexOf(Buffer.from(part));
    return start >= 0 && byte >= start && byte < start + part.length;
  };
  if (within(envelope.payload) || within(envelope.signatures[0]!.signature)) return 'BAD_SIGNATURE';
  if (within(envelope.signatures[0]!.keyId)) return 'UNTRUSTED_SIGNER';
  // An ASCII character with its top bit set is not UTF-8: the text itself is malformed.
  if (within(Buffer.from(envelope.payloadType))) return (bit & 7) === 7 ? 'MALFORMED_SIGNATURE_FILE' : 'UNSUPPORTED_FORMAT';
  return 'MALFORMED_SIGNATURE_FILE'; // heads and field names
}

type SignedModel = Awaited<ReturnType<typeof signedModel>>;

/** Checks `body` on `runs` freshly signed random models, each with a random `bit` number. */
async function forSignedModels(t: Parameters<typeof tempDir>[0], runs: number, body: (m: SignedModel, bit: number, which: number) => Promise<void>) {
  const root = tempDir(t);
  let run = 0;
  await fc.assert(
    fc.asyncProperty(modelArbitrary, fc.nat(), fc.nat(), async (spec, bit, which) => body(await signedModel(root, run++, spec), bit, which)),
    fcParams(runs),
  );
}

describe('property: any single-bit change fails verification with the right code', () => {
  test('a bit flipped in any model file: DIGEST_MISMATCH naming that file', (t) =>
    forSignedModels(t, 25, async (m, bit, which) => {
      const nonEmpty = m.files.filter((f) => f.content.length > 0);
      fc.pre(nonEmpty.length > 0);
      const target = nonEmpty[which % nonEmpty.length]!;
      writeFileSync(join(m.model, target.path), flipBit(target.content, bit % (target.content.length * 8)));
      assert.deepEqual((await m.verify()).map((e) => [e.code, e.path]), [['DIGEST_MISMATCH', target.path]]);
    }));

  test('a bit flipped anywhere in the signature file: the code of the region hit', (t) =>
    forSignedModels(t, 40, async (m, bitSeed) => {
      const bit = bitSeed % (m.signatureFile.length * 8);
      writeFileSync(m.signaturePath, flipBit(m.signatureFile, bit));
      assert.deepEqual(codes(await m.verify()), [expectedCodeAt(m.signatureFile, bit)], `bit ${bit} of ${m.signatureFile.length * 8}`);
    }));

  test('a bit flipped in the signed payload, the signature kept: BAD_SIGNATURE', (t) =>
    forSignedModels(t, 25, async (m, bitSeed) => {
      const envelope = decodeEnvelope(m.signatureFile);
      const payload = flipBit(envelope.payload, bitSeed % (envelope.payload.length * 8));
      writeFileSync(m.signaturePath, encodeEnvelope({ ...envelope, payload }));
      assert.deepEqual(codes(await m.verify()), ['BAD_SIGNATURE']);
    }));

  /** Field mutations of a manifest, and the code each gives when the publisher's key re-signs it. */
  const mutations: readonly (readonly [string, (m: Manifest, bit: number) => Manifest | undefined, readonly string[]])[] = [
    ['subject name', (m) => ({ ...m, subject: { ...m.subject, name: `${m.subject.name}-evil` } }), []],
    ['created (earlier)', (m, bit) => ({ ...m, created: m.created - 1 - (bit % 100_000) }), []],
    ['annotation', (m) => ({ ...m, annotations: { ...m.annotations, injected: 'yes' } }), []],
    [
      'a digest bit',
      (m, bit) => {
        const f = m.files[bit % m.files.length]!;
        const digests = f.digests.map((d, i) => (i === 0 ? flipBit(d, bit % (d.length * 8)) : d));
        return { ...m, files: m.files.map((g) => (g === f ? { ...f, digests } : g)) };
      },
      ['DIGEST_MISMATCH'],
    ],
    [
      'a file size',
      (m, bit) => {
        const f = m.files[bit % m.files.length]!;
        // One byte more, with the same shard count, so the manifest stays well-formed.
        const size = f.size + 1;
        return shardCount(size, SHARD) !== shardCount(f.size, SHARD) ? undefined : { ...m, files: m.files.map((g) => (g === f ? { ...f, size } : g)) };
      },
      ['SIZE_MISMATCH'],
    ],
    [
      'a path',
      (m, bit) => {
        const f = m.files[bit % m.files.length]!;
        const files: ManifestFile[] = [...m.files.filter((g) => g !== f), { ...f, path: `renamed-${f.path.replaceAll('/', '-')}` }];
        files.sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
        return new Set(files.map((g) => g.path.toLowerCase())).size === files.length ? { ...m, files } : undefined;
      },
      ['MISSING_FILE', 'UNSIGNED_FILE'],
    ],
  ];

  for (const [field, mutate, contentCodes] of mutations) {
    test(`${field} changed and re-signed: UNTRUSTED_SIGNER by another key; by the publisher's key, ${contentCodes.join(' + ') || 'it verifies (the field is not a claim about the bytes)'}`, (t) =>
      forSignedModels(t, 10, async (m, bit) => {
        const mutated = mutate(decodeManifest(decodeEnvelope(m.signatureFile).payload), bit);
        fc.pre(mutated !== undefined);
        writeFileSync(m.signaturePath, await createSignatureFile(mutated!, [secretKeySigner(untrusted)]));
        assert.deepEqual(codes(await m.verify()), ['UNTRUSTED_SIGNER']);
        writeFileSync(m.signaturePath, await createSignatureFile(mutated!, [secretKeySigner(trusted)]));
        assert.deepEqual(codes(await m.verify()).sort(), [...contentCodes].sort());
      }));
  }

  test('the signature file read back is the one written (sanity of the setup)', async (t) => {
    const m = await signedModel(tempDir(t), 0, { paths: ['a'], sizes: [1], salt: 0 });
    assert.equal(Buffer.compare(readFileSync(m.signaturePath), m.signatureFile), 0);
    assert.deepEqual(codes(await m.verify()), []);
  });
});
