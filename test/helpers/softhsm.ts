/**
 * Real SoftHSM2 tokens for the PKCS#11 and signing-command tests. Each token lives in a fresh
 * temporary directory named by its own SOFTHSM2_CONF, so tests never see a machine's tokens.
 *
 * These tests do not skip: CI installs softhsm2 and opensc (.ci/run). Where they are missing the
 * helpers throw, and every test that needs a token fails with the message below.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './index.js';

/** Debian's softhsm2 installs the module in both places (one is a link). */
const MODULE_CANDIDATES = ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so', '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so', '/usr/local/lib/softhsm/libsofthsm2.so'];

const MISSING = 'SoftHSM2 and OpenSC are required for these tests: apt-get install -y softhsm2 opensc (.ci/run installs them)';

export function softhsmModule(): string {
  const found = MODULE_CANDIDATES.find((path) => existsSync(path));
  if (found === undefined) throw new Error(`${MISSING}; no libsofthsm2.so in ${MODULE_CANDIDATES.join(', ')}`);
  return found;
}

export const USER_PIN = '4711-user-pin';
export const SO_PIN = '0815-so-pin';

export interface SoftToken {
  /** The SOFTHSM2_CONF file naming this token's directory. */
  readonly conf: string;
  readonly module: string;
  readonly label: string;
  readonly pin: string;
  /** Environment for child processes (pkcs11-tool, softhsm2-util, the CLI). */
  readonly env: Record<string, string>;
}

/**
 * Initialises a token labelled `label` in a new temporary directory. `extraConfig` lines are
 * added to softhsm2.conf (e.g. "slots.mechanisms = -CKM_EDDSA" for a token without EdDSA).
 */
export function makeToken(t: { after: (fn: () => void) => void }, label = 'release', extraConfig: readonly string[] = []): SoftToken {
  const module = softhsmModule();
  const dir = tempDir(t, 'ms-sign-softhsm-');
  const tokens = join(dir, 'tokens');
  mkdirSync(tokens);
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, [`directories.tokendir = ${tokens}`, 'objectstore.backend = file', 'log.level = ERROR', ...extraConfig, ''].join('\n'));
  const env = { SOFTHSM2_CONF: conf };
  tool('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', USER_PIN, '--so-pin', SO_PIN], env);
  return { conf, module, label, pin: USER_PIN, env };
}

/** Runs a tool from softhsm2 or opensc and throws (with its output) unless it exits 0. */
export function tool(command: string, args: readonly string[], env: Record<string, string>, input?: Uint8Array): Buffer {
  const r = spawnSync(command, args, { env: { ...process.env, ...env }, ...(input === undefined ? {} : { input }), timeout: 60_000 });
  if (r.error) throw new Error(`${command} could not run (${r.error.message}). ${MISSING}`);
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${r.status}: ${r.stderr.toString()}${r.stdout.toString()}`);
  return r.stdout;
}

/** pkcs11-tool against `token`, logged in with the user PIN. */
export function pkcs11Tool(token: SoftToken, args: readonly string[], input?: Uint8Array): Buffer {
  return tool('pkcs11-tool', ['--module', token.module, '--token-label', token.label, '--login', '--pin', token.pin, ...args], token.env, input);
}
