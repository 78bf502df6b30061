/**
 * A small FlatBuffers writer for tests: builds .ms models the fixtures lack (shared tables, DAG
 * bombs, external data, PartialFusion, huge index lists) from a tree of plain objects. The same
 * JS object used twice is written once and referenced twice, which is how sharing is made.
 * Objects are laid out parents first, so every uoffset points forward, as FlatBuffers requires.
 * Written for tests only; it checks nothing, so it can write hostile buffers too.
 */

export type ScalarKind = 'u8' | 'i32' | 'u32' | 'f32' | 'i64';
export interface FbScalar {
  readonly scalar: ScalarKind;
  readonly value: number | bigint;
}
export class FbTable {
  constructor(readonly fields: readonly (FbField | undefined)[]) {}
}
export class FbString {
  constructor(readonly text: string) {}
}
/** A vector of scalars of 1, 4 or 8 bytes (little-endian, signed for 4 and 8). */
export class FbScalars {
  constructor(
    readonly elementSize: 1 | 4 | 8,
    readonly values: ArrayLike<number> | readonly bigint[],
  ) {}
}
export class FbRefs {
  constructor(readonly items: readonly FbObject[]) {}
}
export type FbObject = FbTable | FbString | FbScalars | FbRefs;
export type FbField = FbScalar | FbObject;

export const u8 = (value: number): FbScalar => ({ scalar: 'u8', value });
export const i32 = (value: number): FbScalar => ({ scalar: 'i32', value });
export const u32 = (value: number): FbScalar => ({ scalar: 'u32', value });
export const i64 = (value: bigint): FbScalar => ({ scalar: 'i64', value });
export const table = (...fields: (FbField | undefined)[]) => new FbTable(fields);
export const str = (text: string) => new FbString(text);
export const ints = (values: ArrayLike<number>) => new FbScalars(4, values);
export const bytes = (values: ArrayLike<number>) => new FbScalars(1, values);
export const refs = (items: readonly FbObject[]) => new FbRefs(items);

const SCALAR_SIZE: Record<ScalarKind, number> = { u8: 1, i32: 4, u32: 4, f32: 4, i64: 8 };
const isObject = (f: FbField): f is FbObject => f instanceof FbTable || f instanceof FbString || f instanceof FbScalars || f instanceof FbRefs;
const align = (n: number, a: number) => Math.ceil(n / a) * a;

/** Serialises `root` with a 4-byte identifier (or none: pass undefined for the v0 layout). */
export function writeFlatBuffer(root: FbTable, identifier: string | undefined = 'MSL2'): Uint8Array {
  // Parents before children: reverse post-order of a DFS (the schema is shallow; vectors are iterated).
  const order: FbObject[] = [];
  const seen = new Set<FbObject>();
  const visit = (o: FbObject) => {
    if (seen.has(o)) return;
    seen.add(o);
    const children = o instanceof FbTable ? o.fields.filter((f): f is FbObject => f !== undefined && isObject(f)) : o instanceof FbRefs ? o.items : [];
    for (const c of children) visit(c);
    order.push(o);
  };
  visit(root);
  order.reverse();

  // Layout.
  const pos = new Map<FbObject, number>();
  const tableLayout = new Map<FbTable, { vtable: number; offsets: number[]; inline: number }>();
  let at = 8;
  for (const o of order) {
    if (o instanceof FbTable) {
      const vtable = align(at, 2);
      const vtSize = 4 + 2 * o.fields.length;
      let inline = 4;
      const offsets: number[] = [];
      const maxAlign = o.fields.some((f) => f !== undefined && !isObject(f) && f.scalar === 'i64') ? 8 : 4;
      const start = align(vtable + vtSize, maxAlign);
      for (const f of o.fields) {
        if (f === undefined) {
          offsets.push(0);
          continue;
        }
        const size = isObject(f) ? 4 : SCALAR_SIZE[f.scalar];
        inline = align(start + inline, size) - start;
        offsets.push(inline);
        inline += size;
      }
      tableLayout.set(o, { vtable, offsets, inline: align(inline, 4) });
      pos.set(o, start);
      at = start + align(inline, 4);
    } else if (o instanceof FbString) {
      const start = align(at, 4);
      pos.set(o, start);
      at = align(start + 4 + new TextEncoder().encode(o.text).length + 1, 4);
    } else if (o instanceof FbScalars) {
      const start = o.elementSize === 8 ? align(at + 4, 8) - 4 : align(at, 4);
      pos.set(o, start);
      at = align(start + 4 + o.elementSize * o.values.length, 4);
    } else {
      const start = align(at, 4);
      pos.set(o, start);
      at = start + 4 + 4 * o.items.length;
    }
  }

  const out = new Uint8Array(at);
  const view = new DataView(out.buffer);
  view.setUint32(0, pos.get(root)!, true);
  if (identifier !== undefined) out.set(new TextEncoder().encode(identifier), 4);
  const ref = (slot: number, target: FbObject) => view.setUint32(slot, pos.get(target)! - slot, true);
  for (const o of order) {
    const p = pos.get(o)!;
    if (o instanceof FbTable) {
      const layout = tableLayout.get(o)!;
      view.setUint16(layout.vtable, 4 + 2 * o.fields.length, true);
      view.setUint16(layout.vtable + 2, layout.inline, true);
      layout.offsets.forEach((off, i) => view.setUint16(layout.vtable + 4 + 2 * i, off, true));
      view.setInt32(p, p - layout.vtable, true);
      o.fields.forEach((f, i) => {
        if (f === undefined) return;
        const fp = p + layout.offsets[i]!;
        if (isObject(f)) ref(fp, f);
        else if (f.scalar === 'u8') view.setUint8(fp, Number(f.value));
        else if (f.scalar === 'i32') view.setInt32(fp, Number(f.value), true);
        else if (f.scalar === 'u32') view.setUint32(fp, Number(f.value), true);
        else if (f.scalar === 'f32') view.setFloat32(fp, Number(f.value), true);
        else view.setBigInt64(fp, BigInt(f.value), true);
      });
    } else if (o instanceof FbString) {
      const b = new TextEncoder().encode(o.text);
      view.setUint32(p, b.length, true);
      out.set(b, p + 4);
    } else if (o instanceof FbScalars) {
      view.setUint32(p, o.values.length, true);
      for (let i = 0; i < o.values.length; i++) {
        const v = o.values[i]!;
        if (o.elementSize === 1) view.setUint8(p + 4 + i, Number(v));
        else if (o.elementSize === 4) view.setInt32(p + 4 + 4 * i, Number(v), true);
        else view.setBigInt64(p + 4 + 8 * i, BigInt(v), true);
      }
    } else {
      view.setUint32(p, o.items.length, true);
      o.items.forEach((item, i) => ref(p + 4 + 4 * i, item));
    }
  }
  return out;
}
