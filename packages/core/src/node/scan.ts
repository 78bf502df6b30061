import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { MsSignError, type Problem } from '../errors.js';
import type { Glob } from '../format/glob.js';
import type { ScanCode } from '../scan/codes.js';
import { judgeScan, scanFile, SCANNER_VERSION, summarizeScan, type ScanMode, type ScanSummary } from '../scan/scan.js';
import type { FileScanResult } from '../scan/types.js';
import { FileSource } from './file-source.js';
import { walkModel } from './walk.js';

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
  let fd: number;
  try {
    fd = openSync(absolutePath, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new MsSignError('FILE_CHANGED', `${path} disappeared while the model was scanned`, { path, cause: error });
    if (code === 'ELOOP') throw new MsSignError('UNSAFE_FILE_TYPE', `${path} is a symbolic link`, { path, cause: error });
    throw new MsSignError('IO_ERROR', `cannot read ${path}: ${(error as Error).message}`, { path, cause: error });
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new MsSignError('UNSAFE_FILE_TYPE', `${path} is not a regular file`, { path });
    return scanFile(new FileSource(fd, stats.size, path), path, options);
  } finally {
    closeSync(fd);
  }
}
