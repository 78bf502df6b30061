import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, fsyncSync, linkSync, openSync, readSync, renameSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { MsSignError, type ErrorCode } from '../errors.js';

/**
 * Reads a whole file of at most `limit` bytes. Opens with O_NONBLOCK so that a FIFO named in
 * place of a key or signature file cannot hang the tool, and refuses anything but regular files.
 * `unusable` is the code for a file that exists but cannot be used as this kind of file: not a
 * regular file, larger than `limit`, or changed while it was read (e.g. BAD_TRUST_POLICY).
 *
 * @returns undefined when the file does not exist
 */
export function readBoundedFile(
  path: string,
  limit: number,
  unusable: ErrorCode,
  what: string,
  inspect?: (stats: Stats) => void,
): Uint8Array | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new MsSignError('IO_ERROR', `cannot read ${what} ${path}: ${(error as Error).message}`, { path, cause: error });
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new MsSignError(unusable, `${what} ${path} is not a regular file`, { path });
    if (stats.size > limit) throw new MsSignError(unusable, `${what} ${path} is larger than ${limit} bytes`, { path });
    // Checked on the open file, so the file checked is the file read.
    inspect?.(stats);
    const out = new Uint8Array(stats.size);
    let offset = 0;
    while (offset < out.length) {
      const n = readSync(fd, out, offset, out.length - offset, offset);
      if (n === 0) break;
      offset += n;
    }
    // One extra read: a file that grew past its fstat size is refused, not silently cut.
    const probe = new Uint8Array(1);
    if (offset < out.length || readSync(fd, probe, 0, 1, offset) !== 0) {
      throw new MsSignError(unusable, `${what} ${path} changed while it was read`, { path });
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

export interface WriteOptions {
  /** File mode of a new file (default 0o644; secret keys 0o600). */
  readonly mode?: number;
  /** Replace an existing file (atomically). Without it an existing file is an error. */
  readonly overwrite?: boolean;
}

/**
 * Writes a file so that a crash or a full disk leaves either the old file or the new one, never
 * a part: write a temporary file in the same directory, fsync it, then rename (or, when not
 * overwriting, link, which fails if the name was taken meanwhile) and fsync the directory.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string, options: WriteOptions = {}): void {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number;
  try {
    fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, options.mode ?? 0o644);
  } catch (error) {
    throw new MsSignError('IO_ERROR', `cannot write ${path}: ${(error as Error).message}`, { path, cause: error });
  }
  try {
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      let done = 0;
      while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (options.overwrite) renameSync(temp, path);
    else {
      try {
        linkSync(temp, path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
          throw new MsSignError('FILE_EXISTS', `${path} already exists; refusing to overwrite it`, { path });
        }
        throw error;
      }
      unlinkSync(temp);
    }
    syncDirectory(dir);
  } catch (error) {
    try {
      unlinkSync(temp);
    } catch {
      // already renamed or never created
    }
    if (error instanceof MsSignError) throw error;
    throw new MsSignError('IO_ERROR', `cannot write ${path}: ${(error as Error).message}`, { path, cause: error });
  }
}

function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on directories; the rename itself is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
