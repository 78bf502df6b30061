import { createDecipheriv, createCipheriv, createPrivateKey, createPublicKey, randomBytes, scrypt as scryptCallback, type KeyObject } from 'node:crypto';
import { bytesEqual, fromHex } from '../bytes.js';
import { MsSignError } from '../errors.js';
import { der, derInteger, DerError, derOid, derOidToString, derUint, expectDer, OID, readDerItems, TAG } from './der.js';
import { checkPublicKeyBytes, keyIdHex, publicKeyFromSeed, randomSeed, SEED_BYTES } from './ed25519.js';
import { readPemBlocks, writePem } from './pem.js';

/** A validated Ed25519 public key (canonical, not of small order). */
export interface PublicKey {
  readonly bytes: Uint8Array;
  /** 32 hex characters: the first 16 bytes of SHA-256 of `bytes` (SPEC section 2). */
  readonly keyId: string;
}

/** An Ed25519 key pair in memory; wrap it with secretKeySigner to sign. */
export interface SecretKey {
  /** The RFC 8032 32-byte seed. */
  readonly seed: Uint8Array;
  readonly publicKey: PublicKey;
}

/** Where a key came from, for error messages: a file path or e.g. "MS_SIGN_KEY". */
export type KeySource = string | undefined;

/** Asks for a passphrase only when the key turns out to be encrypted. */
export type PassphraseProvider = () => Promise<string> | string;

// RFC 8410: fixed DER prefixes of an Ed25519 SubjectPublicKeyInfo and a v1 PKCS#8 PrivateKeyInfo.
const SPKI_PREFIX = fromHex('302a300506032b6570032100')!;
const PKCS8_PREFIX = fromHex('302e020100300506032b657004220420')!;

/**
 * Scrypt work factor for keys ms-sign encrypts: N = 2^17, r = 8, p = 1 (128 MiB, about half a
 * second here), the cost the scrypt paper and OWASP give for interactive logins.
 */
export const SCRYPT_PARAMS = { N: 2 ** 17, r: 8, p: 1 } as const;
// Bounds for keys we read, so a crafted key file cannot make us allocate gigabytes.
const SCRYPT_MAX = { N: 2 ** 20, r: 32, p: 16 } as const;

/** A public key from its raw 32 bytes, refused (BAD_KEY) if not canonical or of small order. */
export function publicKeyFromBytes(bytes: Uint8Array, source?: KeySource): PublicKey {
  const why = checkPublicKeyBytes(bytes);
  if (why !== undefined) throw new MsSignError('BAD_KEY', `refusing Ed25519 public key${from(source)}: ${why}`, { path: source });
  const copy = new Uint8Array(bytes);
  return { bytes: copy, keyId: keyIdHex(copy) };
}

function from(source: KeySource): string {
  return source === undefined ? '' : ` from ${source}`;
}

/** Parses an SPKI PEM public key ("-----BEGIN PUBLIC KEY-----"), as `openssl pkey -pubout` writes. */
export function parsePublicKeyPem(text: string, source?: KeySource): PublicKey {
  const blocks = readPemBlocks(text).filter((b) => b.label === 'PUBLIC KEY');
  if (blocks.length !== 1) {
    throw new MsSignError('BAD_KEY', `no Ed25519 public key${from(source)}: expected one PEM block "-----BEGIN PUBLIC KEY-----" (SPKI)`, { path: source });
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(blocks[0]!.der), format: 'der', type: 'spki' });
  } catch (error) {
    throw new MsSignError('BAD_KEY', `unreadable public key${from(source)}: ${(error as Error).message}`, { path: source, cause: error });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new MsSignError('BAD_KEY', `public key${from(source)} is ${key.asymmetricKeyType ?? 'unknown'}, not Ed25519`, { path: source });
  }
  const x = key.export({ format: 'jwk' }).x;
  const publicKey = publicKeyFromBytes(new Uint8Array(Buffer.from(x ?? '', 'base64url')), source);
  // RFC 8410 gives an Ed25519 key exactly one DER encoding; OpenSSL also reads BER lengths,
  // trailing bytes and unused bits. A trust anchor is read only in that one form.
  if (!bytesEqual(blocks[0]!.der, concat(SPKI_PREFIX, publicKey.bytes))) {
    throw new MsSignError('BAD_KEY', `public key${from(source)} is not the DER encoding RFC 8410 gives an Ed25519 key`, { path: source });
  }
  return publicKey;
}

/** The SPKI PEM ("-----BEGIN PUBLIC KEY-----") of a key, as OpenSSL reads it. */
export function encodePublicKeyPem(key: PublicKey): string {
  return writePem('PUBLIC KEY', concat(SPKI_PREFIX, key.bytes));
}

