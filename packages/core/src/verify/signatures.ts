import { toHex } from '../bytes.js';
import { pureSha512, verifyEd25519, type Sha512 } from '../crypto/ed25519.js';
import type { Envelope } from '../format/envelope.js';
import { signingMessage } from '../format/pae.js';
import type { Publisher, TrustedKey, TrustPolicy } from '../policy/policy.js';

/** The outcome of checking one signature of a signature file against the policy's keys. */
export type SignatureCheck =
  | { readonly keyId: string; readonly status: 'revoked' | 'untrusted' | 'bad-signature' }
  | { readonly keyId: string; readonly status: 'verified'; readonly publisher: Publisher; readonly key: TrustedKey };

/**
 * Checks each signature over the raw payload bytes, before anything decodes them (SPEC section 3).
 * The key id in the file only picks which policy key to try; trust comes from the policy alone,
 * so a signature claiming a trusted key's id but made with another key is a bad signature.
 * `hash` is the SHA-512 Ed25519 verification uses (pure by default).
 */
export function checkSignatures(envelope: Envelope, policy: TrustPolicy, hash: Sha512 = pureSha512): SignatureCheck[] {
  const message = signingMessage(envelope.payloadType, envelope.payload);
  return envelope.signatures.map((entry): SignatureCheck => {
    const keyId = toHex(entry.keyId);
    // A revoked key's signatures never count, whether or not its publisher is still listed.
    if (policy.revoked.has(keyId)) return { keyId, status: 'revoked' };
    for (const publisher of policy.publishers) {
      for (const key of publisher.keys) {
        if (key.publicKey.keyId !== keyId) continue;
        return verifyEd25519(entry.signature, message, key.publicKey.bytes, hash)
          ? { keyId, status: 'verified', publisher, key }
          : { keyId, status: 'bad-signature' };
      }
    }
    return { keyId, status: 'untrusted' };
  });
}
