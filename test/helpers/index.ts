/**
 * Shared test helpers: real files in fresh temporary directories, real keys, and the real CLI,
 * either in-process (fast: captured streams, same code path as bin/ms-sign.cjs) or as a child
 * process (for what only a process can show: exit status, signals, stdin, pipes).
 */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { main, type CliIo } from 'ms-sign';

function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'pnpm-workspace.yaml'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('repository root not found');
    dir = parent;
  }
  return dir;
}

export const repoRoot = findRepoRoot();
export const fixturesDir = join(repoRoot, 'test', 'fixtures', 'mindspore-lite');
export const dataDir = join(repoRoot, 'test', 'data');
export const cliBin = join(repoRoot, 'packages', 'cli', 'bin', 'ms-sign.cjs');

/**
 * MS_SIGN_CLI=PATH runs every CLI call of the tests against another build of the CLI as a child
 * process: the single binary (packages/cli/dist-bin/ms-sign-linux-x64) or the one-file bundle (a
 * .js/.cjs/.mjs file, run with this Node). Unset, runCli runs in-process and spawnCli runs bin/ms-sign.cjs.
 */
export const cliUnderTest: string | undefined = process.env.MS_SIGN_CLI || undefined;

/** The command and leading arguments that start the CLI as a child process. */
function cliCommand(): [string, string[]] {
  if (cliUnderTest === undefined) return [process.execPath, [cliBin]];
  return /\.[cm]?js$/.test(cliUnderTest) ? [process.execPath, [cliUnderTest]] : [cliUnderTest, []];
}

/** The real MindSpore Lite models of test/fixtures (see its README for their origin). */
export const FIXTURES = ['parallel.ms', 'conv_train_model.ms', 'lenet_tod_infer.ms', 'ml_face_isface.ms', 'retinaface0924.ms', 'relu.mindir'] as const;

export function fixture(name: string): string {
  return join(fixturesDir, name);
}

/** A fresh temporary directory, removed when the test ends. */
export function tempDir(t: { after: (fn: () => void) => void }, prefix = 'ms-sign-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Copies a fixture into `dir` (tests modify copies, never the fixtures). */
export function copyFixture(name: string, dir: string, as = name): string {
  const target = join(dir, as);
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(fixture(name), target);
  chmodSync(target, 0o644);
  return target;
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stdoutBytes: Buffer;
  readonly stderr: string;
  /** stdout parsed as JSON (for --json runs). */
  json<T = Record<string, unknown>>(): T;
}

function collector(): { stream: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
      callback();
    },
  });
  return { stream, bytes: () => Buffer.concat(chunks) };
}

function result(code: number, stdout: Buffer, stderr: Buffer): CliResult {
  return {
    code,
    stdout: stdout.toString('utf8'),
    stdoutBytes: stdout,
    stderr: stderr.toString('utf8'),
    json<T>() {
      return JSON.parse(stdout.toString('utf8')) as T;
    },
  };
}

export interface RunOptions {
  readonly cwd: string;
  /** Added to a minimal environment (no inherited MS_SIGN_* or XDG variables). */
  readonly env?: Record<string, string | undefined>;
  /** The system-wide trust policy the lookup ends with (default: `.system/trust.json` in cwd, absent). */
  readonly systemTrustPolicy?: string;
}

function baseEnv(cwd: string, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: cwd, XDG_CONFIG_HOME: join(cwd, '.config-home'), NO_COLOR: '1' };
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/**
 * Runs the CLI in-process with captured streams (stdin is empty and not a terminal); with
 * MS_SIGN_CLI set, as that child process with the same environment and an empty stdin.
 */
export async function runCli(argv: readonly string[], options: RunOptions): Promise<CliResult> {
  if (cliUnderTest !== undefined) return spawnCli(argv, options);
  const out = collector();
  const err = collector();
  const stdin = new PassThrough();
  stdin.end();
  const io: CliIo = {
    stdout: out.stream,
    stderr: err.stream,
    stdin,
    env: baseEnv(options.cwd, options.env),
    cwd: options.cwd,
    // Never the test machine's /etc/ms-sign/trust.json.
    systemTrustPolicy: options.systemTrustPolicy ?? join(options.cwd, '.system', 'trust.json'),
  };
  const code = await main(argv, io);
  return result(code, out.bytes(), err.bytes());
}

/** Runs `ms-sign ARGS` in-process in `dir` and fails the test unless it exits 0. */
export async function cliOk(dir: string, args: readonly string[], env?: Record<string, string | undefined>): Promise<CliResult> {
  const r = await runCli(args, env === undefined ? { cwd: dir } : { cwd: dir, env });
  if (r.code !== 0) throw new Error(`ms-sign ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r;
}

/** Runs bin/ms-sign.cjs (or MS_SIGN_CLI) as a child process. */
export function spawnCli(argv: readonly string[], options: RunOptions & { input?: Buffer | string; timeoutMs?: number }): CliResult {
  const spawnOptions: SpawnSyncOptions = {
    cwd: options.cwd,
    env: baseEnv(options.cwd, options.env),
    input: options.input ?? '',
    timeout: options.timeoutMs ?? 60_000,
    maxBuffer: 512 * 1024 * 1024,
  };
  const [command, leading] = cliCommand();
  const child = spawnSync(command, [...leading, ...argv], spawnOptions);
  if (child.error) throw child.error;
  return result(child.status ?? 128, child.stdout as Buffer, child.stderr as Buffer);
}

/** Makes an unencrypted key pair PREFIX.key / PREFIX.pub in `dir` with the real keygen. */
export async function makeKey(dir: string, prefix = 'publisher'): Promise<{ secret: string; public: string; keyId: string }> {
  const r = await runCli(['keygen', '-o', prefix, '--no-passphrase', '--json'], { cwd: dir });
  if (r.code !== 0) throw new Error(`keygen failed: ${r.stderr}${r.stdout}`);
  const { keyId, secretKey, publicKey } = r.json<{ keyId: string; secretKey: string; publicKey: string }>();
  return { secret: secretKey, public: publicKey, keyId };
}

/** The error codes of a --json result. */
export function errorCodes(r: CliResult): string[] {
  return r.json<{ errors: { code: string }[] }>().errors.map((e) => e.code);
}

export function writeFile(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
}

export function readBytes(path: string): Buffer {
  return readFileSync(path);
}
