import { createHash, X509Certificate } from 'node:crypto';
import type { X509Certificate as ParsedCertificate } from '@sigstore/core';
import { sigstoreCore } from './sigstore-libraries.js';
import { MsSignError } from '../../errors.js';

/**
 * Certificate mode: the bundle's leaf and intermediates must chain to a root the verifier trusts,
 * following the rules OpenSSL applies for model_signing (no web-PKI default: roots are explicit).
 *
 * - issuers are found by name and key identifiers (X509Certificate.checkIssued) and their signature
 *   checked; the corpus leaf has the same subject name as its issuer, so a name-only match is wrong;
 * - every intermediate must be a CA (basicConstraints CA:TRUE, keyCertSign when keyUsage is present,
 *   path length respected); the leaf may be a CA too, as OpenSSL allows;
 * - every certificate, the root included, must be valid at `at` (bounds inclusive);
 * - unknown critical extensions are refused;
 * - the leaf must allow signing: keyUsage digitalSignature, or failing that extended key usage
 *   codeSigning (model_signing 1.1's rule).
 */
const MAX_DEPTH = 10;
const CODE_SIGNING = '1.3.6.1.5.5.7.3.3';
// Extensions whose meaning this check implements or that carry no constraint.
const UNDERSTOOD = new Set(['2.5.29.15', '2.5.29.19', '2.5.29.37', '2.5.29.17', '2.5.29.14', '2.5.29.35']);

export interface VerifiedChain {
  readonly leaf: X509Certificate;
  readonly root: X509Certificate;
  /** Lowercase hex SHA-256 of the root's DER (how trust policies name a certificate root). */
  readonly rootFingerprint: string;
}

export function certificateFingerprint(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}

export function parseCertificate(der: Uint8Array, what: string, code: 'MALFORMED_SIGNATURE_FILE' | 'BAD_KEY' = 'MALFORMED_SIGNATURE_FILE'): X509Certificate {
  try {
    return new X509Certificate(der);
  } catch (error) {
    throw new MsSignError(code, `${what} is not a readable X.509 certificate: ${(error as Error).message}`, { cause: error });
  }
}

export function verifyCertificateChain(certificates: readonly Uint8Array[], roots: readonly Uint8Array[], at: Date): VerifiedChain {
  const [leafDer, ...rest] = certificates;
  const leaf = parseCertificate(leafDer!, 'the signing certificate');
  const intermediates = rest.map((der, i) => parseCertificate(der, `bundle certificate ${i + 2}`));
  const anchors = roots.map((der) => new X509Certificate(der));
  if (anchors.length === 0) throw new MsSignError('UNTRUSTED_SIGNER', 'the bundle is signed with a certificate, and no certificate root is trusted');
  checkLeaf(leaf, at);

  const used = new Set<number>();
  let current = leaf;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const anchor = anchors.find((a) => current.checkIssued(a) && current.verify(a.publicKey));
    if (anchor) {
      checkValid(anchor, at, 'the trusted root');
      return { leaf, root: anchor, rootFingerprint: certificateFingerprint(anchor.raw) };
    }
    const next = intermediates.findIndex((c, i) => !used.has(i) && current.checkIssued(c) && current.verify(c.publicKey));
    if (next < 0) {
      throw new MsSignError('UNTRUSTED_SIGNER', `the signing certificate (${leaf.subject.replace(/\n/g, ', ')}) does not chain to a trusted certificate root`);
    }
    used.add(next);
    current = intermediates[next]!;
    checkIssuer(current, depth, at);
  }
  throw new MsSignError('CERTIFICATE_REJECTED', `the certificate chain is longer than ${MAX_DEPTH}`);
}

function checkLeaf(leaf: X509Certificate, at: Date): void {
  checkValid(leaf, at, 'the signing certificate');
  const parsed = sigstoreCore().X509Certificate.parse(leaf.raw);
  checkCritical(parsed, 'the signing certificate');
  if (parsed.extKeyUsage?.digitalSignature) return;
  const eku = parsed.extension('2.5.29.37');
  if (eku && eku.valueObj.subs.some((oid) => oid.toOID() === CODE_SIGNING)) return;
  throw new MsSignError('CERTIFICATE_REJECTED', 'the signing certificate may not be used for signing (neither key usage digitalSignature nor extended key usage codeSigning)');
}

function checkIssuer(cert: X509Certificate, below: number, at: Date): void {
  const what = `intermediate certificate ${cert.subject.replace(/\n/g, ', ')}`;
  checkValid(cert, at, what);
  const parsed = sigstoreCore().X509Certificate.parse(cert.raw);
  checkCritical(parsed, what);
  const bc = parsed.extBasicConstraints;
  if (!bc?.isCA) throw new MsSignError('CERTIFICATE_REJECTED', `${what} is not a CA`);
  if (bc.pathLenConstraint !== undefined && BigInt(below) > bc.pathLenConstraint) throw new MsSignError('CERTIFICATE_REJECTED', `${what}: path length constraint exceeded`);
  if (parsed.extKeyUsage && !parsed.extKeyUsage.keyCertSign) throw new MsSignError('CERTIFICATE_REJECTED', `${what} may not sign certificates (no keyCertSign)`);
}

function checkCritical(parsed: ParsedCertificate, what: string): void {
  for (const ext of parsed.extensions) {
    const [oid, maybeCritical] = ext.subs;
    const critical = maybeCritical?.tag.isBoolean() === true && maybeCritical.toBoolean();
    const name = oid!.toOID();
    if (critical && !UNDERSTOOD.has(name)) throw new MsSignError('CERTIFICATE_REJECTED', `${what} has an unknown critical extension ${name}`);
  }
}

function checkValid(cert: X509Certificate, at: Date, what: string): void {
  const parsed = sigstoreCore().X509Certificate.parse(cert.raw);
  const t = at.getTime();
  // Inclusive bounds: the corpus chain is checked by model_signing at exactly its notBefore.
  if (t < parsed.notBefore.getTime()) throw new MsSignError('CERTIFICATE_REJECTED', `${what} is not valid before ${parsed.notBefore.toISOString()}`);
  if (t > parsed.notAfter.getTime()) throw new MsSignError('CERTIFICATE_REJECTED', `${what} expired on ${parsed.notAfter.toISOString()}`);
}
