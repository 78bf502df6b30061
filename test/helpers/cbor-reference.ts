/**
 * An independent CBOR encoder for tests, written from RFC 8949 (not from cbor-x): by default it
 * writes the deterministic encoding of section 4.2.1, to cross-check ms-sign's encoder; with a
 * `choose` function it writes OTHER valid encodings of the same value (longer heads, indefinite
 * lengths, unsorted maps, floats for integers, the self-describe tag), which ms-sign must refuse.
 * Also a head walker, for fuzzing length fields.
 */
import type { CborValue } from '@ms-sign/core';

/** Picks one of `n` options; always 0 gives the deterministic encoding. */
export type Choose = (n: number) => number;

const canonical: Choose = () => 0;

function head(major: number, argument: number | bigint, choose: Choose): number[] {
  const n = BigInt(argument);
  const minimal = n < 24n ? 0 : n < 0x100n ? 1 : n < 0x10000n ? 2 : n < 0x100000000n ? 3 : 4;
  // Widths: 0 = in the initial byte, then 1, 2, 4, 8 bytes (additional information 24..27).
  const width = minimal + choose(5 - minimal);
  if (width === 0) return [(major << 5) | Number(n)];
  const size = 1 << (width - 1);
  const out = [(major << 5) | (23 + width)];
  for (let i = size - 1; i >= 0; i--) out.push(Number((n >> BigInt(8 * i)) & 0xffn));
  return out;
}

const utf8 = (text: string) => [...new TextEncoder().encode(text)];

function compareBytes(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Splits `items` into 1..3 chunks (for indefinite-length strings). */
function chunks<T>(items: readonly T[], choose: Choose): T[][] {
  if (items.length < 2) return [[...items]];
  const cut = 1 + choose(items.length - 1);
  return [items.slice(0, cut), items.slice(cut)];
}

export function encodeReference(value: CborValue, choose: Choose = canonical): Uint8Array {
  return Uint8Array.from(encode(value, choose));
}

function encode(value: CborValue, choose: Choose): number[] {
  // Tag 55799 (self-described CBOR) changes nothing about the value.
  if (choose(8) === 7) return [0xd9, 0xd9, 0xf7, ...encode(value, choose)];
  if (typeof value === 'number') {
    const form = choose(3);
    if (form === 1) {
      const out = new DataView(new ArrayBuffer(9));
      out.setUint8(0, 0xfb);
      out.setFloat64(1, value);
      return [...new Uint8Array(out.buffer)];
    }
    if (form === 2 && Math.fround(value) === value) {
      const out = new DataView(new ArrayBuffer(5));
      out.setUint8(0, 0xfa);
      out.setFloat32(1, value);
      return [...new Uint8Array(out.buffer)];
    }
    return head(0, value, choose);
  }
  if (typeof value === 'string') {
    if (choose(3) === 2) {
      const parts = chunks([...value], choose).map((cs) => utf8(cs.join('')));
      return [0x7f, ...parts.flatMap((p) => [...head(3, p.length, choose), ...p]), 0xff];
    }
    const bytes = utf8(value);
    return [...head(3, bytes.length, choose), ...bytes];
  }
  if (value instanceof Uint8Array) {
    if (choose(3) === 2) return [0x5f, ...chunks([...value], choose).flatMap((p) => [...head(2, p.length, choose), ...p]), 0xff];
    return [...head(2, value.length, choose), ...value];
  }
  if (Array.isArray(value)) {
    const items = (value as readonly CborValue[]).flatMap((item) => encode(item, choose));
    return choose(3) === 2 ? [0x9f, ...items, 0xff] : [...head(4, value.length, choose), ...items];
  }
  if (value instanceof Map) {
    const entries = [...value].map(([k, v]) => ({ key: encode(k, canonical), entry: [...encode(k, choose), ...encode(v, choose)] }));
    entries.sort((a, b) => compareBytes(a.key, b.key));
    // Another order than the deterministic one: rotate, or swap the first two.
    if (entries.length > 1) {
      const order = choose(3);
      if (order === 1) entries.push(entries.shift()!);
      else if (order === 2) [entries[0], entries[1]] = [entries[1]!, entries[0]!];
    }
    const body = entries.flatMap((e) => e.entry);
    return choose(3) === 2 ? [0xbf, ...body, 0xff] : [...head(5, entries.length, choose), ...body];
  }
  throw new TypeError(`value: unsupported ${typeof value}`);
}

/** A deterministic choice function from a seed (mulberry32), choosing a variant with probability `p`. */
export function seededChoose(seed: number, p = 0.3): Choose {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return (n) => (n <= 1 || next() >= p ? 0 : 1 + Math.floor(next() * (n - 1)));
}

/** A CBOR head found in a byte string: where it starts, how long it is, its major type and argument. */
export interface Head {
  readonly offset: number;
  readonly length: number;
  readonly major: number;
  readonly argument: number;
}

/**
 * The heads of a CBOR item, in order, as far as they can be read: for fuzzing, the bytes may be
 * anything (the walk stops at a head without a length or at the end).
 */
export function listHeads(bytes: Uint8Array): Head[] {
  const heads: Head[] = [];
  let offset = 0;
  const pending = [1];
  while (pending.length > 0 && offset < bytes.length) {
    if (pending[pending.length - 1] === 0) {
      pending.pop();
      continue;
    }
    pending[pending.length - 1]!--;
    const initial = bytes[offset]!;
    const major = initial >> 5;
    const info = initial & 0x1f;
    // Reserved (28-30) and indefinite (31) heads carry no length: stop there.
    if (info > 27) break;
    const size = info < 24 ? 0 : 1 << (info - 24);
    let argument = info < 24 ? info : 0;
    for (let i = 1; i <= size; i++) argument = argument * 256 + (bytes[offset + i] ?? 0);
    heads.push({ offset, length: 1 + size, major, argument });
    offset += 1 + size;
    if (major === 2 || major === 3) offset += argument;
    else if (major === 4) pending.push(argument);
    else if (major === 5) pending.push(argument * 2);
  }
  return heads;
}
