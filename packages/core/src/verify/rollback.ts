import { problem, type Problem } from '../errors.js';
import type { Manifest } from '../format/manifest.js';
import { compareSemver, parseSemver } from '../policy/semver.js';
import { formatDate } from '../policy/time.js';

/**
 * Rollback protection state (SPEC section 4): per model name, the newest version accepted. A
 * replayed older release is a validly signed model, so only memory of what was seen stops it.
 */
export interface RollbackState {
  version: 1;
  models: Record<string, RollbackRecord>;
}

export interface RollbackRecord {
  /** Subject version, when the accepted manifest had one. */
  version?: string;
  /** Creation time (Unix seconds) of the accepted manifest. */
  created: number;
}

export function emptyRollbackState(): RollbackState {
  return { version: 1, models: Object.create(null) as Record<string, RollbackRecord> };
}

/**
 * Is `manifest` older than what `state` recorded for its name? Versions compare as Semantic
 * Versioning when both parse as semver (a leading "v" allowed); otherwise, and for equal
 * versions, by creation time. Returns the ROLLBACK problem or undefined.
 */
export function checkRollback(state: RollbackState, manifest: Manifest): Problem | undefined {
  const name = manifest.subject.name;
  const seen = Object.hasOwn(state.models, name) ? state.models[name] : undefined;
  if (seen === undefined) return undefined;
  const older = compareToRecord(manifest, seen) < 0;
  if (!older) return undefined;
  const what = (v: string | undefined, created: number) => `${v === undefined ? '' : `version ${v}, `}signed ${formatDate(created)}`;
  return problem(
    'ROLLBACK',
    `model "${name}" (${what(manifest.subject.version, manifest.created)}) is older than the one accepted before (${what(seen.version, seen.created)}); use --allow-rollback to accept it on purpose`,
  );
}

/** Records `manifest` as accepted if it is newer than what the state holds (never goes back). */
export function advanceRollbackState(state: RollbackState, manifest: Manifest): boolean {
  const name = manifest.subject.name;
  const seen = Object.hasOwn(state.models, name) ? state.models[name] : undefined;
  if (seen !== undefined && compareToRecord(manifest, seen) <= 0) return false;
  state.models[name] = {
    ...(manifest.subject.version === undefined ? {} : { version: manifest.subject.version }),
    created: manifest.created,
  };
  return true;
}

function compareToRecord(manifest: Manifest, seen: RollbackRecord): number {
  const a = manifest.subject.version === undefined ? undefined : parseSemver(manifest.subject.version);
  const b = seen.version === undefined ? undefined : parseSemver(seen.version);
  if (a && b) {
    const byVersion = compareSemver(a, b);
    if (byVersion !== 0) return byVersion;
  }
  return Math.sign(manifest.created - seen.created);
}
