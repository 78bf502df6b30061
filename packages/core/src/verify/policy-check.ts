import { problem, type Problem } from '../errors.js';
import type { TrustPolicy } from '../policy/policy.js';
import { formatDate, formatDuration } from '../policy/time.js';
import { signerReport, type SignerReport } from './signer-report.js';
import type { SignatureCheck } from './signatures.js';
import type { SignedStatement } from './statement.js';

/** The strictest combination of every rule whose pattern matches the model name. */
export interface AppliedRule {
  readonly models: readonly string[];
  readonly threshold: number;
  readonly maxAge: string | null;
  readonly requireExpiry: boolean;
}

/** What applyPolicy decided: a verdict per signer, the rule applied, and every problem. */
export interface PolicyOutcome {
  readonly signers: readonly SignerReport[];
  readonly rule: AppliedRule;
  readonly problems: readonly Problem[];
}

/** Allowed clock difference between signer and verifier for "created in the future". */
const CLOCK_SKEW_SECONDS = 300;

/**
 * Applies the trust policy to a signed statement whose payload signatures were checked (SPEC section 4):
 * key windows, publisher scopes, revocation, the threshold of distinct publishers, expiry and
 * maximum age. Pure: `now` is Unix seconds.
 */
export function applyPolicy(statement: SignedStatement, checks: readonly SignatureCheck[], policy: TrustPolicy, now: number): PolicyOutcome {
  const name = statement.subject.name;
  const problems: Problem[] = [];
  const signerProblems: Problem[] = [];
  const countedPublishers = new Set<string>();

  const signers = checks.map((check): SignerReport => {
    const verdict = signerReport(check, statement);
    if (verdict.problem) (verdict.fatal ? problems : signerProblems).push(verdict.problem);
    // The same key signing twice, or appearing under two key ids, counts once; so does a
    // publisher with several keys: the threshold is of distinct publishers.
    if (verdict.report.valid && verdict.report.publisher !== null) countedPublishers.add(verdict.report.publisher);
    return verdict.report;
  });

  const rule = effectiveRule(policy, name);
  if (countedPublishers.size < rule.threshold) {
    problems.push(...signerProblems);
    if (rule.threshold > 1 || signerProblems.length === 0) {
      problems.push(problem('THRESHOLD_NOT_MET', `model "${name}" needs ${rule.threshold} distinct trusted publisher${rule.threshold === 1 ? '' : 's'}, has ${countedPublishers.size}`));
    }
  }
  if (statement.created > now + CLOCK_SKEW_SECONDS) {
    problems.push(problem('NOT_YET_VALID', `signature claims to be made at ${formatDate(statement.created)}, in the future; check the clock`));
  }
  if (statement.expires !== undefined && now >= statement.expires) {
    problems.push(problem('EXPIRED', `signature expired at ${formatDate(statement.expires)}`));
  }
  if (rule.requireExpiry && statement.expires === undefined) {
    problems.push(problem('EXPIRY_REQUIRED', `policy requires signatures of "${name}" to carry an expiry`));
  }
  if (rule.maxAgeSeconds !== undefined && now - statement.created > rule.maxAgeSeconds) {
    problems.push(problem('TOO_OLD', `signed at ${formatDate(statement.created)}, more than ${formatDuration(rule.maxAgeSeconds)} ago (policy maximum age)`));
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

