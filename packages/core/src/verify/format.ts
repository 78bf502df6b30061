import type { Ed25519Equation, Sha512 } from '../crypto/ed25519.js';
import type { Signer } from '../crypto/signer.js';
import type { Problem } from '../errors.js';
import type { TrustPolicy } from '../policy/policy.js';
import type { AppliedRule } from './policy-check.js';
import type { SignerReport } from './signer-report.js';
import type { ExpectedContents, SignedStatement } from './statement.js';

/**
 * A Sigstore trusted root as `parseSigstoreTrustedRoot` (@ms-sign/core/node) reads it. Opaque to
 * the pure core: only the format that checks Sigstore bundles looks inside.
 */
export interface SigstoreTrustedRoot {
  /** Where the trusted root came from, for messages. */
  readonly source: string;
  readonly material: unknown;
}

/** Options of a format's signature verification. */
export interface FormatVerifyOptions {
  /** Where the bytes came from (a path), for messages and `Problem.path`. */
  readonly source?: string;
  /**
   * The SHA-512 signature checks use; default pure JavaScript. `@ms-sign/core/node` passes
   * node:crypto's (`nodeSha512`), which is much faster on a large signed payload.
   */
  readonly sha512?: Sha512;
  /**
   * The Ed25519 equation checked after ms-sign's own strictness checks; default @noble/ed25519's
   * (`nobleEquation`). `@ms-sign/core/node` passes OpenSSL's (`nodeEd25519Equation`): the same
   * verdict, without ~37 ms of table building per run.
   */
  readonly ed25519Equation?: Ed25519Equation;
  /**
   * The Sigstore trusted root (Rekor, Fulcio, CT log and timestamp authority keys) that Sigstore
   * keyless signatures are checked against; without it no keyless signature verifies.
   */
  readonly sigstoreTrustedRoot?: SigstoreTrustedRoot;
}

/**
 * The outcome of checking a signature file against the trust policy: the pure stage of
 * verification, before the model's files are compared. `statement` and `expected` are set only
 * when at least one signature verified under a trusted key (a payload nothing vouches for is never
 * decoded); `problems` may be non-empty even then (threshold, expiry, a revoked co-signer...).
 */
export interface SignatureVerification {
  /** The format's `id`. */
  readonly format: string;
  /** What the signed payload claims (name, version, dates, annotations). */
  readonly statement?: SignedStatement;
  /** What the model must contain, for the content comparison that follows. */
  readonly expected?: ExpectedContents;
  /** One entry per signature in the file, in file order. */
  readonly signers: readonly SignerReport[];
  /** The policy rule applied; null when the payload was not decoded. */
  readonly rule: AppliedRule | null;
  readonly problems: readonly Problem[];
}

/** What a signature file claims, decoded but NOT verified (for `inspect`). */
export interface SignatureDescription {
  /** The format's `id`. */
  readonly format: string;
  /** The payload's media type. */
  readonly payloadType: string;
  readonly statement: SignedStatement;
  readonly expected: ExpectedContents;
  /** Who the file says signed it: claims only, nothing here was checked. */
  readonly signers: readonly Pick<SignerReport, 'keyId' | 'certificate' | 'sigstore'>[];
}

/**
 * A signature file format. ms-sign's native CBOR envelope is one (`NATIVE_FORMAT`); a second
 * format (e.g. OMS / Sigstore JSON bundles) implements this interface and is added to
 * `SIGNATURE_FORMATS`; `verify`, `inspect` and `sign --append` then handle it without change.
 *
 * Every method takes the raw bytes of a signature file the caller has read within
 * LIMITS.signatureFileBytes, and treats them as hostile: bounded work, no recursion on
 * attacker-controlled depth, and failures as MsSignError with a verification code (for
 * `describe` / `append`) or as `problems` (for `verify`).
 */
export interface SignatureFormat {
  /** Stable short name, e.g. "ms-sign-cbor". */
  readonly id: string;
  /**
   * Cheap test from the first bytes: could these be this format? Never throws. A true answer only
   * picks the decoder; the decoder still refuses malformed input.
   */
  detect(bytes: Uint8Array): boolean;
  /**
   * Checks the signatures against `trust` over the raw signed bytes FIRST, decodes the payload only
   * if one verifies under a trusted key, then applies the policy at `now` (Unix seconds). Pure:
   * no I/O, no clock. Never throws for a bad or hostile file (that is a problem in the result);
   * throws only for internal faults.
   */
  verify(bytes: Uint8Array, trust: TrustPolicy, now: number, options?: FormatVerifyOptions): SignatureVerification;
  /** Decodes without verifying, as strictly as `verify` decodes. Throws MsSignError. */
  describe(bytes: Uint8Array, source?: string): SignatureDescription;
  /**
   * Co-signing: returns the signature file with `signer`'s signature added over the same signed
   * payload (which the caller has compared with the model). Checks the new signature with the
   * signer's public key first (SIGNER_FAILED). Absent when the format cannot be co-signed.
   */
  append?(bytes: Uint8Array, signer: Signer, source?: string): Promise<Uint8Array>;
}
