import { readSync } from 'node:fs';
import { MsSignError } from '../errors.js';
import { checkRange } from '../scan/source.js';
import type { ByteSource } from '../scan/types.js';

const PAGE = 64 * 1024;
const PAGES = 16;

/**
 * A ByteSource over an open file descriptor: positioned reads (no shared file position, so the
 * same fd can be hashed and scanned), with a small LRU of 64 KiB pages because scanners read
 * many small, nearby values. `size` is the size fstat gave when the caller opened the file; a
 * file that shrinks meanwhile is FILE_CHANGED, not a silent short read.
 */
export class FileSource implements ByteSource {
  private readonly pages = new Map<number, Uint8Array>();

  constructor(
    private readonly fd: number,
    readonly size: number,
    private readonly path: string,
  ) {}

  read(position: number, length: number): Uint8Array {
    checkRange(this.size, position, length);
    const first = Math.floor(position / PAGE);
    const last = Math.floor((position + Math.max(length, 1) - 1) / PAGE);
    if (first === last) {
      const page = this.page(first);
      return page.subarray(position - first * PAGE, position - first * PAGE + length);
    }
    // Spans pages: read it directly (its length was checked against the file size above).
    return this.readAt(position, length);
  }

  private page(index: number): Uint8Array {
    const cached = this.pages.get(index);
    if (cached !== undefined) {
      // Re-insert: Map keeps insertion order, so the first key is the least recently used.
      this.pages.delete(index);
      this.pages.set(index, cached);
      return cached;
    }
    const start = index * PAGE;
    const page = this.readAt(start, Math.min(PAGE, this.size - start));
    if (this.pages.size >= PAGES) this.pages.delete(this.pages.keys().next().value!);
    this.pages.set(index, page);
    return page;
  }

  private readAt(position: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, out, done, length - done, position + done);
      if (n === 0) throw new MsSignError('FILE_CHANGED', `${this.path} became shorter while it was scanned`, { path: this.path });
      done += n;
    }
    return out;
  }
}