/** The key pair of a 32-byte RFC 8032 seed. */
export function secretKeyFromSeed(seed: Uint8Array, source?: KeySource): SecretKey {
  if (seed.length !== SEED_BYTES) throw new MsSignError('BAD_KEY', `secret key${from(source)}: expected a ${SEED_BYTES}-byte seed`, { path: source });
  return { seed: new Uint8Array(seed), publicKey: publicKeyFromBytes(publicKeyFromSeed(seed), source) };
}

/** A new random Ed25519 key pair. */
export function generateSecretKey(): SecretKey {
  return secretKeyFromSeed(randomSeed());
}

/**
 * Writes a PKCS#8 PEM secret key. Without a passphrase: "PRIVATE KEY", byte-identical to what
 * `openssl genpkey -algorithm ed25519` writes. With one: "ENCRYPTED PRIVATE KEY", PBES2 with
 * scrypt (RFC 7914) and AES-256-GCM (RFC 5084, 12-byte nonce, 16-byte tag) over the PKCS#8 bytes.
 */
export async function encodeSecretKeyPem(key: SecretKey, passphrase?: string): Promise<string> {
  const plain = concat(PKCS8_PREFIX, key.seed);
  if (passphrase === undefined) return writePem('PRIVATE KEY', plain);
  const salt = new Uint8Array(randomBytes(16));
  const nonce = new Uint8Array(randomBytes(12));
  const kek = await scrypt(passphrase, salt, SCRYPT_PARAMS);
  const cipher = createCipheriv('aes-256-gcm', kek, nonce, { authTagLength: 16 });
  const sealed = concat(cipher.update(plain), cipher.final(), cipher.getAuthTag());
  kek.fill(0);
  plain.fill(0);
  const algorithm = der(
    TAG.SEQUENCE,
    derOid(OID.pbes2),
    der(
      TAG.SEQUENCE,
      der(
        TAG.SEQUENCE,
        derOid(OID.scrypt),
        der(TAG.SEQUENCE, der(TAG.OCTET_STRING, salt), derUint(SCRYPT_PARAMS.N), derUint(SCRYPT_PARAMS.r), derUint(SCRYPT_PARAMS.p), derUint(32)),
      ),
      der(TAG.SEQUENCE, derOid(OID.aes256Gcm), der(TAG.SEQUENCE, der(TAG.OCTET_STRING, nonce), derUint(16))),
    ),
  );
  return writePem('ENCRYPTED PRIVATE KEY', der(TAG.SEQUENCE, algorithm, der(TAG.OCTET_STRING, sealed)));
}

/**
 * Reads a PKCS#8 PEM secret key: plain, encrypted by ms-sign (scrypt + AES-256-GCM), or encrypted
 * by OpenSSL (PBES2 with PBKDF2 or scrypt and AES-CBC). The passphrase is asked for only when the
 * key is encrypted and never appears in an error.
 */
export async function parseSecretKeyPem(text: string, passphrase: PassphraseProvider, source?: KeySource): Promise<SecretKey> {
  const blocks = readPemBlocks(text).filter((b) => b.label === 'PRIVATE KEY' || b.label === 'ENCRYPTED PRIVATE KEY');
  if (blocks.length !== 1) {
    throw new MsSignError(
      'BAD_KEY',
      `no Ed25519 secret key${from(source)}: expected one PEM block "-----BEGIN PRIVATE KEY-----" or "-----BEGIN ENCRYPTED PRIVATE KEY-----" (PKCS#8)`,
      { path: source },
    );
  }
  const block = blocks[0]!;
  if (block.label === 'PRIVATE KEY') return secretKeyFromPkcs8(block.der, source);
  const ours = readScryptGcmParams(block.der);
  if (ours) {
    const kek = await scrypt(await passphrase(), ours.salt, ours);
    let plain: Uint8Array;
    try {
      const decipher = createDecipheriv('aes-256-gcm', kek, ours.nonce, { authTagLength: 16 });
      decipher.setAuthTag(ours.sealed.subarray(ours.sealed.length - 16));
      plain = concat(decipher.update(ours.sealed.subarray(0, ours.sealed.length - 16)), decipher.final());
    } catch (error) {
      throw new MsSignError('WRONG_PASSPHRASE', `wrong passphrase for secret key${from(source)} (or the key file is damaged)`, { path: source, cause: error });
    } finally {
      kek.fill(0);
    }
    return secretKeyFromPkcs8(plain, source);
  }
  // Anything else PKCS#8 can hold (OpenSSL's defaults): let OpenSSL decrypt it.
  let key: KeyObject;
  const secret = await passphrase();
  try {
    key = createPrivateKey({ key: Buffer.from(block.der), format: 'der', type: 'pkcs8', passphrase: secret });
  } catch (error) {
    throw new MsSignError('WRONG_PASSPHRASE', `wrong passphrase for secret key${from(source)} (or the key file is damaged)`, { path: source, cause: error });
  }
  return secretKeyFromKeyObject(key, source);
}

