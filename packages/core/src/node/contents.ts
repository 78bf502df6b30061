import { bytesEqual, toHex } from '../bytes.js';
import { MsSignError, problem, type ErrorCode, type Problem } from '../errors.js';
import type { HashAlgorithm, Manifest, ManifestFile } from '../format/manifest.js';
import type { ScanCode } from '../scan/codes.js';
import { runHashJob } from './hash/pool.js';
import { CHUNK_BYTES } from './hash/tuning.js';
import { sameIdentity, UNOBSERVED_IDENTITY, type CopySink, type FileIdentity, type HashFile, type HashScan, type HashTaskResult, type MemorySink } from './hash/task.js';
import type { ExpectedContents } from '../verify/statement.js';
import { compileGlob, escapeGlob, type Glob } from '../format/glob.js';
import { compareOmsContents, omsIgnoredPaths } from './oms/contents.js';
import type { ModelWalk, WalkedFile } from './walk.js';

/** How hashing runs: worker threads and progress reports. */
export interface HashingOptions {
  readonly threads?: number | undefined;
  readonly onProgress?: ((bytesDone: number, bytesTotal: number) => void) | undefined;
}

/**
 * Hashes the walked files of a model for signing. Every failure is an error: a file that changed,
 * vanished or turned into something else since the walk must not be signed with a stale digest.
 */
export async function hashModelFiles(walk: ModelWalk, algorithm: HashAlgorithm, shardSize: number, options: HashingOptions = {}): Promise<ManifestFile[]> {
  // The walk-time lstat is what a hashed file is compared with: a walk without it cannot be signed.
  const walked = walk.files.map((file) => {
    if (file.stats === undefined) throw new MsSignError('INTERNAL', `hashModelFiles needs a walk made withStats; ${file.path} has no stats`);
    return file.stats;
  });
  const files: HashFile[] = walk.files.map((file, f) => ({ path: file.absolutePath, size: Number(walked[f]!.size) }));
  const digests: Uint8Array[][] = walk.files.map(() => []);
  const identities: (FileIdentity | undefined)[] = [];
  let failure: MsSignError | undefined;
  const summary = await runHashJob({ files, algorithm, shardSize }, {
    ...options,
    onResult: (f, shard, result) => {
      const file = walk.files[f]!;
      if (!result.ok) failure = signFailure(file, result);
      else {
        const stats = walked[f]!;
        const first = identities[f] ?? result.identity;
        identities[f] = first;
        // Same inode, size and times as at walk time and across all shards, or the file changed.
        if (!sameIdentity(first, result.identity) || result.identity.ino !== stats.ino || result.identity.dev !== stats.dev || result.identity.mtimeNs !== stats.mtimeNs) {
          failure = new MsSignError('FILE_CHANGED', `${file.path} changed while it was hashed; sign again when it is stable`, { path: file.path });
        }
        digests[f]![shard] = result.digest;
      }
      // Nothing is signed after a failure: stop hashing the rest.
      return failure !== undefined;
    },
  });
  if (failure) throw failure;
  if (summary.stoppedEarly) throw new MsSignError('INTERNAL', 'hashing stopped before every shard was hashed');
  return walk.files.map((file, f) => ({ path: file.path, size: files[f]!.size, digests: digests[f]! }));
}

function signFailure(file: WalkedFile, result: Exclude<HashTaskResult, { ok: true }>): MsSignError {
  const path = file.path;
  switch (result.reason) {
    case 'size':
    case 'changed':
    case 'missing':
      return new MsSignError('FILE_CHANGED', `${path} changed while it was hashed; sign again when it is stable`, { path });
    case 'not-regular':
      return new MsSignError('UNSAFE_FILE_TYPE', `${path} ${result.message}; only regular files can be signed`, { path });
    case 'io':
      return new MsSignError('IO_ERROR', `cannot read ${path}: ${result.message}`, { path });
  }
}

/** Options of the content comparison. */
export interface CompareOptions extends HashingOptions {
  /** Stop at the first problem instead of reporting all (--fail-fast). */
  readonly failFast?: boolean;
  /** Also deliver the bytes read: into a copy or shared memory (verify-before-load). */
  readonly sinkFor?: (file: ManifestFile) => CopySink | MemorySink | undefined;
  /**
   * Verify's scan stage: small files (scannedWhileHashed) are scanned by the hashing threads on the
   * bytes of their one read, once their digest matched; results in CompareResult.scans.
   */
  readonly scanWhileHashing?: { readonly allowGlobals: ReadonlySet<string>; readonly waive: ReadonlySet<ScanCode> } | undefined;
}

export interface CompareResult {
  readonly problems: Problem[];
  /**
   * The file identity (device, inode, size, times) the hashing saw, by signed path, for files
   * larger than IDENTITY_MIN_BYTES: the scan checks it read the same version.
   */
  readonly identities?: ReadonlyMap<string, FileIdentity>;
  /** Scan results of the files scanned while hashed (CompareOptions.scanWhileHashing). */
  readonly scans?: HashedScans;
}

