import { problem, type ErrorCode, type Problem } from '../errors.js';
import type { Manifest } from '../format/manifest.js';
import type { TrustPolicy } from '../policy/policy.js';
import { formatDate, formatDuration } from '../policy/time.js';
import { revokedMessage, type SignatureCheck } from './signatures.js';

/** One signer as verify reports it (`signers[]` in --json). */
export interface SignerReport {
  readonly keyId: string;
  /** The policy publisher holding this key, if any. */
  readonly publisher: string | null;
  /** True when this signature counts toward the threshold. */
  readonly valid: boolean;
  /** Why it does not count. */
  readonly error?: { readonly code: ErrorCode; readonly message: string };
}

/** The strictest combination of every rule whose pattern matches the model name. */
export interface AppliedRule {
  readonly models: readonly string[];
  readonly threshold: number;
  readonly maxAge: string | null;
  readonly requireExpiry: boolean;
}

export interface PolicyOutcome {
  readonly signers: readonly SignerReport[];
  readonly rule: AppliedRule;
  readonly problems: readonly Problem[];
}

/** Allowed clock difference between signer and verifier for "created in the future". */
const CLOCK_SKEW_SECONDS = 300;

/**
 * Applies the trust policy to a manifest whose payload signatures were checked (SPEC section 4):
 * key windows, publisher scopes, revocation, the threshold of distinct publishers, expiry and
 * maximum age. Pure: `now` is Unix seconds.
 */
export function applyPolicy(manifest: Manifest, checks: readonly SignatureCheck[], policy: TrustPolicy, now: number): PolicyOutcome {
  const name = manifest.subject.name;
  const problems: Problem[] = [];
  const signerProblems: Problem[] = [];
  const countedPublishers = new Set<string>();

  const signers = checks.map((check): SignerReport => {
    const fail = (code: ErrorCode, message: string, publisher: string | null = null): SignerReport => {
      signerProblems.push(problem(code, message));
      return { keyId: check.keyId, publisher, valid: false, error: { code, message } };
    };
    switch (check.status) {
      case 'revoked':
        // Revocation is fatal, not just "does not count": a revoked key signing is a red flag.
        problems.push(problem('REVOKED_KEY', revokedMessage(check.keyId, check.revocation)));
        return { keyId: check.keyId, publisher: check.revocation?.publisher ?? null, valid: false, error: { code: 'REVOKED_KEY', message: `key ${check.keyId} is revoked` } };
      case 'untrusted':
        return fail('UNTRUSTED_SIGNER', `key ${check.keyId} is not a trusted publisher's key`);
      case 'bad-signature':
        return fail('BAD_SIGNATURE', `signature by key ${check.keyId} does not verify: the signature file was altered`);
      case 'verified': {
        const { publisher, key } = check;
        if ((key.notBefore !== undefined && manifest.created < key.notBefore) || (key.notAfter !== undefined && manifest.created > key.notAfter)) {
          const window = `${key.notBefore === undefined ? '' : `from ${formatDate(key.notBefore)} `}${key.notAfter === undefined ? '' : `until ${formatDate(key.notAfter)}`}`.trim();
          return fail('KEY_NOT_VALID', `key ${check.keyId} of ${publisher.name} signed at ${formatDate(manifest.created)}, outside its validity window (${window})`, publisher.name);
        }
        if (!publisher.models.some((g) => g.matches(name))) {
          return fail('OUT_OF_SCOPE', `publisher ${publisher.name} may not sign model "${name}" (allowed: ${publisher.models.map((g) => g.pattern).join(', ')})`, publisher.name);
        }
        // The same key signing twice, or appearing under two key ids, counts once; so does a
        // publisher with several keys: the threshold is of distinct publishers.
        countedPublishers.add(publisher.name);
        return { keyId: check.keyId, publisher: publisher.name, valid: true };
      }
    }
  });

  const rule = effectiveRule(policy, name);
  if (countedPublishers.size < rule.threshold) {
    problems.push(...signerProblems);
    if (rule.threshold > 1 || signerProblems.length === 0) {
      problems.push(problem('THRESHOLD_NOT_MET', `model "${name}" needs ${rule.threshold} distinct trusted publisher${rule.threshold === 1 ? '' : 's'}, has ${countedPublishers.size}`));
    }
  }
  if (manifest.created > now + CLOCK_SKEW_SECONDS) {
    problems.push(problem('NOT_YET_VALID', `signature claims to be made at ${formatDate(manifest.created)}, in the future; check the clock`));
  }
  if (manifest.expires !== undefined && now >= manifest.expires) {
    problems.push(problem('EXPIRED', `signature expired at ${formatDate(manifest.expires)}`));
  }
  if (rule.requireExpiry && manifest.expires === undefined) {
    problems.push(problem('EXPIRY_REQUIRED', `policy requires signatures of "${name}" to carry an expiry (sign with --expires)`));
  }
  if (rule.maxAgeSeconds !== undefined && now - manifest.created > rule.maxAgeSeconds) {
    problems.push(problem('TOO_OLD', `signed at ${formatDate(manifest.created)}, more than ${formatDuration(rule.maxAgeSeconds)} ago (policy maximum age)`));
  }
  return {
    signers,
    rule: {
      models: rule.patterns,
      threshold: rule.threshold,
      maxAge: rule.maxAgeSeconds === undefined ? null : formatDuration(rule.maxAgeSeconds),
      requireExpiry: rule.requireExpiry,
    },
    problems,
  };
}

/**
 * Every matching rule applies: the threshold is the highest, the maximum age the shortest, and an
 * expiry is required if any rule requires it. Order in the file does not matter, and a broad rule
 * can never weaken a specific one. No matching rule: threshold 1.
 */
function effectiveRule(policy: TrustPolicy, name: string) {
  let threshold = 1;
  let maxAgeSeconds: number | undefined;
  let requireExpiry = false;
  const patterns: string[] = [];
  for (const rule of policy.rules) {
    if (!rule.models.matches(name)) continue;
    patterns.push(rule.models.pattern);
    threshold = Math.max(threshold, rule.threshold);
    if (rule.maxAgeSeconds !== undefined) maxAgeSeconds = Math.min(maxAgeSeconds ?? Infinity, rule.maxAgeSeconds);
    requireExpiry ||= rule.requireExpiry;
  }
  return { patterns, threshold, maxAgeSeconds, requireExpiry };
}

/** Signer reports when no signature verified under a policy key (the manifest stays undecoded). */
export function rejectedSigners(checks: readonly SignatureCheck[]): { signers: SignerReport[]; problems: Problem[] } {
  const problems: Problem[] = [];
  const signers = checks.map((check): SignerReport => {
    const [code, message]: [ErrorCode, string] =
      check.status === 'revoked'
        ? ['REVOKED_KEY', revokedMessage(check.keyId, check.revocation)]
        : check.status === 'bad-signature'
          ? ['BAD_SIGNATURE', `signature by key ${check.keyId} does not verify: the signature file was altered`]
          : ['UNTRUSTED_SIGNER', `key ${check.keyId} is not a trusted publisher's key`];
    problems.push(problem(code, message));
    return { keyId: check.keyId, publisher: null, valid: false, error: { code, message } };
  });
  return { signers, problems };
}
