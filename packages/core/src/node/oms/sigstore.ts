import type { TrustMaterial } from '@sigstore/verify';
import { MsSignError } from '../../errors.js';
import { asObject, parseJsonBytes } from '../../oms/json.js';
import { sigstoreBundle, sigstoreSpecs, sigstoreVerify } from './sigstore-libraries.js';

/**
 * Sigstore keyless mode, offline: @sigstore/verify checks the Fulcio certificate chain at the
 * signing time the log proves, the Rekor entry (signed entry timestamp, inclusion proof against a
 * signed checkpoint), the embedded SCT, RFC 3161 timestamps and the DSSE signature, all against a
 * local trusted root. The signer's identity and issuer are then compared here, exactly: sigstore-js
 * matches a policy as an unanchored regular expression, so "b@us.ibm.com" would pass for
 * "stefanb@us.ibm.com".
 */
const TRUSTED_ROOT_MEDIA_TYPE = 'application/vnd.dev.sigstore.trustedroot+json;version=0.1';
const CLIENT_TRUST_CONFIG_MEDIA_TYPE = 'application/vnd.dev.sigstore.clienttrustconfig.v0.1+json';

export interface SigstoreIdentity {
  /** The certificate's subject alternative name: an email, URI or Sigstore other name. */
  readonly identity: string;
  /** The OIDC issuer recorded in the certificate (Fulcio extension 1.3.6.1.4.1.57264.1.1 / .8). */
  readonly issuer: string;
}

export interface SigstoreTrust {
  readonly material: TrustMaterial;
  /** Where the trusted root came from, for messages. */
  readonly source: string;
}

/** Reads a Sigstore trusted_root.json, or a client trust config that embeds one. */
export function parseSigstoreTrustedRoot(bytes: Uint8Array, source: string): SigstoreTrust {
  const fail = (message: string, cause?: unknown): never => {
    throw new MsSignError('BAD_TRUST_POLICY', `Sigstore trusted root ${source}: ${message}`, { path: source, cause });
  };
  const json = parseJsonBytes(bytes, 32, fail);
  let root = asObject(json) ?? fail('expected a JSON object');
  if (root.mediaType === CLIENT_TRUST_CONFIG_MEDIA_TYPE) root = asObject(root.trustedRoot) ?? fail('the client trust config has no trustedRoot');
  if (root.mediaType !== TRUSTED_ROOT_MEDIA_TYPE) fail(`media type ${JSON.stringify(root.mediaType)} is not ${TRUSTED_ROOT_MEDIA_TYPE}`);
  try {
    return { material: sigstoreVerify().toTrustMaterial(sigstoreSpecs().TrustedRoot.fromJSON(root)), source };
  } catch (error) {
    return fail((error as Error).message, error);
  }
}

/** Verifies a keyless bundle and returns the identity it proves (not yet matched to a policy). */
export function verifySigstoreBundle(json: Record<string, unknown>, trust: SigstoreTrust, source: string): SigstoreIdentity & { readonly integratedTime: number | undefined } {
  const { toSignedEntity, Verifier, VerificationError } = sigstoreVerify();
  let signer;
  let integratedTime: number | undefined;
  try {
    const bundle = sigstoreBundle().bundleFromJSON(json);
    const entry = bundle.verificationMaterial.tlogEntries[0];
    integratedTime = entry ? Number(entry.integratedTime) : undefined;
    // Default thresholds: one log entry, one SCT, one verified timestamp.
    signer = new Verifier(trust.material).verify(toSignedEntity(bundle));
  } catch (error) {
    if (error instanceof VerificationError) {
      const code = error.code === 'SIGNATURE_ERROR' ? 'BAD_SIGNATURE' : error.code === 'CERTIFICATE_ERROR' ? 'CERTIFICATE_REJECTED' : 'TRANSPARENCY_LOG_REJECTED';
      throw new MsSignError(code, `${source}: Sigstore verification against ${trust.source} failed: ${error.message}`, { path: source, cause: error });
    }
    throw new MsSignError('MALFORMED_SIGNATURE_FILE', `${source}: not a valid Sigstore bundle: ${(error as Error).message}`, { path: source, cause: error });
  }
  const identity = signer.identity?.subjectAlternativeName;
  const issuer = signer.identity?.extensions?.issuer;
  if (identity === undefined || issuer === undefined) {
    throw new MsSignError('UNTRUSTED_SIGNER', `${source}: the Sigstore certificate names no identity or no issuer`, { path: source });
  }
  return { identity, issuer, integratedTime };
}
