import type { Readable, Writable } from 'node:stream';

/**
 * Everything a command touches outside the file system: streams, environment, working directory.
 * Commands take it as an argument, so tests run the real CLI in-process with captured streams.
 */
export interface CliIo {
  readonly stdout: Writable & { isTTY?: boolean };
  readonly stderr: Writable & { isTTY?: boolean; columns?: number };
  readonly stdin: Readable & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /**
   * The system-wide trust policy (default /etc/ms-sign/trust.json). Set only by tests running the
   * CLI in-process; never from the environment, which must not choose what is trusted.
   */
  readonly systemTrustPolicy?: string;
}

/** Colour only on a terminal and never with NO_COLOR (https://no-color.org). */
export function useColor(io: CliIo, stream: 'stdout' | 'stderr'): boolean {
  return io[stream].isTTY === true && !io.env.NO_COLOR && io.env.TERM !== 'dumb';
}

export function paint(enabled: boolean, code: number, text: string): string {
  return enabled ? `\x1b[${code}m${text}\x1b[0m` : text;
}

/**
 * Makes text from untrusted sources (file names, signature files) safe for a terminal: control
 * characters could move the cursor or rewrite what the operator sees, and bidi controls (U+202E
 * and friends, Trojan Source) or other invisible format characters could make "evil" read as
 * "live". Each becomes \uXXXX; --json output stays exact.
 */
export function printable(text: string): string {
  return text.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, (c) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, '0')}`);
}

export function writeLine(stream: Writable, line = ''): void {
  stream.write(`${line}\n`);
}
