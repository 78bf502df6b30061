import type { ErrorObject } from 'ajv';
import { MsSignError } from '../errors.js';
import { checkGlob, compileGlob, type Glob } from '../format/glob.js';
import { publicKeyFromBytes, type PublicKey } from '../crypto/keys.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { fromBase64, fromHex, toBase64, toHex } from '../bytes.js';
import { ecKeyId, ecSpkiCurve, type EcCurveName } from '../crypto/ec-spki.js';
import { JsonError, parseStrictJson, toPlainJson } from '../format/json.js';
import { parseDate, parseDuration } from './time.js';
import generatedValidator from './trust-policy.validate.js';
import { SCAN_CODES, type ScanCode } from '../scan/codes.js';
import type { ScanMode } from '../scan/scan.js';
import { hardDenyReason } from '../scan/pickle/allowlist.js';

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
  /** Ed25519 and ECDSA (P-256/384/521) public keys. */
  keys: KeyDocument[];
  /** Roots of certificate chains that sign OMS / model_signing bundles in certificate mode. */
  certificateRoots?: CertificateRootDocument[];
  /** Sigstore keyless signers of OMS / model_signing bundles: identity and OIDC issuer, both exact. */
  sigstoreIdentities?: SigstoreIdentityDocument[];
}

/** A publisher's key in a trust policy file, with an optional validity window. */
export interface KeyDocument {
  /** Base64 DER SubjectPublicKeyInfo (the body of the .pub PEM). */
  publicKey: string;
  notBefore?: string;
  notAfter?: string;
}

export interface CertificateRootDocument {
  /** Base64 DER X.509 certificate (the body of the PEM). */
  certificate: string;
  notBefore?: string;
  notAfter?: string;
}

export interface SigstoreIdentityDocument {
  /** The signing certificate's subject alternative name: an email address or a URI. */
  identity: string;
  /** The OIDC issuer, e.g. https://accounts.google.com. */
  issuer: string;
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
  /** Exact `module:qualname` pickle globals added to the allow-list (never a hard-denied one). */
  scanAllowGlobals?: string[];
  scanWaive?: string[];
}

/** A compiled policy, ready for evaluation. */
export interface TrustPolicy {
  readonly publishers: readonly Publisher[];
  /** Revoked key ids (hex). */
  readonly revoked: ReadonlySet<string>;
  /** When and why each revoked key was revoked, for messages (absent for policies built from keys). */
  readonly revocations?: ReadonlyMap<string, { readonly reason?: string; readonly revokedAt?: string }>;
  readonly rules: readonly Rule[];
}

/** A compiled publisher. */
export interface Publisher {
  readonly name: string;
  readonly models: readonly Glob[];
  /** Ed25519 keys: ms-sign's own signature files. */
  readonly keys: readonly TrustedKey[];
  /** The anchors of OMS / model_signing bundles, one list per trust mode (absent: none). */
  readonly ecdsaKeys?: readonly TrustedEcdsaKey[];
  readonly certificateRoots?: readonly TrustedCertificateRoot[];
  readonly sigstoreIdentities?: readonly TrustedSigstoreIdentity[];
}

/** A validity window: a signature counts only if it was made inside it (Unix seconds). */
export interface ValidityWindow {
  readonly notBefore?: number;
  readonly notAfter?: number;
}

/** A compiled publisher's Ed25519 key. */
export interface TrustedKey extends ValidityWindow {
  readonly publicKey: PublicKey;
}

export interface TrustedEcdsaKey extends ValidityWindow {
  /** DER SubjectPublicKeyInfo. */
  readonly spki: Uint8Array;
  readonly curve: EcCurveName;
  /** Hex SHA-256 of the key's PEM text (the OMS key hint). */
  readonly keyId: string;
}

export interface TrustedCertificateRoot extends ValidityWindow {
  /** DER certificate. */
  readonly certificate: Uint8Array;
  /** Hex SHA-256 of `certificate`: how revocations and reports name it. */
  readonly fingerprint: string;
}

export interface TrustedSigstoreIdentity extends ValidityWindow {
  readonly identity: string;
  readonly issuer: string;
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
  readonly scanAllowGlobals?: ReadonlySet<string>;
  readonly scanWaive?: ReadonlySet<ScanCode>;
}

/** A policy that trusts nobody: what `trust init` writes. */
export const EMPTY_POLICY_DOCUMENT: TrustPolicyDocument = { version: 1, publishers: [], revoked: [], rules: [] };

const SPKI_ED25519_PREFIX = 'MCowBQYDK2VwAyEA';

/** The schema check, generated from trust-policy.schema.json (no ajv compile at run time). */
interface SchemaValidator {
  (data: unknown): boolean;
  errors?: SchemaError[] | null;
}
const validateSchema = generatedValidator as unknown as SchemaValidator;

