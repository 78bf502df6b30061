import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync, writeSync, type BigIntStats } from 'node:fs';
import type { HashAlgorithm } from '../../format/manifest.js';

/**
 * One unit of hashing work: a byte range (a shard, or a whole small file) of one file. Runs the
 * same way in a worker thread and, for small jobs, on the main thread.
 */
export interface HashTask {
  readonly path: string;
  readonly offset: number;
  readonly length: number;
  /** fstat must report exactly this size, or the task fails without hashing. */
  readonly fileSize: number;
  readonly algorithm: HashAlgorithm;
  /** Where the bytes read go besides the hash: nowhere, a copy file, or shared memory. */
  readonly sink?: CopySink | MemorySink;
}

/** Writes the hashed bytes at the same offset of an existing file: verify-and-copy in one read. */
export interface CopySink {
  readonly kind: 'copy';
  readonly path: string;
}

/** Reads the bytes into shared memory at `offset + task.offset`: verify-into-memory in one read. */
export interface MemorySink {
  readonly kind: 'memory';
  readonly buffer: SharedArrayBuffer;
  readonly offset: number;
}

/** What identifies one version of a file: if any of these differ, the file changed. */
export interface FileIdentity {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly size: number;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
}

export type HashTaskResult =
  | { readonly ok: true; readonly digest: Uint8Array; readonly identity: FileIdentity }
  | { readonly ok: false; readonly reason: 'size'; readonly identity: FileIdentity }
  | { readonly ok: false; readonly reason: 'changed' | 'not-regular' | 'missing' | 'io'; readonly message: string };

// O_NOFOLLOW: a symlink swapped in after the walk is refused, not followed. O_NONBLOCK: opening a
// FIFO swapped in returns at once instead of waiting for a writer; fstat then refuses it.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

export function identityOf(stats: BigIntStats): FileIdentity {
  return { dev: stats.dev, ino: stats.ino, size: Number(stats.size), mtimeNs: stats.mtimeNs, ctimeNs: stats.ctimeNs };
}

export function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

export function runHashTask(task: HashTask, scratch: Buffer): HashTaskResult {
  let fd: number;
  try {
    fd = openSync(task.path, OPEN_FLAGS);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, reason: 'missing', message: 'file disappeared' };
    if (code === 'ELOOP') return { ok: false, reason: 'not-regular', message: 'is a symbolic link' };
    return { ok: false, reason: 'io', message: (error as Error).message };
  }
  let outFd: number | undefined;
  try {
    const before = fstatSync(fd, { bigint: true });
    if (!before.isFile()) return { ok: false, reason: 'not-regular', message: 'is not a regular file' };
    const identity = identityOf(before);
    if (identity.size !== task.fileSize) return { ok: false, reason: 'size', identity };
    if (task.sink?.kind === 'copy') outFd = openSync(task.sink.path, constants.O_WRONLY | constants.O_NOFOLLOW);
    const hash = createHash(task.algorithm);
    const end = task.offset + task.length;
    let position = task.offset;
    while (position < end) {
      const want = Math.min(end - position, scratch.length);
      const target =
        task.sink?.kind === 'memory'
          ? new Uint8Array(task.sink.buffer, task.sink.offset + position, want)
          : scratch.subarray(0, want);
      const got = readSync(fd, target, 0, want, position);
      if (got === 0) return { ok: false, reason: 'changed', message: 'file shrank while it was hashed' };
      const chunk = target.subarray(0, got);
      hash.update(chunk);
      if (outFd !== undefined) writeAll(outFd, chunk, position);
      position += got;
    }
    // The bytes we hashed are one consistent version only if nothing touched the file meanwhile.
    const after = identityOf(fstatSync(fd, { bigint: true }));
    if (!sameIdentity(identity, after)) return { ok: false, reason: 'changed', message: 'file changed while it was hashed' };
    return { ok: true, digest: new Uint8Array(hash.digest()), identity };
  } catch (error) {
    return { ok: false, reason: 'io', message: (error as Error).message };
  } finally {
    closeSync(fd);
    if (outFd !== undefined) closeSync(outFd);
  }
}

function writeAll(fd: number, chunk: Uint8Array, position: number): void {
  let done = 0;
  while (done < chunk.length) done += writeSync(fd, chunk, done, chunk.length - done, position + done);
}
