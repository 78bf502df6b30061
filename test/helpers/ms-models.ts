/**
 * MindSpore Lite .ms models for the scanner's tests: hostile variants patched into copies of the
 * real fixtures (located with the scanner's own FlatBuffers reader), and synthetic models written
 * with the test FlatBuffers writer for structures the fixtures lack. scripts/make-hostile-ms.mjs
 * writes them all to a directory (for fuzz corpora and manual runs with `ms-sign scan`).
 */
import { BufferSource, FlatBufferReader, MS_TABLES, MS_UNION_MEMBERS } from '@ms-sign/core';
import { bytes, FbScalars, i32, i64, ints, refs, str, table, u8, writeFlatBuffer, type FbField, type FbObject, type FbTable } from './flatbuffer-writer.js';

export function slot(tableName: keyof typeof MS_TABLES, field: string): number {
  const s = MS_TABLES[tableName].findIndex(([name]) => name === field);
  if (s < 0) throw new Error(`no ${tableName}.${field}`);
  return s;
}
export function opType(name: string): number {
  const t = MS_UNION_MEMBERS.indexOf(name);
  if (t < 0) throw new Error(`no op ${name}`);
  return t;
}

/** Fields of a table by name, as the writer's slot-ordered list. */
export function fields(tableName: keyof typeof MS_TABLES, values: Record<string, FbField>): (FbField | undefined)[] {
  const out: (FbField | undefined)[] = [];
  for (const [name, value] of Object.entries(values)) out[slot(tableName, name)] = value;
  return Array.from({ length: out.length }, (_, i) => out[i]);
}
const t = (name: keyof typeof MS_TABLES, values: Record<string, FbField>): FbTable => table(...fields(name, values));

export interface ModelParts {
  version?: string;
  tensors?: FbObject[];
  nodes?: FbObject[];
  subgraphs?: FbObject[] | undefined;
  inputs?: number[];
  outputs?: number[];
  extra?: Record<string, FbField>;
}

export const tensor = (values: Record<string, FbField> = {}) => t('Tensor', { nodeType: i32(2), dataType: i32(43), dims: ints([1, 4]), format: i32(0), ...values });
export const node = (name: string, op: string, inputs: number[], outputs: number[], opValues: Record<string, FbField> = {}, extra: Record<string, FbField> = {}) =>
  t('CNode', { name: str(name), primitive: t('Primitive', { value_type: u8(opType(op)), value: t(op as keyof typeof MS_TABLES, opValues) }), inputIndex: ints(inputs), outputIndex: ints(outputs), ...extra });
export const subgraph = (inputs: number[], outputs: number[], nodes: number[], tensors: number[]) =>
  t('SubGraph', { name: str('main'), inputIndices: ints(inputs), outputIndices: ints(outputs), nodeIndices: ints(nodes), tensorIndices: ints(tensors) });

/** A valid one-node model: tensor 0 -> Activation -> tensor 1, plus whatever `parts` changes. */
export function model(parts: ModelParts = {}): Uint8Array {
  const tensors = parts.tensors ?? [tensor(), tensor()];
  const nodes = parts.nodes ?? [node('act', 'Activation', [0], [1])];
  const subgraphs = 'subgraphs' in parts ? parts.subgraphs : [subgraph([0], [1], [0], [0, 1])];
  const root = t('MetaGraph', {
    name: str('test'),
    version: str(parts.version ?? 'MindSpore Lite 2.0.0'),
    inputIndex: ints(parts.inputs ?? [0]),
    outputIndex: ints(parts.outputs ?? [1]),
    nodes: refs(nodes),
    allTensors: refs(tensors),
    ...(subgraphs === undefined ? {} : { subGraph: refs(subgraphs) }),
    ...parts.extra,
  });
  return writeFlatBuffer(root);
}

/**
 * The Verifier DAG bomb: `n` tensor slots all pointing at one Tensor whose `m` quantParams all
 * point at one QuantParam. About 4(n + m) bytes; Lite's Verifier visits 1 + n(1 + m) tables.
 */
export function dagBomb(n: number, m: number): Uint8Array {
  const quant = table();
  const shared = t('Tensor', { quantParams: refs(new Array(m).fill(quant)) });
  return writeFlatBuffer(t('MetaGraph', { version: str('MindSpore Lite 2.0.0'), allTensors: refs(new Array(n).fill(shared)) }));
}

/** The same bomb through an op: BatchToSpace.crops is a Vec2D whose Vec entries are shared. */
export function dagBombThroughOp(n: number, m: number): Uint8Array {
  const leaf = t('Vec', { data: new FbScalars(8, [1n, 2n]) });
  const crops = t('Vec2D', { data: refs(new Array(m).fill(leaf)) });
  const op = node('b2s', 'BatchToSpace', [0], [1], { crops });
  return model({ nodes: new Array(n).fill(op), subgraphs: [subgraph([0], [1], [0], [0, 1])] });
}

