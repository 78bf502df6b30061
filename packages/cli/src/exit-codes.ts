import { SCAN_ERROR_CODES, SCAN_POLICY_CODES, type ErrorCode, type ScanErrorCode, type ScanPolicyCode } from '@ms-sign/core';

/** Every scan error code and the scan aggregates mean "not verified": exit 1. */
const SCAN_EXIT_CODES = Object.fromEntries([...SCAN_POLICY_CODES, ...SCAN_ERROR_CODES].map((code) => [code, 1])) as Record<ScanPolicyCode | ScanErrorCode, 1>;

/**
 * The one place where error codes become exit codes (SPEC section 2): 1 means the model is not
 * verified, 2 that the operator's setup is wrong. `exec` adds 126 and 127 for a CMD that cannot
 * start, as env(1) and timeout(1) do. The Record type makes a new code without an exit code a
 * compile error.
 */
export const EXIT_CODES: Readonly<Record<ErrorCode, 1 | 2 | 126 | 127>> = {
  ...SCAN_EXIT_CODES,
  DIGEST_MISMATCH: 1,
  SIZE_MISMATCH: 1,
  MISSING_FILE: 1,
  UNSIGNED_FILE: 1,
  UNSAFE_FILE_TYPE: 1,
  UNSAFE_PATH: 1,
  FILE_CHANGED: 1,
  MODEL_NOT_FOUND: 1,
  MODEL_KIND_MISMATCH: 1,
  NAME_MISMATCH: 1,
  MISSING_SIGNATURE_FILE: 1,
  MALFORMED_SIGNATURE_FILE: 1,
  UNSUPPORTED_FORMAT: 1,
  BAD_SIGNATURE: 1,
  UNTRUSTED_SIGNER: 1,
  REVOKED_KEY: 1,
  KEY_NOT_VALID: 1,
  OUT_OF_SCOPE: 1,
  THRESHOLD_NOT_MET: 1,
  EXPIRED: 1,
  NOT_YET_VALID: 1,
  TOO_OLD: 1,
  EXPIRY_REQUIRED: 1,
  ROLLBACK: 1,
  LIMIT_EXCEEDED: 1,
  USAGE: 2,
  BAD_KEY: 2,
  KEY_UNREADABLE: 2,
  INSECURE_KEY_FILE: 2,
  WRONG_PASSPHRASE: 2,
  PASSPHRASE_REQUIRED: 2,
  NO_TRUST_ANCHOR: 2,
  BAD_TRUST_POLICY: 2,
  BAD_STATE_FILE: 2,
  FILE_EXISTS: 2,
  ALREADY_SIGNED: 2,
  PKCS11_UNAVAILABLE: 2,
  PKCS11_NOT_FOUND: 2,
  PKCS11_LOGIN_FAILED: 2,
  PKCS11_UNSUPPORTED_KEY: 2,
  PKCS11_OBJECT_EXISTS: 2,
  PKCS11_ERROR: 2,
  SIGNER_COMMAND_FAILED: 2,
  SIGNER_FAILED: 2,
  IO_ERROR: 2,
  INTERNAL: 2,
  COMMAND_NOT_FOUND: 127,
  COMMAND_NOT_EXECUTABLE: 126,
};

/** Exit code for a list of problems: the most severe wins (setup errors over verification failures). */
export function exitCodeFor(problems: readonly { readonly code: ErrorCode }[]): number {
  if (problems.length === 0) return 0;
  const codes = problems.map((p) => EXIT_CODES[p.code]);
  if (codes.includes(2)) return 2;
  return Math.max(...codes);
}
