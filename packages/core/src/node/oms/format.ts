import { X509Certificate } from 'node:crypto';
// The pure core carries the trusted root opaquely; parseSigstoreTrustedRoot made it.
import type { SigstoreTrust } from './sigstore.js';
import { MsSignError, problem, type Problem } from '../../errors.js';
import type { Publisher, TrustPolicy, ValidityWindow } from '../../policy/policy.js';
import type { FormatVerifyOptions, SignatureDescription, SignatureFormat, SignatureVerification } from '../../verify/format.js';
import { applyPolicy } from '../../verify/policy-check.js';
import type { SignerReport } from '../../verify/signer-report.js';
import type { SignatureCheck } from '../../verify/signatures.js';
import type { SignedStatement } from '../../verify/statement.js';
import { looksLikeJsonBundle, parseOmsBundle, type OmsBundle } from '../../oms/bundle.js';
import { certificateFingerprint } from './chain.js';
import { ecPublicKeyFromSpki } from './ec-key.js';
import { verifyOmsSignature, type OmsSigner, type OmsTrustAnchors } from './signature.js';
import { sigstoreCore } from './sigstore-libraries.js';
import { parseOmsStatement } from '../../oms/statement.js';

export const OMS_FORMAT_ID = 'oms';

/** Who vouches for a matched anchor, and in which window it counts. */
interface Owner {
  readonly publisher: Publisher;
  readonly window: ValidityWindow;
}

/**
 * OMS / model_signing bundles (Sigstore bundle JSON with a DSSE envelope over an in-toto statement)
 * as a signature format: detected by their first byte ("{"), verified under the policy's ECDSA
 * keys, certificate roots and Sigstore identities, with the same scopes, windows, revocation,
 * thresholds and rules as native signatures.
 */
export const OMS_FORMAT: SignatureFormat = {
  id: OMS_FORMAT_ID,
  detect: looksLikeJsonBundle,

  verify(bytes: Uint8Array, trust: TrustPolicy, now: number, options: FormatVerifyOptions = {}): SignatureVerification {
    const source = options.source ?? 'signature file';
    try {
      const { anchors, owners } = anchorsOf(trust, options);
      const verified = verifyOmsSignature(bytes, anchors, new Date(now * 1000), source);
      const { signer, statement: oms } = verified;
      const owner = owners.get(anchorOf(signer));
      if (owner === undefined) throw new MsSignError('INTERNAL', 'a verified OMS signer has no owner in the policy');
      const keyId = signerKeyId(signer);
      // A revoked signing key or leaf certificate, or a revoked root, never counts.
      const revoked = trust.revoked.has(keyId) || (signer.mode === 'certificate' && trust.revoked.has(signer.root));
      // Only the Sigstore log proves when a bundle was signed; otherwise policy windows are
      // checked at the time of verification (see docs/interop.md).
      const signedAt = signer.mode === 'sigstore' ? signer.integratedTime : undefined;
      const statement: SignedStatement = { subject: { name: oms.subjectName ?? '' }, created: signedAt ?? now, annotations: {} };
      const check: SignatureCheck = revoked ? { keyId, status: 'revoked' } : { keyId, status: 'verified', publisher: owner.publisher, key: owner.window };
      const outcome = applyPolicy(statement, [check], trust, now);
      const problems: Problem[] = [...outcome.problems];
      if (signedAt === undefined && outcome.rule.maxAge !== null) {
        problems.push(problem('TOO_OLD', `the policy limits the age of signatures of "${statement.subject.name}" to ${outcome.rule.maxAge}, and a ${signer.mode}-mode OMS bundle carries no proven signing time`));
      }
      return {
        format: OMS_FORMAT_ID,
        statement,
        expected: { kind: 'oms', statement: oms, mode: signer.mode, ...(signedAt === undefined ? {} : { signedAt }) },
        signers: outcome.signers.map((r) => withIdentity(r, signer)),
        rule: outcome.rule,
        problems,
      };
    } catch (error) {
      if (!(error instanceof MsSignError) || error.code === 'INTERNAL' || error.code === 'IO_ERROR') throw error;
      return { format: OMS_FORMAT_ID, signers: [], rule: null, problems: [error.toProblem()] };
    }
  },

  describe(bytes: Uint8Array, source?: string): SignatureDescription {
    const bundle = parseOmsBundle(bytes, source ?? 'signature file');
    const oms = parseOmsStatement(bundle.payload, source ?? 'signature file');
    return {
      format: OMS_FORMAT_ID,
      payloadType: bundle.payloadType,
      statement: { subject: { name: oms.subjectName ?? '' }, created: 0, annotations: {} },
      expected: { kind: 'oms', statement: oms, mode: bundle.material.mode },
      signers: [claimedSigner(bundle)],
    };
  },
};

