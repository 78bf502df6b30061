import { createRequire } from 'node:module';
import type AjvClass from 'ajv';
import { MsSignError } from '../errors.js';
import { checkGlob, compileGlob, type Glob } from '../format/glob.js';
import { publicKeyFromBytes, type PublicKey } from '../crypto/keys.js';
import { fromHex } from '../bytes.js';
import { parseDate, parseDuration } from './time.js';
import { SCAN_CODES, type ScanCode } from '../scan/codes.js';
import type { ScanMode } from '../scan/scan.js';
import schema from './trust-policy.schema.json' with { type: 'json' };

/** The trust policy file as written on disk (JSON, docs/trust-policy.md). */
export interface TrustPolicyDocument {
  $schema?: string;
  version: 1;
  publishers: PublisherDocument[];
  revoked: RevocationDocument[];
  rules: RuleDocument[];
}

/** A publisher in a trust policy file: a name, the model names it may sign, and its keys. */
export interface PublisherDocument {
  name: string;
  models: string[];
  keys: KeyDocument[];
}

/** A publisher's key in a trust policy file, with an optional validity window. */
export interface KeyDocument {
  /** Base64 DER SubjectPublicKeyInfo (the body of the .pub PEM). */
  publicKey: string;
  notBefore?: string;
  notAfter?: string;
}

/** A revoked key id in a trust policy file. */
export interface RevocationDocument {
  keyId: string;
  reason?: string;
  revokedAt?: string;
}

/** A rule in a trust policy file: what models matching `models` need. */
export interface RuleDocument {
  models: string;
  threshold?: number;
  maxAge?: string;
  requireExpiry?: boolean;
  /** Scan mode for matching models (docs/scan.md); absent: the default, no-unsafe. */
  scan?: 'off' | 'no-unsafe' | 'clean';
  scanAllowUnknown?: string[];
  scanWaive?: string[];
}

/** A compiled policy, ready for evaluation. */
export interface TrustPolicy {
  readonly publishers: readonly Publisher[];
  /** Revoked key ids (hex). */
  readonly revoked: ReadonlySet<string>;
  readonly rules: readonly Rule[];
}

/** A compiled publisher. */
export interface Publisher {
  readonly name: string;
  readonly models: readonly Glob[];
  readonly keys: readonly TrustedKey[];
}

/** A compiled publisher's key. */
export interface TrustedKey {
  readonly publicKey: PublicKey;
  /** Unix seconds; a signature counts only if the manifest was created inside the window. */
  readonly notBefore?: number;
  readonly notAfter?: number;
}

/** A compiled rule. */
export interface Rule {
  readonly models: Glob;
  readonly threshold: number;
  readonly maxAgeSeconds?: number;
  readonly requireExpiry: boolean;
  /** Set only when the rule names a scan mode (the CLI may then only tighten it). */
  readonly scan?: ScanMode;
  readonly scanAllowUnknown?: readonly Glob[];
  readonly scanWaive?: ReadonlySet<ScanCode>;
}

/** A policy that trusts nobody: what `trust init` writes. */
export const EMPTY_POLICY_DOCUMENT: TrustPolicyDocument = { version: 1, publishers: [], revoked: [], rules: [] };

const SPKI_ED25519_PREFIX = 'MCowBQYDK2VwAyEA';

type Ajv = AjvClass.default;
let validator: ReturnType<Ajv['compile']> | undefined;

function schemaValidator() {
  if (!validator) {
    // Loaded on first use: ajv costs ~50 ms to import, and verify with -p never needs it.
    // The schema is JSON Schema 2020-12, which ajv serves from its own entry point.
    const ajv = createRequire(import.meta.url)('ajv/dist/2020') as { default: new (options: object) => Ajv };
    validator = new ajv.default({ allErrors: true, strict: true }).compile(schema);
  }
  return validator;
}

type SchemaError = NonNullable<ReturnType<Ajv['compile']>['errors']>[number];

/** The JSON pointer of the field a schema error is about (the missing or unknown one, if any). */
function schemaErrorField(error: SchemaError): string {
  const params = error.params as { missingProperty?: unknown; additionalProperty?: unknown };
  const child = params.missingProperty ?? params.additionalProperty;
  return child === undefined ? error.instancePath || '/' : `${error.instancePath}/${String(child)}`;
}

