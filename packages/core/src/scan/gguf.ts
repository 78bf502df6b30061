/**
 * GGUF (llama.cpp / ggml). Every count and length is checked against the bytes that remain before
 * anything is read (the integer- and heap-overflow class reported against ggml's loader), tensor
 * data must lie aligned inside the file without overlaps, and chat templates (Jinja2 that
 * consumers render) are flagged: a note for any template, unsafe when it reaches Python internals.
 */
import type { ByteSource, FindingInput, FormatInfo, FormatScanner, ScanContext } from './types.js';
import { ScanAbort } from './types.js';
import { readU32, readU64 } from './source.js';
import { JsonError, parseStrictJson, type JsonValue } from '../format/json.js';

export const GGUF_LIMITS = {
  stringBytes: 64 * 1024 * 1024,
  arrayNesting: 2,
  maxAlignment: 1024 * 1024,
  maxDims: 4,
} as const;

/** ggml type -> [elements per block, bytes per block] (ggml.c type_traits; removed types left out). */
export const GGML_TYPES: ReadonlyMap<number, readonly [number, number]> = new Map([
  [0, [1, 4]], [1, [1, 2]], [2, [32, 18]], [3, [32, 20]], [6, [32, 22]], [7, [32, 24]], [8, [32, 34]], [9, [32, 36]],
  [10, [256, 84]], [11, [256, 110]], [12, [256, 144]], [13, [256, 176]], [14, [256, 210]], [15, [256, 292]],
  [16, [256, 66]], [17, [256, 74]], [18, [256, 98]], [19, [256, 50]], [20, [32, 18]], [21, [256, 110]], [22, [256, 82]],
  [23, [256, 136]], [24, [1, 1]], [25, [1, 2]], [26, [1, 4]], [27, [1, 8]], [28, [1, 8]], [29, [256, 56]], [30, [1, 2]],
  [34, [256, 54]], [35, [256, 66]], [39, [32, 17]],
]);

/** Value type -> fixed size in bytes (STRING = 8 and ARRAY = 9 are variable). */
const VALUE_SIZE = [1, 1, 2, 2, 4, 4, 4, 1, -1, -1, 8, 8, 8];
const STRING = 8;
const ARRAY = 9;

