import * as ed from '@noble/ed25519';
import { createHash } from 'node:crypto';
import { toHex } from '../bytes.js';

// @noble/ed25519's synchronous API needs a SHA-512. node:crypto's runs at native speed: the signed
// message holds the whole manifest (1.4 MB for 20,000 files), where @noble/hashes' pure-JS SHA-512
// cost ~40 ms per verification (docs/performance.md).
ed.hashes.sha512 = (message: Uint8Array) => new Uint8Array(createHash('sha512').update(message).digest());

export const PUBLIC_KEY_BYTES = 32;
export const SEED_BYTES = 32;

/**
 * Returns why 32 bytes are not an acceptable Ed25519 public key, or undefined.
 *
 * Policy (docs/signature-format.md): the encoding must be canonical (RFC 8032 5.1.3: y < p, and no "negative
 * zero" x), and the point must not have small order. A small-order key, above all the identity
 * (01 00 .. 00), lets forged signatures verify: with the identity key, [k]A vanishes, so any
 * R = [r]B with S = r verifies ANY message.
 */
export function checkPublicKeyBytes(bytes: Uint8Array): string | undefined {
  if (bytes.length !== PUBLIC_KEY_BYTES) return `expected ${PUBLIC_KEY_BYTES} bytes, got ${bytes.length}`;
  let point: ed.Point;
  try {
    point = ed.Point.fromBytes(bytes, false); // false: strict RFC 8032 decoding, not ZIP-215
  } catch {
    return 'not a canonical encoding of a curve point';
  }
  if (point.isSmallOrder()) return 'a small-order point (such a key would accept forged signatures)';
  return undefined;
}

/**
 * Strict RFC 8032 verification: `zip215: false`. The library default (ZIP-215) accepts
 * non-canonical encodings and, with the identity key, any message. Returns false for a bad
 * signature; never throws for well-typed input.
 */
export function verifyEd25519(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (checkPublicKeyBytes(publicKey) !== undefined) return false;
  try {
    return ed.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

export function signEd25519(message: Uint8Array, seed: Uint8Array): Uint8Array {
  return ed.sign(message, seed);
}

export function publicKeyFromSeed(seed: Uint8Array): Uint8Array {
  return ed.getPublicKey(seed);
}

export function randomSeed(): Uint8Array {
  return ed.utils.randomSecretKey();
}

/** Key id (the README): the first 16 bytes of SHA-256 of the raw 32-byte public key. */
export function keyIdBytes(publicKey: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(publicKey).digest().subarray(0, 16));
}

/** Key id in hex (32 characters), as keygen, inspect and verify print it. */
export function keyIdHex(publicKey: Uint8Array): string {
  return toHex(keyIdBytes(publicKey));
}
