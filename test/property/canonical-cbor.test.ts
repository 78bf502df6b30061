/**
 * Property: decoding is canonical (SPEC section 3). Every value of the supported subset has
 * exactly one accepted encoding: decode then encode gives back the same bytes, ms-sign's encoder
 * agrees with an independent RFC 8949 4.2.1 encoder, and every OTHER valid encoding of the same
 * value (longer heads, indefinite lengths, other map orders, floats for integers, a
 * self-describe tag), duplicate keys and trailing bytes are refused, by the CBOR decoder and by
 * the signature-file decoder.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { decodeCanonical, decodeEnvelope, encodeCanonical, MsSignError, type CborValue } from '@ms-sign/core';
import { CborDecodeError } from '@ms-sign/core/internal';
import { encodeReference, seededChoose } from '../helpers/cbor-reference.js';
import { manifestBytes, seedKey, signPayload } from '../helpers/crafted.js';
import { fcParams, unicodeStringArbitrary } from '../helpers/property.js';

const uintArbitrary = fc.oneof(
  fc.constantFrom(0, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER),
  fc.nat(1000),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
);
const textArbitrary = unicodeStringArbitrary(30);
const bytesArbitrary = fc.uint8Array({ maxLength: 40 });

/** Values of the supported subset, nested at most 5 deep (well within LIMITS.cborDepth). */
const { value: valueArbitrary } = fc.letrec<{ value: CborValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    uintArbitrary,
    textArbitrary,
    bytesArbitrary,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.uniqueArray(fc.tuple(textArbitrary, tie('value')), { maxLength: 5, selector: ([key]) => key }).map((entries) => new Map(entries)),
  ),
}));

const isDecodeError = (e: unknown) => e instanceof CborDecodeError;

describe('property: decoding is canonical', () => {
  test('decode(encode(v)) is v, encode(decode(b)) is b, and the encoding is RFC 8949 4.2.1 deterministic', () => {
    fc.assert(
      fc.property(valueArbitrary, (value) => {
        const bytes = encodeCanonical(value);
        assert.equal(Buffer.compare(bytes, encodeReference(value)), 0, 'differs from the reference encoder');
        const decoded = decodeCanonical(bytes);
        assert.deepEqual(decoded, value);
        assert.equal(Buffer.compare(encodeCanonical(decoded), bytes), 0);
      }),
      fcParams(400),
    );
  });

  test('any other encoding of the same value is refused', () => {
    fc.assert(
      fc.property(valueArbitrary, fc.integer(), (value, seed) => {
        const canonical = encodeCanonical(value);
        const other = encodeReference(value, seededChoose(seed));
        fc.pre(Buffer.compare(other, canonical) !== 0);
        assert.throws(() => decodeCanonical(other), isDecodeError);
      }),
      fcParams(400),
    );
  });

  test('a map with a repeated key, in any position, is refused', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(textArbitrary, valueArbitrary), { minLength: 1, maxLength: 5, selector: ([key]) => key }),
        fc.nat(),
        valueArbitrary,
        (entries, which, other) => {
          // Encode by hand: keys sorted as the deterministic order wants, one of them twice.
          const encoded = entries
            .map(([k, v]) => ({ key: encodeCanonical(k), value: encodeCanonical(v) }))
            .sort((a, b) => Buffer.compare(a.key, b.key));
          const twice = which % encoded.length;
          encoded.splice(twice + 1, 0, { key: encoded[twice]!.key, value: encodeCanonical(other) });
          const head = Uint8Array.of(0xa0 | encoded.length); // map of at most 6 entries
          const bytes = Buffer.concat([head, ...encoded.flatMap((e) => [e.key, e.value])]);
          assert.throws(() => decodeCanonical(bytes), isDecodeError);
        },
      ),
      fcParams(200),
    );
  });

  test('trailing bytes after the item are refused', () => {
    fc.assert(
      fc.property(valueArbitrary, fc.uint8Array({ minLength: 1, maxLength: 8 }), (value, tail) => {
        assert.throws(() => decodeCanonical(Buffer.concat([encodeCanonical(value), tail])), isDecodeError);
      }),
      fcParams(200),
    );
  });

  test('a signature file in any other encoding is MALFORMED_SIGNATURE_FILE, even with a valid signature', () => {
    const key = seedKey(3);
    const file = signPayload(manifestBytes(new Uint8Array(3), () => undefined), [key]);
    const value = decodeCanonical(file);
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const other = encodeReference(value, seededChoose(seed));
        fc.pre(Buffer.compare(other, file) !== 0);
        assert.throws(() => decodeEnvelope(other), (e: unknown) => e instanceof MsSignError && e.code === 'MALFORMED_SIGNATURE_FILE');
      }),
      fcParams(300),
    );
  });
});
