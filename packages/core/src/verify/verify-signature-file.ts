import { problem, type Problem } from '../errors.js';
import type { TrustPolicy } from '../policy/policy.js';
import type { FormatVerifyOptions, SignatureFormat, SignatureVerification } from './format.js';
import { NATIVE_FORMAT } from './native-format.js';

/**
 * The signature formats ms-sign reads, tried in order by `detect`. The first entry also decodes
 * files no format recognises, so that they fail with its precise "malformed" problem. To add a
 * format, implement SignatureFormat and append it here.
 */
export const SIGNATURE_FORMATS: readonly SignatureFormat[] = [NATIVE_FORMAT];

/** The format whose `detect` accepts `bytes`; the native format when none does. */
export function signatureFormatOf(bytes: Uint8Array, formats: readonly SignatureFormat[] = SIGNATURE_FORMATS): SignatureFormat {
  return formats.find((f) => f.detect(bytes)) ?? formats[0] ?? NATIVE_FORMAT;
}

/** Options of verifySignatureFile. */
export interface VerifySignatureFileOptions extends FormatVerifyOptions {
  /** Refuse a validly signed model published under another name (NAME_MISMATCH). */
  readonly expectedName?: string;
  /** The formats to accept; default SIGNATURE_FORMATS. */
  readonly formats?: readonly SignatureFormat[];
}

/**
 * The pure stage of verification: which format the bytes are in, whether their signatures verify
 * under `trust`, what the signed payload claims, and whether the policy accepts it at `now` (Unix
 * seconds). No I/O, no clock. Never throws for a bad or hostile signature file (see `problems`).
 * The content comparison (node/) follows when `expected` is set.
 */
export function verifySignatureFile(bytes: Uint8Array, trust: TrustPolicy, now: number, options: VerifySignatureFileOptions = {}): SignatureVerification {
  const format = signatureFormatOf(bytes, options.formats);
  const result = format.verify(bytes, trust, now, options);
  if (options.expectedName === undefined || result.statement === undefined || result.statement.subject.name === options.expectedName) return result;
  const mismatch: Problem = problem('NAME_MISMATCH', `the signature is for model "${result.statement.subject.name}", not "${options.expectedName}"`);
  return { ...result, problems: [...result.problems, mismatch] };
}
