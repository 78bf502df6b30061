/**
 * Runs a fuzz target in a worker thread, watched from outside: the worker reports each input it
 * starts in shared memory, so an input that never returns (a hang) is caught, terminated and
 * saved; the worker's heap is capped, so runaway allocation ends the run as a finding too.
 */
import { Worker } from 'node:worker_threads';

export interface FuzzOptions {
  /** Inputs to try (default: unlimited, until `seconds`). */
  readonly runs?: number;
  /** Stop after this long (default: unlimited, until `runs`). */
  readonly seconds?: number;
  /** fast-check seed; default random (always reported, for replay). */
  readonly seed?: number;
  /** With `seed`: replay exactly the input of a finding's reported path. */
  readonly path?: string;
  /** No progress on one input for this long is a hang (default 10 s). */
  readonly hangMs?: number;
  /** The worker's old-generation heap cap (default 1024 MiB). */
  readonly heapMb?: number;
}

export interface FuzzReport {
  readonly target: string;
  readonly seed: number;
  /** Inputs tried. */
  readonly runs: number;
  readonly ms: number;
  readonly failure?: {
    readonly kind: 'finding' | 'hang' | 'memory' | 'crash';
    readonly message: string;
    /** The failing input (shrunk for findings), as the target serializes it. */
    readonly input?: Uint8Array;
    /** fast-check's replay path for findings: FC_SEED + FC_PATH reproduce it. */
    readonly path?: string;
  };
}

/** Shared memory layout: [0] inputs started, [1] length of the current input; then its bytes. */
export const HEARTBEAT_HEADER = 8;
export const HEARTBEAT_INPUT_BYTES = 1024 * 1024;

export function fuzzInWorker(target: string, options: FuzzOptions = {}): Promise<FuzzReport> {
  const seed = options.seed ?? (Math.random() * 2 ** 31) | 0;
  const shared = new SharedArrayBuffer(HEARTBEAT_HEADER + HEARTBEAT_INPUT_BYTES);
  const counters = new Int32Array(shared, 0, 2);
  const started = performance.now();
  const worker = new Worker(new URL('./worker.js', import.meta.url), {
    workerData: { target, runs: options.runs, seconds: options.seconds, seed, path: options.path, shared },
    resourceLimits: { maxOldGenerationSizeMb: options.heapMb ?? 1024 },
    stdout: false,
    stderr: false,
  });
  const currentInput = () => new Uint8Array(shared, HEARTBEAT_HEADER, Math.min(Atomics.load(counters, 1), HEARTBEAT_INPUT_BYTES)).slice();
  return new Promise((resolve) => {
    let settled = false;
    let lastCount = -1;
    let lastChange = performance.now();
    const finish = (report: Omit<FuzzReport, 'target' | 'seed' | 'ms'>) => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      void worker.terminate();
      resolve({ target, seed, ms: performance.now() - started, ...report });
    };
    const watchdog = setInterval(() => {
      const count = Atomics.load(counters, 0);
      // Before the first input the worker is still loading: that is not a hang.
      if (count === 0) lastChange = performance.now();
      else if (count !== lastCount) {
        lastCount = count;
        lastChange = performance.now();
      } else if (performance.now() - lastChange > (options.hangMs ?? 10_000)) {
        finish({ runs: count, failure: { kind: 'hang', message: `input ${count} did not return within ${options.hangMs ?? 10_000} ms`, input: currentInput() } });
      }
    }, 50);
    worker.on('message', (result: { runs: number; failure?: { message: string; input: Uint8Array; path: string } }) => {
      finish(result.failure ? { runs: result.runs, failure: { kind: 'finding', ...result.failure } } : { runs: result.runs });
    });
    worker.on('error', (error: Error & { code?: string }) => {
      const kind = error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'memory' : 'crash';
      finish({ runs: Atomics.load(counters, 0), failure: { kind, message: `${error.code ?? error.name}: ${error.message}`, input: currentInput() } });
    });
    worker.on('exit', (code) => finish({ runs: Atomics.load(counters, 0), failure: { kind: 'crash', message: `worker exited with code ${code}`, input: currentInput() } }));
  });
}
