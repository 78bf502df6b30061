import { MsSignError, policyFromKeys } from '@ms-sign/core';
import { locateTrustPolicy, readTrustPolicyFile, type TrustPolicyOrigin, type TrustSource } from '@ms-sign/core/node';
import type { CliIo } from './io.js';
import { loadPublicKey } from './keys.js';

export interface TrustOptions {
  readonly publicKey: readonly string[];
  readonly trust?: string;
}

/**
 * Trust anchors for verify and exec: `-p` keys (each its own publisher, any model name), else
 * the trust policy found in lookup order. With neither, refuse to run: a verify that trusts
 * nothing in particular must not look like one that passed (SPEC section 4, exit 2).
 */
export function resolveTrust(options: TrustOptions, io: CliIo): TrustSource & { origin: string } {
  if (options.publicKey.length > 0) {
    if (options.trust !== undefined) throw new MsSignError('USAGE', 'give trust anchors either with -p or with -t, not both');
    const keys = options.publicKey.map((file) => ({ name: file, key: loadPublicKey(file, io) }));
    return { policy: policyFromKeys(keys), source: `-p ${options.publicKey.join(' -p ')}`, origin: '-p' };
  }
  const location = locateTrustPolicy(options.trust, io.env, io.cwd);
  if (location === undefined) {
    throw new MsSignError(
      'NO_TRUST_ANCHOR',
      'no trust anchor: give the publisher\'s key with -p PUBKEY, or a trust policy with -t FILE, MS_SIGN_TRUST, ./.ms-sign/trust.json or $XDG_CONFIG_HOME/ms-sign/trust.json',
    );
  }
  return { policy: readTrustPolicyFile(location.path).policy, source: location.path, origin: originLabel(location.origin) };
}

/** How a trust policy was found, as the CLI names it: the file given on purpose is "-t". */
export function originLabel(origin: TrustPolicyOrigin): string {
  return origin === 'explicit' ? '-t' : origin;
}
