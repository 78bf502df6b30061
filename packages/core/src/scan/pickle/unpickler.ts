/**
 * An abstract unpickler: a symbolic version of CPython's `_pickle` load loop. It never builds
 * Python objects; it keeps a real stack, mark stack and memo of abstract values, so that what a
 * global, a call or a mutation acts on is what `pickle.load` would act on (a disassembler that looks
 * at "the previous opcode's argument" is how PUT/MEMOIZE/POP tricks hide imports from other
 * scanners). Every opcode of protocols 0-5 is handled. Findings made before a parse error are kept:
 * `pickle.load` has already run whatever came before the break.
 *
 * Bounded: opcodes, memo, stack and mark depth are budgeted; length fields are checked against the
 * remaining bytes before anything is read; bulk payloads are skipped, never copied.
 */
import type { ByteSource, FindingInput } from '../types.js';
import { BUILDABLE, DICT_LIKE, fixImports, hardDenyReason, PROFILES, TORCH_DTYPE_ITEM_SIZE, TORCH_REBUILD_V3, TORCH_STORAGE_ELEMENT_SIZE, TORCH_VIEW_REBUILDS, type PickleProfile } from './allowlist.js';

export const PICKLE_LIMITS = {
  opcodes: 50_000_000,
  memo: 1_000_000,
  stack: 1_000_000,
  marks: 10_000,
  /** Strings kept as text (module and name operands); longer ones are skipped. */
  keptString: 1024,
  /** Text-opcode lines (protocol 0) longer than this are malformed. */
  line: 64 * 1024 * 1024,
  /** Items kept per container (the rest are counted, not kept). */
  containerItems: 65_536,
  /** Findings kept per pickle (the framework caps per file anyway). */
  findings: 256,
} as const;

// ---------------------------------------------------------------------------------------------
// Abstract values. Immutable except list/dict/set contents; shared by reference so DUP and the
// memo alias exactly as in CPython.

export type Value =
  | { readonly k: 'str'; readonly text: string | undefined }
  | { readonly k: 'bytes' }
  | { readonly k: 'num'; readonly value: bigint | undefined }
  | { readonly k: 'float' }
  | { readonly k: 'bool'; readonly value: boolean }
  | { readonly k: 'none' }
  | { readonly k: 'tuple'; readonly items: readonly Value[]; readonly truncated: boolean }
  | { readonly k: 'list'; readonly items: Value[]; truncated: boolean }
  | { readonly k: 'dict' }
  | { readonly k: 'set'; readonly frozen: boolean }
  | { readonly k: 'global'; readonly module: string; readonly name: string; readonly allowed: boolean }
  | { readonly k: 'obj'; readonly ctor: string | undefined }
  | { readonly k: 'storage'; readonly ref: StorageRef }
  | { readonly k: 'unknown' };

const NONE: Value = { k: 'none' };
const UNKNOWN: Value = { k: 'unknown' };
const BYTES: Value = { k: 'bytes' };
const FLOAT: Value = { k: 'float' };
const num = (value: bigint | undefined): Value => ({ k: 'num', value });
const tuple = (items: readonly Value[]): Value =>
  items.length > PICKLE_LIMITS.containerItems ? { k: 'tuple', items: items.slice(0, PICKLE_LIMITS.containerItems), truncated: true } : { k: 'tuple', items, truncated: false };

/** A tensor storage named by a persistent id (torch containers only). */
export interface StorageRef {
  readonly key: string;
  /** `module:qualname` of the storage class. */
  readonly storageType: string;
  /** Bytes per element, from the storage class; undefined when unknown. */
  readonly elementSize: number | undefined;
  readonly numel: bigint;
  readonly location: string;
  /** Legacy format: the view `(key, offset, size)` of the sixth element, when present. */
  readonly offset: number;
}

/** A `_rebuild_tensor*` call on a storage (torch containers only). */
export interface TensorView {
  readonly storage: StorageRef;
  readonly storageOffset: bigint;
  readonly sizes: readonly bigint[];
  readonly strides: readonly bigint[];
  readonly offset: number;
  /** `_rebuild_tensor_v3`: bytes per element of the view's dtype (the storage then counts bytes). */
  readonly itemSize?: number;
}

/** How persistent ids are judged: outside torch every one is unsafe. */
export type PersistentMode = 'none' | 'torch-zip' | 'torch-legacy' | 'torch-tar';

export interface PickleOptions {
  readonly profile: PickleProfile;
  /** Extra exact `module:qualname` pairs (policy); callable and buildable. */
  readonly allowGlobals: ReadonlySet<string>;
  readonly persistent: PersistentMode;
  /** Zip member the pickle is in, for findings. */
  readonly member?: string;
}

/** One pickle of a stream. */
export interface PickleRun {
  readonly start: number;
  /** Offset after STOP, or where parsing stopped. */
  readonly end: number;
  /** Reached STOP without an error. */
  readonly complete: boolean;
  /** The value STOP returned (complete runs only). */
  readonly value: Value | undefined;
  readonly findings: FindingInput[];
  readonly storages: StorageRef[];
  readonly views: TensorView[];
  /** Opcodes torch's weights-only unpickler refuses (a note inside torch containers). */
  readonly notWeightsOnly: Set<string>;
  /** The first opcode was PROTO. */
  readonly startsWithProto: boolean;
}

// ---------------------------------------------------------------------------------------------
// Byte reading over a ByteSource region, in cached chunks.

const CHUNK = 64 * 1024;

/**
 * A break in the data. Always caught and turned into a finding, never shown with a stack: it is
 * made without one, because random bytes that start like a protocol 0 opcode (one file in 17)
 * each end in one, and capturing the stack was most of the cost of rejecting them.
 */
class Malformed extends Error {
  readonly at: number;
  readonly code: 'PICKLE_MALFORMED' | 'SCAN_LIMIT_EXCEEDED';
  constructor(message: string, at: number, code: 'PICKLE_MALFORMED' | 'SCAN_LIMIT_EXCEEDED' = 'PICKLE_MALFORMED') {
    const errors = Error as { stackTraceLimit?: number | undefined };
    const limit = errors.stackTraceLimit;
    errors.stackTraceLimit = 0;
    super(message);
    errors.stackTraceLimit = limit;
    this.at = at;
    this.code = code;
  }
}

class Cursor {
  private chunk: Uint8Array = new Uint8Array(0);
  private chunkStart = 0;
  constructor(
    private readonly source: ByteSource,
    public pos: number,
    readonly end: number,
  ) {}

  get remaining(): number {
    return this.end - this.pos;
  }

  private fill(at: number): void {
    const len = Math.min(CHUNK, this.end - at);
    this.chunk = this.source.read(at, len);
    this.chunkStart = at;
  }

