import { createHash, hash as hashOnce } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync, writeSync, type BigIntStats } from 'node:fs';
import type { HashAlgorithm } from '../../format/manifest.js';
import type { FileScanResult } from '../../scan/types.js';

/** One file of a hash job: hashed in shards of the job's shard size (one shard if it fits). */
export interface HashFile {
  readonly path: string;
  /** fstat must report exactly this size, or every shard of the file fails without hashing. */
  readonly size: number;
  /** Where the bytes read go besides the hash: nowhere, a copy file, or shared memory. */
  readonly sink?: CopySink | MemorySink | undefined;
}

/** Writes the hashed bytes at the same offset of an existing file: verify-and-copy in one read. */
export interface CopySink {
  readonly kind: 'copy';
  readonly path: string;
}

/** Reads the bytes into shared memory at `offset + position in the file`: verify-into-memory in one read. */
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

export type FailureReason = 'changed' | 'not-regular' | 'missing' | 'io';

/**
 * What verify's scan of a small file on its hashing read found: the file's scan result, or
 * PLAIN_UNKNOWN for a file of no known format whose result is only that (scan/detect.ts
 * isPlainUnknown; scan/scan.ts plainUnknownResult rebuilds it from the path and size). Most files
 * of a large directory are such files: they travel between threads as one byte, not a result.
 */
export type HashScan = FileScanResult | typeof PLAIN_UNKNOWN;
export const PLAIN_UNKNOWN = 'plain-unknown';

export type HashTaskResult =
  | { readonly ok: true; readonly digest: Uint8Array; readonly identity: FileIdentity; readonly scan?: HashScan }
  | { readonly ok: false; readonly reason: 'size'; readonly identity: FileIdentity }
  | { readonly ok: false; readonly reason: FailureReason; readonly message: string };

// O_NOFOLLOW: a symlink swapped in after the walk is refused, not followed. O_NONBLOCK: opening a
// FIFO swapped in returns at once instead of waiting for a writer; fstat then refuses it.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

/**
 * The identity of a result that did not need one: a single-shard file read back at exactly its
 * signed size during verify (see hashRange). Nothing compares it: one read is consistent in itself.
 */
export const UNOBSERVED_IDENTITY: FileIdentity = Object.freeze({ dev: 0n, ino: 0n, size: -1, mtimeNs: 0n, ctimeNs: 0n });

export function identityOf(stats: BigIntStats): FileIdentity {
  return { dev: stats.dev, ino: stats.ino, size: Number(stats.size), mtimeNs: stats.mtimeNs, ctimeNs: stats.ctimeNs };
}

export function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

/**
 * Looks at the bytes of a whole small file (the job's file number `file`) right after they were
 * hashed, in the same thread and from the same read (verify's scan: hash/inspect.ts); undefined
 * when it has nothing to say.
 */
export type InspectBytes = (file: number, bytes: Uint8Array, digest: Uint8Array) => HashScan | undefined;

/**
 * Hashes `length` bytes of `file` from `offset`, reading into `scratch` (reused: no allocation per
 * read). Runs the same way in a worker thread and on the main thread. `stopped` is polled between
 * reads so that --fail-fast ends even a long shard early: then the result is undefined. `inspect`
 * sees the bytes of a small file that one read returned whole (verify's fast path below), with
 * `fileIndex`, the file's number in the job.
 */
export function hashRange(
  file: HashFile,
  offset: number,
  length: number,
  algorithm: HashAlgorithm,
  scratch: Buffer,
  stopped: () => boolean = () => false,
  sizeSigned = false,
  inspect?: InspectBytes,
  fileIndex = -1,
): HashTaskResult | undefined {
  let fd: number;
  try {
    fd = openSync(file.path, OPEN_FLAGS);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, reason: 'missing', message: 'file disappeared' };
    if (code === 'ELOOP') return { ok: false, reason: 'not-regular', message: 'is a symbolic link' };
    return { ok: false, reason: 'io', message: (error as Error).message };
  }
  let outFd: number | undefined;
  try {
    // Verify of a small file (most of a directory of 20,000): read one byte more than signed. If
    // exactly the signed size comes back, those bytes are the whole file as one read saw it, and
    // the two fstat calls below (a third of the syscalls per file) are not needed. Anything else
    // (shorter, longer, a FIFO or device swapped in) takes the full path, which says what it is.
    // A memory sink (verify-before-load) takes the same path: the bytes of that one read are the
    // ones hashed, the ones copied into the sink and the ones `inspect` (the scan) sees.
    if (sizeSigned && file.sink?.kind !== 'copy' && offset === 0 && length === file.size && length < scratch.length) {
      if (readFully(fd, scratch, length + 1, 0) === length) {
        const bytes = scratch.subarray(0, length);
        if (file.sink !== undefined) new Uint8Array(file.sink.buffer, file.sink.offset, length).set(bytes);
        const digest = hashOnce(algorithm, bytes, 'buffer');
        const scan = inspect?.(fileIndex, bytes, digest);
        return scan === undefined ? { ok: true, digest, identity: UNOBSERVED_IDENTITY } : { ok: true, digest, identity: UNOBSERVED_IDENTITY, scan };
      }
    }
    const before = fstatSync(fd, { bigint: true });
    if (!before.isFile()) return { ok: false, reason: 'not-regular', message: 'is not a regular file' };
    const identity = identityOf(before);
    if (identity.size !== file.size) return { ok: false, reason: 'size', identity };
    const sink = file.sink;
    if (sink?.kind === 'copy') outFd = openSync(sink.path, constants.O_WRONLY | constants.O_NOFOLLOW);
    let digest: Uint8Array;
    if (sink === undefined && length <= scratch.length) {
      // Small files (and small last shards) fit one read: a one-shot digest skips a Hash object.
      const got = readFully(fd, scratch, length, offset);
      if (got < length) return { ok: false, reason: 'changed', message: 'file shrank while it was hashed' };
      digest = hashOnce(algorithm, scratch.subarray(0, length), 'buffer');
    } else {
      const hash = createHash(algorithm);
      const end = offset + length;
      let position = offset;
      while (position < end) {
        if (stopped()) return undefined;
        const want = Math.min(end - position, scratch.length);
        const target = sink?.kind === 'memory' ? new Uint8Array(sink.buffer, sink.offset + position, want) : scratch;
        const got = readSync(fd, target, 0, want, position);
        if (got === 0) return { ok: false, reason: 'changed', message: 'file shrank while it was hashed' };
        const chunk = got === target.length ? target : target.subarray(0, got);
        hash.update(chunk);
        if (outFd !== undefined) writeAll(outFd, chunk, position);
        position += got;
      }
      digest = hash.digest();
    }
    // The bytes we hashed are one consistent version only if nothing touched the file meanwhile.
    const after = identityOf(fstatSync(fd, { bigint: true }));
    if (!sameIdentity(identity, after)) return { ok: false, reason: 'changed', message: 'file changed while it was hashed' };
    return { ok: true, digest, identity };
  } catch (error) {
    return { ok: false, reason: 'io', message: (error as Error).message };
  } finally {
    closeSync(fd);
    if (outFd !== undefined) closeSync(outFd);
  }
}

function readFully(fd: number, buffer: Buffer, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const got = readSync(fd, buffer, done, length - done, position + done);
    if (got === 0) break;
    done += got;
  }
  return done;
}

function writeAll(fd: number, chunk: Uint8Array, position: number): void {
  let done = 0;
  while (done < chunk.length) done += writeSync(fd, chunk, done, chunk.length - done, position + done);
}
