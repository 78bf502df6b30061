import { lstatSync, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { MsSignError } from '../errors.js';
import { LIMITS } from '../limits.js';
import { parseTrustPolicy, type TrustPolicy, type TrustPolicyDocument } from '../policy/policy.js';
import { emptyRollbackState, mergeRollbackState, type RollbackRecord, type RollbackState } from '../verify/rollback.js';
import { readBoundedFile, writeFileAtomic } from './files.js';

/** Where a trust policy was found, in lookup order (SPEC section 4). */
export type TrustPolicyOrigin = 'explicit' | 'MS_SIGN_TRUST' | './.ms-sign/trust.json' | '$XDG_CONFIG_HOME/ms-sign/trust.json';

/** A trust policy file and how it was found. */
export interface TrustPolicyLocation {
  readonly path: string;
  readonly origin: TrustPolicyOrigin;
}

/**
 * Finds the trust policy: the file given (`explicit`, origin "explicit"), else `MS_SIGN_TRUST`, else `./.ms-sign/trust.json`, else
 * `$XDG_CONFIG_HOME/ms-sign/trust.json`. The first two must exist when given (a policy named on
 * purpose and missing is an error, never a silent fall-through to a weaker one); the last two are
 * used only when present. As the XDG Base Directory spec says, XDG_CONFIG_HOME defaults to
 * ~/.config and a relative value is ignored.
 */
export function locateTrustPolicy(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv,
  cwd: string,
  exists: (path: string) => boolean = entryExists,
): TrustPolicyLocation | undefined {
  if (explicit !== undefined) return { path: resolve(cwd, explicit), origin: 'explicit' };
  if (env.MS_SIGN_TRUST) return { path: resolve(cwd, env.MS_SIGN_TRUST), origin: 'MS_SIGN_TRUST' };
  const local = resolve(cwd, '.ms-sign', 'trust.json');
  if (exists(local)) return { path: local, origin: './.ms-sign/trust.json' };
  const user = userTrustPolicyPath(env);
  if (exists(user)) return { path: user, origin: '$XDG_CONFIG_HOME/ms-sign/trust.json' };
  return undefined;
}

/**
 * Whether a directory entry exists at `path`. A dangling symlink or an unreadable file counts as
 * present: reading it then fails (BAD_TRUST_POLICY) instead of silently falling through to the
 * next, possibly weaker, policy in the lookup order.
 */
function entryExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** `$XDG_CONFIG_HOME/ms-sign/trust.json`, with XDG_CONFIG_HOME defaulting to ~/.config. */
export function userTrustPolicyPath(env: NodeJS.ProcessEnv): string {
  const configHome = env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(env.HOME || homedir(), '.config');
  return join(configHome, 'ms-sign', 'trust.json');
}

/** Reads and checks a trust policy file. @throws MsSignError BAD_TRUST_POLICY */
export function readTrustPolicyFile(path: string): { document: TrustPolicyDocument; policy: TrustPolicy } {
  let bytes: Uint8Array | undefined;
  try {
    bytes = readBoundedFile(path, LIMITS.trustPolicyBytes, 'BAD_TRUST_POLICY', 'trust policy');
  } catch (error) {
    if (error instanceof MsSignError && error.code === 'IO_ERROR') throw new MsSignError('BAD_TRUST_POLICY', error.message, { path, cause: error });
    throw error;
  }
  if (bytes === undefined) {
    throw new MsSignError('BAD_TRUST_POLICY', `trust policy ${path} not found; create one with "ms-sign trust init"`, { path });
  }
  return parseTrustPolicy(Buffer.from(bytes).toString('utf8'), path);
}

/**
 * Writes a policy atomically (a crash leaves the old policy or the new one). A policy file that is
 * a symbolic link (e.g. into a dotfiles repository) is replaced at its target, not unlinked.
 */
export function writeTrustPolicyFile(path: string, document: TrustPolicyDocument, options: { overwrite: boolean }): void {
  writeFileAtomic(options.overwrite ? followLink(path) : path, `${JSON.stringify(document, null, 2)}\n`, { overwrite: options.overwrite, mode: 0o644 });
}

function followLink(path: string): string {
  try {
    return lstatSync(path).isSymbolicLink() ? realpathSync(path) : path;
  } catch {
    return path;
  }
}

/** Reads a rollback state file; a missing file is an empty state. @throws MsSignError BAD_STATE_FILE */
export function readRollbackState(path: string): RollbackState {
  const bytes = readBoundedFile(path, LIMITS.stateFileBytes, 'BAD_STATE_FILE', 'state file');
  if (bytes === undefined) return emptyRollbackState();
  const fail = (why: string): never => {
    throw new MsSignError('BAD_STATE_FILE', `state file ${path}: ${why}; fix or remove it (removing it forgets which versions were seen)`, { path });
  };
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return fail('not valid JSON');
  }
  if (typeof json !== 'object' || json === null || (json as { version?: unknown }).version !== 1) return fail('expected {"version": 1, "models": {...}}');
  const models = (json as { models?: unknown }).models;
  if (typeof models !== 'object' || models === null || Array.isArray(models)) return fail('"models" must be an object');
  const state = emptyRollbackState();
  for (const [name, record] of Object.entries(models)) {
    const r = record as Partial<RollbackRecord> | null;
    if (typeof r !== 'object' || r === null || !Number.isSafeInteger(r.created) || (r.version !== undefined && typeof r.version !== 'string')) {
      fail(`models[${JSON.stringify(name)}] must be {"version"?: string, "created": integer}`);
    }
    state.models[name] = { ...(r!.version === undefined ? {} : { version: r!.version }), created: r!.created! };
  }
  return state;
}

/**
 * Writes the rollback state atomically, merged with what the file holds now: another verify may
 * have recorded a newer model since `state` was read, and the state must never move back. (This
 * narrows the window between two concurrent verifies to the write itself; it is not a lock.)
 */
export function writeRollbackState(path: string, state: RollbackState): void {
  const current = readRollbackState(path);
  mergeRollbackState(current, state);
  writeFileAtomic(followLink(path), `${JSON.stringify(current, null, 2)}\n`, { overwrite: true, mode: 0o644 });
}
