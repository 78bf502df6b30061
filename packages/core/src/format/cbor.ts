import { Encoder } from 'cbor-x';
import { bytesEqual, compareUtf8, utf8ByteLength } from '../bytes.js';
import { LIMITS } from '../limits.js';

/**
 * Deterministic CBOR (RFC 8949 section 4.2.1) for the values ms-sign stores: unsigned integers,
 * text strings, byte strings, arrays and maps with text keys. Nothing else (no floats, negative
 * integers, tags, simple values or indefinite lengths) is ever written or accepted.
 *
 * cbor-x is not canonical by itself: `encode` keeps insertion order, writes integers of 2^32 and
 * more as floats, and `decode` accepts duplicate keys, non-minimal heads and indefinite lengths.
 * So encoding goes through `toCanonicalTree` (sorted keys, integer-preserving), and decoding is
 * checked three ways: a structural pre-scan (depth, allowed major types), cbor-x, then a
 * re-encode that must give back exactly the input bytes.
 */
export type CborValue = number | string | Uint8Array | readonly CborValue[] | CborMap;
/** A decoded CBOR map: text keys only, as the signature format uses. */
export type CborMap = ReadonlyMap<string, CborValue>;

// useRecords: false turns off cbor-x's non-standard record extension (tag 105 etc.);
// variableMapSize: true gives minimal map heads; mapsAsObjects: false decodes maps as Map, so
// keys such as "__proto__" stay data and non-text keys stay visible to the validators (and, with
// mapsAsObjects off, Maps are written as plain CBOR maps, without cbor-x's tag 259).
const codec = new Encoder({
  useRecords: false,
  mapsAsObjects: false,
  variableMapSize: true,
  tagUint8Array: false,
  pack: false,
  structuredClone: false,
});

const UINT32_LIMIT = 2 ** 32;

/** Encodes a value as deterministic CBOR (RFC 8949 section 4.2): the bytes ms-sign signs. */
export function encodeCanonical(value: CborValue): Uint8Array {
  const encoded = codec.encode(toCanonicalTree(value));
  return new Uint8Array(encoded.buffer, encoded.byteOffset, encoded.byteLength);
}

/** Thrown for any input that is not deterministic CBOR of the supported subset. */
export class CborDecodeError extends Error {
  override readonly name = 'CborDecodeError';
}

/** Counts the pre-scan enforces before cbor-x builds a single object. */
export interface CborBounds {
  /** Items in one array, or entries in one map. */
  readonly maxLength?: number;
  /** Items in the whole value, at every depth. */
  readonly maxItems?: number;
}

/**
 * Decodes one deterministic CBOR item that spans all of `bytes`. Integers come back as numbers
 * (at most 2^53 - 1), maps as Map, byte strings as Uint8Array. `bounds` are checked while the
 * heads are scanned, before anything is allocated: millions of one-byte items in a few MB would
 * otherwise become millions of objects.
 */
export function decodeCanonical(bytes: Uint8Array, bounds: CborBounds = {}): CborValue {
  prescan(bytes, bounds);
  let decoded: unknown;
  try {
    decoded = codec.decode(bytes);
  } catch (error) {
    throw new CborDecodeError(`not valid CBOR: ${(error as Error).message}`);
  }
  const value = normalize(decoded, 0);
  // Re-encoding catches what the pre-scan and cbor-x let through: duplicate keys (cbor-x keeps
  // the last), unsorted keys, non-minimal integer and length heads, trailing bytes.
  if (!reencodesExactly(value, bytes)) {
    throw new CborDecodeError('not deterministic CBOR (RFC 8949 4.2.1): re-encoding differs');
  }
  return value;
}

/** Whether `bytes` are exactly encodeCanonical(value), compared in place (reencodedLength). */
export function reencodesExactly(value: CborValue, bytes: Uint8Array): boolean {
  return reencodedLength(value, bytes, 0) === bytes.length;
}

/**
 * Re-encodes `value` canonically and compares it with `bytes` from `offset`, piece by piece:
 * returns the offset just past it, or -1 at the first difference. Equivalent to comparing
 * encodeCanonical(value) with the input, without building a second copy of it: a 64 MiB payload
 * byte string is compared where it lies (the re-encode of a whole signature file once doubled
 * its memory), and a leaf (an integer, a text string) is compared as its minimal head and UTF-8
 * bytes are written, with no encoder call per leaf (a manifest of 20,000 files has ~100,000;
 * `test/cbor.test.ts` checks each leaf kind against encodeCanonical). Depth is bounded by the pre-scan.
 */
