import { MsSignError } from '../errors.js';
import { asObject, decodeBase64, parseJsonBytes } from './json.js';

/**
 * The outer Sigstore bundle of an OMS / model_signing signature (protobuf JSON): which trust
 * material it carries and the DSSE envelope. Parsed strictly: unknown fields, duplicate keys and
 * anything but exactly one signature are refused, so that what we verify is the only reading.
 */

/** The one media type model_signing's key and certificate verifiers accept (exact comparison). */
export const BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
/** Sigstore bundle spellings accepted for keyless (sigstore) bundles, as sigstore clients do. */
export const SIGSTORE_BUNDLE_MEDIA_TYPES: readonly string[] = [
  'application/vnd.dev.sigstore.bundle+json;version=0.1',
  'application/vnd.dev.sigstore.bundle+json;version=0.2',
  'application/vnd.dev.sigstore.bundle+json;version=0.3',
  BUNDLE_MEDIA_TYPE,
];
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** Nesting of a Sigstore bundle is about 8 levels; anything far deeper is hostile. */
const MAX_DEPTH = 32;
const MAX_CERTIFICATES = 10;

export type OmsMaterial =
  /** Key mode: a hint (hex SHA-256 of the PEM key) or legacy raw bytes; never a source of trust. */
  | { readonly mode: 'key'; readonly hint: string | undefined; readonly legacyRawBytes: Uint8Array | undefined }
  /** Certificate mode: leaf first, then intermediates (the root is the verifier's). */
  | { readonly mode: 'certificate'; readonly certificates: readonly Uint8Array[] }
  /** Sigstore keyless mode: a Fulcio leaf plus transparency-log evidence. */
  | { readonly mode: 'sigstore'; readonly certificate: Uint8Array };

export interface OmsBundle {
  readonly mediaType: string;
  readonly material: OmsMaterial;
  /** Transparency-log entries: exactly what sigstore mode needs; in key and certificate mode unverified. */
  readonly tlogEntries: number;
  readonly payloadType: string;
  /** The exact payload bytes the signature covers; never re-serialized. */
  readonly payload: Uint8Array;
  /** DER ECDSA signature. */
  readonly signature: Uint8Array;
  /** The whole bundle as parsed, for the Sigstore verifier (sigstore mode). */
  readonly json: Record<string, unknown>;
}

/** True when `bytes` starts like JSON (ms-sign's own signature files are CBOR maps, never "{"). */
export function looksLikeJsonBundle(bytes: Uint8Array): boolean {
  for (const b of bytes) {
    if (b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d) continue;
    return b === 0x7b;
  }
  return false;
}

