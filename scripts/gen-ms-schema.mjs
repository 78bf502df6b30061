#!/usr/bin/env node
/**
 * Derives the .ms scanner's field-kind table from MindSpore Lite's FlatBuffers schema (model.fbs,
 * ops.fbs, ops_types.fbs: Apache-2.0 data, not copied into this repository) and writes
 * packages/core/src/scan/ms/schema.ts. Run it again when Lite's schema changes:
 *
 *   node scripts/gen-ms-schema.mjs DIR_WITH_THE_FBS_FILES
 *
 * Only the subset of the FlatBuffers grammar Lite uses is understood (tables, enums, one union,
 * scalar/string/vector/table fields, defaults, `(deprecated)`); anything else is an error, so a
 * schema change cannot slip past silently. test/ms-schema.test.ts re-derives the table and
 * compares it with the committed one.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCALARS = { bool: 1, byte: 1, ubyte: 1, int8: 1, uint8: 1, short: 2, ushort: 2, int16: 2, uint16: 2, int: 4, uint: 4, int32: 4, uint32: 4, float: 4, float32: 4, long: 8, ulong: 8, int64: 8, uint64: 8, double: 8, float64: 8 };
const FILES = ['ops_types.fbs', 'ops.fbs', 'model.fbs'];

/** Returns the TypeScript source of the table derived from the three .fbs files in `dir`. */
export function generateMsSchema(dir) {
  const enums = new Map(); // name -> { size, min, max }
  const tables = new Map(); // name -> [[field, type, deprecated]]
  let union;
  let identifier;
  let rootType;
  for (const file of FILES) {
    const text = readFileSync(join(dir, file), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/[^\n]*/g, '');
    const blocks = /\b(enum|union|table|struct)\s+(\w+)\s*(?::\s*(\w+))?\s*\{([^}]*)\}/g;
    let m;
    for (const stmt of text.replace(blocks, '').split(';')) {
      const s = stmt.trim();
      if (s === '' || /^(include|namespace|file_extension)\b/.test(s)) continue;
      let mm;
      if ((mm = /^file_identifier\s+"(\w{4})"$/.exec(s))) identifier = mm[1];
      else if ((mm = /^root_type\s+(\w+)$/.exec(s))) rootType = mm[1];
      else throw new Error(`${file}: cannot read statement ${JSON.stringify(s)}`);
    }
    while ((m = blocks.exec(text))) {
      const [, kind, name, base, body] = m;
      if (kind === 'struct') throw new Error(`${file}: structs are not supported (${name})`);
      if (kind === 'enum') {
        if (!(base in SCALARS)) throw new Error(`${file}: enum ${name} has base ${base}`);
        let next = 0;
        let min = Infinity;
        let max = -Infinity;
        for (const item of body.split(',').map((x) => x.trim()).filter(Boolean)) {
          const e = /^(\w+)(?:\s*=\s*(-?\d+))?$/.exec(item);
          if (!e) throw new Error(`${file}: enum ${name}: cannot read ${item}`);
          const value = e[2] === undefined ? next : Number(e[2]);
          next = value + 1;
          min = Math.min(min, value);
          max = Math.max(max, value);
        }
        enums.set(name, { size: SCALARS[base], min, max });
      } else if (kind === 'union') {
        if (union) throw new Error(`${file}: a second union ${name}`);
        union = { name, members: ['NONE', ...body.split(',').map((x) => x.trim()).filter(Boolean)] };
      } else {
        const fields = [];
        for (const decl of body.split(';').map((x) => x.trim()).filter(Boolean)) {
          const f = /^(\w+)\s*:\s*(\[?\w+\]?)\s*(?:=\s*[-\w.]+)?\s*(\(deprecated\))?$/.exec(decl);
          if (!f) throw new Error(`${file}: table ${name}: cannot read field ${JSON.stringify(decl)}`);
          fields.push([f[1], f[2], f[3] !== undefined]);
        }
        tables.set(name, fields);
      }
    }
  }
  if (!union || !identifier || !rootType) throw new Error('schema without union, file_identifier or root_type');
  const kindOf = (table, field, type) => {
    const vector = type.startsWith('[');
    const base = vector ? type.slice(1, -1) : type;
    const size = SCALARS[base] ?? enums.get(base)?.size;
    if (size !== undefined) return vector ? `v${size}` : `s${size}`;
    if (base === 'string') return vector ? 'vs' : 'str';
    if (tables.has(base)) return vector ? `vt:${base}` : `t:${base}`;
    if (base === union.name && !vector) return `u:${base}`;
    throw new Error(`table ${table}: field ${field} has unknown type ${type}`);
  };
  const out = [];
  for (const [name, fields] of tables) {
    const slots = [];
    for (const [field, type, deprecated] of fields) {
      const kind = kindOf(name, field, type);
      // A union takes two slots: its type byte (FIELD_type), then the offset of the value.
      if (kind.startsWith('u:')) slots.push([`${field}_type`, deprecated ? 'x' : 'ut']);
      slots.push([field, deprecated ? 'x' : kind]);
    }
    out.push(`  ${name}: [${slots.map(([f, k]) => `['${f}', '${k}']`).join(', ')}],`);
  }
  for (const member of union.members.slice(1)) if (!tables.has(member)) throw new Error(`union member ${member} is not a table`);
  const enumLines = [...enums].map(([n, e]) => `  ${n}: { size: ${e.size}, min: ${e.min}, max: ${e.max} },`);
  return `/**
 * GENERATED by scripts/gen-ms-schema.mjs from MindSpore Lite's FlatBuffers schema (model.fbs,
 * ops.fbs, ops_types.fbs; mindspore-ai/mindspore-lite 2b28870). Do not edit: regenerate.
 *
 * One row per table, one entry per vtable slot, in slot order: [field name, kind], where kind is
 * s1|s2|s4|s8 (scalar of that size), str (string), v1|v2|v4|v8 (vector of scalars), vs (vector of
 * strings), vt:T (vector of table T), t:T (table T), ut (a union's type byte), u:U (a union's
 * value), x (deprecated: not verified).
 */
export const MS_FILE_IDENTIFIER = '${identifier}';
export const MS_ROOT_TABLE = '${rootType}';

export const MS_TABLES = {
${out.join('\n')}
} as const satisfies Record<string, readonly (readonly [string, string])[]>;

export type MsTableName = keyof typeof MS_TABLES;

/** Union ${union.name}: member names by type value (0 = NONE). */
export const MS_UNION_MEMBERS: readonly string[] = [
${union.members.map((m) => `  '${m}',`).join('\n')}
];

/** Enums: underlying size and the range of declared values. */
export const MS_ENUMS = {
${enumLines.join('\n')}
} as const;
`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: node scripts/gen-ms-schema.mjs DIR_WITH_THE_FBS_FILES');
    process.exit(2);
  }
  const target = join(fileURLToPath(new URL('..', import.meta.url)), 'packages/core/src/scan/ms/schema.ts');
  writeFileSync(target, generateMsSchema(dir));
  console.log(`wrote ${target}`);
}
