import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { Signer, SignatureAlgorithm } from '../../crypto/signer.js';
import { MsSignError } from '../../errors.js';

/** Bounds on a signing command (docs/signers.md, "The protocol"). */
export const SIGNER_COMMAND_LIMITS = {
  /** Default time for one signature: long enough for a cloud KMS round trip or a touch on a key. */
  timeoutMs: 60_000,
  /** Longest timeout accepted. */
  maxTimeoutMs: 3_600_000,
  /** stdout beyond this is not read: the command is killed (a signature is at most 72 bytes). */
  maxOutputBytes: 4096,
  /** The command line as text, and its number of words. */
  maxCommandLineBytes: 65_536,
  maxArguments: 1024,
} as const;

/** Signature sizes: Ed25519 is exactly 64 bytes; a DER ECDSA signature at most this many. */
const SIGNATURE_BYTES: Record<SignatureAlgorithm, { min: number; max: number }> = {
  ed25519: { min: 64, max: 64 },
  'ecdsa-p256-sha256': { min: 8, max: 72 },
  'ecdsa-p384-sha384': { min: 8, max: 104 },
  'ecdsa-p521-sha512': { min: 8, max: 139 },
};

// Outside quotes these mean something to a shell. ms-sign runs no shell, so it refuses them
// rather than pass "|" to the program as an argument and let a pipeline silently not happen.
const SHELL_ONLY = new Set(['|', '&', ';', '<', '>', '(', ')', '`', '$', '*', '?', '~']);

/**
 * Splits a command line into argv without a shell, with the quoting of a POSIX shell minus
 * everything else: words are separated by blanks; '...' keeps its text as is; "..." too, except
 * that \" and \\ stand for " and \; outside quotes, \ keeps the next character. No variables,
 * globs, pipes or redirections: unquoted | & ; < > ( ) ` $ * ? ~ are refused.
 *
 * @example
 * ```ts
 * splitCommandLine(`openssl pkeyutl -sign -rawin -inkey 'my key.pem' -in /dev/stdin`);
 * // ['openssl', 'pkeyutl', '-sign', '-rawin', '-inkey', 'my key.pem', '-in', '/dev/stdin']
 * ```
 */
export function splitCommandLine(line: string): string[] {
  const fail = (why: string): never => {
    throw new MsSignError('USAGE', `signing command: ${why}`);
  };
  if (Buffer.byteLength(line) > SIGNER_COMMAND_LIMITS.maxCommandLineBytes) fail(`longer than ${SIGNER_COMMAND_LIMITS.maxCommandLineBytes} bytes`);
  const words: string[] = [];
  let word = '';
  let inWord = false; // false between words; an empty quoted word ('') is still a word
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote === "'") {
      if (ch === "'") quote = undefined;
      else word += ch;
    } else if (quote === '"') {
      if (ch === '"') quote = undefined;
      else if (ch === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) word += line[++i]!;
      else word += ch;
    } else if (ch === ' ' || ch === '\t' || ch === '\n') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === '\\') {
      if (i + 1 === line.length) fail('ends with a lone backslash');
      word += line[++i]!;
      inWord = true;
    } else if (SHELL_ONLY.has(ch)) {
      fail(`unquoted ${JSON.stringify(ch)}: ms-sign runs the command without a shell; quote it, or put shell syntax in a script and run that`);
    } else {
      word += ch;
      inWord = true;
    }
    if (words.length > SIGNER_COMMAND_LIMITS.maxArguments) fail(`more than ${SIGNER_COMMAND_LIMITS.maxArguments} words`);
  }
  if (quote !== undefined) fail(`unterminated ${quote} quote`);
  if (inWord) words.push(word);
  if (words.length === 0 || words[0] === '') fail('empty');
  return words;
}

export interface CommandSignerOptions {
  /** The program and its arguments (see splitCommandLine); run without a shell. */
  readonly argv: readonly string[];
  /** What the command's key is; every signature it returns is checked against `publicKey`. */
  readonly algorithm: SignatureAlgorithm;
  readonly publicKey: Uint8Array;
  readonly keyId: string;
  /** Default SIGNER_COMMAND_LIMITS.timeoutMs. */
  readonly timeoutMs?: number;
  /** The command's environment (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Where the command's stderr goes (default: this process's stderr). */
  readonly stderr?: Writable;
}

/**
 * A Signer that runs an external command once per signature: the exact message on its stdin
 * (a regular file: see runSigningCommand),
 * the raw signature (Ed25519: 64 bytes; ECDSA: DER) read from its stdout, its stderr passed
 * through. A command that fails, hangs past the timeout or prints more or fewer bytes than a
 * signature throws SIGNER_COMMAND_FAILED; what it printed is never shown. Whether the bytes are
 * a valid signature is checked by the signing code against `publicKey`, as for every signer.
 */