function anchorsOf(trust: TrustPolicy, options: FormatVerifyOptions): { anchors: OmsTrustAnchors; owners: Map<string, Owner> } {
  const owners = new Map<string, Owner>();
  const keys: OmsTrustAnchors['keys'][number][] = [];
  const certificateRoots: Uint8Array[] = [];
  const identities: { identity: string; issuer: string }[] = [];
  for (const publisher of trust.publishers) {
    for (const k of publisher.ecdsaKeys ?? []) {
      try {
        keys.push(ecPublicKeyFromSpki(k.spki, `trusted key ${k.keyId}`));
      } catch (error) {
        throw new MsSignError('BAD_TRUST_POLICY', `publisher ${publisher.name}: ECDSA key ${k.keyId} is not a valid public key`, { cause: error });
      }
      owners.set(`key:${k.keyId}`, { publisher, window: k });
    }
    for (const r of publisher.certificateRoots ?? []) {
      let raw: Uint8Array;
      try {
        raw = new X509Certificate(r.certificate).raw;
      } catch (error) {
        throw new MsSignError('BAD_TRUST_POLICY', `publisher ${publisher.name}: certificate root ${r.fingerprint} is not a readable certificate`, { cause: error });
      }
      certificateRoots.push(raw);
      // Named as the chain check names the root it reached: by the certificate's own DER.
      owners.set(`root:${certificateFingerprint(raw)}`, { publisher, window: r });
    }
    for (const id of publisher.sigstoreIdentities ?? []) {
      identities.push({ identity: id.identity, issuer: id.issuer });
      owners.set(`id:${id.identity}\n${id.issuer}`, { publisher, window: id });
    }
  }
  const sigstore = options.sigstoreTrustedRoot === undefined ? undefined : { trust: options.sigstoreTrustedRoot as SigstoreTrust, identities };
  return { anchors: { keys, certificateRoots, sigstore }, owners };
}

function anchorOf(signer: OmsSigner): string {
  switch (signer.mode) {
    case 'key':
      return `key:${signer.keyId}`;
    case 'certificate':
      return `root:${signer.root}`;
    case 'sigstore':
      return `id:${signer.identity}\n${signer.issuer}`;
  }
}

/** The id revocations name: the ECDSA key id, or the leaf certificate's fingerprint. */
function signerKeyId(signer: OmsSigner): string {
  switch (signer.mode) {
    case 'key':
    case 'certificate':
      return signer.keyId;
    case 'sigstore':
      return signer.identity;
  }
}

function withIdentity(report: SignerReport, signer: OmsSigner): SignerReport {
  switch (signer.mode) {
    case 'key':
      return report;
    case 'certificate':
      return { ...report, keyId: null, certificate: { subject: signer.subject, issuer: signer.issuer } };
    case 'sigstore':
      return { ...report, keyId: null, sigstore: { identity: signer.identity, issuer: signer.issuer } };
  }
}

/** Who the bundle says signed it (nothing checked). */
function claimedSigner(bundle: OmsBundle): SignatureDescription['signers'][number] {
  const m = bundle.material;
  if (m.mode === 'key') return { keyId: m.hint ?? null };
  const der = m.mode === 'certificate' ? m.certificates[0]! : m.certificate;
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch (error) {
    throw new MsSignError('MALFORMED_SIGNATURE_FILE', `the signing certificate is not readable: ${(error as Error).message}`, { cause: error });
  }
  if (m.mode === 'certificate') return { keyId: null, certificate: { subject: cert.subject.split('\n').join(', '), issuer: cert.issuer.split('\n').join(', ') } };
  const parsed = sigstoreCore().X509Certificate.parse(cert.raw);
  const issuer = parsed.extension('1.3.6.1.4.1.57264.1.8')?.valueObj.subs[0]?.value.toString('utf8') ?? parsed.extension('1.3.6.1.4.1.57264.1.1')?.value.toString('utf8') ?? '';
  return { keyId: null, sigstore: { identity: parsed.subjectAltName ?? '', issuer } };
}
