/**
 * Format detection from the bytes (pure). Content decides; the extension only breaks ties and
 * triggers FORMAT_EXTENSION_MISMATCH when it promises something else. Tests run in a fixed order,
 * first match wins (docs/scan.md, "Detection"). Every test reads a bounded prefix: detection costs
 * a few KiB of reads whatever the file size.
 */
import { checkpointBodyEnd } from './mindir/ckpt.js';
import { decodeVarint } from './protobuf.js';
import { scannerFor } from './registry.js';
import { BufferSource, bytesAre, inRange, readPrefix, readU16, readU32, readU64, readU8 } from './source.js';
import { ScanAbort, type ByteSource } from './types.js';

/** Every format id detection can return (zip-family scanners may refine `zip` further). */
export const FORMAT_IDS = [
  'empty',
  'zip',
  'pytorch-zip',
  'torchscript-zip',
  'keras-v3',
  'numpy-npz',
  'numpy-npy',
  'hdf5',
  'keras-h5',
  'gguf',
  'mindspore-lite-ms',
  'mindspore-encrypted',
  'tar',
  'safetensors',
  'pickle',
  'tflite',
  'onnx',
  'mindir',
  'mindspore-ckpt',
  'executable-code',
  'archive-other',
  'safetensors-index',
  'chat-template',
  'text',
  'unknown',
] as const;
export type FormatId = (typeof FORMAT_IDS)[number];

export interface Detection {
  readonly format: FormatId;
  /** `mindspore-lite-ms` without the MSL2 identifier (the v0 layout). */
  readonly legacy?: boolean;
}

/** What each extension promises; a detected format outside the list gives FORMAT_EXTENSION_MISMATCH. */
const EXTENSION_FORMATS: Readonly<Record<string, readonly string[]>> = {
  ms: ['mindspore-lite-ms', 'mindspore-encrypted'],
  mindir: ['mindir', 'mindspore-encrypted'],
  ckpt: ['mindspore-ckpt', 'mindspore-encrypted', 'pytorch-zip', 'torchscript-zip', 'pickle', 'safetensors', 'zip'],
  safetensors: ['safetensors'],
  npy: ['numpy-npy'],
  npz: ['numpy-npz', 'zip'],
  pt: ['pytorch-zip', 'torchscript-zip', 'pickle', 'tar', 'zip'],
  pth: ['pytorch-zip', 'torchscript-zip', 'pickle', 'tar', 'zip'],
  bin: ['pytorch-zip', 'torchscript-zip', 'pickle', 'zip', 'unknown'],
  pkl: ['pickle', 'pytorch-zip', 'zip'],
  pickle: ['pickle'],
  joblib: ['pickle'],
  onnx: ['onnx'],
  gguf: ['gguf'],
  keras: ['keras-v3', 'zip'],
  h5: ['hdf5', 'keras-h5'],
  hdf5: ['hdf5', 'keras-h5'],
  tflite: ['tflite'],
  tar: ['tar', 'pytorch-zip'],
};

/** Extensions of files that are code: the content need not prove it. */
const CODE_EXTENSIONS = new Set(['py', 'pyc', 'so', 'dll', 'dylib', 'sh', 'bash', 'ps1', 'bat', 'cmd', 'exe']);
const PICKLE_EXTENSIONS = new Set(['pkl', 'pickle', 'joblib', 'pt', 'pth', 'bin', 'ckpt', 'dat', 'data']);

/** An extension that sends a file of no other format to the pickle scanner (.bin, .dat and .data name too much else). */
function namesPickle(ext: string): boolean {
  return PICKLE_EXTENSIONS.has(ext) && ext !== 'bin' && ext !== 'dat' && ext !== 'data';
}

const name = (path: string) => path.slice(path.lastIndexOf('/') + 1);

export function extensionOf(path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? '' : name.slice(dot + 1).toLowerCase();
}

/** True when the extension promises another format than the content has. */
export function extensionMismatch(path: string, format: string): boolean {
  const promised = EXTENSION_FORMATS[extensionOf(path)];
  return promised !== undefined && !promised.includes(format) && format !== 'empty';
}

