import { sha256 } from '@noble/hashes/sha2.js';
import { toHex, utf8 } from '../bytes.js';
import { DerError, derOidToString, expectDer, TAG } from './der.js';
import { writePem } from './pem.js';

/**
 * ECDSA public keys as the trust policy stores them (DER SubjectPublicKeyInfo, RFC 5480), read
 * without node:crypto so the policy stays pure: the structure and the named curve are checked here;
 * the point itself is checked by node:crypto when a signature is verified with it (a bad point
 * fails every verification then). `trust add` reads keys with node:crypto, which checks it up front.
 */
export type EcCurveName = 'P-256' | 'P-384' | 'P-521';

const EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const CURVES: Readonly<Record<string, { curve: EcCurveName; pointBytes: number }>> = {
  '1.2.840.10045.3.1.7': { curve: 'P-256', pointBytes: 65 },
  '1.3.132.0.34': { curve: 'P-384', pointBytes: 97 },
  '1.3.132.0.35': { curve: 'P-521', pointBytes: 133 },
};
const BIT_STRING = 0x03;

/** The curve of an uncompressed-point ECDSA SPKI on P-256/384/521, or why it is not one. */
export function ecSpkiCurve(spki: Uint8Array): EcCurveName | string {
  try {
    const [outer] = expectDer(spki, [TAG.SEQUENCE], 'SubjectPublicKeyInfo');
    const [algorithm, key] = expectDer(outer!.value, [TAG.SEQUENCE, BIT_STRING], 'SubjectPublicKeyInfo');
    const [type, params] = expectDer(algorithm!.value, [TAG.OID, TAG.OID], 'AlgorithmIdentifier');
    if (derOidToString(type!.value) !== EC_PUBLIC_KEY) return 'not an elliptic-curve key';
    const curve = CURVES[derOidToString(params!.value)];
    if (curve === undefined) return 'not on P-256, P-384 or P-521';
    // BIT STRING: no unused bits, then 0x04 || X || Y.
    if (key!.value.length !== curve.pointBytes + 1 || key!.value[0] !== 0 || key!.value[1] !== 0x04) return 'not an uncompressed curve point';
    return curve.curve;
  } catch (error) {
    if (error instanceof DerError) return `not a DER SubjectPublicKeyInfo (${error.message})`;
    throw error;
  }
}

/**
 * An ECDSA key's id: lowercase hex SHA-256 over its PEM text ("-----BEGIN PUBLIC KEY-----",
 * base64 in 64-column lines, "-----END PUBLIC KEY-----\n"). This is the `hint` model_signing writes
 * into OMS bundles, so the id verify reports is the one the bundle names.
 */
export function ecKeyId(spki: Uint8Array): string {
  return toHex(sha256(utf8(writePem('PUBLIC KEY', spki))));
}
