import { MsSignError } from '@ms-sign/core';
import type { CliIo } from './io.js';

/**
 * The passphrase of an encrypted key: MS_SIGN_PASSPHRASE, else a prompt on the terminal. Never a
 * command-line flag: argv is visible to every user of the machine (ps, /proc).
 */
export async function passphraseFor(io: CliIo, keyName: string): Promise<string> {
  const fromEnv = io.env.MS_SIGN_PASSPHRASE;
  if (fromEnv !== undefined) return fromEnv;
  if (io.stdin.isTTY !== true || typeof io.stdin.setRawMode !== 'function') {
    throw new MsSignError('PASSPHRASE_REQUIRED', `${keyName} is encrypted: set MS_SIGN_PASSPHRASE or run on a terminal to be asked`);
  }
  return prompt(io, `Passphrase for ${keyName}: `);
}

/** A new passphrase for keygen, asked twice; or MS_SIGN_PASSPHRASE. */
export async function newPassphrase(io: CliIo): Promise<string> {
  const fromEnv = io.env.MS_SIGN_PASSPHRASE;
  if (fromEnv !== undefined) {
    if (fromEnv === '') throw new MsSignError('USAGE', 'MS_SIGN_PASSPHRASE is empty; use --no-passphrase for an unencrypted key');
    return fromEnv;
  }
  if (io.stdin.isTTY !== true || typeof io.stdin.setRawMode !== 'function') {
    throw new MsSignError('PASSPHRASE_REQUIRED', 'no passphrase: set MS_SIGN_PASSPHRASE, run on a terminal to be asked, or use --no-passphrase');
  }
  const first = await prompt(io, 'Passphrase for the new secret key: ');
  if (first === '') throw new MsSignError('USAGE', 'empty passphrase; use --no-passphrase for an unencrypted key');
  const second = await prompt(io, 'Same passphrase again: ');
  if (first !== second) throw new MsSignError('USAGE', 'the passphrases differ; nothing was written');
  return first;
}

/**
 * The user PIN of a PKCS#11 token (after the URI's pin-value): MS_SIGN_PKCS11_PIN, else a prompt
 * on the terminal. Asked only when the token wants a login; never echoed, never printed.
 */
export async function pinFor(io: CliIo, token: string): Promise<string> {
  const fromEnv = io.env.MS_SIGN_PKCS11_PIN;
  if (fromEnv !== undefined) return fromEnv;
  if (io.stdin.isTTY !== true || typeof io.stdin.setRawMode !== 'function') {
    throw new MsSignError('PKCS11_LOGIN_FAILED', `${token} needs a PIN: set MS_SIGN_PKCS11_PIN, or run on a terminal to be asked`);
  }
  return prompt(io, `PIN for ${token}: `);
}

/** Reads a line from the terminal without echoing it. Ctrl-C or Ctrl-D cancels. */
function prompt(io: CliIo, question: string): Promise<string> {
  const stdin = io.stdin;
  // Echo off before the prompt shows: text typed (or pasted) right after it must not be echoed.
  stdin.setRawMode!(true);
  io.stderr.write(question);
  return new Promise((resolve, reject) => {
    let answer = '';
    const done = (error?: Error) => {
      stdin.setRawMode!(false);
      stdin.pause();
      stdin.off('data', onData);
      io.stderr.write('\n');
      if (error) reject(error);
      else resolve(answer);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003' || ch === '\u0004') return done(new MsSignError('PASSPHRASE_REQUIRED', 'cancelled; nothing was written'));
        if (ch === '\u007f' || ch === '\b') answer = answer.slice(0, -1);
        else answer += ch;
      }
    };
    stdin.resume();
    stdin.on('data', onData);
  });
}