function reencodedLength(value: CborValue, bytes: Uint8Array, offset: number): number {
  if (typeof value === 'number') return matchHead(bytes, offset, 0, value);
  if (typeof value === 'string') return matchText(bytes, offset, value);
  if (value instanceof Uint8Array) {
    const at = matchHead(bytes, offset, 2, value.length);
    return at >= 0 && at + value.length <= bytes.length && bytesEqual(bytes.subarray(at, at + value.length), value) ? at + value.length : -1;
  }
  if (Array.isArray(value)) {
    let at = matchHead(bytes, offset, 4, value.length);
    for (let i = 0; i < value.length && at >= 0; i++) at = reencodedLength(value[i] as CborValue, bytes, at);
    return at;
  }
  const map = value as CborMap;
  let at = matchHead(bytes, offset, 5, map.size);
  let previous: string | undefined;
  for (const [key, item] of map) {
    // The canonical encoding orders keys; a map decoded in another order re-encodes differently.
    if (at < 0 || (previous !== undefined && compareCanonicalKeys(previous, key) >= 0)) return -1;
    previous = key;
    at = matchText(bytes, at, key);
    if (at >= 0) at = reencodedLength(item, bytes, at);
  }
  return at;
}

/** The offset past the minimal head of (`major`, `n`) if `bytes` holds exactly it at `offset`, else -1. */
function matchHead(bytes: Uint8Array, offset: number, major: number, n: number): number {
  if (offset < 0) return -1;
  const type = major << 5;
  if (n < 24) return bytes[offset] === (type | n) ? offset + 1 : -1;
  // Small heads compared in place; 4- and 8-byte arguments are rare (lengths and sizes of 64 KiB or more).
  if (n < 0x100) return offset + 2 <= bytes.length && bytes[offset] === (type | 24) && bytes[offset + 1] === n ? offset + 2 : -1;
  if (n < 0x10000) {
    return offset + 3 <= bytes.length && bytes[offset] === (type | 25) && bytes[offset + 1] === n >> 8 && bytes[offset + 2] === (n & 0xff) ? offset + 3 : -1;
  }
  return matchAt(bytes, offset, head(major, n));
}

const utf8 = new TextEncoder();

/** The offset past text string `text` (minimal head, then its UTF-8) if `bytes` holds exactly it at `offset`, else -1. */
function matchText(bytes: Uint8Array, offset: number, text: string): number {
  const length = utf8ByteLength(text);
  const at = matchHead(bytes, offset, 3, length);
  if (at < 0 || at + length > bytes.length) return -1;
  if (length === text.length) {
    // Pure ASCII (one byte per UTF-16 unit): compare the code units themselves.
    for (let i = 0; i < length; i++) if (bytes[at + i] !== text.charCodeAt(i)) return -1;
    return at + length;
  }
  return matchAt(bytes, at, utf8.encode(text)) === at + length ? at + length : -1;
}

/** One entry of a map split by splitCanonicalMap: its key, and its value as the bytes it spans. */
export interface CanonicalMapEntry {
  readonly key: string;
  readonly value: Uint8Array;
}

/**
 * Decodes a deterministic CBOR map one level deep: its text keys, and each value as the exact
 * bytes it spans, to decode with decodeCanonical (or canonicalArrayItems). For a value too large
 * to hold as one tree of objects: a manifest of a million files. The whole is deterministic CBOR
 * when this returns and each value decodes: the structure is pre-scanned, the map head must be
 * minimal and the keys strictly in canonical order (so also unique).
 */
export function splitCanonicalMap(bytes: Uint8Array, maxEntries: number): CanonicalMapEntry[] {
  prescan(bytes, { maxLength: Infinity });
  const top = containerHead(bytes, 0, 5, maxEntries);
  const entries: CanonicalMapEntry[] = [];
  let offset = top.next;
  for (let i = 0; i < top.count; i++) {
    const keyEnd = itemEnd(bytes, offset);
    const key = decodeCanonical(bytes.subarray(offset, keyEnd));
    if (typeof key !== 'string') throw new CborDecodeError('map keys must be text strings');
    const previous = entries.at(-1)?.key;
    if (previous !== undefined && compareCanonicalKeys(previous, key) >= 0) {
      throw new CborDecodeError('not deterministic CBOR (RFC 8949 4.2.1): map keys out of order or repeated');
    }
    const valueEnd = itemEnd(bytes, keyEnd);
    entries.push({ key, value: bytes.subarray(keyEnd, valueEnd) });
    offset = valueEnd;
  }
  return entries;
}

/**
 * A deterministic CBOR array read one item at a time: its length (at most `maxLength`, checked
 * from the head before anything else), and its items as the bytes each spans, found again on each
 * call of `items`, so nothing holds all of them. Decode each with decodeCanonical.
 */
