#!/usr/bin/env node
/**
 * Writes the hostile .ms variants the tests use (patched copies of parallel.ms, synthetic models,
 * DAG bombs) into DIR, with expected.json listing each file's expected verdict and code. The
 * tests generate the same files in memory (test/helpers/ms-models.ts); this is for fuzz corpora
 * and for trying `ms-sign scan DIR` by hand. Build first:
 *
 *   npx tsc -b packages/core packages/cli test && node scripts/make-hostile-ms.mjs DIR
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node scripts/make-hostile-ms.mjs DIR');
  process.exit(2);
}
const m = await import(new URL('../.test-build/test/helpers/ms-models.js', import.meta.url).href);
const parallel = readFileSync(new URL('../test/fixtures/mindspore-lite/parallel.ms', import.meta.url));
mkdirSync(dir, { recursive: true });
const expected = {};
for (const v of m.HOSTILE_MS_VARIANTS) {
  writeFileSync(join(dir, `${v.name}.ms`), v.make(parallel));
  expected[`${v.name}.ms`] = { verdict: v.verdict, code: v.code, how: v.how };
}
for (const s of m.SYNTHETIC_MS_MODELS) {
  writeFileSync(join(dir, `${s.name}.ms`), s.make());
  expected[`${s.name}.ms`] = { verdict: s.verdict, ...(s.code ? { code: s.code } : {}) };
}
writeFileSync(join(dir, 'expected.json'), `${JSON.stringify(expected, null, 2)}\n`);
console.log(`wrote ${Object.keys(expected).length} files to ${dir}`);
