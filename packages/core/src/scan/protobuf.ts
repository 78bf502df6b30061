/**
 * A bounded, iterative protobuf wire-format walker (pure), shared by the MindIR, checkpoint and
 * ONNX scanners. It never builds objects: it reports each field to a visitor, descends into the
 * fields a schema table names as messages, and skips everything else by length, so large tensors
 * cost nothing to walk.
 *
 * Rules (libprotobuf's, so that what the walker accepts is what the real loaders accept):
 * - varints are at most 10 bytes, and a 10th byte above 1 is invalid;
 * - wire types 3, 4 (groups), 6 and 7 are invalid;
 * - a length-delimited field must end inside its enclosing message;
 * - nesting deeper than `maxDepth` (default 100, libprotobuf's recursion limit) and more than
 *   `maxFields` fields (default 50,000,000) stop the walk with SCAN_LIMIT_EXCEEDED;
 * - unknown fields are legal and skipped (counted in the result);
 * - a known field with another wire type is legal too (libprotobuf keeps it as an unknown field):
 *   the visitor hears about it through `onWireTypeMismatch` and the walker does not descend;
 * - packed repeated scalars (wire type 2 on a varint/fixed field) are accepted.
 *
 * Invalid wire data throws ScanAbort(options.invalidCode) with the offset; the caller's scan
 * catches it per file, keeping the findings reported before.
 *
 * Example:
 *   const stats = walkProtobuf(source, 'ModelProto', MINDIR_SCHEMA, {
 *     onField(f) { if (f.message === 'NodeProto' && f.number === 4) opType = readProtoString(source, f); },
 *   }, { invalidCode: 'MINDIR_INVALID' });
 */
import type { ScanCode } from './codes.js';
import { readPrefix } from './source.js';
import { ScanAbort, type ByteSource } from './types.js';

export type WireType = 0 | 1 | 2 | 5;

/** How a schema field is encoded. `message` fields are descended into. */
export type ProtoFieldKind =
  | { readonly kind: 'varint' | 'fixed32' | 'fixed64' | 'bytes' | 'string' }
  | { readonly kind: 'message'; readonly message: string };

export interface ProtoFieldSpec {
  readonly name: string;
  readonly type: ProtoFieldKind;
  readonly repeated?: boolean;
}

/** Message name -> field number -> spec. Only the fields a scanner needs must be listed. */
export type ProtoSchema = Readonly<Record<string, Readonly<Record<number, ProtoFieldSpec>>>>;

/** One field as the walker met it. */
export interface ProtoField {
  /** The enclosing message's schema name. */
  readonly message: string;
  readonly number: number;
  readonly wireType: WireType;
  /** Offset of the field's tag. */
  readonly offset: number;
  /** Varint, fixed32 and fixed64 values (unsigned; use BigInt.asIntN for signed fields). */
  readonly value: bigint;
  /** Wire type 2: where the payload starts and how long it is. */
  readonly dataOffset: number;
  readonly dataLength: number;
  /** Nesting depth of the enclosing message (the root is 0). */
  readonly depth: number;
  /** The schema's spec for this field, when it names it. */
  readonly spec: ProtoFieldSpec | undefined;
}

export interface ProtoVisitor {
  /** Every field that is not descended into (scalars, strings, bytes, unknown fields). */
  onField?(field: ProtoField): void;
  /** A message field is entered; its own fields follow, then onLeave. */
  onEnter?(field: ProtoField, message: string): void;
  onLeave?(message: string, endOffset: number): void;
  /** A known field arrived with a wire type its kind does not allow (and is not packed). */
  onWireTypeMismatch?(field: ProtoField): void;
}

export interface ProtoWalkOptions {
  /** Code thrown for invalid wire data: MINDIR_INVALID, ONNX_INVALID, CKPT_INVALID, ... */
  readonly invalidCode: ScanCode;
  /** Walk [start, end) of the source (default: all of it). */
  readonly start?: number;
  readonly end?: number;
  readonly maxDepth?: number;
  readonly maxFields?: number;
}

export interface ProtoWalkStats {
  readonly fields: number;
  readonly unknownFields: number;
  readonly maxDepth: number;
}

export const PROTOBUF_LIMITS = { depth: 100, fields: 50_000_000 } as const;

const EXPECTED_WIRE: Record<ProtoFieldKind['kind'], WireType> = { varint: 0, fixed64: 1, bytes: 2, string: 2, message: 2, fixed32: 5 };

