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
  type CertificateRootDocument,
  type PublisherDocument,
  type SigstoreIdentityDocument,
  type TrustPolicyDocument,
  type TrustPolicyLocation,
} from '@ms-sign/core';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { printable, writeLine, type CliIo } from '../io.js';
import { loadAnyPublicKey, loadCertificateRoot } from '../keys.js';
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
  readonly publicKey?: string;
  readonly certRoot?: string;
  readonly sigstoreIdentity?: string;
  readonly sigstoreIssuer?: string;
  readonly models: readonly string[];
  readonly notBefore?: string;
  readonly notAfter?: string;
}

/** One trust anchor as the policy file stores it: a key, a certificate root, or a Sigstore identity. */
type AnchorEntry = KeyDocument | CertificateRootDocument | SigstoreIdentityDocument;
interface Anchor {
  readonly list: 'keys' | 'certificateRoots' | 'sigstoreIdentities';
  /** For messages: "key 1234...", "certificate root ab12...", "Sigstore identity x (issuer y)". */
  readonly label: string;
  readonly entry: AnchorEntry;
  readonly same: (other: AnchorEntry) => boolean;
}

function anchorFrom(options: TrustAddOptions, io: CliIo): Anchor {
  const given = [options.publicKey, options.certRoot, options.sigstoreIdentity].filter((x) => x !== undefined).length;
  if (given !== 1) throw new MsSignError('USAGE', 'give exactly one of -p KEY.pub, --cert-root CA.pem, --sigstore-identity ID (with --sigstore-issuer URL)');
  if ((options.sigstoreIdentity === undefined) !== (options.sigstoreIssuer === undefined)) {
    throw new MsSignError('USAGE', '--sigstore-identity and --sigstore-issuer go together: a Sigstore signer is an identity vouched for by one OIDC issuer');
  }
  if (options.publicKey !== undefined) {
    const key = loadAnyPublicKey(options.publicKey, io);
    const publicKey = Buffer.from(key.spki).toString('base64');
    return { list: 'keys', label: `key ${key.keyId}`, entry: { publicKey }, same: (o) => 'publicKey' in o && o.publicKey === publicKey };
  }
  if (options.certRoot !== undefined) {
    const root = loadCertificateRoot(options.certRoot, io);
    const certificate = Buffer.from(root.der).toString('base64');
    return { list: 'certificateRoots', label: `certificate root ${root.fingerprint} (${root.subject})`, entry: { certificate }, same: (o) => 'certificate' in o && o.certificate === certificate };
  }
  const identity = options.sigstoreIdentity!;
  const issuer = options.sigstoreIssuer!;
  return {
    list: 'sigstoreIdentities',
    label: `Sigstore identity ${identity} (issuer ${issuer})`,
    entry: { identity, issuer },
    same: (o) => 'identity' in o && o.identity === identity && o.issuer === issuer,
  };
}

/**
 * `trust add NAME -p KEY | --cert-root CA | --sigstore-identity ID --sigstore-issuer URL`: a new
 * publisher (scope `--models`, default every model name), or an anchor added to an existing one.
 * Scopes belong to publishers, so `--models` on an existing publisher widens its scope (the new
 * scope is printed). Adding an anchor the publisher already has sets its validity window to the
 * --not-before/--not-after given: that is how a rotated-out key gets its end date.
 */
export async function trustAdd(name: string, options: TrustAddOptions, io: CliIo): Promise<number> {
  const anchor = anchorFrom(options, io);
  for (const [flag, value] of [['--not-before', options.notBefore], ['--not-after', options.notAfter]] as const) {
    if (value !== undefined && parseDate(value) === undefined) throw new MsSignError('USAGE', `${flag} ${JSON.stringify(value)}: expected a date such as 2027-01-31 or 2027-01-31T12:00:00Z`);
  }
  for (const glob of options.models) {
    const why = checkGlob(glob);
    if (why) throw new MsSignError('USAGE', `--models ${JSON.stringify(glob)}: ${why}`);
  }
  const listOf = (p: PublisherDocument): AnchorEntry[] => {
    if (anchor.list === 'keys') return p.keys;
    p[anchor.list] ??= [];
    return p[anchor.list] as AnchorEntry[];
  };
  return edit(options, io, (doc) => {
    const owner = doc.publishers.find((p) => p.name !== name && (p[anchor.list] ?? []).some(anchor.same));
    // One anchor, one publisher: otherwise a single signature could count for two publishers.
    if (owner) throw new MsSignError('USAGE', `${anchor.label} already belongs to publisher ${owner.name}; one anchor can serve one publisher only`);
    const existing = doc.publishers.find((p) => p.name === name);
    if (!existing) {
      const models = options.models.length > 0 ? [...new Set(options.models)] : ['**'];
      const publisher: PublisherDocument = { name, models, keys: [] };
      listOf(publisher).push(withWindow(anchor.entry, options));
      doc.publishers.push(publisher);
      return `Added publisher ${name} with ${anchor.label}${describeWindow(options)}, for models ${models.join(', ')}`;
    }
    const changes: string[] = [];
    const list = listOf(existing);
    const index = list.findIndex(anchor.same);
    if (index < 0) {
      list.push(withWindow(anchor.entry, options));
      changes.push(`added ${anchor.label}${describeWindow(options)}`);
    } else if (options.notBefore !== undefined || options.notAfter !== undefined) {
      const updated = withWindow(list[index]!, options);
      list[index] = updated;
      changes.push(`${anchor.label} now valid${describeWindow(updated) || ' at any time'}`);
    }
    const widened = options.models.filter((g) => !existing.models.includes(g));
    if (widened.length > 0) {
      existing.models.push(...new Set(widened));
      changes.push(`models now ${existing.models.join(', ')}`);
    }
    if (changes.length === 0) return `Publisher ${name} already has ${anchor.label}; nothing changed`;
    return `Publisher ${name}: ${changes.join('; ')}`;
  });
}

