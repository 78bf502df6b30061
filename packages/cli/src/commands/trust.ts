import {
  checkGlob,
  checkTrustPolicy,
  EMPTY_POLICY_DOCUMENT,
  locateTrustPolicy,
  MsSignError,
  parseDate,
  parseDuration,
  publicKeyToDocument,
  readTrustPolicyFile,
  writeTrustPolicyFile,
  type KeyDocument,
  type TrustPolicyDocument,
  type TrustPolicyLocation,
} from '@ms-sign/core';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { printable, writeLine, type CliIo } from '../io.js';
import { loadPublicKey } from '../keys.js';
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
    if (options.trust !== undefined) return { path: resolve(io.cwd, options.trust), origin: '-t' };
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
 * Applies an edit and writes the policy atomically, only after the result passed the same schema
 * and checks as a policy verify loads: an edit can never leave a policy verify refuses.
 */
function edit(options: TrustFileOptions, io: CliIo, change: (doc: TrustPolicyDocument) => string): number {
  const { path } = policyLocation(options, io, false);
  const { document } = readTrustPolicyFile(path);
  const summary = change(document);
  try {
    checkTrustPolicy(document, path);
  } catch (error) {
    if (!(error instanceof MsSignError) || error.code !== 'BAD_TRUST_POLICY') throw error;
    throw new MsSignError('USAGE', `refusing the change, the policy would be invalid: ${error.message}`, { path, field: error.field });
  }
  writeTrustPolicyFile(path, document, { overwrite: true });
  if (options.json) printJson(io, { ok: true, path, change: summary, errors: [] });
  else writeLine(io.stdout, `${printable(summary)} (${printable(path)})`);
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
  for (const [flag, value] of [['--not-before', options.notBefore], ['--not-after', options.notAfter]] as const) {
    if (value !== undefined && parseDate(value) === undefined) throw new MsSignError('USAGE', `${flag} ${JSON.stringify(value)}: expected a date such as 2027-01-31 or 2027-01-31T12:00:00Z`);
  }
  for (const glob of options.models) {
    const why = checkGlob(glob);
    if (why) throw new MsSignError('USAGE', `--models ${JSON.stringify(glob)}: ${why}`);
  }
  const publicKey = publicKeyToDocument(key);
  return edit(options, io, (doc) => {
    const owner = doc.publishers.find((p) => p.name !== name && p.keys.some((k) => k.publicKey === publicKey));
    // One key, one publisher: otherwise a single signature could count for two publishers.
    if (owner) throw new MsSignError('USAGE', `key ${key.keyId} already belongs to publisher ${owner.name}; one key can serve one publisher only`);
    const existing = doc.publishers.find((p) => p.name === name);
    if (!existing) {
      const models = options.models.length > 0 ? [...new Set(options.models)] : ['**'];
      doc.publishers.push({ name, models, keys: [withWindow({ publicKey }, options)] });
      return `Added publisher ${name} with key ${key.keyId}${describeWindow(options)}, for models ${models.join(', ')}`;
    }
    const changes: string[] = [];
    const index = existing.keys.findIndex((k) => k.publicKey === publicKey);
    if (index < 0) {
      existing.keys.push(withWindow({ publicKey }, options));
      changes.push(`added key ${key.keyId}${describeWindow(options)}`);
    } else if (options.notBefore !== undefined || options.notAfter !== undefined) {
      const updated = withWindow(existing.keys[index]!, options);
      existing.keys[index] = updated;
      changes.push(`key ${key.keyId} now valid${describeWindow(updated) || ' at any time'}`);
    }
    const widened = options.models.filter((g) => !existing.models.includes(g));
    if (widened.length > 0) {
      existing.models.push(...new Set(widened));
      changes.push(`models now ${existing.models.join(', ')}`);
    }
    if (changes.length === 0) return `Publisher ${name} already has key ${key.keyId}; nothing changed`;
    return `Publisher ${name}: ${changes.join('; ')}`;
  });
}

function withWindow(key: KeyDocument, window: { readonly notBefore?: string; readonly notAfter?: string }): KeyDocument {
  const notBefore = window.notBefore ?? key.notBefore;
  const notAfter = window.notAfter ?? key.notAfter;
  return { publicKey: key.publicKey, ...(notBefore === undefined ? {} : { notBefore }), ...(notAfter === undefined ? {} : { notAfter }) };
}

function describeWindow(window: { readonly notBefore?: string | undefined; readonly notAfter?: string | undefined }): string {
  const parts = [window.notBefore === undefined ? '' : `from ${window.notBefore}`, window.notAfter === undefined ? '' : `until ${window.notAfter}`].filter(Boolean);
  return parts.length === 0 ? '' : ` ${parts.join(' ')}`;
}

export async function trustRemove(name: string, options: TrustFileOptions, io: CliIo): Promise<number> {
  return edit(options, io, (doc) => {
    const index = doc.publishers.findIndex((p) => p.name === name);
    if (index < 0) throw new MsSignError('USAGE', `no publisher named ${JSON.stringify(name)} (see "ms-sign trust list")`);
    doc.publishers.splice(index, 1);
    return `Removed publisher ${name}`;
  });
}

interface TrustRevokeOptions extends TrustFileOptions {
  readonly reason?: string;
}

