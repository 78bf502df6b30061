import { bytesEqual, fromHex } from '../bytes.js';
import { MsSignError } from '../errors.js';
import { der, derInteger, DerError, derOid, derOidToString, derUint, expectDer, OID, readDerItems, TAG, type DerNode } from './der.js';
import { checkPublicKeyBytes, keyIdHex, publicKeyFromSeed, randomSeed, SEED_BYTES } from './ed25519.js';
import { readPemBlocks, writePem } from './pem.js';

/** A validated Ed25519 public key (canonical, not of small order). */
export interface PublicKey {
  readonly bytes: Uint8Array;
  /** 32 hex characters: the first 16 bytes of SHA-256 of `bytes` (the README). */
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

/**
 * Key-file encryption: the key derivation and cipher an encrypted PKCS#8 file needs, which the
 * pure core does not carry. `@ms-sign/core/node` provides one (`nodeKeyFileCipher`: ms-sign's
 * scrypt + AES-256-GCM, and OpenSSL's PBES2 variants for reading).
 */
export interface KeyFileCipher {
  /** Seals PKCS#8 PrivateKeyInfo DER under `passphrase`: EncryptedPrivateKeyInfo DER. */
  encrypt(privateKeyInfo: Uint8Array, passphrase: string): Promise<Uint8Array>;
  /**
   * Opens EncryptedPrivateKeyInfo DER: PrivateKeyInfo DER. Throws MsSignError WRONG_PASSPHRASE
   * (wrong passphrase or damaged file) or BAD_KEY (unsupported or out-of-bounds parameters).
   */
  decrypt(encrypted: Uint8Array, passphrase: string, source?: KeySource): Promise<Uint8Array>;
}

// RFC 8410: fixed DER prefixes of an Ed25519 SubjectPublicKeyInfo and a v1 PKCS#8 PrivateKeyInfo.
const SPKI_PREFIX = fromHex('302a300506032b6570032100')!;
const PKCS8_PREFIX = fromHex('302e020100300506032b657004220420')!;

/**
 * Scrypt work factor for keys ms-sign encrypts: N = 2^17, r = 8, p = 1 (128 MiB, about half a
 * second here), the cost the scrypt paper and OWASP give for interactive logins.
 */
export const SCRYPT_PARAMS = { N: 2 ** 17, r: 8, p: 1 } as const;

/**
 * What deriving a key-encryption key may cost when reading a key file, checked before any
 * derivation: a crafted key file must not make sign allocate gigabytes or hang. scrypt needs
 * 128 * N * r bytes and time in N * r * p; the caps are ms-sign's own setting (128 MiB) and four
 * times its work. PBKDF2 (OpenSSL's default, 2048 iterations; OWASP advises 600,000 for SHA-256)
 * is capped at 10,000,000 iterations, a few seconds.
 */
export const KDF_LIMITS = { scryptMemoryBytes: 128 * 2 ** 20, scryptWork: 4 * 2 ** 17 * 8, pbkdf2Iterations: 10_000_000 } as const;

/** Why scrypt parameters read from a key file are refused, or undefined. */
function scryptParamsProblem(N: number, r: number, p: number): string | undefined {
  if (N < 2 || (N & (N - 1)) !== 0 || r < 1 || p < 1) return `scrypt parameters N=${N}, r=${r}, p=${p} are not valid`;
  if (128 * N * r > KDF_LIMITS.scryptMemoryBytes) return `scrypt parameters N=${N}, r=${r} need ${(128 * N * r) / 2 ** 20} MiB, more than the ${KDF_LIMITS.scryptMemoryBytes / 2 ** 20} MiB ms-sign allows`;
  if (N * r * p > KDF_LIMITS.scryptWork) return `scrypt parameters N=${N}, r=${r}, p=${p} cost more than ${KDF_LIMITS.scryptWork / (2 ** 17 * 8)} times ms-sign's own setting`;
  return undefined;
}

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
  const spki = blocks[0]!.der;
  // RFC 8410 gives an Ed25519 key exactly one DER encoding: the fixed prefix and the 32 key bytes.
  // A trust anchor is read only in that one form (no BER lengths, trailing bytes or unused bits).
  if (spki.length !== SPKI_PREFIX.length + 32 || !bytesEqual(spki.subarray(0, SPKI_PREFIX.length), SPKI_PREFIX)) {
    const algorithm = spkiAlgorithm(spki);
    if (algorithm !== undefined && algorithm !== OID.ed25519) {
      throw new MsSignError('BAD_KEY', `public key${from(source)} is ${algorithmName(algorithm)}, not Ed25519`, { path: source });
    }
    throw new MsSignError('BAD_KEY', `public key${from(source)} is not the DER encoding RFC 8410 gives an Ed25519 key`, { path: source });
  }
  const publicKey = publicKeyFromBytes(spki.subarray(SPKI_PREFIX.length), source);
  return publicKey;
}

