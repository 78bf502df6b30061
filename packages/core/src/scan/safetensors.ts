/**
 * safetensors: an 8-byte little-endian header length, a JSON header, then the data region. The
 * checks follow the reference implementation (header ≤ 100,000,000 bytes, starting with `{`,
 * every byte of the data region owned by exactly one tensor, sizes matching dtype × shape), and
 * are stricter where readers disagree: duplicate keys are refused. A size mismatch or an overlap
 * is unsafe (lenient readers read out of bounds or alias tensors); holes are malformed (the
 * reference forbids them so a file cannot double as another format).
 */
import type { ByteSource, FindingInput, FormatInfo, FormatScanner, ScanContext } from './types.js';
import { JsonError, JsonNumber, parseStrictJson, type JsonValue } from '../format/json.js';
import { resolveModelReference } from './reference.js';
import { readU64 } from './source.js';

export const SAFETENSORS_LIMITS = { headerBytes: 100_000_000 } as const;

/** Bits per element of every dtype the reference reader knows. */
export const SAFETENSORS_DTYPE_BITS: ReadonlyMap<string, number> = new Map([
  ['BOOL', 8], ['U8', 8], ['I8', 8], ['U16', 16], ['I16', 16], ['F16', 16], ['BF16', 16], ['U32', 32], ['I32', 32], ['F32', 32],
  ['U64', 64], ['I64', 64], ['F64', 64], ['C64', 64], ['F8_E5M2', 8], ['F8_E4M3', 8], ['F8_E4M3FNUZ', 8], ['F8_E5M2FNUZ', 8],
  ['F8_E8M0', 8], ['F4', 4], ['F6_E2M3', 6], ['F6_E3M2', 6],
]);

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const shown = (s: string) => JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}...` : s);

/** A non-negative integer ≤ 2^53 - 1, or undefined. */
const index = (v: JsonValue | undefined): bigint | undefined => {
  const n = v instanceof JsonNumber ? v.asBigInt() : undefined;
  return n !== undefined && n >= 0n && n <= MAX_SAFE ? n : undefined;
};

export function scanSafetensors(source: ByteSource, ctx: ScanContext): FormatInfo {
  const report = (f: FindingInput) => ctx.report(f);
  if (source.size < 8) {
    report({ code: 'SAFETENSORS_HEADER_SIZE', message: 'the file is shorter than the 8-byte header length', offset: 0 });
    return {};
  }
  const n = readU64(source, 0);
  if (n > BigInt(SAFETENSORS_LIMITS.headerBytes) || n > BigInt(source.size - 8) || n < 2n) {
    report({ code: 'SAFETENSORS_HEADER_SIZE', message: `the header length ${n} is out of bounds (file of ${source.size} bytes, limit ${SAFETENSORS_LIMITS.headerBytes})`, offset: 0 });
    return {};
  }
  const headerBytes = source.read(8, Number(n));
  if (headerBytes[0] !== 0x7b) {
    report({ code: 'SAFETENSORS_HEADER_JSON', message: 'the header does not start with {', offset: 8 });
    return {};
  }
  let header: JsonValue;
  try {
    header = parseStrictJson(headerBytes, { trailingSpaces: true });
  } catch (error) {
    if (!(error instanceof JsonError)) throw error;
    report({ code: 'SAFETENSORS_HEADER_JSON', message: `the header is not strict JSON: ${error.message}`, offset: 8 + error.offset });
    return {};
  }
  if (!(header instanceof Map)) {
    report({ code: 'SAFETENSORS_HEADER_JSON', message: 'the header is not a JSON object', offset: 8 });
    return {};
  }
  const dataStart = 8 + Number(n);
  const dataLength = BigInt(source.size - dataStart);
  const ranges: { name: string; begin: bigint; end: bigint }[] = [];
  let metadataFormat: string | undefined;
  for (const [name, value] of header) {
    if (name === '__metadata__') {
      const ok = value instanceof Map && [...value.values()].every((v) => typeof v === 'string');
      if (!ok) report({ code: 'SAFETENSORS_METADATA', message: '__metadata__ is not an object of strings', offset: 8 });
      else if (typeof value.get('format') === 'string') metadataFormat = value.get('format') as string;
      continue;
    }
    const bad = (code: 'SAFETENSORS_OFFSETS' | 'SAFETENSORS_DTYPE', why: string) => report({ code, message: `tensor ${shown(name)} ${why}`, offset: 8, detail: { tensor: name.slice(0, 128) } });
    if (!(value instanceof Map)) {
      bad('SAFETENSORS_OFFSETS', 'is not an object');
      continue;
    }
    const keys = [...value.keys()].sort().join(',');
    if (keys !== 'data_offsets,dtype,shape') {
      bad('SAFETENSORS_OFFSETS', `has fields ${shown(keys)}, not exactly dtype, shape and data_offsets`);
      continue;
    }
    const dtype = value.get('dtype');
    const bits = typeof dtype === 'string' ? SAFETENSORS_DTYPE_BITS.get(dtype) : undefined;
    if (bits === undefined) bad('SAFETENSORS_DTYPE', `has dtype ${typeof dtype === 'string' ? shown(dtype) : 'that is not a string'}`);
    const shape = value.get('shape');
    const dims = Array.isArray(shape) ? shape.map(index) : undefined;
    const offsets = value.get('data_offsets');
    const pair = Array.isArray(offsets) && offsets.length === 2 ? offsets.map(index) : undefined;
    if (dims === undefined || dims.some((d) => d === undefined)) {
      bad('SAFETENSORS_OFFSETS', 'has a shape that is not a list of non-negative integers');
      continue;
    }
    if (pair === undefined || pair[0] === undefined || pair[1] === undefined || pair[0] > pair[1] || pair[1] > dataLength) {
      bad('SAFETENSORS_OFFSETS', `has data_offsets that are not two integers 0 ≤ begin ≤ end ≤ ${dataLength}`);
      continue;
    }
    const [begin, end] = pair as [bigint, bigint];
    ranges.push({ name, begin, end });
    if (bits === undefined) continue;
    const totalBits = (dims as bigint[]).reduce((a, b) => a * b, 1n) * BigInt(bits);
    if (totalBits % 8n !== 0n || end - begin !== totalBits / 8n) {
      report({
        code: 'SAFETENSORS_SIZE_MISMATCH',
        message: `tensor ${shown(name)} has ${end - begin} bytes, but ${dtype as string} × shape needs ${totalBits % 8n === 0n ? `${totalBits / 8n}` : `${totalBits} bits (not whole bytes)`}`,
        offset: dataStart + Number(begin),
        detail: { tensor: name.slice(0, 128) },
      });
    }
  }
  // Every data byte belongs to exactly one tensor: sorted by begin, each starts where the last ended.
  ranges.sort((a, b) => (a.begin < b.begin ? -1 : a.begin > b.begin ? 1 : a.end < b.end ? -1 : a.end > b.end ? 1 : 0));
  let covered = 0n;
  let overlapReported = false;
  let holeReported = false;
  for (const r of ranges) {
    if (r.begin < covered && r.end > r.begin && !overlapReported) {
      overlapReported = true;
      report({ code: 'SAFETENSORS_OVERLAP', message: `tensor ${shown(r.name)} overlaps another tensor's bytes`, offset: dataStart + Number(r.begin), detail: { tensor: r.name.slice(0, 128) } });
    } else if (r.begin > covered && !holeReported) {
      holeReported = true;
      report({ code: 'SAFETENSORS_HOLE', message: `bytes ${covered}..${r.begin} of the data region belong to no tensor`, offset: dataStart + Number(covered) });
    }
    if (r.end > covered) covered = r.end;
  }
  if (covered < dataLength && !holeReported) {
    report({ code: 'SAFETENSORS_HOLE', message: `the last ${dataLength - covered} bytes of the data region belong to no tensor`, offset: dataStart + Number(covered) });
  }
  return { tensors: ranges.length, ...(metadataFormat === undefined ? {} : { metadataFormat: metadataFormat.slice(0, 32) }) };
}

