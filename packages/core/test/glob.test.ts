/**
 * format/glob.ts: the documented glob language of ignore patterns and trust-policy model names
 * (its header comment): `*`, `?`, `**` as a whole segment, `\` escapes, whole-string and
 * case-sensitive matching. Another verifier must match exactly as ms-sign does, so each rule is
 * pinned by examples that match and examples that must not.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { checkGlob, compileGlob, escapeGlob, LIMITS } from '@ms-sign/core';
import { unicodeText } from '../../../test/helpers/arbitraries.js';

/** pattern, texts it matches, texts it must not match. */
const SEMANTICS: [string, string[], string[]][] = [
  // Every other character matches itself; the whole string, case-sensitively.
  ['model.ms', ['model.ms'], ['model.mss', 'xmodel.ms', 'Model.ms', 'model_ms', 'dir/model.ms']],
  ['a.b+c(d)[e]{f}^$|', ['a.b+c(d)[e]{f}^$|'], ['aXb+c(d)[e]{f}^$|']],
  ['org/resnet-50', ['org/resnet-50'], ['org/resnet50', 'org/resnet_50']],
  ['model-*.ms', ['model-1.ms', 'model-.ms'], ['model.ms', 'model-1.ms/x']],
  // "*": any run of characters except "/", also none.
  ['*', ['a', 'model.ms', '.hidden', ''], ['a/b', '/']],
  ['*.ms', ['a.ms', '.ms', 'a.b.ms'], ['a.ms/b', 'dir/a.ms', 'a.mss', 'a.MS']],
  ['a*b', ['ab', 'aXXb', 'a*b'], ['a/b', 'aXb/c']],
  ['dir/*', ['dir/a', 'dir/'], ['dir', 'dir/a/b', 'other/a']],
  ['*/*', ['a/b', '/'], ['a', 'a/b/c']],
  // "?": exactly one character (a code point) except "/".
  ['?', ['a', '?', 'é', '\u{1F600}'], ['', 'ab', '/']],
  ['v?.ms', ['v1.ms', 'vX.ms'], ['v.ms', 'v12.ms', 'v/.ms']],
  // "**" as a whole segment: any number of segments, also none.
  ['**', ['a', 'a/b/c', '.x/y', ''], []],
  ['a/**', ['a', 'a/b', 'a/b/c'], ['ab', 'b/a', 'ab/c']],
  ['**/x', ['x', 'd/x', 'd/e/x'], ['dx', 'x/d', 'd/xx']],
  ['a/**/b', ['a/b', 'a/x/b', 'a/x/y/b'], ['ab', 'a/xb', 'a/b/c', 'x/a/b']],
  ['**/a/**', ['a', 'x/a', 'a/b', 'x/y/a/b/c'], ['ab', 'xa', 'x/ab']],
  ['**/*.ms', ['a.ms', 'd/a.ms', 'd/e/a.ms'], ['a.mss', 'd/a.ms/x']],
  ['**/**', ['a', 'a/b/c'], []],
  ['a/**/**/b', ['a/b', 'a/x/y/b'], ['a/x/c']],
  // Segments without wildcards must each be a whole segment of the text (tried before matching).
  ['**/.git/**', ['.git', '.git/HEAD', 'a/.git', 'a/b/.git/objects/x'], ['.gitx/a', 'a.git/b', 'x/.github', 'git', 'a/.gi', 'a/x.git']],
  ['x/**/y/*', ['x/y/a', 'x/q/y/a'], ['xy/a', 'x/y', 'x/ay/a', 'y/x/a']],
  ['a/b/a', ['a/b/a'], ['a/b', 'b/a', 'a/b/a/b']],
  // "\": the next character is literal.
  ['\\*', ['*'], ['a', '']],
  ['\\?', ['?'], ['a']],
  ['a\\*b', ['a*b'], ['ab', 'aXb']],
  ['\\\\', ['\\'], ['\\\\', '']],
  ['\\a', ['a'], ['\\a']],
  ['\\*\\*', ['**'], ['a', 'a/b']],
  ['\\**', ['*', '*x', '**'], ['x', '*/x']],
  ['*\\*', ['*', 'x*'], ['x']],
  // An escaped "/" is a literal "/", which wildcards do not match either.
  ['a\\/b', ['a/b'], ['a\\/b', 'ab']],
  ['*\\/*', ['a/b', '/'], ['ab', 'a/b/c']],
];

