import { createPublicKey, generateKeyPairSync, sign as signWithKey, type KeyObject } from 'node:crypto';
import { encodePkcs8Pem, readPkcs8Pem, type PassphraseProvider } from '../crypto/keys.js';
import { writePem } from '../crypto/pem.js';
import type { SignatureAlgorithm, Signer } from '../crypto/signer.js';
import { MsSignError } from '../errors.js';
import { CURVE_HASH, ecCurveOf, ecPublicKeyFromKeyObject, omsKeyHint, type EcCurve } from './ec-key.js';

/** ECDSA secret keys held in memory, as Signers: what `sign --format oms -k KEY` signs with. */
export const ALGORITHM_OF: Readonly<Record<EcCurve, SignatureAlgorithm>> = { 'P-256': 'ecdsa-p256-sha256', 'P-384': 'ecdsa-p384-sha384', 'P-521': 'ecdsa-p521-sha512' };

/**
 * A Signer for an ECDSA secret key held in memory (P-256, P-384 or P-521). Its key id is the OMS
 * key hint (SHA-256 of the public key's PEM text), the id verify reports for ECDSA keys.
 */
export function ecdsaKeySigner(privateKey: KeyObject, description = 'ECDSA secret key'): Signer {
  const curve = ecCurveOf(privateKey);
  if (privateKey.type !== 'private' || curve === undefined) throw new MsSignError('BAD_KEY', `${description} is not an ECDSA P-256, P-384 or P-521 secret key`);
  const pub = ecPublicKeyFromKeyObject(createPublicKey(privateKey), description);
  return {
    algorithm: ALGORITHM_OF[curve],
    keyId: pub.hint,
    publicKey: pub.spki,
    description,
    sign: (message) => Promise.resolve(new Uint8Array(signWithKey(CURVE_HASH[curve], message, { key: privateKey, dsaEncoding: 'der' }))),
  };
}

/** Reads an ECDSA PKCS#8 secret key (plain, or encrypted by ms-sign or OpenSSL) as a Signer. */
export async function parseEcdsaSecretKeyPem(text: string, passphrase: PassphraseProvider, source?: string): Promise<Signer> {
  return ecdsaKeySigner(await readPkcs8Pem(text, passphrase, 'ECDSA', source), source ?? 'ECDSA secret key');
}

/** A new ECDSA P-256 key pair as PEM texts (the secret key encrypted when a passphrase is given), and its key id. */
export async function generateEcdsaKeyPem(passphrase?: string): Promise<{ secretPem: string; publicPem: string; keyId: string }> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
  const pkcs8 = new Uint8Array(privateKey.export({ format: 'der', type: 'pkcs8' }));
  return { secretPem: await encodePkcs8Pem(pkcs8, passphrase), publicPem: writePem('PUBLIC KEY', spki), keyId: omsKeyHint(spki) };
}

