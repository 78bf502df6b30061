/**
 * Layer 1 of the .ms scanner: the FlatBuffers Verifier exactly as MindSpore Lite runs it
 * (flatbuffers 2.0.0, `Verifier(buf, size, max_depth = INT32_MAX, max_tables = INT32_MAX)`, then
 * `VerifyMetaGraphBuffer`), driven by the schema table in schema.ts. A failure here means "Lite
 * refuses this file"; the code says which rule broke.
 *
 * The 2.0.0 rules reproduced (docs/scan.md has the full list):
 * - every range check is `len < size && pos <= size - len` (note the strict `<`);
 * - uoffset slots, soffsets, vector and string lengths must be 4-aligned; vtables 2-aligned with
 *   an even size; scalars are NOT alignment-checked in 2.0.0;
 * - an offset field's uoffset must be != 0, < 2^31, and point at a byte inside the buffer;
 *   elements of a vector of tables or strings are not checked that way (a 0 element points at
 *   itself: a table whose vtable is its own, empty, slot);
 * - a union value of an unknown type is accepted, and so is a type without a value.
 *
 * Linear time: Lite switches off max_tables, so a table referenced from many places is verified
 * once per path, and a file of a few hundred KB can cost it tens of seconds (the "DAG bomb").
 * Here each (table, type) and each vector of offsets is verified once and memoised, and the
 * number of table visits Lite would make is computed alongside by dynamic programming (saturating),
 * so the work is O(file size) whatever the sharing. Recursion depth is bounded by the schema
 * (MetaGraph > CNode > Primitive > op > Vec2D > Vec), which is not recursive: never by the file.
 */
import { ScanAbort, type ByteSource } from '../types.js';
import type { ScanCode } from '../codes.js';
import { FlatBufferReader } from './flatbuffer.js';
import { MS_ROOT_TABLE, MS_TABLES, MS_UNION_MEMBERS, type MsTableName } from './schema.js';

/** flatbuffers' FLATBUFFERS_MAX_BUFFER_SIZE. */
export const FB_MAX_BUFFER = 0x7fffffff;
const SATURATED = Number.MAX_SAFE_INTEGER;

export interface FbVerification {
  /** Table visits Lite's Verifier would make (saturating at 2^53 - 1). */
  readonly liteVisits: number;
  /** Distinct (table, type) pairs verified. */
  readonly tables: number;
  /** References to a table or vector of tables already verified (sharing; Lite's converter never shares). */
  readonly sharedReferences: number;
  /** Union type values beyond the schema's members (Lite accepts them; kernel lookup fails). */
  readonly unknownPrimitives: readonly number[];
}

type Kind = string;

interface CompiledTable {
  readonly name: string;
  readonly index: number;
  readonly slots: readonly Kind[];
}

const TABLE_NAMES = Object.keys(MS_TABLES) as MsTableName[];
const TABLES = new Map<string, CompiledTable>(TABLE_NAMES.map((name, index) => [name, { name, index, slots: MS_TABLES[name].map(([, kind]) => kind) }]));
const UNION_TABLES: readonly (CompiledTable | undefined)[] = MS_UNION_MEMBERS.map((m, i) => (i === 0 ? undefined : TABLES.get(m)));

function fail(code: ScanCode, message: string, offset: number): never {
  throw new ScanAbort(code, message, offset);
}

/**
 * Verifies the whole buffer, with the MSL2 identifier unless `withIdentifier` is false (the v0
 * layout has none). Throws ScanAbort with an MS_FB_* or MS_IDENTIFIER code at the first failure,
 * in the order Lite's generated code checks fields.
 */
export function verifyMsBuffer(source: ByteSource, withIdentifier: boolean): FbVerification {
  return new Verifier(source).run(withIdentifier);
}

class Verifier {
  private readonly fb: FlatBufferReader;
  private readonly size: number;
  private readonly tableMemo = new Map<number, number>();
  private readonly vectorMemo = new Map<number, number>();
  private shared = 0;
  private readonly unknownPrimitives = new Set<number>();

  constructor(source: ByteSource) {
    this.fb = new FlatBufferReader(source);
    this.size = source.size;
  }

