import { verify as verifySignature, type KeyObject } from 'node:crypto';
import { MsSignError } from '../../errors.js';
import { parseOmsBundle, type OmsBundle } from '../../oms/bundle.js';
import { dssePae, legacyPae } from '../../oms/pae.js';
import { parseOmsStatement, peekPredicateType, PREDICATE_V01, type OmsStatement } from '../../oms/statement.js';
import { certificateFingerprint, verifyCertificateChain } from './chain.js';
import { CURVE_HASH, ecCurveOf, type EcCurve, type EcPublicKey } from './ec-key.js';
import { verifySigstoreBundle, type SigstoreIdentity, type SigstoreTrust } from './sigstore.js';

/** What an OMS bundle may be trusted through: one list per trust mode. */
export interface OmsTrustAnchors {
  readonly keys: readonly EcPublicKey[];
  /** DER certificates of trusted roots (certificate mode). */
  readonly certificateRoots: readonly Uint8Array[];
  /** Keyless mode: the Sigstore trusted root and the identities (each with its issuer) trusted. */
  readonly sigstore?: { readonly trust: SigstoreTrust; readonly identities: readonly SigstoreIdentity[] } | undefined;
}

export type OmsSigner =
  | { readonly mode: 'key'; readonly keyId: string; readonly curve: EcCurve }
  | { readonly mode: 'certificate'; readonly keyId: string; readonly subject: string; readonly issuer: string; readonly root: string }
  | { readonly mode: 'sigstore'; readonly identity: string; readonly issuer: string; readonly integratedTime: number | undefined };

export interface VerifiedOmsSignature {
  readonly bundle: OmsBundle;
  readonly statement: OmsStatement;
  readonly signer: OmsSigner;
  /** True for model_signing 0.2 bundles, whose signature covers the legacy message. */
  readonly legacyMessage: boolean;
}

/**
 * The signature stage for an OMS / model_signing bundle: parses it strictly, checks the signature
 * over the exact payload bytes under the trust anchors of the bundle's mode, and only then parses
 * the statement. Pure apart from node:crypto; throws MsSignError with a stable code.
 *
 * `at` is the time certificates must be valid at (certificate mode): see docs/interop.md.
 */
export function verifyOmsSignature(bytes: Uint8Array, trust: OmsTrustAnchors, at: Date, source: string): VerifiedOmsSignature {
  const bundle = parseOmsBundle(bytes, source);
  const material = bundle.material;
  let signer: OmsSigner;
  let legacyMessage = false;
  if (material.mode === 'key') {
    if (trust.keys.length === 0) throw new MsSignError('UNTRUSTED_SIGNER', `${source} is signed with an ECDSA key, and no ECDSA key is trusted`, { path: source });
    // The hint names the key; it is never a source of trust. Without one, try each trusted key.
    const candidates = material.hint === undefined ? trust.keys : trust.keys.filter((k) => k.hint === material.hint);
    if (candidates.length === 0) throw new MsSignError('UNTRUSTED_SIGNER', `${source} is signed by key ${material.hint}, which is not trusted`, { path: source });
    const found = candidates.map((key) => ({ key, how: checkDsse(key.keyObject, key.curve, bundle) })).find((c) => c.how !== undefined);
    if (!found) {
      if (material.hint === undefined) throw new MsSignError('UNTRUSTED_SIGNER', `${source}: no trusted ECDSA key verifies the signature`, { path: source });
      throw new MsSignError('BAD_SIGNATURE', `${source}: the signature does not verify under trusted key ${material.hint}`, { path: source });
    }
    legacyMessage = found.how === 'legacy';
    signer = { mode: 'key', keyId: found.key.hint, curve: found.key.curve };
  } else if (material.mode === 'certificate') {
    const chain = verifyCertificateChain(material.certificates, trust.certificateRoots, at);
    const curve = ecCurveOf(chain.leaf.publicKey);
    if (curve === undefined) throw new MsSignError('CERTIFICATE_REJECTED', `${source}: the signing certificate's key is not ECDSA P-256, P-384 or P-521`, { path: source });
    const how = checkDsse(chain.leaf.publicKey, curve, bundle);
    if (how === undefined) throw new MsSignError('BAD_SIGNATURE', `${source}: the signature does not verify under the signing certificate's key`, { path: source });
    legacyMessage = how === 'legacy';
    signer = { mode: 'certificate', keyId: certificateFingerprint(chain.leaf.raw), subject: oneLine(chain.leaf.subject), issuer: oneLine(chain.leaf.issuer), root: chain.rootFingerprint };
  } else {
    if (!trust.sigstore) throw new MsSignError('UNTRUSTED_SIGNER', `${source} is a Sigstore keyless bundle, and no Sigstore trusted root is given`, { path: source });
    const proven = verifySigstoreBundle(bundle.json, trust.sigstore.trust, source);
    // Exact comparison of both: see sigstore.ts for why not sigstore-js's policy.
    if (!trust.sigstore.identities.some((t) => t.identity === proven.identity && t.issuer === proven.issuer)) {
      throw new MsSignError('UNTRUSTED_SIGNER', `${source} is signed by ${proven.identity} (issuer ${proven.issuer}), which is not a trusted identity`, { path: source });
    }
    signer = { mode: 'sigstore', identity: proven.identity, issuer: proven.issuer, integratedTime: proven.integratedTime };
  }
  return { bundle, statement: parseOmsStatement(bundle.payload, source), signer, legacyMessage };
}

/**
 * Checks the DER ECDSA signature over DSSE PAE with the curve's hash. For a model_signing 0.2
 * statement (predicate Digests/v0.1) also the legacy message, which 0.2 signed with SHA-256 on
 * every curve (then the curve's hash, in case another writer used it). The predicate type read
 * before the check only chooses which message to try: the signature covers it either way.
 */
function checkDsse(key: KeyObject, curve: EcCurve, bundle: OmsBundle): 'standard' | 'legacy' | undefined {
  const ok = (hash: string, message: Uint8Array) => {
    try {
      return verifySignature(hash, message, { key, dsaEncoding: 'der' }, bundle.signature);
    } catch {
      return false;
    }
  };
  if (ok(CURVE_HASH[curve], dssePae(bundle.payloadType, bundle.payload))) return 'standard';
  if (peekPredicateType(bundle.payload) === PREDICATE_V01) {
    const legacy = legacyPae(bundle.payloadType, bundle.payload);
    if (ok('sha256', legacy) || ok(CURVE_HASH[curve], legacy)) return 'legacy';
  }
  return undefined;
}

function oneLine(name: string): string {
  return name.split('\n').join(', ');
}
