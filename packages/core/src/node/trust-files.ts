import { closeSync, constants, lstatSync, openSync, readFileSync, realpathSync, rmSync, statSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { MsSignError } from '../errors.js';
import { LIMITS } from '../limits.js';
import { JsonError, parseStrictJson, toPlainJson } from '../format/json.js';
import { parseTrustPolicy, type TrustPolicy, type TrustPolicyDocument } from '../policy/policy.js';
import { emptyRollbackState, mergeRollbackState, type RollbackRecord, type RollbackState } from '../verify/rollback.js';
import { readBoundedFile, writeFileAtomic } from './files.js';

/** Where a trust policy was found, in lookup order (docs/trust-policy.md). */
export type TrustPolicyOrigin = 'explicit' | 'MS_SIGN_TRUST' | '$XDG_CONFIG_HOME/ms-sign/trust.json' | '/etc/ms-sign/trust.json';

/** A trust policy file and how it was found. */
export interface TrustPolicyLocation {
  readonly path: string;
  readonly origin: TrustPolicyOrigin;
}

/** The system-wide policy, used when neither the caller nor the user names one. */
export const SYSTEM_TRUST_POLICY_PATH = '/etc/ms-sign/trust.json';

export interface LocateTrustPolicyOptions {
  /**
   * The system-wide policy file (default SYSTEM_TRUST_POLICY_PATH). An option of the library, not
   * an environment variable: an inherited environment must not choose what is trusted beyond
   * MS_SIGN_TRUST, which names a policy on purpose.
   */
  readonly systemPath?: string;
}

/**
 * Finds the trust policy: the file given (`explicit`, origin "explicit"), else `MS_SIGN_TRUST`,
 * else `$XDG_CONFIG_HOME/ms-sign/trust.json`, else `/etc/ms-sign/trust.json`. Never the current
 * directory or the model: whoever can write there (a model bundle, a shared working directory)
 * would choose what verifies. The first two must exist when given (a policy named on purpose and
 * missing is an error, never a silent fall-through to a weaker one); the last two are used only
 * when present. As the XDG Base Directory spec says, XDG_CONFIG_HOME defaults to ~/.config and a
 * relative value is ignored.
 */
export function locateTrustPolicy(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv,
  cwd: string,
  options: LocateTrustPolicyOptions = {},
): TrustPolicyLocation | undefined {
  if (explicit !== undefined) return { path: resolve(cwd, explicit), origin: 'explicit' };
  if (env.MS_SIGN_TRUST) return { path: resolve(cwd, env.MS_SIGN_TRUST), origin: 'MS_SIGN_TRUST' };
  const user = userTrustPolicyPath(env);
  if (entryExists(user)) return { path: user, origin: '$XDG_CONFIG_HOME/ms-sign/trust.json' };
  const system = options.systemPath ?? SYSTEM_TRUST_POLICY_PATH;
  if (entryExists(system)) return { path: system, origin: '/etc/ms-sign/trust.json' };
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

/**
 * Refuses a policy or state file that someone else could have written, as ssh refuses such
 * config files: the file, and every directory above it (both as named and as its symlinks
 * resolve), must belong to the caller or root and be writable by neither group nor others. A
 * world-writable directory with the sticky bit (/tmp) is accepted: others cannot replace our
 * entries in it. `stats` are those of the open file, so the file checked is the file read.
 *
 * @throws MsSignError INSECURE_POLICY_FILE
 */
export function checkPolicyFileOwnership(path: string, what: string, stats?: { mode: number; uid: number }): void {
  if (process.platform === 'win32' || typeof process.getuid !== 'function') return;
  const uid = process.getuid();
  const refuse = (target: string, why: string, fix: string): never => {
    throw new MsSignError('INSECURE_POLICY_FILE', `${what} ${path}: ${target} ${why}, so another user could choose what verifies; run: ${fix}`, { path });
  };
  const check = (target: string, entry: { mode: number; uid: number }, isDirectory: boolean) => {
    if (entry.uid !== uid && entry.uid !== 0) refuse(isDirectory ? `its directory ${target}` : 'it', `is owned by uid ${entry.uid}, not by you (uid ${uid}) or root`, `chown ${uid} ${target}`);
    const sticky = isDirectory && (entry.mode & 0o1000) !== 0 && (entry.mode & 0o002) !== 0;
    if ((entry.mode & 0o022) !== 0 && !sticky) {
      refuse(isDirectory ? `its directory ${target}` : 'it', `is writable by ${(entry.mode & 0o020) !== 0 ? 'group' : 'others'} (mode ${(entry.mode & 0o7777).toString(8).padStart(4, '0')})`, `chmod go-w ${target}`);
    }
  };
  if (stats !== undefined) check(path, stats, false);
  const directories = new Set<string>();
  const addAncestors = (file: string) => {
    for (let dir = dirname(file); ; dir = dirname(dir)) {
      directories.add(dir);
      if (dirname(dir) === dir) break;
    }
  };
  const absolute = resolve(path);
  addAncestors(absolute);
  try {
    addAncestors(realpathSync(absolute));
  } catch {
    // Missing (a state file not written yet): its directories as named are what matter.
  }
  for (const dir of directories) {
    let entry: { mode: number; uid: number };
    try {
      entry = statSync(dir);
    } catch {
      continue; // a missing directory: the read or write reports it
    }
    check(dir, entry, true);
  }
}

/** Reads and checks a trust policy file. @throws MsSignError BAD_TRUST_POLICY */
export function readTrustPolicyFile(path: string): { document: TrustPolicyDocument; policy: TrustPolicy } {
  let bytes: Uint8Array | undefined;
  try {
    bytes = readBoundedFile(path, LIMITS.trustPolicyBytes, 'BAD_TRUST_POLICY', 'trust policy', (stats) => checkPolicyFileOwnership(path, 'trust policy', stats));
  } catch (error) {
    if (error instanceof MsSignError && error.code === 'IO_ERROR') throw new MsSignError('BAD_TRUST_POLICY', error.message, { path, cause: error });
    throw error;
  }
  if (bytes === undefined) {
    throw new MsSignError('BAD_TRUST_POLICY', `trust policy ${path} not found; create one with "ms-sign trust init"`, { path });
  }
  return parseTrustPolicy(bytes, path);
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
  const bytes = readBoundedFile(path, LIMITS.stateFileBytes, 'BAD_STATE_FILE', 'state file', (stats) => checkPolicyFileOwnership(path, 'state file', stats));
  if (bytes === undefined) {
    // Not written yet: where it will be written must be as safe as the file itself.
    checkPolicyFileOwnership(path, 'state file');
    return emptyRollbackState();
  }
  const fail = (why: string): never => {
    throw new MsSignError('BAD_STATE_FILE', `state file ${path}: ${why}; fix or remove it (removing it forgets which versions were seen)`, { path });
  };
  let json: unknown;
  try {
    json = toPlainJson(parseStrictJson(bytes));
  } catch (error) {
    if (!(error instanceof JsonError)) throw error;
    return fail(error.duplicate === undefined ? 'not valid JSON' : `${error.duplicate} is given twice`);
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
 * have recorded a newer model since `state` was read, and the state must never move back. The
 * read, merge and rename happen under a lock file (`STATE.lock`, created with O_EXCL), so two
 * verifies running at once cannot each merge into the same old state and the later rename undo
 * the earlier one.
 */
export function writeRollbackState(path: string, state: RollbackState): void {
  const target = followLink(path);
  withLockFile(`${target}.lock`, () => {
    const current = readRollbackState(path);
    mergeRollbackState(current, state);
    writeFileAtomic(target, `${JSON.stringify(current, null, 2)}\n`, { overwrite: true, mode: 0o644 });
  });
}

/** How long a verify waits for another to finish its state update, and when a lock is stale. */
const LOCK_WAIT_MS = 15_000;
const LOCK_STALE_MS = 10_000;

/**
 * Runs `work` while holding `lockPath`, created with O_EXCL and holding our pid. A lock whose
 * process is gone (same host) or that is older than LOCK_STALE_MS (a holder needs milliseconds)
 * was left by a crash and is removed. Waits at most LOCK_WAIT_MS.
 */
function withLockFile(lockPath: string, work: () => void): void {
  const deadline = Date.now() + LOCK_WAIT_MS;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    let fd: number | undefined;
    try {
      fd = openSync(lockPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new MsSignError('IO_ERROR', `cannot lock ${lockPath}: ${(error as Error).message}`, { path: lockPath, cause: error });
      }
    }
    if (fd !== undefined) {
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      try {
        work();
      } finally {
        rmSync(lockPath, { force: true });
      }
      return;
    }
    if (isStaleLock(lockPath)) {
      rmSync(lockPath, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new MsSignError('IO_ERROR', `${lockPath} is held by another verify; if none is running, remove it`, { path: lockPath });
    }
    Atomics.wait(pause, 0, 0, 5 + Math.floor(Math.random() * 20));
  }
}

function isStaleLock(lockPath: string): boolean {
  try {
    const stats = lstatSync(lockPath);
    if (Date.now() - stats.mtimeMs > LOCK_STALE_MS) return true;
    const pid = Number.parseInt(readFileSync(lockPath, 'utf8'), 10);
    if (!Number.isSafeInteger(pid) || pid <= 0) return false; // being written: not stale yet
    try {
      process.kill(pid, 0);
      return false;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ESRCH';
    }
  } catch {
    return false; // gone already: try again
  }
}
