import { encodePublicKeyPem, encodeSecretKeyPem, generateSecretKey, MsSignError, parsePkcs11Uri, publicKeyFromBytes } from '@ms-sign/core';
import { generatePkcs11Ed25519Key, writeFileAtomic } from '@ms-sign/core/node';
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import { writeLine, type CliIo } from '../io.js';
import { printJson } from '../output.js';
import { newPassphrase } from '../passphrase.js';
import { pkcs11Options } from '../signers.js';

export interface KeygenOptions {
  readonly output: string;
  /** false with --no-passphrase. */
  readonly passphrase: boolean;
  readonly force?: boolean;
  readonly json?: boolean;
  /** --pkcs11 URI: make the key pair on a token; only PREFIX.pub is written. */
  readonly pkcs11?: string;
}

/** `ms-sign keygen`: PREFIX.key (PKCS#8, mode 0600) and PREFIX.pub (SPKI); prints the key id. */
export async function keygenCommand(options: KeygenOptions, io: CliIo): Promise<number> {
  if (options.pkcs11 !== undefined) return keygenOnToken(options, options.pkcs11, io);
  const secretPath = resolve(io.cwd, `${options.output}.key`);
  const publicPath = resolve(io.cwd, `${options.output}.pub`);
  const overwrite = options.force === true;
  // Check before asking for a passphrase; the writes below refuse again if a file appears meanwhile.
  for (const path of [secretPath, publicPath]) {
    if (!overwrite && existsSync(path)) {
      throw new MsSignError('FILE_EXISTS', `${path} already exists; refusing to overwrite a key (use --force, or another -o PREFIX)`, { path });
    }
  }
  const passphrase = options.passphrase ? await newPassphrase(io) : undefined;
  const key = generateSecretKey();
  // With --force, keep the old secret key until the new pair is complete (see below).
  const previousSecret = overwrite && existsSync(secretPath) ? readFileSync(secretPath) : undefined;
  writeFileAtomic(secretPath, await encodeSecretKeyPem(key, passphrase), { mode: 0o600, overwrite });
  try {
    writeFileAtomic(publicPath, encodePublicKeyPem(key.publicKey), { mode: 0o644, overwrite });
  } catch (error) {
    // All or nothing: a new secret key beside the old public key (or none) would only confuse,
    // and with --force the old secret key would be lost.
    if (previousSecret === undefined) unlinkSync(secretPath);
    else writeFileAtomic(secretPath, previousSecret, { mode: 0o600, overwrite: true });
    throw error;
  }
  if (options.json) {
    printJson(io, { ok: true, keyId: key.publicKey.keyId, secretKey: secretPath, publicKey: publicPath, encrypted: passphrase !== undefined, errors: [] });
  } else {
    writeLine(io.stdout, `Key id:     ${key.publicKey.keyId}`);
    writeLine(io.stdout, `Secret key: ${secretPath}${passphrase === undefined ? ' (NOT encrypted)' : ' (encrypted)'}`);
    writeLine(io.stdout, `Public key: ${publicPath}`);
  }
  return 0;
}

/**
 * `ms-sign keygen --pkcs11 URI`: an Ed25519 key pair made on the token, whose secret half never
 * leaves it; writes PREFIX.pub and prints the key id and the key's URI (with its new id).
 */
async function keygenOnToken(options: KeygenOptions, uriText: string, io: CliIo): Promise<number> {
  const publicPath = resolve(io.cwd, `${options.output}.pub`);
  const overwrite = options.force === true;
  // Checked before the token is touched: a key made on it and then not written out is a waste.
  if (!overwrite && existsSync(publicPath)) {
    throw new MsSignError('FILE_EXISTS', `${publicPath} already exists; refusing to overwrite a key (use --force, or another -o PREFIX)`, { path: publicPath });
  }
  const uri = parsePkcs11Uri(uriText);
  const made = await generatePkcs11Ed25519Key(uri, pkcs11Options(uri, io));
  writeFileAtomic(publicPath, encodePublicKeyPem(publicKeyFromBytes(made.publicKey)), { mode: 0o644, overwrite });
  if (options.json) {
    printJson(io, { ok: true, keyId: made.keyId, publicKey: publicPath, pkcs11: made.uri, errors: [] });
  } else {
    writeLine(io.stdout, `Key id:     ${made.keyId}`);
    writeLine(io.stdout, `Secret key: ${made.uri} (on the token, not extractable)`);
    writeLine(io.stdout, `Public key: ${publicPath}`);
  }
  return 0;
}
