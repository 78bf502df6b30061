import { fromBase64, toBase64 } from '../bytes.js';
import type { PublicKey } from '../crypto/keys.js';
import { MsSignError } from '../errors.js';
import { checkGlob } from '../format/glob.js';
import {
  checkTrustPolicy,
  publicKeyToDocument,
  type CertificateRootDocument,
  type KeyDocument,
  type PublisherDocument,
  type RuleDocument,
  type SigstoreIdentityDocument,
  type TrustPolicyDocument,
} from './policy.js';
import { formatDate, parseDate, parseDuration } from './time.js';

/**
 * Edits of a trust policy document (what `trust add/remove/revoke/rule` do), as pure functions:
 * each takes a document, leaves it untouched, and returns the edited copy with a one-line summary.
 * The copy has passed the same schema and checks as a policy verify loads, so an edit can never
 * produce a policy verify refuses. Refused edits throw MsSignError USAGE (the field at fault in
 * `field` when the result would be invalid).
 */
export interface PolicyEdit {
  readonly document: TrustPolicyDocument;
  /** What changed, for people ("Added publisher acme with key 3f…, for models **"). */
  readonly summary: string;
  /** False when the document already said this (the summary says "nothing changed"). */
  readonly changed: boolean;
}

/** A key's validity window as dates ("2027-01-31" or RFC 3339), both ends optional. */
export interface KeyWindow {
  readonly notBefore?: string;
  readonly notAfter?: string;
}

/** What addPublisherKey sets besides the key: its window and the publisher scope. */
export interface AddKeyOptions extends KeyWindow {
  /** Model-name globs; for a new publisher, default every name ("**"); for an existing one, added to its scope. */
  readonly models?: readonly string[];
}

/**
 * A trust anchor to add to a publisher: an Ed25519 or ECDSA key (its SubjectPublicKeyInfo), a
 * certificate root (its DER), or a Sigstore identity with its issuer.
 */
export type AnchorToAdd =
  | { readonly kind: 'key'; readonly spki: Uint8Array; readonly keyId: string }
  | { readonly kind: 'certificateRoot'; readonly certificate: Uint8Array; readonly fingerprint: string }
  | { readonly kind: 'sigstoreIdentity'; readonly identity: string; readonly issuer: string };

type AnchorEntry = KeyDocument | CertificateRootDocument | SigstoreIdentityDocument;

/**
 * Adds a publisher with `key`, or `key` to an existing publisher (whose scope `models` widens).
 * Adding a key the publisher already has sets its window to the dates given: that is how a
 * rotated-out key gets its end date. One key serves one publisher only.
 */
export function addPublisherKey(document: TrustPolicyDocument, name: string, key: PublicKey, options: AddKeyOptions = {}): PolicyEdit {
  const spki = fromBase64(publicKeyToDocument(key)) ?? new Uint8Array();
  return addPublisherAnchor(document, name, { kind: 'key', spki, keyId: key.keyId }, options);
}

/**
 * Adds a publisher with `anchor`, or `anchor` to an existing publisher, as addPublisherKey does for
 * keys. One anchor serves one publisher only.
 */
