/**
 * Our own zip reader, for PyTorch, NumPy .npz and Keras .keras archives. Scanner bypasses in this
 * area come from reading a zip with one library's rules while the loader uses another's: PyTorch
 * reads with miniz (no name check, no CRC check, case-insensitive lookup), NumPy and Keras with
 * CPython `zipfile` (names must match, CRC failures raise, offsets shifted by prepended data).
 * This reader parses the raw structures, locates data the way miniz does (local header at the
 * central directory's offset, data after the *local* name and extra), and reports every place
 * the two readers could disagree as a finding. No anomaly stops the scan.
 *
 * Bounded: the end record is searched in the last 65,557 bytes only, entries are capped, and a
 * member is inflated only up to its declared size + 1 and at most the member cap.
 */
import type { ByteSource, FindingInput } from './types.js';
import { crc32, InflateError, inflateHead, inflateRaw } from './inflate.js';
import { BufferSource, checkRange } from './source.js';

export const ZIP_LIMITS = {
  entries: 100_000,
  /** Central directory bytes read at once. */
  centralDirectoryBytes: 64 * 1024 * 1024,
  /** Largest member inflated or read whole for scanning. */
  memberBytes: 256 * 1024 * 1024,
  /** A declared ratio above this, for members above bombFloorBytes, is a bomb. */
  bombRatio: 1000,
  bombFloorBytes: 1024 * 1024,
} as const;

export interface ZipEntry {
  readonly index: number;
  /** The name as text (UTF-8 when valid, else Latin-1), for findings and matching. */
  readonly name: string;
  /** The raw name bytes as a Latin-1 string: exact comparisons, as miniz makes them. */
  readonly rawName: string;
  readonly method: number;
  readonly flags: number;
  readonly crc: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localOffset: number;
  /** Where the member's data starts (local header + local name + local extra), as miniz computes it. */
  readonly dataStart: number;
  readonly dataEnd: number;
  /** The local header could not be read: the member has no data. */
  readonly broken: boolean;
}

export interface ZipArchive {
  readonly entries: readonly ZipEntry[];
  readonly centralDirectoryOffset: number;
  readonly endOfCentralDirectory: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END64 = 0x06064b50;
const SIG_END64_LOCATOR = 0x07064b50;

const u16 = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8);
const u32 = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
const u64 = (b: Uint8Array, o: number) => u32(b, o) + u32(b, o + 4) * 2 ** 32;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = (b: Uint8Array) => {
  let s = '';
  for (const x of b) s += String.fromCharCode(x);
  return s;
};
const decodeName = (b: Uint8Array) => {
  try {
    return utf8.decode(b);
  } catch {
    return latin1(b);
  }
};

/** Zip-slip shapes: absolute, drive letters, `..` segments, backslashes, NUL. */
export function unsafeMemberPath(name: string): string | undefined {
  if (name.includes('\0')) return 'contains NUL';
  if (name.includes('\\')) return 'contains a backslash';
  if (name.startsWith('/')) return 'is absolute';
  if (/^[A-Za-z]:/u.test(name)) return 'starts with a drive letter';
  if (name.split('/').includes('..')) return 'contains a .. segment';
  return undefined;
}

/** Looks for the last end-of-central-directory signature, as both miniz and zipfile do. */
function findEnd(source: ByteSource): number {
  const from = Math.max(0, source.size - 65_557);
  const tail = source.read(from, source.size - from);
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail[i] === 0x50 && tail[i + 1] === 0x4b && tail[i + 2] === 0x05 && tail[i + 3] === 0x06) return from + i;
  }
  return -1;
}

/**
 * Reads the central directory and every local header. Anomalies are reported; undefined when no
 * entry list can be read at all (ZIP_MALFORMED reported).
 */