/** The algorithm OID of a SubjectPublicKeyInfo, or undefined if it is not even that shape. */
function spkiAlgorithm(spki: Uint8Array): string | undefined {
  try {
    const [outer] = expectDer(spki, [TAG.SEQUENCE], 'SubjectPublicKeyInfo');
    return algorithmOid(readDerItems(outer!.value)[0]);
  } catch (error) {
    if (error instanceof DerError) return undefined;
    throw error;
  }
}

/** The OID of an AlgorithmIdentifier node (SEQUENCE { OID, parameters? }), if it is one. */
function algorithmOid(node: DerNode | undefined): string | undefined {
  if (node?.tag !== TAG.SEQUENCE) return undefined;
  const [oid] = readDerItems(node.value);
  return oid?.tag === TAG.OID ? derOidToString(oid.value) : undefined;
}

const ALGORITHM_NAMES: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.1': 'rsa',
  '1.2.840.10045.2.1': 'ec',
  '1.3.101.110': 'x25519',
  '1.3.101.111': 'x448',
  '1.3.101.113': 'ed448',
};

function algorithmName(oid: string): string {
  return ALGORITHM_NAMES[oid] ?? `algorithm ${oid}`;
}

/** The SPKI DER of a key: RFC 8410's one encoding, the fixed prefix and the 32 key bytes (as OpenSSL exports it). */
export function encodePublicKeySpki(key: PublicKey): Uint8Array {
  return concat(SPKI_PREFIX, key.bytes);
}