export function addPublisherAnchor(document: TrustPolicyDocument, name: string, anchor: AnchorToAdd, options: AddKeyOptions = {}): PolicyEdit {
  for (const [field, value] of [['notBefore', options.notBefore], ['notAfter', options.notAfter]] as const) {
    if (value !== undefined && parseDate(value) === undefined) throw new MsSignError('USAGE', `${field} ${JSON.stringify(value)}: expected a date such as 2027-01-31 or 2027-01-31T12:00:00Z`);
  }
  const models = options.models ?? [];
  for (const glob of models) {
    const why = checkGlob(glob);
    if (why) throw new MsSignError('USAGE', `model pattern ${JSON.stringify(glob)}: ${why}`);
  }
  const { list, label, entry, same } = anchorEntry(anchor);
  const listOf = (p: PublisherDocument): AnchorEntry[] => {
    if (list === 'keys') return p.keys;
    p[list] ??= [];
    return p[list] as AnchorEntry[];
  };
  const doc = structuredClone(document);
  const owner = doc.publishers.find((p) => p.name !== name && (p[list] ?? []).some(same));
  // One anchor, one publisher: otherwise a single signature could count for two publishers.
  if (owner) throw new MsSignError('USAGE', `${label} already belongs to publisher ${owner.name}; one ${anchor.kind === 'key' ? 'key' : 'anchor'} can serve one publisher only`);
  const existing = doc.publishers.find((p) => p.name === name);
  if (!existing) {
    const scope = models.length > 0 ? [...new Set(models)] : ['**'];
    const publisher: PublisherDocument = { name, models: scope, keys: [] };
    listOf(publisher).push(withWindow(entry, options));
    doc.publishers.push(publisher);
    return checked(doc, `Added publisher ${name} with ${label}${describeWindow(options)}, for models ${scope.join(', ')}`);
  }
  const changes: string[] = [];
  const entries = listOf(existing);
  const index = entries.findIndex(same);
  if (index < 0) {
    entries.push(withWindow(entry, options));
    changes.push(`added ${label}${describeWindow(options)}`);
  } else if (options.notBefore !== undefined || options.notAfter !== undefined) {
    const updated = withWindow(entries[index]!, options);
    entries[index] = updated;
    changes.push(`${label} now valid${describeWindow(updated) || ' at any time'}`);
  }
  const widened = models.filter((g) => !existing.models.includes(g));
  if (widened.length > 0) {
    existing.models.push(...new Set(widened));
    changes.push(`models now ${existing.models.join(', ')}`);
  }
  if (changes.length === 0) return { document: doc, summary: `Publisher ${name} already has ${label}; nothing changed`, changed: false };
  return checked(doc, `Publisher ${name}: ${changes.join('; ')}`);
}

function anchorEntry(anchor: AnchorToAdd): { list: 'keys' | 'certificateRoots' | 'sigstoreIdentities'; label: string; entry: AnchorEntry; same: (o: AnchorEntry) => boolean } {
  switch (anchor.kind) {
    case 'key': {
      const publicKey = toBase64(anchor.spki);
      return { list: 'keys', label: `key ${anchor.keyId}`, entry: { publicKey }, same: (o) => 'publicKey' in o && o.publicKey === publicKey };
    }
    case 'certificateRoot': {
      const certificate = toBase64(anchor.certificate);
      return { list: 'certificateRoots', label: `certificate root ${anchor.fingerprint}`, entry: { certificate }, same: (o) => 'certificate' in o && o.certificate === certificate };
    }
    case 'sigstoreIdentity': {
      const { identity, issuer } = anchor;
      return { list: 'sigstoreIdentities', label: `Sigstore identity ${identity} (issuer ${issuer})`, entry: { identity, issuer }, same: (o) => 'identity' in o && o.identity === identity && o.issuer === issuer };
    }
  }
}

/** Removes the publisher `name` and its keys. */
export function removePublisher(document: TrustPolicyDocument, name: string): PolicyEdit {
  const doc = structuredClone(document);
  const index = doc.publishers.findIndex((p) => p.name === name);
  if (index < 0) throw new MsSignError('USAGE', `no publisher named ${JSON.stringify(name)}`);
  doc.publishers.splice(index, 1);
  return checked(doc, `Removed publisher ${name}`);
}

/**
 * Revokes a key id (32 hex characters for Ed25519 keys, 64 for ECDSA keys and certificate
 * fingerprints; any case): from then on every signature by the key fails
 * verification. `now` (Unix seconds) is recorded as `revokedAt`.
 */
