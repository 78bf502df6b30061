import {
  addPublisherKey,
  describeRule,
  describeWindow,
  EMPTY_POLICY_DOCUMENT,
  MsSignError,
  removePublisher,
  removeRule,
  revokeKey,
  setRule,
  type PolicyEdit,
  type TrustPolicyDocument,
} from '@ms-sign/core';
import { locateTrustPolicy, readTrustPolicyFile, writeTrustPolicyFile, type TrustPolicyLocation } from '@ms-sign/core/node';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { printable, writeLine, type CliIo } from '../io.js';
import { loadPublicKey } from '../keys.js';
import { originLabel } from '../trust.js';
import { printJson } from '../output.js';

interface TrustFileOptions {
  readonly trust?: string;
  readonly json?: boolean;
}

/**
 * The policy file a trust command works on. Editing commands take the file verify would apply
 * (-t, MS_SIGN_TRUST, ./.ms-sign/trust.json, $XDG_CONFIG_HOME/ms-sign/trust.json), so what is
 * edited is what is enforced. `init` creates -t, else MS_SIGN_TRUST, else ./.ms-sign/trust.json.
 */
function policyLocation(options: TrustFileOptions, io: CliIo, forInit: boolean): TrustPolicyLocation {
  if (forInit) {
    if (options.trust !== undefined) return { path: resolve(io.cwd, options.trust), origin: 'explicit' };
    if (io.env.MS_SIGN_TRUST) return { path: resolve(io.cwd, io.env.MS_SIGN_TRUST), origin: 'MS_SIGN_TRUST' };
    return { path: resolve(io.cwd, '.ms-sign', 'trust.json'), origin: './.ms-sign/trust.json' };
  }
  const found = locateTrustPolicy(options.trust, io.env, io.cwd);
  if (found) return found;
  throw new MsSignError(
    'BAD_TRUST_POLICY',
    'no trust policy found (-t, MS_SIGN_TRUST, ./.ms-sign/trust.json, $XDG_CONFIG_HOME/ms-sign/trust.json); create one with "ms-sign trust init"',
  );
}

/**
 * Applies an edit (a pure function of core's policy/edit.ts, which refuses a change that would
 * leave a policy verify refuses) and writes the policy atomically. `hint` is added to a refusal.
 */
function edit(options: TrustFileOptions, io: CliIo, change: (doc: TrustPolicyDocument) => PolicyEdit, hint = ''): number {
  const { path } = policyLocation(options, io, false);
  const { document } = readTrustPolicyFile(path);
  let result: PolicyEdit;
  try {
    result = change(document);
  } catch (error) {
    if (!(error instanceof MsSignError) || error.code !== 'USAGE') throw error;
    throw new MsSignError('USAGE', `${error.message}${hint}`, { path, field: error.field, cause: error });
  }
  writeTrustPolicyFile(path, result.document, { overwrite: true });
  if (options.json) printJson(io, { ok: true, path, change: result.summary, errors: [] });
  else writeLine(io.stdout, `${printable(result.summary)} (${printable(path)})`);
  return 0;
}

export async function trustInit(options: TrustFileOptions, io: CliIo): Promise<number> {
  const { path } = policyLocation(options, io, true);
  mkdirSync(dirname(path), { recursive: true });
  try {
    writeTrustPolicyFile(path, structuredClone(EMPTY_POLICY_DOCUMENT), { overwrite: false });
  } catch (error) {
    if (!(error instanceof MsSignError) || error.code !== 'FILE_EXISTS') throw error;
    throw new MsSignError('FILE_EXISTS', `trust policy ${path} already exists; edit it with "ms-sign trust add|rule|revoke", or give another file with -t`, { path });
  }
  if (options.json) printJson(io, { ok: true, path, errors: [] });
  else writeLine(io.stdout, `Created trust policy ${printable(path)}; add publishers with "ms-sign trust add NAME -p KEY.pub"`);
  return 0;
}

interface TrustAddOptions extends TrustFileOptions {
  readonly publicKey: string;
  readonly models: readonly string[];
  readonly notBefore?: string;
  readonly notAfter?: string;
}

/**
 * `trust add NAME -p KEY`: a new publisher (scope `--models`, default every model name), or a
 * key added to an existing one. Scopes belong to publishers, so `--models` on an existing
 * publisher widens its scope (the new scope is printed). Adding a key the publisher already has
 * sets its validity window to the --not-before/--not-after given: that is how a rotated-out key
 * gets its end date.
 */
export async function trustAdd(name: string, options: TrustAddOptions, io: CliIo): Promise<number> {
  const key = loadPublicKey(options.publicKey, io);
  const window = {
    ...(options.notBefore === undefined ? {} : { notBefore: options.notBefore }),
    ...(options.notAfter === undefined ? {} : { notAfter: options.notAfter }),
  };
  return edit(options, io, (doc) => addPublisherKey(doc, name, key, { models: options.models, ...window }));
}

export async function trustRemove(name: string, options: TrustFileOptions, io: CliIo): Promise<number> {
  return edit(options, io, (doc) => removePublisher(doc, name), ' (see "ms-sign trust list")');
}

interface TrustRevokeOptions extends TrustFileOptions {
  readonly reason?: string;
}

/** `trust revoke KEYID`: from now on every signature by the key fails verification (REVOKED_KEY). */
export async function trustRevoke(keyIdArg: string, options: TrustRevokeOptions, io: CliIo): Promise<number> {
  const now = Math.floor(Date.now() / 1000);
  return edit(options, io, (doc) => revokeKey(doc, keyIdArg, now, options.reason));
}

