/**
 * format/manifest.ts and format/envelope.ts: what a signature file may hold. A manifest is decoded
 * only after its signature checked, yet it is validated field by field, since a verifier that
 * reads more than the signer meant (an unknown field, a short digest, a path out of order) could
 * be made to check less than it says.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  checkManifest,
  decodeEnvelope,
  decodeManifest,
  encodeCanonical,
  encodeEnvelope,
  encodeManifest,
  LIMITS,
  MANIFEST_PAYLOAD_TYPE,
  MsSignError,
  readManifestListing,
  toHex,
  type CborValue,
  type Manifest,
} from '@ms-sign/core';
import { thrownCode } from '../../../test/helpers/codes.js';

const SHARD = 64 * 1024;
const digest = (fill: number, length = 32) => new Uint8Array(length).fill(fill);

/** A valid directory manifest body as raw CBOR maps, for tests to break one field at a time. */
function body(): Map<string, CborValue> {
  return new Map<string, CborValue>([
    ['version', 1],
    ['kind', 'directory'],
    ['subject', new Map<string, CborValue>([['name', 'acme/lenet'], ['version', '1.2.0']])],
    ['hash', 'sha256'],
    ['shardSize', SHARD],
    [
      'files',
      [
        new Map<string, CborValue>([['path', 'a.ms'], ['size', 10], ['digest', digest(1)]]),
        new Map<string, CborValue>([['path', 'big/weights.bin'], ['size', SHARD * 2 + 1], ['shards', [digest(2), digest(3), digest(4)]]]),
      ],
    ],
    ['created', 1_793_491_200],
    ['expires', 4_102_444_800],
    ['ignore', ['*.tmp']],
    ['annotations', new Map<string, CborValue>([['ci.run', '42']])],
  ]);
}

function file(b: Map<string, CborValue>, index: number): Map<string, CborValue> {
  return (b.get('files') as Map<string, CborValue>[])[index]!;
}

/** readManifestListing, then every file listed. */
const listAll = (bytes: Uint8Array) => [...readManifestListing(bytes).files()];

const decodeCode = (b: Map<string, CborValue>) => thrownCode(() => decodeManifest(encodeCanonical(b)));

/** One test per case: break a fresh valid value as the case says, then expect its code. */
function breakingCases(cases: readonly Case[], fresh: () => Map<string, CborValue>, codeOf: (value: Map<string, CborValue>) => string | undefined): void {
  for (const [what, breakIt, code] of cases) {
    test(`${what}: ${code}`, () => {
      const value = fresh();
      breakIt(value);
      assert.equal(codeOf(value), code);
    });
  }
}

type Case = readonly [string, (value: Map<string, CborValue>) => void, string];