function withWindow<T extends AnchorEntry>(entry: T, window: { readonly notBefore?: string; readonly notAfter?: string }): T {
  const notBefore = window.notBefore ?? entry.notBefore;
  const notAfter = window.notAfter ?? entry.notAfter;
  const { notBefore: _b, notAfter: _a, ...anchor } = entry;
  return { ...anchor, ...(notBefore === undefined ? {} : { notBefore }), ...(notAfter === undefined ? {} : { notAfter }) } as T;
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
export async function trustRevoke(keyIdArg: string, options: TrustRevokeOptions, io: CliIo): Promise<number> {
  const keyId = keyIdArg.toLowerCase();
  if (!/^([0-9a-f]{32}|[0-9a-f]{64})$/.test(keyId)) {
    throw new MsSignError('USAGE', `key id ${JSON.stringify(keyIdArg)}: expected 32 hex characters (Ed25519) or 64 (ECDSA keys, certificates), as keygen, inspect and verify print`);
  }
  return edit(options, io, (doc) => {
    if (doc.revoked.some((r) => r.keyId === keyId)) return `Key ${keyId} was already revoked; nothing changed`;
    doc.revoked.push({ keyId, revokedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), ...(options.reason === undefined ? {} : { reason: options.reason }) });
    return `Revoked key ${keyId}`;
  });
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
  const publishers = policy.publishers.map((p, i) => {
    const doc = document.publishers[i]!;
    // Key ids by the policy line of each key (Ed25519 and ECDSA keys share the list in the file).
    const idOf = new Map<string, string>([
      ...p.keys.map((k) => [publicKeyToDocument(k.publicKey), k.publicKey.keyId] as const),
      ...(p.ecdsaKeys ?? []).map((k) => [Buffer.from(k.spki).toString('base64'), k.keyId] as const),
    ]);
    const window = (w: { notBefore?: string; notAfter?: string }) => ({ notBefore: w.notBefore ?? null, notAfter: w.notAfter ?? null });
    const keys = doc.keys.map((k) => {
      const keyId = idOf.get(k.publicKey) ?? '';
      ownerOf.set(keyId, p.name);
      return { keyId, publicKey: k.publicKey, ...window(k), revoked: policy.revoked.has(keyId) };
    });
    const certificateRoots = (p.certificateRoots ?? []).map((r, j) => {
      ownerOf.set(r.fingerprint, p.name);
      return { fingerprint: r.fingerprint, ...window(doc.certificateRoots![j]!), revoked: policy.revoked.has(r.fingerprint) };
    });
    const sigstoreIdentities = (doc.sigstoreIdentities ?? []).map((id) => ({ identity: id.identity, issuer: id.issuer, ...window(id) }));
    // Listed only when present: the --json shape of key-only policies stays as it was.
    return { name: p.name, models: doc.models, keys, ...(certificateRoots.length > 0 ? { certificateRoots } : {}), ...(sigstoreIdentities.length > 0 ? { sigstoreIdentities } : {}) };
  });
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
    const when = (w: { notBefore: string | null; notAfter: string | null }) => describeWindow({ notBefore: w.notBefore ?? undefined, notAfter: w.notAfter ?? undefined });
    for (const k of p.keys) out(`    key ${k.keyId}${when(k)}${k.revoked ? '  REVOKED' : ''}`);
    for (const r of p.certificateRoots ?? []) out(`    certificate root ${r.fingerprint}${when(r)}${r.revoked ? '  REVOKED' : ''}`);
    for (const id of p.sigstoreIdentities ?? []) out(`    Sigstore identity ${printable(id.identity)} (issuer ${printable(id.issuer)})${when(id)}`);
  }
  out(revoked.length === 0 ? 'Revoked keys: none' : 'Revoked keys:');
  for (const r of revoked) {
    out(`  ${r.keyId}${r.publisher ? `  (${printable(r.publisher)})` : ''}${r.revokedAt ? `  ${r.revokedAt}` : ''}${r.reason ? `  ${printable(r.reason)}` : ''}`);
  }
  out(rules.length === 0 ? 'Rules: none (every model: threshold 1)' : 'Rules (all matching rules apply; the strictest setting wins):');
  for (const r of rules) out(`  "${printable(r.models)}"  ${describeRule({ threshold: r.threshold, ...(r.maxAge ? { maxAge: r.maxAge } : {}), requireExpiry: r.requireExpiry })}`);
  return 0;
}
