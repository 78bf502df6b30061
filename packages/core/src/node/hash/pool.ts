import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { HASH_ALGORITHMS, type HashAlgorithm } from '../../format/manifest.js';
import { claimUnit, createControl, hashUnit, requestStop, tasksHashed, type UnitFailures, type UnitScans, type WorkerData } from './claim.js';
import { createResultTable, loadResult, planJob, taskLength, taskShard, unitCount, type HashJobScan } from './job.js';
import type { HashFile, HashTaskResult } from './task.js';
import { CHUNK_BYTES, INLINE_COST_BYTES, TASK_COST_BYTES } from './tuning.js';
import type { IdleWorkerData, UnitDone } from './worker.js';
import { hashWorkerScript } from './worker-script.js';

export interface HashJob {
  readonly files: readonly HashFile[];
  readonly algorithm: HashAlgorithm;
  readonly shardSize: number;
  /**
   * The sizes are those of a verified manifest (verify), not observed ones (sign): a small file
   * that reads back at exactly its signed size is then hashed without fstat (hash/task.ts).
   */
  readonly sizesSigned?: boolean;
  /** Verify's scan of small files on the bytes of their hashing read; results come with them (`scan`). */
  readonly scan?: HashJobScan;
}

export interface HashRunOptions {
  /**
   * Hashing threads, the main thread included. Default: one per core, and only as many workers
   * as the job pays for (none for small jobs). Given explicitly, that many are used whenever
   * the job has enough units. 1 hashes on the main thread only.
   */
  readonly threads?: number | undefined;
  /** Called with the bytes hashed so far, after each unit of work. */
  readonly onProgress?: ((bytesDone: number, bytesTotal: number) => void) | undefined;
  /** Called for each hashed shard; returning true stops the run early (--fail-fast). */
  readonly onResult?: ((file: number, shard: number, result: HashTaskResult) => boolean | void) | undefined;
}

/** What a run did: for tests and the benchmark (did --fail-fast really skip work?). */
export interface HashRunSummary {
  readonly tasks: number;
  /** Shards hashed to the end by any thread, delivered or not. */
  readonly tasksHashed: number;
  /** Shards delivered through onResult. */
  readonly tasksDelivered: number;
  /** Of those, shards a worker thread hashed (the rest: the main thread). */
  readonly tasksFromWorkers: number;
  readonly workers: number;
  readonly stoppedEarly: boolean;
}

// Shared by concurrent runs: safe, since a task reads and hashes synchronously and no bytes stay
// in the buffer across an await.
let mainThreadScratch: Buffer | undefined;

/**
 * How many worker threads a job of `bytes` in `tasks` files or shards gets: one per core besides
 * the main thread (or `threads - 1` when given), none when the main thread alone finishes the
 * work in about the time a worker takes to start (tuning.ts INLINE_COST_BYTES).
 */
export function workersFor(bytes: number, tasks: number, threads?: number): number {
  const worthIt = threads !== undefined || bytes + tasks * TASK_COST_BYTES > INLINE_COST_BYTES;
  return worthIt ? Math.max(0, Math.floor(threads ?? availableParallelism()) - 1) : 0;
}

interface IdleWorker {
  readonly worker: Worker;
  broken: boolean;
}

/** Workers started ahead of a job, waiting for one: see prestartHashWorkers. */
const idleWorkers: IdleWorker[] = [];

/**
 * Starts `count` hash workers now, without a job, so that their start-up (~45 ms of CPU each)
 * runs on the other cores while the caller's thread does other work: verify starts them once the
 * signature vouches for the manifest, then walks the model while they boot. runHashJob gives its
 * job to these before it starts new ones; releaseHashWorkers ends those no job took. An idle
 * worker never keeps the process alive, and one that failed to start is never used. With
 * `loadScanner` (verify will scan) they load the scanner's modules while they wait.
 */
export function prestartHashWorkers(count: number, options: { loadScanner?: boolean } = {}): void {
  const { script, eval: evalScript } = hashWorkerScript();
  const workerData: IdleWorkerData = { idle: true, loadScanner: options.loadScanner === true };
  while (idleWorkers.length < count) {
    const idle: IdleWorker = { worker: new Worker(script, { eval: evalScript, workerData }), broken: false };
    idle.worker.unref();
    idle.worker.once('error', () => (idle.broken = true));
    idle.worker.once('exit', () => (idle.broken = true));
    idleWorkers.push(idle);
  }
}

/** How many prestarted workers wait for a job. */
export function idleHashWorkers(): number {
  return idleWorkers.length;
}

/** Ends the prestarted workers no job took (verify's walk found a problem, or hashing needed fewer). */
export function releaseHashWorkers(): void {
  for (const idle of idleWorkers.splice(0)) void idle.worker.terminate();
}

