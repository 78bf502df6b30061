#!/usr/bin/env node
// Long fuzz runs (docs/threat-model.md, "Fuzzing"). Needs the compiled tests: `pnpm fuzz` builds
// first. Each target runs in a worker thread watched for hangs and heap exhaustion; a finding is
// printed with its seed and replay path and its input saved under .test-build/fuzz-findings/.
//
//   pnpm fuzz                                  every target, 60 s each
//   pnpm fuzz --seconds 600                    longer (npm: npm run fuzz -- --seconds 600)
//   pnpm fuzz --runs 100000 --seed 42          a fixed amount of work, reproducibly
//   pnpm fuzz --target signature-file          one target (signature-file, trust-policy, path, walker-names)
//   pnpm fuzz --target path --seed S --path P  replay a finding exactly, as it was reported
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const root = new URL('..', import.meta.url).pathname;
// Runners differ on whether they pass a "--" separator through: accept it either way.
const args = process.argv.slice(2).filter((arg, i) => !(i === 0 && arg === '--'));
const options = {
  seconds: { type: 'string' },
  runs: { type: 'string' },
  seed: { type: 'string' },
  path: { type: 'string' },
  target: { type: 'string', multiple: true },
  'hang-ms': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};
let values;
try {
  ({ values } = parseArgs({ args, options }));
} catch (error) {
  console.error(`fuzz: ${error.message} (see --help)`);
  process.exit(2);
}
if (values.help) {
  console.log('usage: node scripts/fuzz.mjs [--seconds N] [--runs N] [--seed N [--path P]] [--target NAME]... [--hang-ms N]');
  process.exit(0);
}

let harness;
let targets;
try {
  harness = await import(join(root, '.test-build/test/fuzz/harness.js'));
  ({ FUZZ_TARGETS: targets } = await import(join(root, '.test-build/test/fuzz/targets.js')));
} catch (error) {
  console.error(`fuzz: compiled tests not found (${error.message}); run "pnpm fuzz", which builds first`);
  process.exit(2);
}

const number = (name) => {
  const text = values[name];
  if (text === undefined) return undefined;
  if (!/^-?\d+$/.test(text)) {
    console.error(`fuzz: --${name} expects a whole number, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return Number(text);
};
const runs = number('runs');
const seconds = number('seconds') ?? (runs === undefined ? 60 : undefined);
const seed = number('seed');
const hangMs = number('hang-ms');
const names = values.target ?? targets.map((t) => t.name);

let failed = false;
for (const name of names) {
  const report = await harness.fuzzInWorker(name, { runs, seconds, seed, path: values.path, hangMs });
  const rate = Math.round(report.runs / (report.ms / 1000));
  if (!report.failure) {
    console.log(`${name}: ${report.runs} inputs in ${(report.ms / 1000).toFixed(1)} s (${rate}/s), seed ${report.seed}: nothing found`);
    continue;
  }
  failed = true;
  const dir = join(root, '.test-build', 'fuzz-findings');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}-${report.failure.kind}-${report.seed}.bin`);
  writeFileSync(file, report.failure.input ?? new Uint8Array());
  console.log(`${name}: ${report.failure.kind.toUpperCase()} after ${report.runs} inputs, seed ${report.seed}${report.failure.path ? ` path ${report.failure.path}` : ''}`);
  console.log(`  ${report.failure.message.split('\n').join('\n  ')}`);
  console.log(`  input saved to ${file}`);
  if (report.failure.path) console.log(`  replay: node scripts/fuzz.mjs --target ${name} --seed ${report.seed} --path ${report.failure.path}`);
}
process.exit(failed ? 1 : 0);
