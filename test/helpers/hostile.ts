/**
 * Setup shared by the adversarial tests: a signed directory model with an in-process key, FIFOs,
 * and the exact-codes assertion on a `--json` result.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateSecretKey } from '@ms-sign/core';
import { writeKeyFiles, type KeyFiles } from './crafted.js';
import { errorCodes, repoRoot, runCli, tempDir, writeFile, type CliResult } from './index.js';

type TestContext = Parameters<typeof tempDir>[0];

export interface SignedDirectory {
  /** The temporary directory (the CLI's cwd); the model is `dir/model`, its signature `dir/model.sig`. */
  readonly dir: string;
  readonly model: string;
  readonly key: KeyFiles;
}

/** A directory model `model/` holding `files` (relative path to content), signed by the real CLI. */
export async function signedDirectory(t: TestContext, files: Record<string, string | Uint8Array> = { 'weights.bin': 'weights', 'config.json': '{}' }): Promise<SignedDirectory> {
  const dir = tempDir(t);
  const key = await writeKeyFiles(dir, generateSecretKey());
  for (const [path, content] of Object.entries(files)) writeFile(join(dir, 'model', path), content);
  const r = await runCli(['sign', 'model', '-k', key.secretPath], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  return { dir, model: join(dir, 'model'), key };
}

/** `ms-sign verify model -p KEY --json` in `dir`. */
export function verifyDirectory(signed: SignedDirectory, ...extra: string[]): Promise<CliResult> {
  return runCli(['verify', 'model', '-p', signed.key.publicPath, '--json', ...extra], { cwd: signed.dir });
}

/** Asserts the exit code and the exact list of `--json` error codes. */
export function assertCodes(r: CliResult, exit: number, codes: readonly string[], what = ''): void {
  assert.deepEqual({ exit: r.code, codes: errorCodes(r) }, { exit, codes: [...codes] }, `${what}\n${r.stderr}`);
}

/** Asserts the exit code and that `code` is among the `--json` error codes. */
export function assertIncludesCode(r: CliResult, exit: number, code: string, what = ''): void {
  assert.equal(r.code, exit, `${what}\n${r.stdout}${r.stderr}`);
  assert.ok(errorCodes(r).includes(code), `${what}: expected ${code} in ${errorCodes(r).join(', ')}`);
}

export function mkfifo(path: string): void {
  const r = spawnSync('mkfifo', [path]);
  if (r.status !== 0) throw new Error(`mkfifo ${path} failed: ${r.stderr.toString()}`);
}

/** A CLI run in a child process, with the peak memory the process reached. */
export interface MeasuredRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Peak resident set size of the child, bytes (process.resourceUsage().maxRSS). */
  readonly maxRssBytes: number;
}

/**
 * Runs `ms-sign ARGV` in a fresh Node process and reports its peak RSS, for memory bounds on
 * hostile input (a bound on memory is deterministic enough to assert; wall time is not).
 */
export function spawnCliMeasured(argv: readonly string[], options: { cwd: string; env?: Record<string, string>; timeoutMs?: number }): MeasuredRun {
  const mainUrl = pathToFileURL(join(repoRoot, 'packages', 'cli', 'dist', 'main.js')).href;
  const script = [
    `const { main, processIo } = await import(${JSON.stringify(mainUrl)});`,
    `process.on('exit', () => process.stderr.write('\\nmaxRSS=' + process.resourceUsage().maxRSS + '\\n'));`,
    `process.exitCode = await main(JSON.parse(process.env.MS_TEST_ARGV), processIo());`,
  ].join('\n');
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH, HOME: options.cwd, XDG_CONFIG_HOME: join(options.cwd, '.config-home'), NO_COLOR: '1', ...options.env, MS_TEST_ARGV: JSON.stringify(argv) },
    timeout: options.timeoutMs ?? 120_000,
    maxBuffer: 256 * 1024 * 1024,
    encoding: 'utf8',
  });
  const match = /\nmaxRSS=(\d+)\n$/.exec(child.stderr);
  return { code: child.status, stdout: child.stdout, stderr: child.stderr.replace(/\nmaxRSS=\d+\n$/, ''), maxRssBytes: match ? Number(match[1]) * 1024 : Infinity };
}
