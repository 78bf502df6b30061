/**
 * A tiny, slow, independent edwards25519 in BigInt, for tests only: it lets the weak-key tests
 * derive the small-order points themselves (instead of trusting the library under test) and forge
 * signatures that a permissive (cofactorless, ZIP-215-style decoding) verifier accepts, to show the
 * forgeries ms-sign's key checks stop are real. Formulas: RFC 8032 section 5.1 and
 * add-2008-hwcd-3 in extended coordinates (complete for a = -1).
 */
import { createHash, randomBytes } from 'node:crypto';

const P = 2n ** 255n - 19n;
/** The prime order of the base point (RFC 8032 5.1). */
export const L = 2n ** 252n + 27742317777372353535851937790883648493n;

const mod = (a: bigint, m = P): bigint => ((a % m) + m) % m;

function pow(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
  }
  return result;
}

const inv = (a: bigint): bigint => pow(a, P - 2n);
const D = mod(-121665n * inv(121666n));
const D2 = mod(2n * D);
const SQRT_M1 = pow(2n, (P - 1n) / 4n);

/** A point in extended coordinates (X:Y:Z:T), x = X/Z, y = Y/Z, xy = T/Z. */
export interface Point {
  readonly X: bigint;
  readonly Y: bigint;
  readonly Z: bigint;
  readonly T: bigint;
}

export const IDENTITY: Point = { X: 0n, Y: 1n, Z: 1n, T: 0n };

export function add(p: Point, q: Point): Point {
  const a = mod((p.Y - p.X) * (q.Y - q.X));
  const b = mod((p.Y + p.X) * (q.Y + q.X));
  const c = mod(p.T * D2 * q.T);
  const d = mod(2n * p.Z * q.Z);
  const e = b - a;
  const f = d - c;
  const g = d + c;
  const h = b + a;
  return { X: mod(e * f), Y: mod(g * h), T: mod(e * h), Z: mod(f * g) };
}

export const negate = (p: Point): Point => ({ X: mod(-p.X), Y: p.Y, Z: p.Z, T: mod(-p.T) });

export function multiply(p: Point, scalar: bigint): Point {
  let result = IDENTITY;
  let addend = p;
  for (let k = scalar; k > 0n; k >>= 1n) {
    if (k & 1n) result = add(result, addend);
    addend = add(addend, addend);
  }
  return result;
}

export const equals = (p: Point, q: Point): boolean => mod(p.X * q.Z) === mod(q.X * p.Z) && mod(p.Y * q.Z) === mod(q.Y * p.Z);

export const isSmallOrder = (p: Point): boolean => equals(multiply(p, 8n), IDENTITY);

const leToBigint = (bytes: Uint8Array): bigint => {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
};

function bigintToLe32(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let v = n;
  for (let i = 0; i < 32; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/**
 * Decodes a point (RFC 8032 5.1.3). `strict`: refuse y >= p and x = 0 with the sign bit set, as
 * RFC 8032 says; not strict: reduce y mod p and ignore such a sign bit, as ZIP-215 does.
 */
export function decodePoint(bytes: Uint8Array, strict: boolean): Point | undefined {
  if (bytes.length !== 32) return undefined;
  const sign = bytes[31]! >> 7;
  const raw = leToBigint(bytes) & ((1n << 255n) - 1n);
  if (strict && raw >= P) return undefined;
  const y = mod(raw);
  const u = mod(y * y - 1n);
  const v = mod(D * y * y + 1n);
  let x = mod(u * pow(v, 3n) * pow(u * pow(v, 7n), (P - 5n) / 8n));
  const vx2 = mod(v * x * x);
  if (vx2 === mod(-u)) x = mod(x * SQRT_M1);
  else if (vx2 !== u) return undefined;
  if (x === 0n && sign === 1 && strict) return undefined;
  if (Number(x & 1n) !== sign) x = mod(-x);
  return { X: x, Y: y, Z: 1n, T: mod(x * y) };
}

export function encodePoint(p: Point): Uint8Array {
  const zInv = inv(p.Z);
  const x = mod(p.X * zInv);
  const y = mod(p.Y * zInv);
  const out = bigintToLe32(y);
  out[31]! |= Number(x & 1n) << 7;
  return out;
}

export const BASE = decodePoint(Buffer.from('5866666666666666666666666666666666666666666666666666666666666666', 'hex'), true)!;

const sha512Scalar = (...parts: Uint8Array[]): bigint => {
  const hash = createHash('sha512');
  for (const part of parts) hash.update(part);
  return mod(leToBigint(hash.digest()), L);
};

/**
 * A permissive verifier: ZIP-215-style decoding (non-canonical A and R accepted), no small-order
 * check, cofactorless equation [S]B = R + [k]A. What a careless verifier does.
 */
export function permissiveVerify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  const A = decodePoint(publicKey, false);
  const R = decodePoint(signature.subarray(0, 32), false);
  const S = leToBigint(signature.subarray(32));
  if (!A || !R || S >= L) return false;
  const k = sha512Scalar(signature.subarray(0, 32), publicKey, message);
  return equals(multiply(BASE, S), add(R, multiply(A, k)));
}

/**
 * Forges a signature of `message` under a small-order public key without any secret: pick r and
 * a guess j, set R = rB - jA; when k = H(R || A || M) makes kA = jA (one try in 8 at worst),
 * S = r satisfies [S]B = R + [k]A.
 */
export function forgeSignature(publicKey: Uint8Array, message: Uint8Array): Uint8Array {
  const A = decodePoint(publicKey, false);
  if (!A || !isSmallOrder(A)) throw new RangeError('publicKey: expected a small-order point');
  for (let attempt = 0; attempt < 1000; attempt++) {
    const r = mod(leToBigint(randomBytes(64)), L);
    const j = BigInt(attempt % 8);
    const jA = multiply(A, j);
    const R = encodePoint(add(multiply(BASE, r), negate(jA)));
    const k = sha512Scalar(R, publicKey, message);
    if (!equals(multiply(A, k), jA)) continue;
    const signature = new Uint8Array(64);
    signature.set(R, 0);
    signature.set(bigintToLe32(r), 32);
    return signature;
  }
  throw new Error('forgery failed (should not happen)');
}

/** The order-8 point whose multiples are all eight canonical small-order points. */
const ORDER_8 = decodePoint(Buffer.from('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', 'hex'), true)!;

/** The eight canonical encodings of the small-order points: kT for k = 0..7. */
export function canonicalSmallOrderEncodings(): Uint8Array[] {
  return Array.from({ length: 8 }, (_, k) => encodePoint(multiply(ORDER_8, BigInt(k))));
}

/**
 * Every non-canonical encoding of a small-order point: y + p where that still fits in 255 bits
 * (only y = 0 and y = 1 do), each with both sign bits; and "negative zero" (x = 0 with the sign
 * bit set) for the two points with x = 0.
 */
export function nonCanonicalSmallOrderEncodings(): Uint8Array[] {
  const out = new Map<string, Uint8Array>();
  const push = (y: bigint, sign: number) => {
    const bytes = bigintToLe32(y);
    bytes[31]! |= sign << 7;
    out.set(Buffer.from(bytes).toString('hex'), bytes);
  };
  for (const point of canonicalSmallOrderEncodings().map((e) => decodePoint(e, true)!)) {
    const zInv = inv(point.Z);
    const x = mod(point.X * zInv);
    const y = mod(point.Y * zInv);
    if (y + P < 1n << 255n) {
      push(y + P, 0);
      push(y + P, 1);
    }
    if (x === 0n) push(y, 1);
  }
  return [...out.values()];
}
