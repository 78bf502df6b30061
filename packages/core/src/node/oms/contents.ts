import { problem, type Problem } from '../../errors.js';
import type { Glob } from '../../format/glob.js';
import type { Manifest, ManifestFile } from '../../format/manifest.js';
import { checkModelPath } from '../../format/paths.js';
import { normalisePath, type OmsStatement } from '../../oms/statement.js';
import { compareModel, type CompareOptions } from '../contents.js';
import { realSignaturePath } from '../signature-path.js';
import { walkModel } from '../walk.js';

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

export interface OmsCompareResult {
  readonly problems: Problem[];
  readonly files: number;
}

/** Returns why `path` cannot be an ignore path, or undefined (relative to the model root, no ".."). */
export function checkIgnorePath(path: string): string | undefined {
  const normal = normalisePath(path);
  return normal === '.' ? 'it names the whole model' : checkModelPath(normal);
}

export async function compareOmsModel(statement: OmsStatement, modelPath: string, options: OmsCompareOptions): Promise<OmsCompareResult> {
  // Component-prefix matching, as model_signing does: the walker skips a matching directory whole.
  const ignored = new Set([...GIT_PATHS, ...statement.ignorePaths, ...(options.ignore ?? []).map(normalisePath)]);
  const ignore: Glob = { pattern: '(OMS ignore paths)', matches: (rel) => ignored.has(rel) };
  const realSig = realSignaturePath(options.signaturePath);
  const walked = walkModel(modelPath, { ignore: [ignore], withStats: true, ...(realSig ? { exclude: new Set([realSig]) } : {}) });
  const expectedPaths = new Set(statement.files.map((f) => f.path));
  // Shards mode has no shard for an empty file, so model_signing lists none: an empty file there
  // is part of the model without being named (its content, nothing, cannot differ).
  const walk = statement.method === 'shards' && walked.kind === 'directory' ? { ...walked, files: walked.files.filter((f) => expectedPaths.has(f.path) || f.stats?.size !== 0n) } : walked;
  const expectedKind = statement.singleFile ? 'file' : 'directory';
  if (walk.kind !== expectedKind) {
    return { problems: [problem('MODEL_KIND_MISMATCH', `the signature covers a ${expectedKind}, but the model is a ${walk.kind}${walk.kind === 'directory' ? '' : ' (give the directory)'}`)], files: statement.files.length };
  }
  const observed = new Map(walk.files.map((f) => [walk.kind === 'file' ? '.' : f.path, Number(f.stats?.size ?? 0)]));
  const files: ManifestFile[] = statement.files.map((f) => ({ path: f.path, size: f.size ?? observed.get(f.path) ?? 0, digests: f.digests }));
  const manifest: Manifest = {
    version: 1,
    kind: expectedKind,
    subject: { name: statement.subjectName ?? '' },
    hashAlgorithm: statement.hashType,
    shardSize: statement.shardSize ?? WHOLE_FILE,
    files,
    created: 0,
    ignore: [],
    annotations: {},
  };
  const compared = await compareModel(manifest, walk, options);
  return { problems: compared.problems, files: files.length };
}