/** The SPKI PEM ("-----BEGIN PUBLIC KEY-----") of a key, as OpenSSL reads it. */
export function encodePublicKeyPem(key: PublicKey): string {
  return writePem('PUBLIC KEY', encodePublicKeySpki(key));
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
 * `openssl genpkey -algorithm ed25519` writes. With one: "ENCRYPTED PRIVATE KEY", sealed by
 * `cipher` (`nodeKeyFileCipher`: PBES2 with scrypt and AES-256-GCM), which is then required.
 */
export async function encodeSecretKeyPem(key: SecretKey, passphrase?: string, cipher?: KeyFileCipher): Promise<string> {
  const plain = concat(PKCS8_PREFIX, key.seed);
  if (passphrase === undefined) return writePem('PRIVATE KEY', plain);
  if (cipher === undefined) throw new TypeError('encodeSecretKeyPem: a passphrase needs a KeyFileCipher (nodeKeyFileCipher from @ms-sign/core/node)');
  try {
    return writePem('ENCRYPTED PRIVATE KEY', await cipher.encrypt(plain, passphrase));
  } finally {
    plain.fill(0);
  }
}

/** The parameters of ms-sign's PBES2(scrypt, AES-256-GCM) key-file encryption. */
export interface ScryptGcmParams {
  readonly salt: Uint8Array;
  readonly N: number;
  readonly r: number;
  readonly p: number;
  /** The 12-byte AES-GCM nonce. */
  readonly nonce: Uint8Array;
  /** Ciphertext followed by the 16-byte tag. */
  readonly sealed: Uint8Array;
}

/** EncryptedPrivateKeyInfo DER of ms-sign's PBES2(scrypt, AES-256-GCM) encoding (RFC 7914, RFC 5084). */
export function encodeScryptGcm(params: ScryptGcmParams): Uint8Array {
  const algorithm = der(
    TAG.SEQUENCE,
    derOid(OID.pbes2),
    der(
      TAG.SEQUENCE,
      der(
        TAG.SEQUENCE,
        derOid(OID.scrypt),
        der(TAG.SEQUENCE, der(TAG.OCTET_STRING, params.salt), derUint(params.N), derUint(params.r), derUint(params.p), derUint(32)),
      ),
      der(TAG.SEQUENCE, derOid(OID.aes256Gcm), der(TAG.SEQUENCE, der(TAG.OCTET_STRING, params.nonce), derUint(16))),
    ),
  );
  return der(TAG.SEQUENCE, algorithm, der(TAG.OCTET_STRING, params.sealed));
}

/**
 * Reads a PKCS#8 PEM secret key: plain, or encrypted (then `cipher` decrypts it: `nodeKeyFileCipher`
 * reads ms-sign's scrypt + AES-256-GCM and OpenSSL's PBES2 with PBKDF2 or scrypt and AES-CBC). The
 * passphrase is asked for only when the key is encrypted and never appears in an error.
 */
export async function parseSecretKeyPem(text: string, passphrase: PassphraseProvider, source?: KeySource, cipher?: KeyFileCipher): Promise<SecretKey> {
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
  if (cipher === undefined) {
    throw new MsSignError('BAD_KEY', `secret key${from(source)} is encrypted, and no key-file cipher was given to decrypt it (nodeKeyFileCipher from @ms-sign/core/node)`, { path: source });
  }
  // Refuse a malformed file, absurd KDF costs or ms-sign parameters out of bounds before asking
  // for a passphrase, and before deriving anything from it.
  checkKdfCost(block.der, source);
  readScryptGcmParams(block.der);
  const plain = await cipher.decrypt(block.der, await passphrase(), source);
  try {
    return secretKeyFromPkcs8(plain, source);
  } finally {
    plain.fill(0);
  }
}

/**
 * Reads PKCS#8 PrivateKeyInfo DER (RFC 5958 v1, or v2 with the public key, which must match):
 * SEQUENCE { version, AlgorithmIdentifier, OCTET STRING { OCTET STRING seed }, [0] attributes?, [1] publicKey? }.
 */
function secretKeyFromPkcs8(bytes: Uint8Array, source: KeySource): SecretKey {
  let seed: Uint8Array;
  let publicKey: Uint8Array | undefined;
  try {
    const [outer] = expectDer(bytes, [TAG.SEQUENCE], 'PrivateKeyInfo');
    const [version, algorithm, privateKey, ...rest] = readDerItems(outer!.value);
    if (version?.tag !== TAG.INTEGER || privateKey?.tag !== TAG.OCTET_STRING) throw new DerError('PrivateKeyInfo: unexpected structure');
    const v = derInteger(version.value);
    if (v !== 0 && v !== 1) throw new DerError(`PrivateKeyInfo: unknown version ${v}`);
    const oid = algorithmOid(algorithm);
    if (oid !== OID.ed25519) {
      throw new MsSignError('BAD_KEY', `secret key${from(source)} is ${oid === undefined ? 'unknown' : algorithmName(oid)}, not Ed25519`, { path: source });
    }
    expectDer(algorithm!.value, [TAG.OID], 'AlgorithmIdentifier'); // RFC 8410: no parameters
    seed = expectDer(privateKey.value, [TAG.OCTET_STRING], 'CurvePrivateKey')[0]!.value;
    let next = rest.shift();
    if (next?.tag === 0xa0) next = rest.shift(); // [0] attributes: ignored
    if (next !== undefined) {
      // [1] IMPLICIT BIT STRING, v2 only: no unused bits, then the key.
      if (next.tag !== 0x81 || v !== 1 || next.value[0] !== 0) throw new DerError('PrivateKeyInfo: unexpected trailing field');
      publicKey = next.value.subarray(1);
    }
    if (rest.length > 0) throw new DerError('PrivateKeyInfo: unexpected trailing field');
  } catch (error) {
    if (!(error instanceof DerError)) throw error;
    throw new MsSignError('BAD_KEY', `unreadable secret key${from(source)}: ${error.message}`, { path: source, cause: error });
  }
  const secret = secretKeyFromSeed(seed, source);
  if (publicKey !== undefined && !bytesEqual(publicKey, secret.publicKey.bytes)) {
    throw new MsSignError('BAD_KEY', `secret key${from(source)} holds a public key that does not match its seed`, { path: source });
  }
  return secret;
}

/**
 * Recognizes ms-sign's PBES2(scrypt, AES-256-GCM) encoding; undefined for anything else. Refuses
 * (BAD_KEY) parameters out of bounds, so a crafted key file cannot make scrypt allocate gigabytes.
 */
export function readScryptGcmParams(bytes: Uint8Array): ScryptGcmParams | undefined {
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
      scryptParamsProblem(params.N, params.r, params.p) !== undefined ||
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

/**
 * Refuses an encrypted PKCS#8 key whose key derivation would cost more than KDF_LIMITS, before
 * anything is derived: PBES2 with scrypt or PBKDF2 (what OpenSSL and ms-sign write). Other schemes
 * (PKCS#5 v1.5, PKCS#12 PBE) are refused: they are obsolete, and their cost is not checked here.
 *
 * @throws MsSignError BAD_KEY
 */
export function checkKdfCost(bytes: Uint8Array, source: KeySource): void {
  const refuse = (why: string): never => {
    throw new MsSignError('BAD_KEY', `refusing encrypted secret key${from(source)}: ${why}`, { path: source });
  };
  let kdfOid: string;
  let kdfParams: ReturnType<typeof readDerItems>;
  try {
    const [outer] = expectDer(bytes, [TAG.SEQUENCE], 'EncryptedPrivateKeyInfo');
    const [algorithm] = expectDer(outer!.value, [TAG.SEQUENCE, TAG.OCTET_STRING], 'EncryptedPrivateKeyInfo');
    const [scheme, schemeParams] = expectDer(algorithm!.value, [TAG.OID, TAG.SEQUENCE], 'encryptionAlgorithm');
    if (derOidToString(scheme!.value) !== OID.pbes2) {
      return refuse('only PBES2 encryption (PBKDF2 or scrypt) is read; re-encrypt it with "openssl pkcs8 -topk8 -v2 aes-256-cbc"');
    }
    const [kdf] = expectDer(schemeParams!.value, [TAG.SEQUENCE, TAG.SEQUENCE], 'PBES2-params');
    const [oid, params] = expectDer(kdf!.value, [TAG.OID, TAG.SEQUENCE], 'keyDerivationFunc');
    kdfOid = derOidToString(oid!.value);
    kdfParams = readDerItems(params!.value);
  } catch (error) {
    if (error instanceof DerError) return refuse(error.message);
    throw error;
  }
  // Integers too large for derInteger (more than 6 bytes) are refused as absurd, not read.
  const integer = (index: number, name: string): number => {
    const node = kdfParams[index];
    if (node?.tag !== TAG.INTEGER) return refuse(`${name} missing`);
    if (node.value.length > 6 && node.value[0] !== 0) return refuse(`${name} is absurdly large`);
    try {
      return derInteger(node.value);
    } catch {
      return refuse(`${name} is absurdly large`);
    }
  };
  if (kdfOid === OID.scrypt) {
    const why = scryptParamsProblem(integer(1, 'scrypt N'), integer(2, 'scrypt r'), integer(3, 'scrypt p'));
    if (why) refuse(why);
  } else if (kdfOid === OID.pbkdf2) {
    const iterations = integer(1, 'PBKDF2 iteration count');
    if (iterations > KDF_LIMITS.pbkdf2Iterations) refuse(`PBKDF2 with ${iterations} iterations, more than the ${KDF_LIMITS.pbkdf2Iterations} ms-sign allows`);
  } else refuse(`unsupported key derivation ${kdfOid} (PBKDF2 or scrypt expected)`);
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
