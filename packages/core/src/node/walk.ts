import { lstatSync, opendirSync, realpathSync, statSync, type BigIntStats, type Dir, type Dirent, type Stats } from 'node:fs';
import { basename, resolve } from 'node:path';
import { decodeUtf8Strict, sortByUtf8 } from '../bytes.js';
import { MsSignError, problem, type Problem } from '../errors.js';
import type { Glob } from '../format/glob.js';
import type { ModelKind } from '../format/manifest.js';
import { checkModelPath, findPathCollision } from '../format/paths.js';
import { LIMITS } from '../limits.js';

export interface WalkedFile {
  /** Model-relative path, "/"-separated (for a single-file model: its file name). */
  readonly path: string;
  readonly absolutePath: string;
  /** lstat of the file at walk time, when the walk was asked for stats. */
  readonly stats?: WalkStats;
}

/**
 * What a walk keeps of a file's lstat: what later reads of it are compared with. A whole
 * BigIntStats with its Dates is about 1 KB: 20 MB held through the hashing of 20,000 files.
 */
export interface WalkStats {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
}

function walkStats(stats: BigIntStats): WalkStats {
  return { dev: stats.dev, ino: stats.ino, size: stats.size, mtimeNs: stats.mtimeNs, ctimeNs: stats.ctimeNs };
}

export interface ModelWalk {
  readonly kind: ModelKind;
  readonly root: string;
  /** Regular files, sorted by the UTF-8 bytes of `path`. */
  readonly files: readonly WalkedFile[];
  /** Everything that makes this model unsignable or unverifiable: special files, unsafe names. */
  readonly problems: readonly Problem[];
}

export interface WalkOptions {
  /** Patterns from the manifest (or --ignore): matching files and directories are skipped. */
  readonly ignore?: readonly Glob[];
  /** Absolute paths never covered, e.g. the signature file when it lies inside the model. */
  readonly exclude?: ReadonlySet<string>;
  /** lstat every file (sign needs sizes; verify takes them from the manifest). */
  readonly withStats?: boolean;
  /**
   * Paths already held to the path rules by the caller: a verified manifest's, which passed
   * checkModelPath and the case-collision check when it was decoded (format/manifest.ts). Both
   * are pure functions of the path, so a walked path found here is not checked again, and the
   * collision check runs only if some walked file is not here (a subset of a collision-free list
   * has no collision). Paths not found here get every check.
   */
  readonly vouched?: ReadonlySet<string>;
  /** Told of every entry left out and all the patterns that matched it (sign checks each pattern is used). */
  readonly onIgnored?: (path: string, matched: readonly Glob[], isDirectory: boolean) => void;
}

/**
 * Lists the files a model consists of. MODEL itself may be a symlink (followed, like sha256sum
 * does); inside a directory, symlinks, FIFOs, sockets and devices are refused (docs/signature-format.md):
 * a link can point outside the model, and reading a FIFO blocks forever.
 */
export function walkModel(modelPath: string, options: WalkOptions = {}): ModelWalk {
  const model = resolveModel(modelPath);
  if (model.kind === 'file') {
    const file = { path: basename(resolve(modelPath)), absolutePath: model.root, ...(options.withStats ? { stats: walkStats(model.stats) } : {}) };
    return { kind: 'file', root: model.root, files: [file], problems: [] };
  }
  return walkDirectory(model.root, options);
}

/**
 * What MODEL is: a regular file or a directory, named by its real path (hashing opens files with
 * O_NOFOLLOW, so the symlink MODEL may be must be resolved first).
 */
export function resolveModel(modelPath: string): { kind: ModelKind; root: string; stats: BigIntStats } {
  let stats: BigIntStats;
  let root: string;
  try {
    stats = statSync(modelPath, { bigint: true });
    root = realpathSync(modelPath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new MsSignError('MODEL_NOT_FOUND', `model not found: ${modelPath}`, { path: modelPath, cause: error });
    }
    throw new MsSignError('IO_ERROR', `cannot read model ${modelPath}: ${(error as Error).message}`, { path: modelPath, cause: error });
  }
  if (stats.isFile()) return { kind: 'file', root, stats };
  if (stats.isDirectory()) return { kind: 'directory', root, stats };
  throw new MsSignError('UNSAFE_FILE_TYPE', `model ${modelPath} is neither a regular file nor a directory`, { path: modelPath });
}

