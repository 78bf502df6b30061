/**
 * The node:crypto pieces the pure core takes as arguments: a native SHA-512 and the Ed25519
 * equation for Ed25519, and key-file encryption (scrypt, AES-256-GCM, and OpenSSL's PBES2 variants for reading).
 */
import { createCipheriv, createDecipheriv, createHash, createPrivateKey, createPublicKey, randomBytes, scrypt as scryptCallback, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import type { Ed25519Equation, Sha512 } from '../crypto/ed25519.js';
import { encodeScryptGcm, readScryptGcmParams, SCRYPT_PARAMS, type KeyFileCipher, type KeySource } from '../crypto/keys.js';
import { MsSignError } from '../errors.js';

/**
 * node:crypto's SHA-512, for the `sha512`/`hash` arguments of verification and signing: native
 * speed on a large signed manifest, where the pure default costs ~40 ms per 1.4 MB.
 */
export const nodeSha512: Sha512 = (message) => new Uint8Array(createHash('sha512').update(message).digest());

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): the 32 key bytes follow. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * The Ed25519 equation by OpenSSL (node:crypto), for the `ed25519Equation` arguments of
 * verification: verifyEd25519 runs ms-sign's own checks on A, R and S first, then this. OpenSSL
 * checks the cofactorless equation, by re-encoding [S]B - [k]A and comparing it byte for byte with
 * R, which for a canonical R is point equality: the verdict of `nobleEquation` on every vector,
 * without @noble/ed25519's base-point table (~37 ms to build on every run).
 */
export const nodeEd25519Equation: Ed25519Equation = (signature, message, publicKey) => {
  const key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
  return cryptoVerify(null, message, key, signature);
};

function wrongPassphrase(source: KeySource, cause: unknown): MsSignError {
  return new MsSignError('WRONG_PASSPHRASE', `wrong passphrase for secret key${source === undefined ? '' : ` from ${source}`} (or the key file is damaged)`, { path: source, cause });
}

/**
 * Key-file encryption for parseSecretKeyPem / encodeSecretKeyPem. Writes PBES2 with scrypt
 * (RFC 7914, SCRYPT_PARAMS) and AES-256-GCM (RFC 5084: 12-byte nonce, 16-byte tag); reads that and
 * anything else OpenSSL writes for PKCS#8 (PBES2 with PBKDF2 or scrypt and AES-CBC).
 */
export const nodeKeyFileCipher: KeyFileCipher = {
  async encrypt(privateKeyInfo, passphrase) {
    const salt = new Uint8Array(randomBytes(16));
    const nonce = new Uint8Array(randomBytes(12));
    const kek = await scrypt(passphrase, salt, SCRYPT_PARAMS);
    try {
      const cipher = createCipheriv('aes-256-gcm', kek, nonce, { authTagLength: 16 });
      const sealed = Buffer.concat([cipher.update(privateKeyInfo), cipher.final(), cipher.getAuthTag()]);
      return encodeScryptGcm({ salt, ...SCRYPT_PARAMS, nonce, sealed: new Uint8Array(sealed) });
    } finally {
      kek.fill(0);
    }
  },

  async decrypt(encrypted, passphrase, source) {
    const ours = readScryptGcmParams(encrypted);
    if (ours) {
      const kek = await scrypt(passphrase, ours.salt, ours);
      try {
        const decipher = createDecipheriv('aes-256-gcm', kek, ours.nonce, { authTagLength: 16 });
        decipher.setAuthTag(ours.sealed.subarray(ours.sealed.length - 16));
        return new Uint8Array(Buffer.concat([decipher.update(ours.sealed.subarray(0, ours.sealed.length - 16)), decipher.final()]));
      } catch (error) {
        throw wrongPassphrase(source, error);
      } finally {
        kek.fill(0);
      }
    }
    // Anything else PKCS#8 can hold (OpenSSL's defaults): let OpenSSL decrypt it.
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: Buffer.from(encrypted), format: 'der', type: 'pkcs8', passphrase });
    } catch (error) {
      throw wrongPassphrase(source, error);
    }
    return new Uint8Array(key.export({ format: 'der', type: 'pkcs8' }));
  },
};

function scrypt(passphrase: string, salt: Uint8Array, params: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const maxmem = 256 * params.N * params.r + 32 * 1024 * 1024;
    scryptCallback(passphrase.normalize('NFC'), salt, 32, { ...params, maxmem }, (error, key) => (error ? reject(error) : resolve(key)));
  });
}
