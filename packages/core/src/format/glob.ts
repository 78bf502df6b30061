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

// Matching walks the pattern once over the set of reachable positions instead of compiling to a
// backtracking RegExp, whose time is exponential in the number of "*" ("*a*a*a*b" against a long
// name): ignore patterns are matched against names anyone who can write to the model directory
// chooses, and verify must not hang on them.
const STAR = Symbol('*');
const ONE = Symbol('?');
const DOUBLE_STAR = Symbol('**');
/** A code point to match literally, or a wildcard. */
type Token = string | typeof STAR | typeof ONE;
type Segment = readonly Token[] | typeof DOUBLE_STAR;

/** Compiles a glob (checked with checkGlob first) into a matcher over model-relative paths. */
export function compileGlob(pattern: string): Glob {
  const why = checkGlob(pattern);
  if (why !== undefined) throw new RangeError(`glob ${JSON.stringify(pattern)}: ${why}`);
  // "**/**" means the same as "**". An escaped "/" separates segments like "/" (wildcards never
  // match "/"); it cannot touch a "**" segment, which checkGlob keeps whole.
  const segments = splitSegments(pattern)
    .filter((s, i, all) => !(s === '**' && all[i - 1] === '**'))
    .flatMap((s): Segment[] => (s === '**' ? [DOUBLE_STAR] : splitTokens(segmentTokens(s))));
  // A segment without wildcards must equal a whole segment of the text: a text that has none of
  // them anywhere cannot match, and is turned away without splitting it (the default ignore
  // "**/.git/**" is tried on every file of a directory model).
  const literals = segments
    .filter((s): s is readonly string[] => s !== DOUBLE_STAR && s.every((t) => typeof t === 'string'))
    .map((s) => s.join(''))
    .map((literal) => ({ whole: literal, first: `${literal}/`, last: `/${literal}`, inner: `/${literal}/` }));
  const hasSegment = (text: string, l: (typeof literals)[number]) =>
    text.includes(l.whole) && (text === l.whole || text.startsWith(l.first) || text.endsWith(l.last) || text.includes(l.inner));
  return { pattern, matches: (text) => literals.every((literal) => hasSegment(text, literal)) && matchSegments(segments, text.split('/')) };
}

function segmentTokens(segment: string): Token[] {
  const tokens: Token[] = [];
  const chars = Array.from(segment);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '\\') tokens.push(chars[++i]!);
    else tokens.push(c === '*' ? STAR : c === '?' ? ONE : c);
  }
  return tokens;
}

function splitTokens(tokens: Token[]): Token[][] {
  const out: Token[][] = [[]];
  for (const token of tokens) {
    if (token === '/') out.push([]);
    else out[out.length - 1]!.push(token);
  }
  return out;
}

/**
 * Which text segments each pattern segment can end at. A "**" that is not last matches zero or
 * more non-empty segments; a last "**" matches everything after it ("a/**" matches "a" too).
 */
function matchSegments(segments: readonly Segment[], parts: readonly string[]): boolean {
  const chars: (string[] | undefined)[] = [];
  let reach = new Uint8Array(parts.length + 1);
  reach[0] = 1;
  segments.forEach((segment, i) => {
    const next = new Uint8Array(parts.length + 1);
    if (segment === DOUBLE_STAR) {
      const last = i === segments.length - 1;
      for (let j = 0; j <= parts.length; j++) {
        next[j] = reach[j]! | (j > 0 && next[j - 1] && (last || parts[j - 1] !== '') ? 1 : 0);
      }
    } else {
      for (let j = 0; j < parts.length; j++) {
        if (reach[j] && matchSegment(segment, (chars[j] ??= Array.from(parts[j]!)))) next[j + 1] = 1;
      }
    }
    reach = next;
  });
  return reach[parts.length] === 1;
}

/**
 * "*" and "?" within one segment (the text holds no "/"): the classic greedy matcher, which on a
 * mismatch only moves the last "*" one character on, so it takes at most pattern x text steps.
 */
function matchSegment(tokens: readonly Token[], chars: readonly string[]): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let starText = 0;
  while (t < chars.length) {
    const token = tokens[p];
    if (token === STAR) {
      star = p++;
      starText = t;
    } else if (token !== undefined && (token === ONE || token === chars[t])) {
      p++;
      t++;
    } else if (star >= 0) {
      p = star + 1;
      t = ++starText;
    } else return false;
  }
  while (tokens[p] === STAR) p++;
  return p === tokens.length;
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
