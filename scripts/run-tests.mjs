#!/usr/bin/env node
// Runs every compiled *.test.js under .test-build with node:test (Node 20's --test takes no globs).
// Extra arguments are passed to node (e.g. --test-name-pattern=tamper).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
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
const child = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(child.status ?? 1);