  byte(): number {
    if (this.pos >= this.end) throw new Malformed('pickle data was truncated', this.pos);
    const rel = this.pos - this.chunkStart;
    if (rel < 0 || rel >= this.chunk.length) this.fill(this.pos);
    const b = this.chunk[this.pos - this.chunkStart]!;
    this.pos++;
    return b;
  }

  /** Copies n bytes (n is checked against the remaining bytes first). */
  take(n: number): Uint8Array {
    if (n > this.remaining) throw new Malformed(`a length of ${n} runs past the end of the data`, this.pos);
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const rel = this.pos - this.chunkStart;
      if (rel < 0 || rel >= this.chunk.length) this.fill(this.pos);
      const from = this.pos - this.chunkStart;
      const count = Math.min(n - filled, this.chunk.length - from);
      out.set(this.chunk.subarray(from, from + count), filled);
      filled += count;
      this.pos += count;
    }
    return out;
  }

  skip(n: number | bigint): void {
    if (BigInt(n) > BigInt(this.remaining)) throw new Malformed(`a length of ${n} runs past the end of the data`, this.pos);
    this.pos += Number(n);
  }

  uint(width: 1 | 2 | 4 | 8): bigint {
    const b = this.take(width);
    let v = 0n;
    for (let i = width - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    return v;
  }

  int32(): number {
    const b = this.take(4);
    return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >> 0;
  }

  /** A newline-terminated line without the newline; bytes beyond `keep` are scanned, not kept. */
  line(keep: number = PICKLE_LIMITS.keptString): { bytes: Uint8Array; length: number } {
    const start = this.pos;
    const kept: number[] = [];
    for (;;) {
      if (this.pos - start > PICKLE_LIMITS.line) throw new Malformed('a text opcode line is too long', start, 'SCAN_LIMIT_EXCEEDED');
      if (this.pos >= this.end) throw new Malformed('pickle data was truncated inside a line', start);
      const rel = this.pos - this.chunkStart;
      if (rel < 0 || rel >= this.chunk.length) this.fill(this.pos);
      const from = this.pos - this.chunkStart;
      const nl = this.chunk.indexOf(0x0a, from);
      const stop = nl === -1 ? this.chunk.length : nl;
      for (let i = from; i < stop && kept.length < keep; i++) kept.push(this.chunk[i]!);
      this.pos += stop - from;
      if (nl !== -1) {
        const length = this.pos - start;
        this.pos++;
        return { bytes: Uint8Array.from(kept), length };
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Text decoding and Python int() semantics.

const utf8Fatal = new TextDecoder('utf-8', { fatal: true });
const latin1 = (b: Uint8Array) => {
  let s = '';
  for (const x of b) s += String.fromCharCode(x);
  return s;
};

/** UTF-8 with `surrogatepass` (CPython decodes pickle strings this way); undefined when invalid. */
export function decodeUtf8SurrogatePass(b: Uint8Array): string | undefined {
  try {
    return utf8Fatal.decode(b);
  } catch {
    // Encoded surrogates (ED A0..BF xx) are what surrogatepass adds; decode by hand.
    let s = '';
    for (let i = 0; i < b.length; ) {
      const c = b[i]!;
      let cp: number;
      let n: number;
      if (c < 0x80) [cp, n] = [c, 1];
      else if (c >= 0xc2 && c < 0xe0) [cp, n] = [c & 0x1f, 2];
      else if (c >= 0xe0 && c < 0xf0) [cp, n] = [c & 0x0f, 3];
      else if (c >= 0xf0 && c < 0xf5) [cp, n] = [c & 0x07, 4];
      else return undefined;
      if (i + n > b.length) return undefined;
      for (let j = 1; j < n; j++) {
        const cc = b[i + j]!;
        if ((cc & 0xc0) !== 0x80) return undefined;
        cp = (cp << 6) | (cc & 0x3f);
      }
      if ((n === 3 && cp < 0x800) || (n === 4 && (cp < 0x10000 || cp > 0x10ffff))) return undefined;
      s += String.fromCodePoint(cp);
      i += n;
    }
    return s;
  }
}

const isPySpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';

/**
 * CPython `PyLong_FromString(s, NULL, base)` (what `int(s, base)` does): surrounding whitespace,
 * a sign, base prefixes for base 0 (and the matching prefix for an explicit 16/8/2), single
 * underscores between digits, no leading zeros for a non-zero base-0 decimal. The string ends at
 * the first NUL, as the C string does. Undefined when CPython raises.
 */
export function pythonInt(input: string, base: 0 | 10): bigint | undefined {
  const nul = input.indexOf('\0');
  let s = nul === -1 ? input : input.slice(0, nul);
  let i = 0;
  while (i < s.length && isPySpace(s[i]!)) i++;
  let j = s.length;
  while (j > i && isPySpace(s[j - 1]!)) j--;
  s = s.slice(i, j);
  let negative = false;
  if (s.startsWith('+') || s.startsWith('-')) {
    negative = s.startsWith('-');
    s = s.slice(1);
  }
  let radix = 10;
  let allowLeadingUnderscore = false;
  if (base === 0) {
    const p = s.slice(0, 2).toLowerCase();
    if (p === '0x' || p === '0o' || p === '0b') {
      radix = p === '0x' ? 16 : p === '0o' ? 8 : 2;
      s = s.slice(2);
      allowLeadingUnderscore = true;
    }
  }
  if (allowLeadingUnderscore && s.startsWith('_')) s = s.slice(1);
  if (s.length === 0 || s.startsWith('_') || s.endsWith('_') || s.includes('__')) return undefined;
  const digits = s.replaceAll('_', '');
  const valid = radix === 16 ? /^[0-9a-fA-F]+$/u : radix === 8 ? /^[0-7]+$/u : radix === 2 ? /^[01]+$/u : /^[0-9]+$/u;
  if (!valid.test(digits)) return undefined;
  if (base === 0 && radix === 10 && digits.length > 1 && digits.startsWith('0') && /[1-9]/u.test(digits)) return undefined;
  if (digits.length > 4300) return undefined; // CPython's int max str digits
  const prefix = radix === 16 ? '0x' : radix === 8 ? '0o' : radix === 2 ? '0b' : '';
  const v = BigInt(prefix + digits);
  return negative ? -v : v;
}

/** C `strtol(s, &end, 0)` accepting the whole string (INT's first attempt); undefined otherwise. */
function cStrtol0(input: string): bigint | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/u.exec(input);
  if (!m) return undefined;
  const body = m[2]!;
  const v = /^0[xX]/u.test(body) ? BigInt(body) : body.startsWith('0') && body.length > 1 ? BigInt(`0o${body.slice(1)}`) : BigInt(body);
  const signed = m[1] === '-' ? -v : v;
  // strtol overflows (ERANGE) beyond a C long; CPython then retries with int(s, 0).
  if (signed > 2n ** 63n - 1n || signed < -(2n ** 63n)) return undefined;
  return signed;
}

/** Python's escape decoding for STRING (`codecs.escape_decode`), as latin-1 text. */
function escapeDecode(s: string): string | undefined {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    i++;
    if (i >= s.length) return undefined; // trailing backslash
    const e = s[i]!;
    const simple: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\n': '' };
    if (e in simple) out += simple[e]!;
    else if (e >= '0' && e <= '7') {
      let v = 0;
      let k = 0;
      while (k < 3 && i < s.length && s[i]! >= '0' && s[i]! <= '7') v = v * 8 + Number(s[i++]), k++;
      i--;
      out += String.fromCharCode(v & 0xff);
    } else if (e === 'x') {
      const h = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/u.test(h)) return undefined;
      out += String.fromCharCode(parseInt(h, 16));
      i += 2;
    } else out += `\\${e}`;
  }
  return out;
}

/** Python's raw-unicode-escape decoding for UNICODE (protocol 0). */
function rawUnicodeEscapeDecode(b: Uint8Array): string | undefined {
  const s = latin1(b);
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && (s[i + 1] === 'u' || s[i + 1] === 'U')) {
      // An odd number of backslashes before u/U starts an escape.
      let back = 0;
      for (let k = i - 1; k >= 0 && s[k] === '\\'; k--) back++;
      if (back % 2 === 0) {
        const n = s[i + 1] === 'u' ? 4 : 8;
        const h = s.slice(i + 2, i + 2 + n);
        if (h.length !== n || !/^[0-9a-fA-F]+$/u.test(h)) return undefined;
        const cp = parseInt(h, 16);
        if (cp > 0x10ffff) return undefined;
        out += String.fromCodePoint(cp);
        i += 1 + n;
        continue;
      }
    }
    out += c;
  }
  return out;
}

