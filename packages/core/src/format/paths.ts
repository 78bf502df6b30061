import { utf8ByteLength } from '../bytes.js';
import { LIMITS } from '../limits.js';

/**
 * Model-relative path rules (docs/signature-format.md). A signature file is attacker-controlled until its
 * signature checks, and even a signed one must never make ms-sign touch a file outside the model:
 * so no absolute paths, no `..`, no backslashes (a separator on Windows), no control characters
 * (terminal and log injection), valid UTF-8 only.
 *
 * Returns why the path is unsafe, or undefined when it is fine.
 */
export function checkModelPath(path: string): string | undefined {
  if (path.length === 0) return 'path is empty';
  if (!path.isWellFormed()) return 'path is not valid UTF-8';
  if (utf8ByteLength(path) > LIMITS.pathBytes) return `path is longer than ${LIMITS.pathBytes} bytes`;
  if (path.startsWith('/')) return 'path is absolute';
  if (path.includes('\\')) return 'path contains a backslash';
  // Cc: C0 and C1 control characters, DEL, NUL.
  if (/\p{Cc}/u.test(path)) return 'path contains a control character';
  const segments = path.split('/');
  if (segments.length > LIMITS.pathDepth) return `path is nested deeper than ${LIMITS.pathDepth} levels`;
  for (const segment of segments) {
    if (segment === '') return 'path has an empty segment';
    if (segment === '.' || segment === '..') return `path has a "${segment}" segment`;
    if (utf8ByteLength(segment) > LIMITS.pathSegmentBytes) {
      return `path segment is longer than ${LIMITS.pathSegmentBytes} bytes`;
    }
  }
  return undefined;
}

/**
 * The key under which two paths collide on a case-insensitive file system (macOS, Windows):
 * Unicode NFC (macOS normalizes names) and then lower case.
 */
export function caseFoldKey(path: string): string {
  return path.normalize('NFC').toLowerCase();
}

/** Finds the first pair of paths that are equal, or equal ignoring case. */
export function findPathCollision(paths: readonly string[]): [string, string] | undefined {
  const seen = new Map<string, string>();
  for (const path of paths) {
    const key = caseFoldKey(path);
    const other = seen.get(key);
    if (other !== undefined) return [other, path];
    seen.set(key, path);
  }
  return undefined;
}
