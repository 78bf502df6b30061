/**
 * ONNX (`onnx.ModelProto`). ONNX Runtime loads no code a model names, so the risk is what the
 * loader reads: external-data locations that leave the model directory (`../`, absolute paths,
 * nested `sub/../../`; the ONNX traversal CVEs) or name a file that was not signed. Tensor sizes
 * are checked against their shape, and nodes from custom operator domains are noted. The walk
 * goes through subgraphs (If/Loop/Scan attributes), functions and training graphs, bounded by
 * the protobuf walker's depth and field limits.
 */
import { resolveModelReference } from './reference.js';
import { readPackedVarints, readProtoString, walkProtobuf, type ProtoSchema } from './protobuf.js';
import type { FindingInput, FormatScanner } from './types.js';

const msg = (message: string, repeated = true) => ({ type: { kind: 'message' as const, message }, repeated });
const scalar = (kind: 'varint' | 'bytes' | 'string', repeated = false) => ({ type: { kind }, repeated });

/** The fields this scanner reads (others are skipped as unknown, as protobuf allows). */
export const ONNX_SCHEMA: ProtoSchema = {
  ModelProto: { 1: { name: 'ir_version', ...scalar('varint') }, 7: { name: 'graph', ...msg('GraphProto', false) }, 20: { name: 'training_info', ...msg('TrainingInfoProto') }, 25: { name: 'functions', ...msg('FunctionProto') } },
  TrainingInfoProto: { 1: { name: 'initialization', ...msg('GraphProto', false) }, 2: { name: 'algorithm', ...msg('GraphProto', false) } },
  FunctionProto: { 7: { name: 'node', ...msg('NodeProto') } },
  GraphProto: { 1: { name: 'node', ...msg('NodeProto') }, 5: { name: 'initializer', ...msg('TensorProto') }, 15: { name: 'sparse_initializer', ...msg('SparseTensorProto') } },
  NodeProto: { 4: { name: 'op_type', ...scalar('string') }, 5: { name: 'attribute', ...msg('AttributeProto') }, 7: { name: 'domain', ...scalar('string') } },
  AttributeProto: {
    5: { name: 't', ...msg('TensorProto', false) },
    6: { name: 'g', ...msg('GraphProto', false) },
    10: { name: 'tensors', ...msg('TensorProto') },
    11: { name: 'graphs', ...msg('GraphProto') },
    22: { name: 'sparse_tensor', ...msg('SparseTensorProto', false) },
    23: { name: 'sparse_tensors', ...msg('SparseTensorProto') },
  },
  SparseTensorProto: { 1: { name: 'values', ...msg('TensorProto', false) }, 2: { name: 'indices', ...msg('TensorProto', false) } },
  TensorProto: {
    1: { name: 'dims', ...scalar('varint', true) },
    2: { name: 'data_type', ...scalar('varint') },
    8: { name: 'name', ...scalar('string') },
    9: { name: 'raw_data', ...scalar('bytes') },
    13: { name: 'external_data', ...msg('StringStringEntryProto') },
    14: { name: 'data_location', ...scalar('varint') },
  },
  StringStringEntryProto: { 1: { name: 'key', ...scalar('string') }, 2: { name: 'value', ...scalar('string') } },
};

/** ONNX TensorProto.DataType -> bits per element, for the fixed-size types. */
const DATA_TYPE_BITS: ReadonlyMap<number, number> = new Map([
  [1, 32], [2, 8], [3, 8], [4, 16], [5, 16], [6, 32], [7, 64], [9, 8], [10, 16], [11, 64], [12, 32], [13, 64], [14, 64], [15, 128],
  [16, 16], [17, 8], [18, 8], [19, 8], [20, 8], [21, 4], [22, 4], [23, 4],
]);

const KNOWN_DOMAINS = new Set(['', 'ai.onnx', 'ai.onnx.ml', 'com.microsoft']);
const MAX_DIMS = 64;

interface TensorState {
  name: string;
  dims: bigint[];
  dataType: number;
  rawLength: number | undefined;
  external: Map<string, string>;
  location: number;
  offset: number;
}

