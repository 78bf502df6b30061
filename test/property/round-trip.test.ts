/**
 * Property: whatever model ms-sign accepts to sign, it verifies, and the signature file says
 * exactly what is on disk. Random single files and directories, random names within the path
 * rules (non-ASCII included), random sizes around the shard boundaries (shards of 64 KiB) and 0.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  decodeEnvelope,
  decodeManifest,
  encodeEnvelope,
  encodeManifest,
  generateSecretKey,
  shardCount,
  type HashAlgorithm,
  secretKeySigner,
} from '@ms-sign/core';
import { signModel, verifyModel } from '@ms-sign/core/node';
import { trustKeys } from '../helpers/crafted.js';
import { tempDir } from '../helpers/index.js';
import { contentOf, fcParams, nameArbitrary, SHARD, sizeArbitrary, treeArbitrary } from '../helpers/property.js';

const key = generateSecretKey();
const trust = trustKeys(key.publicKey);

const modelArbitrary = fc.record({
  kind: fc.constantFrom('file' as const, 'directory' as const),
  name: nameArbitrary,
  paths: treeArbitrary(6),
  sizes: fc.array(sizeArbitrary, { minLength: 6, maxLength: 6 }),
  salt: fc.nat(1000),
  hashAlgorithm: fc.constantFrom<HashAlgorithm>('sha256', 'sha512'),
});

describe('property: sign then verify round-trips', () => {
  test('random files and directories sign, verify, and the manifest describes them exactly', async (t) => {
    const root = tempDir(t);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(modelArbitrary, async ({ kind, name, paths, sizes, salt, hashAlgorithm }) => {
        const dir = join(root, String(run++));
        const model = join(dir, name);
        const files = new Map<string, Uint8Array>();
        if (kind === 'file') files.set(name, contentOf(sizes[0]!, salt));
        else paths.forEach((p, i) => files.set(p, contentOf(sizes[i]!, salt + i)));
        for (const [path, content] of files) {
          const at = kind === 'file' ? model : join(model, path);
          mkdirSync(dirname(at), { recursive: true });
          writeFileSync(at, content);
        }
        const signaturePath = join(dir, 'model.sig');
        const signed = await signModel(model, { signers: [secretKeySigner(key)], signaturePath, shardSize: SHARD, hashAlgorithm, threads: 1 });
        writeFileSync(signaturePath, signed.signatureFile);

        const report = await verifyModel(model, { trust, signaturePath, threads: 1 });
        assert.deepEqual(report.errors, []);
        assert.equal(report.ok, true);
        assert.equal(report.files.count, files.size);
        assert.equal(report.files.bytes, [...files.values()].reduce((n, c) => n + c.length, 0));

        // The manifest lists exactly these files, sorted by bytes, with their digests: the plain
        // digest (as sha256sum prints it) for one shard, else one per shard.
        const envelope = decodeEnvelope(signed.signatureFile);
        const manifest = decodeManifest(envelope.payload);
        assert.deepEqual(manifest.files.map((f) => f.path), [...files.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
        for (const f of manifest.files) {
          const content = files.get(f.path)!;
          assert.equal(f.size, content.length);
          assert.equal(f.digests.length, shardCount(content.length, SHARD));
          f.digests.forEach((digest, i) => {
            const part = f.digests.length === 1 ? content : content.subarray(i * SHARD, (i + 1) * SHARD);
            assert.equal(Buffer.from(digest).toString('hex'), createHash(hashAlgorithm).update(part).digest('hex'), `${f.path} shard ${i}`);
          });
        }
        // Decoding is canonical: re-encoding gives back the very bytes that were signed.
        assert.equal(Buffer.compare(encodeManifest(manifest), envelope.payload), 0);
        assert.equal(Buffer.compare(encodeEnvelope(envelope), signed.signatureFile), 0);
      }),
      fcParams(30),
    );
  });
});
