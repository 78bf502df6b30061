/**
 * fast-check arbitraries shared by the property tests. fast-check's own `unit: 'binary'` strings
 * cost about two seconds of set-up in each test file; this one draws code points directly.
 */
import fc from 'fast-check';

const codePoint = fc.oneof(
  fc.integer({ min: 0x20, max: 0x7e }), // ASCII, most of what paths and names hold
  fc.integer({ min: 0x00, max: 0xd7ff }),
  fc.integer({ min: 0xe000, max: 0xffff }),
  fc.integer({ min: 0x10000, max: 0x10ffff }), // four UTF-8 bytes, a surrogate pair in UTF-16
);

/** Text of any Unicode scalar values (no lone surrogates), up to `maxLength` code points. */
export function unicodeText(constraints: { minLength?: number; maxLength: number }): fc.Arbitrary<string> {
  return fc.array(codePoint, constraints).map((points) => String.fromCodePoint(...points));
}
