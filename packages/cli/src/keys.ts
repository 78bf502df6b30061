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
import { resolve } from 'node:path';
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
  if (text !== undefined && text.trim() !== '') return parseSecretKeyPem(text, () => passphraseFor(io, 'MS_SIGN_KEY'), 'MS_SIGN_KEY', nodeKeyFileCipher);
  throw new MsSignError('USAGE', 'no secret key: give -k FILE, or put the key file\'s text in MS_SIGN_KEY');
}

/** The file-key signer for `-k FILE` or MS_SIGN_KEY: the seam where other signers plug in. */
export async function loadSigner(file: string | undefined, io: CliIo): Promise<Signer> {
  return secretKeySigner(await loadSecretKey(file, io), file ?? 'MS_SIGN_KEY', nodeSha512);
}

export function loadPublicKey(file: string, io: CliIo): PublicKey {
  const bytes = readBoundedFile(resolve(io.cwd, file), LIMITS.keyFileBytes, 'KEY_UNREADABLE', 'public key file');
  if (bytes === undefined) throw new MsSignError('KEY_UNREADABLE', `public key file ${file} not found`, { path: file });
  return parsePublicKeyPem(Buffer.from(bytes).toString('utf8'), file);
}
