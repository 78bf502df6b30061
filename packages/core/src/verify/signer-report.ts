import { problem, type ErrorCode, type Problem } from '../errors.js';
import { formatDate } from '../policy/time.js';
import type { SignatureCheck } from './signatures.js';
import type { SignedStatement } from './statement.js';

/** A signer identified by an X.509 certificate (formats that carry certificate chains). */
export interface CertificateIdentity {
  readonly subject: string;
  readonly issuer: string;
}

/** A signer identified by a Sigstore (Fulcio) keyless identity. */
export interface SigstoreIdentity {
  /** The certificate's subject alternative name: an email address or a workload URI. */
  readonly identity: string;
  /** The OIDC issuer that vouched for it. */
  readonly issuer: string;
}

/**
 * One signer as verify reports it (`signers[]` in --json). A signer is identified by a key id,
 * a certificate, or a Sigstore identity: at least one of `keyId`, `certificate` and `sigstore` is
 * set. Native signature files always give `keyId` and neither of the others (so the --json shape of
 * native verification is unchanged); other formats set what they know.
 */
export interface SignerReport {
  /** Hex key id; null when the format identifies the signer otherwise. */
  readonly keyId: string | null;
  readonly certificate?: CertificateIdentity;
  readonly sigstore?: SigstoreIdentity;
  /** The policy publisher this signer belongs to, if any. */
  readonly publisher: string | null;
  /** True when this signature counts toward the threshold. */
  readonly valid: boolean;
  /** Why it does not count. */
  readonly error?: { readonly code: ErrorCode; readonly message: string };
}

/** The verdict on one signer: its report, and the problem it raises (if any). */
export interface SignerVerdict {
  readonly report: SignerReport;
  /** Set when the signer does not count. */
  readonly problem?: Problem;
  /**
   * True when the problem fails verification even if enough other signers count (a revoked key
   * signing is a red flag, not just a signature that does not count).
   */
  readonly fatal: boolean;
}

/**
 * The one place where a checked signature becomes a signer verdict. With `statement` (the payload
 * was decoded because some signature verified), a verified signature must also fall inside its
 * key's validity window and its publisher's model scope; without it, only the signature check
 * counts.
 */
export function signerReport(check: SignatureCheck, statement?: SignedStatement): SignerVerdict {
  const fail = (code: ErrorCode, message: string, publisher: string | null = null, fatal = false): SignerVerdict => ({
    report: { keyId: check.keyId, publisher, valid: false, error: { code, message } },
    problem: problem(code, message),
    fatal,
  });
  switch (check.status) {
    case 'revoked':
      return fail('REVOKED_KEY', `signed by revoked key ${check.keyId}`, null, true);
    case 'untrusted':
      return fail('UNTRUSTED_SIGNER', `key ${check.keyId} is not a trusted publisher's key`);
    case 'bad-signature':
      return fail('BAD_SIGNATURE', `signature by key ${check.keyId} does not verify: the signature file was altered`);
    case 'verified': {
      const { publisher, key } = check;
      if (statement !== undefined) {
        if ((key.notBefore !== undefined && statement.created < key.notBefore) || (key.notAfter !== undefined && statement.created > key.notAfter)) {
          const window = `${key.notBefore === undefined ? '' : `from ${formatDate(key.notBefore)} `}${key.notAfter === undefined ? '' : `until ${formatDate(key.notAfter)}`}`.trim();
          return fail('KEY_NOT_VALID', `key ${check.keyId} of ${publisher.name} signed at ${formatDate(statement.created)}, outside its validity window (${window})`, publisher.name);
        }
        const name = statement.subject.name;
        if (!publisher.models.some((g) => g.matches(name))) {
          return fail('OUT_OF_SCOPE', `publisher ${publisher.name} may not sign model "${name}" (allowed: ${publisher.models.map((g) => g.pattern).join(', ')})`, publisher.name);
        }
      }
      return { report: { keyId: check.keyId, publisher: publisher.name, valid: true }, fatal: false };
    }
  }
}

/** Signer reports when no signature verified under a policy key (the payload stays undecoded). */
export function rejectedSigners(checks: readonly SignatureCheck[]): { signers: SignerReport[]; problems: Problem[] } {
  const verdicts = checks.map((check) => signerReport(check));
  return { signers: verdicts.map((v) => v.report), problems: verdicts.flatMap((v) => (v.problem ? [v.problem] : [])) };
}
