/**
 * docs/threat-model.md names, for each claim, the tests that prove it. This keeps those names
 * true: every test it names must exist (a renamed or deleted test would leave a claim unproven).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { repoRoot } from '../helpers/index.js';

const doc = readFileSync(join(repoRoot, 'docs', 'threat-model.md'), 'utf8');

/** The names a test file gives its tests: literal names, and template names as patterns. */
function testNamePatterns(source: string): RegExp[] {
  const patterns: RegExp[] = [];
  for (const m of source.matchAll(/\btest\(\s*(['"`])((?:\\.|(?!\1)[^\\])*)\1/gs)) {
    const [, quote, raw] = m as unknown as [string, string, string];
    const text = raw.replace(/\\(.)/g, '$1');
    const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    // In a template literal every ${...} stands for whatever the loop puts there.
    const source = quote === '`' ? escaped.replace(/\\\$\\\{.*?\\\}/g, '.+?') : escaped;
    patterns.push(new RegExp(`^${source}$`, 's'));
  }
  return patterns;
}

describe('docs/threat-model.md', () => {
  const references = [...doc.matchAll(/`((?:packages\/\w+\/)?test\/[\w/.-]+\.test\.ts)` — “([^”]+)”/g)].map((m) => ({ file: m[1]!, name: m[2]! }));

  test('names tests for its claims', () => {
    assert.ok(references.length >= 40, `only ${references.length} test references found`);
  });

  test('every test it names exists under that name', () => {
    const missing: string[] = [];
    const cache = new Map<string, RegExp[]>();
    for (const { file, name } of references) {
      const path = join(repoRoot, file);
      if (!existsSync(path)) {
        missing.push(`${file} (no such file)`);
        continue;
      }
      if (!cache.has(file)) cache.set(file, testNamePatterns(readFileSync(path, 'utf8')));
      if (!cache.get(file)!.some((pattern) => pattern.test(name))) missing.push(`${file} — “${name}”`);
    }
    assert.deepEqual(missing, []);
  });
});