const FLOAT_TEXT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)$/iu;

// ---------------------------------------------------------------------------------------------
// Opcodes (pickletools names).

const OP = {
  MARK: 0x28, STOP: 0x2e, POP: 0x30, POP_MARK: 0x31, DUP: 0x32, FLOAT: 0x46, INT: 0x49, BININT: 0x4a, BININT1: 0x4b,
  LONG: 0x4c, BININT2: 0x4d, NONE: 0x4e, PERSID: 0x50, BINPERSID: 0x51, REDUCE: 0x52, STRING: 0x53, BINSTRING: 0x54,
  SHORT_BINSTRING: 0x55, UNICODE: 0x56, BINUNICODE: 0x58, APPEND: 0x61, BUILD: 0x62, GLOBAL: 0x63, DICT: 0x64,
  EMPTY_DICT: 0x7d, APPENDS: 0x65, GET: 0x67, BINGET: 0x68, INST: 0x69, LONG_BINGET: 0x6a, LIST: 0x6c, EMPTY_LIST: 0x5d,
  OBJ: 0x6f, PUT: 0x70, BINPUT: 0x71, LONG_BINPUT: 0x72, SETITEM: 0x73, TUPLE: 0x74, EMPTY_TUPLE: 0x29, SETITEMS: 0x75,
  BINFLOAT: 0x47, PROTO: 0x80, NEWOBJ: 0x81, EXT1: 0x82, EXT2: 0x83, EXT4: 0x84, TUPLE1: 0x85, TUPLE2: 0x86,
  TUPLE3: 0x87, NEWTRUE: 0x88, NEWFALSE: 0x89, LONG1: 0x8a, LONG4: 0x8b, BINBYTES: 0x42, SHORT_BINBYTES: 0x43,
  SHORT_BINUNICODE: 0x8c, BINUNICODE8: 0x8d, BINBYTES8: 0x8e, EMPTY_SET: 0x8f, ADDITEMS: 0x90, FROZENSET: 0x91,
  NEWOBJ_EX: 0x92, STACK_GLOBAL: 0x93, MEMOIZE: 0x94, FRAME: 0x95, BYTEARRAY8: 0x96, NEXT_BUFFER: 0x97, READONLY_BUFFER: 0x98,
} as const;

const OPNAME = new Map<number, string>(Object.entries(OP).map(([k, v]) => [v, k]));

/** Every opcode of protocols 0-5 (pickletools names) and its byte. */
export const PICKLE_OPCODES: ReadonlyMap<string, number> = new Map(Object.entries(OP));

/** Extra allowed globals minus hard-denied ones: whoever passes them, those stay refused. */
const usableExtras = (extra: ReadonlySet<string>): ReadonlySet<string> => (extra.size === 0 ? extra : new Set([...extra].filter((g) => hardDenyReason(g) === undefined)));

/** Opcodes torch's weights-only unpickler does not implement (protocol 3+ features it refuses). */
const NOT_WEIGHTS_ONLY = new Set<number>([
  OP.STACK_GLOBAL, OP.MEMOIZE, OP.FRAME, OP.SHORT_BINUNICODE, OP.BINUNICODE8, OP.BINBYTES8, OP.BYTEARRAY8, OP.NEWOBJ_EX,
  OP.STRING, OP.BINSTRING, OP.SHORT_BINSTRING, OP.UNICODE, OP.INT, OP.LONG, OP.LONG4, OP.FLOAT, OP.GET, OP.PUT, OP.INST,
  OP.OBJ, OP.PERSID, OP.LIST, OP.DICT, OP.EXT1, OP.EXT2, OP.EXT4, OP.NEXT_BUFFER, OP.READONLY_BUFFER,
]);

/** The opcode at which a protocol introduced it; a lower PROTO header is a note. */
const OPCODE_PROTOCOL = new Map<number, number>([
  ...[OP.PROTO, OP.NEWOBJ, OP.EXT1, OP.EXT2, OP.EXT4, OP.TUPLE1, OP.TUPLE2, OP.TUPLE3, OP.NEWTRUE, OP.NEWFALSE, OP.LONG1, OP.LONG4].map((o) => [o, 2] as [number, number]),
  ...[OP.BINBYTES, OP.SHORT_BINBYTES].map((o) => [o, 3] as [number, number]),
  ...[OP.SHORT_BINUNICODE, OP.BINUNICODE8, OP.BINBYTES8, OP.EMPTY_SET, OP.ADDITEMS, OP.FROZENSET, OP.NEWOBJ_EX, OP.STACK_GLOBAL, OP.MEMOIZE, OP.FRAME].map((o) => [o, 4] as [number, number]),
  ...[OP.BYTEARRAY8, OP.NEXT_BUFFER, OP.READONLY_BUFFER].map((o) => [o, 5] as [number, number]),
]);

// ---------------------------------------------------------------------------------------------
// The machine.

const describeValue = (v: Value | undefined): string => {
  if (v === undefined) return 'nothing';
  switch (v.k) {
    case 'global':
      return `${v.module}.${v.name}`;
    case 'obj':
      return v.ctor === undefined ? 'the result of an unknown call' : `a ${v.ctor.replace(':', '.')} object`;
    case 'str':
      return 'a string';
    default:
      return `a ${v.k}`;
  }
};

