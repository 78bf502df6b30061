import { bytesEqual, toHex } from '../bytes.js';
import { pureSha512, verifyEd25519, type Sha512 } from '../crypto/ed25519.js';
import type { Envelope } from '../format/envelope.js';
import { signingMessage } from '../format/pae.js';
import type { Publisher, TrustPolicy, ValidityWindow } from '../policy/policy.js';

/** The outcome of checking one signature of a signature file against the policy's keys. */
export type SignatureCheck =
  | { readonly keyId: string; readonly status: 'untrusted' | 'bad-signature' }
  | { readonly keyId: string; readonly status: 'revoked'; readonly revocation?: Revocation }
  /** `key`: the window of the anchor that verified (a key, certificate root or Sigstore identity). */
  | { readonly keyId: string; readonly status: 'verified'; readonly publisher: Publisher; readonly key: ValidityWindow };

/**
 * Checks each signature over the raw payload bytes, before anything decodes them (docs/signature-format.md).
 * The key id in the file only picks which policy key to try; trust comes from the policy alone,
 * so a signature claiming a trusted key's id but made with another key is a bad signature.
 * `hash` is the SHA-512 Ed25519 verification uses (pure by default).
 */
export function checkSignatures(envelope: Envelope, policy: TrustPolicy, hash: Sha512 = pureSha512): SignatureCheck[] {
  // Built once, and only when a policy key is named: each verification hashes all of it (the
  // whole manifest, possibly many MB), and a file naming no trusted key never needs a copy of it.
  let built: Uint8Array | undefined;
  const message = () => (built ??= signingMessage(envelope.payloadType, envelope.payload));
  // At most one Ed25519 verification per key id, so that many copies of a bogus signature naming
  // a trusted key cost one hash of the payload, not one each. Ed25519 signing is deterministic: a
  // key has one signature over a payload, so a copy with other bytes is not the key holder's.
  const checked = new Map<string, { readonly signature: Uint8Array; readonly check: SignatureCheck }>();
  return envelope.signatures.map((entry): SignatureCheck => {
    const keyId = toHex(entry.keyId);
    // A revoked key's signatures never count, whether or not its publisher is still listed.
    if (policy.revoked.has(keyId)) return { keyId, status: 'revoked', revocation: revocationOf(keyId, policy) };
    const earlier = checked.get(keyId);
    if (earlier !== undefined) return bytesEqual(earlier.signature, entry.signature) ? earlier.check : { keyId, status: 'bad-signature' };
    const check = checkOne(keyId, entry.signature, message, policy, hash);
    checked.set(keyId, { signature: entry.signature, check });
    return check;
  });
}

function checkOne(keyId: string, signature: Uint8Array, message: () => Uint8Array, policy: TrustPolicy, hash: Sha512): SignatureCheck {
  for (const publisher of policy.publishers) {
    for (const key of publisher.keys) {
      if (key.publicKey.keyId !== keyId) continue;
      return verifyEd25519(signature, message(), key.publicKey.bytes, hash) ? { keyId, status: 'verified', publisher, key } : { keyId, status: 'bad-signature' };
    }
  }
  return { keyId, status: 'untrusted' };
}

/** What the policy says about a revoked key, for a message that names whose key it is and why. */
export interface Revocation {
  /** The publisher the policy lists the key under, if it still does. */
  readonly publisher: string | null;
  readonly reason?: string;
  readonly revokedAt?: string;
}

function revocationOf(keyId: string, policy: TrustPolicy): Revocation {
  const publisher = policy.publishers.find((p) => p.keys.some((k) => k.publicKey.keyId === keyId))?.name ?? null;
  return { publisher, ...policy.revocations?.get(keyId) };
}

/** `signed by key K of publisher "P", revoked on DATE: REASON` */
export function revokedMessage(keyId: string, revocation: Revocation | undefined): string {
  const whose = revocation === undefined ? '' : revocation.publisher === null ? ' (listed under no publisher)' : ` of publisher "${revocation.publisher}"`;
  const when = revocation?.revokedAt === undefined ? '' : ` on ${revocation.revokedAt}`;
  const why = revocation?.reason === undefined ? '' : `: ${revocation.reason}`;
  return `signed by key ${keyId}${whose}, revoked${when}${why}`;
}
