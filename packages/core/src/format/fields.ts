import { utf8ByteLength } from '../bytes.js';
import type { CborMap, CborValue } from './cbor.js';

/** Typed field readers shared by the envelope and manifest decoders: each failure names the field. */
export interface FieldReader {
  readonly fail: (message: string) => never;
}

export function expectMap(read: FieldReader, value: CborValue | undefined, field: string, allowed: readonly string[]): CborMap {
  if (!(value instanceof Map)) return read.fail(`${field}: expected a map`);
  for (const key of value.keys()) {
    // Unknown fields are refused: a v1 verifier must not silently ignore something a signer meant.
    if (!allowed.includes(key)) read.fail(`${field}: unknown field ${JSON.stringify(key)}`);
  }
  return value;
}

export function expectText(read: FieldReader, value: CborValue | undefined, field: string, maxBytes: number): string {
  if (typeof value !== 'string') return read.fail(`${field}: expected a text string`);
  if (utf8ByteLength(value) > maxBytes) read.fail(`${field}: longer than ${maxBytes} bytes`);
  return value;
}

export function expectBytes(read: FieldReader, value: CborValue | undefined, field: string, exactLength?: number): Uint8Array {
  if (!(value instanceof Uint8Array)) return read.fail(`${field}: expected a byte string`);
  if (exactLength !== undefined && value.length !== exactLength) {
    read.fail(`${field}: expected ${exactLength} bytes, got ${value.length}`);
  }
  return value;
}

export function expectUint(read: FieldReader, value: CborValue | undefined, field: string): number {
  if (typeof value !== 'number') return read.fail(`${field}: expected an unsigned integer`);
  return value;
}

export function expectArray(read: FieldReader, value: CborValue | undefined, field: string, maxItems: number): readonly CborValue[] {
  if (!Array.isArray(value)) return read.fail(`${field}: expected an array`);
  if (value.length > maxItems) read.fail(`${field}: more than ${maxItems} items`);
  return value as readonly CborValue[];
}