/** Detects the format of one file from its bytes (and, for ties, its path). Never throws. */
export function detectFormat(source: ByteSource, path: string): Detection {
  try {
    return detect(source, path);
  } catch (error) {
    // Reads are bounds-checked; a prefix test that runs past the end just does not match.
    if (error instanceof ScanAbort) return { format: 'unknown' };
    throw error;
  }
}

function detect(source: ByteSource, path: string): Detection {
  const size = source.size;
  const ext = extensionOf(path);
  if (size === 0) return { format: 'empty' };
  const head = readPrefix(source, 0, 512);
  if (ZIP_MAGICS.some((m) => bytesAre(head, 0, m))) return { format: 'zip' };
  if (bytesAre(head, 0, NUMPY_MAGIC) && head.length > 6 && head[6]! >= 1 && head[6]! <= 3) return { format: 'numpy-npy' };
  if (hasHdf5Signature(source, head)) return { format: 'hdf5' };
  if (bytesAre(head, 0, 'GGUF') || GGML_MAGICS.some((m) => bytesAre(head, 0, m))) return { format: 'gguf' };
  if (bytesAre(head, 4, 'MSL2')) return { format: 'mindspore-lite-ms' };
  if (head.length >= 4 && (head[0] === 0xd8 || head[0] === 0xd9 || head[0] === 0xda) && head[1] === 0x5e && head[2] === 0x3a && head[3] === 0x7f) {
    return { format: 'mindspore-encrypted' };
  }
  if (bytesAre(head, 257, 'ustar')) return { format: 'tar' };
  if (isSafetensors(source, head)) return { format: 'safetensors' };
  if (head.length >= 2 && head[0] === 0x80 && head[1]! <= 5) return { format: 'pickle' };
  if (bytesAre(head, 4, 'TFL3')) return { format: 'tflite' };
  if (looksLikeLegacyMs(source, ext === 'ms')) return { format: 'mindspore-lite-ms', legacy: true };
  // Protobuf models: each test starts from the first byte (a field 1 tag), which most files fail.
  if (head[0] === 0x08 && looksLikeOnnx(source, ext === 'onnx')) return { format: 'onnx' };
  if (head[0] === 0x0a && looksLikeMindir(source)) return { format: 'mindir' };
  if (head[0] === 0x0a && looksLikeCkpt(source)) return { format: 'mindspore-ckpt' };
  const pickle = scannerFor('pickle');
  if (pickle?.probe !== undefined && pickle.probe(source, path)) return { format: 'pickle' };
  if (isExecutable(head, source) || CODE_EXTENSIONS.has(ext)) return { format: 'executable-code' };
  if (isArchive(head)) return { format: 'archive-other' };
  // A pickle extension goes to the pickle scanner, which reports what breaks the parse. (A .ms
  // without a plausible root table is not sent to the .ms scanner: its content decides, and
  // FORMAT_EXTENSION_MISMATCH says it is no .ms.)
  // A .safetensors whose header length rules out the content test still goes to its scanner: the
  // length is the format's only content test, and SAFETENSORS_HEADER_SIZE says what is wrong with it.
  if (ext === 'safetensors' && size >= 8) return { format: 'safetensors' };
  if (namesPickle(ext) && pickle !== undefined) return { format: 'pickle' };
  if (isUtf8Text(source)) {
    // Text files loaders act on: a shard index names files to open, a chat template is code.
    const base = name(path);
    if (base.endsWith('.safetensors.index.json')) return { format: 'safetensors-index' };
    if (base === 'tokenizer_config.json' || base === 'chat_template.jinja' || base === 'chat_template.json') return { format: 'chat-template' };
    return { format: 'text' };
  }
  return { format: 'unknown' };
}

// ---------------------------------------------------------------------------------------------
// Quick rejection: most files of a large model directory (vocabulary shards, tensor dumps) are
// bytes of no known format. Verify scans each small one in its hashing thread, and running the
// whole chain above (and the scan's per-file bookkeeping) on 20,000 of them cost more than the
// hashing. isPlainUnknown answers for most of them from a few byte compares, without allocating;
// the ~2% of random files that start like a protobuf model or a protocol 0/1 pickle get those
// tests of detect() themselves (cheaper than a full scan, whose result would only be cloned).

