/**
 * format/cbor.ts: deterministic CBOR (RFC 8949 section 4.2.1) of the subset ms-sign stores.
 * Output is compared with an independent reference encoder written from the RFC; every
 * non-canonical or unsupported form is refused on decode.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { decodeCanonical, encodeCanonical, LIMITS, type CborValue } from '@ms-sign/core';
import { CborDecodeError, reencodesExactly } from '@ms-sign/core/internal';
import { unicodeText } from '../../../test/helpers/arbitraries.js';
import { encodeReference as referenceEncode } from '../../../test/helpers/cbor-reference.js';

const fromHex = (hex: string) => new Uint8Array(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));
const toHex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

const cborValue: fc.Arbitrary<CborValue> = fc.letrec<{ value: CborValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(fc.nat(30), fc.maxSafeNat(), fc.constantFrom(23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER)),
    unicodeText({ maxLength: 40 }),
    fc.uint8Array({ maxLength: 300 }),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.array(fc.tuple(unicodeText({ maxLength: 12 }), tie('value')), { maxLength: 6 }).map((entries) => new Map(entries)),
  ),
})).value;

describe('encodeCanonical', () => {
  test('writes exactly what an RFC 8949 4.2.1 reference encoder writes, and decodes back', () => {
    fc.assert(
      fc.property(cborValue, (value) => {
        const encoded = encodeCanonical(value);
        assert.equal(toHex(encoded), toHex(referenceEncode(value)));
        assert.deepEqual(decodeCanonical(encoded), value);
      }),
      { numRuns: 500 },
    );
  });

  test('a result is never overwritten by later encodes (cbor-x hands out views of a shared buffer)', () => {
    const results = Array.from({ length: 1000 }, (_, i) => {
      const bytes = encodeCanonical(new Map<string, CborValue>([['i', i], ['pad', 'x'.repeat(i % 3000)]]));
      return [bytes, toHex(bytes)] as const;
    });
    for (const [bytes, hex] of results) assert.equal(toHex(bytes), hex);
  });

  test('known encodings', () => {
    const cases: [CborValue, string][] = [
      [0, '00'],
      [23, '17'],
      [24, '1818'],
      [65536, '1a00010000'],
      [2 ** 32, '1b0000000100000000'],
      [Number.MAX_SAFE_INTEGER, '1b001fffffffffffff'],
      ['', '60'],
      ['ü', '62c3bc'],
      [new Uint8Array([1, 2]), '420102'],
      [[], '80'],
      [new Map(), 'a0'],
      // Shorter keys first, then bytewise; insertion order does not matter.
      [new Map<string, CborValue>([['bb', 1], ['a', 2], ['ab', 3]]), 'a3 6161 02 626162 03 626262 01'],
      // By UTF-8 bytes, not UTF-16 code units: U+FF61 (ef bd a1) sorts before U+1F600 (f0 9f 98 80).
      [new Map<string, CborValue>([['\u{1F600}', 1], ['\uFF61x', 2]]), 'a2 64efbda178 02 64f09f9880 01'],
    ];
    for (const [value, hex] of cases) assert.equal(toHex(encodeCanonical(value)), hex.replace(/\s+/g, ''), JSON.stringify(value));
  });

  test('refuses what the format never stores', () => {
    const hostile: [string, unknown, new (...args: never[]) => Error][] = [
      ['a negative integer', -1, RangeError],
      ['a fraction', 1.5, RangeError],
      ['an integer above 2^53 - 1', 2 ** 53, RangeError],
      ['NaN', Number.NaN, RangeError],
      ['a boolean', true, TypeError],
      ['null', null, TypeError],
      ['undefined', undefined, TypeError],
      ['a bigint', 1n, TypeError],
      ['a plain object', { a: 1 }, TypeError],
      ['a Uint16Array', new Uint16Array(2), TypeError],
      ['a map with a number key', new Map([[1, 2]]), TypeError],
      ['a nested unsupported value', [new Map([['a', false]])], TypeError],
    ];
    for (const [what, value, errorClass] of hostile) assert.throws(() => encodeCanonical(value as CborValue), errorClass, what);
  });
});

describe('the in-place re-encode check', () => {
  // decodeCanonical's last check compares the decoded value's canonical encoding with the input
  // without building it. Values decoded from the bytes match them unless the decoder erred, so
  // the comparison is tested here directly: one byte off anywhere must be seen.
  test('accepts exactly encodeCanonical(value), and sees every single-byte change', () => {
    const values: CborValue[] = [
      0, 23, 24, 255, 256, 65535, 65536, 2 ** 32, Number.MAX_SAFE_INTEGER,
      '', 'ascii text', 'ü and \u{1F600}', new Uint8Array([1, 2, 3]),
      [1, 'two', new Uint8Array([3])],
      new Map<string, CborValue>([['a', 1], ['bb', 'x'], ['\u00e9t\u00e9', [2, 3]]]),
    ];
    for (const value of values) {
      const bytes = encodeCanonical(value);
      assert.equal(reencodesExactly(value, bytes), true, JSON.stringify(value));
      for (let i = 0; i < bytes.length; i++) {
        const changed = bytes.slice();
        changed[i]! ^= 0x01;
        assert.equal(reencodesExactly(value, changed), false, `${JSON.stringify(value)}, byte ${i}`);
      }
      assert.equal(reencodesExactly(value, Uint8Array.of(...bytes, 0)), false, 'a trailing byte');
      assert.equal(reencodesExactly(value, bytes.subarray(0, bytes.length - 1)), false, 'one byte short');
    }
  });
});

describe('decodeCanonical refuses every non-canonical or unsupported form', () => {
  const refused: [string, string][] = [
    ['unsorted map keys', 'a2 626262 01 6161 02'],
    ['unsorted map keys of equal length', 'a2 6162 01 6161 02'],
    ['a longer key before a shorter one', 'a2 626161 01 6162 02'],
    ['duplicate map keys', 'a2 6161 01 6161 02'],
    ['a non-minimal integer (1 byte for 23)', '1817'],
    ['a non-minimal integer (2 bytes for 255)', '1900ff'],
    ['a non-minimal integer (4 bytes for 65535)', '1a0000ffff'],
    ['a non-minimal integer (8 bytes for 2^32 - 1)', '1b00000000ffffffff'],
    ['a non-minimal text length', '780161'],
    ['a non-minimal map key length', 'a1 780161 01'],
    ['a non-minimal length of a non-ASCII map key', 'a1 7802c3bc 01'],
    ['a UTF-8-encoded surrogate in a map key', 'a1 63eda080 01'],
    ['invalid UTF-8 in a map key', 'a1 62c328 01'],
    ['a non-minimal integer in an array', '82 1817 00'],
    ['a non-minimal 2-byte integer in a map', 'a1 6161 1900ff'],
    ['a non-minimal byte string length', '580161'],
    ['a non-minimal array length', '980100'],
    ['a non-minimal map length', 'b801 6161 01'],
    ['an indefinite-length array', '9f 01 ff'],
    ['an indefinite-length map', 'bf 6161 01 ff'],
    ['an indefinite-length text string', '7f 6161 ff'],
    ['an indefinite-length byte string', '5f 4161 ff'],
    ['a lone break', 'ff'],
    ['a tag (epoch time)', 'c1 01'],
    ['a tag around a byte string (bignum)', 'c2 4101'],
    ['a one-byte tag', 'd818 01'],
    ['a half float', 'f93c00'],
    ['a single float', 'fa3f800000'],
    ['a double float', 'fb3ff0000000000000'],
    ['false', 'f4'],
    ['true', 'f5'],
    ['null', 'f6'],
    ['undefined', 'f7'],
    ['a simple value', 'f820'],
    ['a negative integer', '20'],
    ['reserved additional information', '1c'],
    ['trailing bytes', '00 00'],
    ['a map followed by a byte', 'a0 00'],
    ['nothing at all', ''],
    ['a truncated integer', '19 01'],
    ['a truncated text string', '62 61'],
    ['a length larger than the data', '5bffffffffffffffff'],
    ['an array longer than the data', '9bffffffffffffffff'],
    ['a map missing a value', 'a1 6161'],
    ['an integer map key', 'a1 01 01'],
    ['a byte string map key', 'a1 4161 01'],
    ['an array map key', 'a1 80 01'],
    ['invalid UTF-8 text', '62 c328'],
    ['an overlong UTF-8 encoding', '62 c080'],
    ['a UTF-8-encoded surrogate', '63 eda080'],
    ['a text string cut inside a character', '61 c3'],
    ['an integer of 2^53', '1b0020000000000000'],
    ['the largest 64-bit integer', '1bffffffffffffffff'],
  ];
  for (const [what, hex] of refused) {
    test(what, () => {
      assert.throws(() => decodeCanonical(fromHex(hex)), CborDecodeError);
    });
  }

  test('nesting: the format needs 4 levels, and deeper than LIMITS.cborDepth is refused without recursing', () => {
    const nested = (depth: number) => fromHex(`${'81'.repeat(depth)}00`);
    assert.deepEqual(decodeCanonical(nested(4)), [[[[0]]]]);
    assert.doesNotThrow(() => decodeCanonical(nested(LIMITS.cborDepth - 1)));
    assert.throws(() => decodeCanonical(nested(LIMITS.cborDepth + 1)), CborDecodeError);
    // Far deeper than the JS stack allows a recursive decoder: still a CborDecodeError, not a RangeError.
    assert.throws(() => decodeCanonical(nested(200_000)), CborDecodeError);
    const maps = fromHex(`${'a1 6161'.repeat(LIMITS.cborDepth + 1)}00`);
    assert.throws(() => decodeCanonical(maps), CborDecodeError);
  });

  test('every strict prefix of a valid item is refused', () => {
    const value = new Map<string, CborValue>([['a', [1, 'two', new Uint8Array([3])]], ['bb', new Map([['c', 70000]])]]);
    const bytes = encodeCanonical(value);
    for (let n = 0; n < bytes.length; n++) assert.throws(() => decodeCanonical(bytes.subarray(0, n)), CborDecodeError, `${n} bytes`);
  });

  test('random bytes never decode to something that re-encodes differently, and never throw anything else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        let value: CborValue;
        try {
          value = decodeCanonical(bytes);
        } catch (error) {
          assert.ok(error instanceof CborDecodeError, String(error));
          return;
        }
        assert.equal(toHex(encodeCanonical(value)), toHex(bytes));
      }),
      { numRuns: 1000 },
    );
  });

  test('keys such as "__proto__" stay data', () => {
    const decoded = decodeCanonical(encodeCanonical(new Map<string, CborValue>([['__proto__', 1], ['constructor', 2]])));
    assert.ok(decoded instanceof Map);
    assert.deepEqual([...decoded], [['__proto__', 1], ['constructor', 2]]);
  });
});
