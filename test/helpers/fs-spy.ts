/**
 * Records every path the code under test hands to node:fs, to prove that a hostile signature file
 * or model never makes ms-sign touch a file outside the model. Patches the CommonJS fs object and
 * calls syncBuiltinESMExports(), which updates the live ESM bindings (`import { openSync } from
 * 'node:fs'`) that core uses. Worker threads are not seen: run what is spied on with one hashing
 * thread (`--threads 1`, `threads: 1`), so every file is opened on the main thread.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const PATH_FUNCTIONS = ['openSync', 'readdirSync', 'lstatSync', 'statSync', 'realpathSync', 'readFileSync', 'existsSync', 'opendirSync', 'accessSync', 'readlinkSync'] as const;

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;

/** Runs `action` and returns its result with the paths it passed to fs (as strings). */
export async function withFsPaths<T>(action: () => Promise<T>): Promise<{ result: T; paths: string[] }> {
  const paths: string[] = [];
  const target = fs as unknown as Record<string, AnyFunction>;
  const originals = new Map<string, AnyFunction>();
  for (const name of PATH_FUNCTIONS) {
    const original = target[name]!;
    originals.set(name, original);
    const wrapped: AnyFunction = function (this: unknown, ...args: unknown[]) {
      const path = args[0];
      if (typeof path === 'string' || Buffer.isBuffer(path) || path instanceof URL) paths.push(path instanceof URL ? path.pathname : String(path));
      return original.apply(this, args);
    };
    Object.assign(wrapped, original); // keeps realpathSync.native
    target[name] = wrapped;
  }
  syncBuiltinESMExports();
  try {
    return { result: await action(), paths };
  } finally {
    for (const [name, original] of originals) target[name] = original;
    syncBuiltinESMExports();
  }
}

/**
 * Replaces one fs function while `action` runs (to simulate a crash or a failing syscall at an
 * exact point), then restores it.
 */
export async function withFsOverride<T>(name: string, replacement: (original: AnyFunction) => AnyFunction, action: () => Promise<T> | T): Promise<T> {
  const target = fs as unknown as Record<string, AnyFunction>;
  const original = target[name]!;
  target[name] = replacement(original);
  syncBuiltinESMExports();
  try {
    return await action();
  } finally {
    target[name] = original;
    syncBuiltinESMExports();
  }
}
