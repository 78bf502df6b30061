/**
 * MindSpore checkpoint (`.ckpt`, protobuf `Checkpoint`) scanner (pure). Checks tensor types and
 * that each parameter's bytes (the concatenation of all values with its tag, as the loader joins
 * them) match its shape. The optional `crc_num` trailer is unkeyed: it proves nothing the
 * signature does not, so its absence is only a note.
 */
import { readPackedVarints, readProtoString, walkProtobuf, type ProtoSchema } from '../protobuf.js';
import { bytesAre } from '../source.js';
import type { ByteSource, FormatScanner } from '../types.js';

/** The optional `crc_num` trailer MindSpore appends to checkpoints: 7 bytes of name, 10 of CRC. */
export function checkpointBodyEnd(source: ByteSource): number {
  if (source.size >= 17 && bytesAre(source.read(source.size - 17, 7), 0, 'crc_num')) return source.size - 17;
  return source.size;
}

const msg = (message: string) => ({ kind: 'message', message }) as const;

export const CKPT_SCHEMA: ProtoSchema = {
  Checkpoint: { 1: { name: 'value', type: msg('Value'), repeated: true } },
  Value: { 1: { name: 'tag', type: { kind: 'string' } }, 2: { name: 'tensor', type: msg('TensorProto') } },
  TensorProto: {
    1: { name: 'dims', type: { kind: 'varint' }, repeated: true },
    2: { name: 'tensor_type', type: { kind: 'string' } },
    3: { name: 'tensor_content', type: { kind: 'bytes' } },
  },
};

/** MindSpore's tensor_to_ms_type keys and their element sizes (`str` has none). */
const CKPT_TYPES: Readonly<Record<string, number | undefined>> = {
  Int8: 1, Int16: 2, Int32: 4, Int64: 8, UInt8: 1, UInt16: 2, UInt32: 4, UInt64: 8, Float16: 2, Float32: 4, Float64: 8, BFloat16: 2, Bool: 1, str: undefined,
};

interface Parameter {
  dims: bigint[];
  type: string;
  bytes: bigint;
  offset: number;
}

export const ckptScanner: FormatScanner = {
  format: 'mindspore-ckpt',
  scan(source, ctx) {
    const end = checkpointBodyEnd(source);
    const hasCrc = end !== source.size;
    if (!hasCrc) ctx.report({ code: 'CKPT_CRC_ABSENT', message: 'the checkpoint has no crc_num trailer' });
    const params = new Map<string, Parameter>();
    let current: { tag: string; dims: bigint[]; type: string; bytes: number; hasTensor: boolean; offset: number } | undefined;
    let values = 0;
    walkProtobuf(
      source,
      'Checkpoint',
      CKPT_SCHEMA,
      {
        onEnter(field, message) {
          if (message === 'Value') {
            values++;
            current = { tag: '', dims: [], type: '', bytes: 0, hasTensor: false, offset: field.offset };
          } else if (message === 'TensorProto' && current !== undefined) current.hasTensor = true;
        },
        onField(field) {
          if (current === undefined) return;
          if (field.message === 'Value' && field.number === 1) current.tag = readProtoString(source, field, 1024);
          else if (field.message === 'TensorProto') {
            if (field.number === 1) current.dims.push(...readPackedVarints(source, field, 'CKPT_INVALID', 1024).map((d) => BigInt.asIntN(64, d)));
            else if (field.number === 2) current.type = readProtoString(source, field, 64);
            else if (field.number === 3) current.bytes += field.dataLength;
          }
        },
        onLeave(message) {
          if (message !== 'Value' || current === undefined) return;
          const v = current;
          current = undefined;
          // An empty tensor is a map-parameter chunk: accepted.
          if (!v.hasTensor || (v.type === '' && v.bytes === 0 && v.dims.length === 0)) return;
          if (!(v.type in CKPT_TYPES)) {
            ctx.report({ code: 'CKPT_TENSOR_TYPE', message: `parameter ${JSON.stringify(v.tag)} has tensor type ${JSON.stringify(v.type)}, which MindSpore does not know`, offset: v.offset, detail: { tag: v.tag, type: v.type } });
            return;
          }
          const p = params.get(v.tag);
          if (p === undefined) params.set(v.tag, { dims: v.dims, type: v.type, bytes: BigInt(v.bytes), offset: v.offset });
          else p.bytes += BigInt(v.bytes);
        },
      },
      { invalidCode: 'CKPT_INVALID', end },
    );
    for (const [tag, p] of params) {
      const size = CKPT_TYPES[p.type];
      if (size === undefined || p.dims.some((d) => d < 0n)) continue;
      const needed = p.dims.reduce((a, d) => a * d, 1n) * BigInt(size);
      if (p.bytes !== needed) {
        ctx.report({ code: 'CKPT_TENSOR_SIZE', message: `parameter ${JSON.stringify(tag)} has ${p.bytes} bytes; its shape and type need ${needed}`, offset: p.offset, detail: { tag, bytes: p.bytes.toString(), needed: needed.toString() } });
      }
    }
    return { values, parameters: params.size, crc: hasCrc ? 'present' : 'absent' };
  },
};