  run(withIdentifier: boolean): FbVerification {
    if (withIdentifier) {
      const id = this.size >= 8 ? this.fb.source.read(4, 4) : new Uint8Array(0);
      if (!(id.length === 4 && id[0] === 0x4d && id[1] === 0x53 && id[2] === 0x4c && id[3] === 0x32)) fail('MS_IDENTIFIER', 'the file identifier (bytes 4..7) is not MSL2', 4);
    }
    const root = this.offsetAt(0, 'the root offset');
    const visits = this.table(root, TABLES.get(MS_ROOT_TABLE)!);
    return { liteVisits: visits, tables: this.tableMemo.size, sharedReferences: this.shared, unknownPrimitives: [...this.unknownPrimitives].slice(0, 16) };
  }

  /** flatbuffers' Verify(elem, elem_len). */
  private inBounds(pos: number, length: number): boolean {
    return length < this.size && pos >= 0 && pos <= this.size - length;
  }

  /** Verifier::VerifyOffset(start): the uoffset stored at `slot`, checked; returns its target. */
  private offsetAt(slot: number, what: string): number {
    if (slot % 4 !== 0) fail('MS_FB_MISALIGNED', `${what} at ${slot} is not 4-aligned`, slot);
    if (!this.inBounds(slot, 4)) fail('MS_FB_OUT_OF_BOUNDS', `${what} at ${slot} is outside the file`, slot);
    const o = this.fb.u32(slot);
    if (o === 0) fail('MS_FB_BAD_OFFSET', `${what} at ${slot} is 0`, slot);
    if (o >= 0x80000000) fail('MS_FB_BAD_OFFSET', `${what} at ${slot} is 2^31 or more`, slot);
    if (!this.inBounds(slot + o, 1)) fail('MS_FB_OUT_OF_BOUNDS', `${what} at ${slot} points outside the file`, slot);
    return slot + o;
  }

  /** VerifyTableStart, the fields in declaration order, EndTable. Returns Lite's visit count. */
  private table(pos: number, type: CompiledTable): number {
    const key = pos * 256 + type.index;
    const memo = this.tableMemo.get(key);
    if (memo !== undefined) {
      this.shared++;
      return memo;
    }
    if (pos % 4 !== 0) fail('MS_FB_MISALIGNED', `${type.name} table at ${pos} is not 4-aligned`, pos);
    if (!this.inBounds(pos, 4)) fail('MS_FB_OUT_OF_BOUNDS', `${type.name} table at ${pos} is outside the file`, pos);
    // Lite subtracts in unsigned size_t arithmetic: a vtable "before byte 0" wraps to a huge offset.
    const vt = pos - this.fb.i32(pos);
    if (vt % 2 !== 0) fail('MS_FB_BAD_VTABLE', `the vtable of the ${type.name} table at ${pos} is not 2-aligned`, pos);
    if (!this.inBounds(vt, 2)) fail('MS_FB_BAD_VTABLE', `the vtable of the ${type.name} table at ${pos} is outside the file`, pos);
    const vtSize = this.fb.u16(vt);
    if (vtSize % 2 !== 0) fail('MS_FB_BAD_VTABLE', `the vtable of the ${type.name} table at ${pos} has an odd size`, vt);
    if (!this.inBounds(vt, vtSize)) fail('MS_FB_BAD_VTABLE', `the vtable of the ${type.name} table at ${pos} runs past the end of the file`, vt);
    let visits = 1;
    let unionType = 0;
    const slots = type.slots;
    for (let slot = 0; slot < slots.length; slot++) {
      const kind = slots[slot]!;
      const at = 4 + 2 * slot;
      const fieldOffset = at < vtSize ? this.fb.u16(vt + at) : 0;
      if (kind === 'x') continue; // deprecated: the generated Verify skips it
      if (fieldOffset === 0) {
        if (kind === 'ut') unionType = 0;
        continue;
      }
      const field = pos + fieldOffset;
      const what = `field ${MS_TABLES[type.name as MsTableName][slot]![0]} of the ${type.name} table at ${pos}`;
      if ((kind.charCodeAt(0) === 0x73 /* s */ && kind !== 'str') || kind === 'ut') {
        const width = kind === 'ut' ? 1 : Number(kind.slice(1));
        if (!this.inBounds(field, width)) fail('MS_FB_OUT_OF_BOUNDS', `${what} is outside the file`, field);
        if (kind === 'ut') unionType = this.fb.u8(field);
        continue;
      }
      const target = this.offsetAt(field, what);
      if (kind === 'str') this.string(target, what);
      else if (kind === 'vs') this.vectorOfStrings(target, what);
      else if (kind.startsWith('vt:')) visits = add(visits, this.vectorOfTables(target, TABLES.get(kind.slice(3))!, what));
      else if (kind.startsWith('t:')) visits = add(visits, this.table(target, TABLES.get(kind.slice(2))!));
      else if (kind.startsWith('u:')) {
        const member = UNION_TABLES[unionType];
        if (member !== undefined) visits = add(visits, this.table(target, member));
        else if (unionType !== 0) this.unknownPrimitives.add(unionType);
      } else this.vector(target, Number(kind.slice(1)), what);
    }
    this.tableMemo.set(key, visits);
    return visits;
  }