const qual = (module: string, name: string) => `${module}:${name}`;
const shown = (s: string) => (s.length > 200 ? `${s.slice(0, 200)}...` : s);

class Machine {
  private readonly stack: Value[] = [];
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, Value>();
  private protocol = 0;
  private frameEnd = -1;
  private frameReported = false;
  private opcodes = 0;
  private readonly reported = new Set<string>();
  readonly findings: FindingInput[] = [];
  readonly storages: StorageRef[] = [];
  readonly views: TensorView[] = [];
  readonly notWeightsOnly = new Set<string>();
  private protocolMixNoted = false;
  private readonly allowed: ReadonlyMap<string, string>;

  private readonly opts: PickleOptions;

  constructor(
    private readonly cur: Cursor,
    opts: PickleOptions,
  ) {
    this.opts = { ...opts, allowGlobals: usableExtras(opts.allowGlobals) };
    this.allowed = PROFILES[opts.profile];
  }

  private report(code: FindingInput['code'], message: string, offset: number, detail?: Record<string, string | number | boolean>, dedupe?: string): void {
    if (dedupe !== undefined) {
      const key = `${code}\0${dedupe}`;
      if (this.reported.has(key)) return;
      this.reported.add(key);
    }
    if (this.findings.length >= PICKLE_LIMITS.findings) return;
    this.findings.push({ code, message, offset, ...(this.opts.member === undefined ? {} : { member: this.opts.member }), ...(detail === undefined ? {} : { detail }) });
  }

  private isAllowed(module: string, name: string): boolean {
    return this.allowed.has(qual(module, name)) || this.opts.allowGlobals.has(qual(module, name));
  }

  private isCallable(module: string, name: string): boolean {
    return this.allowed.get(qual(module, name)) === 'callable' || this.opts.allowGlobals.has(qual(module, name));
  }

  private push(v: Value, at: number): void {
    if (this.stack.length >= PICKLE_LIMITS.stack) throw new Malformed(`the stack grows beyond ${PICKLE_LIMITS.stack} items`, at, 'SCAN_LIMIT_EXCEEDED');
    this.stack.push(v);
  }

  private get fence(): number {
    return this.marks.length === 0 ? 0 : this.marks[this.marks.length - 1]!;
  }

  private pop(at: number): Value {
    if (this.stack.length <= this.fence) throw new Malformed('unpickling stack underflow', at);
    return this.stack.pop()!;
  }

  private top(at: number): Value {
    if (this.stack.length <= this.fence) throw new Malformed('unpickling stack underflow', at);
    return this.stack[this.stack.length - 1]!;
  }

  /** Items above the topmost mark; removes them and the mark. */
  private popMark(at: number): Value[] {
    if (this.marks.length === 0) throw new Malformed('could not find MARK', at);
    const m = this.marks.pop()!;
    return this.stack.splice(m);
  }

  private global(module: string, name: string, opcode: string, at: number): Value {
    let [m, n] = [module, name];
    if (this.protocol < 3) [m, n] = fixImports(m, n);
    const allowed = this.isAllowed(m, n);
    if (!allowed) {
      this.report('PICKLE_UNSAFE_IMPORT', `pickle imports ${shown(m)}.${shown(n)}, which is not on the allow-list`, at, { module: shown(m), name: shown(n), opcode }, qual(m, n));
    }
    return { k: 'global', module: m, name: n, allowed };
  }

  /** Judges a call of `callee` with `args` (REDUCE, NEWOBJ, OBJ, INST); returns its result. */
  private call(callee: Value, args: readonly Value[], opcode: string, at: number): Value {
    if (callee.k !== 'global' || !callee.allowed || !this.isCallable(callee.module, callee.name)) {
      const what = describeValue(callee);
      const detail: Record<string, string> = { opcode, callee: shown(what) };
      if (callee.k === 'global') Object.assign(detail, { module: shown(callee.module), name: shown(callee.name) });
      this.report('PICKLE_UNSAFE_CALL', `pickle calls ${shown(what)}, which is not an allowed constructor`, at, detail, `${opcode}:${what}`);
      return { k: 'obj', ctor: undefined };
    }
    const ctor = qual(callee.module, callee.name);
    this.checkArguments(ctor, args, opcode, at);
    return { k: 'obj', ctor };
  }

  private refuseArguments(ctor: string, why: string, opcode: string, at: number): void {
    this.report('PICKLE_UNSAFE_CALL', `pickle calls ${ctor.replace(':', '.')} with ${why}`, at, { opcode, callee: ctor });
  }

  // Argument constraints for the allowed callables that take other callables or types.
  private checkArguments(ctor: string, args: readonly Value[], opcode: string, at: number): void {
    if (ctor === '_codecs:encode') {
      const [text, encoding] = args;
      if (args.length !== 2 || text?.k !== 'str' || encoding?.k !== 'str' || encoding.text !== 'latin1') this.refuseArguments(ctor, 'arguments other than (text, "latin1")', opcode, at);
    } else if (ctor === 'torch._tensor:_rebuild_from_type_v2') {
      const [func, type] = args;
      const okFunc = func?.k === 'global' && func.allowed && func.module === 'torch._utils' && func.name.startsWith('_rebuild_');
      const okType = type?.k === 'global' && ((type.module === 'torch' && type.name === 'Tensor') || (type.module === 'torch.nn.parameter' && type.name === 'Parameter'));
      if (!okFunc || !okType) this.refuseArguments(ctor, 'a rebuild function or type that is not allowed', opcode, at);
    } else if (TORCH_VIEW_REBUILDS.has(ctor)) {
      const [storage, offset, size, stride] = args;
      if (storage?.k === 'storage' && offset?.k === 'num' && offset.value !== undefined && size?.k === 'tuple' && stride?.k === 'tuple') {
        const sizes = size.items.map((v) => (v.k === 'num' ? v.value : undefined));
        const strides = stride.items.map((v) => (v.k === 'num' ? v.value : undefined));
        // v3 views count elements of their own dtype; one whose size is not known is not bounded here.
        const dtype = args[6];
        const itemSize = ctor !== TORCH_REBUILD_V3 ? undefined : dtype?.k === 'global' ? TORCH_DTYPE_ITEM_SIZE.get(qual(dtype.module, dtype.name)) : undefined;
        const known = ctor !== TORCH_REBUILD_V3 || itemSize !== undefined;
        if (known && !size.truncated && !stride.truncated && sizes.every((v) => v !== undefined) && strides.every((v) => v !== undefined)) {
          this.views.push({ storage: storage.ref, storageOffset: offset.value, sizes: sizes as bigint[], strides: strides as bigint[], offset: at, ...(itemSize === undefined ? {} : { itemSize }) });
        }
      }
    }
  }

