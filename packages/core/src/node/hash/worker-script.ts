/**
 * Where a hash worker's code comes from: here, the compiled worker.js beside this module. The
 * one-file bundle and the single binary have no such file; their build (scripts/build-bundle.mjs)
 * replaces this module with one that returns the worker's own bundled source, run with
 * `eval: true`.
 */
export interface HashWorkerScript {
  readonly script: URL | string;
  readonly eval: boolean;
}

export function hashWorkerScript(): HashWorkerScript {
  return { script: new URL('./worker.js', import.meta.url), eval: false };
}
