/**
 * Which scan a model gets (pure): the trust-policy rules that match its name, tightened (never
 * loosened) by what the operator asks on the command line. Every matching rule applies, as for
 * the other rule settings: the strictest mode wins, a waiver counts only if every matching rule
 * grants it, and an unknown file passes in `clean` mode only if every matching rule allows it.
 */
import { MsSignError } from '../errors.js';
import type { Glob } from '../format/glob.js';
import type { Rule } from '../policy/policy.js';
import type { ScanCode } from './codes.js';
import type { ScanMode, ScanPolicy } from './scan.js';

const STRICTNESS: Readonly<Record<ScanMode, number>> = { off: 0, 'no-unsafe': 1, clean: 2 };

export interface AppliedScan extends ScanPolicy {
  readonly mode: ScanMode;
  /** The patterns of the matching rules that set a scan mode (reported as `scan.rule`); empty: the default. */
  readonly rules: readonly string[];
  readonly waive: ReadonlySet<ScanCode>;
}

/** The default when no rule sets a mode. */
export const DEFAULT_SCAN_MODE: ScanMode = 'no-unsafe';

/**
 * The scan for `name`: the strictest mode of the matching rules (default no-unsafe), then the
 * requested mode if it is stricter. Asking for a looser mode than a rule sets explicitly is a
 * USAGE error naming the rule; asking for a looser mode than the default is allowed when no rule
 * sets one.
 */
export function applyScanPolicy(rules: readonly Rule[], name: string, requested?: ScanMode): AppliedScan {
  const matching = rules.filter((r) => r.models.matches(name));
  const explicit = matching.filter((r) => r.scan !== undefined);
  let mode: ScanMode = explicit.reduce<ScanMode>((m, r) => (STRICTNESS[r.scan!] > STRICTNESS[m] ? r.scan! : m), explicit.length > 0 ? 'off' : DEFAULT_SCAN_MODE);
  if (requested !== undefined) {
    if (STRICTNESS[requested] < STRICTNESS[mode] && explicit.length > 0) {
      const rule = explicit.find((r) => r.scan === mode)!;
      throw new MsSignError('USAGE', `the trust policy's rule "${rule.models.pattern}" requires scan mode ${mode} for ${name}; a looser mode (${requested}) cannot be asked for`);
    }
    mode = requested;
  }
  const waive = new Set<ScanCode>();
  if (matching.length > 0) {
    for (const code of matching[0]!.scanWaive ?? []) if (matching.every((r) => r.scanWaive?.has(code))) waive.add(code);
  }
  const allowLists = matching.map((r) => r.scanAllowUnknown ?? []);
  const allowUnknown: Glob[] =
    allowLists.length === 0 ? [] : [{ pattern: allowLists.map((l) => l.map((g) => g.pattern).join('|')).join(' & '), matches: (path: string) => allowLists.every((l) => l.some((g) => g.matches(path))) }];
  return { mode, rules: explicit.map((r) => r.models.pattern), waive, allowUnknown };
}
