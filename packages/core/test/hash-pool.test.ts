/**
 * node/hash: the parallel sharded hashing engine. Shard geometry at the edges (empty file, exactly
 * one shard, a shard boundary, one byte past it), digests that do not depend on the thread count,
 * and an early stop that really skips the remaining work. Small shards keep the files small; the
 * data is random (a repeated pattern could hide an offset bug) and the expectations computed from it.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { repoRoot, tempDir } from '../../../test/helpers/index.js';

// The engine is internal to @ms-sign/core (not in its exports): load it from the built package.
const hashDir = join(repoRoot, 'packages', 'core', 'dist', 'node', 'hash');
const { idleHashWorkers, prestartHashWorkers, releaseHashWorkers, runHashJob, workersFor } = (await import(pathToFileURL(join(hashDir, 'pool.js')).href)) as typeof import('../dist/node/hash/pool.js');
const { planJob, taskLength, taskOffset, unitCount } = (await import(pathToFileURL(join(hashDir, 'job.js')).href)) as typeof import('../dist/node/hash/job.js');

const { hashRange } = (await import(pathToFileURL(join(hashDir, 'task.js')).href)) as typeof import('../dist/node/hash/task.js');
type HashTaskResult = import('../dist/node/hash/task.js').HashTaskResult;

const SHARD = 64 * 1024;

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** Every shard's digest as the engine reports it, by file and shard. */
async function digestsOf(files: { path: string; size: number }[], threads: number | undefined, shardSize = SHARD) {
  const out: string[][] = files.map(() => []);
  const summary = await runHashJob(
    { files, algorithm: 'sha256', shardSize },
    {
      threads,
      onResult: (file: number, shard: number, result: HashTaskResult) => {
        if (!result.ok) assert.fail(`file ${file} shard ${shard}: ${result.reason}`);
        out[file]![shard] = Buffer.from(result.digest).toString('hex');
      },
    },
  );
  return { digests: out, summary };
}

/** The reference: sha256 of each shardSize slice; one digest of everything for a file of at most one shard. */
function expectedDigests(data: Uint8Array, shardSize = SHARD): string[] {
  if (data.length <= shardSize) return [sha256(data)];
  const out: string[] = [];
  for (let start = 0; start < data.length; start += shardSize) out.push(sha256(data.subarray(start, start + shardSize)));
  return out;
}

describe('hash engine: shard geometry', () => {
  const cases: [string, number, number][] = [
    ['an empty file is one shard of 0 bytes', 0, 1],
    ['a file of one byte is one shard', 1, 1],
    ['a file of exactly one shard is one shard', SHARD, 1],
    ['one byte past a shard makes a second shard of 1 byte', SHARD + 1, 2],
    ['a file ending on a shard boundary has no empty last shard', 3 * SHARD, 3],
  ];
  for (const [name, size, shards] of cases) {
    test(name, () => {
      const plan = planJob([{ path: '/x', size }], 'sha256', SHARD);
      assert.equal(plan.taskFile.length, shards);
      const lengths = Array.from({ length: shards }, (_, t) => taskLength(plan, t));
      assert.equal(lengths.reduce((a, b) => a + b, 0), size);
      for (let t = 0; t < shards; t++) assert.equal(taskOffset(plan, t), t * SHARD);
      if (size > 0) assert.ok(lengths.every((n) => n > 0), 'no empty shard in a non-empty file');
    });
  }

  test('every task is in exactly one unit, big shards first', () => {
    const big = 16 * 1024 * 1024;
    const plan = planJob(
      [
        { path: '/a', size: 10 },
        { path: '/b', size: 3 * big + 5 },
        { path: '/c', size: 0 },
      ],
      'sha256',
      big,
    );
    const claimed = [...plan.order].sort((a, b) => a - b);
    assert.deepEqual(claimed, Array.from({ length: plan.taskFile.length }, (_, i) => i));
    assert.equal(plan.unitStart[0], 0);
    assert.equal(plan.unitStart[unitCount(plan)], plan.order.length);
    // The three 16 MiB shards of /b come first, each a unit of its own.
    assert.deepEqual([...plan.order.slice(0, 3)].map((t) => plan.taskFile[t]), [1, 1, 1]);
    assert.deepEqual([...plan.unitStart.slice(0, 4)], [0, 1, 2, 3]);
  });
});

