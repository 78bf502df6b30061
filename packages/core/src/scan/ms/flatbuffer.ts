/**
 * Reading FlatBuffers through a ByteSource (pure). Every read is bounds-checked by the source;
 * these helpers add FlatBuffers' addressing (vtables, uoffsets) and nothing else. The verifier
 * (verifier.ts) decides what is valid; the semantic checks read only buffers it has passed.
 * Tests use the same helpers to locate the bytes they patch.
 */
import { readI32, readU16, readU32, readU8 } from '../source.js';
import type { ByteSource } from '../types.js';

export class FlatBufferReader {
  constructor(readonly source: ByteSource) {}

  u8(pos: number): number {
    return readU8(this.source, pos);
  }
  u16(pos: number): number {
    return readU16(this.source, pos);
  }
  u32(pos: number): number {
    return readU32(this.source, pos);
  }
  i32(pos: number): number {
    return readI32(this.source, pos);
  }
  i64(pos: number): bigint {
    return (BigInt(this.i32(pos + 4)) << 32n) | BigInt(this.u32(pos));
  }

  /** Position of the root table (the uoffset at byte 0). */
  root(): number {
    return this.u32(0);
  }

  /** Position of the table's vtable: table - soffset. */
  vtable(table: number): number {
    return table - this.i32(table);
  }

  /** Absolute position of field `slot` of the table, or 0 when absent. */
  field(table: number, slot: number): number {
    const vt = this.vtable(table);
    const vtSize = this.u16(vt);
    const at = 4 + 2 * slot;
    if (at >= vtSize) return 0;
    const offset = this.u16(vt + at);
    return offset === 0 ? 0 : table + offset;
  }

  /** Follows the uoffset stored at `pos`. */
  deref(pos: number): number {
    return pos + this.u32(pos);
  }

  /** The object (table, vector, string) field `slot` points to, or 0 when absent. */
  ref(table: number, slot: number): number {
    const at = this.field(table, slot);
    return at === 0 ? 0 : this.deref(at);
  }

  scalarI32(table: number, slot: number, fallback: number): number {
    const at = this.field(table, slot);
    return at === 0 ? fallback : this.i32(at);
  }
  scalarU8(table: number, slot: number, fallback: number): number {
    const at = this.field(table, slot);
    return at === 0 ? fallback : this.u8(at);
  }
  scalarI64(table: number, slot: number, fallback: bigint): bigint {
    const at = this.field(table, slot);
    return at === 0 ? fallback : this.i64(at);
  }

  /** Length of the vector (or string) at `pos`. */
  length(pos: number): number {
    return this.u32(pos);
  }

  /** Position of element `i` of a vector whose elements are `size` bytes. */
  element(vector: number, i: number, size: number): number {
    return vector + 4 + i * size;
  }

  /** The table element `i` of a vector of tables points to. */
  tableAt(vector: number, i: number): number {
    return this.deref(this.element(vector, i, 4));
  }

  /** A string's text (invalid UTF-8 becomes U+FFFD), at most `maxBytes` of it. */
  string(pos: number, maxBytes = 1024): string {
    const length = this.u32(pos);
    return new TextDecoder('utf-8').decode(this.source.read(pos + 4, Math.min(length, maxBytes)));
  }
}