/** A patchable copy of a real .ms file, with the positions tests need. */
export class MsPatcher {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly fb: FlatBufferReader;
  constructor(original: Uint8Array) {
    this.bytes = new Uint8Array(original);
    this.view = new DataView(this.bytes.buffer);
    this.fb = new FlatBufferReader(new BufferSource(this.bytes));
  }
  get root(): number {
    return this.fb.root();
  }
  /** The object field `name` of `tableName` at `pos` points to. */
  ref(pos: number, tableName: keyof typeof MS_TABLES, name: string): number {
    const r = this.fb.ref(pos, slot(tableName, name));
    if (r === 0) throw new Error(`${tableName}.${name} absent`);
    return r;
  }
  field(pos: number, tableName: keyof typeof MS_TABLES, name: string): number {
    const f = this.fb.field(pos, slot(tableName, name));
    if (f === 0) throw new Error(`${tableName}.${name} absent`);
    return f;
  }
  setU32(pos: number, value: number): this {
    this.view.setUint32(pos, value >>> 0, true);
    return this;
  }
  u32(pos: number): number {
    return this.view.getUint32(pos, true);
  }
}

export interface HostileVariant {
  readonly name: string;
  readonly how: string;
  readonly make: (parallel: Uint8Array) => Uint8Array;
  readonly verdict: 'clean' | 'unsafe' | 'malformed' | 'unknown';
  /** The code that must be among the findings (for clean files: a note). */
  readonly code: string;
}

const withPatch = (fn: (p: MsPatcher) => void) => (original: Uint8Array) => {
  const p = new MsPatcher(original);
  fn(p);
  return p.bytes;
};
const tensors = (p: MsPatcher) => p.ref(p.root, 'MetaGraph', 'allTensors');
const nodes = (p: MsPatcher) => p.ref(p.root, 'MetaGraph', 'nodes');