/** Template text that reaches Python objects from Jinja2 (the CVE-2024-34359 shape). */
const TEMPLATE_INJECTION = /__class__|__mro__|__subclasses__|__globals__|__builtins__|__import__|__init__|os\.|popen|subprocess|eval\(|exec\(/iu;

export function isTemplateInjection(template: string): boolean {
  return TEMPLATE_INJECTION.test(template);
}

class Reader {
  pos = 0;
  constructor(readonly source: ByteSource) {}
  get remaining(): number {
    return this.source.size - this.pos;
  }
  u32(): number {
    const v = readU32(this.source, this.pos);
    this.pos += 4;
    return v;
  }
  u64(): bigint {
    const v = readU64(this.source, this.pos);
    this.pos += 8;
    return v;
  }
}

class Stop extends Error {}

export function scanGguf(source: ByteSource, ctx: ScanContext): FormatInfo {
  const report = (f: FindingInput) => ctx.report(f);
  const r = new Reader(source);
  const fail = (code: FindingInput['code'], message: string, offset = r.pos): never => {
    report({ code, message, offset });
    throw new Stop();
  };
  const info: Record<string, number | string> = {};
  try {
    if (source.size < 8) fail('SCAN_TRUNCATED', 'the file ends inside the GGUF header', 0);
    const magic = source.read(0, 4);
    const text = String.fromCharCode(...magic);
    if (text !== 'GGUF') fail('GGUF_VERSION', `a legacy GGML file (magic ${JSON.stringify(text)}); current loaders need GGUF`, 0);
    r.pos = 4;
    const version = r.u32();
    info.version = version;
    if (version >= 0x01000000 && (version & 0xffff) === 0) {
      report({ code: 'GGUF_BIG_ENDIAN', message: 'a big-endian GGUF file: not checked', offset: 4 });
      return info;
    }
    if (version !== 2 && version !== 3) fail('GGUF_VERSION', `GGUF version ${version} (loaders read 2 and 3)`, 4);
    if (r.remaining < 16) fail('SCAN_TRUNCATED', 'the file ends inside the GGUF header');
    const tensorCount = r.u64();
    const kvCount = r.u64();
    // A key takes at least 8 + 1 + 4 bytes, a tensor info at least 8 + 1 + 4 + 4 + 8 + 8.
    if (kvCount * 13n > BigInt(r.remaining) || tensorCount * 33n > BigInt(r.remaining)) {
      fail('GGUF_COUNT', `${tensorCount} tensors and ${kvCount} metadata keys cannot fit in ${r.remaining} bytes (a loader would allocate for them first)`, 8);
    }
    info.tensors = Number(tensorCount);
    info.keys = Number(kvCount);
    const string = (what: string, keep: number): string | undefined => {
      const at = r.pos;
      if (r.remaining < 8) fail('GGUF_STRING', `the file ends inside ${what}`, at);
      const n = r.u64();
      if (n > BigInt(r.remaining) || n > BigInt(GGUF_LIMITS.stringBytes)) fail('GGUF_STRING', `${what} of ${n} bytes runs past the end of the file or the ${GGUF_LIMITS.stringBytes}-byte limit`, at);
      const len = Number(n);
      const s = len <= keep ? new TextDecoder().decode(source.read(r.pos, len)) : undefined;
      r.pos += len;
      return s;
    };
    const keys = new Set<string>();
    let alignment = 32;
    for (let k = 0n; k < kvCount; k++) {
      const at = r.pos;
      const key = string('a metadata key', 65_536) ?? '';
      if (keys.has(key)) report({ code: 'GGUF_DUPLICATE_KEY', message: `metadata key ${JSON.stringify(key.slice(0, 80))} appears twice`, offset: at });
      keys.add(key);
      if (r.remaining < 4) fail('SCAN_TRUNCATED', 'the file ends inside a metadata value');
      const type = r.u32();
      if (type > 12) fail('GGUF_TYPE', `metadata key ${JSON.stringify(key.slice(0, 80))} has value type ${type}`, at);
      const isTemplate = key === 'tokenizer.chat_template' || key.startsWith('tokenizer.chat_template.');
      if (type === STRING) {
        const value = string(`the value of ${JSON.stringify(key.slice(0, 80))}`, isTemplate ? GGUF_LIMITS.stringBytes : 0);
        if (isTemplate && value !== undefined) checkTemplate(value, key, at, report);
      } else if (type === ARRAY) {
        skipArray(r, fail);
      } else {
        const size = VALUE_SIZE[type]!;
        if (r.remaining < size) fail('SCAN_TRUNCATED', 'the file ends inside a metadata value');
        const value = source.read(r.pos, size);
        if (type === 7 && value[0]! > 1) report({ code: 'GGUF_TYPE', message: `BOOL value ${value[0]} of ${JSON.stringify(key.slice(0, 80))} is neither 0 nor 1`, offset: r.pos });
        if (key === 'general.alignment') {
          const v = type === 4 ? (value[0]! | (value[1]! << 8) | (value[2]! << 16) | (value[3]! << 24)) >>> 0 : -1;
          if (v <= 0 || (v & (v - 1)) !== 0 || v > GGUF_LIMITS.maxAlignment) report({ code: 'GGUF_ALIGNMENT', message: `general.alignment ${type === 4 ? v : '(not a UINT32)'} is not a power of two up to ${GGUF_LIMITS.maxAlignment}`, offset: r.pos });
          else alignment = v;
        }
        r.pos += size;
      }
      if (key === 'general.alignment' && type !== 4) report({ code: 'GGUF_ALIGNMENT', message: 'general.alignment is not a UINT32', offset: at });
    }
    info.alignment = alignment;
    const tensors: { name: string; offset: bigint; bytes: bigint; at: number }[] = [];
    const names = new Set<string>();
    for (let t = 0n; t < tensorCount; t++) {
      const at = r.pos;
      const name = string('a tensor name', 65_536) ?? '';
      if (r.remaining < 4) fail('SCAN_TRUNCATED', 'the file ends inside a tensor info');
      const nDims = r.u32();
      if (nDims > GGUF_LIMITS.maxDims) fail('GGUF_DIMS', `tensor ${JSON.stringify(name.slice(0, 80))} has ${nDims} dimensions (at most ${GGUF_LIMITS.maxDims})`, at);
      if (r.remaining < nDims * 8 + 12) fail('SCAN_TRUNCATED', 'the file ends inside a tensor info');
      let elements = 1n;
      let badDims = false;
      for (let d = 0; d < nDims; d++) {
        const dim = r.u64();
        if (dim === 0n || dim > 2n ** 62n) badDims = true;
        elements *= dim;
      }
      if (badDims || elements >= 2n ** 63n) report({ code: 'GGUF_DIMS', message: `tensor ${JSON.stringify(name.slice(0, 80))} has a zero or too large dimension, or too many elements`, offset: at });
      const type = r.u32();
      const offset = r.u64();
      if (names.has(name)) report({ code: 'GGUF_TENSOR_RANGE', message: `tensor name ${JSON.stringify(name.slice(0, 80))} appears twice`, offset: at });
      names.add(name);
      const traits = GGML_TYPES.get(type);
      if (traits === undefined) {
        report({ code: 'GGUF_TENSOR_TYPE', message: `tensor ${JSON.stringify(name.slice(0, 80))} has ggml type ${type}, which this scanner does not know`, offset: at });
        continue;
      }
      if (badDims) continue;
      const [block, blockBytes] = traits;
      if (elements % BigInt(block) !== 0n) {
        report({ code: 'GGUF_DIMS', message: `tensor ${JSON.stringify(name.slice(0, 80))} has ${elements} elements, not a multiple of its block size ${block}`, offset: at });
        continue;
      }
      tensors.push({ name, offset, bytes: (elements / BigInt(block)) * BigInt(blockBytes), at });
    }
    const dataStart = BigInt(Math.ceil(r.pos / alignment) * alignment);
    const fileSize = BigInt(source.size);
    for (const t of tensors) {
      if (t.offset % BigInt(alignment) !== 0n || dataStart + t.offset + t.bytes > fileSize) {
        report({ code: 'GGUF_TENSOR_RANGE', message: `tensor ${JSON.stringify(t.name.slice(0, 80))} data at ${t.offset} (+${t.bytes} bytes) is misaligned or outside the file`, offset: t.at });
      }
    }
    tensors.sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
    for (let i = 1; i < tensors.length; i++) {
      const prev = tensors[i - 1]!;
      if (tensors[i]!.offset < prev.offset + prev.bytes) {
        report({ code: 'GGUF_TENSOR_RANGE', message: `tensor ${JSON.stringify(tensors[i]!.name.slice(0, 80))} overlaps ${JSON.stringify(prev.name.slice(0, 80))}`, offset: tensors[i]!.at });
        break;
      }
    }
  } catch (error) {
    if (error instanceof Stop) return info;
    if (error instanceof ScanAbort) {
      report({ code: 'SCAN_TRUNCATED', message: error.message, ...(error.offset === undefined ? {} : { offset: error.offset }) });
      return info;
    }
    throw error;
  }
  return info;
}

function checkTemplate(template: string, key: string, offset: number, report: (f: FindingInput) => void): void {
  report({ code: 'GGUF_CHAT_TEMPLATE', message: `${key} is a Jinja2 chat template: consumers render it as code`, offset });
  if (isTemplateInjection(template)) {
    report({ code: 'GGUF_TEMPLATE_INJECTION', message: `${key} reaches Python internals (${TEMPLATE_INJECTION.exec(template)![0]}): unsandboxed renderers run code`, offset });
  }
}

/** Skips an ARRAY value (nesting ≤ 2), checking each count against the remaining bytes. */
function skipArray(r: Reader, fail: (code: FindingInput['code'], message: string, offset?: number) => never): void {
  // Explicit stack of [element type, elements left, depth].
  const stack: [number, bigint, number][] = [];
  const open = (depth: number) => {
    const at = r.pos;
    if (r.remaining < 12) fail('GGUF_ARRAY', 'the file ends inside an array header', at);
    const type = r.u32();
    const count = r.u64();
    if (type > 12) fail('GGUF_TYPE', `array element type ${type}`, at);
    if (depth > GGUF_LIMITS.arrayNesting) fail('GGUF_ARRAY', `arrays nested deeper than ${GGUF_LIMITS.arrayNesting}`, at);
    const min = type === STRING ? 8 : type === ARRAY ? 12 : VALUE_SIZE[type]!;
    if (count * BigInt(min) > BigInt(r.remaining)) fail('GGUF_ARRAY', `an array of ${count} elements cannot fit in the ${r.remaining} bytes left`, at);
    if (type !== STRING && type !== ARRAY) r.pos += Number(count) * min;
    else stack.push([type, count, depth]);
  };
  open(1);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top[1] === 0n) {
      stack.pop();
      continue;
    }
    top[1]--;
    if (top[0] === STRING) {
      const at = r.pos;
      if (r.remaining < 8) fail('GGUF_STRING', 'the file ends inside a string', at);
      const n = r.u64();
      if (n > BigInt(r.remaining) || n > BigInt(GGUF_LIMITS.stringBytes)) fail('GGUF_STRING', `a string of ${n} bytes runs past the end of the file`, at);
      r.pos += Number(n);
    } else open(top[2] + 1);
  }
}