  private persistentLoad(pid: Value, opcode: string, at: number): Value {
    const mode = this.opts.persistent;
    const refuse = (why: string) => {
      this.report('PICKLE_PERSISTENT_ID', `persistent id ${why}`, at, { opcode }, `pid:${why}`);
      return UNKNOWN;
    };
    if (mode === 'none') return refuse('outside a PyTorch container (the loader decides what it loads)');
    // The tar format is refused as a whole (TORCH_LEGACY_TAR); its ids are indices, not storage tuples.
    if (mode === 'torch-tar') return UNKNOWN;
    if (pid.k !== 'tuple') return refuse('that is not a storage tuple');
    const [tag, type, key, location, numel, view] = pid.items;
    const size = mode === 'torch-zip' ? 5 : 6;
    if (pid.items.length !== size || pid.truncated) return refuse(`with ${pid.items.length} elements, not ${size}`);
    if (tag?.k !== 'str' || tag.text !== 'storage') return refuse('whose tag is not "storage"');
    if (type?.k !== 'global' || !type.allowed || !TORCH_STORAGE_ELEMENT_SIZE.has(qual(type.module, type.name)) && !(type.module === 'torch' && type.name === 'TypedStorage')) {
      return refuse('whose storage type is not a torch storage class');
    }
    if (key?.k !== 'str' || key.text === undefined) return refuse('whose key is not a string');
    if (location?.k !== 'str' || location.text === undefined) return refuse('whose location is not a string');
    if (numel?.k !== 'num' || numel.value === undefined || numel.value < 0n) return refuse('whose element count is not a non-negative integer');
    if (mode === 'torch-legacy') {
      const okView =
        view?.k === 'none' ||
        (view?.k === 'tuple' && view.items.length === 3 && view.items[0]?.k === 'str' && view.items[1]?.k === 'num' && view.items[2]?.k === 'num');
      if (!okView) return refuse('whose view metadata is not None or (key, offset, size)');
    }
    const storageType = qual(type.module, type.name);
    const ref: StorageRef = { key: key.text, storageType, elementSize: TORCH_STORAGE_ELEMENT_SIZE.get(storageType), numel: numel.value, location: location.text, offset: at };
    this.storages.push(ref);
    return { k: 'storage', ref };
  }

  private mutate(target: Value, kind: 'dict' | 'list' | 'set', opcode: string, at: number, items: readonly Value[]): void {
    const ok =
      kind === 'dict'
        ? target.k === 'dict' || (target.k === 'obj' && target.ctor !== undefined && DICT_LIKE.has(target.ctor))
        : kind === 'list'
          ? target.k === 'list'
          : target.k === 'set' && !target.frozen;
    if (!ok) {
      this.report('PICKLE_UNSAFE_MUTATION', `${opcode} on ${shown(describeValue(target))}: the loader calls its methods`, at, { opcode, target: shown(describeValue(target)) }, `${opcode}:${describeValue(target)}`);
      return;
    }
    if (target.k === 'list') {
      for (const v of items) {
        if (target.items.length >= PICKLE_LIMITS.containerItems) {
          target.truncated = true;
          break;
        }
        target.items.push(v);
      }
    }
  }

  private str(text: string | undefined): Value {
    return { k: 'str', text };
  }

  /** Reads a length-prefixed string payload, keeping text only when short. */
  private lengthString(length: bigint, decode: 'utf8' | 'latin1', at: number): Value {
    if (length > BigInt(this.cur.remaining)) throw new Malformed(`a string length of ${length} runs past the end of the data`, at);
    const n = Number(length);
    if (n <= 1024 * 1024) {
      const b = this.cur.take(n);
      if (decode === 'utf8') {
        const text = decodeUtf8SurrogatePass(b);
        if (text === undefined) throw new Malformed('a string is not valid UTF-8', at);
        return this.str(text.length <= PICKLE_LIMITS.keptString ? text : undefined);
      }
      return this.str(n <= PICKLE_LIMITS.keptString ? latin1(b) : undefined);
    }
    this.cur.skip(n);
    return this.str(undefined);
  }

  private memoIndex(line: string, at: number): number {
    const v = pythonInt(line, 10);
    if (v === undefined) throw new Malformed(`invalid memo key ${JSON.stringify(shown(line))}`, at);
    if (v < 0n) throw new Malformed('negative PUT argument', at);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Malformed('memo key too large', at);
    return Number(v);
  }

  private put(index: number, at: number): void {
    if (this.memo.size >= PICKLE_LIMITS.memo && !this.memo.has(index)) throw new Malformed(`the memo grows beyond ${PICKLE_LIMITS.memo} entries`, at, 'SCAN_LIMIT_EXCEEDED');
    this.memo.set(index, this.top(at));
  }

  private get(index: number | bigint, at: number): void {
    const v = this.memo.get(Number(index));
    if (v === undefined) throw new Malformed(`memo key ${index} was never stored`, at);
    this.push(v, at);
  }

  /** Runs until STOP; returns the value STOP pops. Throws Malformed on a break. */
  run(): Value {
    const cur = this.cur;
    for (;;) {
      const at = cur.pos;
      if (++this.opcodes > PICKLE_LIMITS.opcodes) throw new Malformed(`more than ${PICKLE_LIMITS.opcodes} opcodes`, at, 'SCAN_LIMIT_EXCEEDED');
      if (this.frameEnd !== -1 && at >= this.frameEnd) this.frameEnd = at === this.frameEnd ? -1 : this.frameEnd;
      const op = cur.byte();
      const name = OPNAME.get(op);
      if (name !== undefined) {
        if (this.opts.persistent !== 'none' && NOT_WEIGHTS_ONLY.has(op)) this.notWeightsOnly.add(name);
        const introduced = OPCODE_PROTOCOL.get(op);
        if (introduced !== undefined && introduced > this.protocol && op !== OP.PROTO && !this.protocolMixNoted) {
          this.protocolMixNoted = true;
          this.report('PICKLE_PROTOCOL_MIX', `${name} is a protocol ${introduced} opcode in a protocol ${this.protocol} pickle`, at, { opcode: name });
        }
      }
      const value = this.step(op, name, at);
      // CPython's C unpickler reads across FRAME boundaries; the Python unpickler and
      // disassemblers do not. An opcode straddling a frame is where they disagree.
      if (this.frameEnd !== -1 && cur.pos > this.frameEnd && !this.frameReported) {
        this.frameReported = true;
        this.report('PICKLE_FRAME_VIOLATION', `${name ?? 'an opcode'} crosses the end of its FRAME`, at, { opcode: name ?? 'unknown' });
      }
      if (value !== undefined) return value;
    }
  }

