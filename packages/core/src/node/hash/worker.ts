// Worker thread: claims units of the job from the shared counter until none is left, hashing each
// with one reused read buffer, and posts one message per finished unit; the results themselves go
// straight into shared memory. Its module graph is node builtins and hash/* only: it starts fast.
// A job that asks for verify's scan also loads the scanner (hash/inspect.ts), and only then.
import { parentPort, workerData } from 'node:worker_threads';
import { claimUnits, type UnitFailures, type UnitScans, type WorkerData } from './claim.js';
import { CHUNK_BYTES } from './tuning.js';

/** A worker's message when it finished a unit: the unit, the failure messages and the scan results of its tasks. */
export type UnitDone = readonly [unit: number, failures: Readonly<UnitFailures>, scans: Readonly<UnitScans>];

async function run(data: WorkerData): Promise<void> {
  const inspector = data.plan.scan === undefined ? undefined : (await import('./inspect.js')).scanInspector(data.plan);
  claimUnits(data, Buffer.allocUnsafeSlow(CHUNK_BYTES), inspector, (unit, failures, scans) => parentPort!.postMessage([unit, failures, scans] satisfies UnitDone));
}

/** The workerData of a worker started ahead of its job (pool.ts prestartHashWorkers). */
export interface IdleWorkerData {
  readonly idle: true;
  /** Load the scanner while waiting: the job will ask for verify's scan. */
  readonly loadScanner: boolean;
}

// Not a top-level await: the one-file bundle (and the single binary) is CommonJS, which has none.
// A rejection is unhandled and so ends the worker with an 'error' event, as a throw would.
const start = workerData as WorkerData | IdleWorkerData;
if ('idle' in start) {
  // The job comes as the first message; meanwhile the scanner's modules load, off the job's path.
  if (start.loadScanner) void import('./inspect.js');
  parentPort!.once('message', (data: WorkerData) => void run(data));
} else void run(start);