/**
 * Scan results of the files scanned while hashed, in the order of the files compared (the
 * manifest's, when nothing is missing): `paths[i]` is the signed path whose result is `results[i]`.
 * Arrays, not a map by path: 20,000 map insertions cost more than the rest of the bookkeeping.
 */
export interface HashedScans {
  readonly paths: readonly string[];
  readonly results: readonly (HashScan | undefined)[];
}

/**
 * Files the hashing threads scan on the bytes of their single read (scanWhileHashing): one
 * shard, and small enough for hashing's one-read path (hash/task.ts). Copy sinks (verified
 * copies) take another path and are scanned from the copy instead.
 */
export function scannedWhileHashed(file: ManifestFile): boolean {
  return file.digests.length === 1 && file.size < CHUNK_BYTES;
}

/** Files at least this large have their hashed identity reported (smaller ones are not fstat'ed). */
export const IDENTITY_MIN_BYTES = 1024 * 1024;

/**
 * The content stage of verification: compares the model on disk with what a verified signature
 * says it must contain. One case per kind of ExpectedContents; a format that describes contents
 * differently (e.g. digests without sizes) adds its kind and its case here.
 */
export function compareContents(expected: ExpectedContents, walk: ModelWalk, options: CompareOptions = {}): Promise<CompareResult> {
  switch (expected.kind) {
    case 'manifest':
      return compareModel(expected.manifest, walk, options);
    case 'oms':
      return compareOmsContents(expected.statement, walk, options);
  }
}

/** What the signers chose to leave out, as recorded: manifest ignore globs, or OMS ignore paths. */
export function ignoredBy(expected: ExpectedContents): readonly string[] {
  switch (expected.kind) {
    case 'manifest':
      return expected.manifest.ignore;
    case 'oms':
      return expected.statement.ignorePaths;
  }
}

/**
 * The hashing a verification of these contents will do, as bytes and files or shards, when the
 * signed statement says (a manifest); undefined when only the walk can tell (OMS).
 */
export function expectedHashWork(expected: ExpectedContents): { bytes: number; tasks: number } | undefined {
  if (expected.kind !== 'manifest') return undefined;
  let bytes = 0;
  let tasks = 0;
  for (const file of expected.manifest.files) {
    bytes += file.size;
    tasks += file.digests.length;
  }
  return { bytes, tasks };
}

/**
 * How to walk the model for these expected contents: what it leaves out (the manifest's globs,
 * or an OMS statement's ignore paths), plus `extra` paths relative to the model root that the
 * caller names as present but not signed (verify --ignore), and whether sizes are needed.
 */
export function walkFilter(expected: ExpectedContents, extra: readonly string[] = []): { ignore: Glob[]; withStats: boolean; vouched?: ReadonlySet<string> } {
  switch (expected.kind) {
    case 'manifest':
      return {
        ignore: [...expected.manifest.ignore.map(compileGlob), ...extra.map((p) => compileGlob(escapeGlob(p)))],
        withStats: false,
        // A decoded manifest's paths passed the path rules (decodeManifest refuses any that do not).
        vouched: new Set(expected.manifest.files.map((f) => f.path)),
      };
    case 'oms':
      // OMS files mode signs no sizes: the walk's are used to hash each whole file.
      return { ignore: [omsIgnoredPaths(expected.statement, extra)], withStats: true };
  }
}

/** Whether the walk found exactly the signed paths, in the same order. */
function sameFileList(signed: readonly ManifestFile[], walked: readonly WalkedFile[]): boolean {
  if (signed.length !== walked.length) return false;
  for (let i = 0; i < signed.length; i++) if (signed[i]!.path !== walked[i]!.path) return false;
  return true;
}

/**
 * Compares a model on disk with a verified manifest: the set of files, then sizes and digests of
 * every shard, hashed in parallel. Reports every difference found (the README), with the
 * damaged byte range for sharded files.
 */