/** A prestarted worker given `data` as its job, or a new worker started with it. */
function workerFor(data: WorkerData, script: string | URL, evalScript: boolean): Worker {
  for (let idle = idleWorkers.pop(); idle !== undefined; idle = idleWorkers.pop()) {
    idle.worker.removeAllListeners();
    if (idle.broken) {
      void idle.worker.terminate();
      continue;
    }
    idle.worker.ref();
    idle.worker.postMessage(data);
    return idle.worker;
  }
  return new Worker(script, { eval: evalScript, workerData: data });
}

/**
 * Hashes every shard of every file of a job, on the main thread and, when the job is large enough
 * to pay for starting them, on `threads - 1` worker threads. All threads claim units of work from
 * one shared atomic counter (no scheduler round trip), read into their own reused buffer and
 * write digests into shared memory; the main thread hashes from the start instead of waiting for
 * workers to boot, and yields to the event loop between its units so that worker
 * messages, progress and --fail-fast are handled. Results are delivered through `onResult` in
 * completion order; shards skipped after an early stop are never delivered.
 */
export async function runHashJob(job: HashJob, options: HashRunOptions = {}): Promise<HashRunSummary> {
  const plan = planJob(job.files, job.algorithm, job.shardSize, job.sizesSigned === true, job.scan);
  const tasks = plan.taskFile.length;
  const units = unitCount(plan);
  const data: WorkerData = { plan, table: createResultTable(tasks, HASH_ALGORITHMS[job.algorithm]), control: createControl() };
  const totalBytes = plan.sizes.reduce((n, s) => n + s, 0);
  // A worker costs ~45 ms of start-up and ~10 MiB: by default only worth it for work that outlasts that.
  const workerCount = Math.min(workersFor(totalBytes, tasks, options.threads === undefined ? undefined : Math.max(1, options.threads)), Math.max(0, units - 1));

  let bytesDone = 0;
  let delivered = 0;
  let fromWorkers = 0;
  let unitsDone = 0;
  let stopped = false;
  let finish: (() => void) | undefined;
  let fail: ((error: Error) => void) | undefined;
  const allDone = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = (error) => {
      stopped = true;
      requestStop(data.control);
      reject(error);
    };
  });
  // Awaited after the main thread's own share; until then a worker failure only stops the run.
  allDone.catch(() => undefined);

  const deliver = (task: number, result: HashTaskResult | undefined) => {
    if (stopped || result === undefined) return;
    delivered++;
    bytesDone += taskLength(plan, task);
    if (options.onResult?.(plan.taskFile[task]!, taskShard(plan, task), result) === true) {
      stopped = true;
      requestStop(data.control);
    }
  };
  const completeUnit = () => {
    options.onProgress?.(bytesDone, totalBytes);
    if (++unitsDone === units || stopped) finish!();
  };
  const completeWorkerUnit = (unit: number, failures: UnitFailures, scans: UnitScans) => {
    const messages = new Map(failures);
    const scanned = new Map(scans);
    for (let i = plan.unitStart[unit]!; i < plan.unitStart[unit + 1]! && !stopped; i++) {
      const task = plan.order[i]!;
      const before = delivered;
      deliver(task, loadResult(data.table, task, messages.get(task), scanned.get(task)));
      fromWorkers += delivered - before;
    }
    completeUnit();
  };

  const workers: Worker[] = [];
  try {
    const { script, eval: evalScript } = hashWorkerScript();
    for (let w = 0; w < workerCount; w++) {
      const worker = workerFor(data, script, evalScript);
      workers.push(worker);
      worker.on('message', ([unit, failures, scans]: UnitDone) => {
        // An exception here would escape as an uncaught one: hand it to the run instead.
        try {
          completeWorkerUnit(unit, [...failures], [...scans]);
        } catch (error) {
          fail!(error as Error);
        }
      });
      worker.on('error', (error) => fail!(error));
      worker.on('exit', (code) => {
        if (code !== 0 && !stopped && unitsDone < units) fail!(new Error(`hash worker exited with code ${code}`));
      });
    }
    if (units === 0) finish!();
    mainThreadScratch ??= Buffer.allocUnsafeSlow(CHUNK_BYTES);
    const fileAt = (f: number) => job.files[f]!;
    const inspector = plan.scan === undefined ? undefined : (await import('./inspect.js')).scanInspector(plan);
    for (let unit = claimUnit(data); unit !== undefined; unit = claimUnit(data)) {
      hashUnit(data, fileAt, unit, mainThreadScratch, deliver, inspector);
      completeUnit();
      // Let worker messages, timers (the progress bar) and errors in between units.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await allDone;
  } finally {
    stopped = true;
    requestStop(data.control);
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return { tasks, tasksHashed: tasksHashed(data.control), tasksDelivered: delivered, tasksFromWorkers: fromWorkers, workers: workerCount, stoppedEarly: delivered < tasks };
}
