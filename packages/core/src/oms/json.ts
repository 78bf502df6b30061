import { decodeUtf8Strict, fromBase64, toBase64 } from '../bytes.js';
/**
 * Strict JSON for OMS bundles and in-toto statements. JSON.parse keeps the last of two equal keys,
 * so `{"hint": A, "hint": B}` would mean B here and possibly A to another verifier: a bundle that
 * two verifiers read differently is refused. Nesting is bounded before anything is built.
 */
export class StrictJsonError extends Error {}

/** Parses `text` as JSON, refusing duplicate object keys and nesting deeper than `maxDepth`. */
export function parseStrictJson(text: string, maxDepth: number): unknown {
  checkKeysAndDepth(text, maxDepth);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new StrictJsonError(`not valid JSON: ${(error as Error).message}`);
  }
}

const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const WHITESPACE = /[ \t\n\r]*/y;

// One pass over the text: objects push a key set, arrays push null. Grammar errors are left to
// JSON.parse; this pass only has to be right for texts JSON.parse accepts.
function checkKeysAndDepth(text: string, maxDepth: number): void {
  const stack: (Set<string> | null)[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '{' || c === '[') {
      if (stack.length >= maxDepth) throw new StrictJsonError(`nested deeper than ${maxDepth} levels`);
      stack.push(c === '{' ? new Set() : null);
      i++;
    } else if (c === '}' || c === ']') {
      stack.pop();
      i++;
    } else if (c === '"') {
      STRING.lastIndex = i;
      const m = STRING.exec(text);
      if (m === null) return; // JSON.parse reports it
      i += m[0].length;
      WHITESPACE.lastIndex = i;
      const after = i + (WHITESPACE.exec(text)?.[0].length ?? 0);
      const keys = stack[stack.length - 1];
      if (text[after] === ':' && keys) {
        const key = JSON.parse(m[0]) as string;
        if (keys.has(key)) throw new StrictJsonError(`duplicate key ${JSON.stringify(key)}`);
        keys.add(key);
      }
    } else i++;
  }
}

/** A JSON object's own fields, or undefined when `value` is not a plain object. */
/** Strict UTF-8, then strict JSON; `fail` reports either problem in the caller's terms. */
export function parseJsonBytes(bytes: Uint8Array, maxDepth: number, fail: (message: string) => never): unknown {
  const text = decodeUtf8Strict(bytes) ?? fail('not valid UTF-8');
  try {
    return parseStrictJson(text, maxDepth);
  } catch (error) {
    if (error instanceof StrictJsonError) return fail(error.message);
    throw error;
  }
}

export function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** Strict standard base64 (with padding), as protobuf JSON writes bytes; undefined if invalid. */
export function decodeBase64(text: string): Uint8Array | undefined {
  return fromBase64(text);
}

export function encodeBase64(bytes: Uint8Array): string {
  return toBase64(bytes);
}
