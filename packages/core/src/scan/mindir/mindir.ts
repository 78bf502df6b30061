/**
 * MindSpore MindIR (`mind_ir.ModelProto`, protobuf) scanner (pure). It walks the whole message
 * tree with the bounded walker, skipping tensor bytes by length, and checks what loading would
 * trust: raw tensor sizes, external-data paths and ranges, and nodes that run Python.
 */
import { readPackedVarints, readProtoString, walkProtobuf, type ProtoSchema } from '../protobuf.js';
import { resolveModelReference } from '../reference.js';
import { ScanAbort, type FormatScanner, type ScanContext } from '../types.js';

const str = { kind: 'string' } as const;
const bytes = { kind: 'bytes' } as const;
const varint = { kind: 'varint' } as const;
const msg = (message: string) => ({ kind: 'message', message }) as const;

/** The parts of mind_ir.proto the checks need; other fields are skipped as unknown. */
export const MINDIR_SCHEMA: ProtoSchema = {
  ModelProto: {
    1: { name: 'ir_version', type: str },
    2: { name: 'producer_name', type: str },
    3: { name: 'producer_version', type: str },
    4: { name: 'domain', type: str },
    5: { name: 'model_version', type: str },
    6: { name: 'doc_string', type: str },
    7: { name: 'graph', type: msg('GraphProto') },
    8: { name: 'functions', type: msg('GraphProto'), repeated: true },
    12: { name: 'primitives', type: msg('PrimitiveProto'), repeated: true },
    13: { name: 'mind_ir_version', type: varint },
  },
  GraphProto: {
    1: { name: 'node', type: msg('NodeProto'), repeated: true },
    2: { name: 'name', type: str },
    3: { name: 'parameter', type: msg('TensorProto'), repeated: true },
    4: { name: 'doc_string', type: str },
    5: { name: 'input', type: msg('ValueInfoProto'), repeated: true },
    6: { name: 'output', type: msg('ValueInfoProto'), repeated: true },
    7: { name: 'bprop_hash', type: str },
    8: { name: 'attribute', type: msg('AttributeProto'), repeated: true },
    9: { name: 'bprop_filepath', type: str },
  },
  ValueInfoProto: {
    1: { name: 'name', type: str },
    2: { name: 'tensor', type: msg('TensorProto'), repeated: true },
    5: { name: 'attr_info', type: msg('AttributeProto') },
  },
  NodeProto: {
    1: { name: 'input', type: str, repeated: true },
    2: { name: 'output', type: str, repeated: true },
    3: { name: 'name', type: str },
    4: { name: 'op_type', type: str },
    5: { name: 'attribute', type: msg('AttributeProto'), repeated: true },
    6: { name: 'doc_string', type: str },
    7: { name: 'domain', type: str },
    8: { name: 'node_attr', type: msg('AttributeProto'), repeated: true },
    9: { name: 'primal_attr', type: msg('AttributeProto'), repeated: true },
  },
  PrimitiveProto: {
    1: { name: 'name', type: str },
    2: { name: 'op_type', type: str },
    3: { name: 'attribute', type: msg('AttributeProto'), repeated: true },
    4: { name: 'instance_name', type: str },
  },
  AttributeProto: {
    1: { name: 'name', type: str },
    5: { name: 's', type: bytes },
    6: { name: 't', type: msg('TensorProto') },
    7: { name: 'g', type: msg('GraphProto') },
    12: { name: 'tensors', type: msg('TensorProto'), repeated: true },
    13: { name: 'graphs', type: msg('GraphProto'), repeated: true },
    17: { name: 'values', type: msg('AttributeProto'), repeated: true },
  },
  TensorProto: {
    1: { name: 'dims', type: varint, repeated: true },
    2: { name: 'data_type', type: varint },
    7: { name: 'name', type: str },
    9: { name: 'raw_data', type: bytes },
    12: { name: 'external_data', type: msg('ExternalDataProto') },
  },
  ExternalDataProto: {
    1: { name: 'location', type: str },
    2: { name: 'offset', type: varint },
    3: { name: 'length', type: varint },
    4: { name: 'checksum', type: str },
  },
};

/** mind_ir DataType -> element size, for the fixed-size types (1-7, 9-17). */
const MINDIR_TYPE_SIZES: Readonly<Record<number, number>> = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 14: 8, 15: 16, 16: 2, 17: 8 };

/** MindSpore primitives that run Python. */
const PYTHON_OPS = new Set(['PyExecute', 'PyInterpret', 'PyFunc']);

const MAX_DIMS = 1024;

interface TensorState {
  dims: bigint[];
  dataType: number;
  rawLength: number;
  rawOffset: number;
  name: string;
  external?: { location?: string; offset: bigint; length: bigint; offsetAt: number };
}

