import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { bytesEqual } from '../bytes.js';
import type { HashAlgorithm } from '../format/manifest.js';
import { BufferSource } from '../scan/source.js';
import { identityOf, PLAIN_UNKNOWN, sameIdentity, type FileIdentity, type HashScan } from './hash/task.js';
import { MsSignError, type Problem } from '../errors.js';
import type { Glob } from '../format/glob.js';
import type { ScanCode } from '../scan/codes.js';
import { judgeScan, PlainUnknownFile, scanFile, SCANNER_VERSION, summarizeScan, type ScanFileOptions, type ScanMode, type ScanSummary } from '../scan/scan.js';
import type { FileScanResult } from '../scan/types.js';
import { FileSource } from './file-source.js';
import { walkModel, type WalkedFile } from './walk.js';

export interface ScanModelOptions {
  /** `no-unsafe` (default) or `clean`; `off` is refused here (there is nothing to scan for). */
  readonly mode?: Exclude<ScanMode, 'off'>;
  /** Leave out matching files of a directory, as sign --ignore does. */
  readonly ignore?: readonly Glob[];
  /** In `clean` mode, unknown files matching these pass. */
  readonly allowUnknown?: readonly Glob[];
  readonly allowGlobals?: ReadonlySet<string>;
  readonly waive?: ReadonlySet<ScanCode>;
  /** Called after each file (progress). */
  readonly onFile?: (result: FileScanResult) => void;
}

/** `ms-sign scan --json` (field names are the contract; docs/scan.md). */
export interface ModelScanReport {
  readonly ok: boolean;
  readonly model: string;
  readonly scanner: { readonly version: number; readonly mode: ScanMode };
  readonly summary: ScanSummary;
  readonly files: readonly FileScanResult[];
  readonly errors: readonly Problem[];
}

/**
 * Scans every file of a model, walked exactly as sign walks it (symlinks, FIFOs and devices
 * inside a directory are refused, not followed). Each file is opened once without following
 * links and scanned through positioned reads on that descriptor.
 */
export function scanModel(modelPath: string, options: ScanModelOptions = {}): ModelScanReport {
  const mode = options.mode ?? 'no-unsafe';
  const walk = walkModel(modelPath, { ...(options.ignore ? { ignore: options.ignore } : {}), withStats: true });
  const modelFiles = new Set(walk.files.map((f) => f.path));
  const modelFileSizes = new Map(walk.files.map((f) => [f.path, Number(f.stats?.size ?? 0n)]));
  const files: FileScanResult[] = [];
  for (const file of walk.files) {
    const result = scanFileAt(file.absolutePath, file.path, { modelFiles, modelFileSizes, ...(options.allowGlobals ? { allowGlobals: options.allowGlobals } : {}), ...(options.waive ? { waive: options.waive } : {}) });
    files.push(result);
    options.onFile?.(result);
  }
  const judgement = judgeScan(files, { mode, ...(options.allowUnknown ? { allowUnknown: options.allowUnknown } : {}) });
  const errors = [...walk.problems, ...judgement.problems];
  return { ok: errors.length === 0, model: modelPath, scanner: { version: SCANNER_VERSION, mode }, summary: summarizeScan(files), files, errors };
}

/** Scans one file on disk (opened with O_NOFOLLOW; must be a regular file). */
export function scanFileAt(absolutePath: string, path: string, options: Parameters<typeof scanFile>[2] = {}): FileScanResult {
  const fd = openForScan(absolutePath, path);
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new MsSignError('UNSAFE_FILE_TYPE', `${path} is not a regular file`, { path });
    return scanFile(new FileSource(fd, stats.size, path), path, options);
  } finally {
    closeSync(fd);
  }
}

/** A file whose contents verify has matched: where its verified bytes can be read for the scan. */
export interface VerifiedFileForScan {
  /** Model-relative path (as signed). */
  readonly path: string;
  /** Signed size. */
  readonly size: number;
  /** The scan the hashing thread already made on the verified bytes of its read, if it did. */
  readonly result?: HashScan;
  /** The bytes verify read into memory (verify-before-load), if it did: scanned as they are. */
  readonly bytes?: Uint8Array;
  /** Otherwise a file to read: the model's file, or a private verified copy. */
  readonly absolutePath?: string;
  /** The single signed digest of a small file, to prove the bytes read for the scan are the signed ones. */
  readonly digest?: { readonly algorithm: HashAlgorithm; readonly value: Uint8Array };
  /** The identity the hashing observed (large files), to prove the scan read the same version. */
  readonly identity?: FileIdentity;
}

/** Files up to this size are read whole for the scan and their digest checked again. */
const REHASH_BYTES = 1024 * 1024;

/**
 * Scans files whose contents verification has just matched, on bytes proven to be the verified
 * ones: a file the hashing thread scanned on its read keeps that result; bytes already in memory
 * are scanned as they are; a small file is read in one read and its
 * digest compared with the signed one; a large one is scanned through one descriptor whose fstat
 * identity (device, inode, size, mtime, ctime) must equal the one the hashing saw, before and
 * after the scan. Anything else is FILE_CHANGED: the scan never judges bytes verify did not.
 */
export function scanVerifiedFiles(files: readonly VerifiedFileForScan[], options: Omit<ScanFileOptions, 'modelFiles' | 'modelFileSizes'>): FileScanResult[] {
  return scanVerifiedFilesLazily(files, options).map((file) => (file instanceof PlainUnknownFile ? file.result() : file));
}

