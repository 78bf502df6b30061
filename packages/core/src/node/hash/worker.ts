import { parentPort, workerData } from 'node:worker_threads';
import { claimUnits, type WorkerData } from './claim.js';
import { CHUNK_BYTES } from './tuning.js';

/**
 * Worker thread: claims units of the job from the shared counter until none is left, hashing
 * each with one reused read buffer, and posts one message per finished unit. Results go straight
 * into shared memory. Its module graph is node builtins and hash/* only, so it starts fast.
 */
export type UnitDone = readonly [unit: number, failures: readonly (readonly [task: number, message: string])[]];

const data = workerData as WorkerData;
claimUnits(data, Buffer.allocUnsafeSlow(CHUNK_BYTES), (unit, failures) => parentPort!.postMessage([unit, failures] satisfies UnitDone));