function schemaErrorMessage(error: SchemaError): string {
  const params = error.params as { additionalProperty?: unknown; missingProperty?: unknown };
  if (params.additionalProperty !== undefined) return 'unknown field';
  if (params.missingProperty !== undefined) return 'required field is missing';
  if (error.keyword === 'const' && 'allowedValue' in error.params) return `must be ${JSON.stringify((error.params as { allowedValue: unknown }).allowedValue)}`;
  return error.message ?? 'invalid';
}

/** Signals a trust policy error: the JSON pointer of the field at fault and what is wrong. */
export type PolicyFailure = (field: string, message: string) => never;

/**
 * Parses and checks a trust policy: JSON, then the committed JSON Schema
 * (trust-policy.schema.json), then what a schema cannot say (valid keys and globs, real dates,
 * no publisher, key or rule twice). See docs/trust-policy.md.
 *
 * @throws MsSignError BAD_TRUST_POLICY naming the file (`path`) and the field (`field`, a JSON
 *   pointer) at fault
 */
export function parseTrustPolicy(text: string, source: string): { document: TrustPolicyDocument; policy: TrustPolicy } {
  const fail = (field: string, message: string): never => {
    throw new MsSignError('BAD_TRUST_POLICY', `trust policy ${source}: ${field ? `${field}: ` : ''}${message}`, { path: source });
  };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    // Never echo JSON.parse's message: it quotes the start of the input, and a secret key file
    // given by mistake as the policy would leak into the output. Say where, not what.
    const at = /at position (\d+)/.exec((error as Error).message);
    return fail('', `not valid JSON${at ? ` (at character ${at[1]})` : ''}`);
  }
  return checkTrustPolicy(json, source);
}

/**
 * Checks a decoded trust policy document against the schema and compiles it. Every schema error
 * is listed in the message (the first one's field is `field`), so one edit fixes them all.
 *
 * @throws MsSignError BAD_TRUST_POLICY
 */
export function checkTrustPolicy(json: unknown, source: string): { document: TrustPolicyDocument; policy: TrustPolicy } {
  const fail: PolicyFailure = (field, message) => {
    throw new MsSignError('BAD_TRUST_POLICY', `trust policy ${source}: ${field}: ${message}`, { path: source, field });
  };
  const validate = schemaValidator();
  if (!validate(json)) {
    const errors = validate.errors ?? [];
    const first = errors[0];
    if (first === undefined) return fail('/', 'invalid');
    const all = errors.slice(0, 10).map((e) => `${schemaErrorField(e)}: ${schemaErrorMessage(e)}`);
    const more = errors.length > 10 ? `; and ${errors.length - 10} more` : '';
    throw new MsSignError('BAD_TRUST_POLICY', `trust policy ${source}: ${all.join('; ')}${more}`, { path: source, field: schemaErrorField(first) });
  }
  const document = json as TrustPolicyDocument;
  return { document, policy: compileTrustPolicy(document, fail) };
}

