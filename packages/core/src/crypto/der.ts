/**
 * The few DER pieces needed for PKCS#8 key files (RFC 5958, RFC 8018, RFC 7914, RFC 5084):
 * a strict TLV reader (definite, minimal lengths only) and writers for SEQUENCE, INTEGER,
 * OCTET STRING and OBJECT IDENTIFIER.
 */
export const TAG = { INTEGER: 0x02, OCTET_STRING: 0x04, OID: 0x06, SEQUENCE: 0x30 } as const;

export interface DerNode {
  readonly tag: number;
  readonly value: Uint8Array;
}

export class DerError extends Error {
  override readonly name = 'DerError';
}

/** Reads the TLV items of `bytes` in order; the items must fill `bytes` exactly. */
export function readDerItems(bytes: Uint8Array): DerNode[] {
  const items: DerNode[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const tag = bytes[offset++]!;
    if (offset >= bytes.length) throw new DerError('truncated length');
    let length = bytes[offset++]!;
    if (length & 0x80) {
      const count = length & 0x7f;
      if (count === 0 || count > 4) throw new DerError('unsupported length');
      if (offset + count > bytes.length) throw new DerError('truncated length');
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + bytes[offset++]!;
      if (length < 0x80 || (count > 1 && length < 1 << (8 * (count - 1)))) throw new DerError('non-minimal length');
    }
    if (offset + length > bytes.length) throw new DerError('truncated value');
    items.push({ tag, value: bytes.subarray(offset, offset + length) });
    offset += length;
  }
  return items;
}

/** Reads exactly the expected tags from a constructed value. */
export function expectDer(bytes: Uint8Array, tags: readonly number[], what: string): DerNode[] {
  const items = readDerItems(bytes);
  if (items.length < tags.length || items.length > tags.length) throw new DerError(`${what}: expected ${tags.length} items, got ${items.length}`);
  items.forEach((item, i) => {
    if (item.tag !== tags[i]) throw new DerError(`${what}: unexpected tag 0x${item.tag.toString(16)}`);
  });
  return items;
}

export function derInteger(value: Uint8Array): number {
  if (value.length === 0 || value.length > 6) throw new DerError('integer out of range');
  if (value[0]! & 0x80) throw new DerError('negative integer');
  if (value.length > 1 && value[0] === 0 && !(value[1]! & 0x80)) throw new DerError('non-minimal integer');
  let n = 0;
  for (const b of value) n = n * 256 + b;
  return n;
}

export function derOidToString(value: Uint8Array): string {
  const parts: number[] = [];
  let n = 0;
  for (const b of value) {
    n = n * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      parts.push(n);
      n = 0;
    }
  }
  const first = parts.shift() ?? 0;
  const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
  return [...head, ...parts].join('.');
}

function encodeLength(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

export function der(tag: number, ...contents: Uint8Array[]): Uint8Array {
  const total = contents.reduce((n, c) => n + c.length, 0);
  const length = encodeLength(total);
  const out = new Uint8Array(1 + length.length + total);
  out[0] = tag;
  out.set(length, 1);
  let offset = 1 + length.length;
  for (const c of contents) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

export function derUint(n: number): Uint8Array {
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  if (bytes.length === 0 || bytes[0]! & 0x80) bytes.unshift(0);
  return der(TAG.INTEGER, Uint8Array.from(bytes));
}

export function derOid(dotted: string): Uint8Array {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out: number[] = [a! * 40 + b!];
  for (const part of rest) {
    const chunk: number[] = [part & 0x7f];
    for (let v = Math.floor(part / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return der(TAG.OID, Uint8Array.from(out));
}

export const OID = {
  pbes2: '1.2.840.113549.1.5.13',
  scrypt: '1.3.6.1.4.1.11591.4.11',
  aes256Gcm: '2.16.840.1.101.3.4.1.46',
  ed25519: '1.3.101.112',
} as const;