/**
 * True only when detectFormat(bytes, path) is `unknown` and scanning the file reports nothing but
 * the FORMAT_UNKNOWN finding every such file gets (no extension mismatch): then
 * scan.ts plainUnknownResult(path, size) is exactly the file's scan result. False whenever any
 * test of detect() could match: the full detection then decides. Each check below is a necessary
 * condition of one or more tests of detect(); a new test there needs its check here
 * (test/scan-plain-unknown.test.ts plants each format's signature and compares with detectFormat).
 */
export function isPlainUnknown(bytes: Uint8Array, path: string): boolean {
  const n = bytes.length;
  // Empty files, and those too short to read the legacy .ms root offset, take the full detection.
  if (n < 12) return false;
  const b0 = bytes[0]!;
  const b1 = bytes[1]!;
  const b2 = bytes[2]!;
  const b3 = bytes[3]!;
  // Signatures at offset 0 (zip, numpy, HDF5, GGUF/GGML, executables, archives), by first byte.
  const magics = (magicsByFirstByte ??= indexMagics())[b0];
  if (magics !== undefined) for (const magic of magics) if (bytesAre(bytes, 0, magic)) return false;
  // Encrypted MindSpore, pickle protocol 2+, Mach-O, CPython bytecode.
  if ((b0 === 0xd8 || b0 === 0xd9 || b0 === 0xda) && b1 === 0x5e && b2 === 0x3a && b3 === 0x7f) return false;
  if (b0 === 0x80 && b1 <= 5) return false;
  if (MACH_O_MAGICS.includes(((b0 << 24) | (b1 << 16) | (b2 << 8) | b3) >>> 0)) return false;
  if (b2 === 0x0d && b3 === 0x0a) return false;
  // MSL2 and TFL3 at 4, ustar at 257; a safetensors header length below 2^32 before a "{" at 8.
  if (bytesAre(bytes, 4, 'MSL2') || bytesAre(bytes, 4, 'TFL3') || bytesAre(bytes, 257, 'ustar')) return false;
  if (bytes[8] === 0x7b && bytes[4] === 0 && bytes[5] === 0 && bytes[6] === 0 && bytes[7] === 0) return false;
  // An HDF5 signature after a user block (hasHdf5Signature).
  for (let at = 512; at + 8 <= n; at *= 2) if (bytes[at] === 0x89 && bytesAre(bytes, at, HDF5_SIGNATURE)) return false;
  // A legacy .ms file's root table offset lies inside the file (looksLikeLegacyMs).
  if ((b0 | (b1 << 8) | (b2 << 16) | (b3 << 24)) >>> 0 < n) return false;
  if (mayBeUtf8Text(bytes) || !plainExtension(path)) return false;
  // Last, for the few files left that start like a protobuf model (a field 1 tag) or a protocol
  // 0/1 pickle (the pickle scanner's cheap necessary condition): detection's own tests decide, as
  // detect() runs them. A test that throws leaves the answer to the full detection.
  if (b0 !== 0x08 && b0 !== 0x0a && !mayBePickle(bytes)) return true;
  try {
    const source = new BufferSource(bytes);
    if (b0 === 0x08 && looksLikeOnnx(source, false)) return false;
    if (b0 === 0x0a && (looksLikeMindir(source) || looksLikeCkpt(source))) return false;
    const pickle = scannerFor('pickle');
    return pickle?.probe === undefined || !pickle.probe(source, path);
  } catch {
    return false;
  }
}

/** False only when detect()'s pickle probe is false; true when no cheap test says so. */
function mayBePickle(bytes: Uint8Array): boolean {
  const pickle = scannerFor('pickle');
  if (pickle?.probe === undefined) return false;
  return pickle.mayProbe === undefined || pickle.mayProbe(bytes);
}

/**
 * False only when isUtf8Text is false: a zero byte or a broken UTF-8 sequence in the first 64 KiB.
 * Random bytes break UTF-8 within a few bytes (a byte of 0x80 or more that cannot start a
 * sequence, or a lead byte without its continuation), so that is looked for first; a zero byte
 * otherwise (about 256 bytes in).
 */