export function readZip(source: ByteSource, report: (f: FindingInput) => void): ZipArchive | undefined {
  const malformed = (message: string, offset?: number, member?: string) =>
    report({ code: 'ZIP_MALFORMED', message, ...(offset === undefined ? {} : { offset }), ...(member === undefined ? {} : { member }) });
  const end = source.size >= 22 ? findEnd(source) : -1;
  if (end === -1) {
    malformed('no end-of-central-directory record');
    return undefined;
  }
  const eocd = source.read(end, 22);
  const commentLength = u16(eocd, 20);
  const recordEnd = end + 22 + commentLength;
  if (recordEnd > source.size) malformed('the archive comment runs past the end of the file', end);
  else if (recordEnd < source.size) report({ code: 'ZIP_TRAILING_DATA', message: `${source.size - recordEnd} bytes after the end of the archive`, offset: recordEnd });
  if (u16(eocd, 4) !== 0 || u16(eocd, 6) !== 0 || u16(eocd, 8) !== u16(eocd, 10)) malformed('a multi-disk archive', end);
  let count = u16(eocd, 10);
  let cdSize = u32(eocd, 12);
  let cdOffset = u32(eocd, 16);
  // Where zipfile expects the central directory to end: right before the end record (or the ZIP64 records).
  let cdEndExpected = end;
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = end - 20;
    const locator = loc >= 0 ? source.read(loc, 20) : undefined;
    if (locator === undefined || u32(locator, 0) !== SIG_END64_LOCATOR) {
      malformed('a ZIP64 archive without its locator', end);
      return undefined;
    }
    const end64 = u64(locator, 8);
    if (end64 + 56 > loc) {
      malformed('the ZIP64 end record is out of range', loc);
      return undefined;
    }
    const rec = source.read(end64, 56);
    if (u32(rec, 0) !== SIG_END64) {
      malformed('the ZIP64 end record has a bad signature', end64);
      return undefined;
    }
    count = u64(rec, 32);
    cdSize = u64(rec, 40);
    cdOffset = u64(rec, 48);
    cdEndExpected = end64;
  }
  if (count > ZIP_LIMITS.entries) {
    report({ code: 'SCAN_LIMIT_EXCEEDED', message: `the archive declares ${count} entries, more than ${ZIP_LIMITS.entries}`, offset: end });
    return undefined;
  }
  if (cdOffset + cdSize > cdEndExpected) {
    malformed('the central directory runs past the end record', end);
    return undefined;
  }
  // zipfile assumes data was prepended when the directory ends before the end record, and shifts
  // every offset by the difference (that is how a pickle with a zip appended reads as a zip);
  // miniz (PyTorch) does not. Offsets are read as zipfile reads them, and the divergence reported.
  const shift = cdEndExpected - cdOffset - cdSize;
  if (shift > 0) {
    report({ code: 'ZIP_PREFIX_DATA', message: `${shift} bytes of other data before the archive: zipfile shifts every offset past them, PyTorch does not`, offset: 0 });
    cdOffset += shift;
  }
  if (cdSize > ZIP_LIMITS.centralDirectoryBytes) {
    report({ code: 'SCAN_LIMIT_EXCEEDED', message: `the central directory is ${cdSize} bytes, more than ${ZIP_LIMITS.centralDirectoryBytes}`, offset: cdOffset });
    return undefined;
  }
  const cd = source.read(cdOffset, cdSize);
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || u32(cd, p) !== SIG_CENTRAL) {
      malformed(`central directory entry ${i} is missing or has a bad signature`, cdOffset + p);
      break;
    }
    const nameLength = u16(cd, p + 28);
    const extraLength = u16(cd, p + 30);
    const commentLen = u16(cd, p + 32);
    const next = p + 46 + nameLength + extraLength + commentLen;
    if (next > cd.length) {
      malformed(`central directory entry ${i} runs past the directory`, cdOffset + p);
      break;
    }
    const nameBytes = cd.subarray(p + 46, p + 46 + nameLength);
    let size = u32(cd, p + 24);
    let compressedSize = u32(cd, p + 20);
    let localOffset = u32(cd, p + 42);
    // ZIP64 extra field (0x0001): the 64-bit values, for the 32-bit fields that are saturated.
    const extra = cd.subarray(p + 46 + nameLength, p + 46 + nameLength + extraLength);
    for (let e = 0; e + 4 <= extra.length; ) {
      const id = u16(extra, e);
      const len = u16(extra, e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        const take = () => {
          const v = q + 8 <= e + 4 + len && q + 8 <= extra.length ? u64(extra, q) : undefined;
          q += 8;
          return v;
        };
        if (size === 0xffffffff) size = take() ?? size;
        if (compressedSize === 0xffffffff) compressedSize = take() ?? compressedSize;
        if (localOffset === 0xffffffff) localOffset = take() ?? localOffset;
      }
      e += 4 + len;
    }
    localOffset += shift;
    const name = decodeName(nameBytes);
    const flags = u16(cd, p + 8);
    const method = u16(cd, p + 10);
    const crc = u32(cd, p + 16);
    let dataStart = 0;
    let broken = false;
    let localFlags = 0;
    if (localOffset + 30 > source.size) {
      malformed(`the local header of ${name} is outside the file`, localOffset, name);
      broken = true;
    } else {
      const local = source.read(localOffset, 30);
      const localNameLength = u16(local, 26);
      const localExtraLength = u16(local, 28);
      localFlags = u16(local, 6);
      dataStart = localOffset + 30 + localNameLength + localExtraLength;
      if (u32(local, 0) !== SIG_LOCAL) {
        malformed(`the local header of ${name} has a bad signature`, localOffset, name);
        broken = true;
      } else if (dataStart + compressedSize > source.size) {
        malformed(`the data of ${name} runs past the end of the file`, localOffset, name);
        broken = true;
      } else {
        const localName = source.read(localOffset + 30, localNameLength);
        if (latin1(localName) !== latin1(nameBytes)) {
          report({ code: 'ZIP_NAME_MISMATCH', message: `the local header names ${JSON.stringify(decodeName(localName))}, the central directory ${JSON.stringify(name)}: zipfile refuses, PyTorch loads`, offset: localOffset, member: name });
        }
      }
    }
    if (((flags | localFlags) & 0x61) !== 0) {
      report({ code: 'ZIP_FLAGS', message: `flags 0x${(flags | localFlags).toString(16)} (encryption or patch data): zipfile refuses, PyTorch loads`, offset: localOffset, member: name, detail: { flags: flags | localFlags } });
    }
    if (method !== 0 && method !== 8) report({ code: 'ZIP_METHOD', message: `compression method ${method} is neither stored nor deflate`, offset: localOffset, member: name, detail: { method } });
    const why = unsafeMemberPath(name);
    if (why !== undefined) report({ code: 'ZIP_PATH', message: `member name ${JSON.stringify(name)} ${why}`, offset: localOffset, member: name });
    if (size > ZIP_LIMITS.bombFloorBytes && size > compressedSize * ZIP_LIMITS.bombRatio) {
      report({ code: 'ZIP_BOMB', message: `declares ${size} bytes from ${compressedSize} compressed (ratio above ${ZIP_LIMITS.bombRatio}:1)`, offset: localOffset, member: name });
    }
    if (method === 0 && size !== compressedSize) malformed(`stored member ${name} declares ${size} bytes but stores ${compressedSize}`, localOffset, name);
    entries.push({ index: i, name, rawName: latin1(nameBytes), method, flags, crc, compressedSize, size, localOffset, dataStart, dataEnd: broken ? dataStart : dataStart + compressedSize, broken });
    p = next;
  }
  if (entries.length === count && p !== cd.length) malformed('the central directory has bytes after its last entry', cdOffset + p);
  checkLayout(entries, cdOffset, cdSize, shift > 0, report);
  return { entries, centralDirectoryOffset: cdOffset, endOfCentralDirectory: end };
}