/** `trust revoke KEYID`: from now on every signature by the key fails verification (REVOKED_KEY). */
export async function trustRevoke(keyArg: string, options: TrustRevokeOptions, io: CliIo): Promise<number> {
  return edit(options, io, (doc) => {
    const keyId = revokedKeyId(keyArg, doc, io);
    if (doc.revoked.some((r) => r.keyId === keyId)) return `Key ${keyId} was already revoked; nothing changed`;
    doc.revoked.push({ keyId, revokedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), ...(options.reason === undefined ? {} : { reason: options.reason }) });
    return `Revoked key ${keyId}`;
  });
}

/**
 * What `trust revoke KEY` names: a public key file (any path that exists, or ends in .pub), a
 * full key id, or a prefix of the key id of exactly one key the policy lists (as git takes
 * abbreviated commit ids). A full id need not be listed: a key can be revoked before it is seen.
 */
function revokedKeyId(arg: string, doc: TrustPolicyDocument, io: CliIo): string {
  if (arg.endsWith('.pub') || existsSync(resolve(io.cwd, arg))) return loadPublicKey(arg, io).keyId;
  const prefix = arg.toLowerCase();
  if (!/^[0-9a-f]{4,32}$/.test(prefix)) {
    throw new MsSignError('USAGE', `${JSON.stringify(arg)} is neither a public key file nor a key id (4 to 32 hex characters, as keygen, keyid and verify print)`);
  }
  if (prefix.length === 32) return prefix;
  const { policy } = checkTrustPolicy(doc, 'the trust policy');
  const matches = policy.publishers.flatMap((p) => p.keys.map((k) => k.publicKey.keyId)).filter((id) => id.startsWith(prefix));
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) throw new MsSignError('USAGE', `no key of the policy has an id starting with ${prefix}; give the full key id or the .pub file`);
  throw new MsSignError('USAGE', `key id prefix ${prefix} is ambiguous: ${matches.join(', ')}; give more characters`);
}

interface TrustRuleOptions extends TrustFileOptions {
  readonly threshold?: number;
  /** A duration, or false for --no-max-age. */
  readonly maxAge?: string | false;
  /** true for --require-expiry, false for --no-require-expiry. */
  readonly requireExpiry?: boolean;
  readonly remove?: boolean;
}

/**
 * `trust rule GLOB`: creates or updates the rule for GLOB; only the settings given change.
 * `--no-max-age` and `--no-require-expiry` lift a setting, `--remove` drops the rule.
 */
export async function trustRule(glob: string, options: TrustRuleOptions, io: CliIo): Promise<number> {
  const why = checkGlob(glob);
  if (why) throw new MsSignError('USAGE', `rule pattern ${JSON.stringify(glob)}: ${why}`);
  if (options.threshold !== undefined && options.threshold < 1) {
    throw new MsSignError('USAGE', '--threshold must be at least 1: a rule that needs no publisher would accept models nobody signed');
  }
  if (typeof options.maxAge === 'string' && parseDuration(options.maxAge) === undefined) {
    throw new MsSignError('USAGE', `--max-age ${JSON.stringify(options.maxAge)}: expected a duration such as 90d, 12h or 2w`);
  }
  if (options.remove && (options.threshold !== undefined || options.maxAge !== undefined || options.requireExpiry !== undefined)) {
    throw new MsSignError('USAGE', '--remove takes no other rule setting');
  }
  return edit(options, io, (doc) => {
    const index = doc.rules.findIndex((r) => r.models === glob);
    if (options.remove) {
      if (index < 0) throw new MsSignError('USAGE', `no rule for ${JSON.stringify(glob)} (see "ms-sign trust list")`);
      doc.rules.splice(index, 1);
      return `Removed the rule for "${glob}"`;
    }
    const rule = index < 0 ? { models: glob } : doc.rules[index]!;
    if (index < 0) doc.rules.push(rule);
    if (options.threshold !== undefined) rule.threshold = options.threshold;
    if (options.maxAge === false) delete rule.maxAge;
    else if (options.maxAge !== undefined) rule.maxAge = options.maxAge;
    if (options.requireExpiry === false) delete rule.requireExpiry;
    else if (options.requireExpiry) rule.requireExpiry = true;
    return `Rule for "${glob}": ${describeRule(rule)}`;
  });
}

function describeRule(rule: { readonly threshold?: number; readonly maxAge?: string; readonly requireExpiry?: boolean }): string {
  return `threshold ${rule.threshold ?? 1}${rule.maxAge ? `, max age ${rule.maxAge}` : ''}${rule.requireExpiry ? ', expiry required' : ''}`;
}

/** `trust list`: the policy as verify applies it, defaults filled in. */
export async function trustList(options: TrustFileOptions, io: CliIo): Promise<number> {
  const { path, origin } = policyLocation(options, io, false);
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
  const rules = document.rules.map((r) => ({ models: r.models, threshold: r.threshold ?? 1, maxAge: r.maxAge ?? null, requireExpiry: r.requireExpiry ?? false }));
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
  for (const r of rules) out(`  "${printable(r.models)}"  ${describeRule({ threshold: r.threshold, ...(r.maxAge ? { maxAge: r.maxAge } : {}), requireExpiry: r.requireExpiry })}`);
  return 0;
}