describe('hash engine: digests', () => {
  test('each shard digest equals sha256 of its byte range; a file of at most one shard gets its plain sha256', async (t) => {
    const dir = tempDir(t);
    const sizes = [0, 1, SHARD - 1, SHARD, SHARD + 1, 2 * SHARD, 5 * SHARD + 123];
    const data = sizes.map((size) => randomBytes(size));
    const files = sizes.map((size, i) => {
      const path = join(dir, `f${i}`);
      writeFileSync(path, data[i]!);
      return { path, size };
    });
    const { digests } = await digestsOf(files, 1);
    assert.deepEqual(digests, data.map((d) => expectedDigests(d)));
    assert.equal(digests[0]![0], 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  test('digests are the same whatever the thread count', async (t) => {
    const dir = tempDir(t);
    mkdirSync(join(dir, 'many'));
    const files: { path: string; size: number }[] = [];
    const data: Uint8Array[] = [];
    // More small files than one unit holds (256), and two sharded files.
    for (let i = 0; i < 270; i++) data.push(randomBytes(i % 7 === 0 ? 0 : 1 + ((i * 37) % 3000)));
    data.push(randomBytes(9 * SHARD + 17), randomBytes(4 * SHARD));
    data.forEach((d, i) => {
      const path = join(dir, 'many', `f${i}`);
      writeFileSync(path, d);
      files.push({ path, size: d.length });
    });
    const expected = data.map((d) => expectedDigests(d));
    for (const threads of [1, 2, 3, 4, undefined]) {
      const { digests, summary } = await digestsOf(files, threads);
      assert.deepEqual(digests, expected, `threads: ${threads}`);
      assert.equal(summary.tasksDelivered, summary.tasks);
      if (threads !== undefined) assert.equal(summary.workers > 0, threads > 1, 'explicit threads are used');
    }
  });

  test('a file whose size differs from the expected one fails without a digest', async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'f');
    writeFileSync(path, randomBytes(3 * SHARD));
    const results: HashTaskResult[] = [];
    await runHashJob({ files: [{ path, size: 3 * SHARD + 1 }], algorithm: 'sha256', shardSize: SHARD }, { threads: 1, onResult: (_f: number, _s: number, r: HashTaskResult) => void results.push(r) });
    assert.equal(results.length, 4);
    for (const r of results) assert.ok(!r.ok && r.reason === 'size' && r.identity.size === 3 * SHARD);
  });
});

describe('hash engine: early stop (--fail-fast)', () => {
  function manyFiles(dir: string, count: number): { path: string; size: number }[] {
    return Array.from({ length: count }, (_, i) => {
      const path = join(dir, `f${i}`);
      writeFileSync(path, randomBytes(100));
      return { path, size: 100 };
    });
  }

  test('on the main thread alone, nothing after the stopping result is hashed', async (t) => {
    const files = manyFiles(tempDir(t), 50);
    let calls = 0;
    const summary = await runHashJob({ files, algorithm: 'sha256', shardSize: SHARD }, { threads: 1, onResult: () => ++calls === 3 });
    assert.equal(calls, 3);
    assert.equal(summary.tasksDelivered, 3);
    assert.equal(summary.tasksHashed, 3);
    assert.ok(summary.stoppedEarly);
  });

  test('with workers, the run stops hashing long before the end and delivers nothing more', async (t) => {
    // Shards of 8 MiB are units of their own: 6 units for 3 threads.
    const shard = 8 * 1024 * 1024;
    const path = join(tempDir(t), 'big');
    writeFileSync(path, randomBytes(6 * shard));
    let calls = 0;
    const summary = await runHashJob({ files: [{ path, size: 6 * shard }], algorithm: 'sha256', shardSize: shard }, { threads: 3, onResult: () => ++calls >= 1 });
    assert.equal(calls, 1);
    assert.equal(summary.tasksDelivered, 1);
    assert.equal(summary.workers, 2);
    // A worker may have finished the shard it held when the stop came, but not the whole job.
    assert.ok(summary.tasksHashed < summary.tasks, `hashed ${summary.tasksHashed} of ${summary.tasks}`);
  });

  test('a stop inside a long shard ends it at the next read', async (t) => {
    const path = join(tempDir(t), 'big');
    writeFileSync(path, randomBytes(8 * SHARD));
    let polls = 0;
    const result = hashRange({ path, size: 8 * SHARD }, 0, 8 * SHARD, 'sha256', Buffer.alloc(SHARD), () => ++polls > 2);
    assert.equal(result, undefined);
    assert.equal(polls, 3, 'two reads, then the stop');
  });
});

describe('hash engine: failures', () => {
  test('an exception thrown by onResult for a shard a worker hashed rejects the run instead of crashing the process', async (t) => {
    const shard = 8 * 1024 * 1024;
    const path = join(tempDir(t), 'big');
    writeFileSync(path, randomBytes(4 * shard));
    const pause = new Int32Array(new SharedArrayBuffer(4));
    let fromWorker = 0;
    const run = runHashJob(
      { files: [{ path, size: 4 * shard }], algorithm: 'sha256', shardSize: shard },
      {
        threads: 2,
        onResult: (_f: number, _s: number, result: HashTaskResult) => {
          // Results read back from shared memory (a worker's) decode the identity lazily.
          if (Object.getOwnPropertyDescriptor(result, 'identity')?.get === undefined) {
            // Hold the main thread after its first shard so that the worker takes the others.
            Atomics.wait(pause, 0, 0, 250);
            return;
          }
          fromWorker++;
          throw new Error('boom from onResult');
        },
      },
    );
    await assert.rejects(run, /boom from onResult/);
    assert.equal(fromWorker, 1);
  });
});

/** 256 files of a few shards each: ~6 units of work (BATCH_BYTES), enough for a worker to get some. */
function someFiles(dir: string): { path: string; size: number }[] {
  return Array.from({ length: 256 }, (_, i) => {
    const path = join(dir, `f${i}`);
    writeFileSync(path, randomBytes(3 * SHARD + i));
    return { path, size: 3 * SHARD + i };
  });
}

describe('hash engine: workers started ahead of the job (verify starts them before its walk)', () => {
  test('a prestarted worker takes the job by message and hashes its share, with the same digests', async (t) => {
    const files = someFiles(tempDir(t));
    const expected = (await digestsOf(files, 1)).digests;
    prestartHashWorkers(1);
    assert.equal(idleHashWorkers(), 1);
    // Held back until the worker has booted, so that the job reaches it by message.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const { digests, summary } = await digestsOf(files, 2);
    assert.equal(idleHashWorkers(), 0, 'the job took the prestarted worker');
    assert.deepEqual(digests, expected);
    assert.equal(summary.workers, 1);
    // It was ready before the job began and the main thread has ~6 units (~35 ms) to hash: the
    // worker, given the job by message, claims some of them.
    assert.ok(summary.tasksFromWorkers > 0, 'the prestarted worker hashed part of the job');
  });

  test('released unused, prestarted workers end, and later jobs start their own', async (t) => {
    const files = someFiles(tempDir(t));
    const expected = (await digestsOf(files, 1)).digests;
    prestartHashWorkers(2);
    assert.equal(idleHashWorkers(), 2);
    releaseHashWorkers();
    assert.equal(idleHashWorkers(), 0);
    const { digests, summary } = await digestsOf(files, 2);
    assert.deepEqual(digests, expected);
    assert.equal(summary.workers, 1);
  });

  test('workersFor: none for work the main thread finishes alone, one per other core otherwise, or threads - 1', () => {
    assert.equal(workersFor(1024, 1), 0);
    assert.equal(workersFor(1024, 1, 3), 2);
    assert.equal(workersFor(1024, 1, 1), 0);
    assert.equal(workersFor(1024 * 1024 * 1024, 16), availableParallelism() - 1);
    assert.equal(workersFor(1024 * 1024 * 1024, 16, 4), 3);
  });
});