/** Walks a protobuf message iteratively (explicit stack; depth bounded by maxDepth). */
export function walkProtobuf(source: ByteSource, root: string, schema: ProtoSchema, visitor: ProtoVisitor, options: ProtoWalkOptions): ProtoWalkStats {
  const maxDepth = options.maxDepth ?? PROTOBUF_LIMITS.depth;
  const maxFields = options.maxFields ?? PROTOBUF_LIMITS.fields;
  const invalid = (message: string, offset: number): never => {
    throw new ScanAbort(options.invalidCode, message, offset);
  };
  const stack: { message: string; end: number }[] = [{ message: root, end: options.end ?? source.size }];
  let pos = options.start ?? 0;
  let fields = 0;
  let unknownFields = 0;
  let deepest = 0;
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (pos >= top.end) {
      stack.pop();
      if (stack.length > 0) visitor.onLeave?.(top.message, top.end);
      continue;
    }
    if (++fields > maxFields) throw new ScanAbort('SCAN_LIMIT_EXCEEDED', `more than ${maxFields} protobuf fields`, pos);
    const offset = pos;
    const [tag, afterTag] = decodeVarint(source, pos, top.end, invalid);
    pos = afterTag;
    if (tag > 0xffffffffn) invalid('a protobuf tag is out of range', offset);
    const number = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (number === 0) invalid('a protobuf field number is 0', offset);
    const spec = schema[top.message]?.[number];
    if (spec === undefined) unknownFields++;
    let value = 0n;
    let dataOffset = pos;
    let dataLength = 0;
    switch (wire) {
      case 0:
        [value, pos] = decodeVarint(source, pos, top.end, invalid);
        break;
      case 1:
      case 5: {
        const width = wire === 1 ? 8 : 4;
        if (pos > top.end - width) invalid('a fixed-width protobuf field runs past its message', offset);
        const b = source.read(pos, width);
        for (let i = width - 1; i >= 0; i--) value = (value << 8n) | BigInt(b[i]!);
        pos += width;
        break;
      }
      case 2: {
        let length: bigint;
        [length, pos] = decodeVarint(source, pos, top.end, invalid);
        if (length > BigInt(top.end - pos)) invalid('a length-delimited protobuf field runs past its message', offset);
        dataOffset = pos;
        dataLength = Number(length);
        pos += dataLength;
        break;
      }
      default:
        invalid(`protobuf wire type ${wire} is not allowed`, offset);
    }
    const field: ProtoField = { message: top.message, number, wireType: wire as WireType, offset, value, dataOffset, dataLength, depth: stack.length - 1, spec };
    if (spec !== undefined && EXPECTED_WIRE[spec.type.kind] !== wire && !(wire === 2 && spec.repeated && spec.type.kind !== 'message' && spec.type.kind !== 'bytes' && spec.type.kind !== 'string')) {
      visitor.onWireTypeMismatch?.(field);
      continue;
    }
    if (spec !== undefined && spec.type.kind === 'message') {
      if (stack.length > maxDepth) throw new ScanAbort('SCAN_LIMIT_EXCEEDED', `protobuf messages nested deeper than ${maxDepth} levels`, offset);
      deepest = Math.max(deepest, stack.length);
      visitor.onEnter?.(field, spec.type.message);
      stack.push({ message: spec.type.message, end: pos });
      pos = dataOffset;
      continue;
    }
    visitor.onField?.(field);
  }
  return { fields, unknownFields, maxDepth: deepest };
}

/** Decodes one varint at `pos` that must end before `end`; returns [value, next position]. */
export function decodeVarint(source: ByteSource, pos: number, end: number, invalid: (message: string, offset: number) => never): [bigint, number] {
  const bytes = readPrefix(source, pos, Math.min(10, end - pos));
  let value = 0n;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (i === 9 && b > 1) invalid('a protobuf varint overflows 64 bits', pos);
    value |= BigInt(b & 0x7f) << BigInt(7 * i);
    if ((b & 0x80) === 0) return [value, pos + i + 1];
  }
  return invalid(bytes.length === 10 ? 'a protobuf varint is longer than 10 bytes' : 'a protobuf varint runs past its message', pos);
}

/** The varints of a packed repeated field (or the single value of an unpacked one), at most `max`. */
export function readPackedVarints(source: ByteSource, field: ProtoField, invalidCode: ScanCode, max: number): bigint[] {
  if (field.wireType === 0) return [field.value];
  const out: bigint[] = [];
  const invalid = (message: string, offset: number): never => {
    throw new ScanAbort(invalidCode, message, offset);
  };
  let pos = field.dataOffset;
  const end = field.dataOffset + field.dataLength;
  while (pos < end) {
    if (out.length >= max) throw new ScanAbort('SCAN_LIMIT_EXCEEDED', `more than ${max} packed values in one field`, pos);
    let v: bigint;
    [v, pos] = decodeVarint(source, pos, end, invalid);
    out.push(v);
  }
  return out;
}

/** A length-delimited field's bytes as text (invalid UTF-8 becomes U+FFFD), cut to `maxBytes`. */
export function readProtoString(source: ByteSource, field: ProtoField, maxBytes = 4096): string {
  const bytes = source.read(field.dataOffset, Math.min(field.dataLength, maxBytes));
  return new TextDecoder('utf-8').decode(bytes);
}

/** True when a length-delimited field's bytes are valid UTF-8 (proto3 `string` fields require it). */
export function isValidUtf8Field(source: ByteSource, field: ProtoField): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(source.read(field.dataOffset, field.dataLength));
    return true;
  } catch {
    return false;
  }
}
