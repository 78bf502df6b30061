import { closeSync, chmodSync, constants, ftruncateSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import { dirname, join } from 'node:path';
import { MsSignError } from '../errors.js';
import type { ManifestFile } from '../format/manifest.js';
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

export type VerifiedReadOptions = Omit<VerifyModelOptions, 'sinkFor'>;

/**
 * Verify before load, for a single-file model (SPEC section 5): reads the file once into memory,
 * verifies exactly those bytes and returns them. Hand them to a loader that takes a buffer
 * (MindSpore Lite `Model::Build(buf, size, ...)`, `build_from_buffer`); loading the path after
 * verifying it would reopen a file that may have changed in between.
 *
 * @throws ModelVerificationError when the model is not verified (its `report` says why)
 * @example
 * ```ts
 * import { loadVerifiedModel, policyFromKeys, parsePublicKeyPem } from '@ms-sign/core';
 * import { readFileSync } from 'node:fs';
 * const key = parsePublicKeyPem(readFileSync('publisher.pub', 'utf8'));
 * const { bytes } = await loadVerifiedModel('model.ms', { trust: { policy: policyFromKeys([{ name: 'publisher', key }]), source: '-p' } });
 * // bytes: exactly what the publisher signed
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
 * returns them by model-relative path. Later changes on disk cannot reach what it returns.
 *
 * @throws ModelVerificationError when the model is not verified
 */
export async function loadVerifiedDirectory(modelPath: string, options: VerifiedReadOptions): Promise<{ files: Map<string, Uint8Array>; report: VerificationReport }> {
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
 * Verifies a model while copying it to `destination` (which must not exist), reading each byte
 * once: the copy holds exactly the verified bytes, read-only. On failure the copy is removed and
 * ModelVerificationError thrown. Used by `exec --copy` and `verify --output FILE`.
 */
export async function copyVerifiedModel(modelPath: string, destination: string, options: VerifiedReadOptions): Promise<VerificationReport> {
  const kind = resolveModel(modelPath).kind;
  const created: string[] = [];
  // Remove only what this call created: never a file that was there before.
  let ownsDestination = false;
  const cleanUp = () => {
    if (ownsDestination) rmSync(destination, { recursive: true, force: true });
  };
  let report: VerificationReport;
  try {
    if (kind === 'directory') {
      try {
        mkdirSync(destination, { mode: 0o700 });
      } catch (error) {
        throw existsError(destination, error);
      }
      ownsDestination = true;
    }
    report = await verifyModel(modelPath, {
      ...options,
      sinkFor: (file) => {
        const target = kind === 'file' ? destination : join(destination, ...file.path.split('/'));
        if (kind === 'directory') mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
        createSized(target, file.size);
        if (kind === 'file') ownsDestination = true;
        created.push(target);
        return { kind: 'copy', path: target } satisfies CopySink;
      },
    });
  } catch (error) {
    cleanUp();
    throw error;
  }
  if (!report.ok || (kind === 'file' && created.length === 0)) {
    cleanUp();
    throw new ModelVerificationError(report);
  }
  for (const file of created) chmodSync(file, 0o400);
  return report;
}

function allocate(file: ManifestFile): SharedArrayBuffer {
  if (file.size > bufferConstants.MAX_LENGTH) {
    throw new MsSignError('LIMIT_EXCEEDED', `${file.path} is ${file.size} bytes, more than fits in memory here; use copyVerifiedModel`, { path: file.path });
  }
  return new SharedArrayBuffer(file.size);
}

function existsError(path: string, cause: unknown): MsSignError {
  const exists = (cause as NodeJS.ErrnoException).code === 'EEXIST';
  return new MsSignError(exists ? 'FILE_EXISTS' : 'IO_ERROR', exists ? `${path} already exists; refusing to overwrite it` : `cannot create ${path}: ${(cause as Error).message}`, { path, cause });
}

function createSized(path: string, size: number): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } catch (error) {
    throw existsError(path, error);
  }
  try {
    ftruncateSync(fd, size);
  } finally {
    closeSync(fd);
  }
}