/** Byte-patched variants of parallel.ms, with the verdict and code each must get. */
export const HOSTILE_MS_VARIANTS: readonly HostileVariant[] = [
  { name: 'truncated_half', how: 'keep the first 2676 bytes', make: (b) => b.slice(0, 2676), verdict: 'malformed', code: 'MS_FB_OUT_OF_BOUNDS' },
  { name: 'root_oob', how: 'root offset = size + 64', make: withPatch((p) => p.setU32(0, p.bytes.length + 64)), verdict: 'malformed', code: 'MS_FB_OUT_OF_BOUNDS' },
  { name: 'root_misaligned', how: 'root offset + 2', make: withPatch((p) => p.setU32(0, p.root + 2)), verdict: 'malformed', code: 'MS_FB_MISALIGNED' },
  { name: 'vtable_oob', how: 'root soffset = root + 1000 (vtable before byte 0)', make: withPatch((p) => p.setU32(p.root, p.root + 1000)), verdict: 'malformed', code: 'MS_FB_BAD_VTABLE' },
  { name: 'vtable_odd_size', how: 'the root vtable size is odd', make: withPatch((p) => p.view.setUint16(p.fb.vtable(p.root), p.view.getUint16(p.fb.vtable(p.root), true) + 1, true)), verdict: 'malformed', code: 'MS_FB_BAD_VTABLE' },
  { name: 'vtable_size_past_end', how: 'the root vtable size runs past the end', make: withPatch((p) => p.view.setUint16(p.fb.vtable(p.root), 0xfffe, true)), verdict: 'malformed', code: 'MS_FB_BAD_VTABLE' },
  { name: 'tensor_count_absurd', how: 'allTensors length = 0x7fffffff', make: withPatch((p) => p.setU32(tensors(p), 0x7fffffff)), verdict: 'malformed', code: 'MS_FB_OUT_OF_BOUNDS' },
  { name: 'vector_length_overflow', how: 'allTensors length whose 4 + 4n overflows 32 bits', make: withPatch((p) => p.setU32(tensors(p), 0x40000000)), verdict: 'malformed', code: 'MS_FB_OUT_OF_BOUNDS' },
  {
    name: 'version_no_nul',
    how: 'version string terminator -> A',
    make: withPatch((p) => {
      const s = p.ref(p.root, 'MetaGraph', 'version');
      p.bytes[s + 4 + p.u32(s)] = 0x41;
    }),
    verdict: 'malformed',
    code: 'MS_FB_BAD_STRING',
  },
  {
    name: 'string_to_end',
    how: 'version string length reaches exactly the end of the file',
    make: withPatch((p) => {
      const s = p.ref(p.root, 'MetaGraph', 'version');
      p.setU32(s, p.bytes.length - s - 4);
    }),
    verdict: 'malformed',
    code: 'MS_FB_BAD_STRING',
  },
  { name: 'offset_zero', how: 'the version uoffset = 0', make: withPatch((p) => p.setU32(p.field(p.root, 'MetaGraph', 'version'), 0)), verdict: 'malformed', code: 'MS_FB_BAD_OFFSET' },
  { name: 'offset_wrap', how: 'the version uoffset >= 2^31', make: withPatch((p) => p.setU32(p.field(p.root, 'MetaGraph', 'version'), 0x80000004)), verdict: 'malformed', code: 'MS_FB_BAD_OFFSET' },
  { name: 'identifier_zeroed', how: 'bytes 4..7 = 0', make: withPatch((p) => p.setU32(4, 0)), verdict: 'clean', code: 'MS_LEGACY_SCHEMA' },
  { name: 'node_input_oor', how: 'node 0 input[0] = 30 (25 tensors)', make: withPatch((p) => p.setU32(p.ref(p.fb.tableAt(nodes(p), 0), 'CNode', 'inputIndex') + 4, 30)), verdict: 'malformed', code: 'MS_INDEX_OUT_OF_RANGE' },
  { name: 'graph_output_oor', how: 'graph output[0] = 25', make: withPatch((p) => p.setU32(p.ref(p.root, 'MetaGraph', 'outputIndex') + 4, 25)), verdict: 'malformed', code: 'MS_INDEX_OUT_OF_RANGE' },
  {
    name: 'subgraph_node_repeated',
    how: 'nodeIndices[1] = nodeIndices[0]',
    make: withPatch((p) => {
      const v = p.ref(p.fb.tableAt(p.ref(p.root, 'MetaGraph', 'subGraph'), 0), 'SubGraph', 'nodeIndices');
      p.setU32(v + 8, p.u32(v + 4));
    }),
    verdict: 'malformed',
    code: 'MS_DUPLICATE_INDEX',
  },
  {
    name: 'tensor_data_short',
    how: 'the first data vector length - 4',
    make: withPatch((p) => {
      const all = tensors(p);
      for (let i = 0; i < p.u32(all); i++) {
        const d = p.fb.ref(p.fb.tableAt(all, i), slot('Tensor', 'data'));
        if (d !== 0 && p.u32(d) >= 4) {
          p.setU32(d, p.u32(d) - 4);
          return;
        }
      }
      throw new Error('no tensor with data');
    }),
    verdict: 'malformed',
    code: 'MS_TENSOR_DATA_SIZE',
  },
  {
    name: 'nodes_shared_table',
    how: 'every nodes[i] -> the same CNode',
    make: withPatch((p) => {
      const v = nodes(p);
      const first = p.fb.tableAt(v, 0);
      for (let i = 0; i < p.u32(v); i++) p.setU32(v + 4 + 4 * i, first - (v + 4 + 4 * i));
    }),
    verdict: 'malformed',
    code: 'MS_FB_SHARED_TABLE',
  },
];

