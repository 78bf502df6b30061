/**
 * @ms-sign/core/internal: building blocks that ms-sign's own CLI, tests and scripts use, NOT a
 * public API: anything here may change or go away in any release. Applications use
 * `@ms-sign/core` and `@ms-sign/core/node`.
 */
export { CborDecodeError, reencodesExactly } from './format/cbor.js';
export { compareUtf8, fromBase64, fromHex, sortByUtf8, toBase64, toHex } from './bytes.js';
export { readBoundedFile } from './node/files.js';
export { walkModel, resolveModel, type ModelWalk, type WalkedFile } from './node/walk.js';
export { hashModelFiles, compareModel, compareContents, ignoredBy } from './node/contents.js';
export { PICKLE_LIMITS, PICKLE_OPCODES, pythonInt, runPickleStream, type PickleStream, type PickleRun } from './scan/pickle/unpickler.js';
export { readZip, memberSource, ZIP_LIMITS, type ZipArchive, type ZipEntry } from './scan/zip.js';
export { crc32, inflateRaw, InflateError } from './scan/inflate.js';
export { parseStrictJson, toPlainJson, JsonError, JsonNumber, JSON_LIMITS, type JsonValue } from './format/json.js';
export { runHashJob, type HashJob } from './node/hash/pool.js';
export { isPlainUnknown } from './scan/detect.js';
export { plainUnknownResult } from './scan/scan.js';