/** Compiles a schema-valid document; `fail` reports a semantic error with its JSON pointer. */
export function compileTrustPolicy(
  document: TrustPolicyDocument,
  fail: PolicyFailure = (field, message) => {
    throw new MsSignError('BAD_TRUST_POLICY', `trust policy: ${field}: ${message}`, { field });
  },
): TrustPolicy {
  const glob = (pattern: string, field: string): Glob => {
    const why = checkGlob(pattern);
    return why === undefined ? compileGlob(pattern) : fail(field, why);
  };
  const date = (text: string | undefined, field: string): number | undefined =>
    text === undefined ? undefined : (parseDate(text) ?? fail(field, `not a valid date: ${text}`));

  const names = new Set<string>();
  const keyOwners = new Map<string, string>();
  const publishers = document.publishers.map((p, i): Publisher => {
    const at = `/publishers/${i}`;
    if (names.has(p.name)) fail(`${at}/name`, `publisher "${p.name}" appears twice`);
    names.add(p.name);
    const keys = p.keys.map((k, j): TrustedKey => {
      const field = `${at}/keys/${j}`;
      const publicKey = publicKeyFromDocument(k.publicKey, field, fail);
      // One key, one publisher: otherwise a single signature could count for two publishers.
      const owner = keyOwners.get(publicKey.keyId);
      if (owner !== undefined) fail(`${field}/publicKey`, `key ${publicKey.keyId} is already listed for publisher "${owner}"`);
      keyOwners.set(publicKey.keyId, p.name);
      const notBefore = date(k.notBefore, `${field}/notBefore`);
      const notAfter = date(k.notAfter, `${field}/notAfter`);
      if (notBefore !== undefined && notAfter !== undefined && notAfter <= notBefore) fail(`${field}/notAfter`, 'must be later than notBefore');
      return { publicKey, ...(notBefore === undefined ? {} : { notBefore }), ...(notAfter === undefined ? {} : { notAfter }) };
    });
    return { name: p.name, models: p.models.map((m, j) => glob(m, `${at}/models/${j}`)), keys };
  });
  const revoked = new Set<string>();
  document.revoked.forEach((r, i) => {
    if (fromHex(r.keyId)?.length !== 16) fail(`/revoked/${i}/keyId`, 'expected 32 lower-case hex characters');
    date(r.revokedAt, `/revoked/${i}/revokedAt`);
    revoked.add(r.keyId);
  });
  const seenRules = new Set<string>();
  const rules = document.rules.map((r, i): Rule => {
    const at = `/rules/${i}`;
    if (seenRules.has(r.models)) fail(`${at}/models`, `two rules for "${r.models}"`);
    seenRules.add(r.models);
    const maxAgeSeconds = r.maxAge === undefined ? undefined : (parseDuration(r.maxAge) ?? fail(`${at}/maxAge`, `not a duration: ${r.maxAge}`));
    const threshold = r.threshold ?? 1;
    if (!Number.isInteger(threshold) || threshold < 1) fail(`${at}/threshold`, 'must be an integer of at least 1');
    const scanWaive = r.scanWaive?.map((code, j) => {
      const info = (SCAN_CODES as Record<string, { waivable: boolean } | undefined>)[code];
      if (info === undefined) fail(`${at}/scanWaive/${j}`, `${code} is not a scan code`);
      // Waiving an error that is not marked waivable would let a rule wave through code execution.
      if (!info!.waivable) fail(`${at}/scanWaive/${j}`, `${code} cannot be waived`);
      return code as ScanCode;
    });
    return {
      models: glob(r.models, `${at}/models`),
      threshold,
      requireExpiry: r.requireExpiry ?? false,
      ...(maxAgeSeconds === undefined ? {} : { maxAgeSeconds }),
      ...(r.scan === undefined ? {} : { scan: r.scan }),
      ...(r.scanAllowUnknown === undefined ? {} : { scanAllowUnknown: r.scanAllowUnknown.map((g, j) => glob(g, `${at}/scanAllowUnknown/${j}`)) }),
      ...(scanWaive === undefined ? {} : { scanWaive: new Set(scanWaive) }),
    };
  });
  return { publishers, revoked, rules };
}

function publicKeyFromDocument(text: string, field: string, fail: PolicyFailure): PublicKey {
  if (!text.startsWith(SPKI_ED25519_PREFIX)) return fail(`${field}/publicKey`, 'not an Ed25519 SubjectPublicKeyInfo in base64');
  const der = new Uint8Array(Buffer.from(text, 'base64'));
  try {
    return publicKeyFromBytes(der.subarray(12));
  } catch (error) {
    return fail(`${field}/publicKey`, (error as Error).message);
  }
}

/** The policy line for a public key: base64 of its DER SubjectPublicKeyInfo. */
export function publicKeyToDocument(key: PublicKey): string {
  return Buffer.concat([Buffer.from(SPKI_ED25519_PREFIX, 'base64'), key.bytes]).toString('base64');
}

/**
 * The implicit policy of `verify -p KEY...`: each key is its own publisher for every model name,
 * threshold 1, no age limit.
 */
export function policyFromKeys(keys: readonly { readonly name: string; readonly key: PublicKey }[]): TrustPolicy {
  const seen = new Set<string>();
  const publishers: Publisher[] = [];
  for (const { name, key } of keys) {
    if (seen.has(key.keyId)) continue;
    seen.add(key.keyId);
    publishers.push({ name, models: [compileGlob('**')], keys: [{ publicKey: key }] });
  }
  return { publishers, revoked: new Set(), rules: [] };
}
