/**
 * NumPy `.npy` and `.npz`. The `.npy` header is a Python dict literal that NumPy reads with
 * `ast.literal_eval`; it is parsed here with a strict literal parser (a naive consumer that
 * evaluates it runs code). An object dtype means the body is a pickle and `np.load` needs
 * `allow_pickle=True`: NPY_OBJECT_DTYPE, and the pickle is scanned.
 */
import type { ByteSource, FindingInput, FormatInfo, FormatScanner, ScanContext } from './types.js';
import { runPickleStream, looksLikePickle } from './pickle/unpickler.js';
import { memberHead, memberSource, type ZipArchive } from './zip.js';

export const NPY_LIMITS = {
  /** A header above this needs NumPy's max_header_size (a note). */
  largeHeader: 10_000,
  /** Largest header parsed. */
  maxHeader: 1024 * 1024,
} as const;

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export function isNpy(head: Uint8Array): boolean {
  return head.length >= 8 && MAGIC.every((b, i) => head[i] === b) && head[6]! >= 1 && head[6]! <= 3;
}

// ---------------------------------------------------------------------------------------------
// A strict Python literal parser for the header: dicts, tuples, lists, strings, ints, True/False/None.

type Py = string | bigint | boolean | null | { readonly t: 'tuple' | 'list'; readonly items: Py[] } | { readonly t: 'dict'; readonly map: Map<string, Py> };

class LiteralError extends Error {}

/** Parses a Python literal of bounded nesting (8 levels), as ast.literal_eval accepts for headers. */
export function parsePyLiteral(text: string): Py {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r\f\v'.includes(text[i]!)) i++;
  };
  const value = (depth: number): Py => {
    if (depth > 8) throw new LiteralError('nested too deeply');
    ws();
    const c = text[i];
    if (c === '{' || c === '(' || c === '[') {
      const close = c === '{' ? '}' : c === '(' ? ')' : ']';
      i++;
      const items: Py[] = [];
      const map = new Map<string, Py>();
      let sawComma = false;
      for (;;) {
        ws();
        if (text[i] === close) {
          i++;
          break;
        }
        const v = value(depth + 1);
        if (c === '{') {
          ws();
          if (text[i] !== ':') throw new LiteralError('expected :');
          i++;
          if (typeof v !== 'string') throw new LiteralError('dict keys must be strings');
          if (map.has(v)) throw new LiteralError(`duplicate key ${v}`);
          map.set(v, value(depth + 1));
        } else items.push(v);
        ws();
        if (text[i] === ',') {
          i++;
          sawComma = true;
          continue;
        }
        if (text[i] !== close) throw new LiteralError(`expected , or ${close}`);
      }
      if (c === '{') return { t: 'dict', map };
      // (x) is x, not a tuple.
      if (c === '(' && items.length === 1 && !sawComma) return items[0]!;
      return { t: c === '(' ? 'tuple' : 'list', items };
    }
    if (c === "'" || c === '"') {
      i++;
      let s = '';
      while (i < text.length && text[i] !== c) {
        if (text[i] === '\\' || text[i] === '\n') throw new LiteralError('escapes are not used in headers');
        s += text[i++];
      }
      if (i >= text.length) throw new LiteralError('unterminated string');
      i++;
      return s;
    }
    const m = /^(?:-?\d+|True|False|None)/u.exec(text.slice(i, i + 32));
    if (!m) throw new LiteralError(`unexpected ${JSON.stringify(text.slice(i, i + 10))}`);
    i += m[0].length;
    if (m[0] === 'True') return true;
    if (m[0] === 'False') return false;
    if (m[0] === 'None') return null;
    return BigInt(m[0]);
  };
  const v = value(0);
  ws();
  if (i !== text.length) throw new LiteralError('text after the literal');
  return v;
}