function mayBeUtf8Text(bytes: Uint8Array): boolean {
  const end = Math.min(bytes.length, 64 * 1024);
  // Only near the start: isUtf8Text leaves out a sequence its 64 KiB cut may have split.
  for (let i = 0; i + 1 < Math.min(end, 1024); i++) {
    const b = bytes[i]!;
    if (b === 0) return false;
    if (b < 0x80) continue;
    // A continuation byte without a lead, an overlong lead (C0, C1), or a lead beyond U+10FFFF.
    if (b < 0xc2 || b > 0xf4) return false;
    const next = bytes[i + 1]!;
    if (next < 0x80 || next > 0xbf) return false;
    break;
  }
  for (let i = 0; i < end; i++) if (bytes[i] === 0) return false;
  return true;
}

/** The signatures detect() tests at offset 0, by their first byte; built on first use. */
let magicsByFirstByte: (string[] | undefined)[] | undefined;

function indexMagics(): (string[] | undefined)[] {
  const table: (string[] | undefined)[] = new Array(256).fill(undefined);
  for (const magic of [...ZIP_MAGICS, NUMPY_MAGIC, HDF5_SIGNATURE, 'GGUF', ...GGML_MAGICS, ...EXECUTABLE_MAGICS, ...ARCHIVE_MAGICS]) {
    (table[magic.charCodeAt(0)] ??= []).push(magic);
  }
  return table;
}

/** The last extension plainExtension judged, as its suffix (".bin") and verdict: a model's files mostly share one. */
let lastExtension: { readonly suffix: string; readonly plain: boolean } | undefined;

/** An extension that no test of detect() looks at and that promises no format. */
function plainExtension(path: string): boolean {
  // Compared in place, without slicing the name (extensionOf), when the suffix is the last one:
  // the same extension unless the dot starts the file name.
  const last = lastExtension;
  if (last !== undefined && path.endsWith(last.suffix) && path.length > last.suffix.length && path.charCodeAt(path.length - last.suffix.length - 1) !== 0x2f) return last.plain;
  const ext = extensionOf(path);
  const plain = !extensionMismatch(path, 'unknown') && !CODE_EXTENSIONS.has(ext) && !namesPickle(ext) && ext !== 'ms' && ext !== 'onnx' && ext !== 'safetensors';
  if (ext !== '') lastExtension = { suffix: `.${ext}`, plain };
  return plain;
}

const ZIP_MAGICS = ['PK\x03\x04', 'PK\x05\x06'];
/** ELF, scripts, and PE's "MZ" (a PE file must also have its header where e_lfanew says). */
const EXECUTABLE_MAGICS = ['\x7fELF', '#!/', '#! /', 'MZ'];
const GGML_MAGICS = ['ggml', 'ggmf', 'ggjt', 'lmgg', 'fmgg', 'tjgg'];
const NUMPY_MAGIC = '\x93NUMPY';
const HDF5_SIGNATURE = '\x89HDF\r\n\x1a\n';
const MACH_O_MAGICS = [0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe, 0xcafebabe];

/** HDF5's signature may sit at 0 or after a user block of 512 * 2^k bytes. */
function hasHdf5Signature(source: ByteSource, head: Uint8Array): boolean {
  if (bytesAre(head, 0, HDF5_SIGNATURE)) return true;
  for (let at = 512; at + 8 <= source.size; at *= 2) {
    // One byte first: most files fail on it without a view being made.
    if (readU8(source, at) === 0x89 && bytesAre(source.read(at, 8), 0, HDF5_SIGNATURE)) return true;
  }
  return false;
}

function isSafetensors(source: ByteSource, head: Uint8Array): boolean {
  if (source.size < 9 || head[8] !== 0x7b) return false;
  const n = readU64(source, 0);
  return n >= 2n && n <= 100_000_000n && n <= BigInt(source.size - 8);
}

/**
 * The v0 `.ms` layout has no identifier: accept a plausible root table whose version field
 * (MetaGraph slot 1) is a string starting "MindSpore Lite", or any plausible root for a `.ms`
 * name. The .ms scanner then verifies the whole buffer.
 */
