import { utf8ByteLength } from '../bytes.js';
import { LIMITS } from '../limits.js';

/**
 * The glob language of ignore patterns and trust-policy model names, small enough to specify
 * byte for byte (docs/signature-format.md, "Globs") so another verifier matches exactly as we do:
 *
 * - `*` matches any run of characters except `/` (also none);
 * - `?` matches one character except `/`;
 * - `**` as a whole segment matches any number of segments (also none): `a/**` matches `a/b/c`
 *   and `a`; `**\/x` matches `x` and `d/x`; `**` alone matches everything;
 * - `\` makes the next character literal; every other character matches itself.
 *
 * Matching is case-sensitive and against the whole string.
 */
export interface Glob {
  readonly pattern: string;
  matches(text: string): boolean;
}

/** Returns why `pattern` is not a valid glob, or undefined. */
export function checkGlob(pattern: string): string | undefined {
  if (pattern.length === 0) return 'pattern is empty';
  if (!pattern.isWellFormed()) return 'pattern is not valid UTF-8';
  if (utf8ByteLength(pattern) > LIMITS.globBytes) return `pattern is longer than ${LIMITS.globBytes} bytes`;
  if (/\p{Cc}/u.test(pattern)) return 'pattern contains a control character';
  let trailingBackslashes = 0;
  for (let i = pattern.length - 1; i >= 0 && pattern[i] === '\\'; i--) trailingBackslashes++;
  if (trailingBackslashes % 2 === 1) return 'pattern ends with a lone backslash';
  for (const segment of splitSegments(pattern)) {
    // Escaped characters are literals: "\**" is a literal "*" followed by a wildcard.
    const wildcards = segment.replace(/\\[\s\S]/gu, '_');
    if (wildcards.includes('**') && segment !== '**') return '"**" must be a whole path segment';
  }
  return undefined;
}

export function compileGlob(pattern: string): Glob {
  const why = checkGlob(pattern);
  if (why !== undefined) throw new RangeError(`glob ${JSON.stringify(pattern)}: ${why}`);
  // "**/**" means the same as "**".
  const segments = splitSegments(pattern).filter((s, i, all) => !(s === '**' && all[i - 1] === '**'));
  let source = '';
  segments.forEach((segment, i) => {
    const first = i === 0;
    const last = i === segments.length - 1;
    if (segment === '**') {
      if (first && last) source += '.*';
      else if (first) source += '(?:[^/]+/)*'; // zero or more leading segments, each with its "/"
      else if (last) source += '(?:/.*)?'; // "a/**" matches "a" and everything below it
      else source += '(?:/[^/]+)*'; // zero or more middle segments
      return;
    }
    const afterLeadingDoubleStar = i === 1 && segments[0] === '**';
    if (!first && !afterLeadingDoubleStar) source += '/';
    source += segmentSource(segment);
  });
  const regex = new RegExp(`^${source}$`, 'su');
  return { pattern, matches: (text) => regex.test(text) };
}

/** Escapes a literal path so that it can be used as a glob matching exactly that path. */
export function escapeGlob(literal: string): string {
  return literal.replace(/[\\*?]/g, (c) => `\\${c}`);
}

function splitSegments(pattern: string): string[] {
  // Split on "/" that is not escaped.
  const segments: string[] = [];
  let current = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\' && i + 1 < pattern.length) {
      current += c + pattern[i + 1]!;
      i++;
    } else if (c === '/') {
      segments.push(current);
      current = '';
    } else current += c;
  }
  segments.push(current);
  return segments;
}

function segmentSource(segment: string): string {
  let out = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '\\') {
      const next = segment.codePointAt(i + 1)!;
      const ch = String.fromCodePoint(next);
      out += escapeRegex(ch);
      i += ch.length;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += escapeRegex(c);
  }
  return out;
}

function escapeRegex(c: string): string {
  // Only syntax characters: with the "u" flag, an escaped "-" outside a class is a SyntaxError.
  return c.replace(/[.*+?^${}()|[\]\\/]/g, (m) => `\\${m}`);
}