export const mindirScanner: FormatScanner = {
  format: 'mindir',
  scan(source, ctx) {
    const tensors: TensorState[] = [];
    const info = { irVersion: '', producer: '', modelVersion: '', nodes: 0, parameters: 0 };
    let hasGraph = false;
    let wireTypeNotes = 0;
    const stats = walkProtobuf(
      source,
      'ModelProto',
      MINDIR_SCHEMA,
      {
        onEnter(field, message) {
          if (field.message === 'ModelProto' && field.number === 7) hasGraph = true;
          if (message === 'NodeProto') info.nodes++;
          if (field.message === 'GraphProto' && field.number === 3) info.parameters++;
          if (message === 'TensorProto') tensors.push({ dims: [], dataType: 0, rawLength: -1, rawOffset: field.offset, name: '' });
          if (message === 'ExternalDataProto') {
            const t = tensors[tensors.length - 1];
            if (t !== undefined) t.external = { offset: 0n, length: 0n, offsetAt: field.offset };
          }
        },
        onLeave(message) {
          if (message === 'TensorProto') checkTensor(tensors.pop()!, ctx);
        },
        onField(field) {
          const t = tensors[tensors.length - 1];
          if (field.message === 'ModelProto') {
            if (field.number === 1) info.irVersion = readProtoString(source, field, 64);
            else if (field.number === 2) info.producer = readProtoString(source, field, 64);
            else if (field.number === 5) info.modelVersion = readProtoString(source, field, 64);
          } else if (field.message === 'NodeProto' && field.number === 4) {
            const op = readProtoString(source, field, 64);
            if (PYTHON_OPS.has(op)) ctx.report({ code: 'MINDIR_PYTHON_OP', message: `a node runs the ${op} primitive, which executes Python`, offset: field.offset, detail: { op } });
          } else if (field.message === 'TensorProto' && t !== undefined) {
            if (field.number === 1) {
              for (const d of readPackedVarints(source, field, 'MINDIR_INVALID', MAX_DIMS)) {
                if (t.dims.length >= MAX_DIMS) throw new ScanAbort('SCAN_LIMIT_EXCEEDED', `a tensor has more than ${MAX_DIMS} dimensions`, field.offset);
                t.dims.push(BigInt.asIntN(64, d));
              }
            } else if (field.number === 2) t.dataType = Number(BigInt.asIntN(32, field.value));
            else if (field.number === 7) t.name = readProtoString(source, field, 128);
            else if (field.number === 9) {
              t.rawLength = field.dataLength;
              t.rawOffset = field.dataOffset;
            }
          } else if (field.message === 'ExternalDataProto' && t?.external !== undefined) {
            if (field.number === 1) t.external.location = field.dataLength > 4096 ? '\u0000(longer than 4096 bytes)' : readProtoString(source, field, 4096);
            else if (field.number === 2) t.external.offset = BigInt.asIntN(64, field.value);
            else if (field.number === 3) t.external.length = BigInt.asIntN(64, field.value);
          }
        },
        onWireTypeMismatch() {
          wireTypeNotes++;
        },
      },
      { invalidCode: 'MINDIR_INVALID' },
    );
    if (wireTypeNotes > 0) ctx.report({ code: 'PROTOBUF_WIRE_TYPE', message: `${wireTypeNotes} known field(s) with another wire type (kept as unknown fields by protobuf)`, detail: { fields: wireTypeNotes } });
    if (!hasGraph) ctx.report({ code: 'MINDIR_INVALID', message: 'the MindIR model has no graph' });
    return { ...info, unknownFields: stats.unknownFields };
  },
};

function checkTensor(t: TensorState, ctx: ScanContext): void {
  const what = t.name === '' ? 'a tensor' : `tensor ${JSON.stringify(t.name)}`;
  const size = MINDIR_TYPE_SIZES[t.dataType];
  if (t.rawLength >= 0 && size !== undefined && t.dims.every((d) => d >= 0n)) {
    const needed = t.dims.reduce((p, d) => p * d, 1n) * BigInt(size);
    if (BigInt(t.rawLength) !== needed) {
      ctx.report({ code: 'MINDIR_TENSOR_DATA_SIZE', message: `${what} has ${t.rawLength} raw bytes; its shape and type need ${needed}`, offset: t.rawOffset, detail: { bytes: t.rawLength, needed: needed.toString() } });
    }
  }
  const ext = t.external;
  if (ext === undefined) return;
  const location = ext.location ?? '';
  const resolved = resolveModelReference(ctx.path, location);
  if ('escapes' in resolved) {
    ctx.report({ code: 'MINDIR_EXTERNAL_DATA_PATH', message: `${what} reads external data from ${JSON.stringify(location)}: ${resolved.escapes}`, offset: ext.offsetAt, detail: { location } });
    return;
  }
  if (!ctx.modelFiles.has(resolved.path)) {
    ctx.report({ code: 'MINDIR_EXTERNAL_DATA_UNSIGNED', message: `${what} reads external data from ${resolved.path}, which is not part of the model; sign the directory that holds both`, offset: ext.offsetAt, detail: { location } });
    return;
  }
  const fileSize = ctx.modelFileSizes?.get(resolved.path);
  if (ext.offset < 0n || ext.length < 0n || (fileSize !== undefined && ext.offset + ext.length > BigInt(fileSize))) {
    ctx.report({ code: 'MINDIR_EXTERNAL_DATA_RANGE', message: `${what} reads bytes ${ext.offset}..${ext.offset + ext.length} of ${resolved.path}${fileSize === undefined ? '' : `, which has ${fileSize}`}`, offset: ext.offsetAt, detail: { location, offset: ext.offset.toString(), length: ext.length.toString() } });
  }
}
