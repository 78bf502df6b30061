/**
 * Structure-aware mutations of valid inputs, as fast-check arbitraries: bit flips, truncation,
 * deletions, insertions, duplicated ranges, splices of two inputs, interesting bytes, and edits of
 * CBOR length fields (a head's argument set to 0, off by one, 2^31, 2^32 - 1, 2^53, 2^64 - 1, in
 * any width). Shrinks towards fewer and smaller mutations.
 */
import fc from 'fast-check';
import { listHeads } from '../helpers/cbor-reference.js';

export type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly bit: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'delete'; readonly at: number; readonly length: number }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: 'duplicate'; readonly at: number; readonly length: number }
  | { readonly kind: 'splice'; readonly other: number; readonly at: number; readonly from: number }
  | { readonly kind: 'set'; readonly at: number; readonly value: number }
  | { readonly kind: 'length'; readonly head: number; readonly value: bigint | 'plus1' | 'minus1'; readonly width: number };

// Initial bytes that change a CBOR item's type or length form.
const INTERESTING_BYTES = [0x00, 0x17, 0x18, 0x1b, 0x1f, 0x3f, 0x40, 0x5b, 0x5f, 0x60, 0x7b, 0x7f, 0x80, 0x9b, 0x9f, 0xa0, 0xbb, 0xbf, 0xc6, 0xd9, 0xf4, 0xf6, 0xf7, 0xfb, 0xff];
const INTERESTING_LENGTHS = [0n, 1n, 23n, 24n, 255n, 65535n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 53n, 2n ** 64n - 1n];

export const mutationArbitrary: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 32 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('splice' as const), other: fc.nat(), at: fc.nat(), from: fc.nat() }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.constantFrom(...INTERESTING_BYTES) }),
  fc.record({
    kind: fc.constant('length' as const),
    head: fc.nat(),
    value: fc.oneof(fc.constantFrom(...INTERESTING_LENGTHS), fc.constantFrom('plus1' as const, 'minus1' as const)),
    width: fc.constantFrom(0, 1, 2, 4, 8),
  }),
);

function writeHead(major: number, argument: bigint, width: number): number[] {
  // The narrowest width that holds the argument, if the one asked for is too narrow.
  const fits = (w: number) => (w === 0 ? argument < 24n : argument < 1n << BigInt(8 * w));
  const w = [width, 0, 1, 2, 4, 8].find(fits) ?? 8;
  if (w === 0) return [(major << 5) | Number(argument)];
  const out = [(major << 5) | (24 + Math.log2(w))];
  for (let i = w - 1; i >= 0; i--) out.push(Number((argument >> BigInt(8 * i)) & 0xffn));
  return out;
}

export function applyMutation(input: Uint8Array, m: Mutation, others: readonly Uint8Array[]): Uint8Array {
  const bytes = [...input];
  const at = (n: number, extra = 0) => (bytes.length + extra === 0 ? 0 : n % (bytes.length + extra));
  switch (m.kind) {
    case 'flip':
      if (bytes.length > 0) bytes[at(m.at)]! ^= 1 << m.bit;
      break;
    case 'truncate':
      bytes.length = at(m.at);
      break;
    case 'delete':
      bytes.splice(at(m.at), m.length);
      break;
    case 'insert':
      bytes.splice(at(m.at, 1), 0, ...m.bytes);
      break;
    case 'duplicate': {
      const start = at(m.at);
      bytes.splice(start, 0, ...bytes.slice(start, start + m.length));
      break;
    }
    case 'splice': {
      const other = others[m.other % others.length]!;
      return Uint8Array.from([...bytes.slice(0, at(m.at)), ...other.subarray(other.length === 0 ? 0 : m.from % other.length)]);
    }
    case 'set':
      if (bytes.length > 0) bytes[at(m.at)] = m.value;
      break;
    case 'length': {
      const heads = listHeads(input);
      if (heads.length === 0) break;
      const head = heads[m.head % heads.length]!;
      const current = BigInt(head.argument);
      const value = m.value === 'plus1' ? current + 1n : m.value === 'minus1' ? (current === 0n ? 0n : current - 1n) : m.value;
      bytes.splice(head.offset, head.length, ...writeHead(head.major, value, m.width));
      break;
    }
  }
  return Uint8Array.from(bytes);
}

/** `seeds[i]` with 1 to `max` mutations applied in turn. */
export function mutatedArbitrary(seeds: readonly Uint8Array[], max = 4): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(fc.nat(seeds.length - 1), fc.array(mutationArbitrary, { minLength: 1, maxLength: max }))
    .map(([seed, mutations]) => mutations.reduce((bytes, m) => applyMutation(bytes, m, seeds), seeds[seed]!));
}
