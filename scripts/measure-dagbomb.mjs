#!/usr/bin/env node
/**
 * Times `ms-sign scan`'s .ms verifier on Verifier DAG bombs of growing size (docs/scan.md,
 * "Measured"). A benchmark, not a test. Build first:
 *
 *   npx tsc -b packages/core packages/cli test && node scripts/measure-dagbomb.mjs
 */
import { BufferSource, scanFile } from '@ms-sign/core';

const { dagBomb } = await import(new URL('../.test-build/test/helpers/ms-models.js', import.meta.url).href);
const sizes = [1_000, 3_000, 10_000, 30_000, 100_000, 300_000];
console.log('| n x n | file bytes | Lite verifier table visits | scan time (median of 5) | verdict |');
console.log('|---|---|---|---|---|');
for (const n of sizes) {
  const bytes = dagBomb(n, n);
  const times = [];
  let result;
  for (let i = 0; i < 5; i++) {
    const t = process.hrtime.bigint();
    result = scanFile(new BufferSource(bytes), 'bomb.ms');
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  const visits = result.findings.find((f) => f.code === 'MS_FB_AMPLIFICATION')?.detail?.visits ?? result.formatInfo?.liteVisits;
  console.log(`| ${n} x ${n} | ${bytes.length} | ${visits} | ${times[2].toFixed(1)} ms | ${result.verdict} |`);
}
