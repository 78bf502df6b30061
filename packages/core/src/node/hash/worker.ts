// Worker thread: claims units of the job from the shared counter until none is left, hashing each
// with one reused read buffer, and posts one message per finished unit; the results themselves go
// straight into shared memory. Its module graph is node builtins and hash/* only: it starts fast.
import { parentPort, workerData } from 'node:worker_threads';
import { claimUnits, type WorkerData } from './claim.js';
import { CHUNK_BYTES } from './tuning.js';

/** A worker's message when it finished a unit: the unit and the failure messages of its tasks. */
export type UnitDone = readonly [unit: number, failures: readonly (readonly [task: number, message: string])[]];

const data = workerData as WorkerData;
claimUnits(data, Buffer.allocUnsafeSlow(CHUNK_BYTES), (unit, failures) => parentPort!.postMessage([unit, failures] satisfies UnitDone));