export async function compareModel(manifest: Manifest, walk: ModelWalk, options: CompareOptions = {}): Promise<CompareResult> {
  const problems: Problem[] = [...walk.problems];
  if (manifest.kind !== walk.kind) {
    problems.push(problem('MODEL_KIND_MISMATCH', `the signature covers a ${manifest.kind}, but the model is a ${walk.kind}`));
    return { problems };
  }
  // A single-file model is identified by its content, not its name: renaming it is fine.
  const pairs: [ManifestFile, WalkedFile][] = [];
  if (manifest.kind === 'file') pairs.push([manifest.files[0]!, walk.files[0]!]);
  else if (sameFileList(manifest.files, walk.files)) {
    // The usual case, every signed file there and no other: both lists are sorted by the UTF-8
    // bytes of their paths, so the i-th walked file is the i-th signed one (no map of 20,000 paths).
    for (let i = 0; i < manifest.files.length; i++) pairs.push([manifest.files[i]!, walk.files[i]!]);
  } else {
    const onDisk = new Map(walk.files.map((f) => [f.path, f]));
    for (const expected of manifest.files) {
      const found = onDisk.get(expected.path);
      if (found === undefined) problems.push(problem('MISSING_FILE', `${expected.path} is signed but missing`, expected.path));
      else {
        pairs.push([expected, found]);
        onDisk.delete(expected.path);
      }
    }
    for (const extra of onDisk.keys()) problems.push(problem('UNSIGNED_FILE', `${extra} is not covered by the signature`, extra));
  }
  if (options.failFast && problems.length > 0) return { problems: problems.slice(0, 1) };

  const files: HashFile[] = pairs.map(([expected, found]) => ({ path: found.absolutePath, size: expected.size, sink: options.sinkFor?.(expected) }));
  const reported = new Set<number>();
  const identities = new Map<number, FileIdentity>();
  const check = (pair: number, shard: number, result: HashTaskResult): Problem | undefined => {
    const [expected, found] = pairs[pair]!;
    const path = manifest.kind === 'file' ? found.path : expected.path;
    const once = (code: ErrorCode, message: string) => {
      if (reported.has(pair)) return undefined;
      reported.add(pair);
      return problem(code, message, path);
    };
    if (!result.ok) {
      switch (result.reason) {
        case 'size': {
          // An earlier shard saw another version of the file: it grew or shrank while it was hashed.
          const seen = identities.get(pair);
          if (seen !== undefined && !sameIdentity(seen, result.identity)) return once('FILE_CHANGED', `${path} changed during verification; verify again when it is stable`);
          return once('SIZE_MISMATCH', `${path} has ${result.identity.size} bytes, the signature says ${expected.size}`);
        }
        case 'changed':
          return once('FILE_CHANGED', `${path} ${result.message}; verify again when it is stable`);
        case 'missing':
          return once('MISSING_FILE', `${path} disappeared during verification`);
        case 'not-regular':
          return once('UNSAFE_FILE_TYPE', `${path} ${result.message}`);
        case 'io':
          return once('IO_ERROR', `cannot read ${path}: ${result.message}`);
      }
    }
    // Every shard must have read the same version of the file (one shard is consistent by itself).
    if (expected.digests.length > 1) {
      const first = identities.get(pair);
      if (first === undefined) identities.set(pair, result.identity);
      else if (!sameIdentity(first, result.identity)) return once('FILE_CHANGED', `${path} changed during verification; verify again when it is stable`);
    }
    if (!bytesEqual(result.digest, expected.digests[shard]!)) {
      if (expected.digests.length === 1) {
        return problem('DIGEST_MISMATCH', `${path} does not match its signed digest (${manifest.hashAlgorithm} ${toHex(result.digest)}, signed ${toHex(expected.digests[0]!)})`, path);
      }
      const start = shard * manifest.shardSize;
      const end = Math.min(start + manifest.shardSize, expected.size) - 1;
      return problem('DIGEST_MISMATCH', `${path}: shard ${shard + 1} of ${expected.digests.length} (bytes ${start}-${end}) does not match its signed digest`, path);
    }
    return undefined;
  };
  const found: { problem: Problem; pair: number; shard: number }[] = [];
  const observed = new Map<string, FileIdentity>();
  const scans: (HashScan | undefined)[] = new Array<HashScan | undefined>(pairs.length).fill(undefined);
  const scan = options.scanWhileHashing && {
    paths: pairs.map(([, f]) => f.path),
    digests: pairs.map(([expected]) => (scannedWhileHashed(expected) ? expected.digests[0]! : undefined)),
    allowGlobals: options.scanWhileHashing.allowGlobals,
    waive: options.scanWhileHashing.waive,
  };
  await runHashJob({ files, algorithm: manifest.hashAlgorithm, shardSize: manifest.shardSize, sizesSigned: true, ...(scan === undefined ? {} : { scan }) }, {
    ...options,
    onResult: (pair, shard, result) => {
      const p = check(pair, shard, result);
      if (p) found.push({ problem: p, pair, shard });
      else if (result.ok) {
        const path = pairs[pair]![0].path;
        if (result.scan !== undefined) scans[pair] = result.scan;
        if (pairs[pair]![0].size >= IDENTITY_MIN_BYTES && result.identity !== UNOBSERVED_IDENTITY) observed.set(path, result.identity);
      }
      return options.failFast === true && p !== undefined;
    },
  });
  // Results arrive in completion order; report in manifest order (pairs follow it), shard by shard.
  found.sort((a, b) => a.pair - b.pair || a.shard - b.shard);
  for (const f of found) problems.push(f.problem);
  return { problems: options.failFast ? problems.slice(0, 1) : problems, identities: observed, scans: { paths: pairs.map(([expected]) => expected.path), results: scans } };
}
