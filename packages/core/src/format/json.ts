/**
 * ms-sign's one strict JSON reader, for everything it reads as JSON: headers and configs inside
 * model files (safetensors, Keras, GGUF metadata), OMS bundles and in-toto statements, trust
 * policies and state files. Unlike JSON.parse it decodes UTF-8 fatally, refuses duplicate keys
 * (JSON.parse keeps the last, so `{"revoked": [K], "revoked": []}` or two `"hint"`s would mean one
 * thing here and possibly another to a different reader; the error names the key by its JSON
 * pointer), limits depth and item counts, keeps numbers as their text (offsets and shapes are
 * converted with BigInt by the caller), and builds Maps, so no key can touch a prototype.
 * Iterative: nesting depth costs heap, not call stack. Byte sizes are bounded by the callers'
 * bounded reads. `toPlainJson` gives what JSON.parse would have given for an accepted text.
 */

export const JSON_LIMITS = {
  depth: 256,
  /** Items (values) in one document. */
  items: 10_000_000,
} as const;

export class JsonNumber {
  constructor(readonly text: string) {}
  /** The integer value, or undefined when the text is not an integer. */
  asBigInt(): bigint | undefined {
    return /^-?(0|[1-9]\d*)$/u.test(this.text) ? BigInt(this.text) : undefined;
  }
}

export type JsonValue = null | boolean | string | JsonNumber | JsonValue[] | JsonObject;
export type JsonObject = Map<string, JsonValue>;

