/** The model_signing corpus and OMS vectors in test/data/interop, and the trust each case needs. */
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEcPublicKeyPem, parseSigstoreTrustedRoot, type OmsTrustAnchors, type SigstoreTrust } from '@ms-sign/core/node';
import { dataDir } from '../helpers/index.js';

export const interopDir = join(dataDir, 'interop');
export const corpusDir = join(interopDir, 'model-signing');
export const keysDir = join(corpusDir, 'keys', 'certificate');
export const vectorsDir = join(interopDir, 'oms-spec-vectors', 'v1.0');
export const trustedRootPath = join(interopDir, 'sigstore', 'trusted_root.json');
export const TRUSTED_ROOT_SHA256 = '6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66';

export const IDENTITY = 'stefanb@us.ibm.com';
export const ISSUER = 'https://sigstore.verify.ibm.com/oauth2';

export type Mode = 'elliptic-key' | 'certificate' | 'sigstore';

export interface CorpusCase {
  readonly name: string;
  readonly mode: Mode;
  /** What upstream verifies: the directory, or the single file signme-1. */
  readonly model: string;
  /** Ignores the bundle does not record (upstream's test scripts pass them). */
  readonly ignore: readonly string[];
}

const VERSIONS = ['v0.2.0', 'v0.3.1', 'v1.0.0', 'v1.0.1', 'v1.1.0'] as const;
export const CASES: readonly CorpusCase[] = VERSIONS.flatMap((v) =>
  (['elliptic-key', 'certificate', 'sigstore'] as const)
    .filter((mode) => v !== 'v0.2.0' || mode === 'certificate')
    .map((mode) => ({
      name: `${v}-${mode}`,
      mode,
      model: mode === 'elliptic-key' && (v === 'v0.3.1' || v === 'v1.0.0') ? 'signme-1' : '.',
      ignore: v === 'v1.0.1' ? ['ignore-me'] : [],
    })),
);

export const publicKeyPath = join(keysDir, 'signing-key-pub.pem');
export const caPath = join(keysDir, 'ca-cert.pem');

let sigstoreTrust: SigstoreTrust | undefined;
export function publicGoodRoot(): SigstoreTrust {
  sigstoreTrust ??= parseSigstoreTrustedRoot(readFileSync(trustedRootPath), trustedRootPath);
  return sigstoreTrust;
}

export function pemCertificates(path: string): Uint8Array[] {
  const text = readFileSync(path, 'utf8');
  return [...text.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/g)].map((m) => new Uint8Array(Buffer.from(m[1]!.replace(/\s/g, ''), 'base64')));
}

/** The trust each mode needs, as the corpus README gives it. */
export function trustFor(mode: Mode): OmsTrustAnchors {
  if (mode === 'elliptic-key') return { keys: [parseEcPublicKeyPem(readFileSync(publicKeyPath, 'utf8'), publicKeyPath)], certificateRoots: [] };
  if (mode === 'certificate') return { keys: [], certificateRoots: pemCertificates(caPath) };
  return { keys: [], certificateRoots: [], sigstore: { trust: publicGoodRoot(), identities: [{ identity: IDENTITY, issuer: ISSUER }] } };
}

/** A writable copy of a corpus folder (the data files are read-only in some checkouts). */
export function copyCase(name: string, dir: string): string {
  const to = join(dir, name);
  cpSync(join(corpusDir, name), to, { recursive: true });
  return to;
}