export function revokeKey(document: TrustPolicyDocument, keyIdText: string, now: number, reason?: string): PolicyEdit {
  const keyId = keyIdText.toLowerCase();
  if (!/^([0-9a-f]{32}|[0-9a-f]{64})$/.test(keyId)) {
    throw new MsSignError('USAGE', `key id ${JSON.stringify(keyIdText)}: expected 32 hex characters (Ed25519) or 64 (ECDSA keys, certificates), as keygen, inspect and verify print`);
  }
  const doc = structuredClone(document);
  if (doc.revoked.some((r) => r.keyId === keyId)) return { document: doc, summary: `Key ${keyId} was already revoked; nothing changed`, changed: false };
  doc.revoked.push({ keyId, revokedAt: formatDate(now), ...(reason === undefined ? {} : { reason }) });
  return checked(doc, `Revoked key ${keyId}`);
}

/**
 * The full key id that `text` names: a full key id (listed or not: a key can be revoked before it
 * is seen), or a prefix of at least 4 hex characters (as git's shortest abbreviation) that the id
 * of exactly one key listed in the policy starts with.
 */
export function resolveKeyId(document: TrustPolicyDocument, text: string): string {
  const prefix = text.toLowerCase();
  // 32 hex characters for Ed25519 key ids; 64 for ECDSA key ids and certificate fingerprints.
  if (!/^[0-9a-f]{4,64}$/.test(prefix)) throw new MsSignError('USAGE', `key id ${JSON.stringify(text)}: expected 4 to 64 hex characters, as keygen, keyid and verify print`);
  if (prefix.length === 32 || prefix.length === 64) return prefix;
  const { policy } = checkTrustPolicy(document, 'the trust policy');
  const ids = policy.publishers.flatMap((p) => [...p.keys.map((k) => k.publicKey.keyId), ...(p.ecdsaKeys ?? []).map((k) => k.keyId), ...(p.certificateRoots ?? []).map((r) => r.fingerprint)]);
  const matches = [...new Set(ids)].filter((id) => id.startsWith(prefix));
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) throw new MsSignError('USAGE', `no key of the policy has an id starting with ${prefix}; give the full key id or the public key file`);
  throw new MsSignError('USAGE', `key id prefix ${prefix} is ambiguous: ${matches.join(', ')}; give more characters`);
}

/** The settings of a rule to change; what is left out stays as it is. */
export interface RuleSettings {
  readonly threshold?: number;
  /** A duration ("90d"), or false to lift the maximum age. */
  readonly maxAge?: string | false;
  /** true to require an expiry, false to lift the requirement. */
  readonly requireExpiry?: boolean;
  /** The scan mode for matching models, or null to drop the rule's own mode (the default applies). */
  readonly scan?: 'off' | 'no-unsafe' | 'clean' | null;
  /** Replaces the rule's list of paths whose unknown format passes in clean mode. */
  readonly scanAllowUnknown?: readonly string[];
  /** Replaces the rule's list of pickle globals added to the allow-list. */
  readonly scanAllowGlobals?: readonly string[];
  /** Replaces the rule's list of waived (waivable) scan codes. */
  readonly scanWaive?: readonly string[];
}

/** Creates or updates the rule for the model-name glob `models`; only the settings given change. */
export function setRule(document: TrustPolicyDocument, models: string, settings: RuleSettings): PolicyEdit {
  const why = checkGlob(models);
  if (why) throw new MsSignError('USAGE', `rule pattern ${JSON.stringify(models)}: ${why}`);
  if (settings.threshold !== undefined && !(settings.threshold >= 1)) {
    throw new MsSignError('USAGE', 'a rule\'s threshold must be at least 1: a rule that needs no publisher would accept models nobody signed');
  }
  if (typeof settings.maxAge === 'string' && parseDuration(settings.maxAge) === undefined) {
    throw new MsSignError('USAGE', `maximum age ${JSON.stringify(settings.maxAge)}: expected a duration such as 90d, 12h or 2w`);
  }
  const doc = structuredClone(document);
  const index = doc.rules.findIndex((r) => r.models === models);
  const rule: RuleDocument = index < 0 ? { models } : doc.rules[index]!;
  if (index < 0) doc.rules.push(rule);
  if (settings.threshold !== undefined) rule.threshold = settings.threshold;
  if (settings.maxAge === false) delete rule.maxAge;
  else if (settings.maxAge !== undefined) rule.maxAge = settings.maxAge;
  if (settings.requireExpiry === false) delete rule.requireExpiry;
  else if (settings.requireExpiry) rule.requireExpiry = true;
  if (settings.scan === null) delete rule.scan;
  else if (settings.scan !== undefined) rule.scan = settings.scan;
  if (settings.scanAllowUnknown !== undefined) rule.scanAllowUnknown = [...settings.scanAllowUnknown];
  if (settings.scanAllowGlobals !== undefined) rule.scanAllowGlobals = [...settings.scanAllowGlobals];
  if (settings.scanWaive !== undefined) rule.scanWaive = [...settings.scanWaive];
  return checked(doc, `Rule for "${models}": ${describeRule(rule)}`);
}