  // One opcode. Returns the unpickled value at STOP.
  private step(op: number, name: string | undefined, at: number): Value | undefined {
    const cur = this.cur;
    switch (op) {
      case OP.MARK:
        if (this.marks.length >= PICKLE_LIMITS.marks) throw new Malformed(`more than ${PICKLE_LIMITS.marks} nested MARKs`, at, 'SCAN_LIMIT_EXCEEDED');
        this.marks.push(this.stack.length);
        return undefined;
      case OP.STOP:
        return this.pop(at);
      case OP.POP:
        if (this.stack.length > this.fence) this.stack.pop();
        else if (this.marks.length > 0) this.marks.pop();
        else throw new Malformed('unpickling stack underflow', at);
        return undefined;
      case OP.POP_MARK:
        this.popMark(at);
        return undefined;
      case OP.DUP:
        this.push(this.top(at), at);
        return undefined;
      case OP.PROTO: {
        const p = cur.byte();
        if (p > 5) throw new Malformed(`unsupported pickle protocol ${p}`, at);
        this.protocol = p;
        return undefined;
      }
      case OP.FRAME: {
        const n = cur.uint(8);
        if (this.frameEnd !== -1 && !this.frameReported) {
          this.frameReported = true;
          this.report('PICKLE_FRAME_VIOLATION', 'a FRAME starts inside another frame', at, { opcode: 'FRAME' });
        }
        if (n > BigInt(cur.remaining)) {
          if (!this.frameReported) {
            this.frameReported = true;
            this.report('PICKLE_FRAME_VIOLATION', `a FRAME of ${n} bytes runs past the end of the data`, at, { opcode: 'FRAME' });
          }
          this.frameEnd = cur.end;
        } else this.frameEnd = n === 0n ? -1 : cur.pos + Number(n);
        return undefined;
      }
      case OP.NONE:
        this.push(NONE, at);
        return undefined;
      case OP.NEWTRUE:
      case OP.NEWFALSE:
        this.push({ k: 'bool', value: op === OP.NEWTRUE }, at);
        return undefined;
      case OP.INT: {
        const { bytes, length } = cur.line(64);
        const text = latin1(bytes);
        if (length === 2 && (text === '00' || text === '01')) {
          this.push({ k: 'bool', value: text === '01' }, at);
          return undefined;
        }
        const v = length > 64 ? undefined : (cStrtol0(text) ?? pythonInt(text, 0));
        if (v === undefined && length <= 64) throw new Malformed(`invalid literal for int(): ${JSON.stringify(shown(text))}`, at);
        this.push(num(v), at);
        return undefined;
      }
      case OP.LONG: {
        const { bytes, length } = cur.line(64);
        let text = latin1(bytes);
        if (text.endsWith('L')) text = text.slice(0, -1);
        const v = length > 64 ? undefined : pythonInt(text, 0);
        if (v === undefined && length <= 64) throw new Malformed(`invalid literal for int(): ${JSON.stringify(shown(text))}`, at);
        this.push(num(v), at);
        return undefined;
      }
      case OP.BININT:
        this.push(num(BigInt(cur.int32())), at);
        return undefined;
      case OP.BININT1:
        this.push(num(BigInt(cur.byte())), at);
        return undefined;
      case OP.BININT2:
        this.push(num(cur.uint(2)), at);
        return undefined;
      case OP.LONG1:
      case OP.LONG4: {
        const n = op === OP.LONG1 ? cur.byte() : cur.int32();
        if (n < 0) throw new Malformed('LONG pickle has negative byte count', at);
        if (n > cur.remaining) throw new Malformed(`a LONG of ${n} bytes runs past the end of the data`, at);
        if (n <= 16) {
          const b = cur.take(n);
          let v = 0n;
          for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
          if (n > 0 && (b[n - 1]! & 0x80) !== 0) v -= 1n << BigInt(8 * n);
          this.push(num(v), at);
        } else {
          cur.skip(n);
          this.push(num(undefined), at);
        }
        return undefined;
      }
      case OP.FLOAT: {
        const { bytes, length } = cur.line(128);
        const text = latin1(bytes);
        if (length <= 128 && !FLOAT_TEXT.test(text)) throw new Malformed(`could not convert string to float: ${JSON.stringify(shown(text))}`, at);
        this.push(FLOAT, at);
        return undefined;
      }
      case OP.BINFLOAT:
        cur.skip(8);
        this.push(FLOAT, at);
        return undefined;
      case OP.STRING: {
        const { bytes, length } = cur.line();
        if (length > PICKLE_LIMITS.keptString) {
          this.push(this.str(undefined), at);
          return undefined;
        }
        const raw = latin1(bytes);
        const q = raw[0];
        if (raw.length < 2 || (q !== "'" && q !== '"') || raw[raw.length - 1] !== q) throw new Malformed('the STRING opcode argument must be quoted', at);
        const text = escapeDecode(raw.slice(1, -1));
        if (text === undefined) throw new Malformed('invalid escape in a STRING argument', at);
        this.push(this.str(text), at);
        return undefined;
      }
      case OP.BINSTRING: {
        const n = cur.int32();
        if (n < 0) throw new Malformed('BINSTRING pickle has negative byte count', at);
        this.push(this.lengthString(BigInt(n), 'latin1', at), at);
        return undefined;
      }
      case OP.SHORT_BINSTRING:
        this.push(this.lengthString(BigInt(cur.byte()), 'latin1', at), at);
        return undefined;
      case OP.UNICODE: {
        const { bytes, length } = cur.line();
        if (length > PICKLE_LIMITS.keptString) {
          this.push(this.str(undefined), at);
          return undefined;
        }
        const text = rawUnicodeEscapeDecode(bytes);
        if (text === undefined) throw new Malformed('invalid \\u escape in a UNICODE argument', at);
        this.push(this.str(text), at);
        return undefined;
      }
      case OP.BINUNICODE:
        this.push(this.lengthString(cur.uint(4), 'utf8', at), at);
        return undefined;
      case OP.SHORT_BINUNICODE:
        this.push(this.lengthString(BigInt(cur.byte()), 'utf8', at), at);
        return undefined;
      case OP.BINUNICODE8:
        this.push(this.lengthString(cur.uint(8), 'utf8', at), at);
        return undefined;
      case OP.BINBYTES:
      case OP.SHORT_BINBYTES:
      case OP.BINBYTES8:
      case OP.BYTEARRAY8: {
        const n = op === OP.SHORT_BINBYTES ? BigInt(cur.byte()) : op === OP.BINBYTES ? cur.uint(4) : cur.uint(8);
        cur.skip(n);
        this.push(BYTES, at);
        return undefined;
      }
      case OP.EMPTY_TUPLE:
        this.push(tuple([]), at);
        return undefined;
      case OP.TUPLE:
        this.push(tuple(this.popMark(at)), at);
        return undefined;
      case OP.TUPLE1:
      case OP.TUPLE2:
      case OP.TUPLE3: {
        const n = op - OP.TUPLE1 + 1;
        const items: Value[] = [];
        for (let i = 0; i < n; i++) items.unshift(this.pop(at));
        this.push(tuple(items), at);
        return undefined;
      }
      case OP.EMPTY_LIST:
        this.push({ k: 'list', items: [], truncated: false }, at);
        return undefined;
      case OP.LIST: {
        const items = this.popMark(at);
        const kept = items.slice(0, PICKLE_LIMITS.containerItems);
        this.push({ k: 'list', items: kept, truncated: kept.length < items.length }, at);
        return undefined;
      }
      case OP.EMPTY_DICT:
        this.push({ k: 'dict' }, at);
        return undefined;
      case OP.DICT: {
        const items = this.popMark(at);
        if (items.length % 2 !== 0) throw new Malformed('odd number of items for DICT', at);
        this.push({ k: 'dict' }, at);
        return undefined;
      }
      case OP.EMPTY_SET:
        this.push({ k: 'set', frozen: false }, at);
        return undefined;
      case OP.FROZENSET:
        this.popMark(at);
        this.push({ k: 'set', frozen: true }, at);
        return undefined;
      case OP.APPEND: {
        const v = this.pop(at);
        this.mutate(this.top(at), 'list', 'APPEND', at, [v]);
        return undefined;
      }
      case OP.APPENDS: {
        const items = this.popMark(at);
        this.mutate(this.top(at), 'list', 'APPENDS', at, items);
        return undefined;
      }
      case OP.SETITEM: {
        this.pop(at);
        this.pop(at);
        this.mutate(this.top(at), 'dict', 'SETITEM', at, []);
        return undefined;
      }
      case OP.SETITEMS: {
        const items = this.popMark(at);
        if (items.length % 2 !== 0) throw new Malformed('odd number of items for SETITEMS', at);
        this.mutate(this.top(at), 'dict', 'SETITEMS', at, []);
        return undefined;
      }
      case OP.ADDITEMS: {
        const items = this.popMark(at);
        this.mutate(this.top(at), 'set', 'ADDITEMS', at, items);
        return undefined;
      }
      case OP.PUT:
        this.put(this.memoIndex(latin1(cur.line(64).bytes), at), at);
        return undefined;
      case OP.BINPUT:
        this.put(cur.byte(), at);
        return undefined;
      case OP.LONG_BINPUT:
        this.put(Number(cur.uint(4)), at);
        return undefined;
      case OP.MEMOIZE:
        this.put(this.memo.size, at);
        return undefined;
      case OP.GET:
        this.get(this.memoIndex(latin1(cur.line(64).bytes), at), at);
        return undefined;
      case OP.BINGET:
        this.get(cur.byte(), at);
        return undefined;
      case OP.LONG_BINGET:
        this.get(cur.uint(4), at);
        return undefined;
      case OP.GLOBAL:
      case OP.INST: {
        const module = this.textLine(at);
        const qualname = this.textLine(at);
        const g = this.global(module, qualname, name!, at);
        if (op === OP.GLOBAL) this.push(g, at);
        else this.push(this.call(g, this.popMark(at), 'INST', at), at);
        return undefined;
      }
      case OP.STACK_GLOBAL: {
        const qualname = this.pop(at);
        const module = this.pop(at);
        if (module.k !== 'str' || qualname.k !== 'str' || module.text === undefined || qualname.text === undefined) {
          this.report('PICKLE_NONLITERAL_GLOBAL', `STACK_GLOBAL takes ${describeValue(module)} and ${describeValue(qualname)}, not two literal strings`, at, { opcode: 'STACK_GLOBAL' });
          this.push({ k: 'global', module: '?', name: '?', allowed: false }, at);
        } else this.push(this.global(module.text, qualname.text, 'STACK_GLOBAL', at), at);
        return undefined;
      }
      case OP.REDUCE: {
        const args = this.pop(at);
        const callee = this.pop(at);
        this.push(this.call(callee, args.k === 'tuple' ? args.items : [], 'REDUCE', at), at);
        if (args.k !== 'tuple') this.report('PICKLE_MALFORMED', 'REDUCE arguments are not a tuple', at);
        return undefined;
      }
      case OP.NEWOBJ: {
        const args = this.pop(at);
        const cls = this.pop(at);
        this.push(this.call(cls, args.k === 'tuple' ? args.items : [], 'NEWOBJ', at), at);
        return undefined;
      }
      case OP.NEWOBJ_EX: {
        this.pop(at);
        const args = this.pop(at);
        const cls = this.pop(at);
        this.push(this.call(cls, args.k === 'tuple' ? args.items : [], 'NEWOBJ_EX', at), at);
        return undefined;
      }
      case OP.OBJ: {
        const items = this.popMark(at);
        if (items.length === 0) throw new Malformed('OBJ without a class', at);
        this.push(this.call(items[0]!, items.slice(1), 'OBJ', at), at);
        return undefined;
      }
      case OP.BUILD: {
        this.pop(at);
        const target = this.top(at);
        const buildable = target.k === 'obj' && target.ctor !== undefined && (BUILDABLE.has(target.ctor) || this.opts.allowGlobals.has(target.ctor));
        if (!buildable) {
          this.report('PICKLE_UNSAFE_BUILD', `BUILD sets state on ${shown(describeValue(target))}`, at, { opcode: 'BUILD', target: shown(describeValue(target)) }, describeValue(target));
        }
        return undefined;
      }
      case OP.PERSID: {
        const { bytes } = cur.line();
        this.push(this.persistentLoad(this.str(latin1(bytes)), 'PERSID', at), at);
        return undefined;
      }
      case OP.BINPERSID:
        this.push(this.persistentLoad(this.pop(at), 'BINPERSID', at), at);
        return undefined;
      case OP.EXT1:
      case OP.EXT2:
      case OP.EXT4: {
        const code = op === OP.EXT1 ? BigInt(cur.byte()) : op === OP.EXT2 ? cur.uint(2) : BigInt(cur.int32());
        this.report('PICKLE_EXTENSION_REGISTRY', `${name} imports extension code ${code} through the copyreg registry`, at, { opcode: name!, code: Number(code) });
        this.push(UNKNOWN, at);
        return undefined;
      }
      case OP.NEXT_BUFFER:
        this.report('PICKLE_OUT_OF_BAND_BUFFER', 'NEXT_BUFFER takes an out-of-band buffer the plain loader does not have', at, { opcode: 'NEXT_BUFFER' });
        this.push(UNKNOWN, at);
        return undefined;
      case OP.READONLY_BUFFER:
        this.top(at);
        this.report('PICKLE_OUT_OF_BAND_BUFFER', 'READONLY_BUFFER works on out-of-band buffers', at, { opcode: 'READONLY_BUFFER' });
        return undefined;
      default:
        throw new Malformed(`invalid load key 0x${op.toString(16).padStart(2, '0')}`, at);
    }
  }

