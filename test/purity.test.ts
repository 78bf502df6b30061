/**
 * The pure core (every module of packages/core/src outside node/ and the internal entry point)
 * must run in a browser or a Worker: no node: module, no Buffer, no require/createRequire, no
 * process. `npm test` also type-checks those modules without Node's types
 * (packages/core/tsconfig.pure.json); this test scans the source, which catches what a type check
 * cannot (a string import, the generated ts-nocheck validator) and names the line.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { describe, test } from 'node:test';
import { repoRoot } from './helpers/index.js';

const src = join(repoRoot, 'packages', 'core', 'src');
const NOT_PURE = new Set(['node', 'internal.ts']);

function pureSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (dir === src && NOT_PURE.has(e.name)) return [];
    if (e.isDirectory()) return pureSources(join(dir, e.name));
    return e.name.endsWith('.ts') ? [join(dir, e.name)] : [];
  });
}

const LEAKS: readonly [string, RegExp][] = [
  ['a node: module', /['"]node:[a-z_/]+['"]/],
  ['a Node built-in by its bare name', /\bfrom\s+['"](?:fs|path|os|crypto|module|child_process|worker_threads|stream|buffer|util)(?:\/[a-z]+)?['"]/],
  ['Buffer', /\bBuffer\b/],
  ['require', /\b(?:createRequire|require)\s*\(/],
  ['process', /\bprocess\s*\./],
];

/** The leaks on one line of code (comment lines are skipped). */
function leaksIn(line: string): string[] {
  const code = line.trim();
  if (code.startsWith('*') || code.startsWith('//') || code.startsWith('/*')) return [];
  const withoutTrailingComment = code.replace(/\s\/\/.*$/, '');
  return LEAKS.filter(([, pattern]) => pattern.test(withoutTrailingComment)).map(([what]) => what);
}

describe('the pure core imports nothing from Node', () => {
  test('the scanner flags each kind of leak (so the scan below can fail)', () => {
    assert.deepEqual(leaksIn(`import { createHash } from 'node:crypto';`), ['a node: module']);
    assert.deepEqual(leaksIn(`const fs = await import("node:fs");`), ['a node: module']);
    assert.deepEqual(leaksIn(`import { readFileSync } from 'fs';`), ['a Node built-in by its bare name']);
    assert.deepEqual(leaksIn(`const b = Buffer.from(text, 'base64');`), ['Buffer']);
    assert.deepEqual(leaksIn(`const ajv = createRequire(import.meta.url)('ajv');`), ['require']);
    assert.deepEqual(leaksIn(`if (process.platform === 'win32') x();`), ['process']);
    assert.deepEqual(leaksIn(` * node:crypto's SHA-512 is faster (a comment)`), []);
  });

  test('no module outside packages/core/src/node uses a node: module, Buffer, require or process', () => {
    const files = pureSources(src);
    const folders = new Set(files.map((f) => relative(src, f).split(sep)[0]));
    // The folders the brief makes pure must be among those scanned (a rename must not drop one).
    for (const folder of ['format', 'crypto', 'policy', 'verify', 'scan', 'errors.ts', 'bytes.ts', 'limits.ts', 'index.ts']) {
      assert.ok(folders.has(folder), `${folder} is scanned`);
    }
    const offenders: string[] = [];
    for (const file of files) {
      readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
        for (const what of leaksIn(line)) offenders.push(`${relative(repoRoot, file)}:${i + 1}: ${what}: ${line.trim()}`);
      });
    }
    assert.deepEqual(offenders, []);
  });

  test('tsconfig.pure.json type-checks the same set: all of src but node/ and internal.ts', () => {
    const text = readFileSync(join(repoRoot, 'packages', 'core', 'tsconfig.pure.json'), 'utf8');
    const config = JSON.parse(text.replace(/^\s*\/\/.*$/gm, '')) as { compilerOptions: { types: string[] }; include: string[]; exclude: string[] };
    assert.deepEqual(config.compilerOptions.types, []);
    assert.ok(config.include.includes('src'));
    assert.deepEqual([...config.exclude].sort(), ['src/internal.ts', 'src/node']);
  });
});
