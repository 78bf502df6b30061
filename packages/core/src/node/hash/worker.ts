import { parentPort } from 'node:worker_threads';
import { CHUNK_BYTES } from './tuning.js';
import { runHashTask, type HashTask, type HashTaskResult } from './task.js';

/** Worker thread: runs batches of hash tasks with one reused read buffer (no per-read allocation). */
export interface BatchRequest {
  readonly id: number;
  readonly tasks: readonly HashTask[];
}

export interface BatchResponse {
  readonly id: number;
  readonly results: readonly HashTaskResult[];
}

const scratch = Buffer.allocUnsafeSlow(CHUNK_BYTES);
parentPort!.on('message', (request: BatchRequest) => {
  const results = request.tasks.map((task) => runHashTask(task, scratch));
  parentPort!.postMessage({ id: request.id, results } satisfies BatchResponse);
});