/** Synthetic models (written, not patched), with the verdict and code each must get. */
export const SYNTHETIC_MS_MODELS: readonly { readonly name: string; readonly make: () => Uint8Array; readonly verdict: HostileVariant['verdict']; readonly code?: string; readonly notCode?: string }[] = [
  { name: 'minimal', make: () => model(), verdict: 'clean' },
  { name: 'dagbomb_1000x1000', make: () => dagBomb(1000, 1000), verdict: 'unsafe', code: 'MS_FB_AMPLIFICATION' },
  { name: 'dagbomb_999x999', make: () => dagBomb(999, 999), verdict: 'malformed', notCode: 'MS_FB_AMPLIFICATION' },
  { name: 'dagbomb_through_vec2d', make: () => dagBombThroughOp(2000, 1000), verdict: 'unsafe', code: 'MS_FB_AMPLIFICATION' },
  { name: 'partial_negative', make: () => model({ nodes: [node('p', 'PartialFusion', [0], [1], { sub_graph_index: i64(-1n) })] }), verdict: 'malformed', code: 'MS_INDEX_OUT_OF_RANGE' },
  { name: 'partial_count', make: () => model({ nodes: [node('p', 'PartialFusion', [0], [1], { sub_graph_index: i64(1n) })] }), verdict: 'malformed', code: 'MS_INDEX_OUT_OF_RANGE' },
  { name: 'partial_self', make: () => model({ nodes: [node('p', 'PartialFusion', [0], [1], { sub_graph_index: i64(0n) })] }), verdict: 'malformed', code: 'MS_INDEX_OUT_OF_RANGE' },
  { name: 'unknown_primitive_250', make: () => model({ nodes: [withOpType(node('x', 'Activation', [0], [1]), 250)] }), verdict: 'clean', code: 'MS_UNKNOWN_PRIMITIVE' },
  { name: 'union_type_without_value', make: () => model({ nodes: [table(...fields('CNode', { name: str('n'), primitive: table(u8(opType('Activation'))), inputIndex: ints([0]), outputIndex: ints([1]) }))] }), verdict: 'clean' },
  { name: 'custom_op', make: () => model({ nodes: [node('c', 'Custom', [0], [1], { type: str('MyKernel'), attr: refs([table(str('k'), bytes([1, 2]))]) })] }), verdict: 'clean', code: 'MS_CUSTOM_OP' },
  { name: 'obfuscated', make: () => model({ extra: { obfuscate: u8(1) } }), verdict: 'clean', code: 'MS_OBFUSCATED' },
  { name: 'tensor_format_99', make: () => model({ tensors: [tensor({ format: i32(99) }), tensor()] }), verdict: 'malformed', code: 'MS_GRAPH_INVALID' },
  { name: 'quant_type_42', make: () => model({ nodes: [node('a', 'Activation', [0], [1], {}, { quantType: i32(42) })] }), verdict: 'malformed', code: 'MS_GRAPH_INVALID' },
  { name: 'const_dims_zero', make: () => model({ tensors: [tensor(), tensor(), tensor({ nodeType: i32(0), dims: ints([0, 4]), data: bytes([1, 2, 3, 4]) })] }), verdict: 'malformed', code: 'MS_GRAPH_INVALID' },
  { name: 'tensor_type_in_conv', make: () => model({ tensors: [tensor(), tensor({ dataType: i32(17) })] }), verdict: 'malformed', code: 'MS_GRAPH_INVALID' },
  { name: 'inputs_are_outputs', make: () => model({ inputs: [0], outputs: [0] }), verdict: 'malformed', code: 'MS_GRAPH_INVALID' },
  { name: 'graph_input_with_data', make: () => model({ tensors: [tensor({ data: bytes(new Array(16).fill(0)) }), tensor()] }), verdict: 'malformed', code: 'MS_GRAPH_INVALID' },
  { name: 'isolated_output_without_data', make: () => model({ nodes: [node('a', 'Activation', [0], [2])], tensors: [tensor(), tensor(), tensor()] }), verdict: 'malformed', code: 'MS_GRAPH_INVALID' },
  { name: 'no_subgraph_field', make: () => model({ subgraphs: undefined }), verdict: 'clean' },
  { name: 'no_nodes', make: () => writeFlatBuffer(table(...fields('MetaGraph', { version: str('MindSpore Lite 2.0.0'), allTensors: refs([tensor()]) }))), verdict: 'malformed', code: 'MS_GRAPH_MISSING' },
  { name: 'external_traversal', make: () => model({ tensors: [tensor(), tensor(), external('../../etc/passwd')] }), verdict: 'unsafe', code: 'MS_EXTERNAL_DATA_PATH' },
  { name: 'external_absolute', make: () => model({ tensors: [tensor(), tensor(), external('/etc/passwd')] }), verdict: 'unsafe', code: 'MS_EXTERNAL_DATA_PATH' },
  { name: 'external_no_location', make: () => model({ tensors: [tensor(), tensor(), tensor({ nodeType: i32(0), externalData: refs([table(undefined, undefined, i64(0n), i64(16n))]) })] }), verdict: 'unsafe', code: 'MS_EXTERNAL_DATA_PATH' },
  { name: 'external_unsigned', make: () => model({ tensors: [tensor(), tensor(), external('weights.msw')] }), verdict: 'unsafe', code: 'MS_EXTERNAL_DATA_UNSIGNED' },
  { name: 'external_two_entries', make: () => model({ tensors: [tensor(), tensor(), tensor({ nodeType: i32(0), externalData: refs([externalEntry('w.msw'), externalEntry('w.msw')]) })] }), verdict: 'malformed', code: 'MS_EXTERNAL_DATA_RANGE' },
];

export function externalEntry(location: string, offset = 0n, length = 16n): FbTable {
  return t('ExternalData', { checkSum: str(''), location: str(location), offset: i64(offset), length: i64(length) });
}
export function external(location: string, offset = 0n, length = 16n): FbTable {
  return tensor({ nodeType: i32(0), externalData: refs([externalEntry(location, offset, length)]) });
}

function withOpType(cnode: FbTable, type: number): FbTable {
  const fieldsCopy = [...cnode.fields];
  const primitive = fieldsCopy[slot('CNode', 'primitive')] as FbTable;
  fieldsCopy[slot('CNode', 'primitive')] = table(u8(type), primitive.fields[1]);
  return table(...fieldsCopy);
}
