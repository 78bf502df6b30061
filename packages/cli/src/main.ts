import { createRequire } from 'node:module';
import type { CliIo } from './io.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

/** The real process's streams and environment. */
export function processIo(): CliIo {
  // Getters: Node creates each stdio stream on first access (~3 ms for stdout and stderr; a pipe
  // loads node:net), and `verify -q` of a good model writes nothing; most commands never read
  // stdin. So the broken-pipe listener is added when a stream is first handed out, not here:
  // every write of the CLI goes through these getters, none through process.stdout directly.
  let stdout: NodeJS.WriteStream | undefined;
  let stderr: NodeJS.WriteStream | undefined;
  const guarded = (stream: NodeJS.WriteStream) => stream.on('error', exitOnBrokenPipe(stream));
  return {
    get stdout() {
      return (stdout ??= guarded(process.stdout));
    },
    get stderr() {
      return (stderr ??= guarded(process.stderr));
    },
    get stdin() {
      return process.stdin;
    },
    env: process.env,
    cwd: process.cwd(),
  };
}

/** Exit status of a process killed by SIGPIPE (128 + 13), as a shell reports `cat big | head -1`. */
export const BROKEN_PIPE_EXIT = 141;

/**
 * A reader that stops early (`ms-sign trust list | head -1`) closes the pipe: Node ignores
 * SIGPIPE and reports EPIPE as an 'error' event, which would crash with a stack trace. Unix tools
 * die of SIGPIPE instead, silently; so does ms-sign, with the status a shell shows for them. A
 * command that handles its own stream errors (verify --output -, which reports IO_ERROR) has
 * its own listener, and this one leaves the error to it.
 */
function exitOnBrokenPipe(stream: NodeJS.WriteStream): (error: NodeJS.ErrnoException) => void {
  return (error) => {
    if (stream.listenerCount('error') > 1) return;
    if (error.code === 'EPIPE') process.exit(BROKEN_PIPE_EXIT);
    throw error;
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
