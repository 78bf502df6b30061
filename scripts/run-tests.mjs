#!/usr/bin/env node
// Runs every compiled *.test.js under .test-build with node:test (Node 20's --test takes no globs),
// under c8 for coverage of the packages' code (mapped back to packages/*/src through the source
// maps; hash worker threads count too, CLI child processes started with a minimal environment do
// not). The summary prints at the end; the
// lcov report goes to .test-build/coverage. MS_SIGN_COVERAGE=0 runs without coverage.
// Extra arguments are passed to node (e.g. --test-name-pattern=tamper).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = new URL('../.test-build/', import.meta.url).pathname;
const files = readdirSync(root, { recursive: true })
  .filter((f) => typeof f === 'string' && f.endsWith('.test.js'))
  .map((f) => join(root, f))
  .sort();
if (files.length === 0) {
  console.error('no compiled tests found in .test-build; run the build first');
  process.exit(2);
}
const args = ['--test', '--test-reporter=spec', ...process.argv.slice(2), ...files];
const coverage = process.env.MS_SIGN_COVERAGE !== '0';
const c8 = [
  createRequire(import.meta.url).resolve('c8/bin/c8.js'),
  '--reporter=text-summary',
  '--reporter=lcov',
  `--report-dir=${join(root, 'coverage')}`,
  '--include=packages/*/dist/**',
  // Generated from the schema: its branches are ajv's, not ours.
  '--exclude=**/trust-policy.validate.*',
  process.execPath,
];
const child = spawnSync(process.execPath, coverage ? [...c8, ...args] : args, { stdio: 'inherit' });
process.exit(child.status ?? 1);
