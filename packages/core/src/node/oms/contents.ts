import { problem } from '../../errors.js';
import type { Glob } from '../../format/glob.js';
import type { Manifest, ManifestFile } from '../../format/manifest.js';
import { normalisePath, type OmsStatement } from '../../oms/statement.js';
import { compareModel, type CompareOptions, type CompareResult } from '../contents.js';
import { realSignaturePath } from '../signature-path.js';
import { walkModel, type ModelWalk } from '../walk.js';

/**
 * Compares a model on disk with a verified OMS statement, with ms-sign's own walker and hashing
 * engine (the same threads, shards and --fail-fast as a native verify). The statement is turned
 * into the manifest shape compareModel takes: files mode signs no sizes, so each file is hashed
 * whole at the size the walk saw; shards mode gives sizes and shard digests as signed.
 */

/** model_signing leaves these out of every model, at the top level only. */
export const GIT_PATHS: readonly string[] = ['.git', '.gitattributes', '.github', '.gitignore'];

/** Files mode: one "shard" as large as any file can be. */
const WHOLE_FILE = Number.MAX_SAFE_INTEGER;

export interface OmsCompareOptions extends CompareOptions {
  /** The bundle's path: left out of the model when it lies inside it. */
  readonly signaturePath: string;
  /** Paths relative to the model root present but not signed (older bundles record none). */
  readonly ignore?: readonly string[];
}

/**
 * What the walk leaves out for an OMS statement: the git paths, the recorded ignore paths and the
 * caller's. Each is a path, not a pattern: it leaves out that file, or that directory whole
 * (model_signing matches by leading path components).
 */
export function omsIgnoredPaths(statement: OmsStatement, ignore: readonly string[] = []): Glob {
  const ignored = new Set([...GIT_PATHS, ...statement.ignorePaths, ...ignore.map(normalisePath)]);
  return { pattern: '(OMS ignore paths)', matches: (rel) => ignored.has(rel) };
}

/**
 * Compares the walked model (walked with stats, leaving out `omsIgnoredPaths`) with a verified
 * OMS statement.
 */
export async function compareOmsContents(statement: OmsStatement, walked: ModelWalk, options: CompareOptions = {}): Promise<CompareResult> {
  const expectedKind = statement.singleFile ? 'file' : 'directory';
  if (walked.kind !== expectedKind) {
    return { problems: [problem('MODEL_KIND_MISMATCH', `the signature covers a ${expectedKind}, but the model is a ${walked.kind}${walked.kind === 'file' ? ' (give its directory)' : ' (give the file itself)'}`)] };
  }
  const expectedPaths = new Set(statement.files.map((f) => f.path));
  // Shards mode has no shard for an empty file, so model_signing lists none: an empty file there
  // is part of the model without being named (its content, nothing, cannot differ).
  const walk = statement.method === 'shards' && walked.kind === 'directory' ? { ...walked, files: walked.files.filter((f) => expectedPaths.has(f.path) || f.stats?.size !== 0n) } : walked;
  return compareModel(omsManifest(statement, walk), walk, options);
}

/**
 * The statement as the manifest shape the comparison and the scan take: files mode signs no sizes,
 * so each file's size is the one the walk saw; shards mode gives them.
 */
export function omsManifest(statement: OmsStatement, walk: ModelWalk): Manifest {
  const observed = new Map(walk.files.map((f) => [walk.kind === 'file' ? '.' : f.path, Number(f.stats?.size ?? 0)]));
  const files: ManifestFile[] = statement.files.map((f) => ({ path: f.path, size: f.size ?? observed.get(f.path) ?? 0, digests: f.digests }));
  return {
    version: 1,
    kind: statement.singleFile ? 'file' : 'directory',
    subject: { name: statement.subjectName ?? '' },
    hashAlgorithm: statement.hashType,
    shardSize: statement.shardSize ?? WHOLE_FILE,
    files,
    created: 0,
    ignore: [],
    annotations: {},
  };
}

/** Walks the model as the statement says (stats for sizes, ignores) and compares it. */
export async function compareOmsModel(statement: OmsStatement, modelPath: string, options: OmsCompareOptions): Promise<CompareResult> {
  const realSig = realSignaturePath(options.signaturePath);
  const walk = walkModel(modelPath, { ignore: [omsIgnoredPaths(statement, options.ignore)], withStats: true, ...(realSig ? { exclude: new Set([realSig]) } : {}) });
  return compareOmsContents(statement, walk, options);
}
