import { pureSha512, signEd25519, type Sha512 } from './ed25519.js';
import type { SecretKey } from './keys.js';

/**
 * The signing seam: everything that can produce a signature (a key file, a PKCS#11 token, an
 * external command talking to a KMS) is a Signer. Signing code takes signers, never raw seeds, and
 * checks every signature a signer returns against its public key before anything is written: a
 * broken or hostile signer must never produce a signature file.
 */

/** Signature algorithms ms-sign can produce. Native signature files use Ed25519 only. */
export type SignatureAlgorithm = 'ed25519' | 'ecdsa-p256-sha256' | 'ecdsa-p384-sha384' | 'ecdsa-p521-sha512';

/** Anything that can sign: see the module comment. Implementations must not hold secrets in `description`. */
export interface Signer {
  readonly algorithm: SignatureAlgorithm;
  /** Hex key id, as keygen, inspect and verify print it (for Ed25519: SPEC section 2). */
  readonly keyId: string;
  /** Ed25519: the raw 32-byte key. ECDSA: the DER SubjectPublicKeyInfo. */
  readonly publicKey: Uint8Array;
  /**
   * Signs `message` (the exact bytes: no pre-hashing by the caller). Ed25519 returns 64 bytes,
   * ECDSA a DER signature over the algorithm's hash of `message`.
   */
  sign(message: Uint8Array): Promise<Uint8Array>;
  /** Human-readable origin for messages (a file path, a PKCS#11 URI without secrets, "signer command"). */
  readonly description: string;
}

/**
 * The file-key signer: an Ed25519 secret key held in memory (read from `-k FILE` or MS_SIGN_KEY).
 * `description` names where the key came from, for messages; it must not hold secrets. `hash` is
 * the SHA-512 Ed25519 signing uses (pure by default; `nodeSha512` from `@ms-sign/core/node` is faster).
 */
export function secretKeySigner(key: SecretKey, description = 'secret key', hash: Sha512 = pureSha512): Signer {
  const seed = new Uint8Array(key.seed);
  return {
    algorithm: 'ed25519',
    keyId: key.publicKey.keyId,
    publicKey: new Uint8Array(key.publicKey.bytes),
    description,
    sign: (message) => Promise.resolve(signEd25519(message, seed, hash)),
  };
}
