import { closeSync, chmodSync, constants, ftruncateSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import { dirname, join } from 'node:path';
import { MsSignError } from '../errors.js';
import type { ManifestFile, ModelKind } from '../format/manifest.js';
import type { CopySink, MemorySink } from './hash/task.js';
import { resolveModel } from './walk.js';
import { verifyModel, type VerificationReport, type VerifyModelOptions } from './verify.js';

/** Thrown by the verify-before-load functions when the model is not verified. */
export class ModelVerificationError extends MsSignError {
  readonly report: VerificationReport;

  constructor(report: VerificationReport) {
    const first = report.errors[0] ?? { code: 'INTERNAL' as const, message: 'verification failed' };
    const more = report.errors.length > 1 ? ` (and ${report.errors.length - 1} more problems)` : '';
    super(first.code, `${report.model} is not verified: ${first.message}${more}`, { path: first.path });
    this.report = report;
  }
}

/** Options of loadVerifiedModel, loadVerifiedDirectory and copyVerifiedModel: verifyModel's, without the byte sink they set. */
export type VerifiedReadOptions = Omit<VerifyModelOptions, 'sinkFor'>;

/**
 * Verify before load, for a single-file model (SPEC section 5): reads the file once into memory,
 * verifies exactly those bytes and returns them. Hand them to a loader that takes a buffer
 * (MindSpore Lite `Model::Build(buf, size, ...)`, `build_from_buffer`); loading the path after
 * verifying it would reopen a file that may have changed in between (docs/verify-before-load.md).
 * The bytes live in a SharedArrayBuffer (worker threads read into it while hashing); nothing
 * writes to it after this returns.
 *
 * @throws ModelVerificationError when the model is not verified (its `report` says why)
 * @throws MsSignError for a setup error, e.g. USAGE when the model is a directory
 * @example
 * ```ts
 * import { loadVerifiedModel, readTrustPolicyFile } from '@ms-sign/core/node';
 * const { policy } = readTrustPolicyFile('.ms-sign/trust.json');
 * const { bytes, report } = await loadVerifiedModel('model.ms', { trust: { policy, source: '.ms-sign/trust.json' } });
 * console.log(`${report.subject.name}: ${bytes.length} verified bytes`);
 * // hand `bytes` to the loader; never reopen model.ms
 * ```
 */
export async function loadVerifiedModel(modelPath: string, options: VerifiedReadOptions): Promise<{ bytes: Uint8Array; report: VerificationReport }> {
  if (resolveModel(modelPath).kind !== 'file') throw new MsSignError('USAGE', `${modelPath} is a directory; use loadVerifiedDirectory`);
  let memory: SharedArrayBuffer | undefined;
  const report = await verifyModel(modelPath, {
    ...options,
    sinkFor: (file) => {
      memory = allocate(file);
      return { kind: 'memory', buffer: memory, offset: 0 } satisfies MemorySink;
    },
  });
  if (!report.ok || memory === undefined) throw new ModelVerificationError(report);
  return { bytes: new Uint8Array(memory), report };
}

/**
 * Verify before load, for a directory model: reads every file once, verifies those bytes and
 * returns them by model-relative path ("/"-separated, as signed). Later changes on disk cannot
 * reach what it returns.
 *
 * @throws ModelVerificationError when the model is not verified
 * @throws MsSignError for a setup error, e.g. USAGE when the model is a single file
 * @example
 * ```ts
 * import { parsePublicKeyPem, policyFromKeys } from '@ms-sign/core';
 * import { loadVerifiedDirectory } from '@ms-sign/core/node';
 * import { readFileSync } from 'node:fs';
 * const key = parsePublicKeyPem(readFileSync('publisher.pub', 'utf8'));
 * const trust = { policy: policyFromKeys([{ name: 'publisher', key }]), source: '-p publisher.pub' };
 * const { files } = await loadVerifiedDirectory('model-dir', { trust });
 * const graph = files.get('model.ms'); // exactly the verified bytes of model-dir/model.ms
 * ```
 */
export async function loadVerifiedDirectory(modelPath: string, options: VerifiedReadOptions): Promise<{ files: Map<string, Uint8Array>; report: VerificationReport }> {
  if (resolveModel(modelPath).kind !== 'directory') throw new MsSignError('USAGE', `${modelPath} is a single file; use loadVerifiedModel`);
  const buffers = new Map<string, SharedArrayBuffer>();
  const report = await verifyModel(modelPath, {
    ...options,
    sinkFor: (file) => {
      const buffer = allocate(file);
      buffers.set(file.path, buffer);
      return { kind: 'memory', buffer, offset: 0 } satisfies MemorySink;
    },
  });
  if (!report.ok) throw new ModelVerificationError(report);
  return { files: new Map([...buffers].map(([path, buffer]) => [path, new Uint8Array(buffer)])), report };
}

/**
 * Verifies a model while copying it to `destination`, reading each byte once: the copy holds
 * exactly the verified bytes, its files read-only (mode 0400; directories 0700). `destination`
 * must not exist: it is created first, exclusively, so a path that exists is refused with
 * FILE_EXISTS and never overwritten or removed. On failure what this call created is removed and
 * ModelVerificationError thrown. Used by `exec --copy` and `verify --output FILE`.
 *
 * @example
 * ```ts
 * import { copyVerifiedModel, readTrustPolicyFile } from '@ms-sign/core/node';
 * import { mkdtempSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { join } from 'node:path';
 * const { policy } = readTrustPolicyFile('.ms-sign/trust.json');
 * const copy = join(mkdtempSync(join(tmpdir(), 'model-')), 'model.ms'); // a private directory
 * await copyVerifiedModel('model.ms', copy, { trust: { policy, source: '.ms-sign/trust.json' } });
 * // load `copy` by path: no other user can change it
 * ```
 */
export async function copyVerifiedModel(modelPath: string, destination: string, options: VerifiedReadOptions): Promise<VerificationReport> {
  const kind = resolveModel(modelPath).kind;
  createDestination(destination, kind);
  // From here on, everything at `destination` is ours to remove.
  const cleanUp = () => rmSync(destination, { recursive: true, force: true });
  const copied: string[] = [];
  let report: VerificationReport;
  try {
    report = await verifyModel(modelPath, {
      ...options,
      sinkFor: (file) => {
        const target = kind === 'file' ? destination : join(destination, ...file.path.split('/'));
        try {
          if (kind === 'directory') mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
          sizeFile(target, file.size, kind === 'directory');
        } catch (error) {
          throw new MsSignError('IO_ERROR', `cannot write the copy ${target}: ${(error as Error).message}`, { path: target, cause: error });
        }
        copied.push(target);
        return { kind: 'copy', path: target } satisfies CopySink;
      },
    });
  } catch (error) {
    cleanUp();
    throw error;
  }
  if (!report.ok || (kind === 'file' && copied.length === 0)) {
    cleanUp();
    throw new ModelVerificationError(report);
  }
  for (const file of copied) chmodSync(file, 0o400);
  return report;
}

function allocate(file: ManifestFile): SharedArrayBuffer {
  if (file.size > bufferConstants.MAX_LENGTH) {
    throw new MsSignError('LIMIT_EXCEEDED', `${file.path} is ${file.size} bytes, more than fits in memory here; use copyVerifiedModel`, { path: file.path });
  }
  return new SharedArrayBuffer(file.size);
}

/** Creates the copy's root (an empty file, or a 0700 directory) only if nothing is there. */
function createDestination(path: string, kind: ModelKind): void {
  try {
    if (kind === 'directory') mkdirSync(path, { mode: 0o700 });
    else closeSync(openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600));
  } catch (error) {
    const exists = (error as NodeJS.ErrnoException).code === 'EEXIST';
    throw new MsSignError(exists ? 'FILE_EXISTS' : 'IO_ERROR', exists ? `${path} already exists; refusing to overwrite it` : `cannot create ${path}: ${(error as Error).message}`, {
      path,
      cause: error,
    });
  }
}

/** Gives a copy file its final size up front, so that shards can be written at their offsets. */
function sizeFile(path: string, size: number, create: boolean): void {
  const flags = constants.O_WRONLY | constants.O_NOFOLLOW | (create ? constants.O_CREAT | constants.O_EXCL : 0);
  const fd = openSync(path, flags, 0o600);
  try {
    ftruncateSync(fd, size);
  } finally {
    closeSync(fd);
  }
}
