/**
 * format/paths.ts and the path rules of docs/signature-format.md: relative, "/"-separated, valid UTF-8, no
 * empty, "." or ".." segment, no leading "/", no backslash or control character, within the
 * documented limits; no two paths equal, nor equal ignoring case. A signed path must never make
 * ms-sign touch a file outside the model, nor collide on macOS or Windows.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { caseFoldKey, checkModelPath, findPathCollision, LIMITS, PATH_UNICODE_VERSION } from '@ms-sign/core';
import { compareUtf8, sortByUtf8, walkModel } from '@ms-sign/core/internal';

let repoRoot = dirname(fileURLToPath(import.meta.url));
while (!existsSync(join(repoRoot, 'pnpm-workspace.yaml')) && dirname(repoRoot) !== repoRoot) repoRoot = dirname(repoRoot);

describe('checkModelPath', () => {
  const accepted = [
    'model.ms',
    'a/b/c.ms',
    'nested/deeper/relu.mindir',
    '.hidden',
    '...',
    '..a',
    'a..',
    '.a/b.',
    'a b/c d.ms',
    'modèle/模型.ms',
    '\u{1F600}.ms',
    'a:b',
    'a*b?c',
    'a'.repeat(LIMITS.pathSegmentBytes),
    // Segments of the maximum length up to the maximum total length.
    Array(16).fill('a'.repeat(255)).join('/').slice(0, LIMITS.pathBytes),
    Array(LIMITS.pathDepth).fill('d').join('/'),
  ];
  for (const path of accepted) {
    test(`accepts ${JSON.stringify(path.length > 40 ? `${path.slice(0, 40)}...` : path)}`, () => {
      assert.equal(checkModelPath(path), undefined);
    });
  }

  const refused: [string, string][] = [
    ['empty', ''],
    ['absolute', '/etc/passwd'],
    ['only "/"', '/'],
    ['a trailing "/"', 'a/'],
    ['an empty segment', 'a//b'],
    ['a "." segment', './a'],
    ['a "." segment inside', 'a/./b'],
    ['a lone "."', '.'],
    ['a ".." segment', '../a'],
    ['a ".." segment inside', 'a/../../etc/passwd'],
    ['a trailing ".."', 'a/..'],
    ['a lone ".."', '..'],
    ['a backslash', 'a\\b'],
    ['a Windows path', '..\\..\\evil.dll'],
    ['a NUL', 'a\u0000b'],
    ['a newline', 'a\nb'],
    ['a carriage return', 'a\rb'],
    ['a tab', 'a\tb'],
    ['an escape (terminal injection)', 'a\u001b[2Jb'],
    ['DEL', 'a\u007f'],
    ['a C1 control', 'a\u0085b'],
    ['a lone high surrogate (not UTF-8)', 'a\uD800b'],
    ['a lone low surrogate (not UTF-8)', '\uDC00'],
    ['a segment over LIMITS.pathSegmentBytes', 'a'.repeat(LIMITS.pathSegmentBytes + 1)],
    ['a segment over the limit in UTF-8 bytes, not characters', 'é'.repeat(128)],
    ['a path over LIMITS.pathBytes', Array(17).fill('a'.repeat(255)).join('/')],
    ['deeper than LIMITS.pathDepth', Array(LIMITS.pathDepth + 1).fill('d').join('/')],
  ];
  for (const [what, path] of refused) {
    test(`refuses ${what}`, () => {
      assert.equal(typeof checkModelPath(path), 'string');
    });
  }
});

describe('findPathCollision', () => {
  const collisions: [string, string[], [string, string]][] = [
    ['equal paths', ['a.ms', 'b.ms', 'a.ms'], ['a.ms', 'a.ms']],
    ['paths equal ignoring case', ['Model.ms', 'model.ms'], ['Model.ms', 'model.ms']],
    ['directories equal ignoring case', ['Dir/a.ms', 'dir/b.ms', 'DIR/a.ms'], ['Dir/a.ms', 'DIR/a.ms']],
    ['non-ASCII case', ['ÉTÉ.ms', 'été.ms'], ['ÉTÉ.ms', 'été.ms']],
    // macOS stores names in a normalized form: NFC and NFD spellings are the same file there.
    ['NFC and NFD spellings', ['caf\u00e9.ms', 'cafe\u0301.ms'], ['caf\u00e9.ms', 'cafe\u0301.ms']],
    // Full case folding (CaseFolding.txt C+F), not lower-casing: ß folds to ss, final sigma to sigma.
    ['full case folding', ['stra\u00dfe.ms', 'STRASSE.ms'], ['stra\u00dfe.ms', 'STRASSE.ms']],
    ['final and medial sigma', ['\u03a3\u03a3.ms', '\u03c3\u03c2.ms'], ['\u03a3\u03a3.ms', '\u03c3\u03c2.ms']],
    // One name ASCII (its key comes from the fast path), the other not: the keys must still meet.
    ['the Kelvin sign and an ASCII K', ['\u212a.ms', 'k.ms'], ['\u212a.ms', 'k.ms']],
    ['two ASCII names equal ignoring case', ['Cafe.ms', 'CAFE.MS'], ['Cafe.ms', 'CAFE.MS']],
  ];
  for (const [what, paths, pair] of collisions) {
    test(`finds ${what}`, () => {
      assert.deepEqual(findPathCollision(paths), pair);
    });
  }

  test('the key comes from the pinned Unicode version, not from the running Node.js', () => {
    // U+A7CB (assigned in Unicode 16) lower-cases to U+0264 in a Node.js that knows it; Unicode
    // 14 did not assign it, so it folds to nothing and the two names are distinct everywhere.
    assert.equal(PATH_UNICODE_VERSION, '14.0.0');
    assert.equal(findPathCollision(['\ua7cb.ms', '\u0264.ms']), undefined);
    assert.equal(caseFoldKey('A\ua7cbB'), 'a\ua7cbb', 'an unassigned code point is kept and the rest still folds');
    // An unassigned code point blocks composition, as the pinned version's NFC treats it.
    assert.equal(caseFoldKey('e\u{50000}\u0301'), 'e\u{50000}\u0301');
    assert.equal(caseFoldKey('E\u0301'), '\u00e9');
  });

  test('the committed Unicode table is what its generator writes', (t) => {
    const python = ['python3', '/usr/bin/python3'].find((p) => spawnSync(p, ['-c', 'import unicodedata, sys; sys.exit(unicodedata.unidata_version != "14.0.0")']).status === 0);
    if (python === undefined) {
      t.skip('no Python with Unicode 14.0.0 data here');
      return;
    }
    const r = spawnSync(python, ['scripts/gen-unicode-fold.py', '--check'], { cwd: repoRoot, encoding: 'utf8' });
    assert.equal(r.status, 0, `packages/core/src/format/unicode-fold.ts differs from its generator: ${r.stderr}`);
  });

  test('an ASCII name gets the key the full Unicode computation gives it', () => {
    // caseFoldKey answers pure ASCII without the tables; a non-ASCII character after it forces
    // the full computation, which must fold each ASCII character the same way.
    for (let code = 0; code < 0x80; code++) {
      const c = String.fromCharCode(code);
      assert.equal(caseFoldKey(`${c}\u00e9`), `${caseFoldKey(c)}\u00e9`, `U+${code.toString(16).padStart(4, '0')}`);
    }
    assert.equal(caseFoldKey('Model/Weights_01.BIN'), 'model/weights_01.bin');
  });

  test('no collision among distinct paths', () => {
    assert.equal(findPathCollision(['a', 'b', 'a/b', 'b/a', 'ab', 'a.b', 'A1', 'a2']), undefined);
    assert.equal(findPathCollision([]), undefined);
  });
});

describe('walking a directory applies the same rules to the names on disk', () => {
  test('names that are unsafe or collide are reported as UNSAFE_PATH, safe ones are listed sorted by bytes', (t) => {
    const root = mkdtempSync(join(tmpdir(), 'ms-sign-paths-'));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    const files = ['b.ms', 'B.ms', 'a\\b.ms', 'new\nline.ms', 'sub/x.ms', 'Z.ms', '\uff61.ms', '\u{1F600}.ms'];
    for (const file of files) {
      mkdirSync(join(root, file, '..'), { recursive: true });
      writeFileSync(join(root, file), 'x');
    }
    // A name that is not UTF-8 at all (Linux allows any bytes but "/" and NUL).
    writeFileSync(Buffer.concat([Buffer.from(`${root}/`), Buffer.from([0x66, 0xff, 0x2e, 0x6d, 0x73])]), 'x');
    const walk = walkModel(root);
    assert.equal(walk.kind, 'directory');
    assert.deepEqual(
      walk.problems.map((p) => p.code),
      walk.problems.map(() => 'UNSAFE_PATH'),
    );
    assert.deepEqual(
      walk.problems.map((p) => p.path).sort(),
      ['b.ms', 'a\\b.ms', 'new\nline.ms', 'f\\xff.ms'].sort(),
    );
    // Sorted by UTF-8 bytes: "B" (42) < "Z" (5a) < "b" (62) < "s" < U+FF61 (ef) < U+1F600 (f0).
    assert.deepEqual(
      walk.files.map((f) => f.path),
      ['B.ms', 'Z.ms', 'b.ms', 'sub/x.ms', '\uff61.ms', '\u{1F600}.ms'],
    );
  });
});

describe('names listed as text, with the bytes of any name that shows U+FFFD', () => {
  test('each name once: names that are not UTF-8 refused, U+FFFD that is really in a name kept', (t) => {
    const root = mkdtempSync(join(tmpdir(), 'ms-sign-paths-'));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    const raw = (dir: string, ...bytes: number[]) => Buffer.concat([Buffer.from(`${dir}/`), Buffer.from(bytes)]);
    for (const dir of [root, join(root, 'sub')]) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'a.ms'), 'x');
      writeFileSync(join(dir, 'z\ufffd.ms'), 'x'); // valid UTF-8: EF BF BD
      writeFileSync(raw(dir, 0x66, 0xff, 0x2e, 0x6d, 0x73), 'x'); // f\xff.ms
      writeFileSync(raw(dir, 0x67, 0xc3, 0x28), 'x'); // g\xc3( : a lead byte without its continuation
      writeFileSync(raw(dir, 0x68, 0xed, 0xa0, 0x80), 'x'); // h + a UTF-16 surrogate in UTF-8
      writeFileSync(join(dir, 'b.ms'), 'x');
    }
    const walk = walkModel(root);
    assert.deepEqual(
      walk.files.map((f) => f.path),
      ['a.ms', 'b.ms', 'sub/a.ms', 'sub/b.ms', 'sub/z\ufffd.ms', 'z\ufffd.ms'],
    );
    assert.deepEqual(walk.problems.map((p) => [p.code, p.path]).sort(), [
      ['UNSAFE_PATH', 'f\\xff.ms'],
      ['UNSAFE_PATH', 'g\\xc3('],
      ['UNSAFE_PATH', 'h\\xed\\xa0\\x80'],
      ['UNSAFE_PATH', 'sub/f\\xff.ms'],
      ['UNSAFE_PATH', 'sub/g\\xc3('],
      ['UNSAFE_PATH', 'sub/h\\xed\\xa0\\x80'],
    ]);
  });
});

describe('a verify walk does not re-check the paths its verified manifest vouches for', () => {
  test('names not vouched for still get every rule, and a collision with a vouched name is still found', (t) => {
    const root = mkdtempSync(join(tmpdir(), 'ms-sign-paths-'));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    for (const file of ['B.ms', 'sub/x.ms', 'b.ms', 'a\\b.ms']) {
      mkdirSync(join(root, file, '..'), { recursive: true });
      writeFileSync(join(root, file), 'x');
    }
    // As a manifest of B.ms and sub/x.ms would vouch: b.ms (collides with B.ms) and a\b.ms (a
    // backslash) are extra files on disk, and must be refused as a plain walk refuses them.
    const vouched = new Set(['B.ms', 'sub/x.ms']);
    const walk = walkModel(root, { vouched });
    assert.deepEqual(walk.problems.map((p) => [p.code, p.path]).sort(), [
      ['UNSAFE_PATH', 'a\\b.ms'],
      ['UNSAFE_PATH', 'b.ms'],
    ]);
    assert.deepEqual(walk, walkModel(root), 'the same walk as without vouched paths');
    // Only vouched files on disk: nothing to report, the same files.
    rmSync(join(root, 'b.ms'));
    rmSync(join(root, 'a\\b.ms'));
    assert.deepEqual(walkModel(root, { vouched }), walkModel(root));
    assert.deepEqual(walkModel(root, { vouched }).problems, []);
  });
});

describe('sortByUtf8', () => {
  test('orders as compareUtf8 does, with and without code units at or above 0xD800', () => {
    // A seeded generator: the same strings every run.
    let seed = 0x2545f491;
    const next = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8);
    const alphabets = [
      ['a', 'b', 'B', '/', '.', '0', '~'],
      ['a', 'b', '\u00e9', '\ud7ff', '\ue000', '\uff61', '\u{1F600}', '\u{10FFFF}'],
    ];
    for (const alphabet of alphabets) {
      for (let round = 0; round < 50; round++) {
        const items = Array.from({ length: 40 }, () => Array.from({ length: next() % 6 }, () => alphabet[next() % alphabet.length]).join(''));
        const expected = [...items].sort(compareUtf8);
        assert.deepEqual(sortByUtf8([...items], (s) => s), expected);
      }
    }
    // UTF-16 order would put U+1F600 (a surrogate pair, 0xD83D...) before U+FF61: UTF-8 does not.
    assert.deepEqual(sortByUtf8(['\u{1F600}', '\uff61', 'z'], (s) => s), ['z', '\uff61', '\u{1F600}']);
  });
});