export function canonicalArrayItems(bytes: Uint8Array, maxLength: number): { readonly length: number; items(): Generator<Uint8Array> } {
  prescan(bytes, { maxLength: Infinity });
  const top = containerHead(bytes, 0, 4, maxLength);
  return {
    length: top.count,
    *items() {
      let offset = top.next;
      for (let i = 0; i < top.count; i++) {
        const end = itemEnd(bytes, offset);
        yield bytes.subarray(offset, end);
        offset = end;
      }
    },
  };
}

/** Reads the minimal head of an array (4) or map (5) at `offset`: its item count and where they start. */
function containerHead(bytes: Uint8Array, offset: number, major: 4 | 5, maxCount: number): { count: number; next: number } {
  const { type, argument, next } = readHead(bytes, offset);
  if (type !== major) throw new CborDecodeError(`expected ${major === 4 ? 'an array' : 'a map'}`);
  if (argument > maxCount) throw new CborDecodeError(`${major === 4 ? 'an array' : 'a map'} of ${argument} items: more than ${maxCount}`);
  if (matchAt(bytes, offset, head(major, argument)) !== next) throw new CborDecodeError('not deterministic CBOR (RFC 8949 4.2.1): a length is not minimal');
  return { count: argument, next };
}

/** The major type and argument of the (pre-scanned) head at `offset`, and the offset after it. */
function readHead(bytes: Uint8Array, offset: number): { type: number; argument: number; next: number } {
  const initial = bytes[offset]!;
  const info = initial & 0x1f;
  if (info < 24) return { type: initial >> 5, argument: info, next: offset + 1 };
  const size = 1 << (info - 24);
  let argument = 0;
  for (let i = 1; i <= size; i++) argument = argument * 256 + bytes[offset + i]!;
  return { type: initial >> 5, argument, next: offset + 1 + size };
}

/** The offset just past the (pre-scanned) item at `offset`; iterative, so depth costs no stack. */
function itemEnd(bytes: Uint8Array, offset: number): number {
  let left = 1;
  while (left > 0) {
    left--;
    const { type, argument, next } = readHead(bytes, offset);
    offset = next;
    if (type === 2 || type === 3) offset += argument;
    else if (type === 4) left += argument;
    else if (type === 5) left += 2 * argument;
  }
  return offset;
}

/** The offset past `expected` if `bytes` holds it at `offset`, else -1. */
function matchAt(bytes: Uint8Array, offset: number, expected: Uint8Array): number {
  if (offset < 0 || offset + expected.length > bytes.length) return -1;
  for (let i = 0; i < expected.length; i++) if (bytes[offset + i] !== expected[i]) return -1;
  return offset + expected.length;
}

/** The minimal head (RFC 8949 4.2.1) of major type `major` with argument `n` (n < 2^53). */
function head(major: number, n: number): Uint8Array {
  const type = major << 5;
  if (n < 24) return Uint8Array.of(type | n);
  if (n < 0x100) return Uint8Array.of(type | 24, n);
  if (n < 0x10000) return Uint8Array.of(type | 25, n >> 8, n & 0xff);
  const out = new Uint8Array(n < UINT32_LIMIT ? 5 : 9);
  const view = new DataView(out.buffer);
  if (n < UINT32_LIMIT) {
    out[0] = type | 26;
    view.setUint32(1, n);
  } else {
    out[0] = type | 27;
    view.setBigUint64(1, BigInt(n));
  }
  return out;
}

function toCanonicalTree(value: CborValue): unknown {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`value: expected an unsigned safe integer, got ${value}`);
    // cbor-x writes numbers of 2^32 and more as float64; a bigint becomes a 64-bit integer head.
    return value >= UINT32_LIMIT ? BigInt(value) : value;
  }
  if (typeof value === 'string' || value instanceof Uint8Array) return value;
  // Containers are rebuilt only when something in them must change: re-encoding a decoded
  // manifest of 20,000 files (already in canonical order) then allocates almost nothing.
  if (Array.isArray(value)) {
    let changed = false;
    const items = value.map((item: CborValue) => {
      const out = toCanonicalTree(item);
      changed ||= out !== item;
      return out;
    });
    return changed ? items : value;
  }
  if (value instanceof Map) {
    let sorted = true;
    let previous: string | undefined;
    for (const key of value.keys()) {
      // Untyped callers could pass other keys: cbor-x would write them, and decodeCanonical refuses them.
      if (typeof key !== 'string') throw new TypeError(`value: map keys must be text strings, got ${typeof key}`);
      if (previous !== undefined && compareCanonicalKeys(previous, key) > 0) sorted = false;
      previous = key;
    }
    const keys = sorted ? [...value.keys()] : [...value.keys()].sort(compareCanonicalKeys);
    let changed = !sorted;
    const entries = keys.map((key): [string, unknown] => {
      const item = value.get(key)!;
      const out = toCanonicalTree(item);
      changed ||= out !== item;
      return [key, out];
    });
    return changed ? new Map(entries) : value;
  }
  throw new TypeError(`value: unsupported type ${typeof value}`);
}