/** Removes the rule for the model-name glob `models`. */
export function removeRule(document: TrustPolicyDocument, models: string): PolicyEdit {
  const doc = structuredClone(document);
  const index = doc.rules.findIndex((r) => r.models === models);
  if (index < 0) throw new MsSignError('USAGE', `no rule for ${JSON.stringify(models)}`);
  doc.rules.splice(index, 1);
  return checked(doc, `Removed the rule for "${models}"`);
}

/** "threshold 2, max age 90d, expiry required, scan clean": a rule's settings with defaults filled in. */
export function describeRule(rule: {
  readonly threshold?: number;
  readonly maxAge?: string;
  readonly requireExpiry?: boolean;
  readonly scan?: string;
  readonly scanAllowUnknown?: readonly string[];
  readonly scanAllowGlobals?: readonly string[];
  readonly scanWaive?: readonly string[];
}): string {
  const scan = `${rule.scan ? `, scan ${rule.scan}` : ''}${rule.scanAllowUnknown?.length ? `, unknown formats allowed at ${rule.scanAllowUnknown.join(' ')}` : ''}${rule.scanAllowGlobals?.length ? `, pickle globals allowed ${rule.scanAllowGlobals.join(' ')}` : ''}${rule.scanWaive?.length ? `, waived ${rule.scanWaive.join(' ')}` : ''}`;
  return `threshold ${rule.threshold ?? 1}${rule.maxAge ? `, max age ${rule.maxAge}` : ''}${rule.requireExpiry ? ', expiry required' : ''}${scan}`;
}

/** " from 2026-01-01 until 2027-01-31", or "" for a key valid at any time. */
export function describeWindow(window: { readonly notBefore?: string | undefined; readonly notAfter?: string | undefined }): string {
  const parts = [window.notBefore === undefined ? '' : `from ${window.notBefore}`, window.notAfter === undefined ? '' : `until ${window.notAfter}`].filter(Boolean);
  return parts.length === 0 ? '' : ` ${parts.join(' ')}`;
}

function withWindow<T extends AnchorEntry>(entry: T, window: KeyWindow): T {
  const notBefore = window.notBefore ?? entry.notBefore;
  const notAfter = window.notAfter ?? entry.notAfter;
  const { notBefore: _before, notAfter: _after, ...anchor } = entry;
  return { ...anchor, ...(notBefore === undefined ? {} : { notBefore }), ...(notAfter === undefined ? {} : { notAfter }) } as T;
}

/** The edited document, if it passes every check verify applies to a policy. */
function checked(document: TrustPolicyDocument, summary: string): PolicyEdit {
  try {
    checkTrustPolicy(document, '(edited)');
  } catch (error) {
    if (!(error instanceof MsSignError) || error.code !== 'BAD_TRUST_POLICY') throw error;
    throw new MsSignError('USAGE', `refusing the change, the policy would be invalid: ${error.message}`, { field: error.field });
  }
  return { document, summary, changed: true };
}