export const safetensorsScanner: FormatScanner = { format: 'safetensors', scan: scanSafetensors };

/**
 * `model.safetensors.index.json`: every `weight_map` value must be a shard inside the model and
 * among its files (a loader opens whatever path the index names).
 */
export const safetensorsIndexScanner: FormatScanner = { format: 'safetensors-index', scan: (source, ctx) => scanSafetensorsIndex(source, ctx) };

function scanSafetensorsIndex(source: ByteSource, ctx: ScanContext): FormatInfo {
  let index: JsonValue;
  try {
    index = parseStrictJson(source.read(0, Math.min(source.size, 64 * 1024 * 1024)));
  } catch (error) {
    if (!(error instanceof JsonError)) throw error;
    ctx.report({ code: 'SAFETENSORS_HEADER_JSON', message: `the index is not strict JSON: ${error.message}`, offset: error.offset });
    return {};
  }
  const map = index instanceof Map ? index.get('weight_map') : undefined;
  if (!(map instanceof Map)) return { shards: 0 };
  const shards = new Set<string>();
  for (const v of map.values()) if (typeof v === 'string') shards.add(v);
  for (const shard of shards) {
    const target = resolveModelReference(ctx.path, shard);
    if ('escapes' in target) ctx.report({ code: 'SAFETENSORS_INDEX_PATH', message: `the index names shard ${shown(shard)}: ${target.escapes}` });
    else if (!ctx.modelFiles.has(target.path)) ctx.report({ code: 'SAFETENSORS_INDEX_PATH', message: `the index names shard ${shown(shard)}, which is not a file of the model` });
  }
  return { shards: shards.size };
}
