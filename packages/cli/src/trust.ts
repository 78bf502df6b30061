import { MsSignError, policyFromAnchors, type CommandLineAnchor, type PublicKey } from '@ms-sign/core';
import { locateTrustPolicy, readTrustPolicyFile, type LocateTrustPolicyOptions, type TrustPolicyOrigin, type TrustSource } from '@ms-sign/core/node';
import type { CliIo } from './io.js';
import { loadAnyPublicKey, loadCertificateRoot } from './keys.js';

export interface TrustOptions {
  readonly publicKey: readonly string[];
  readonly trust?: string;
  /** OMS certificate mode: roots to trust (PEM files). */
  readonly certRoot?: readonly string[];
  /** OMS Sigstore keyless mode: an identity and its issuer to trust. */
  readonly sigstoreIdentity?: string;
  readonly sigstoreIssuer?: string;
}

/**
 * Trust anchors for verify and exec: `-p` keys (each its own publisher, any model name), else
 * the trust policy found in lookup order. With neither, refuse to run: a verify that trusts
 * nothing in particular must not look like one that passed (docs/trust-policy.md, exit 2).
 */
export function resolveTrust(options: TrustOptions, io: CliIo): TrustSource & { origin: string } {
  const roots = options.certRoot ?? [];
  if ((options.sigstoreIdentity === undefined) !== (options.sigstoreIssuer === undefined)) {
    throw new MsSignError('USAGE', '--sigstore-identity and --sigstore-issuer go together: a Sigstore signer is an identity vouched for by one OIDC issuer');
  }
  if (options.publicKey.length > 0 || roots.length > 0 || options.sigstoreIdentity !== undefined) {
    if (options.trust !== undefined) throw new MsSignError('USAGE', 'give trust anchors either with -p, --cert-root, --sigstore-identity or with -t, not both');
    const keys: { name: string; key: PublicKey }[] = [];
    const anchors: CommandLineAnchor[] = [];
    for (const file of options.publicKey) {
      const key = loadAnyPublicKey(file, io);
      if (key.ed25519) keys.push({ name: file, key: key.ed25519 });
      else anchors.push({ name: file, ecdsaKey: key.spki });
    }
    for (const file of roots) anchors.push({ name: file, certificateRoot: loadCertificateRoot(file, io).der });
    if (options.sigstoreIdentity !== undefined) {
      anchors.push({ name: options.sigstoreIdentity, sigstoreIdentity: { identity: options.sigstoreIdentity, issuer: options.sigstoreIssuer! } });
    }
    const source = [
      ...options.publicKey.map((f) => `-p ${f}`),
      ...roots.map((f) => `--cert-root ${f}`),
      ...(options.sigstoreIdentity === undefined ? [] : [`--sigstore-identity ${options.sigstoreIdentity} --sigstore-issuer ${options.sigstoreIssuer}`]),
    ].join(' ');
    return { policy: policyFromAnchors(keys, anchors), source, origin: '-p' };
  }
  const location = locateTrustPolicy(options.trust, io.env, io.cwd, systemPolicy(io));
  if (location === undefined) {
    throw new MsSignError(
      'NO_TRUST_ANCHOR',
      'no trust anchor: give the publisher\'s key with -p PUBKEY (or for OMS bundles --cert-root, --sigstore-identity), or a trust policy with -t FILE, MS_SIGN_TRUST, $XDG_CONFIG_HOME/ms-sign/trust.json or /etc/ms-sign/trust.json (a policy in the current directory is never used)',
    );
  }
  return { policy: readTrustPolicyFile(location.path).policy, source: location.path, origin: originLabel(location.origin) };
}

/** How a trust policy was found, as the CLI names it: the file given on purpose is "-t". */
export function originLabel(origin: TrustPolicyOrigin): string {
  return origin === 'explicit' ? '-t' : origin;
}

/** The lookup's system-wide policy: /etc/ms-sign/trust.json unless a test runs the CLI with another. */
export function systemPolicy(io: CliIo): LocateTrustPolicyOptions {
  return io.systemTrustPolicy === undefined ? {} : { systemPath: io.systemTrustPolicy };
}
