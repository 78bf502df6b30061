import {
  encodePublicKeySpki,
  LIMITS,
  MsSignError,
  parsePublicKeyPem,
  parseSecretKeyPem,
  secretKeySigner,
  type PublicKey,
  type SecretKey,
  type Signer,
} from '@ms-sign/core';
import { readBoundedFile } from '@ms-sign/core/internal';
import { certificateFingerprint, ecdsaKeySigner, nodeKeyFileCipher, nodeSha512, parseEcPublicKeyPem, readPkcs8Pem, secretKeyFromKeyObject } from '@ms-sign/core/node';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_KEY_PREFIX } from './defaults.js';
import type { CliIo } from './io.js';
import { passphraseFor } from './passphrase.js';

/**
 * The text of the secret key for signing: `-k FILE`, else the key text in MS_SIGN_KEY (for
 * pipelines that keep it as a secret). A key file readable by group or others is refused, as ssh
 * refuses it.
 */
function readSecretKeyText(file: string | undefined, io: CliIo): { text: string; source: string } {
  if (file !== undefined) {
    const path = resolve(io.cwd, file);
    const bytes = readBoundedFile(path, LIMITS.keyFileBytes, 'KEY_UNREADABLE', 'secret key file', (stats) => {
      if (process.platform !== 'win32' && (stats.mode & 0o077) !== 0) {
        throw new MsSignError(
          'INSECURE_KEY_FILE',
          `secret key file ${file} is readable by others (mode ${(stats.mode & 0o777).toString(8).padStart(4, '0')}); run: chmod 600 ${file}`,
          { path: file },
        );
      }
    });
    if (bytes === undefined) throw new MsSignError('KEY_UNREADABLE', `secret key file ${file} not found (make one with "ms-sign keygen")`, { path: file });
    return { text: Buffer.from(bytes).toString('utf8'), source: file };
  }
  const text = io.env.MS_SIGN_KEY;
  if (text !== undefined && text.trim() !== '') {
    checkKeyText(text, io);
    return { text, source: 'MS_SIGN_KEY' };
  }
  // keygen's default output: `ms-sign keygen` then `ms-sign sign MODEL` just works.
  if (existsSync(resolve(io.cwd, `${DEFAULT_KEY_PREFIX}.key`))) return readSecretKeyText(`${DEFAULT_KEY_PREFIX}.key`, io);
  throw new MsSignError(
    'USAGE',
    `no secret key: give -k FILE, put the key file's text in MS_SIGN_KEY, or make ${DEFAULT_KEY_PREFIX}.key here with "ms-sign keygen" (sign uses it when neither is given); or sign with --pkcs11 or --signer-cmd`,
  );
}

/**
 * MS_SIGN_KEY holds the key file's text. A path or bare base64 there is a common slip: say what
 * to do instead, without echoing anything that could be the secret itself.
 */
function checkKeyText(text: string, io: CliIo): void {
  if (text.includes('-----BEGIN')) return;
  const value = text.trim();
  if (!value.includes('\n') && existsSync(resolve(io.cwd, value))) {
    throw new MsSignError('BAD_KEY', `MS_SIGN_KEY holds a file name, not the key: use -k ${value}, or MS_SIGN_KEY="$(cat ${value})"`);
  }
  if (/^[A-Za-z0-9+/=\s_-]+$/.test(value)) {
    throw new MsSignError(
      'BAD_KEY',
      'MS_SIGN_KEY looks like base64 without the PEM lines: it must hold the whole key file, from "-----BEGIN" to "-----END ...-----" (if your CI stores secrets base64-encoded, decode it first: MS_SIGN_KEY="$(echo "$SECRET" | base64 -d)")',
    );
  }
}

/** The Ed25519 secret key for signing (`-k FILE`, MS_SIGN_KEY or ./ms-sign.key). */
export async function loadSecretKey(file: string | undefined, io: CliIo): Promise<SecretKey> {
  const { text, source } = readSecretKeyText(file, io);
  return parseSecretKeyPem(text, () => passphraseFor(io, source), source, nodeKeyFileCipher);
}

/**
 * The file-key signer for `-k FILE`, MS_SIGN_KEY or ./ms-sign.key: the seam where other signers
 * plug in. An Ed25519 key signs ms-sign signature files; an ECDSA key (keygen --algorithm
 * ecdsa-p256) signs OMS bundles (sign --format oms).
 */
export async function loadSigner(file: string | undefined, io: CliIo): Promise<Signer> {
  const { text, source } = readSecretKeyText(file, io);
  const key = await readPkcs8Pem(text, () => passphraseFor(io, source), 'Ed25519 or ECDSA', source);
  if (key.asymmetricKeyType === 'ec') return ecdsaKeySigner(key, source);
  return secretKeySigner(secretKeyFromKeyObject(key, source), source, nodeSha512);
}

export function loadPublicKey(file: string, io: CliIo): PublicKey {
  const bytes = readBoundedFile(resolve(io.cwd, file), LIMITS.keyFileBytes, 'KEY_UNREADABLE', 'public key file');
  if (bytes === undefined) throw new MsSignError('KEY_UNREADABLE', `public key file ${file} not found`, { path: file });
  return parsePublicKeyPem(Buffer.from(bytes).toString('utf8'), file);
}

/** A public key of either kind: Ed25519 (ms-sign signatures) or ECDSA (OMS bundles). */
export interface AnyPublicKey {
  readonly kind: 'ed25519' | 'ecdsa';
  /** DER SubjectPublicKeyInfo. */
  readonly spki: Uint8Array;
  readonly keyId: string;
  /** Set for Ed25519 keys. */
  readonly ed25519?: PublicKey;
}

export function loadAnyPublicKey(file: string, io: CliIo): AnyPublicKey {
  const text = readKeyText(file, io, 'public key file');
  let type: string | undefined;
  try {
    type = createPublicKey(text).asymmetricKeyType;
  } catch {
    type = undefined;
  }
  if (type === 'ec') {
    const key = parseEcPublicKeyPem(text, file);
    return { kind: 'ecdsa', spki: key.spki, keyId: key.hint };
  }
  const key = parsePublicKeyPem(text, file);
  // parsePublicKeyPem accepts only RFC 8410's one DER encoding, so the SPKI is the one read: built
  // from the key bytes, not parsed and exported again by OpenSSL.
  return { kind: 'ed25519', spki: encodePublicKeySpki(key), keyId: key.keyId, ed25519: key };
}

/** A certificate root for OMS certificate mode, from a PEM file (the first certificate in it). */
export function loadCertificateRoot(file: string, io: CliIo): { der: Uint8Array; fingerprint: string; subject: string } {
  const text = readKeyText(file, io, 'certificate file');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(text);
  } catch (error) {
    throw new MsSignError('BAD_KEY', `${file} is not a PEM X.509 certificate: ${(error as Error).message}`, { path: file, cause: error });
  }
  if (!cert.ca) throw new MsSignError('BAD_KEY', `${file} is not a CA certificate (basicConstraints CA:TRUE); give the root of the signing chain`, { path: file });
  const der = new Uint8Array(cert.raw);
  return { der, fingerprint: certificateFingerprint(der), subject: cert.subject.split('\n').join(', ') };
}

function readKeyText(file: string, io: CliIo, what: string): string {
  const bytes = readBoundedFile(resolve(io.cwd, file), LIMITS.keyFileBytes, 'KEY_UNREADABLE', what);
  if (bytes === undefined) throw new MsSignError('KEY_UNREADABLE', `${what} ${file} not found`, { path: file });
  return Buffer.from(bytes).toString('utf8');
}