export function parseOmsBundle(bytes: Uint8Array, source: string): OmsBundle {
  const fail = (message: string): never => {
    throw new MsSignError('MALFORMED_SIGNATURE_FILE', `${source}: ${message}`, { path: source });
  };
  if (bytes.length === 0) fail('the file is empty');
  const parsed = parseJsonBytes(bytes, MAX_DEPTH, fail);
  const top = object(parsed, 'bundle', ['mediaType', 'verificationMaterial', 'dsseEnvelope', 'messageSignature'], fail);
  const mediaType = string(top.mediaType, 'mediaType', fail);
  // Not a Sigstore bundle at all: a damaged or foreign file. A Sigstore bundle of another version: unsupported.
  if (!mediaType.startsWith('application/vnd.dev.sigstore.bundle')) fail(`not a Sigstore bundle (media type ${JSON.stringify(mediaType)})`);
  if (!SIGSTORE_BUNDLE_MEDIA_TYPES.includes(mediaType)) {
    throw new MsSignError('UNSUPPORTED_FORMAT', `${source}: not a Sigstore bundle this version reads (media type ${JSON.stringify(mediaType)})`, { path: source });
  }
  if (top.messageSignature !== undefined) {
    throw new MsSignError('UNSUPPORTED_FORMAT', `${source}: a Sigstore bundle over a message digest, not an OMS / model_signing DSSE envelope`, { path: source });
  }
  if (top.verificationMaterial === undefined) fail('verificationMaterial is missing');
  if (top.dsseEnvelope === undefined) fail('dsseEnvelope is missing');

  const vm = object(top.verificationMaterial, 'verificationMaterial', ['publicKey', 'x509CertificateChain', 'certificate', 'tlogEntries', 'timestampVerificationData'], fail);
  const present = ['publicKey', 'x509CertificateChain', 'certificate'].filter((k) => vm[k] !== undefined);
  if (present.length !== 1) fail('verificationMaterial must hold exactly one of publicKey, x509CertificateChain, certificate');
  // Absent, [] (model_signing 1.1 key and certificate bundles) or the sigstore entries.
  const tlog = vm.tlogEntries === undefined ? [] : Array.isArray(vm.tlogEntries) ? vm.tlogEntries : fail('verificationMaterial.tlogEntries: expected an array');
  let material: OmsMaterial;
  if (vm.publicKey !== undefined) {
    const pk = object(vm.publicKey, 'publicKey', ['hint', 'rawBytes', 'keyDetails'], fail);
    const hint = pk.hint === undefined || pk.hint === '' ? undefined : string(pk.hint, 'publicKey.hint', fail);
    if (hint !== undefined && !/^[0-9a-f]{64}$/.test(hint)) fail('publicKey.hint: expected 64 lowercase hex digits');
    const legacyRawBytes = pk.rawBytes === undefined ? undefined : base64(pk.rawBytes, 'publicKey.rawBytes', fail);
    if (pk.keyDetails !== undefined) string(pk.keyDetails, 'publicKey.keyDetails', fail);
    material = { mode: 'key', hint, legacyRawBytes };
  } else if (vm.x509CertificateChain !== undefined) {
    const chain = object(vm.x509CertificateChain, 'x509CertificateChain', ['certificates'], fail);
    const list = Array.isArray(chain.certificates) ? chain.certificates : fail('x509CertificateChain.certificates: expected an array');
    if (list.length === 0 || list.length > MAX_CERTIFICATES) fail(`x509CertificateChain.certificates: expected 1 to ${MAX_CERTIFICATES} certificates`);
    material = { mode: 'certificate', certificates: list.map((c, i) => rawBytes(c, `x509CertificateChain.certificates[${i}]`, fail)) };
  } else {
    material = { mode: 'sigstore', certificate: rawBytes(vm.certificate, 'certificate', fail) };
    // A keyless signature is only worth its transparency-log entry (the OMS spec requires one).
    if (tlog.length === 0) fail('a Sigstore (keyless) bundle must carry at least one transparency-log entry');
  }
  if (material.mode !== 'sigstore' && mediaType !== BUNDLE_MEDIA_TYPE) {
    throw new MsSignError('UNSUPPORTED_FORMAT', `${source}: key and certificate bundles must have media type ${BUNDLE_MEDIA_TYPE}`, { path: source });
  }

  const env = object(top.dsseEnvelope, 'dsseEnvelope', ['payload', 'payloadType', 'signatures'], fail);
  const payload = base64(env.payload, 'dsseEnvelope.payload', fail);
  const payloadType = string(env.payloadType, 'dsseEnvelope.payloadType', fail);
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new MsSignError('UNSUPPORTED_FORMAT', `${source}: payload type ${JSON.stringify(payloadType)} is not an in-toto statement`, { path: source });
  }
  const sigs = Array.isArray(env.signatures) ? env.signatures : fail('dsseEnvelope.signatures: expected an array');
  // model_signing checks only the first signature; a second one would be unverified baggage.
  if (sigs.length !== 1) fail(`dsseEnvelope.signatures: expected exactly one signature, found ${sigs.length}`);
  const sig = object(sigs[0], 'dsseEnvelope.signatures[0]', ['sig', 'keyid'], fail);
  // keyid: absent, null or "" in every model_signing release; informational only.
  if (sig.keyid !== undefined && sig.keyid !== null) string(sig.keyid, 'dsseEnvelope.signatures[0].keyid', fail);
  const signature = base64(sig.sig, 'dsseEnvelope.signatures[0].sig', fail);
  if (signature.length === 0) fail('dsseEnvelope.signatures[0].sig is empty');
  return { mediaType, material, tlogEntries: tlog.length, payloadType, payload, signature, json: top };
}

type Fail = (message: string) => never;

function object(value: unknown, field: string, allowed: readonly string[], fail: Fail): Record<string, unknown> {
  const o = asObject(value) ?? fail(`${field}: expected an object`);
  for (const key of Object.keys(o)) {
    if (!allowed.includes(key)) fail(`${field}: unknown field ${JSON.stringify(key)}`);
  }
  return o;
}

function string(value: unknown, field: string, fail: Fail): string {
  return typeof value === 'string' ? value : fail(`${field}: expected a string`);
}

function base64(value: unknown, field: string, fail: Fail): Uint8Array {
  return decodeBase64(string(value, field, fail)) ?? fail(`${field}: not valid base64`);
}

function rawBytes(value: unknown, field: string, fail: Fail): Uint8Array {
  const o = object(value, field, ['rawBytes'], fail);
  const bytes = base64(o.rawBytes, `${field}.rawBytes`, fail);
  if (bytes.length === 0) fail(`${field}.rawBytes is empty`);
  return bytes;
}