function looksLikeLegacyMs(source: ByteSource, msExtension: boolean): boolean {
  const size = source.size;
  if (size < 12) return false;
  const root = readU32(source, 0);
  if (root < 8 || root >= size || root % 4 !== 0 || !inRange(source, root, 4)) return false;
  const vtable = root - (readU32(source, root) | 0);
  if (!Number.isSafeInteger(vtable) || vtable < 0 || vtable % 2 !== 0 || !inRange(source, vtable, 4)) return false;
  const vtableSize = readU16(source, vtable);
  if (vtableSize < 4 || vtableSize % 2 !== 0 || !inRange(source, vtable, vtableSize)) return false;
  if (vtableSize < 4 + 2 * 2) return msExtension;
  const fieldOffset = readU16(source, vtable + 6);
  if (fieldOffset === 0) return msExtension;
  const slot = root + fieldOffset;
  if (!inRange(source, slot, 4) || slot % 4 !== 0) return msExtension;
  const str = slot + readU32(source, slot);
  if (!inRange(source, str, 4 + 14)) return msExtension;
  const length = readU32(source, str);
  if (length < 14) return msExtension;
  return bytesAre(source.read(str + 4, 14), 0, 'MindSpore Lite') || msExtension;
}

interface TopField {
  readonly number: number;
  readonly wire: number;
  readonly dataOffset: number;
  readonly dataLength: number;
}

/**
 * Up to `max` top-level protobuf fields of [start, end). When the wire data breaks, the fields
 * before the break (undefined if none): a truncated model is still recognised, then reported
 * malformed by its scanner.
 */
function topLevelFields(source: ByteSource, max: number, start = 0, end = source.size): TopField[] | undefined {
  const { fields } = walkTopLevel(source, max, start, end);
  return fields.length === 0 ? undefined : fields;
}

/** The top-level fields walked (up to `max`) and where the walk stopped: `end` when the wire data holds to the end. */
function walkTopLevel(source: ByteSource, max: number, start: number, end: number): { fields: TopField[]; stop: number } {
  const out: TopField[] = [];
  const fail = (): never => {
    throw new ScanAbort('SCAN_TRUNCATED', 'not protobuf');
  };
  let pos = start;
  // Where the last whole field ended: a field cut by the end or a bad tag does not count.
  let stop = start;
  try {
    while (pos < end && out.length < max) {
      const [tag, afterTag] = decodeVarint(source, pos, end, fail);
      const wire = Number(tag & 7n);
      const number = Number(tag >> 3n);
      if (number === 0 || tag > 0xffffffffn) break;
      pos = afterTag;
      let dataOffset = pos;
      let dataLength = 0;
      if (wire === 0) [, pos] = decodeVarint(source, pos, end, fail);
      else if (wire === 1 || wire === 5) {
        pos += wire === 1 ? 8 : 4;
        if (pos > end) break;
      } else if (wire === 2) {
        const [length, next] = decodeVarint(source, pos, end, fail);
        if (length > BigInt(end - next)) break;
        dataOffset = next;
        dataLength = Number(length);
        pos = next + dataLength;
      } else break;
      out.push({ number, wire, dataOffset, dataLength });
      stop = pos;
    }
  } catch (error) {
    if (!(error instanceof ScanAbort)) throw error;
  }
  return { fields: out, stop };
}

/** Top-level fields of a whole ONNX model: a handful, plus repeated opsets, metadata and functions. */
const ONNX_TOP_LEVEL_FIELDS = 100_000;

/**
 * ONNX: ir_version (field 1, varint) first, and the graph (field 7, bytes) among the first fields.
 * Under another name than .onnx the whole file must also be well-formed protobuf at the top
 * level: random bytes pass the first test about once in 10,000 files (a model of 20,000 random
 * .bin files failed sign as "malformed ONNX"), and a broken ONNX file that no name promises runs
 * nothing. An ONNX model with hostile contents, whatever its name, is still detected and scanned.
 */
function looksLikeOnnx(source: ByteSource, onnxExtension: boolean): boolean {
  const first = readPrefix(source, 0, 1);
  if (first[0] !== 0x08) return false;
  const fields = topLevelFields(source, 16);
  if (fields === undefined || fields[0]!.number !== 1 || !fields.some((f) => f.number === 7 && f.wire === 2)) return false;
  return onnxExtension || walkTopLevel(source, ONNX_TOP_LEVEL_FIELDS, 0, source.size).stop === source.size;
}

