/**
 * The one error module of ms-sign. Every failure has a stable SCREAMING_SNAKE code (docs/errors.md);
 * the CLI maps codes to exit codes in exactly one place (packages/cli/src/exit-codes.ts), and
 * docs/errors.md documents each code. Tests assert codes, never messages.
 */

import { SCAN_ERROR_CODES, SCAN_POLICY_CODES } from './scan/codes.js';

/**
 * The model is NOT verified (exit code 1): its bytes, signature or signers fail a check, or the
 * scan finds it unsafe or malformed. The scan's error codes come from its catalogue
 * (scan/codes.ts), so a new scan code is an ErrorCode without a second list to keep in step.
 */
export const VERIFICATION_FAILURE_CODES = [
  'DIGEST_MISMATCH',
  'SIZE_MISMATCH',
  'MISSING_FILE',
  'UNSIGNED_FILE',
  'UNSAFE_FILE_TYPE',
  'UNSAFE_PATH',
  'FILE_CHANGED',
  'MODEL_NOT_FOUND',
  'MODEL_KIND_MISMATCH',
  'NAME_MISMATCH',
  'MISSING_SIGNATURE_FILE',
  'MALFORMED_SIGNATURE_FILE',
  'UNSUPPORTED_FORMAT',
  'BAD_SIGNATURE',
  'UNTRUSTED_SIGNER',
  'REVOKED_KEY',
  'KEY_NOT_VALID',
  'OUT_OF_SCOPE',
  'THRESHOLD_NOT_MET',
  'EXPIRED',
  'NOT_YET_VALID',
  'TOO_OLD',
  'EXPIRY_REQUIRED',
  'ROLLBACK',
  'LIMIT_EXCEEDED',
  'CERTIFICATE_REJECTED',
  'TRANSPARENCY_LOG_REJECTED',
  ...SCAN_POLICY_CODES,
  ...SCAN_ERROR_CODES,
] as const;

/** The operator's setup is wrong (exit code 2): usage, keys, trust policy, files, internal faults. */
export const SETUP_ERROR_CODES = [
  'USAGE',
  'BAD_KEY',
  'KEY_UNREADABLE',
  'INSECURE_KEY_FILE',
  'WRONG_PASSPHRASE',
  'PASSPHRASE_REQUIRED',
  'NO_TRUST_ANCHOR',
  'BAD_TRUST_POLICY',
  'BAD_STATE_FILE',
  'FILE_EXISTS',
  'ALREADY_SIGNED',
  'PKCS11_UNAVAILABLE',
  'PKCS11_NOT_FOUND',
  'PKCS11_LOGIN_FAILED',
  'PKCS11_UNSUPPORTED_KEY',
  'PKCS11_OBJECT_EXISTS',
  'PKCS11_ERROR',
  'SIGNER_COMMAND_FAILED',
  'SIGNER_FAILED',
  'IO_ERROR',
  'INSECURE_POLICY_FILE',
  'IGNORE_MISMATCH',
  'WOULD_DROP_SIGNATURES',
  'OUTPUT_IS_INPUT',
  'INTERNAL',
] as const;

/** `exec` only: CMD could not be started (exit codes 127 and 126, as `env` and `timeout` use). */
export const EXEC_ERROR_CODES = ['COMMAND_NOT_FOUND', 'COMMAND_NOT_EXECUTABLE'] as const;

/** A code meaning the model is not verified (exit 1). */
export type VerificationFailureCode = (typeof VERIFICATION_FAILURE_CODES)[number];
/** A code meaning the operator's setup is wrong (exit 2). */
export type SetupErrorCode = (typeof SETUP_ERROR_CODES)[number];
/** A code of `exec` only: CMD could not start. */
export type ExecErrorCode = (typeof EXEC_ERROR_CODES)[number];
/** Every error code ms-sign reports. */
export type ErrorCode = VerificationFailureCode | SetupErrorCode | ExecErrorCode;

/** Every error code, verification failures first (docs/errors.md lists each). */
export const ERROR_CODES: readonly ErrorCode[] = [
  ...VERIFICATION_FAILURE_CODES,
  ...SETUP_ERROR_CODES,
  ...EXEC_ERROR_CODES,
];

/** One failure found, as reported in `--json` output (`errors[]`). */
export interface Problem {
  readonly code: ErrorCode;
  readonly message: string;
  /** The file at fault: a model-relative path, or a path on disk for key, policy and state files. */
  readonly path?: string;
  /** Inside that file, the field at fault as a JSON pointer (trust policies: "/rules/0/threshold"). */
  readonly field?: string;
}

/** Where an MsSignError happened, and what caused it. */
export interface MsSignErrorOptions {
  readonly path?: string | undefined;
  readonly field?: string | undefined;
  readonly cause?: unknown;
}

/** The only error class ms-sign throws on purpose. Anything else escaping is a bug (INTERNAL). */
export class MsSignError extends Error {
  override readonly name = 'MsSignError';
  readonly code: ErrorCode;
  readonly path: string | undefined;
  readonly field: string | undefined;

  constructor(code: ErrorCode, message: string, options: MsSignErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.path = options.path;
    this.field = options.field;
  }

  toProblem(): Problem {
    const p = problem(this.code, this.message, this.path);
    return this.field === undefined ? p : { ...p, field: this.field };
  }
}

/** A Problem; `path` only when given. */
export function problem(code: ErrorCode, message: string, path?: string): Problem {
  return path === undefined ? { code, message } : { code, message, path };
}

/** Wraps anything thrown into a Problem; errors that are not MsSignError become INTERNAL. */
export function toProblem(error: unknown): Problem {
  if (error instanceof MsSignError) return error.toProblem();
  const message = error instanceof Error ? error.message : String(error);
  return problem('INTERNAL', `internal error: ${message}`);
}

/**
 * Appends `items` one by one: `target.push(...items)` passes every item as an argument and
 * overflows the stack for a few hundred thousand (130,000 unsigned files beside a model).
 */
export function appendProblems(target: Problem[], items: readonly Problem[]): void {
  for (const item of items) target.push(item);
}

/** How many problems a report lists one by one; the rest are counted. */
export const MAX_LISTED_PROBLEMS = 1000;

/**
 * Keeps the first MAX_LISTED_PROBLEMS problems and counts the rest: one more entry per code left
 * out, "N more ...", so that the codes (and the exit code) stay complete while the report stays
 * readable and small whatever an attacker puts beside a model.
 */
export function limitListedProblems(problems: Problem[]): void {
  if (problems.length <= MAX_LISTED_PROBLEMS) return;
  const listed = listedProblems();
  for (const item of problems) listed.add(item);
  problems.length = 0;
  appendProblems(problems, listed.done());
}

/**
 * limitListedProblems for problems that arrive one at a time (a million manifest entries): it
 * never holds more than MAX_LISTED_PROBLEMS of them, only a count per code of the rest.
 */
export function listedProblems(): { add(item: Problem): void; done(): Problem[] } {
  const listed: Problem[] = [];
  const omitted = new Map<ErrorCode, number>();
  return {
    add(item) {
      if (listed.length < MAX_LISTED_PROBLEMS) listed.push(item);
      else omitted.set(item.code, (omitted.get(item.code) ?? 0) + 1);
    },
    done() {
      const out = [...listed];
      for (const [code, count] of omitted) out.push(problem(code, `and ${count} more ${code} problem${count === 1 ? '' : 's'}, not listed one by one`));
      return out;
    },
  };
}