function checkLayout(entries: readonly ZipEntry[], cdOffset: number, cdSize: number, prefixReported: boolean, report: (f: FindingInput) => void): void {
  const seen = new Map<string, ZipEntry>();
  for (const e of entries) {
    const first = seen.get(e.rawName);
    if (first) report({ code: 'ZIP_DUPLICATE_NAME', message: `${JSON.stringify(e.name)} appears more than once: which copy a reader takes depends on the reader`, offset: e.localOffset, member: e.name });
    else seen.set(e.rawName, e);
  }
  const ranges = entries.filter((e) => !e.broken).map((e) => ({ e, from: e.localOffset, to: e.dataEnd }));
  ranges.sort((a, b) => a.from - b.from);
  for (let i = 1; i < ranges.length; i++) {
    const prev = ranges[i - 1]!;
    const cur = ranges[i]!;
    if (cur.from < prev.to) report({ code: 'ZIP_OVERLAP', message: `${JSON.stringify(cur.e.name)} overlaps ${JSON.stringify(prev.e.name)}`, offset: cur.from, member: cur.e.name });
  }
  for (const r of ranges) {
    if (r.from < cdOffset + cdSize && r.to > cdOffset) report({ code: 'ZIP_OVERLAP', message: `${JSON.stringify(r.e.name)} overlaps the central directory`, offset: r.from, member: r.e.name });
  }
  const first = ranges[0];
  if (first !== undefined && first.from > 0 && !prefixReported) {
    report({ code: 'ZIP_PREFIX_DATA', message: `${first.from} bytes before the first member that no member owns`, offset: 0 });
  }
}

