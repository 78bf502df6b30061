import { der, derOid, TAG } from './der.js';

/** id-ecPublicKey and the prime256v1 (P-256) named curve (RFC 5480 section 2.1.1). */
const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const OID_P256 = '1.2.840.10045.3.1.7';
/** The DER OID of P-256, as PKCS#11's CKA_EC_PARAMS holds it. */
export const P256_EC_PARAMS: Uint8Array = derOid(OID_P256);

const P256_FIELD_BYTES = 32;

/**
 * The DER SubjectPublicKeyInfo of a P-256 key (RFC 5480) from its uncompressed point
 * (04 || X || Y, 65 bytes). Returns undefined for any other point encoding.
 */
export function p256PublicKeyInfo(point: Uint8Array): Uint8Array | undefined {
  if (point.length !== 1 + 2 * P256_FIELD_BYTES || point[0] !== 0x04) return undefined;
  const algorithm = der(TAG.SEQUENCE, derOid(OID_EC_PUBLIC_KEY), derOid(OID_P256));
  const bitString = der(0x03, Uint8Array.of(0), point); // BIT STRING with no unused bits
  return der(TAG.SEQUENCE, algorithm, bitString);
}

/**
 * Converts a raw ECDSA signature r || s (what PKCS#11's CKM_ECDSA returns, PKCS#11 2.40
 * section 2.3.1) into the DER Ecdsa-Sig-Value (RFC 3279 section 2.2.3) that X.509 and OMS carry.
 */
export function ecdsaRawToDer(raw: Uint8Array): Uint8Array {
  if (raw.length === 0 || raw.length % 2 !== 0) throw new RangeError(`raw: expected r || s of even length, got ${raw.length} bytes`);
  const half = raw.length / 2;
  return der(TAG.SEQUENCE, derPositiveInteger(raw.subarray(0, half)), derPositiveInteger(raw.subarray(half)));
}

/** A big-endian unsigned integer as a minimal DER INTEGER (leading zeros dropped, 00 before a high bit). */
function derPositiveInteger(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  return der(TAG.INTEGER, trimmed[0]! & 0x80 ? Uint8Array.of(0, ...trimmed) : trimmed);
}
