import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { BATCH_BYTES, BATCH_FILES, CHUNK_BYTES, INLINE_BYTES } from './tuning.js';
import { runHashTask, type HashTask, type HashTaskResult } from './task.js';
import type { BatchRequest, BatchResponse } from './worker.js';

export interface HashRunOptions {
  /** Worker threads to use; default: one per core. 1 hashes on the main thread. */
  readonly threads?: number | undefined;
  /** Called with the bytes hashed so far, after each batch. */
  readonly onProgress?: ((bytesDone: number, bytesTotal: number) => void) | undefined;
  /** Called for each finished task; returning true stops the run early (--fail-fast). */
  readonly onResult?: (index: number, result: HashTaskResult) => boolean | void;
}

let mainThreadScratch: Buffer | undefined;

/**
 * Runs hash tasks across worker threads, one per core, each reading into its own reused buffer.
 * Large shards go first (longest job first keeps all cores busy to the end); small files travel
 * in batches so that 20,000 tiny files do not cost 20,000 messages. Results keep task order;
 * tasks skipped after an early stop have no result.
 */
export async function runHashTasks(tasks: readonly HashTask[], options: HashRunOptions = {}): Promise<(HashTaskResult | undefined)[]> {
  const results: (HashTaskResult | undefined)[] = new Array(tasks.length);
  const total = tasks.reduce((n, t) => n + t.length, 0);
  const threads = Math.max(1, options.threads ?? availableParallelism());
  let done = 0;
  let stopped = false;
  const record = (index: number, result: HashTaskResult) => {
    results[index] = result;
    done += tasks[index]!.length;
    if (options.onResult?.(index, result) === true) stopped = true;
  };

  if (threads === 1 || total <= INLINE_BYTES) {
    mainThreadScratch ??= Buffer.allocUnsafeSlow(CHUNK_BYTES);
    for (let i = 0; i < tasks.length && !stopped; i++) {
      record(i, runHashTask(tasks[i]!, mainThreadScratch));
      options.onProgress?.(done, total);
    }
    return results;
  }

  const batches = makeBatches(tasks);
  const workerCount = Math.min(threads, batches.length);
  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let next = 0;
      let running = 0;
      const dispatch = (worker: Worker) => {
        if (stopped || next >= batches.length) {
          if (running === 0) resolve();
          return;
        }
        const id = next++;
        running++;
        worker.postMessage({ id, tasks: batches[id]!.map((i) => tasks[i]!) } satisfies BatchRequest);
      };
      for (let w = 0; w < workerCount; w++) {
        const worker = new Worker(new URL('./worker.js', import.meta.url));
        workers.push(worker);
        worker.on('message', (response: BatchResponse) => {
          running--;
          batches[response.id]!.forEach((taskIndex, k) => record(taskIndex, response.results[k]!));
          options.onProgress?.(done, total);
          dispatch(worker);
        });
        worker.on('error', reject);
        worker.on('exit', (code) => {
          if (code !== 0 && !stopped && (next < batches.length || running > 0)) reject(new Error(`hash worker exited with code ${code}`));
        });
        dispatch(worker);
      }
    });
  } finally {
    stopped = true;
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}

/** Groups task indexes: big tasks alone and first, small ones packed together in walk order. */
function makeBatches(tasks: readonly HashTask[]): number[][] {
  const big: number[] = [];
  const small: number[] = [];
  tasks.forEach((t, i) => (t.length >= BATCH_BYTES ? big : small).push(i));
  big.sort((a, b) => tasks[b]!.length - tasks[a]!.length);
  const batches = big.map((i) => [i]);
  let current: number[] = [];
  let bytes = 0;
  for (const i of small) {
    current.push(i);
    bytes += tasks[i]!.length;
    if (bytes >= BATCH_BYTES || current.length >= BATCH_FILES) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
