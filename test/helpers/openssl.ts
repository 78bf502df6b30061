/**
 * The `openssl` command line, for interoperability tests: keys made by OpenSSL must work in
 * ms-sign and ms-sign's keys must read in OpenSSL (the README). Tests that need it skip with
 * a visible message where it is not installed.
 */
import { spawnSync } from 'node:child_process';

export interface OpensslResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

function probe(): boolean {
  const r = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  return r.error === undefined && r.status === 0;
}

export const HAS_OPENSSL = probe();

/**
 * Skips the test with a visible message when openssl is not installed; returns true when it did.
 * Use as `if (skipWithoutOpenssl(t)) return;`.
 */
export function skipWithoutOpenssl(t: { skip: (message?: string) => void }): boolean {
  if (HAS_OPENSSL) return false;
  t.skip('openssl not installed');
  return true;
}

/**
 * Runs `openssl ARGS` in `cwd` and throws unless it exits 0. Passphrases go through the
 * environment (`-passin env:VAR`), never through argv.
 */
export function openssl(args: readonly string[], cwd: string, env: Record<string, string> = {}): OpensslResult {
  const result = opensslStatus(args, cwd, env);
  if (result.status !== 0) throw new Error(`openssl ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  return result;
}

/** Runs `openssl ARGS` and returns its exit status and output, whatever the status. */
export function opensslStatus(args: readonly string[], cwd: string, env: Record<string, string> = {}): OpensslResult {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8', env: { PATH: process.env.PATH, ...env }, timeout: 30_000 });
  if (r.error) throw r.error;
  return { status: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
}