export const ggufScanner: FormatScanner = { format: 'gguf', scan: scanGguf };

/**
 * Chat templates beside a model: `chat_template` in tokenizer_config.json (a string, or a list of
 * `{name, template}`), chat_template.json, or a chat_template.jinja file. Transformers renders
 * them with Jinja2 like GGUF's, so the same checks apply.
 */
export const chatTemplateScanner: FormatScanner = {
  format: 'chat-template',
  scan(source, ctx) {
    const report = (f: FindingInput) => ctx.report(f);
    const bytes = source.read(0, Math.min(source.size, GGUF_LIMITS.stringBytes));
    if (ctx.path.endsWith('.jinja')) {
      checkTemplate(new TextDecoder().decode(bytes), 'the chat template', 0, report);
      return { templates: 1 };
    }
    let config: JsonValue;
    try {
      config = parseStrictJson(bytes);
    } catch (error) {
      if (!(error instanceof JsonError)) throw error;
      // Not JSON a loader would read: nothing is rendered from it.
      report({ code: 'FORMAT_UNKNOWN', message: `not strict JSON (${error.message}); its chat template is not checked`, offset: error.offset });
      return undefined;
    }
    const value = config instanceof Map ? config.get('chat_template') : undefined;
    const templates: string[] = [];
    if (typeof value === 'string') templates.push(value);
    else if (Array.isArray(value)) {
      for (const t of value) {
        const text = t instanceof Map ? t.get('template') : undefined;
        if (typeof text === 'string') templates.push(text);
      }
    }
    for (const t of templates) checkTemplate(t, 'chat_template', 0, report);
    return { templates: templates.length };
  },
};