describe('decodeManifest', () => {
  test('a valid manifest decodes, and encodes back to the same bytes', () => {
    const bytes = encodeCanonical(body());
    const manifest = decodeManifest(bytes);
    assert.deepEqual(manifest, {
      version: 1,
      kind: 'directory',
      subject: { name: 'acme/lenet', version: '1.2.0' },
      hashAlgorithm: 'sha256',
      shardSize: SHARD,
      files: [
        { path: 'a.ms', size: 10, digests: [digest(1)] },
        { path: 'big/weights.bin', size: SHARD * 2 + 1, digests: [digest(2), digest(3), digest(4)] },
      ],
      created: 1_793_491_200,
      expires: 4_102_444_800,
      ignore: ['*.tmp'],
      annotations: Object.assign(Object.create(null) as Record<string, string>, { 'ci.run': '42' }),
    } satisfies Manifest);
    // Compared as hex: cbor-x leaves a cached `dataView` property on arrays it decoded.
    assert.equal(toHex(encodeManifest(manifest)), toHex(bytes));
  });

  test('a file of exactly one shard has one digest; one byte more makes two shards', () => {
    const b = body();
    file(b, 0).set('size', SHARD);
    assert.equal(decodeCode(b), undefined);
    file(b, 0).set('size', SHARD + 1);
    assert.equal(decodeCode(b), 'MALFORMED_SIGNATURE_FILE', '"digest" where "shards" is needed');
    file(b, 0).delete('digest');
    file(b, 0).set('shards', [digest(1), digest(1)]);
    assert.equal(decodeCode(b), undefined);
  });

  test('an empty file is one shard with the digest of nothing', () => {
    const b = body();
    file(b, 0).set('size', 0);
    assert.equal(decodeCode(b), undefined);
  });

  const cases: Case[] = [
    // Digests and shards.
    ['a digest one byte short', (b) => file(b, 0).set('digest', digest(1, 31)), 'MALFORMED_SIGNATURE_FILE'],
    ['a digest one byte long', (b) => file(b, 0).set('digest', digest(1, 33)), 'MALFORMED_SIGNATURE_FILE'],
    ['a SHA-512-length digest in a SHA-256 manifest', (b) => file(b, 0).set('digest', digest(1, 64)), 'MALFORMED_SIGNATURE_FILE'],
    ['a SHA-256-length digest in a SHA-512 manifest', (b) => b.set('hash', 'sha512'), 'MALFORMED_SIGNATURE_FILE'],
    ['a shard digest of the wrong length', (b) => file(b, 1).set('shards', [digest(2), digest(3, 31), digest(4)]), 'MALFORMED_SIGNATURE_FILE'],
    ['one shard digest too few', (b) => file(b, 1).set('shards', [digest(2), digest(3)]), 'MALFORMED_SIGNATURE_FILE'],
    ['one shard digest too many', (b) => file(b, 1).set('shards', [digest(2), digest(3), digest(4), digest(5)]), 'MALFORMED_SIGNATURE_FILE'],
    ['"shards" for a file of one shard', (b) => file(b, 0).set('shards', [digest(1)]).delete('digest'), 'MALFORMED_SIGNATURE_FILE'],
    ['both "digest" and "shards"', (b) => file(b, 1).set('digest', digest(2)), 'MALFORMED_SIGNATURE_FILE'],
    ['no digest at all', (b) => file(b, 0).delete('digest'), 'MALFORMED_SIGNATURE_FILE'],
    ['a digest as text', (b) => file(b, 0).set('digest', '01'.repeat(32)), 'MALFORMED_SIGNATURE_FILE'],
    ['an unknown hash algorithm', (b) => b.set('hash', 'md5'), 'MALFORMED_SIGNATURE_FILE'],
    ['a hash name from the prototype chain', (b) => b.set('hash', 'constructor'), 'MALFORMED_SIGNATURE_FILE'],
    ['a shard size that is not a power of two', (b) => b.set('shardSize', SHARD + 1), 'MALFORMED_SIGNATURE_FILE'],
    ['a shard size below 64 KiB', (b) => b.set('shardSize', SHARD / 2), 'MALFORMED_SIGNATURE_FILE'],
    ['a shard size above 4 GiB', (b) => b.set('shardSize', 2 ** 33), 'MALFORMED_SIGNATURE_FILE'],
    // Unknown and missing fields.
    ['an unknown top-level field', (b) => b.set('extra', 1), 'MALFORMED_SIGNATURE_FILE'],
    ['an unknown subject field', (b) => (b.get('subject') as Map<string, CborValue>).set('publisher', 'x'), 'MALFORMED_SIGNATURE_FILE'],
    ['an unknown file field', (b) => file(b, 0).set('mode', 0o755), 'MALFORMED_SIGNATURE_FILE'],
    ['no "created"', (b) => b.delete('created'), 'MALFORMED_SIGNATURE_FILE'],
    ['no "files"', (b) => b.delete('files'), 'MALFORMED_SIGNATURE_FILE'],
    ['no subject name', (b) => (b.get('subject') as Map<string, CborValue>).delete('name'), 'MALFORMED_SIGNATURE_FILE'],
    ['no annotations map', (b) => b.delete('annotations'), 'MALFORMED_SIGNATURE_FILE'],
    ['no ignore list', (b) => b.delete('ignore'), 'MALFORMED_SIGNATURE_FILE'],
    // Version and kind.
    ['format version 2', (b) => b.set('version', 2), 'UNSUPPORTED_FORMAT'],
    ['format version 0', (b) => b.set('version', 0), 'UNSUPPORTED_FORMAT'],
    ['an unknown kind', (b) => b.set('kind', 'archive'), 'MALFORMED_SIGNATURE_FILE'],
    ['a single-file manifest of two files', (b) => b.set('kind', 'file').set('ignore', []), 'MALFORMED_SIGNATURE_FILE'],
    ['no files', (b) => b.set('files', []), 'MALFORMED_SIGNATURE_FILE'],
    // Paths: unsafe, out of order, duplicated, colliding.
    ['unsorted paths', (b) => b.set('files', [file(b, 1), file(b, 0)]), 'UNSAFE_PATH'],
    ['the same path twice', (b) => file(b, 1).set('path', 'a.ms').set('size', 10).set('digest', digest(1)).delete('shards'), 'UNSAFE_PATH'],
    ['paths equal ignoring case', (b) => file(b, 1).set('path', 'A.ms'), 'UNSAFE_PATH'],
    ['a path with ".."', (b) => file(b, 1).set('path', 'big/../../etc/passwd'), 'UNSAFE_PATH'],
    ['an absolute path', (b) => file(b, 0).set('path', '/a.ms'), 'UNSAFE_PATH'],
    ['a path with a backslash', (b) => file(b, 0).set('path', 'a\\.ms'), 'UNSAFE_PATH'],
    ['a path with a control character', (b) => file(b, 0).set('path', 'a\u001b.ms'), 'UNSAFE_PATH'],
    ['a single-file model path with "/"', (b) => b.set('kind', 'file').set('ignore', []).set('files', [file(b, 1)]), 'UNSAFE_PATH'],
    // Times, names, ignore patterns and annotations.
    ['an expiry not after creation', (b) => b.set('expires', 1_793_491_200), 'MALFORMED_SIGNATURE_FILE'],
    ['an empty subject name', (b) => (b.get('subject') as Map<string, CborValue>).set('name', ''), 'MALFORMED_SIGNATURE_FILE'],
    ['a subject name with a control character', (b) => (b.get('subject') as Map<string, CborValue>).set('name', 'a\nb'), 'MALFORMED_SIGNATURE_FILE'],
    ['a subject name over LIMITS.nameBytes', (b) => (b.get('subject') as Map<string, CborValue>).set('name', 'n'.repeat(LIMITS.nameBytes + 1)), 'MALFORMED_SIGNATURE_FILE'],
    ['an empty version', (b) => (b.get('subject') as Map<string, CborValue>).set('version', ''), 'MALFORMED_SIGNATURE_FILE'],
    ['an invalid ignore pattern', (b) => b.set('ignore', ['a**']), 'MALFORMED_SIGNATURE_FILE'],
    ['ignore patterns in a single-file manifest', (b) => b.set('kind', 'file').set('files', [file(b, 0)]), 'MALFORMED_SIGNATURE_FILE'],
    ['an annotation key with a space', (b) => b.set('annotations', new Map([['a b', 'x']])), 'MALFORMED_SIGNATURE_FILE'],
    ['an annotation value with a control character', (b) => b.set('annotations', new Map([['a', 'x\u0007']])), 'MALFORMED_SIGNATURE_FILE'],
    ['an annotation value that is not text', (b) => b.set('annotations', new Map<string, CborValue>([['a', 1]])), 'MALFORMED_SIGNATURE_FILE'],
    // Types.
    ['a size as text', (b) => file(b, 0).set('size', '10'), 'MALFORMED_SIGNATURE_FILE'],
    ['"created" as text', (b) => b.set('created', '2026-11-01'), 'MALFORMED_SIGNATURE_FILE'],
    ['"files" as a map', (b) => b.set('files', new Map()), 'MALFORMED_SIGNATURE_FILE'],
    ['"subject" as text', (b) => b.set('subject', 'acme/lenet'), 'MALFORMED_SIGNATURE_FILE'],
  ];
  breakingCases(cases, body, decodeCode);

  // inspect's bounded-memory reader: every case above gets the same code from it.
  describe('readManifestListing refuses the same', () => breakingCases(cases, body, (b) => thrownCode(() => listAll(encodeCanonical(b)))));

  test('readManifestListing: the same manifest as decodeManifest, file by file, and the same verdict on non-canonical bytes', () => {
    const valid = encodeCanonical(body());
    const { header, fileCount, totalBytes, files } = readManifestListing(valid);
    const { files: decodedFiles, ...decodedHeader } = decodeManifest(valid);
    assert.deepEqual({ ...header, files: [...files()] }, { ...decodedHeader, files: decodedFiles });
    assert.deepEqual([fileCount, totalBytes], [2, 10 + SHARD * 2 + 1]);
    const nonMinimal = Uint8Array.of(0xb9, 0x00, valid[0]! & 0x1f, ...valid.subarray(1));
    for (const bytes of [nonMinimal, Uint8Array.of(...valid, 0), valid.subarray(0, valid.length - 1), Uint8Array.of(0xa0)]) {
      assert.equal(thrownCode(() => listAll(bytes)), thrownCode(() => decodeManifest(bytes)));
      assert.equal(thrownCode(() => listAll(bytes)), 'MALFORMED_SIGNATURE_FILE');
    }
  });

  test('readManifestListing: paths equal ignoring case are found (and named) without a map of every path', () => {
    const b = body();
    const files = b.get('files') as Map<string, CborValue>[];
    const extra = ['0', 'A.ms'].map((path) => new Map<string, CborValue>([['path', path], ['size', 1], ['digest', digest(5)]]));
    b.set('files', [...extra, ...files]);
    const bytes = encodeCanonical(b);
    assert.throws(() => listAll(bytes), (e: unknown) => e instanceof MsSignError && e.code === 'UNSAFE_PATH' && /"A\.ms" and "a\.ms" collide ignoring case/.test(e.message));
    assert.equal(thrownCode(() => decodeManifest(bytes)), 'UNSAFE_PATH');
  });

  test('bytes that are not deterministic CBOR, or not a map: MALFORMED_SIGNATURE_FILE', () => {
    const valid = encodeCanonical(body());
    for (const bytes of [new Uint8Array(0), Uint8Array.of(0xa0), Uint8Array.of(0x80), Uint8Array.of(...valid, 0), valid.subarray(0, valid.length - 1)]) {
      assert.equal(thrownCode(() => decodeManifest(bytes)), 'MALFORMED_SIGNATURE_FILE');
    }
  });
});

