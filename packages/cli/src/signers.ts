import { isAbsolute } from 'node:path';
import { MsSignError, parsePkcs11Uri, type Pkcs11Uri, type Signer } from '@ms-sign/core';
import { commandSigner, openPkcs11Signer, splitCommandLine, SIGNER_COMMAND_LIMITS, type Pkcs11Options } from '@ms-sign/core/node';
import type { CliIo } from './io.js';
import { loadPublicKey, loadSigner } from './keys.js';
import { pinFor } from './passphrase.js';

/** Where `sign` gets its signature from: exactly one of these (docs/signers.md). */
export interface SignerFlags {
  /** -k FILE */
  readonly key?: string;
  /** --pkcs11 URI */
  readonly pkcs11?: string;
  /** --signer-cmd CMD (else MS_SIGN_SIGNER_CMD) */
  readonly signerCmd?: string;
  /** -p FILE: the signing command's public key. */
  readonly publicKey?: string;
  /** --signer-timeout SECONDS */
  readonly signerTimeout?: number;
}

export interface OpenedSigner {
  readonly signer: Signer;
  /** Releases a token session; a no-op for other signers. Call when signing is done. */
  close(): void;
}

/**
 * Secrets ms-sign reads from its environment, kept from a signing command: the command needs
 * its own credentials (a KMS's), not ms-sign's key, passphrase or PIN.
 */
const SECRET_VARIABLES = ['MS_SIGN_KEY', 'MS_SIGN_PASSPHRASE', 'MS_SIGN_PKCS11_PIN'];

/**
 * The one signer for `sign`: -k FILE, --pkcs11 URI or --signer-cmd CMD; without a flag,
 * MS_SIGN_SIGNER_CMD or MS_SIGN_KEY. Two sources at once are a usage error: ms-sign never
 * guesses which key a release is signed with.
 */
export async function openSigner(flags: SignerFlags, io: CliIo): Promise<OpenedSigner> {
  const given = [flags.key !== undefined && '-k', flags.pkcs11 !== undefined && '--pkcs11', flags.signerCmd !== undefined && '--signer-cmd'].filter(Boolean);
  if (given.length > 1) throw new MsSignError('USAGE', `give one of ${given.join(', ')}: each names the key to sign with`);
  const envCommand = nonEmpty(io.env.MS_SIGN_SIGNER_CMD);
  const command = flags.signerCmd ?? (given.length === 0 ? envCommand : undefined);
  if (given.length === 0 && envCommand !== undefined && nonEmpty(io.env.MS_SIGN_KEY) !== undefined) {
    throw new MsSignError('USAGE', 'both MS_SIGN_SIGNER_CMD and MS_SIGN_KEY are set: unset one, or choose with -k or --signer-cmd');
  }
  if (flags.publicKey !== undefined && command === undefined) {
    throw new MsSignError('USAGE', '-p names the public key of a signing command (--signer-cmd or MS_SIGN_SIGNER_CMD)');
  }
  if (flags.signerTimeout !== undefined && command === undefined) throw new MsSignError('USAGE', '--signer-timeout applies to a signing command only');

  if (flags.pkcs11 !== undefined) {
    const uri = parsePkcs11Uri(flags.pkcs11);
    const signer = await openPkcs11Signer(uri, pkcs11Options(uri, io));
    return { signer, close: () => signer.close() };
  }
  if (command !== undefined) {
    if (flags.publicKey === undefined) {
      throw new MsSignError('USAGE', "a signing command needs its public key: -p FILE (ms-sign checks every signature against it before writing)");
    }
    const publicKey = loadPublicKey(flags.publicKey, io);
    const timeoutSeconds = flags.signerTimeout ?? SIGNER_COMMAND_LIMITS.timeoutMs / 1000;
    if (timeoutSeconds < 1 || timeoutSeconds * 1000 > SIGNER_COMMAND_LIMITS.maxTimeoutMs) {
      throw new MsSignError('USAGE', `--signer-timeout: expected 1 to ${SIGNER_COMMAND_LIMITS.maxTimeoutMs / 1000} seconds`);
    }
    const env = { ...io.env };
    for (const name of SECRET_VARIABLES) delete env[name];
    const signer = commandSigner({
      argv: splitCommandLine(command),
      algorithm: 'ed25519',
      publicKey: publicKey.bytes,
      keyId: publicKey.keyId,
      timeoutMs: timeoutSeconds * 1000,
      env,
      cwd: io.cwd,
      stderr: io.stderr,
    });
    return { signer, close: () => undefined };
  }
  return { signer: await loadSigner(flags.key, io), close: () => undefined };
}

/**
 * The module and PIN for a token: the URI's module-path, else MS_SIGN_PKCS11_MODULE; the URI's
 * pin-value, else MS_SIGN_PKCS11_PIN, else a prompt (asked only if the token wants a login).
 */
export function pkcs11Options(uri: Pkcs11Uri, io: CliIo): Pkcs11Options {
  const modulePath = uri.modulePath ?? nonEmpty(io.env.MS_SIGN_PKCS11_MODULE);
  if (modulePath === undefined) {
    throw new MsSignError('PKCS11_UNAVAILABLE', 'no PKCS#11 module: add module-path=/path/to/module.so to the URI, or set MS_SIGN_PKCS11_MODULE');
  }
  // Loading a library runs its code: a relative path would load whatever sits in the working
  // directory (perhaps the model being signed) under that name.
  if (!isAbsolute(modulePath)) throw new MsSignError('USAGE', `the PKCS#11 module path must be absolute, got ${JSON.stringify(modulePath)}`);
  return { modulePath, pin: () => pinFor(io, uri.redacted) };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
