/**
 * Bounded random access to bytes for the scanners (pure: no node: imports). `BufferSource` serves
 * bytes already in memory (verified bytes, zip members); the file-backed source lives in
 * node/file-source.ts. The little-endian readers below work on any ByteSource and check bounds
 * before reading, so a hostile length or offset becomes ScanAbort('SCAN_TRUNCATED'), never a
 * silent zero or a huge allocation.
 */
import { ScanAbort, type ByteSource } from './types.js';

/** A ByteSource over a Uint8Array. `read` returns views into it (no copy). */
export class BufferSource implements ByteSource {
  readonly size: number;
  /** For the scalar readers below: no subarray per value. */
  readonly view: DataView;
  constructor(private readonly bytes: Uint8Array) {
    this.size = bytes.length;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  read(position: number, length: number): Uint8Array {
    checkRange(this.size, position, length);
    return this.bytes.subarray(position, position + length);
  }
}

/** Throws ScanAbort('SCAN_TRUNCATED') unless [position, position + length) lies inside `size`. */
export function checkRange(size: number, position: number, length: number): void {
  if (!Number.isSafeInteger(position) || !Number.isSafeInteger(length) || position < 0 || length < 0 || position > size - length) {
    throw new ScanAbort('SCAN_TRUNCATED', `the file ends inside a structure (${length} bytes wanted at offset ${position}, file is ${size} bytes)`, Number.isSafeInteger(position) ? position : undefined);
  }
}

/** True when [position, position + length) lies inside the source. */
export function inRange(source: ByteSource, position: number, length: number): boolean {
  return Number.isSafeInteger(position) && Number.isSafeInteger(length) && position >= 0 && length >= 0 && position <= source.size - length;
}

export function readU8(source: ByteSource, position: number): number {
  if (source instanceof BufferSource) {
    checkRange(source.size, position, 1);
    return source.view.getUint8(position);
  }
  return source.read(position, 1)[0]!;
}

export function readU16(source: ByteSource, position: number): number {
  if (source instanceof BufferSource) {
    checkRange(source.size, position, 2);
    return source.view.getUint16(position, true);
  }
  const b = source.read(position, 2);
  return b[0]! | (b[1]! << 8);
}

export function readU32(source: ByteSource, position: number): number {
  if (source instanceof BufferSource) {
    checkRange(source.size, position, 4);
    return source.view.getUint32(position, true);
  }
  const b = source.read(position, 4);
  return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
}

export function readI32(source: ByteSource, position: number): number {
  return readU32(source, position) | 0;
}

/** u64 as a bigint (lengths and offsets beyond 2^53 must be compared, not rounded). */
export function readU64(source: ByteSource, position: number): bigint {
  const lo = BigInt(readU32(source, position));
  const hi = BigInt(readU32(source, position + 4));
  return (hi << 32n) | lo;
}

export function readI64(source: ByteSource, position: number): bigint {
  return BigInt.asIntN(64, readU64(source, position));
}

/** Up to `length` bytes at `position`, fewer at the end of the source (for magic sniffing). */
export function readPrefix(source: ByteSource, position: number, length: number): Uint8Array {
  if (position >= source.size) return new Uint8Array(0);
  return source.read(position, Math.min(length, source.size - position));
}

/** Bytes equal to an ASCII string. */
export function bytesAre(bytes: Uint8Array, offset: number, ascii: string): boolean {
  if (offset + ascii.length > bytes.length) return false;
  for (let i = 0; i < ascii.length; i++) if (bytes[offset + i] !== ascii.charCodeAt(i)) return false;
  return true;
}