describe('checkManifest', () => {
  const valid = () => decodeManifest(encodeCanonical(body()));

  test('a decoded valid manifest has no problem', () => {
    assert.deepEqual(checkManifest(valid()), []);
  });

  test('collects every problem, in field order, each with its code', () => {
    const m = valid();
    const broken: Manifest = {
      ...m,
      subject: { name: '' },
      files: [m.files[1]!, { ...m.files[0]!, path: '../x' }],
      annotations: { 'bad key': 'v', ok: 'a\u0007' },
      ignore: Array.from({ length: LIMITS.ignorePatterns + 1 }, (_, i) => `p${i}`),
    };
    const found = checkManifest(broken).map((p) => p.code);
    assert.deepEqual(found, ['MALFORMED_SIGNATURE_FILE', 'UNSAFE_PATH', 'UNSAFE_PATH', 'LIMIT_EXCEEDED', 'MALFORMED_SIGNATURE_FILE', 'MALFORMED_SIGNATURE_FILE']);
  });

  test('a value a decoder cannot produce is still refused: a lone surrogate, a negative size', () => {
    const m = valid();
    assert.deepEqual(checkManifest({ ...m, annotations: { a: '\ud800' } }).map((p) => p.code), ['MALFORMED_SIGNATURE_FILE']);
    assert.deepEqual(checkManifest({ ...m, files: [{ ...m.files[0]!, size: -1 }, m.files[1]!] }).map((p) => p.code), ['MALFORMED_SIGNATURE_FILE']);
  });
});