interface TrustRuleOptions extends TrustFileOptions {
  readonly threshold?: number;
  /** A duration, or false for --no-max-age. */
  readonly maxAge?: string | false;
  /** true for --require-expiry, false for --no-require-expiry. */
  readonly requireExpiry?: boolean;
  readonly remove?: boolean;
  /** Scan mode for matching models, or 'default' to drop the rule's own mode. */
  readonly scan?: 'off' | 'no-unsafe' | 'clean' | 'default';
  readonly scanAllowUnknown?: readonly string[];
  readonly scanWaive?: readonly string[];
}

/**
 * `trust rule GLOB`: creates or updates the rule for GLOB; only the settings given change.
 * `--no-max-age` and `--no-require-expiry` lift a setting, `--remove` drops the rule.
 */
export async function trustRule(glob: string, options: TrustRuleOptions, io: CliIo): Promise<number> {
  const scanSettings = options.scan !== undefined || (options.scanAllowUnknown?.length ?? 0) > 0 || (options.scanWaive?.length ?? 0) > 0;
  if (options.remove) {
    if (options.threshold !== undefined || options.maxAge !== undefined || options.requireExpiry !== undefined || scanSettings) {
      throw new MsSignError('USAGE', '--remove takes no other rule setting');
    }
    return edit(options, io, (doc) => removeRule(doc, glob), ' (see "ms-sign trust list")');
  }
  const settings = {
    ...(options.threshold === undefined ? {} : { threshold: options.threshold }),
    ...(options.maxAge === undefined ? {} : { maxAge: options.maxAge }),
    ...(options.requireExpiry === undefined ? {} : { requireExpiry: options.requireExpiry }),
    ...(options.scan === undefined ? {} : { scan: options.scan === 'default' ? null : options.scan }),
    ...(options.scanAllowUnknown?.length ? { scanAllowUnknown: options.scanAllowUnknown } : {}),
    ...(options.scanWaive?.length ? { scanWaive: options.scanWaive } : {}),
  };
  return edit(options, io, (doc) => setRule(doc, glob, settings));
}

/** `trust list`: the policy as verify applies it, defaults filled in. */
export async function trustList(options: TrustFileOptions, io: CliIo): Promise<number> {
  const location = policyLocation(options, io, false);
  const { path } = location;
  const origin = originLabel(location.origin);
  const { document, policy } = readTrustPolicyFile(path);
  const ownerOf = new Map<string, string>();
  const publishers = policy.publishers.map((p, i) => ({
    name: p.name,
    models: document.publishers[i]!.models,
    keys: p.keys.map((k, j) => {
      ownerOf.set(k.publicKey.keyId, p.name);
      return {
        keyId: k.publicKey.keyId,
        publicKey: document.publishers[i]!.keys[j]!.publicKey,
        notBefore: document.publishers[i]!.keys[j]!.notBefore ?? null,
        notAfter: document.publishers[i]!.keys[j]!.notAfter ?? null,
        revoked: policy.revoked.has(k.publicKey.keyId),
      };
    }),
  }));
  const revoked = document.revoked.map((r) => ({ keyId: r.keyId, publisher: ownerOf.get(r.keyId) ?? null, revokedAt: r.revokedAt ?? null, reason: r.reason ?? null }));
  const rules = document.rules.map((r) => ({
    models: r.models,
    threshold: r.threshold ?? 1,
    maxAge: r.maxAge ?? null,
    requireExpiry: r.requireExpiry ?? false,
    scan: r.scan ?? null,
    scanAllowUnknown: r.scanAllowUnknown ?? [],
    scanWaive: r.scanWaive ?? [],
  }));
  if (options.json) {
    printJson(io, { ok: true, path, origin, publishers, revoked, rules, errors: [] });
    return 0;
  }
  const out = (line: string) => writeLine(io.stdout, line);
  out(`Trust policy ${printable(path)} (found by ${origin})`);
  out(publishers.length === 0 ? 'Publishers: none' : 'Publishers:');
  for (const p of publishers) {
    out(`  ${printable(p.name)}  models: ${p.models.map(printable).join(', ')}`);
    for (const k of p.keys) out(`    key ${k.keyId}${describeWindow({ notBefore: k.notBefore ?? undefined, notAfter: k.notAfter ?? undefined })}${k.revoked ? '  REVOKED' : ''}`);
  }
  out(revoked.length === 0 ? 'Revoked keys: none' : 'Revoked keys:');
  for (const r of revoked) {
    out(`  ${r.keyId}${r.publisher ? `  (${printable(r.publisher)})` : ''}${r.revokedAt ? `  ${r.revokedAt}` : ''}${r.reason ? `  ${printable(r.reason)}` : ''}`);
  }
  out(rules.length === 0 ? 'Rules: none (every model: threshold 1)' : 'Rules (all matching rules apply; the strictest setting wins):');
  for (const r of rules) out(`  "${printable(r.models)}"  ${describeRule({ threshold: r.threshold, ...(r.maxAge ? { maxAge: r.maxAge } : {}), requireExpiry: r.requireExpiry, ...(r.scan ? { scan: r.scan } : {}), scanAllowUnknown: r.scanAllowUnknown, scanWaive: r.scanWaive })}`);
  return 0;
}
