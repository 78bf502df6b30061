/** Worker side of the fuzz harness: runs one target with fast-check, reporting each input started. */
import { workerData, parentPort } from 'node:worker_threads';
import fc from 'fast-check';
import { HEARTBEAT_HEADER, HEARTBEAT_INPUT_BYTES } from './harness.js';
import { checkInput, findTarget } from './targets.js';

const { target: name, runs, seconds, seed, path, shared } = workerData as {
  target: string;
  runs?: number;
  seconds?: number;
  seed: number;
  path?: string;
  shared: SharedArrayBuffer;
};
const target = findTarget(name);
const counters = new Int32Array(shared, 0, 2);
const inputBytes = new Uint8Array(shared, HEARTBEAT_HEADER, HEARTBEAT_INPUT_BYTES);

const details = fc.check(
  fc.property(target.arbitrary, (input) => {
    const bytes = target.serialize(input).subarray(0, HEARTBEAT_INPUT_BYTES);
    inputBytes.set(bytes);
    Atomics.store(counters, 1, bytes.length);
    Atomics.add(counters, 0, 1);
    checkInput(target, input);
  }),
  {
    seed,
    ...(path === undefined ? {} : { path }),
    numRuns: runs ?? Number.MAX_SAFE_INTEGER,
    ...(seconds === undefined ? {} : { interruptAfterTimeLimit: seconds * 1000, markInterruptAsFailure: false }),
  },
);

const counterexample = details.counterexample?.[0];
parentPort!.postMessage({
  runs: Atomics.load(counters, 0),
  ...(details.failed
    ? {
        failure: {
          message: String((details.errorInstance as Error | undefined)?.message ?? details.errorInstance),
          input: counterexample === undefined ? new Uint8Array() : target.serialize(counterexample),
          path: details.counterexample === null ? '' : details.counterexamplePath ?? '',
        },
      }
    : {}),
});
