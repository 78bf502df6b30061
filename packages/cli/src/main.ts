import { createRequire } from 'node:module';
import type { CliIo } from './io.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

/** The real process's streams and environment. */
export function processIo(): CliIo {
  return {
    // Getters: Node creates each stdio stream on first access (~5-15 ms for stdout alone: a pipe
    // loads node:net), and `verify -q` of a good model writes nothing; most commands never read stdin.
    get stdout() {
      return process.stdout;
    },
    get stderr() {
      return process.stderr;
    },
    get stdin() {
      return process.stdin;
    },
    env: process.env,
    cwd: process.cwd(),
  };
}

/**
 * Runs `ms-sign ARGV` and returns the exit code; never calls process.exit (so tests can run it
 * in-process). `--version` answers before anything else loads, and each command's module is
 * imported only when that command runs: a verify step before every load should start fast.
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    io.stdout.write(`${version}\n`);
    return 0;
  }
  const { runProgram } = await import('./program.js');
  return runProgram(argv, io, version);
}
