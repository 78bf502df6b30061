import { utf8ByteLength } from '../bytes.js';
import { LIMITS } from '../limits.js';
import { ASSIGNED_RANGES, CASE_FOLDING } from './unicode-fold.js';

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
  // Printable ASCII (most model paths) is well-formed, one UTF-8 byte per character and has no
  // control character: it skips the Unicode checks, which cost a verify of 20,000 files tens of ms.
  const ascii = PRINTABLE_ASCII.test(path);
  if (!ascii && !path.isWellFormed()) return 'path is not valid UTF-8';
  if ((ascii ? path.length : utf8ByteLength(path)) > LIMITS.pathBytes) return `path is longer than ${LIMITS.pathBytes} bytes`;
  if (path.startsWith('/')) return 'path is absolute';
  if (path.includes('\\')) return 'path contains a backslash';
  // Cc: C0 and C1 control characters, DEL, NUL.
  if (!ascii && /\p{Cc}/u.test(path)) return 'path contains a control character';
  const segments = path.split('/');
  if (segments.length > LIMITS.pathDepth) return `path is nested deeper than ${LIMITS.pathDepth} levels`;
  for (const segment of segments) {
    if (segment === '') return 'path has an empty segment';
    if (segment === '.' || segment === '..') return `path has a "${segment}" segment`;
    if ((ascii ? segment.length : utf8ByteLength(segment)) > LIMITS.pathSegmentBytes) {
      return `path segment is longer than ${LIMITS.pathSegmentBytes} bytes`;
    }
  }
  return undefined;
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const ASCII = /^[\x00-\x7f]*$/;

let foldTable: Map<number, string> | undefined;

function caseFold(codePoint: number): string | undefined {
  foldTable ??= new Map(CASE_FOLDING.map(([from, ...to]) => [from!, String.fromCodePoint(...to)]));
  return foldTable.get(codePoint);
}

/** Whether a code point was assigned in Unicode PATH_UNICODE_VERSION (binary search of the ranges). */
function assignedInPinnedVersion(codePoint: number): boolean {
  let lo = 0;
  let hi = ASSIGNED_RANGES.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (codePoint < ASSIGNED_RANGES[2 * mid]!) hi = mid - 1;
    else if (codePoint > ASSIGNED_RANGES[2 * mid + 1]!) lo = mid + 1;
    else return true;
  }
  return false;
}

/**
 * The key under which two paths collide on a case-insensitive, normalizing file system (macOS,
 * Windows): NFC, then full case folding, both as Unicode PATH_UNICODE_VERSION defines them (the
 * committed tables of unicode-fold.ts), whatever Unicode the running Node.js knows. A code point
 * that version did not assign is kept as it is and splits the normalization, exactly as that
 * version's NFC treats it (a starter that composes with nothing): the pieces between such code
 * points hold only assigned characters, whose NFC Unicode's stability policy freezes, so the
 * runtime's NFC gives the pinned version's result for them.
 */
export function caseFoldKey(path: string): string {
  // ASCII is assigned, NFC leaves it as it is, and its only case foldings are A-Z to a-z
  // (test/paths.test.ts checks each ASCII character against the full computation below).
  if (ASCII.test(path)) return path.toLowerCase();
  let key = '';
  let run = '';
  for (const char of path) {
    const codePoint = char.codePointAt(0)!;
    if (assignedInPinnedVersion(codePoint)) {
      run += char;
      continue;
    }
    key += foldRun(run) + char;
    run = '';
  }
  return key + foldRun(run);
}

function foldRun(run: string): string {
  let folded = '';
  for (const char of run.normalize('NFC')) folded += caseFold(char.codePointAt(0)!) ?? char;
  return folded;
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