describe('glob semantics', () => {
  for (const [pattern, matching, notMatching] of SEMANTICS) {
    test(JSON.stringify(pattern), () => {
      assert.equal(checkGlob(pattern), undefined, 'a valid pattern');
      const glob = compileGlob(pattern);
      assert.equal(glob.pattern, pattern);
      for (const text of matching) assert.equal(glob.matches(text), true, `${pattern} matches ${JSON.stringify(text)}`);
      for (const text of notMatching) assert.equal(glob.matches(text), false, `${pattern} does not match ${JSON.stringify(text)}`);
    });
  }
});

test('every printable ASCII character but * ? \\ / matches itself, plain and escaped', () => {
  for (let code = 0x20; code < 0x7f; code++) {
    const c = String.fromCharCode(code);
    if ('*?\\/'.includes(c)) continue;
    for (const [pattern, text] of [[c, c], [`\\${c}`, c], [`${c}*`, `${c}yz`]] as const) {
      const glob = compileGlob(pattern);
      assert.equal(glob.matches(text), true, pattern);
      assert.equal(glob.matches('é'), false, pattern);
    }
  }
});

describe('invalid globs', () => {
  const invalid: [string, string][] = [
    ['empty', ''],
    ['"**" inside a segment', 'a**'],
    ['"**" after text', 'x/**b'],
    ['"***"', '***'],
    ['"**" after an escaped backslash', 'a\\\\**'],
    ['a lone trailing backslash', 'abc\\'],
    ['three trailing backslashes', 'a\\\\\\'],
    ['a control character', 'a\nb'],
    ['a NUL', 'a\u0000'],
    ['DEL', 'a\u007f'],
    ['a lone surrogate', 'a\uD800'],
    ['longer than LIMITS.globBytes', 'a'.repeat(LIMITS.globBytes + 1)],
  ];
  for (const [what, pattern] of invalid) {
    test(`${what}: checkGlob says why, compileGlob throws RangeError`, () => {
      assert.equal(typeof checkGlob(pattern), 'string');
      assert.throws(() => compileGlob(pattern), RangeError);
    });
  }

  test('the longest allowed pattern is fine', () => {
    assert.equal(checkGlob('a'.repeat(LIMITS.globBytes)), undefined);
  });
});

describe('escapeGlob', () => {
  test('escaped, any literal path matches itself and nothing else', () => {
    const segment = unicodeText({ minLength: 1, maxLength: 8 }).filter((s) => !s.includes('/') && !/\p{Cc}/u.test(s));
    const path = fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('/'));
    fc.assert(
      fc.property(path, path, (literal, other) => {
        const glob = compileGlob(escapeGlob(literal));
        assert.equal(glob.matches(literal), true);
        assert.equal(glob.matches(other), other === literal);
      }),
      { numRuns: 500 },
    );
  });

  test('a path full of glob characters', () => {
    for (const literal of ['*', '**', '?', '\\', 'a*b?c\\d', '**/x', 'dir/**']) {
      const glob = compileGlob(escapeGlob(literal));
      assert.equal(glob.matches(literal), true, literal);
      assert.equal(glob.matches(`${literal}x`), false, literal);
    }
  });
});

test('matching takes polynomial, not exponential, time: pathological patterns against long paths finish', () => {
  // Run in a child process: a backtracking matcher would hang this one, not the test runner.
  const script = `
    const { compileGlob } = await import(${JSON.stringify(import.meta.resolve('@ms-sign/core'))});
    const segment = 'a'.repeat(250);
    const path = Array(16).fill(segment).join('/');
    const results = [
      compileGlob('${'*a'.repeat(12)}*b').matches(segment),
      compileGlob('**/${'*a'.repeat(12)}*b').matches(path),
      compileGlob('**/**/a*/**/a*a/**/x').matches(path),
      compileGlob('${'?'.repeat(40)}*${'?'.repeat(40)}*b').matches(segment),
    ];
    process.stdout.write(JSON.stringify(results));
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 15_000 });
  assert.equal(child.signal, null, 'matching did not finish in 15 s');
  assert.equal(child.status, 0, child.stderr);
  assert.deepEqual(JSON.parse(child.stdout), [false, false, false, false]);
});