/** MindIR: ir_version (field 1) a short printable string, then producer "MindSpore" or a graph. */
function looksLikeMindir(source: ByteSource): boolean {
  const first = readPrefix(source, 0, 1);
  if (first[0] !== 0x0a) return false;
  const fields = topLevelFields(source, 16);
  if (fields === undefined || fields.length === 0) return false;
  const version = fields[0]!;
  if (version.number !== 1 || version.wire !== 2 || version.dataLength > 16 || version.dataLength === 0) return false;
  const text = source.read(version.dataOffset, version.dataLength);
  if (!text.every((b) => b >= 0x20 && b < 0x7f)) return false;
  return fields.some(
    (f) =>
      (f.number === 7 && f.wire === 2) ||
      (f.number === 2 && f.wire === 2 && f.dataLength === 9 && bytesAre(source.read(f.dataOffset, 9), 0, 'MindSpore')),
  );
}

/** Checkpoint: every top-level field is field 1 (bytes) holding tag (field 1) then tensor (field 2). */
function looksLikeCkpt(source: ByteSource): boolean {
  const first = readPrefix(source, 0, 1);
  if (first[0] !== 0x0a) return false;
  const fields = topLevelFields(source, 8, 0, checkpointBodyEnd(source));
  if (fields === undefined || fields.length === 0) return false;
  return fields.every((f) => {
    if (f.number !== 1 || f.wire !== 2) return false;
    const inner = topLevelFields(source, 2, f.dataOffset, f.dataOffset + f.dataLength);
    return inner !== undefined && inner.length === 2 && inner[0]!.number === 1 && inner[0]!.wire === 2 && inner[1]!.number === 2 && inner[1]!.wire === 2;
  });
}

function isExecutable(head: Uint8Array, source: ByteSource): boolean {
  // Two bytes alone ("MZ", "#!") would flag one random weights file in 65,536: a PE file must
  // also have its "PE\0\0" header where e_lfanew says, a script an interpreter path.
  if (EXECUTABLE_MAGICS.some((m) => m !== 'MZ' && bytesAre(head, 0, m))) return true;
  if (bytesAre(head, 0, 'MZ') && source.size >= 0x40) {
    const peOffset = readU32(source, 0x3c);
    if (inRange(source, peOffset, 4) && bytesAre(source.read(peOffset, 4), 0, 'PE\x00\x00')) return true;
  }
  const be = head.length >= 4 ? ((head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!) >>> 0 : 0;
  if (MACH_O_MAGICS.includes(be)) return true;
  // CPython 3.x bytecode: a little-endian magic number in 3000..3999, then "\r\n".
  if (head.length >= 4 && head[2] === 0x0d && head[3] === 0x0a) {
    const magic = head[0]! | (head[1]! << 8);
    return magic >= 3000 && magic < 4000;
  }
  return false;
}

/** 7z, gzip, xz, zstd, RAR. */
const ARCHIVE_MAGICS = ['7z\xbc\xaf\x27\x1c', '\x1f\x8b', '\xfd7zXZ\x00', '\x28\xb5\x2f\xfd', 'Rar!'];

function isArchive(head: Uint8Array): boolean {
  return ARCHIVE_MAGICS.some((magic) => bytesAre(head, 0, magic));
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Valid UTF-8 in the first 64 KiB (a character cut at the boundary is fine). */
function isUtf8Text(source: ByteSource): boolean {
  let bytes = readPrefix(source, 0, 64 * 1024);
  if (bytes.includes(0)) return false;
  if (bytes.length < source.size) {
    // Cut: leave out a last sequence the cut may have split (its lead byte and continuations).
    let end = bytes.length;
    while (end > 0 && end > bytes.length - 4 && (bytes[end - 1]! & 0xc0) === 0x80) end--;
    if (end > 0 && bytes[end - 1]! >= 0xc0) end--;
    bytes = bytes.subarray(0, end);
  }
  try {
    // One shared decoder: a non-streaming decode keeps no state between calls.
    strictUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}