function secretKeyFromPkcs8(bytes: Uint8Array, source: KeySource): SecretKey {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(bytes), format: 'der', type: 'pkcs8' });
  } catch (error) {
    throw new MsSignError('BAD_KEY', `unreadable secret key${from(source)}: ${(error as Error).message}`, { path: source, cause: error });
  }
  return secretKeyFromKeyObject(key, source);
}

function secretKeyFromKeyObject(key: KeyObject, source: KeySource): SecretKey {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new MsSignError('BAD_KEY', `secret key${from(source)} is ${key.asymmetricKeyType ?? 'unknown'}, not Ed25519`, { path: source });
  }
  const jwk = key.export({ format: 'jwk' });
  const seed = new Uint8Array(Buffer.from(jwk.d ?? '', 'base64url'));
  const secret = secretKeyFromSeed(seed, source);
  // A PKCS#8 v2 file may carry a public key too; it must be the one the seed gives.
  if (jwk.x !== undefined && !bytesEqual(new Uint8Array(Buffer.from(jwk.x, 'base64url')), secret.publicKey.bytes)) {
    throw new MsSignError('BAD_KEY', `secret key${from(source)} holds a public key that does not match its seed`, { path: source });
  }
  seed.fill(0);
  return secret;
}

interface ScryptGcmParams {
  readonly salt: Uint8Array;
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly nonce: Uint8Array;
  readonly sealed: Uint8Array;
}

/** Recognizes ms-sign's PBES2(scrypt, AES-256-GCM) encoding; undefined for anything else. */
function readScryptGcmParams(bytes: Uint8Array): ScryptGcmParams | undefined {
  try {
    const [outer] = expectDer(bytes, [TAG.SEQUENCE], 'EncryptedPrivateKeyInfo');
    const [algorithm, sealed] = expectDer(outer!.value, [TAG.SEQUENCE, TAG.OCTET_STRING], 'EncryptedPrivateKeyInfo');
    const [pbes2, pbes2Params] = expectDer(algorithm!.value, [TAG.OID, TAG.SEQUENCE], 'encryptionAlgorithm');
    if (derOidToString(pbes2!.value) !== OID.pbes2) return undefined;
    const [kdf, scheme] = expectDer(pbes2Params!.value, [TAG.SEQUENCE, TAG.SEQUENCE], 'PBES2-params');
    // Recognize by algorithm identifiers first: OpenSSL's PBKDF2 / AES-CBC parameters have other shapes.
    const isOid = (node: { tag: number; value: Uint8Array } | undefined, oid: string) => node?.tag === TAG.OID && derOidToString(node.value) === oid;
    if (!isOid(readDerItems(kdf!.value)[0], OID.scrypt) || !isOid(readDerItems(scheme!.value)[0], OID.aes256Gcm)) return undefined;
    const [, kdfParams] = expectDer(kdf!.value, [TAG.OID, TAG.SEQUENCE], 'keyDerivationFunc');
    const [, encParams] = expectDer(scheme!.value, [TAG.OID, TAG.SEQUENCE], 'encryptionScheme');
    const [salt, n, r, p, keyLength] = expectDer(kdfParams!.value, [TAG.OCTET_STRING, TAG.INTEGER, TAG.INTEGER, TAG.INTEGER, TAG.INTEGER], 'scrypt-params');
    const [nonce, icvLength] = expectDer(encParams!.value, [TAG.OCTET_STRING, TAG.INTEGER], 'GCMParameters');
    const params = { N: derInteger(n!.value), r: derInteger(r!.value), p: derInteger(p!.value) };
    if (
      derInteger(keyLength!.value) !== 32 ||
      derInteger(icvLength!.value) !== 16 ||
      nonce!.value.length !== 12 ||
      salt!.value.length < 8 ||
      params.N > SCRYPT_MAX.N || params.r > SCRYPT_MAX.r || params.p > SCRYPT_MAX.p ||
      params.N < 2 || (params.N & (params.N - 1)) !== 0 || params.r < 1 || params.p < 1 ||
      sealed!.value.length < 17
    ) {
      throw new DerError('unsupported parameters');
    }
    return { salt: salt!.value, ...params, nonce: nonce!.value, sealed: sealed!.value };
  } catch (error) {
    if (error instanceof DerError) throw new MsSignError('BAD_KEY', `unreadable encrypted secret key: ${error.message}`, { cause: error });
    throw error;
  }
}

function scrypt(passphrase: string, salt: Uint8Array, params: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const maxmem = 256 * params.N * params.r + 32 * 1024 * 1024;
    scryptCallback(passphrase.normalize('NFC'), salt, 32, { ...params, maxmem }, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