describe('decodeEnvelope', () => {
  const signature = () => new Map<string, CborValue>([['keyid', digest(7, 16)], ['sig', digest(8, 64)]]);
  const envelope = () =>
    new Map<string, CborValue>([
      ['payload', encodeCanonical(body())],
      ['payloadType', MANIFEST_PAYLOAD_TYPE],
      ['signatures', [signature()]],
    ]);
  const envelopeCode = (e: Map<string, CborValue>) => thrownCode(() => decodeEnvelope(encodeCanonical(e)));

  test('a valid envelope decodes and re-encodes to the same bytes', () => {
    const bytes = encodeCanonical(envelope());
    const decoded = decodeEnvelope(bytes);
    assert.equal(decoded.payloadType, MANIFEST_PAYLOAD_TYPE);
    assert.deepEqual(decoded.signatures, [{ keyId: digest(7, 16), signature: digest(8, 64) }]);
    assert.equal(toHex(encodeEnvelope(decoded)), toHex(bytes));
  });

  test(`up to LIMITS.signatures (${LIMITS.signatures}) signatures`, () => {
    const e = envelope();
    e.set('signatures', Array.from({ length: LIMITS.signatures }, signature));
    assert.equal(envelopeCode(e), undefined);
    e.set('signatures', Array.from({ length: LIMITS.signatures + 1 }, signature));
    assert.equal(envelopeCode(e), 'MALFORMED_SIGNATURE_FILE');
  });

  const cases: Case[] = [
    ['another payload type', (e) => e.set('payloadType', 'application/vnd.ms-sign.manifest.v2+cbor'), 'UNSUPPORTED_FORMAT'],
    ['a DSSE in-toto payload type', (e) => e.set('payloadType', 'application/vnd.in-toto+json'), 'UNSUPPORTED_FORMAT'],
    ['no signatures', (e) => e.set('signatures', []), 'MALFORMED_SIGNATURE_FILE'],
    ['a key id of 15 bytes', (e) => e.set('signatures', [signature().set('keyid', digest(7, 15))]), 'MALFORMED_SIGNATURE_FILE'],
    ['a key id of 32 bytes (a whole key)', (e) => e.set('signatures', [signature().set('keyid', digest(7, 32))]), 'MALFORMED_SIGNATURE_FILE'],
    ['a signature of 63 bytes', (e) => e.set('signatures', [signature().set('sig', digest(8, 63))]), 'MALFORMED_SIGNATURE_FILE'],
    ['a signature of 65 bytes', (e) => e.set('signatures', [signature().set('sig', digest(8, 65))]), 'MALFORMED_SIGNATURE_FILE'],
    ['a public key inside a signature (never trusted, never accepted)', (e) => e.set('signatures', [signature().set('publicKey', digest(9))]), 'MALFORMED_SIGNATURE_FILE'],
    ['an unknown top-level field', (e) => e.set('cert', digest(1)), 'MALFORMED_SIGNATURE_FILE'],
    ['no payload', (e) => e.delete('payload'), 'MALFORMED_SIGNATURE_FILE'],
    ['the payload as text', (e) => e.set('payload', 'manifest'), 'MALFORMED_SIGNATURE_FILE'],
    ['no payload type', (e) => e.delete('payloadType'), 'MALFORMED_SIGNATURE_FILE'],
    ['signatures as a map', (e) => e.set('signatures', signature()), 'MALFORMED_SIGNATURE_FILE'],
  ];
  breakingCases(cases, envelope, envelopeCode);

  test('the payload is not looked into: garbage payload bytes still decode as an envelope', () => {
    const e = envelope();
    e.set('payload', Uint8Array.of(0xff, 0x00));
    assert.equal(envelopeCode(e), undefined);
  });

  test('an empty file or a non-map: MALFORMED_SIGNATURE_FILE', () => {
    for (const bytes of [new Uint8Array(0), Uint8Array.of(0x80), Uint8Array.of(0x00), new TextEncoder().encode('{"payload":""}')]) {
      assert.equal(thrownCode(() => decodeEnvelope(bytes)), 'MALFORMED_SIGNATURE_FILE');
    }
  });
});