export class JsonError extends Error {
  override readonly name = 'JsonError';
  constructor(
    message: string,
    readonly offset: number,
    readonly limit = false,
    /** For a duplicate key: the JSON pointer (RFC 6901) of the second occurrence. */
    readonly duplicate?: string,
  ) {
    super(message);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface JsonOptions {
  readonly depth?: number;
  /** Bytes after the value that may be spaces (safetensors pads its header with 0x20). */
  readonly trailingSpaces?: boolean;
}

/**
 * Parses `input` (UTF-8 bytes, or text already decoded) as one strict JSON document. Throws
 * JsonError with the offset (in UTF-16 code units of the decoded text).
 */
export function parseStrictJson(input: Uint8Array | string, options: JsonOptions = {}): JsonValue {
  let text: string;
  if (typeof input === 'string') text = input;
  else {
    try {
      text = utf8.decode(input);
    } catch {
      throw new JsonError('not valid UTF-8', 0);
    }
  }
  const maxDepth = options.depth ?? JSON_LIMITS.depth;
  let i = 0;
  let items = 0;
  const fail = (message: string): never => {
    throw new JsonError(message, i);
  };
  const ws = () => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else return;
    }
  };
  const string = (): string => {
    i++; // opening quote
    let out = '';
    let runStart = i;
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(runStart, i);
        i++;
        return out;
      }
      if (c < 0x20) fail('control character in a string');
      if (c === 0x5c) {
        out += text.slice(runStart, i);
        const e = text[i + 1];
        const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
        if (e !== undefined && e in simple) {
          out += simple[e]!;
          i += 2;
        } else if (e === 'u') {
          const h = text.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/u.test(h)) fail('invalid \\u escape');
          out += String.fromCharCode(parseInt(h, 16));
          i += 6;
        } else fail('invalid escape');
        runStart = i;
        continue;
      }
      i++;
    }
  };
  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const scalar = (): JsonValue => {
    const c = text[i];
    if (c === '"') return string();
    if (text.startsWith('true', i)) return (i += 4), true;
    if (text.startsWith('false', i)) return (i += 5), false;
    if (text.startsWith('null', i)) return (i += 4), null;
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (m === null || m[0].length === 0) fail(c === undefined ? 'unexpected end' : `unexpected ${JSON.stringify(c)}`);
    i += m![0].length;
    return new JsonNumber(m![0]);
  };

  // Containers under construction, innermost last.
  type Frame = { kind: 'array'; value: JsonValue[] } | { kind: 'object'; value: JsonObject; key: string | undefined };
  const stack: Frame[] = [];
  let result: JsonValue | undefined;
  let done = false;

  const attach = (v: JsonValue) => {
    if (++items > JSON_LIMITS.items) throw new JsonError(`more than ${JSON_LIMITS.items} values`, i, true);
    const top = stack[stack.length - 1];
    if (top === undefined) {
      result = v;
      done = true;
    } else if (top.kind === 'array') top.value.push(v);
    else {
      top.value.set(top.key!, v);
      top.key = undefined;
    }
  };

  // The parser alternates between "expect a value" and "after a value" states.
  let expectValue = true;
  ws();
  while (!done) {
    if (expectValue) {
      const top = stack[stack.length - 1];
      if (top?.kind === 'object' && top.key === undefined) {
        // A key (or the end of an empty object).
        if (text[i] === '}' && top.value.size === 0) {
          i++;
          stack.pop();
          expectValue = false;
          attach(top.value);
          continue;
        }
        if (text[i] !== '"') fail('expected a key');
        const key = string();
        if (top.value.has(key)) throw new JsonError(`duplicate key ${JSON.stringify(key.slice(0, 64))}`, i, false, pointerTo(stack, key));
        ws();
        if (text[i] !== ':') fail('expected :');
        i++;
        ws();
        top.key = key;
        // Reserve the key so a duplicate inside the value's own object cannot hide it.
        continue;
      }
      const c = text[i];
      if (c === '[' || c === '{') {
        if (stack.length >= maxDepth) throw new JsonError(`nested deeper than ${maxDepth}`, i, true);
        i++;
        ws();
        if (c === '[') {
          if (text[i] === ']') {
            i++;
            expectValue = false;
            attach([]);
            continue;
          }
          stack.push({ kind: 'array', value: [] });
        } else stack.push({ kind: 'object', value: new Map(), key: undefined });
        continue;
      }
      if (top?.kind === 'array' && c === ']' ) fail('trailing comma');
      const v = scalar();
      expectValue = false;
      attach(v);
    } else {
      ws();
      const top = stack[stack.length - 1]!;
      const c = text[i];
      if (c === ',') {
        i++;
        ws();
        expectValue = true;
        if (top.kind === 'object' && text[i] === '}') fail('trailing comma');
        continue;
      }
      if ((top.kind === 'array' && c === ']') || (top.kind === 'object' && c === '}')) {
        i++;
        stack.pop();
        attach(top.value);
        continue;
      }
      fail(`expected , or ${top.kind === 'array' ? ']' : '}'}`);
    }
    if (!done) ws();
  }
  if (options.trailingSpaces) while (text.charCodeAt(i) === 0x20) i++;
  else ws();
  if (i !== text.length) fail('data after the JSON value');
  return result!;
}

/** The JSON pointer of `key` in the innermost open object: each open array at its current index. */
function pointerTo(stack: readonly ({ kind: 'array'; value: JsonValue[] } | { kind: 'object'; key: string | undefined })[], key: string): string {
  const segments = stack.slice(0, -1).map((frame) => (frame.kind === 'array' ? String(frame.value.length) : frame.key ?? ''));
  return [...segments, key].map((s) => `/${s.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

/**
 * What JSON.parse gives for the same text: plain objects (keys as own data properties, so
 * "__proto__" stays a key) and numbers. Recursion is bounded by the depth limit of the parse.
 */
export function toPlainJson(value: JsonValue): unknown {
  if (value instanceof JsonNumber) return Number(value.text);
  if (Array.isArray(value)) return value.map(toPlainJson);
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of value) Object.defineProperty(out, key, { value: toPlainJson(item), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return value;
}

/**
 * The JSON pointer (RFC 6901) of the first key that appears twice in one object of `text`, or
 * undefined (also when `text` is not JSON at all: parsing reports that).
 */
export function findDuplicateJsonKey(text: string): string | undefined {
  try {
    parseStrictJson(text, { depth: Infinity });
    return undefined;
  } catch (error) {
    if (error instanceof JsonError) return error.duplicate;
    throw error;
  }
}

/** The value as a Map when it is an object. */
export const asObject = (v: JsonValue | undefined): JsonObject | undefined => (v instanceof Map ? v : undefined);
