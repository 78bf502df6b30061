import {
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
import { nodeKeyFileCipher, nodeSha512 } from '@ms-sign/core/node';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_KEY_PREFIX } from './defaults.js';
import type { CliIo } from './io.js';
import { passphraseFor } from './passphrase.js';

/**
 * The secret key for signing: `-k FILE`, else the key text in MS_SIGN_KEY (for pipelines that
 * keep it as a secret). A key file readable by group or others is refused, as ssh refuses it.
 */
export async function loadSecretKey(file: string | undefined, io: CliIo): Promise<SecretKey> {
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
    return parseSecretKeyPem(Buffer.from(bytes).toString('utf8'), () => passphraseFor(io, file), file, nodeKeyFileCipher);
  }
  const text = io.env.MS_SIGN_KEY;
  if (text !== undefined && text.trim() !== '') {
    checkKeyText(text, io);
    return parseSecretKeyPem(text, () => passphraseFor(io, 'MS_SIGN_KEY'), 'MS_SIGN_KEY', nodeKeyFileCipher);
  }
  // keygen's default output: `ms-sign keygen` then `ms-sign sign MODEL` just works.
  if (existsSync(resolve(io.cwd, `${DEFAULT_KEY_PREFIX}.key`))) return loadSecretKey(`${DEFAULT_KEY_PREFIX}.key`, io);
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

/** The file-key signer for `-k FILE`, MS_SIGN_KEY or ./ms-sign.key: the seam where other signers plug in. */
export async function loadSigner(file: string | undefined, io: CliIo): Promise<Signer> {
  const fromEnv = io.env.MS_SIGN_KEY !== undefined && io.env.MS_SIGN_KEY.trim() !== '';
  return secretKeySigner(await loadSecretKey(file, io), file ?? (fromEnv ? 'MS_SIGN_KEY' : `${DEFAULT_KEY_PREFIX}.key`), nodeSha512);
}

export function loadPublicKey(file: string, io: CliIo): PublicKey {
  const bytes = readBoundedFile(resolve(io.cwd, file), LIMITS.keyFileBytes, 'KEY_UNREADABLE', 'public key file');
  if (bytes === undefined) throw new MsSignError('KEY_UNREADABLE', `public key file ${file} not found`, { path: file });
  return parsePublicKeyPem(Buffer.from(bytes).toString('utf8'), file);
}
