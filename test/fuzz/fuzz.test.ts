/**
 * The short fuzz run of `npm test` (a few seconds): every target of test/fuzz/targets.ts, each in
 * a watched worker. Longer runs: `pnpm fuzz` (scripts/fuzz.mjs, docs/threat-model.md "Fuzzing").
 * A failure prints the seed: FC_SEED=<seed> reruns exactly the same inputs.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fuzzInWorker, type FuzzReport } from './harness.js';

const factor = Number(process.env.FC_RUNS_FACTOR ?? '1');
const seed = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
const path = process.env.FC_PATH;

/** Inputs per target in CI: under a second each here. */
const RUNS: Record<string, number> = { 'signature-file': 3000, 'trust-policy': 1000, path: 4000, 'walker-names': 60, scan: 600, pickle: 1500, zip: 400 };

function describeFailure(report: FuzzReport): string {
  const f = report.failure!;
  const input = f.input === undefined ? '' : `\ninput (${f.input.length} bytes): ${Buffer.from(f.input.subarray(0, 400)).toString('hex')}`;
  return `${report.target}: ${f.kind} after ${report.runs} inputs; reproduce with FC_SEED=${report.seed}${f.path ? ` FC_PATH=${f.path}` : ''}\n${f.message}${input}`;
}

describe('fuzzing (short run)', () => {
  for (const [target, runs] of Object.entries(RUNS)) {
    test(`${target}: ${runs} random and mutated inputs, nothing escapes but the typed errors, none hangs or blows memory`, async () => {
      const report = await fuzzInWorker(target, { runs: Math.round(runs * factor), ...(seed === undefined ? {} : { seed }), ...(path === undefined ? {} : { path }), hangMs: 20_000 });
      assert.equal(report.failure, undefined, report.failure && describeFailure(report));
      if (path === undefined) assert.ok(report.runs >= runs * factor, `only ${report.runs} inputs ran`);
    });
  }
});

describe('the fuzz harness catches what it must', () => {
  test('an exception other than MsSignError', async () => {
    const report = await fuzzInWorker('canary-foreign-error', { runs: 10, seed: 1 });
    assert.equal(report.failure?.kind, 'finding');
    assert.match(report.failure!.message, /TypeError escaped/);
  });

  test('an input over its time budget', async () => {
    const report = await fuzzInWorker('canary-slow', { runs: 10, seed: 1 });
    assert.equal(report.failure?.kind, 'finding');
    assert.match(report.failure!.message, /budget/);
  });

  test('an input that never returns, with the input saved', async () => {
    const report = await fuzzInWorker('canary-hang', { runs: 10, seed: 1, hangMs: 300 });
    assert.equal(report.failure?.kind, 'hang');
    assert.equal(Buffer.from(report.failure!.input!).toString(), 'hang');
  });

  test('memory that grows past the bound', async () => {
    const report = await fuzzInWorker('canary-memory', { runs: 10, seed: 1 });
    assert.equal(report.failure?.kind, 'finding');
    assert.match(report.failure!.message, /memory grew/);
  });
});