/**
 * scanVerifiedFiles for verify's report: a file the hashing thread found of no known format
 * (PLAIN_UNKNOWN) stays a PlainUnknownFile, whose result is built only if the report is read whole.
 */
export function scanVerifiedFilesLazily(files: readonly VerifiedFileForScan[], options: Omit<ScanFileOptions, 'modelFiles' | 'modelFileSizes'>): (FileScanResult | PlainUnknownFile)[] {
  // The model's file list is only read by scanners that resolve references: built on first use
  // (most files of a large directory were scanned by the hashing threads and need none).
  let modelFiles: ReadonlySet<string> | undefined;
  let modelFileSizes: ReadonlyMap<string, number> | undefined;
  const scanOptions: ScanFileOptions = {
    ...options,
    get modelFiles() {
      return (modelFiles ??= new Set(files.map((f) => f.path)));
    },
    get modelFileSizes() {
      return (modelFileSizes ??= new Map(files.map((f) => [f.path, f.size])));
    },
  };
  return files.map((file) => {
    if (file.result === PLAIN_UNKNOWN) return new PlainUnknownFile(file.path, file.size);
    if (file.result !== undefined) return file.result;
    if (file.bytes !== undefined) return scanFile(new BufferSource(file.bytes), file.path, scanOptions);
    if (file.absolutePath === undefined) throw new MsSignError('INTERNAL', `no verified bytes to scan for ${file.path}`);
    return scanOneVerified(file, file.absolutePath, scanOptions);
  });
}

function scanOneVerified(file: VerifiedFileForScan, absolutePath: string, options: ScanFileOptions): FileScanResult {
  const changed = () => new MsSignError('FILE_CHANGED', `${file.path} changed after it was verified; verify again when it is stable`, { path: file.path });
  let fd: number;
  try {
    fd = openSync(absolutePath, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY | constants.O_NOFOLLOW);
  } catch (error) {
    throw new MsSignError('FILE_CHANGED', `${file.path} changed after it was verified: ${(error as Error).message}`, { path: file.path, cause: error });
  }
  try {
    if (file.digest !== undefined && file.size <= REHASH_BYTES) {
      // One read of one byte more than signed: exactly the signed size back means one version.
      const buffer = new Uint8Array(file.size + 1);
      let got = 0;
      for (let n = 1; n > 0 && got < buffer.length; got += n) n = readSync(fd, buffer, got, buffer.length - got, got);
      const bytes = buffer.subarray(0, file.size);
      if (got !== file.size || !bytesEqual(hashBytes(file.digest.algorithm, bytes), file.digest.value)) throw changed();
      return scanFile(new BufferSource(bytes), file.path, options);
    }
    const before = identityOf(fstatSync(fd, { bigint: true }));
    if (before.size !== file.size || (file.identity !== undefined && !sameIdentity(before, file.identity))) throw changed();
    const result = scanFile(new FileSource(fd, file.size, file.path), file.path, options);
    if (!sameIdentity(before, identityOf(fstatSync(fd, { bigint: true })))) throw changed();
    return result;
  } finally {
    closeSync(fd);
  }
}

function hashBytes(algorithm: HashAlgorithm, bytes: Uint8Array): Uint8Array {
  return createHash(algorithm).update(bytes).digest();
}

/**
 * The scan of `sign`, before hashing: each walked file through one descriptor whose fstat must
 * match the walk's lstat (device, inode, size, mtime) before and after the scan. Hashing then
 * checks the same against the walk, so the scanned, hashed and signed bytes are one version.
 */
export function scanWalkedFiles(files: readonly WalkedFile[], options: Omit<ScanFileOptions, 'modelFiles' | 'modelFileSizes'> = {}): FileScanResult[] {
  const modelFiles = new Set(files.map((f) => f.path));
  const modelFileSizes = new Map(files.map((f) => [f.path, Number(f.stats?.size ?? 0n)]));
  return files.map((file) => {
    const walked = file.stats;
    if (walked === undefined) throw new MsSignError('INTERNAL', `${file.path} was walked without stats`);
    const changed = () => new MsSignError('FILE_CHANGED', `${file.path} changed while it was scanned; sign again when it is stable`, { path: file.path });
    const fd = openForScan(file.absolutePath, file.path);
    try {
      const before = fstatSync(fd, { bigint: true });
      const same = (s: typeof before) => s.isFile() && s.dev === walked.dev && s.ino === walked.ino && s.size === walked.size && s.mtimeNs === walked.mtimeNs;
      if (!same(before)) throw changed();
      const result = scanFile(new FileSource(fd, Number(walked.size), file.path), file.path, { ...options, modelFiles, modelFileSizes });
      if (!same(fstatSync(fd, { bigint: true }))) throw changed();
      return result;
    } finally {
      closeSync(fd);
    }
  });
}

function openForScan(absolutePath: string, path: string): number {
  try {
    return openSync(absolutePath, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new MsSignError('FILE_CHANGED', `${path} disappeared while the model was scanned`, { path, cause: error });
    if (code === 'ELOOP') throw new MsSignError('UNSAFE_FILE_TYPE', `${path} is a symbolic link`, { path, cause: error });
    throw new MsSignError('IO_ERROR', `cannot read ${path}: ${(error as Error).message}`, { path, cause: error });
  }
}
