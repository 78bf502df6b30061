/**
 * Helpers for trust-policy, rollback and verify-before-load tests: signing through the library
 * when the CLI cannot express it (a chosen creation time, a past expiry), and running the real
 * `trust` and `verify` commands.
 */
import { parseSecretKeyPem, type Manifest, secretKeySigner } from '@ms-sign/core';
import { signModel, writeFileAtomic } from '@ms-sign/core/node';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { errorCodes, runCli, type CliResult } from './index.js';

export const DAY = 86_400;

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export interface SignAtOptions {
  /** Creation time, Unix seconds (default: now). */
  readonly now?: number;
  readonly expires?: number;
  readonly name?: string;
  readonly version?: string;
  /** Signature file (default MODEL.sig). */
  readonly output?: string;
}

/** Signs `model` (relative to `dir`) with the unencrypted key file(s), as `sign` would. */
export async function signAt(dir: string, model: string, secretKeyFiles: string | readonly string[], options: SignAtOptions = {}): Promise<Manifest> {
  const files = typeof secretKeyFiles === 'string' ? [secretKeyFiles] : secretKeyFiles;
  const keys = await Promise.all(files.map((f) => parseSecretKeyPem(readFileSync(resolve(dir, f), 'utf8'), () => Promise.reject(new Error('no passphrase')), f)));
  const signaturePath = join(dir, options.output ?? `${model}.sig`);
  const { manifest, signatureFile } = await signModel(join(dir, model), {
    signers: keys.map((key, i) => secretKeySigner(key, files[i])),
    signaturePath,
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.expires === undefined ? {} : { expires: options.expires }),
    ...(options.name === undefined ? {} : { name: options.name }),
    ...(options.version === undefined ? {} : { version: options.version }),
  });
  writeFileAtomic(signaturePath, signatureFile, { overwrite: true });
  return manifest;
}

export { cliOk } from './index.js';

export interface VerifyOutcome {
  readonly code: number;
  readonly codes: string[];
  readonly report: VerifyJson;
  readonly result: CliResult;
}

export interface VerifyJson {
  ok: boolean;
  subject: { name: string | null; version: string | null };
  signers: { keyId: string; publisher: string | null; valid: boolean; error?: { code: string } }[];
  policy: { source: string; origin: string; rule: { models: string[]; threshold: number; maxAge: string | null; requireExpiry: boolean } | null };
  rollback?: { recorded: boolean };
  errors: { code: string; message: string; path?: string; field?: string }[];
}

/** `ms-sign verify ARGS --json` in `dir`: exit code, error codes and the report. */
export async function verifyJson(dir: string, args: readonly string[], env?: Record<string, string | undefined>): Promise<VerifyOutcome> {
  const result = await runCli(['verify', ...args, '--json'], { cwd: dir, ...(env ? { env } : {}) });
  return { code: result.code, codes: errorCodes(result), report: result.json<VerifyJson>(), result };
}