function walkDirectory(root: string, options: WalkOptions): ModelWalk {
  const files: WalkedFile[] = [];
  const problems: Problem[] = [];
  const ignore = options.ignore ?? [];
  const isIgnored = (rel: string, entry: Dirent<string | Buffer>, abs: string) => {
    if (options.onIgnored === undefined) return ignore.some((g) => g.matches(rel));
    const matched = ignore.filter((g) => g.matches(rel));
    if (matched.length > 0) options.onIgnored(rel, matched, direntKind(entry) === 'unknown' ? lstatSync(abs).isDirectory() : entry.isDirectory());
    return matched.length > 0;
  };
  // Iterative, so that deep trees cannot overflow the stack.
  const pending: { abs: string; rel: string; depth: number }[] = [{ abs: root, rel: '', depth: 0 }];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    for (const { name, bytes, dirent: entry } of listDirectory(dir.abs, dir.rel)) {
      const shown = name ?? escapeName(bytes!);
      const rel = dir.rel === '' ? shown : `${dir.rel}/${shown}`;
      if (name === undefined) {
        problems.push(problem('UNSAFE_PATH', `file name is not valid UTF-8: ${rel}`, rel));
        continue;
      }
      const abs = `${dir.abs}/${name}`;
      if (options.exclude?.has(abs) || isIgnored(rel, entry, abs)) continue;
      const why = options.vouched?.has(rel) === true ? undefined : checkModelPath(rel);
      if (why !== undefined) {
        problems.push(problem('UNSAFE_PATH', `unsafe file name ${JSON.stringify(rel)}: ${why}`, rel));
        continue;
      }
      let kind = direntKind(entry);
      let stats: BigIntStats | undefined;
      if (kind === 'unknown' || (kind === 'file' && options.withStats)) {
        try {
          stats = lstatSync(abs, { bigint: true });
        } catch (error) {
          throw new MsSignError('FILE_CHANGED', `${rel} disappeared while the model was read`, { path: rel, cause: error });
        }
        kind = statsKind(stats);
      }
      if (kind === 'directory') {
        if (dir.depth + 1 >= LIMITS.pathDepth) {
          problems.push(problem('LIMIT_EXCEEDED', `directories nested deeper than ${LIMITS.pathDepth} levels at ${rel}`, rel));
          continue;
        }
        pending.push({ abs, rel, depth: dir.depth + 1 });
      } else if (kind === 'file') {
        files.push({ path: rel, absolutePath: abs, ...(stats ? { stats: walkStats(stats) } : {}) });
        if (files.length > LIMITS.files) {
          throw new MsSignError('LIMIT_EXCEEDED', `model has more than ${LIMITS.files} files`, { path: rel });
        }
      } else {
        problems.push(problem('UNSAFE_FILE_TYPE', `${rel} is a ${kind}; only regular files and directories can be part of a model`, rel));
      }
    }
  }
  sortByUtf8(files, (f) => f.path);
  const vouched = options.vouched;
  const allVouched = vouched !== undefined && files.every((f) => vouched.has(f.path));
  const collision = allVouched ? undefined : findPathCollision(files.map((f) => f.path));
  if (collision) {
    problems.push(problem('UNSAFE_PATH', `${collision[0]} and ${collision[1]} differ only in case; they collide on macOS and Windows`, collision[1]));
  }
  return { kind: 'directory', root, files, problems };
}

/** A directory entry: its name, or undefined and the name's bytes when they are not UTF-8. */
interface ListedEntry {
  readonly name: string | undefined;
  readonly bytes?: Uint8Array;
  readonly dirent: Dirent<string | Buffer>;
}

/**
 * The entries of a directory, one at a time: readdirSync builds every Dirent first, and 130,000
 * files beside a model then cost 60 MB before the first is looked at. A name that is not UTF-8
 * must be refused, not turned into U+FFFD: names are listed as text (a Buffer and a strict decode
 * per name cost ~1 us each, 15-25 ms for 20,000 files before V8 warms up), and Node decodes a
 * name that is not UTF-8 with U+FFFD in it. So the first name with U+FFFD makes the directory be
 * listed once more as bytes, and that listing gives exactly the names the text listing showed
 * with U+FFFD: those that are not UTF-8, and those that are and hold U+FFFD itself. Every name is
 * yielded once, from one listing or the other.
 */
function* listDirectory(abs: string, rel: string): Generator<ListedEntry> {
  let bytesListed = false;
  for (const entry of listEntries(abs, rel, 'utf8')) {
    const name = entry.name as string;
    if (!name.includes('\uFFFD')) {
      yield { name, dirent: entry };
      continue;
    }
    if (bytesListed) continue;
    bytesListed = true;
    for (const raw of listEntries(abs, rel, 'buffer')) {
      const bytes = raw.name as Buffer;
      const strict = decodeUtf8Strict(bytes);
      if (strict === undefined) yield { name: undefined, bytes, dirent: raw };
      else if (strict.includes('\uFFFD')) yield { name: strict, dirent: raw };
    }
  }
}

function* listEntries(abs: string, rel: string, encoding: 'utf8' | 'buffer'): Generator<Dirent<string | Buffer>> {
  const fail = (error: unknown): never => {
    throw new MsSignError('IO_ERROR', `cannot list ${abs}: ${(error as Error).message}`, { path: rel || '.', cause: error });
  };
  let dir: Dir;
  try {
    // @types/node 20 leaves out 'buffer', which opendir takes as readdir does.
    dir = opendirSync(abs, { encoding: encoding as BufferEncoding });
  } catch (error) {
    return fail(error);
  }
  try {
    for (;;) {
      let entry: Dirent<string | Buffer> | null;
      try {
        entry = dir.readSync() as Dirent<string | Buffer> | null;
      } catch (error) {
        return fail(error);
      }
      if (entry === null) return;
      yield entry;
    }
  } finally {
    dir.closeSync();
  }
}

type EntryKind = 'file' | 'directory' | 'symbolic link' | 'FIFO' | 'socket' | 'device' | 'unknown';

function direntKind(entry: Dirent<string | Buffer>): EntryKind {
  if (entry.isFile()) return 'file';
  if (entry.isDirectory()) return 'directory';
  if (entry.isSymbolicLink()) return 'symbolic link';
  if (entry.isFIFO()) return 'FIFO';
  if (entry.isSocket()) return 'socket';
  if (entry.isBlockDevice() || entry.isCharacterDevice()) return 'device';
  return 'unknown';
}

function statsKind(stats: Stats | BigIntStats): EntryKind {
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'directory';
  if (stats.isSymbolicLink()) return 'symbolic link';
  if (stats.isFIFO()) return 'FIFO';
  if (stats.isSocket()) return 'socket';
  return 'device';
}

/** Shows a non-UTF-8 name with its bad bytes as \xNN, for messages only. */
function escapeName(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  return out;
}
