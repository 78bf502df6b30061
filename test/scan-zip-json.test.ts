/**
 * The scanner's own zip reader, raw-DEFLATE inflater and strict JSON parser. The inflater and
 * CRC-32 are checked against node:zlib (an independent implementation); the zip reader against
 * archives CPython's zipfile wrote (the corpus) and hand-made anomalies; the JSON parser against
 * JSON.parse on valid input and against the rules JSON.parse does not enforce.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { constants, crc32 as zlibCrc32, deflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { BufferSource, type FindingInput } from '@ms-sign/core';
import { crc32, inflateRaw, InflateError, JsonError, JsonNumber, memberSource, parseStrictJson, readZip, type JsonValue } from '@ms-sign/core/internal';
import { repoRoot } from './helpers/index.js';

const corpus = (name: string) => new Uint8Array(readFileSync(join(repoRoot, 'test', 'fixtures', 'scan', name)));

describe('inflateRaw and crc32 agree with node:zlib', () => {
  test('random data at every level and strategy inflates to itself', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 70_000 }), fc.array(fc.constantFrom(0, 1, 2, 97), { maxLength: 100_000 }).map((a) => Uint8Array.from(a))),
        fc.integer({ min: 0, max: 9 }),
        fc.constantFrom(constants.Z_DEFAULT_STRATEGY, constants.Z_FIXED, constants.Z_HUFFMAN_ONLY, constants.Z_RLE),
        (data, level, strategy) => {
          const packed = deflateRawSync(data, { level, strategy });
          const { output, consumed } = inflateRaw(new Uint8Array(packed), data.length, data.length);
          assert.deepEqual(output, data);
          assert.equal(consumed, packed.length);
          assert.equal(crc32(data), zlibCrc32(data));
        },
      ),
      { numRuns: 60 },
    );
  });

  test('output beyond the cap stops with too-large, after at most the cap in work', () => {
    const packed = new Uint8Array(deflateRawSync(new Uint8Array(64 * 1024 * 1024)));
    const start = performance.now();
    assert.throws(() => inflateRaw(packed, 1024 * 1024), (e: unknown) => e instanceof InflateError && e.reason === 'too-large');
    assert.ok(performance.now() - start < 2000);
  });

  test('truncated and invalid streams are errors, never garbage', () => {
    const packed = new Uint8Array(deflateRawSync(new TextEncoder().encode('hello hello hello hello')));
    assert.throws(() => inflateRaw(packed.subarray(0, packed.length - 2), 1000), InflateError);
    assert.throws(() => inflateRaw(Uint8Array.of(0x07), 1000), InflateError, 'block type 3');
    assert.throws(() => inflateRaw(Uint8Array.of(0x01, 0x05, 0x00, 0xfa, 0xff), 1000), InflateError, 'stored length complement');
  });
});

describe('readZip', () => {
  const read = (bytes: Uint8Array) => {
    const findings: FindingInput[] = [];
    const archive = readZip(new BufferSource(bytes), (f) => findings.push(f));
    return { archive, findings, codes: findings.map((f) => f.code) };
  };

  test('a zipfile-written archive reads clean, with data located as miniz locates it', () => {
    const bytes = corpus('torch/benign_deflated.pt');
    const { archive, codes } = read(bytes);
    assert.deepEqual(codes, []);
    assert.deepEqual(archive!.entries.map((e) => e.name), ['archive/data.pkl', 'archive/byteorder', 'archive/data/0', 'archive/data/1', 'archive/version', 'archive/.data/serialization_id']);
    const found: FindingInput[] = [];
    const member = memberSource(new BufferSource(bytes), archive!.entries[4]!, (f) => found.push(f))!;
    assert.equal(new TextDecoder().decode(member.read(0, member.size)), '3\n');
    assert.deepEqual(found, []);
  });

  test('ZIP64 records (NumPy writes them) are read', () => {
    const { archive, codes } = read(corpus('numpy/benign.npz'));
    assert.deepEqual(codes, []);
    assert.deepEqual(archive!.entries.map((e) => e.name), ['a.npy', 'b.npy']);
  });

  test('no end record, a truncated directory, or garbage: ZIP_MALFORMED, never a throw', () => {
    assert.deepEqual(read(new TextEncoder().encode('PK\x03\x04 not really')).codes, ['ZIP_MALFORMED']);
    const good = corpus('torch/benign_state_dict.pt');
    for (let cut = 1; cut < 200; cut += 7) {
      const r = read(good.subarray(0, good.length - cut));
      assert.ok(r.codes.length > 0, `cut ${cut}`);
    }
  });

  test('every member finding names its member', () => {
    for (const name of ['zip/crc_mismatch.pt', 'zip/flag_0x1_local.pt', 'zip/name_mismatch.pt', 'zip/duplicate_data_pkl.pt', 'zip/path_traversal.zip']) {
      const bytes = corpus(name);
      const { archive, findings } = read(bytes);
      for (const e of archive!.entries) memberSource(new BufferSource(bytes), e, (f) => findings.push(f));
      assert.ok(findings.length > 0 && findings.every((f) => f.member !== undefined), name);
    }
  });
});

describe('parseStrictJson', () => {
  const parse = (text: string, options = {}) => parseStrictJson(new TextEncoder().encode(text), options);
  const plain = (v: JsonValue): unknown => (v instanceof Map ? Object.fromEntries([...v].map(([k, x]) => [k, plain(x)])) : Array.isArray(v) ? v.map(plain) : v instanceof JsonNumber ? Number(v.text) : v);

  test('agrees with JSON.parse on valid JSON', () => {
    fc.assert(fc.property(fc.json({ maxDepth: 6 }), (text) => assert.deepEqual(plain(parse(text)), JSON.parse(text))), { numRuns: 300 });
  });

  test('numbers stay text; integers convert exactly beyond 2^53', () => {
    const v = parse('[18446744073709551615, 1.5e3]') as JsonValue[];
    assert.equal((v[0] as JsonNumber).asBigInt(), 2n ** 64n - 1n);
    assert.equal((v[1] as JsonNumber).asBigInt(), undefined);
  });

  const bad: [string, string][] = [
    ['{"a":1,"a":2}', 'duplicate key'], ['{"a":{"b":1,"b":1}}', 'nested duplicate'], ['[1,]', 'trailing comma'], ['{"a":1,}', 'trailing comma'],
    ['{a:1}', 'bare key'], ["{'a':1}", 'single quotes'], ['[01]', 'leading zero'], ['[NaN]', 'NaN'], ['"\u0001"', 'control character'],
    ['"\\x41"', 'bad escape'], ['{} {}', 'two values'], ['', 'empty'], ['[1', 'unterminated'],
  ];
  for (const [text, why] of bad) test(`refuses ${why}: ${JSON.stringify(text)}`, () => assert.throws(() => parse(text), JsonError));

  test('invalid UTF-8 is refused; __proto__ is just a key', () => {
    assert.throws(() => parseStrictJson(Uint8Array.of(0x22, 0xff, 0x22)), JsonError);
    const v = parse('{"__proto__": {"polluted": true}}') as Map<string, JsonValue>;
    assert.ok(v.get('__proto__') instanceof Map);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('depth is limited without using the call stack (a million brackets)', () => {
    assert.throws(() => parse('['.repeat(1_000_000)), (e: unknown) => e instanceof JsonError && e.limit);
    assert.doesNotThrow(() => parse('['.repeat(256) + ']'.repeat(256)));
    assert.throws(() => parse('['.repeat(257) + ']'.repeat(257)), JsonError);
  });

  test('trailing spaces are allowed only when asked (safetensors padding)', () => {
    assert.throws(() => parse('{}  \n', { trailingSpaces: true }), JsonError);
    assert.doesNotThrow(() => parse('{}   ', { trailingSpaces: true }));
  });
});