/** Bytes per element of a simple dtype string ('<f8', '|O', '<U10'); undefined when unknown. */
function simpleItemSize(descr: string): bigint | undefined {
  const m = /^[<>|=]?([a-zA-Z?])(\d*)(\[[a-zA-Z0-9]+\])?$/u.exec(descr);
  if (!m) return undefined;
  const kind = m[1]!;
  const n = m[2] === '' ? undefined : BigInt(m[2]!);
  switch (kind) {
    case '?':
      return 1n;
    case 'b':
    case 'B':
      return n ?? 1n;
    case 'O':
      return 8n;
    case 'U':
      return n === undefined ? undefined : n * 4n;
    case 'M':
    case 'm':
      return n ?? 8n;
    default:
      return 'iufcSaVh'.includes(kind) ? n : undefined;
  }
}

/** Bytes per element of a descr (string or structured list); undefined when not computable. */
function itemSize(descr: Py, depth = 0): bigint | undefined {
  if (typeof descr === 'string') return simpleItemSize(descr);
  if (depth > 4 || descr === null || typeof descr !== 'object' || descr.t !== 'list') return undefined;
  let total = 0n;
  for (const field of descr.items) {
    if (field === null || typeof field !== 'object' || field.t !== 'tuple' || field.items.length < 2 || field.items.length > 3) return undefined;
    const size = itemSize(field.items[1]!, depth + 1);
    if (size === undefined) return undefined;
    const shape = field.items[2];
    let count = 1n;
    if (shape !== undefined) {
      if (shape === null || typeof shape !== 'object' || shape.t !== 'tuple') return undefined;
      for (const d of shape.items) {
        if (typeof d !== 'bigint' || d < 0n) return undefined;
        count *= d;
      }
    }
    total += size * count;
  }
  return total;
}

/** True when the descr names the object kind anywhere ('O', also inside structured fields). */
function hasObject(descr: Py, depth = 0): boolean {
  if (typeof descr === 'string') return /^[<>|=]?O/u.test(descr);
  if (depth > 4 || descr === null || typeof descr !== 'object' || descr.t === 'dict') return false;
  return descr.items.some((v) => hasObject(v, depth + 1));
}

interface NpyHeader {
  readonly dataStart: number;
  readonly object: boolean;
  readonly expectedBytes: bigint | undefined;
}

/** Parses and checks a .npy header from its first bytes; undefined when invalid (reported). */
function readNpyHeader(head: Uint8Array, report: (f: FindingInput) => void, member: string | undefined): NpyHeader | undefined {
  const where = member === undefined ? {} : { member };
  const invalid = (why: string) => {
    report({ code: 'NPY_HEADER_INVALID', message: `the .npy header ${why}`, offset: 0, ...where });
    return undefined;
  };
  if (!isNpy(head)) return invalid('has no \\x93NUMPY magic with version 1 to 3');
  const major = head[6]!;
  const lengthBytes = major === 1 ? 2 : 4;
  if (head.length < 8 + lengthBytes) return invalid('is truncated');
  let length = 0;
  for (let i = lengthBytes - 1; i >= 0; i--) length = length * 256 + head[8 + i]!;
  const start = 8 + lengthBytes;
  if (length > NPY_LIMITS.maxHeader) {
    report({ code: 'SCAN_LIMIT_EXCEEDED', message: `the .npy header is ${length} bytes, over the ${NPY_LIMITS.maxHeader}-byte limit`, offset: 8, ...where });
    return undefined;
  }
  if (length > NPY_LIMITS.largeHeader) report({ code: 'NPY_HEADER_LARGE', message: `the .npy header is ${length} bytes; NumPy needs max_header_size to read it`, offset: 8, ...where });
  if (head.length < start + length) return invalid('runs past the end of the file');
  const bytes = head.subarray(start, start + length);
  let text: string;
  try {
    text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1', { fatal: true }).decode(bytes);
  } catch {
    return invalid('is not valid text');
  }
  if (major < 3 && /[^\x00-\x7f]/u.test(text)) return invalid('is not ASCII');
  if (!text.endsWith('\n')) return invalid('does not end with a newline');
  let dict: Py;
  try {
    dict = parsePyLiteral(text);
  } catch (error) {
    return invalid(`is not a plain literal: ${(error as Error).message}`);
  }
  if (dict === null || typeof dict !== 'object' || dict.t !== 'dict') return invalid('is not a dict');
  const keys = [...dict.map.keys()].sort().join(',');
  if (keys !== 'descr,fortran_order,shape') return invalid(`has keys ${JSON.stringify(keys.slice(0, 100))}, not descr, fortran_order and shape`);
  const descr = dict.map.get('descr')!;
  const fortran = dict.map.get('fortran_order');
  const shape = dict.map.get('shape');
  if (typeof fortran !== 'boolean') return invalid('has a fortran_order that is not True or False');
  if (shape === null || typeof shape !== 'object' || shape.t !== 'tuple' || !shape.items.every((d) => typeof d === 'bigint' && d >= 0n)) return invalid('has a shape that is not a tuple of non-negative integers');
  if (typeof descr !== 'string' && (descr === null || typeof descr !== 'object' || descr.t !== 'list')) return invalid('has a descr that is neither a string nor a list of fields');
  const size = itemSize(descr);
  const count = (shape.items as bigint[]).reduce((a, b) => a * b, 1n);
  return { dataStart: start + length, object: hasObject(descr), expectedBytes: size === undefined ? undefined : size * count };
}