  /** VerifyVectorOrString: the length word, the count bound, the whole range. Returns the count. */
  private vector(pos: number, elementSize: number, what: string): number {
    if (pos % 4 !== 0) fail('MS_FB_MISALIGNED', `the vector of ${what} at ${pos} is not 4-aligned`, pos);
    if (!this.inBounds(pos, 4)) fail('MS_FB_OUT_OF_BOUNDS', `the vector of ${what} at ${pos} is outside the file`, pos);
    const count = this.fb.u32(pos);
    if (count >= Math.floor(FB_MAX_BUFFER / elementSize)) fail('MS_FB_OUT_OF_BOUNDS', `the vector of ${what} at ${pos} claims ${count} elements`, pos);
    if (!this.inBounds(pos, 4 + elementSize * count)) fail('MS_FB_OUT_OF_BOUNDS', `the vector of ${what} at ${pos} (${count} elements) runs past the end of the file`, pos);
    return count;
  }

  private string(pos: number, what: string): void {
    if (pos % 4 !== 0) fail('MS_FB_MISALIGNED', `the string of ${what} at ${pos} is not 4-aligned`, pos);
    if (!this.inBounds(pos, 4)) fail('MS_FB_BAD_STRING', `the string of ${what} at ${pos} is outside the file`, pos);
    const length = this.fb.u32(pos);
    if (length >= FB_MAX_BUFFER) fail('MS_FB_BAD_STRING', `the string of ${what} at ${pos} is too long`, pos);
    const end = pos + 4 + length;
    if (!this.inBounds(pos, 4 + length) || !this.inBounds(end, 1)) fail('MS_FB_BAD_STRING', `the string of ${what} at ${pos} runs past the end of the file`, pos);
    if (this.fb.u8(end) !== 0) fail('MS_FB_BAD_STRING', `the string of ${what} at ${pos} is not NUL-terminated`, end);
  }

  private vectorOfStrings(pos: number, what: string): void {
    if (this.vectorMemo.has(pos * 256 + 255)) {
      this.shared++;
      return;
    }
    const count = this.vector(pos, 4, what);
    for (let i = 0; i < count; i++) this.string(this.fb.tableAt(pos, i), what);
    this.vectorMemo.set(pos * 256 + 255, 0);
  }

  private vectorOfTables(pos: number, type: CompiledTable, what: string): number {
    const key = pos * 256 + type.index;
    const memo = this.vectorMemo.get(key);
    if (memo !== undefined) {
      this.shared++;
      return memo;
    }
    const count = this.vector(pos, 4, what);
    let visits = 0;
    for (let i = 0; i < count; i++) visits = add(visits, this.table(this.fb.tableAt(pos, i), type));
    this.vectorMemo.set(key, visits);
    return visits;
  }
}

function add(a: number, b: number): number {
  const sum = a + b;
  return sum > SATURATED ? SATURATED : sum;
}
