import { toHex } from '../bytes.js';
import type { Signer } from '../crypto/signer.js';
import { MsSignError, type Problem } from '../errors.js';
import { decodeEnvelope } from '../format/envelope.js';
import { decodeManifest, readManifestListing, type ManifestListing } from '../format/manifest.js';
import { appendSignature } from '../format/signature-file.js';
import type { TrustPolicy } from '../policy/policy.js';
import type { FormatVerifyOptions, SignatureDescription, SignatureFormat, SignatureVerification } from './format.js';
import { applyPolicy } from './policy-check.js';
import { rejectedSigners } from './signer-report.js';
import { checkSignatures } from './signatures.js';

const ID = 'ms-sign-cbor';

/**
 * The native format: a canonical CBOR map (the envelope) holding the encoded manifest and Ed25519
 * signatures over it (docs/signature-format.md).
 */
export const NATIVE_FORMAT: SignatureFormat = {
  id: ID,

  // Every native file starts with a CBOR map header (major type 5): 0xa0..0xbb.
  detect: (bytes) => bytes.length > 0 && bytes[0]! >= 0xa0 && bytes[0]! <= 0xbb,

  verify(bytes: Uint8Array, trust: TrustPolicy, now: number, options: FormatVerifyOptions = {}): SignatureVerification {
    try {
      const envelope = decodeEnvelope(bytes, options.source);
      const checks = checkSignatures(envelope, trust, options.sha512);
      if (!checks.some((c) => c.status === 'verified')) {
        // Nothing vouches for the payload: do not decode it, let alone act on it.
        const rejected = rejectedSigners(checks);
        return { format: ID, signers: rejected.signers, rule: null, problems: rejected.problems };
      }
      const manifest = decodeManifest(envelope.payload, options.source);
      const outcome = applyPolicy(manifest, checks, trust, now);
      return { format: ID, statement: manifest, expected: { kind: 'manifest', manifest }, signers: outcome.signers, rule: outcome.rule, problems: outcome.problems };
    } catch (error) {
      if (!(error instanceof MsSignError) || error.code === 'INTERNAL' || error.code === 'IO_ERROR') throw error;
      const problems: Problem[] = [error.toProblem()];
      return { format: ID, signers: [], rule: null, problems };
    }
  },

  describe(bytes: Uint8Array, source?: string): SignatureDescription {
    const envelope = decodeEnvelope(bytes, source);
    const manifest = decodeManifest(envelope.payload, source);
    return {
      format: ID,
      payloadType: envelope.payloadType,
      statement: manifest,
      expected: { kind: 'manifest', manifest },
      signers: envelope.signatures.map((s) => ({ keyId: toHex(s.keyId) })),
    };
  },

  append(bytes: Uint8Array, signer: Signer, source?: string): Promise<Uint8Array> {
    return appendSignature(decodeEnvelope(bytes, source), signer);
  },
};

/** A native signature file as `inspect` lists it: unverified, its file list read on demand. */
export interface NativeListing {
  readonly format: typeof ID;
  readonly payloadType: string;
  readonly listing: ManifestListing;
  /** The key ids the file claims signed it: a claim, never checked here. */
  readonly signers: { readonly keyId: string }[];
}

/**
 * NATIVE_FORMAT.describe in memory bounded by one file entry (readManifestListing): what an
 * unverified signature file of a million entries claims can be listed without a million objects.
 */
export function describeNativeListing(bytes: Uint8Array, source?: string): NativeListing {
  const envelope = decodeEnvelope(bytes, source);
  return {
    format: ID,
    payloadType: envelope.payloadType,
    listing: readManifestListing(envelope.payload, source),
    signers: envelope.signatures.map((s) => ({ keyId: toHex(s.keyId) })),
  };
}