export function commandSigner(options: CommandSignerOptions): Signer {
  const argv = [...options.argv];
  if (argv.length === 0 || argv[0] === '') throw new MsSignError('USAGE', 'signing command: empty');
  const timeoutMs = options.timeoutMs ?? SIGNER_COMMAND_LIMITS.timeoutMs;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > SIGNER_COMMAND_LIMITS.maxTimeoutMs) {
    throw new RangeError(`timeoutMs: expected an integer from 1 to ${SIGNER_COMMAND_LIMITS.maxTimeoutMs}, got ${timeoutMs}`);
  }
  const program = argv[0]!;
  return {
    algorithm: options.algorithm,
    keyId: options.keyId,
    publicKey: new Uint8Array(options.publicKey),
    description: `signing command ${JSON.stringify(program)}`,
    sign: (message) => runSigningCommand(argv, message, { ...options, timeoutMs }),
  };
}

/**
 * The message reaches the command as a regular file on its stdin, not a pipe: Node's pipes are
 * socket pairs, and a program that opens /dev/stdin by name (`openssl -in /dev/stdin`,
 * `aws kms sign --message fileb:///dev/stdin`) cannot open a socket (ENXIO). A file also lets it
 * read the message twice or not at all. The message is what gets published in the signature
 * file, not a secret; the file is private (0600) all the same and removed afterwards.
 */
async function runSigningCommand(argv: readonly string[], message: Uint8Array, options: CommandSignerOptions & { timeoutMs: number }): Promise<Uint8Array> {
  const dir = mkdtempSync(join(tmpdir(), 'ms-sign-message-'));
  try {
    const file = join(dir, 'message');
    writeFileSync(file, message, { mode: 0o600, flag: 'wx' });
    const fd = openSync(file, 'r');
    try {
      return await spawnSigningCommand(argv, fd, options);
    } finally {
      closeSync(fd);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function spawnSigningCommand(argv: readonly string[], stdin: number, options: CommandSignerOptions & { timeoutMs: number }): Promise<Uint8Array> {
  const program = JSON.stringify(argv[0]);
  const limit = SIGNATURE_BYTES[options.algorithm];
  return new Promise((resolve, reject) => {
    let settled = false;
    const chunks: Buffer[] = [];
    let received = 0;
    const child = spawn(argv[0]!, argv.slice(1), {
      shell: false,
      stdio: [stdin, 'pipe', options.stderr ? 'pipe' : 'inherit'],
      env: options.env ?? process.env,
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    });
    const finish = (error: MsSignError | undefined, signature?: Uint8Array) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        // The command is not waited for: a hung or runaway signer must not hold ms-sign.
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        child.stdout?.destroy();
        reject(error);
      } else resolve(signature!);
    };
    const timer = setTimeout(() => {
      finish(new MsSignError('SIGNER_COMMAND_FAILED', `signing command ${program} gave no signature within ${options.timeoutMs / 1000} s; it was killed and nothing was written`));
    }, options.timeoutMs);
    child.on('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'ENOENT' ? 'not found' : error.code === 'EACCES' ? 'not executable' : error.message;
      finish(new MsSignError('SIGNER_COMMAND_FAILED', `signing command ${program} could not start: ${why}`, { cause: error }));
    });
    if (options.stderr && child.stderr) child.stderr.pipe(options.stderr, { end: false });
    child.stdout!.on('data', (chunk: Buffer) => {
      received += chunk.length;
      // Count before keeping: a command that prints megabytes is stopped at the limit.
      if (received > SIGNER_COMMAND_LIMITS.maxOutputBytes) {
        finish(new MsSignError('SIGNER_COMMAND_FAILED', `signing command ${program} printed more than ${SIGNER_COMMAND_LIMITS.maxOutputBytes} bytes; a signature is at most ${limit.max} bytes. It was killed and nothing was written`));
        return;
      }
      chunks.push(chunk);
    });
    child.on('close', (code, signal) => {
      if (code !== 0) {
        const how = signal !== null ? `was killed by ${signal}` : `exited with status ${code}`;
        finish(new MsSignError('SIGNER_COMMAND_FAILED', `signing command ${program} ${how}; nothing was written`));
        return;
      }
      const output = Buffer.concat(chunks);
      if (output.length < limit.min || output.length > limit.max) {
        const expected = limit.min === limit.max ? `${limit.min}` : `${limit.min} to ${limit.max}`;
        finish(new MsSignError('SIGNER_COMMAND_FAILED', `signing command ${program} printed ${output.length} bytes; an ${options.algorithm} signature is ${expected} raw bytes (not base64 or hex). Nothing was written`));
        return;
      }
      finish(undefined, new Uint8Array(output));
    });
  });
}
