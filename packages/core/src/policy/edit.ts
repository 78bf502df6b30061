import type { PublicKey } from '../crypto/keys.js';
import { MsSignError } from '../errors.js';
import { checkGlob } from '../format/glob.js';
import { checkTrustPolicy, publicKeyToDocument, type KeyDocument, type RuleDocument, type TrustPolicyDocument } from './policy.js';
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
 * Adds a publisher with `key`, or `key` to an existing publisher (whose scope `models` widens).
 * Adding a key the publisher already has sets its window to the dates given: that is how a
 * rotated-out key gets its end date. One key serves one publisher only.
 */
export function addPublisherKey(document: TrustPolicyDocument, name: string, key: PublicKey, options: AddKeyOptions = {}): PolicyEdit {
  for (const [field, value] of [['notBefore', options.notBefore], ['notAfter', options.notAfter]] as const) {
    if (value !== undefined && parseDate(value) === undefined) throw new MsSignError('USAGE', `${field} ${JSON.stringify(value)}: expected a date such as 2027-01-31 or 2027-01-31T12:00:00Z`);
  }
  const models = options.models ?? [];
  for (const glob of models) {
    const why = checkGlob(glob);
    if (why) throw new MsSignError('USAGE', `model pattern ${JSON.stringify(glob)}: ${why}`);
  }
  const doc = structuredClone(document);
  const publicKey = publicKeyToDocument(key);
  const owner = doc.publishers.find((p) => p.name !== name && p.keys.some((k) => k.publicKey === publicKey));
  // One key, one publisher: otherwise a single signature could count for two publishers.
  if (owner) throw new MsSignError('USAGE', `key ${key.keyId} already belongs to publisher ${owner.name}; one key can serve one publisher only`);
  const existing = doc.publishers.find((p) => p.name === name);
  if (!existing) {
    const scope = models.length > 0 ? [...new Set(models)] : ['**'];
    doc.publishers.push({ name, models: scope, keys: [withWindow({ publicKey }, options)] });
    return checked(doc, `Added publisher ${name} with key ${key.keyId}${describeWindow(options)}, for models ${scope.join(', ')}`);
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
  const widened = models.filter((g) => !existing.models.includes(g));
  if (widened.length > 0) {
    existing.models.push(...new Set(widened));
    changes.push(`models now ${existing.models.join(', ')}`);
  }
  if (changes.length === 0) return { document: doc, summary: `Publisher ${name} already has key ${key.keyId}; nothing changed`, changed: false };
  return checked(doc, `Publisher ${name}: ${changes.join('; ')}`);
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
 * Revokes a key id (32 hex characters, any case): from then on every signature by the key fails
 * verification. `now` (Unix seconds) is recorded as `revokedAt`.
 */
export function revokeKey(document: TrustPolicyDocument, keyIdText: string, now: number, reason?: string): PolicyEdit {
  const keyId = keyIdText.toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(keyId)) throw new MsSignError('USAGE', `key id ${JSON.stringify(keyIdText)}: expected 32 hex characters, as keygen, inspect and verify print`);
  const doc = structuredClone(document);
  if (doc.revoked.some((r) => r.keyId === keyId)) return { document: doc, summary: `Key ${keyId} was already revoked; nothing changed`, changed: false };
  doc.revoked.push({ keyId, revokedAt: formatDate(now), ...(reason === undefined ? {} : { reason }) });
  return checked(doc, `Revoked key ${keyId}`);
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
  readonly scanWaive?: readonly string[];
}): string {
  const scan = `${rule.scan ? `, scan ${rule.scan}` : ''}${rule.scanAllowUnknown?.length ? `, unknown formats allowed at ${rule.scanAllowUnknown.join(' ')}` : ''}${rule.scanWaive?.length ? `, waived ${rule.scanWaive.join(' ')}` : ''}`;
  return `threshold ${rule.threshold ?? 1}${rule.maxAge ? `, max age ${rule.maxAge}` : ''}${rule.requireExpiry ? ', expiry required' : ''}${scan}`;
}

/** " from 2026-01-01 until 2027-01-31", or "" for a key valid at any time. */
export function describeWindow(window: { readonly notBefore?: string | undefined; readonly notAfter?: string | undefined }): string {
  const parts = [window.notBefore === undefined ? '' : `from ${window.notBefore}`, window.notAfter === undefined ? '' : `until ${window.notAfter}`].filter(Boolean);
  return parts.length === 0 ? '' : ` ${parts.join(' ')}`;
}

function withWindow(key: KeyDocument, window: KeyWindow): KeyDocument {
  const notBefore = window.notBefore ?? key.notBefore;
  const notAfter = window.notAfter ?? key.notAfter;
  return { publicKey: key.publicKey, ...(notBefore === undefined ? {} : { notBefore }), ...(notAfter === undefined ? {} : { notAfter }) };
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