/** Scans a .npy of `size` bytes whose first bytes are `head`; `body` gives the pickle of object arrays. */
function scanNpy(head: Uint8Array, size: number, body: () => ByteSource | undefined, ctx: ScanContext, member: string | undefined): FormatInfo {
  const report = (f: FindingInput) => ctx.report(f);
  const header = readNpyHeader(head, report, member);
  if (header === undefined) return {};
  const where = member === undefined ? {} : { member };
  if (header.object) {
    report({ code: 'NPY_OBJECT_DTYPE', message: 'an object array: np.load runs a pickle to read it (allow_pickle=True)', offset: header.dataStart, ...where });
    const source = body();
    if (source !== undefined) runPickleStream(source, header.dataStart, source.size, { profile: 'generic', allowGlobals: ctx.allowGlobals, persistent: 'none', ...where }, report);
    return { object: true };
  }
  const actual = BigInt(size - header.dataStart);
  if (header.expectedBytes !== undefined && actual < header.expectedBytes) {
    report({ code: 'NPY_DATA_SIZE', message: `the array needs ${header.expectedBytes} data bytes, the file has ${actual}`, offset: header.dataStart, ...where });
  }
  return { object: false };
}

const headLength = (size: number) => Math.min(size, NPY_LIMITS.maxHeader + 16);

export const npyScanner: FormatScanner = {
  format: 'numpy-npy',
  scan: (source, ctx) => scanNpy(source.read(0, headLength(source.size)), source.size, () => source, ctx, undefined),
};

/**
 * A .npz archive (NumPy reads it with zipfile): `.npy` members are checked as above, others are
 * returned by NumPy as raw bytes (a note), and scanned if they look like pickles.
 */
export function scanNpz(source: ByteSource, archive: ZipArchive, ctx: ScanContext): FormatInfo {
  const report = (f: FindingInput) => ctx.report(f);
  let arrays = 0;
  for (const entry of archive.entries) {
    const head = memberHead(source, entry, headLength(entry.size));
    if (isNpy(head)) {
      arrays++;
      scanNpy(head, entry.size, () => memberSource(source, entry, report), ctx, entry.name);
      continue;
    }
    report({ code: 'NPZ_NON_NPY_MEMBER', message: 'a member that is not a .npy array (NumPy returns its raw bytes)', member: entry.name });
    if (looksLikePickle(head)) {
      const member = memberSource(source, entry, report);
      if (member !== undefined) runPickleStream(member, 0, member.size, { profile: 'generic', allowGlobals: ctx.allowGlobals, persistent: 'none', member: entry.name }, report);
    }
  }
  return { arrays };
}
