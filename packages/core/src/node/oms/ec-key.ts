import { createPublicKey, type KeyObject } from 'node:crypto';
import { ecKeyId } from '../../crypto/ec-spki.js';
import { MsSignError } from '../../errors.js';
import { readPemBlocks } from '../../crypto/pem.js';

/**
 * ECDSA public keys for OMS / model_signing key mode: NIST P-256, P-384 and P-521, the curves
 * model_signing and the OMS algorithm registry allow, each signing with its own hash.
 */
export type EcCurve = 'P-256' | 'P-384' | 'P-521';

/** The hash each curve signs with. Always passed explicitly: Node's default is SHA-256 for every curve. */
export const CURVE_HASH: Readonly<Record<EcCurve, 'sha256' | 'sha384' | 'sha512'>> = { 'P-256': 'sha256', 'P-384': 'sha384', 'P-521': 'sha512' };

const OPENSSL_CURVES: Readonly<Record<string, EcCurve>> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

export interface EcPublicKey {
  readonly curve: EcCurve;
  /** DER SubjectPublicKeyInfo. */
  readonly spki: Uint8Array;
  /**
   * The OMS key hint, and ms-sign's key id for ECDSA keys: lowercase hex SHA-256 over the key's
   * PEM text ("-----BEGIN PUBLIC KEY-----", 64-column base64, "-----END PUBLIC KEY-----\n"), as
   * model_signing writes it. Not the hash of the DER and not the hash of the user's file.
   */
  readonly hint: string;
  readonly keyObject: KeyObject;
}

/** The curve of a key, or undefined when it is not an ECDSA key on one of the three curves. */
export function ecCurveOf(key: KeyObject): EcCurve | undefined {
  if (key.asymmetricKeyType !== 'ec') return undefined;
  return OPENSSL_CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''];
}

export function ecPublicKeyFromKeyObject(key: KeyObject, source?: string): EcPublicKey {
  const curve = ecCurveOf(key);
  if (curve === undefined) {
    const what = key.asymmetricKeyType === 'ec' ? `an EC key on ${key.asymmetricKeyDetails?.namedCurve ?? 'an unknown curve'}` : `a ${key.asymmetricKeyType ?? 'unknown'} key`;
    throw new MsSignError('BAD_KEY', `public key${source ? ` from ${source}` : ''} is ${what}; OMS key mode takes ECDSA P-256, P-384 or P-521 keys`, { path: source });
  }
  const spki = new Uint8Array(key.export({ format: 'der', type: 'spki' }));
  return { curve, spki, hint: omsKeyHint(spki), keyObject: key };
}

export function ecPublicKeyFromSpki(spki: Uint8Array, source?: string): EcPublicKey {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch (error) {
    throw new MsSignError('BAD_KEY', `unreadable public key${source ? ` from ${source}` : ''}: ${(error as Error).message}`, { path: source, cause: error });
  }
  return ecPublicKeyFromKeyObject(key, source);
}

/** Reads one "PUBLIC KEY" PEM block (text before it, such as certtool's listing, is ignored). */
export function parseEcPublicKeyPem(text: string, source?: string): EcPublicKey {
  const blocks = readPemBlocks(text).filter((b) => b.label === 'PUBLIC KEY');
  if (blocks.length !== 1) {
    throw new MsSignError('BAD_KEY', `no ECDSA public key${source ? ` in ${source}` : ''}: expected one PEM block "-----BEGIN PUBLIC KEY-----" (SPKI)`, { path: source });
  }
  return ecPublicKeyFromSpki(blocks[0]!.der, source);
}

export function omsKeyHint(spki: Uint8Array): string {
  return ecKeyId(spki);
}