/**
 * RFC 8949 4.2.1 orders map keys by their encoded bytes. For text keys the head encodes the UTF-8
 * length, so shorter keys come first and equal lengths compare by bytes.
 */
function compareCanonicalKeys(a: string, b: string): number {
  const la = utf8ByteLength(a);
  const lb = utf8ByteLength(b);
  return la !== lb ? la - lb : compareUtf8(a, b);
}

/** Checks and converts cbor-x's output in place (it is a fresh tree nobody else holds). */
function normalize(value: unknown, depth: number): CborValue {
  if (depth > LIMITS.cborDepth) throw new CborDecodeError('nested too deeply');
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new CborDecodeError('only unsigned integers are allowed');
    return value;
  }
  if (typeof value === 'bigint') {
    if (value < 0n || value > BigInt(Number.MAX_SAFE_INTEGER)) throw new CborDecodeError('integer out of range');
    return Number(value);
  }
  if (typeof value === 'string') {
    if (!value.isWellFormed()) throw new CborDecodeError('text string is not valid UTF-8');
    return value;
  }
  // A plain Uint8Array view of the input, not a copy: a 64 MiB payload is not held twice.
  if (value instanceof Uint8Array) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = normalize(value[i], depth + 1);
    return value as CborValue[];
  }
  if (value instanceof Map) {
    for (const [key, item] of value) {
      if (typeof key !== 'string') throw new CborDecodeError('map keys must be text strings');
      value.set(key, normalize(item, depth + 1));
    }
    return value as Map<string, CborValue>;
  }
  throw new CborDecodeError(`unsupported CBOR item (${value === null ? 'null' : typeof value})`);
}

/**
 * Walks the CBOR heads without allocating: refuses tags, floats, simple values, negative
 * integers, indefinite lengths and nesting deeper than LIMITS.cborDepth before cbor-x (which
 * recurses on the JS stack) ever sees the bytes; checks declared lengths against what is left.
 */
function prescan(bytes: Uint8Array, bounds: CborBounds): void {
  const maxLength = bounds.maxLength ?? Infinity;
  let itemsLeft = bounds.maxItems ?? Infinity;
  let offset = 0;
  // Items still expected at each open nesting level.
  const pending: number[] = [1];
  while (pending.length > 0) {
    if (pending[pending.length - 1] === 0) {
      pending.pop();
      continue;
    }
    pending[pending.length - 1]!--;
    if (offset >= bytes.length) throw new CborDecodeError('truncated');
    const initial = bytes[offset++]!;
    const major = initial >> 5;
    const info = initial & 0x1f;
    let argument: number;
    if (info < 24) argument = info;
    else if (info <= 27) {
      const size = 1 << (info - 24);
      if (offset + size > bytes.length) throw new CborDecodeError('truncated');
      argument = 0;
      for (let i = 0; i < size; i++) argument = argument * 256 + bytes[offset + i]!;
      offset += size;
    } else throw new CborDecodeError(info === 31 ? 'indefinite lengths are not allowed' : 'reserved additional information');
    switch (major) {
      case 0:
        break;
      case 2:
      case 3:
        if (argument > bytes.length - offset) throw new CborDecodeError('declared length exceeds the data');
        offset += argument;
        break;
      case 4:
      case 5: {
        if (argument > maxLength) throw new CborDecodeError(`an ${major === 4 ? 'array' : 'map'} of ${argument} items: more than ${maxLength}`);
        const items = major === 5 ? argument * 2 : argument;
        itemsLeft -= items;
        if (itemsLeft < 0) throw new CborDecodeError(`more than ${bounds.maxItems} items in all`);
        // Every item takes at least one byte.
        if (items > bytes.length - offset) throw new CborDecodeError('declared length exceeds the data');
        if (pending.length >= LIMITS.cborDepth) throw new CborDecodeError('nested too deeply');
        pending.push(items);
        break;
      }
      default:
        throw new CborDecodeError(
          major === 1 ? 'negative integers are not allowed' : major === 6 ? 'tags are not allowed' : 'floats and simple values are not allowed',
        );
    }
  }
  if (offset !== bytes.length) throw new CborDecodeError('trailing bytes after the CBOR item');
}