type SchemaError = ErrorObject;

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
 * Parses and checks a trust policy (its text, or the file's bytes: then UTF-8 is decoded strictly):
 * strict JSON (no key twice, bounded depth), then the committed JSON Schema
 * (trust-policy.schema.json), then what a schema cannot say (valid keys and globs, real dates,
 * no publisher, key or rule twice). See docs/trust-policy.md.
 *
 * @throws MsSignError BAD_TRUST_POLICY naming the file (`path`) and the field (`field`, a JSON
 *   pointer) at fault
 */
export function parseTrustPolicy(text: string | Uint8Array, source: string): { document: TrustPolicyDocument; policy: TrustPolicy } {
  const fail = (field: string, message: string): never => {
    throw new MsSignError('BAD_TRUST_POLICY', `trust policy ${source}: ${field ? `${field}: ` : ''}${message}`, { path: source });
  };
  let json: unknown;
  try {
    json = toPlainJson(parseStrictJson(text));
  } catch (error) {
    if (!(error instanceof JsonError)) throw error;
    const duplicate = error.duplicate;
    if (duplicate !== undefined) {
      throw new MsSignError('BAD_TRUST_POLICY', `trust policy ${source}: ${duplicate}: this key is given twice in its object; keep one`, { path: source, field: duplicate });
    }
    // Never echo the parser's message: it may quote the input, and a secret key file given by
    // mistake as the policy would leak into the output. Say where, not what.
    return fail('', `not valid JSON (at character ${error.offset})`);
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
  const validate = validateSchema;
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
  // One anchor, one publisher: otherwise a single signature could count for two publishers.
  const anchorOwners = new Map<string, string>();
  const claim = (anchor: string, what: string, publisher: string, field: string) => {
    const owner = anchorOwners.get(anchor);
    if (owner !== undefined) fail(field, `${what} is already listed for publisher "${owner}"`);
    anchorOwners.set(anchor, publisher);
  };
  const window = (w: { notBefore?: string | undefined; notAfter?: string | undefined }, field: string): ValidityWindow => {
    const notBefore = date(w.notBefore, `${field}/notBefore`);
    const notAfter = date(w.notAfter, `${field}/notAfter`);
    if (notBefore !== undefined && notAfter !== undefined && notAfter <= notBefore) fail(`${field}/notAfter`, 'must be later than notBefore');
    return { ...(notBefore === undefined ? {} : { notBefore }), ...(notAfter === undefined ? {} : { notAfter }) };
  };
  const publishers = document.publishers.map((p, i): Publisher => {
    const at = `/publishers/${i}`;
    if (names.has(p.name)) fail(`${at}/name`, `publisher "${p.name}" appears twice`);
    names.add(p.name);
    const keys: TrustedKey[] = [];
    const ecdsaKeys: TrustedEcdsaKey[] = [];
    p.keys.forEach((k, j) => {
      const field = `${at}/keys/${j}`;
      if (k.publicKey.startsWith(SPKI_ED25519_PREFIX)) {
        const publicKey = publicKeyFromDocument(k.publicKey, field, fail);
        claim(publicKey.keyId, `key ${publicKey.keyId}`, p.name, `${field}/publicKey`);
        keys.push({ publicKey, ...window(k, field) });
        return;
      }
      const spki = fromBase64(k.publicKey) ?? new Uint8Array();
      const curve = ecSpkiCurve(spki);
      if (curve !== 'P-256' && curve !== 'P-384' && curve !== 'P-521') return fail(`${field}/publicKey`, `neither an Ed25519 nor an ECDSA public key: ${curve}`);
      const keyId = ecKeyId(spki);
      claim(keyId, `key ${keyId}`, p.name, `${field}/publicKey`);
      ecdsaKeys.push({ spki, curve, keyId, ...window(k, field) });
    });
    const certificateRoots = (p.certificateRoots ?? []).map((r, j): TrustedCertificateRoot => {
      const field = `${at}/certificateRoots/${j}`;
      const certificate = fromBase64(r.certificate) ?? new Uint8Array();
      // A DER SEQUENCE; the certificate itself is read when a chain is checked against it.
      if (certificate[0] !== 0x30) fail(`${field}/certificate`, 'not a base64 DER certificate');
      const fingerprint = toHex(sha256(certificate));
      claim(fingerprint, `certificate root ${fingerprint}`, p.name, `${field}/certificate`);
      return { certificate, fingerprint, ...window(r, field) };
    });
    const sigstoreIdentities = (p.sigstoreIdentities ?? []).map((id, j): TrustedSigstoreIdentity => {
      const field = `${at}/sigstoreIdentities/${j}`;
      claim(`${id.identity}\n${id.issuer}`, `Sigstore identity ${id.identity} (issuer ${id.issuer})`, p.name, `${field}/identity`);
      return { identity: id.identity, issuer: id.issuer, ...window(id, field) };
    });
    if (keys.length + ecdsaKeys.length + certificateRoots.length + sigstoreIdentities.length === 0) {
      fail(`${at}/keys`, 'a publisher needs at least one key, certificate root or Sigstore identity');
    }
    return { name: p.name, models: p.models.map((m, j) => glob(m, `${at}/models/${j}`)), keys, ecdsaKeys, certificateRoots, sigstoreIdentities };
  });
  const revoked = new Set<string>();
  const revocations = new Map<string, { reason?: string; revokedAt?: string }>();
  document.revoked.forEach((r, i) => {
    const length = fromHex(r.keyId)?.length;
    if (length !== 16 && length !== 32) fail(`/revoked/${i}/keyId`, 'expected 32 (Ed25519) or 64 (ECDSA key, certificate) lower-case hex characters');
    date(r.revokedAt, `/revoked/${i}/revokedAt`);
    revoked.add(r.keyId);
    revocations.set(r.keyId, { ...(r.reason === undefined ? {} : { reason: r.reason }), ...(r.revokedAt === undefined ? {} : { revokedAt: r.revokedAt }) });
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
    r.scanAllowGlobals?.forEach((entry, j) => {
      // The schema checks the shape; this refuses what no policy may allow (code execution).
      const why = hardDenyReason(entry);
      if (why !== undefined) fail(`${at}/scanAllowGlobals/${j}`, `${entry} ${why}`);
    });
    return {
      models: glob(r.models, `${at}/models`),
      threshold,
      requireExpiry: r.requireExpiry ?? false,
      ...(maxAgeSeconds === undefined ? {} : { maxAgeSeconds }),
      ...(r.scan === undefined ? {} : { scan: r.scan }),
      ...(r.scanAllowUnknown === undefined ? {} : { scanAllowUnknown: r.scanAllowUnknown.map((g, j) => glob(g, `${at}/scanAllowUnknown/${j}`)) }),
      ...(r.scanAllowGlobals === undefined ? {} : { scanAllowGlobals: new Set(r.scanAllowGlobals) }),
      ...(scanWaive === undefined ? {} : { scanWaive: new Set(scanWaive) }),
    };
  });
  return { publishers, revoked, revocations, rules };
}

function publicKeyFromDocument(text: string, field: string, fail: PolicyFailure): PublicKey {
  if (!text.startsWith(SPKI_ED25519_PREFIX)) return fail(`${field}/publicKey`, 'not an Ed25519 SubjectPublicKeyInfo in base64');
  const der = fromBase64(text);
  if (der === undefined) return fail(`${field}/publicKey`, 'not an Ed25519 SubjectPublicKeyInfo in base64');
  try {
    return publicKeyFromBytes(der.subarray(12));
  } catch (error) {
    return fail(`${field}/publicKey`, (error as Error).message);
  }
}

/** The policy line for a public key: base64 of its DER SubjectPublicKeyInfo. */
export function publicKeyToDocument(key: PublicKey): string {
  const prefix = fromBase64(SPKI_ED25519_PREFIX)!;
  const der = new Uint8Array(prefix.length + key.bytes.length);
  der.set(prefix);
  der.set(key.bytes, prefix.length);
  return toBase64(der);
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
    publishers.push({ name, models: [compileGlob('**')], keys: [{ publicKey: key }], ecdsaKeys: [], certificateRoots: [], sigstoreIdentities: [] });
  }
  return { publishers, revoked: new Set(), rules: [] };
}

/** An anchor given on the command line for OMS bundles (`-p EC.pub`, `--cert-root`, `--sigstore-identity`). */
export type CommandLineAnchor =
  | { readonly name: string; readonly ecdsaKey: Uint8Array }
  | { readonly name: string; readonly certificateRoot: Uint8Array }
  | { readonly name: string; readonly sigstoreIdentity: { readonly identity: string; readonly issuer: string } };

/**
 * The implicit policy of anchors given on the command line: each Ed25519 key (`keys`) and each
 * OMS anchor is its own publisher for every model name, threshold 1, no age limit.
 */
export function policyFromAnchors(keys: readonly { readonly name: string; readonly key: PublicKey }[], anchors: readonly CommandLineAnchor[]): TrustPolicy {
  const base = policyFromKeys(keys);
  const publishers = [...base.publishers];
  const none = { keys: [], ecdsaKeys: [], certificateRoots: [], sigstoreIdentities: [] };
  for (const anchor of anchors) {
    const models = [compileGlob('**')];
    if ('ecdsaKey' in anchor) {
      const curve = ecSpkiCurve(anchor.ecdsaKey);
      if (curve !== 'P-256' && curve !== 'P-384' && curve !== 'P-521') throw new MsSignError('BAD_KEY', `${anchor.name}: ${curve}`, { path: anchor.name });
      publishers.push({ ...none, name: anchor.name, models, ecdsaKeys: [{ spki: anchor.ecdsaKey, curve, keyId: ecKeyId(anchor.ecdsaKey) }] });
    } else if ('certificateRoot' in anchor) {
      publishers.push({ ...none, name: anchor.name, models, certificateRoots: [{ certificate: anchor.certificateRoot, fingerprint: toHex(sha256(anchor.certificateRoot)) }] });
    } else {
      publishers.push({ ...none, name: anchor.name, models, sigstoreIdentities: [{ ...anchor.sigstoreIdentity }] });
    }
  }
  return { ...base, publishers };
}