  /** After STOP: nothing left on the stack and no open MARK. */
  isBalanced(): boolean {
    return this.stack.length === 0 && this.marks.length === 0;
  }

  /** A GLOBAL/INST line: UTF-8, only the final newline removed (as CPython). */
  private textLine(at: number): string {
    const { bytes, length } = this.cur.line();
    if (length > PICKLE_LIMITS.keptString) return `${latin1(bytes)}...`;
    const text = decodeUtf8SurrogatePass(bytes);
    if (text === undefined) throw new Malformed('a GLOBAL name is not valid UTF-8', at);
    return text;
  }
}

/**
 * Unpickles one pickle abstractly from `start`. Findings (including those made before a break)
 * are returned, not reported, so the caller decides whether a trailing segment is a pickle.
 */
export function runPickle(source: ByteSource, start: number, end: number, opts: PickleOptions): PickleRun {
  const cur = new Cursor(source, start, end);
  const machine = new Machine(cur, opts);
  let value: Value | undefined;
  let complete = false;
  const startsWithProto = start < end && source.read(start, 1)[0] === OP.PROTO;
  try {
    value = machine.run();
    complete = true;
  } catch (error) {
    if (!(error instanceof Malformed)) throw error;
    const f: FindingInput = { code: error.code, message: `pickle: ${error.message}`, offset: error.at, ...(opts.member === undefined ? {} : { member: opts.member }) };
    machine.findings.push(f);
  }
  return { start, end: cur.pos, complete, value, findings: machine.findings, storages: machine.storages, views: machine.views, notWeightsOnly: machine.notWeightsOnly, startsWithProto };
}

