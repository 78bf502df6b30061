import { fromBase64, toBase64 } from '../bytes.js';
import { JsonError, parseStrictJson, toPlainJson } from '../format/json.js';

/**
 * Strict JSON for OMS bundles and in-toto statements, through the one strict reader (duplicate
 * keys refused: a bundle two verifiers read differently is refused; nesting bounded before
 * anything deep is built), as JSON.parse would give it. `fail` reports a problem in the caller's
 * terms.
 */
export function parseJsonBytes(bytes: Uint8Array, maxDepth: number, fail: (message: string) => never): unknown {
  try {
    return toPlainJson(parseStrictJson(bytes, { depth: maxDepth }));
  } catch (error) {
    if (error instanceof JsonError) return fail(`${error.message}${error.offset > 0 ? ` (at character ${error.offset})` : ''}`);
    throw error;
  }
}

/** A JSON object's own fields, or undefined when `value` is not a plain object. */
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
