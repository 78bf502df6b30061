import * as ed from '@noble/ed25519';
import { createHash, createPublicKey, verify as cryptoVerify } from 'node:crypto';
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
 * Policy (SPEC section 3): the encoding must be canonical (RFC 8032 5.1.3: y < p, and no "negative
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

/** The order of the prime-order subgroup (RFC 8032: L). */
const GROUP_ORDER = 2n ** 252n + 27742317777372353535851937790883648493n;

function littleEndianNumber(bytes: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(bytes).reverse().toString('hex') || '0'}`);
}

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): the 32 key bytes follow. */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * Strict verification with the portable rules (docs/signature-format.md section 6): A canonical
 * and not of small order, R canonical and not of small order (libsodium refuses it), S < L, and
 * the cofactorless equation [S]B = R + [k]A. Returns false for a bad signature; never throws for
 * well-typed input.
 *
 * The checks on A, R and S run here, on @noble/ed25519's point decoding with `zip215: false`
 * (strict RFC 8032 decoding) and [8]P; the equation is OpenSSL's (node:crypto), which checks
 * exactly the cofactorless one, by re-encoding [S]B - [k]A and comparing it byte for byte with R.
 * With R canonical that comparison is point equality, and where the cofactorless equation holds
 * so does the cofactored one that @noble/ed25519's own verify checks: the verdict is the one
 * `ed.verify(..., { zip215: false })` plus these rules gave, on every vector
 * (test/ed25519-vectors.test.ts), without @noble/ed25519's base-point table, which cost ~37 ms
 * to build on every run (docs/performance.md).
 */
export function verifyEd25519(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  if (checkPublicKeyBytes(publicKey) !== undefined) return false;
  try {
    const R = ed.Point.fromBytes(signature.subarray(0, 32), false); // throws unless canonical
    if (R.isSmallOrder()) return false;
    if (littleEndianNumber(signature.subarray(32, 64)) >= GROUP_ORDER) return false;
    const key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
    return cryptoVerify(null, message, key, signature);
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

/** Key id (SPEC section 2): the first 16 bytes of SHA-256 of the raw 32-byte public key. */
export function keyIdBytes(publicKey: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(publicKey).digest().subarray(0, 16));
}

/** Key id in hex (32 characters), as keygen, inspect and verify print it. */
export function keyIdHex(publicKey: Uint8Array): string {
  return toHex(keyIdBytes(publicKey));
}