export interface PickleStreamOptions extends PickleOptions {
  /** The container says this many pickles follow (torch legacy: 5); they count even if broken. */
  readonly expected?: number;
  /** Stop after this many pickles (the rest is not pickle data, e.g. legacy storage bytes). */
  readonly maxPickles?: number;
}

export interface PickleStream {
  readonly runs: readonly PickleRun[];
  /** Where the last counted pickle ended. */
  readonly end: number;
}

/**
 * Every pickle of a concatenation, as `pickle.load` called repeatedly would see them. A segment
 * after the first counts when it parses to STOP, starts with PROTO, or the container expects it;
 * otherwise it is trailing data (a note) and its partial findings are dropped as noise.
 */
export function runPickleStream(source: ByteSource, start: number, end: number, opts: PickleStreamOptions, report: (f: FindingInput) => void): PickleStream {
  const runs: PickleRun[] = [];
  let pos = start;
  const max = opts.maxPickles ?? Number.MAX_SAFE_INTEGER;
  while (pos < end && runs.length < max) {
    const run = runPickle(source, pos, end, opts);
    const counts = runs.length === 0 || run.complete || run.startsWithProto || (opts.expected !== undefined && runs.length < opts.expected);
    if (!counts) {
      report({ code: 'PICKLE_TRAILING_DATA', message: `${end - pos} bytes after the last pickle are not a pickle`, offset: pos, ...(opts.member === undefined ? {} : { member: opts.member }) });
      break;
    }
    runs.push(run);
    for (const f of run.findings) report(f);
    if (!run.complete) break;
    pos = run.end;
  }
  return { runs, end: runs.length === 0 ? start : runs[runs.length - 1]!.end };
}

/** `\x80` + protocol 0..5: how detection and zip members sniff a pickle. */
export function looksLikePickle(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === OP.PROTO && head[1]! <= 5;
}

/** Argument bytes of the first opcodes a protocol 0/1 probe meets that take a fixed number. */
const FIXED_ARGUMENT = new Map<number, number>([
  [OP.MARK, 0], [OP.EMPTY_TUPLE, 0], [OP.EMPTY_LIST, 0], [OP.EMPTY_DICT, 0], [OP.NONE, 0],
  [OP.BININT1, 1], [OP.BININT2, 2], [OP.BININT, 4], [OP.BINFLOAT, 8],
]);
/** ...and of those whose argument is text lines, each read up to and including its newline. */
const ARGUMENT_LINES = new Map<number, number>([[OP.INT, 1], [OP.LONG, 1], [OP.FLOAT, 1], [OP.STRING, 1], [OP.UNICODE, 1], [OP.GLOBAL, 2]]);
/** How far the cheap test looks for those newlines before it leaves the answer to the parser. */
const SECOND_OPCODE_WINDOW = 4096;

/**
 * A cheap necessary condition for parsesAsPickle, tested before a parser is built: the byte where
 * the parser reads its second opcode (after the first opcode and its argument, consumed exactly as
 * the parser consumes them) is an opcode. Random bytes that start like a protocol 0/1 pickle (one
 * file in 17) fail it about three times in four; building the parser and throwing its error cost
 * ~10-20 us a file before V8 has warmed up. False only when the parse would fail at that byte or
 * earlier; true whenever unsure.
 */
function secondOpcodeIsValid(source: ByteSource, start: number, end: number): boolean {
  if (end - start < 2) return true;
  const head = source.read(start, Math.min(end - start, SECOND_OPCODE_WINDOW));
  return secondOpcodeIsValidIn(head, head.length);
}

/** secondOpcodeIsValid for a whole pickle in memory (`bytes` start at its first opcode), without a copy or a view. */
export function pickleSecondOpcodeIsValid(bytes: Uint8Array): boolean {
  return bytes.length < 2 || secondOpcodeIsValidIn(bytes, Math.min(bytes.length, SECOND_OPCODE_WINDOW));
}

/** The test on the first `length` bytes of `head`. */
function secondOpcodeIsValidIn(head: Uint8Array, length: number): boolean {
  let next = FIXED_ARGUMENT.get(head[0]!);
  if (next !== undefined) next += 1;
  else {
    const lines = ARGUMENT_LINES.get(head[0]!);
    if (lines === undefined) return true;
    next = 1;
    for (let l = 0; l < lines; l++) {
      const newline = head.indexOf(0x0a, next);
      if (newline === -1 || newline >= length) return true;
      next = newline + 1;
    }
  }
  return next >= length || OPNAME.has(head[next]!);
}

/**
 * Protocol 0/1 detection: a strict parse from the start reaches STOP with exactly one value and
 * no open MARK, and no finding at all except imports (which is what makes it interesting).
 */
export function parsesAsPickle(source: ByteSource, start: number, end: number): boolean {
  if (!secondOpcodeIsValid(source, start, Math.min(end, source.size))) return false;
  const cur = new Cursor(source, start, Math.min(end, start + 16 * 1024 * 1024));
  const machine = new Machine(cur, { profile: 'generic', allowGlobals: new Set(), persistent: 'none' });
  try {
    machine.run();
    return machine.isBalanced();
  } catch (error) {
    if (error instanceof Malformed) return false;
    throw error;
  }
}
