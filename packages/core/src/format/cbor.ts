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

/**
 * Decodes one deterministic CBOR item that spans all of `bytes`. Integers come back as numbers
 * (at most 2^53 - 1), maps as Map, byte strings as Uint8Array.
 */
export function decodeCanonical(bytes: Uint8Array): CborValue {
  prescan(bytes);
  let decoded: unknown;
  try {
    decoded = codec.decode(bytes);
  } catch (error) {
    throw new CborDecodeError(`not valid CBOR: ${(error as Error).message}`);
  }
  const value = normalize(decoded, 0);
  // Re-encoding catches what the pre-scan and cbor-x let through: duplicate keys (cbor-x keeps
  // the last), unsorted keys, non-minimal integer and length heads, trailing bytes.
  if (!bytesEqual(encodeCanonical(value), bytes)) {
    throw new CborDecodeError('not deterministic CBOR (RFC 8949 4.2.1): re-encoding differs');
  }
  return value;
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
  // A copy: cbor-x may hand out Buffer views of the input.
  if (value instanceof Uint8Array) return new Uint8Array(value);
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
function prescan(bytes: Uint8Array): void {
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
        const items = major === 5 ? argument * 2 : argument;
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