/** A ByteSource over a window of another source (a stored member: no copy). */
export function windowSource(source: ByteSource, start: number, size: number): ByteSource {
  return {
    size,
    read(position: number, length: number): Uint8Array {
      checkRange(size, position, length);
      return source.read(start + position, length);
    },
  };
}

/**
 * A member's bytes as a ByteSource: stored members are windows of the archive, deflated ones are
 * inflated up to their declared size + 1 (more is ZIP_BOMB) and at most `maxBytes`. The CRC is
 * checked (a mismatch is reported; the member is scanned anyway, as PyTorch would load it).
 * Undefined when the member cannot be read (reported).
 */
export function memberSource(source: ByteSource, entry: ZipEntry, report: (f: FindingInput) => void, maxBytes: number = ZIP_LIMITS.memberBytes, checkCrc = true): ByteSource | undefined {
  const where = { offset: entry.localOffset, member: entry.name };
  if (entry.broken) return undefined;
  if (entry.size > maxBytes) {
    report({ code: 'SCAN_LIMIT_EXCEEDED', message: `member of ${entry.size} bytes is over the ${maxBytes}-byte scan limit`, ...where });
    return undefined;
  }
  let out: ByteSource;
  if (entry.method === 0) {
    out = windowSource(source, entry.dataStart, entry.compressedSize);
  } else if (entry.method === 8) {
    if (entry.compressedSize > maxBytes + 65_536) {
      report({ code: 'SCAN_LIMIT_EXCEEDED', message: `member of ${entry.compressedSize} compressed bytes is over the scan limit`, ...where });
      return undefined;
    }
    const compressed = source.read(entry.dataStart, entry.compressedSize);
    try {
      const { output } = inflateRaw(compressed, Math.min(entry.size + 1, maxBytes + 1), entry.size);
      if (output.length > entry.size) {
        report({ code: 'ZIP_BOMB', message: `inflates to more than its declared ${entry.size} bytes`, ...where });
        return undefined;
      }
      if (output.length < entry.size) report({ code: 'ZIP_MALFORMED', message: `inflates to ${output.length} bytes, not the declared ${entry.size}`, ...where });
      out = new BufferSource(output);
    } catch (error) {
      if (!(error instanceof InflateError)) throw error;
      report({ code: error.reason === 'too-large' ? 'ZIP_BOMB' : 'ZIP_MALFORMED', message: `deflate data: ${error.message}`, ...where });
      return undefined;
    }
  } else return undefined;
  if (checkCrc && crcOf(out) !== entry.crc) {
    report({ code: 'ZIP_CRC_MISMATCH', message: 'CRC-32 does not match: zipfile refuses it, PyTorch loads it; scanned anyway', ...where });
  }
  return out;
}

function crcOf(source: ByteSource): number {
  let crc = 0;
  for (let p = 0; p < source.size; p += 1 << 20) crc = crc32(source.read(p, Math.min(1 << 20, source.size - p)), crc);
  return crc;
}

/** The first `n` bytes of a member's content (for sniffing), without reading the rest of a stored member. */
export function memberHead(source: ByteSource, entry: ZipEntry, n: number): Uint8Array {
  if (entry.broken) return new Uint8Array(0);
  if (entry.method === 0) return source.read(entry.dataStart, Math.min(n, entry.compressedSize));
  if (entry.method !== 8) return new Uint8Array(0);
  // Inflate only as much as the head needs: a bounded prefix of the compressed data.
  return inflateHead(source.read(entry.dataStart, Math.min(entry.compressedSize, 64 * 1024)), n);
}

/** Records whose name equals `name` ignoring ASCII case (miniz's lookup, as PyTorch uses it). */
export function findCaseInsensitive(archive: ZipArchive, name: string): ZipEntry[] {
  const want = asciiLower(name);
  return archive.entries.filter((e) => asciiLower(e.rawName) === want);
}

export const asciiLower = (s: string) => s.replace(/[A-Z]/gu, (c) => c.toLowerCase());
