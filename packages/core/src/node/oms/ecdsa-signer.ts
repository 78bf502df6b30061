import { createPublicKey, generateKeyPairSync, sign as signWithKey, type KeyObject } from 'node:crypto';
import { createPrivateKey } from 'node:crypto';
import { checkKdfCost, secretKeyFromSeed, type PassphraseProvider, type SecretKey } from '../../crypto/keys.js';
import { readPemBlocks, writePem } from '../../crypto/pem.js';
import { bytesEqual } from '../../bytes.js';
import { nodeKeyFileCipher } from '../crypto.js';
import type { SignatureAlgorithm, Signer } from '../../crypto/signer.js';
import { MsSignError } from '../../errors.js';
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


/**
 * Reads a PKCS#8 PEM private key of any type (Ed25519 or ECDSA): plain, encrypted by ms-sign, or
 * encrypted by OpenSSL (decrypted by nodeKeyFileCipher, which checks the KDF cost before it
 * derives anything). The passphrase is asked for only when the key is encrypted. `kind` names
 * the expected key type in messages.
 */
export async function readPkcs8Pem(text: string, passphrase: PassphraseProvider, kind: string, source?: string): Promise<KeyObject> {
  const where = source === undefined ? '' : ` from ${source}`;
  const blocks = readPemBlocks(text).filter((b) => b.label === 'PRIVATE KEY' || b.label === 'ENCRYPTED PRIVATE KEY');
  if (blocks.length !== 1) {
    throw new MsSignError('BAD_KEY', `no ${kind} secret key${where}: expected one PEM block "-----BEGIN PRIVATE KEY-----" or "-----BEGIN ENCRYPTED PRIVATE KEY-----" (PKCS#8)`, { path: source });
  }
  const block = blocks[0]!;
  // Absurd KDF costs are refused before the passphrase is asked for and before anything is derived.
  if (block.label !== 'PRIVATE KEY') checkKdfCost(block.der, source);
  const plain = block.label === 'PRIVATE KEY' ? block.der : await nodeKeyFileCipher.decrypt(block.der, await passphrase(), source);
  try {
    return createPrivateKey({ key: Buffer.from(plain), format: 'der', type: 'pkcs8' });
  } catch (error) {
    throw new MsSignError('BAD_KEY', `unreadable secret key${where}: ${(error as Error).message}`, { path: source, cause: error });
  } finally {
    if (plain !== block.der) plain.fill(0);
  }
}

/** Writes PKCS#8 bytes as PEM, encrypted as ms-sign encrypts its keys when a passphrase is given. Wipes `plain`. */
export async function encodePkcs8Pem(plain: Uint8Array, passphrase?: string): Promise<string> {
  try {
    return passphrase === undefined ? writePem('PRIVATE KEY', plain) : writePem('ENCRYPTED PRIVATE KEY', await nodeKeyFileCipher.encrypt(plain, passphrase));
  } finally {
    plain.fill(0);
  }
}

/** An Ed25519 secret key from a node:crypto private key (BAD_KEY for any other type). */
export function secretKeyFromKeyObject(key: KeyObject, source?: string): SecretKey {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new MsSignError('BAD_KEY', `secret key${source === undefined ? '' : ` from ${source}`} is ${key.asymmetricKeyType ?? 'unknown'}, not Ed25519`, { path: source });
  }
  const jwk = key.export({ format: 'jwk' });
  const seed = new Uint8Array(Buffer.from(jwk.d ?? '', 'base64url'));
  const secret = secretKeyFromSeed(seed, source);
  // A PKCS#8 v2 file may carry a public key too; it must be the one the seed gives.
  if (jwk.x !== undefined && !bytesEqual(new Uint8Array(Buffer.from(jwk.x, 'base64url')), secret.publicKey.bytes)) {
    throw new MsSignError('BAD_KEY', `secret key${source === undefined ? '' : ` from ${source}`} holds a public key that does not match its seed`, { path: source });
  }
  seed.fill(0);
  return secret;
}
