import * as ed from '@noble/ed25519';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { toHex } from '../bytes.js';

/**
 * A SHA-512 function. Ed25519 hashes the whole signed message (the manifest: 1.4 MB for 20,000
 * files), so the caller picks the implementation: the pure default below runs anywhere (browser,
 * Worker), and `@ms-sign/core/node` passes node:crypto's (`nodeSha512`), which is ~40 ms faster
 * per verification of such a manifest (docs/performance.md).
 */
export type Sha512 = (message: Uint8Array) => Uint8Array<ArrayBuffer>;

/** SHA-512 in pure JavaScript (@noble/hashes): the default where no faster one is passed in. */
export const pureSha512: Sha512 = (message) => sha512(message);

// @noble/ed25519's synchronous API reads its SHA-512 from a module-level slot at call time. Each
// call below sets the slot to the caller's function immediately before the synchronous call, so no
// caller depends on what another one (or import order) left there.
function using<T>(hash: Sha512, run: () => T): T {
  ed.hashes.sha512 = hash;
  return run();
}

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

/** The order of the prime-order subgroup (RFC 8032: L). */
const GROUP_ORDER = 2n ** 252n + 27742317777372353535851937790883648493n;

function littleEndianNumber(bytes: Uint8Array): bigint {
  return BigInt(`0x${toHex(Uint8Array.from(bytes).reverse()) || '0'}`);
}

/**
 * The Ed25519 verification equation, checked by verifyEd25519 only after its own strictness
 * checks passed (A and R canonical and not of small order, S < L): true when the cofactorless
 * equation [S]B = R + [k]A holds, k = SHA-512(R || A || message) mod L. The caller picks the
 * implementation, as with SHA-512: the pure default (`nobleEquation`) runs anywhere, and
 * `@ms-sign/core/node` passes OpenSSL's (`nodeEd25519Equation`), which skips @noble/ed25519's
 * base-point table (~37 ms on every run, docs/performance.md). Both give the same verdict on
 * every vector (test/ed25519-vectors.test.ts); an equation may throw for input it cannot decode,
 * which counts as a bad signature.
 */
export type Ed25519Equation = (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean;

/**
 * The equation on @noble/ed25519 (`zip215: false`, strict RFC 8032 decoding): the library's
 * verify, which checks the cofactored [8][S]B = [8]R + [8][k]A, and then the cofactorless
 * equation that libsodium, OpenSSL, Go and Monocypher check (the two differ only for crafted
 * points with a small-order component).
 */
export function nobleEquation(hash: Sha512 = pureSha512): Ed25519Equation {
  return (signature, message, publicKey) => {
    if (!using(hash, () => ed.verify(signature, message, publicKey, { zip215: false }))) return false;
    const R = ed.Point.fromBytes(signature.subarray(0, 32), false);
    const A = ed.Point.fromBytes(publicKey, false);
    const s = littleEndianNumber(signature.subarray(32, 64));
    const input = new Uint8Array(64 + message.length);
    input.set(signature.subarray(0, 32), 0);
    input.set(publicKey, 32);
    input.set(message, 64);
    const k = littleEndianNumber(hash(input)) % GROUP_ORDER;
    return ed.Point.BASE.multiply(s, false).equals(R.add(A.multiply(k, false)));
  };
}

const SIGNATURE_BYTES = 64;

/**
 * Why the parts of an Ed25519 signature check are unacceptable before any equation runs, or
 * undefined: ms-sign's own rules (docs/signature-format.md), the same whichever equation follows,
 * so that no verdict depends on the library or OpenSSL version. A canonical and not of small order
 * (checkPublicKeyBytes), R canonical and not of small order (libsodium's rule), S < L.
 */
function strictnessProblem(signature: Uint8Array, publicKey: Uint8Array): string | undefined {
  if (signature.length !== SIGNATURE_BYTES) return `expected a ${SIGNATURE_BYTES}-byte signature`;
  const key = checkPublicKeyBytes(publicKey);
  if (key !== undefined) return key;
  let R: ed.Point;
  try {
    R = ed.Point.fromBytes(signature.subarray(0, 32), false);
  } catch {
    return 'R is not a canonical encoding of a curve point';
  }
  if (R.isSmallOrder()) return 'R is a small-order point';
  if (littleEndianNumber(signature.subarray(32, 64)) >= GROUP_ORDER) return 'S is not reduced (S >= L)';
  return undefined;
}

/**
 * Strict RFC 8032 verification with the portable rules: the strictness checks above, then the
 * equation (`nobleEquation(hash)` unless one is passed in). Returns false for a bad signature;
 * never throws for well-typed input.
 */
export function verifyEd25519(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array, hash: Sha512 = pureSha512, equation?: Ed25519Equation): boolean {
  try {
    if (strictnessProblem(signature, publicKey) !== undefined) return false;
    return (equation ?? nobleEquation(hash))(signature, message, publicKey);
  } catch {
    return false;
  }
}

/** An RFC 8032 Ed25519 signature of `message` with the 32-byte `seed`. */
export function signEd25519(message: Uint8Array, seed: Uint8Array, hash: Sha512 = pureSha512): Uint8Array {
  return using(hash, () => ed.sign(message, seed));
}

/** The raw 32-byte public key of a seed. */
export function publicKeyFromSeed(seed: Uint8Array): Uint8Array {
  return using(pureSha512, () => ed.getPublicKey(seed));
}

export function randomSeed(): Uint8Array {
  return ed.utils.randomSecretKey();
}

/** Key id (the README): the first 16 bytes of SHA-256 of the raw 32-byte public key. */
export function keyIdBytes(publicKey: Uint8Array): Uint8Array {
  return sha256(publicKey).subarray(0, 16);
}

/** Key id in hex (32 characters), as keygen, inspect and verify print it. */
export function keyIdHex(publicKey: Uint8Array): string {
  return toHex(keyIdBytes(publicKey));
}
