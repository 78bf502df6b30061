/**
 * `--threads` reaches the hash engine from the CLI (sharding.test.ts shows the results do not
 * depend on it, so it would pass if the CLI dropped the flag). Counts the worker threads the hash
 * pool starts: N threads means N - 1 workers beside the main thread, whatever the machine's core
 * count (the default, one per core, gives another number for at least one of 1 and 3).
 */
import assert from 'node:assert/strict';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeKey, runCli, tempDir, writeFile } from './helpers/index.js';

const workerThreads = createRequire(import.meta.url)('node:worker_threads') as typeof import('node:worker_threads');
const RealWorker = workerThreads.Worker;
let started = 0;

before(() => {
  // Replace the Worker class the pool's `import { Worker } from 'node:worker_threads'` sees.
  workerThreads.Worker = class CountedWorker extends RealWorker {
    constructor(...args: ConstructorParameters<typeof RealWorker>) {
      super(...args);
      started++;
    }
  };
  syncBuiltinESMExports();
});
after(() => {
  workerThreads.Worker = RealWorker;
  syncBuiltinESMExports();
});

// Shards of 8 MiB are units of work of their own (smaller ones travel together: hash/tuning.ts).
const SHARD = 8 * 1024 * 1024;

test('sign and verify --threads N start N - 1 hash workers', async (t) => {
  const dir = tempDir(t);
  const key = await makeKey(dir);
  // Three shards: a unit of work for every thread asked for.
  const data = new Uint8Array(3 * SHARD);
  for (let i = 0; i < data.length; i += 4096) data[i] = i >>> 12;
  writeFile(join(dir, 'model', 'weights.bin'), data);
  for (const threads of [1, 3]) {
    started = 0;
    const signed = await runCli(['sign', 'model', '-k', key.secret, '--shard-size', String(SHARD), '--threads', String(threads), '-o', `t${threads}.sig`, '--json'], { cwd: dir });
    assert.equal(signed.code, 0, signed.stderr + signed.stdout);
    assert.equal(started, threads - 1, `sign --threads ${threads}`);
    started = 0;
    const verified = await runCli(['verify', 'model', '-p', key.public, '-s', `t${threads}.sig`, '--threads', String(threads), '--json'], { cwd: dir });
    assert.equal(verified.code, 0, verified.stderr + verified.stdout);
    assert.equal(started, threads - 1, `verify --threads ${threads}`);
  }
});