export const onnxScanner: FormatScanner = {
  format: 'onnx',
  scan(source, ctx) {
    const report = (f: FindingInput) => ctx.report(f);
    const tensors: TensorState[] = [];
    const entries: { key: string; value: string }[] = [];
    const domains = new Set<string>();
    let hasGraph = false;
    let nodes = 0;
    let initializers = 0;
    const stats = walkProtobuf(
      source,
      'ModelProto',
      ONNX_SCHEMA,
      {
        onEnter(field, message) {
          if (field.message === 'ModelProto' && field.number === 7) hasGraph = true;
          if (message === 'TensorProto') tensors.push({ name: '', dims: [], dataType: 0, rawLength: undefined, external: new Map(), location: 0, offset: field.offset });
          if (message === 'StringStringEntryProto') entries.push({ key: '', value: '' });
          if (message === 'NodeProto') nodes++;
        },
        onField(field) {
          if (field.message === 'TensorProto') {
            const t = tensors[tensors.length - 1]!;
            if (field.number === 1) t.dims.push(...readPackedVarints(source, field, 'ONNX_INVALID', MAX_DIMS));
            else if (field.number === 2) t.dataType = Number(field.value);
            else if (field.number === 8) t.name = readProtoString(source, field, 256);
            else if (field.number === 9) t.rawLength = field.dataLength;
            else if (field.number === 14) t.location = Number(field.value);
          } else if (field.message === 'StringStringEntryProto') {
            const e = entries[entries.length - 1]!;
            // Locations are compared whole (a NUL or '..' past 4 KiB must not be cut off).
            if (field.number === 1) e.key = readProtoString(source, field, 256);
            else if (field.number === 2) e.value = readProtoString(source, field, 64 * 1024);
          } else if (field.message === 'NodeProto' && field.number === 7) {
            domains.add(readProtoString(source, field, 256));
          }
        },
        onLeave(message) {
          if (message === 'StringStringEntryProto') {
            const e = entries.pop()!;
            const t = tensors[tensors.length - 1];
            if (t !== undefined && !t.external.has(e.key)) t.external.set(e.key, e.value);
          } else if (message === 'TensorProto') {
            initializers++;
            checkTensor(tensors.pop()!, ctx, report);
          }
        },
      },
      { invalidCode: 'ONNX_INVALID' },
    );
    if (!hasGraph) report({ code: 'ONNX_INVALID', message: 'the model has no graph' });
    for (const d of domains) {
      if (!KNOWN_DOMAINS.has(d)) report({ code: 'ONNX_CUSTOM_DOMAIN', message: `operators from custom domain ${JSON.stringify(d)} need kernels the host registers`, detail: { domain: d } });
    }
    return { nodes, tensors: initializers, unknownFields: stats.unknownFields };
  },
};

const shown = (s: string) => JSON.stringify(s.length > 120 ? `${s.slice(0, 120)}...` : s);

function checkTensor(t: TensorState, ctx: Parameters<FormatScanner['scan']>[1], report: (f: FindingInput) => void): void {
  const where = { offset: t.offset, detail: { tensor: t.name } };
  if (t.location === 1 || t.external.size > 0) {
    const location = t.external.get('location');
    if (location === undefined) {
      report({ code: 'ONNX_EXTERNAL_DATA_PATH', message: `tensor ${shown(t.name)} has external data without a location`, ...where });
      return;
    }
    const target = resolveModelReference(ctx.path, location);
    if ('escapes' in target) {
      report({ code: 'ONNX_EXTERNAL_DATA_PATH', message: `tensor ${shown(t.name)} reads external data from ${shown(location)}: ${target.escapes}`, ...where });
      return;
    }
    if (!ctx.modelFiles.has(target.path)) {
      report({ code: 'ONNX_EXTERNAL_DATA_UNSIGNED', message: `tensor ${shown(t.name)} reads external data from ${shown(location)}, which is not a file of the model`, ...where });
      return;
    }
    const number = (key: string) => {
      const v = t.external.get(key);
      if (v === undefined) return 0n;
      return /^\d{1,20}$/u.test(v) ? BigInt(v) : undefined;
    };
    const offset = number('offset');
    const length = number('length');
    const size = ctx.modelFileSizes?.get(target.path);
    if (offset === undefined || length === undefined) {
      report({ code: 'ONNX_EXTERNAL_DATA_RANGE', message: `tensor ${shown(t.name)} has an external-data offset or length that is not a decimal number`, ...where });
    } else if (size !== undefined && offset + (t.external.has('length') ? length : 0n) > BigInt(size)) {
      report({ code: 'ONNX_EXTERNAL_DATA_RANGE', message: `tensor ${shown(t.name)} reads bytes ${offset}..${offset + length} of ${shown(location)}, which has ${size}`, ...where });
    }
    return;
  }
  const bits = DATA_TYPE_BITS.get(t.dataType);
  if (t.rawLength === undefined || bits === undefined) return;
  const count = t.dims.reduce((a, b) => a * BigInt.asIntN(64, b), 1n);
  const want = (count * BigInt(bits) + 7n) / 8n;
  if (count < 0n || BigInt(t.rawLength) !== want) {
    report({ code: 'ONNX_TENSOR_SIZE', message: `tensor ${shown(t.name)} has ${t.rawLength} raw bytes, but its shape and type need ${want}`, ...where });
  }
}
