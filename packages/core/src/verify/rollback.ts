import { problem, type Problem } from '../errors.js';
import { compareSemver, parseSemver } from '../policy/semver.js';
import { formatDate } from '../policy/time.js';
import type { SignedStatement } from './statement.js';

/**
 * Rollback protection state (SPEC section 4): per model name, the newest version accepted. A
 * replayed older release is a validly signed model, so only memory of what was seen stops it.
 */
export interface RollbackState {
  version: 1;
  models: Record<string, RollbackRecord>;
}

/** The newest accepted release of one model name. */
export interface RollbackRecord {
  /** Subject version, when the accepted manifest had one. */
  version?: string;
  /** Creation time (Unix seconds) of the accepted manifest. */
  created: number;
}

/** A rollback state that has seen no model yet. */
export function emptyRollbackState(): RollbackState {
  return { version: 1, models: Object.create(null) as Record<string, RollbackRecord> };
}

/**
 * Is `manifest` older than what `state` recorded for its name? Versions compare as Semantic
 * Versioning 2.0.0 precedence when both parse as semver (a leading "v" allowed, build metadata
 * ignored); otherwise, and for equal versions, by creation time. Returns the ROLLBACK problem or
 * undefined.
 */
export function checkRollback(state: RollbackState, manifest: SignedStatement): Problem | undefined {
  const name = manifest.subject.name;
  const seen = recordOf(state, name);
  if (seen === undefined) return undefined;
  const candidate = toRecord(manifest);
  if (compareRecords(candidate, seen) >= 0) return undefined;
  const what = (r: RollbackRecord) => `${r.version === undefined ? '' : `version ${r.version}, `}signed ${formatDate(r.created)}`;
  return problem(
    'ROLLBACK',
    `model "${name}" (${what(candidate)}) is older than the one accepted before (${what(seen)})`,
  );
}

/**
 * Records `manifest` as accepted if it is newer than what the state holds. Never goes back: a
 * model accepted with --allow-rollback leaves the newer record in place.
 */
export function advanceRollbackState(state: RollbackState, manifest: SignedStatement): boolean {
  return advance(state, manifest.subject.name, toRecord(manifest));
}

/**
 * Merges `from` into `into`, keeping the newer record per model name. Used to write the state
 * back on top of what another verify may have recorded meanwhile, so it never moves back.
 */
export function mergeRollbackState(into: RollbackState, from: RollbackState): void {
  for (const [name, record] of Object.entries(from.models)) advance(into, name, record);
}

function advance(state: RollbackState, name: string, record: RollbackRecord): boolean {
  const seen = recordOf(state, name);
  if (seen !== undefined && compareRecords(record, seen) <= 0) return false;
  state.models[name] = { ...record };
  return true;
}

function recordOf(state: RollbackState, name: string): RollbackRecord | undefined {
  // Model names come from signature files: "__proto__" must be a name like any other.
  return Object.hasOwn(state.models, name) ? state.models[name] : undefined;
}

function toRecord(manifest: SignedStatement): RollbackRecord {
  return { ...(manifest.subject.version === undefined ? {} : { version: manifest.subject.version }), created: manifest.created };
}

/** Negative if `a` is older than `b`: by semver if both versions are semver, else by creation time. */
export function compareRecords(a: RollbackRecord, b: RollbackRecord): number {
  const va = a.version === undefined ? undefined : parseSemver(a.version);
  const vb = b.version === undefined ? undefined : parseSemver(b.version);
  if (va && vb) {
    const byVersion = compareSemver(va, vb);
    if (byVersion !== 0) return byVersion;
  }
  return Math.sign(a.created - b.created);
}
