import { sha256 } from '@noble/hashes/sha2.js';
import { compareUtf8, utf8, utf8ByteLength } from '../bytes.js';
import { listedProblems, MsSignError, problem, type ErrorCode, type Problem } from '../errors.js';
import { LIMITS, MAX_SHARD_SIZE, MIN_SHARD_SIZE } from '../limits.js';
import { canonicalArrayItems, CborDecodeError, decodeCanonical, encodeCanonical, splitCanonicalMap, type CanonicalMapEntry, type CborMap, type CborValue } from './cbor.js';
import { expectArray, expectBytes, expectMap, expectText, expectUint, type FieldReader } from './fields.js';
import { checkGlob } from './glob.js';
import { caseFoldKey, checkModelPath, findPathCollision } from './paths.js';

/** The manifest format version this ms-sign writes and reads. */
export const MANIFEST_VERSION = 1;

/** Digest length in bytes for each supported hash algorithm (node:crypto names). */
export const HASH_ALGORITHMS = { sha256: 32, sha512: 64 } as const;
/** A digest algorithm a manifest may use. */
export type HashAlgorithm = keyof typeof HASH_ALGORITHMS;

/** A model is one file or a directory tree. */
export type ModelKind = 'file' | 'directory';

/** One signed file of a model. */
export interface ManifestFile {
  /** Model-relative path (docs/signature-format.md); for a single-file model, the file's name when signed. */
  readonly path: string;
  readonly size: number;
  /**
   * One digest per shard of `shardSize` bytes. A file no larger than one shard (also an empty
   * file) has exactly one: the plain digest of the file, as `sha256sum` prints it.
   */
  readonly digests: readonly Uint8Array[];
}

/** The model a manifest names: the name trust-policy scopes match, and an optional version. */
export interface Subject {
  readonly name: string;
  readonly version?: string;
}

/** The signed body of a signature file (docs/signature-format.md). */
export interface Manifest {
  readonly version: typeof MANIFEST_VERSION;
  readonly kind: ModelKind;
  readonly subject: Subject;
  readonly hashAlgorithm: HashAlgorithm;
  readonly shardSize: number;
  /** Sorted by the UTF-8 bytes of `path`; no two equal ignoring case. */
  readonly files: readonly ManifestFile[];
  /** Unix time in seconds. */
  readonly created: number;
  readonly expires?: number;
  readonly ignore: readonly string[];
  readonly annotations: Readonly<Record<string, string>>;
}

/** Number of shards a file of `size` bytes is cut into (at least one, also for an empty file). */
export function shardCount(size: number, shardSize: number): number {
  return size <= shardSize ? 1 : Math.ceil(size / shardSize);
}

export function isValidShardSize(n: number): boolean {
  return Number.isSafeInteger(n) && n >= MIN_SHARD_SIZE && n <= MAX_SHARD_SIZE && Number.isInteger(Math.log2(n));
}

const ANNOTATION_KEY = /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/;

/** Returns why a subject name, version or annotation value is unacceptable, or undefined. */
export function checkLabel(value: string, maxBytes: number): string | undefined {
  if (value.length === 0) return 'is empty';
  if (!value.isWellFormed()) return 'is not valid UTF-8';
  if (utf8ByteLength(value) > maxBytes) return `is longer than ${maxBytes} bytes`;
  if (/\p{Cc}/u.test(value)) return 'contains a control character';
  return undefined;
}

/** Returns why an annotation key is unacceptable, or undefined. */
export function checkAnnotationKey(key: string): string | undefined {
  if (utf8ByteLength(key) > LIMITS.annotationKeyBytes) return `is longer than ${LIMITS.annotationKeyBytes} bytes`;
  if (!ANNOTATION_KEY.test(key)) return 'must start with a letter or digit and use only A-Z a-z 0-9 . _ : / -';
  return undefined;
}

/** Returns why an annotation value is unacceptable, or undefined. Unlike a name, it may be empty. */
export function checkAnnotationValue(value: string): string | undefined {
  return value === '' ? undefined : checkLabel(value, LIMITS.annotationValueBytes);
}

/**
 * Every rule a manifest must satisfy (docs/signature-format.md), whoever made it: the decoder runs
 * it on a signed payload after checking its shape, and signing runs it on the manifest it is
 * about to sign, so ms-sign never signs what it would refuse to verify. Collects every problem,
 * in the order of the manifest's fields (the first is the most fundamental).
 *
 * Codes: UNSUPPORTED_FORMAT (version), UNSAFE_PATH (file paths, their order and collisions),
 * LIMIT_EXCEEDED (a count over LIMITS), MALFORMED_SIGNATURE_FILE (any other rule). Callers map
 * them to their context (signing reports USAGE for a bad name).
 */
export function checkManifest(manifest: Manifest): Problem[] {
  return checkManifestParts(manifest, { count: manifest.files.length, files: () => manifest.files, held: manifest.files });
}

/** A manifest's fields other than its file list. */
export type ManifestHeader = Omit<Manifest, 'files'>;

/** A manifest's file list, as an array or read again on each call (nothing need hold it all). */
interface FileList {
  readonly count: number;
  files(): Iterable<ManifestFile>;
  /** The whole list when it is already in memory: case collisions are then found by a map of keys. */
  readonly held?: readonly ManifestFile[];
}

/** checkManifest over a header and a file list read one file at a time. */
function checkManifestParts(manifest: ManifestHeader, list: FileList): Problem[] {
  const problems: Problem[] = [];
  const add = (code: ErrorCode, message: string) => void problems.push(problem(code, message));

  if (manifest.version !== MANIFEST_VERSION) add('UNSUPPORTED_FORMAT', `manifest version ${String(manifest.version)} is not supported (this ms-sign reads version ${MANIFEST_VERSION})`);
  const kind: string = manifest.kind;
  if (kind !== 'file' && kind !== 'directory') add('MALFORMED_SIGNATURE_FILE', `kind: expected "file" or "directory", got ${JSON.stringify(kind)}`);

  const nameProblem = checkLabel(manifest.subject.name, LIMITS.nameBytes);
  if (nameProblem) add('MALFORMED_SIGNATURE_FILE', `subject.name ${nameProblem}`);
  if (manifest.subject.version !== undefined) {
    const versionProblem = checkLabel(manifest.subject.version, LIMITS.versionBytes);
    if (versionProblem) add('MALFORMED_SIGNATURE_FILE', `subject.version ${versionProblem}`);
  }

  const knownHash = Object.hasOwn(HASH_ALGORITHMS, manifest.hashAlgorithm);
  if (!knownHash) add('MALFORMED_SIGNATURE_FILE', `hash: unsupported algorithm ${JSON.stringify(manifest.hashAlgorithm)}`);
  const shardSizeOk = isValidShardSize(manifest.shardSize);
  if (!shardSizeOk) add('MALFORMED_SIGNATURE_FILE', `shardSize: expected a power of two from ${MIN_SHARD_SIZE} to ${MAX_SHARD_SIZE}`);

  checkFiles(manifest, list, shardSizeOk, add);

  if (!Number.isSafeInteger(manifest.created) || manifest.created < 0) add('MALFORMED_SIGNATURE_FILE', 'created: expected Unix seconds');
  if (manifest.expires !== undefined && !(manifest.expires > manifest.created)) add('MALFORMED_SIGNATURE_FILE', 'expires: must be later than created');
  // Later times cannot be written as a date: what ms-sign signs, it must be able to report.
  if (manifest.created > LIMITS.latestTime) add('MALFORMED_SIGNATURE_FILE', `created: later than ${LIMITS.latestTime} (9999-12-31T23:59:59Z)`);
  if (manifest.expires !== undefined && manifest.expires > LIMITS.latestTime) add('MALFORMED_SIGNATURE_FILE', `expires: later than ${LIMITS.latestTime} (9999-12-31T23:59:59Z)`);

  if (manifest.ignore.length > LIMITS.ignorePatterns) add('LIMIT_EXCEEDED', `ignore: more than ${LIMITS.ignorePatterns} patterns`);
  manifest.ignore.forEach((pattern, i) => {
    const why = checkGlob(pattern);
    if (why) add('MALFORMED_SIGNATURE_FILE', `ignore[${i}] ${JSON.stringify(pattern)}: ${why}`);
  });
  if (manifest.kind === 'file' && manifest.ignore.length > 0) add('MALFORMED_SIGNATURE_FILE', 'ignore: a single-file manifest has no ignore patterns');

  const annotations = Object.entries(manifest.annotations);
  if (annotations.length > LIMITS.annotations) add('LIMIT_EXCEEDED', `annotations: more than ${LIMITS.annotations}`);
  for (const [key, value] of annotations) {
    const keyProblem = checkAnnotationKey(key);
    if (keyProblem) add('MALFORMED_SIGNATURE_FILE', `annotations: key ${JSON.stringify(key)} ${keyProblem}`);
    const valueProblem = checkAnnotationValue(value);
    if (valueProblem) add('MALFORMED_SIGNATURE_FILE', `annotations.${key} ${valueProblem}`);
  }
  return problems;
}

/**
 * The file-list rules of checkManifest, in one pass over the files and bounded memory whatever
 * their count: the per-file problems past MAX_LISTED_PROBLEMS are counted, not kept, and case
 * collisions are found from one 8-byte hash per path (a second pass names the pair).
 */
function checkFiles(manifest: ManifestHeader, list: FileList, shardSizeOk: boolean, add: (code: ErrorCode, message: string) => void): void {
  const { count } = list;
  if (count === 0) add('MALFORMED_SIGNATURE_FILE', 'files: the manifest covers no file');
  if (count > LIMITS.files) add('LIMIT_EXCEEDED', `files: more than ${LIMITS.files}`);
  if (manifest.kind === 'file' && count !== 1) add('MALFORMED_SIGNATURE_FILE', 'files: a single-file manifest must list exactly one file');
  const digestBytes = Object.hasOwn(HASH_ALGORITHMS, manifest.hashAlgorithm) ? HASH_ALGORITHMS[manifest.hashAlgorithm] : undefined;
  const perFile = listedProblems();
  const addFile = (code: ErrorCode, message: string) => perFile.add(problem(code, message));
  let sizesOk = true;
  let shards = 0;
  let unsorted: string | undefined;
  let previous: string | undefined;
  // Hashing every path (pure-JS SHA-256) only pays where the list is streamed: ~2x the map's time.
  const folds = list.held === undefined ? new Float64Array(count) : undefined;
  let i = 0;
  for (const f of list.files()) {
    const unsafe = checkModelPath(f.path) ?? (manifest.kind === 'file' && f.path.includes('/') ? 'a single-file model path has no "/"' : undefined);
    if (unsafe) addFile('UNSAFE_PATH', `files[${i}].path ${JSON.stringify(f.path)} is unsafe: ${unsafe}`);
    if (!Number.isSafeInteger(f.size) || f.size < 0) {
      sizesOk = false;
      addFile('MALFORMED_SIGNATURE_FILE', `files[${i}].size: expected an unsigned integer`);
    } else if (shardSizeOk) {
      const expected = shardCount(f.size, manifest.shardSize);
      shards += expected;
      if (f.digests.length !== expected) addFile('MALFORMED_SIGNATURE_FILE', `files[${i}]: expected ${expected} digests for ${f.size} bytes, got ${f.digests.length}`);
    }
    if (digestBytes !== undefined) {
      const wrong = f.digests.findIndex((d) => d.length !== digestBytes);
      if (wrong >= 0) addFile('MALFORMED_SIGNATURE_FILE', `files[${i}] digest ${wrong}: expected ${digestBytes} bytes, got ${f.digests[wrong]!.length}`);
    }
    if (unsorted === undefined && previous !== undefined && compareUtf8(previous, f.path) >= 0) unsorted = f.path;
    previous = f.path;
    if (folds !== undefined) folds[i] = caseFoldHash(f.path);
    i++;
  }
  // Reported before any per-file digest count, so a huge declared size is reported as the limit.
  if (shardSizeOk && sizesOk && shards > LIMITS.shards) add('LIMIT_EXCEEDED', `files: more than ${LIMITS.shards} shard digests`);
  for (const item of perFile.done()) add(item.code, item.message);
  if (unsorted !== undefined) add('UNSAFE_PATH', `manifest paths are not sorted and unique at ${JSON.stringify(unsorted)}`);
  const collision = folds === undefined ? findPathCollision(list.held!.map((f) => f.path)) : findHashedCollision(folds, list);
  if (collision) add('UNSAFE_PATH', `manifest paths ${JSON.stringify(collision[0])} and ${JSON.stringify(collision[1])} collide ignoring case`);
}

/**
 * 52 bits of SHA-256 of a path's case-fold key: equal keys always give equal hashes; unequal keys
 * collide by chance or by ~2^26 work, which findHashedCollision checks before reporting a pair.
 */
function caseFoldHash(path: string): number {
  const digest = sha256(utf8(caseFoldKey(path)));
  let n = 0;
  for (let i = 0; i < 6; i++) n = n * 256 + digest[i]!;
  return n * 16 + (digest[6]! >> 4);
}

/**
 * The first pair of paths (in list order) whose case-fold keys are equal, as findPathCollision
 * finds it, from their hashes: sorted by hash then position, the earliest second member of an
 * equal-hash run is the first collision. Only that pair is read again, in a second pass.
 */
function findHashedCollision(folds: Float64Array, list: FileList): [string, string] | undefined {
  const order = new Uint32Array(folds.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  order.sort((a, b) => folds[a]! - folds[b]! || a - b);
  let first = -1;
  let second = Infinity;
  for (let k = 1; k < order.length; k++) {
    const at = order[k]!;
    const before = order[k - 1]!;
    // Only the second member of a run: a later member collides with the same earlier path.
    if (folds[at] === folds[before] && (k < 2 || folds[order[k - 2]!] !== folds[at]) && at < second) {
      second = at;
      first = before;
    }
  }
  if (first < 0) return undefined;
  let a: string | undefined;
  let b: string | undefined;
  let i = 0;
  for (const f of list.files()) {
    if (i === first) a = f.path;
    if (i === second) b = f.path;
    if (i++ >= second) break;
  }
  if (a !== undefined && b !== undefined && caseFoldKey(a) === caseFoldKey(b)) return [a, b];
  // Two different keys with equal hashes (chance or 2^26 work at a million paths): the exact scan.
  return findPathCollision(Array.from(list.files(), (f) => f.path));
}

/** Encodes a manifest as deterministic CBOR: the payload that is signed. Check it with checkManifest first. */
export function encodeManifest(manifest: Manifest): Uint8Array {
  const subject = new Map<string, CborValue>([['name', manifest.subject.name]]);
  if (manifest.subject.version !== undefined) subject.set('version', manifest.subject.version);
  const body = new Map<string, CborValue>([
    ['version', manifest.version],
    ['kind', manifest.kind],
    ['subject', subject],
    ['hash', manifest.hashAlgorithm],
    ['shardSize', manifest.shardSize],
    [
      'files',
      manifest.files.map(
        (f) =>
          new Map<string, CborValue>([
            ['path', f.path],
            ['size', f.size],
            f.size <= manifest.shardSize ? ['digest', f.digests[0]!] : ['shards', f.digests],
          ]),
      ),
    ],
    ['created', manifest.created],
    ['ignore', manifest.ignore],
    ['annotations', new Map(Object.entries(manifest.annotations))],
  ]);
  if (manifest.expires !== undefined) body.set('expires', manifest.expires);
  return encodeCanonical(body);
}

/**
 * Strictly decodes and validates a manifest: CBOR, then shape (types, known fields, bounded
 * sizes), then every rule (checkManifest). Call only on payload bytes whose signature by a
 * trusted key has been checked (docs/signature-format.md).
 *
 * @throws MsSignError MALFORMED_SIGNATURE_FILE, UNSUPPORTED_FORMAT or UNSAFE_PATH (the first
 * problem found; the message counts the others)
 */
export function decodeManifest(payload: Uint8Array, sourcePath?: string): Manifest {
  const fail = (message: string): never => {
    throw new MsSignError('MALFORMED_SIGNATURE_FILE', `malformed manifest: ${message}`, { path: sourcePath });
  };
  let root: CborValue;
  try {
    root = decodeCanonical(payload);
  } catch (error) {
    if (error instanceof CborDecodeError) return fail(error.message);
    throw error;
  }
  const manifest = readManifestShape(root, fail, sourcePath);
  refuseProblems(checkManifest(manifest), sourcePath);
  return manifest;
}

/** Throws the first of a decoded manifest's problems, counting the others. */
function refuseProblems(problems: readonly Problem[], sourcePath: string | undefined): void {
  if (problems.length === 0) return;
  const first = problems[0]!;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  // A count over the limits is, in a signature file, one more way of being malformed.
  const code = first.code === 'LIMIT_EXCEEDED' ? 'MALFORMED_SIGNATURE_FILE' : first.code;
  throw new MsSignError(code, `${code === 'UNSUPPORTED_FORMAT' ? '' : 'malformed manifest: '}${first.message}${more}`, { path: sourcePath });
}

/** A manifest decoded and checked as decodeManifest does, with its file list read on demand. */
export interface ManifestListing {
  readonly header: ManifestHeader;
  readonly fileCount: number;
  /** The sum of the files' sizes. */
  readonly totalBytes: number;
  /** The files in manifest order, decoded again on each call: nothing holds the whole list. */
  files(): Iterable<ManifestFile>;
}

/**
 * decodeManifest for a payload that may be an attacker's (`inspect` shows what a file claims
 * before anything vouches for it): the same rules and errors, in memory bounded by one file entry
 * rather than by the file count. A million entries of a 64 MiB payload would be millions of objects
 * as one tree; here each entry is decoded, checked and dropped, and read again for each listing.
 *
 * @throws MsSignError as decodeManifest
 */
export function readManifestListing(payload: Uint8Array, sourcePath?: string): ManifestListing {
  const fail = (message: string): never => {
    throw new MsSignError('MALFORMED_SIGNATURE_FILE', `malformed manifest: ${message}`, { path: sourcePath });
  };
  const decode = (bytes: Uint8Array): CborValue => {
    try {
      return decodeCanonical(bytes);
    } catch (error) {
      if (error instanceof CborDecodeError) return fail(error.message);
      throw error;
    }
  };
  const read: FieldReader = { fail };
  let entries: CanonicalMapEntry[];
  try {
    entries = splitCanonicalMap(payload, MANIFEST_FIELDS.length);
  } catch (error) {
    if (error instanceof CborDecodeError) return fail(error.message);
    throw error;
  }
  // Every field but the file list decoded as usual; the list stands in as an empty array.
  const body = new Map<string, CborValue>();
  let filesBytes: Uint8Array | undefined;
  for (const { key, value } of entries) {
    if (key === 'files') filesBytes = value;
    body.set(key, key === 'files' ? [] : decode(value));
  }
  expectMap(read, body, 'manifest', MANIFEST_FIELDS);
  const lead = readLeadShape(read, body, sourcePath);
  if (filesBytes === undefined || filesBytes[0]! >> 5 !== 4) return fail('files: expected an array');
  let items: ReturnType<typeof canonicalArrayItems>;
  try {
    items = canonicalArrayItems(filesBytes, LIMITS.files);
  } catch (error) {
    if (error instanceof CborDecodeError) return fail(`files: ${error.message}`);
    throw error;
  }
  let totalBytes = 0;
  function* files(): Generator<ManifestFile> {
    const budget = { digests: 0 };
    let i = 0;
    let sum = 0;
    for (const item of items.items()) {
      const file = readFileEntry(read, decode(item), i++, budget);
      sum += file.size;
      yield file;
    }
    totalBytes = sum;
  }
  // The file shapes are read by the rules' own pass (each entry before its rules).
  const tail = readTailShape(read, body);
  const header: ManifestHeader = { ...lead, ...tail };
  refuseProblems(checkManifestParts(header, { count: items.length, files }), sourcePath);
  return { header, fileCount: items.length, totalBytes, files };
}

/**
 * The shape stage: every field present with the right type and no unknown field, texts and lists
 * bounded before they are read. The rules on values are checkManifest's.
 */
function readManifestShape(root: CborValue, fail: (message: string) => never, sourcePath: string | undefined): Manifest {
  const read: FieldReader = { fail };
  const body = expectMap(read, root, 'manifest', MANIFEST_FIELDS);
  const lead = readLeadShape(read, body, sourcePath);
  const list = expectArray(read, body.get('files'), 'files', LIMITS.files);
  // A budget on digests read, over all files: each list is bounded, and so is their sum.
  const budget = { digests: 0 };
  const files: ManifestFile[] = list.map((item, i) => readFileEntry(read, item, i, budget));
  return { ...lead, files, ...readTailShape(read, body) };
}

const MANIFEST_FIELDS = ['version', 'kind', 'subject', 'hash', 'shardSize', 'files', 'created', 'expires', 'ignore', 'annotations'];

/** The fields before the file list: version first, so that a future version is reported as such. */
function readLeadShape(read: FieldReader, body: CborMap, sourcePath: string | undefined) {
  const version = expectUint(read, body.get('version'), 'version');
  if (version !== MANIFEST_VERSION) {
    throw new MsSignError('UNSUPPORTED_FORMAT', `manifest version ${version} is not supported (this ms-sign reads version ${MANIFEST_VERSION})`, { path: sourcePath });
  }
  const kind = expectText(read, body.get('kind'), 'kind', 16);

  const subjectMap = expectMap(read, body.get('subject'), 'subject', ['name', 'version']);
  const subject: { name: string; version?: string } = { name: expectText(read, subjectMap.get('name'), 'subject.name', LIMITS.nameBytes) };
  if (subjectMap.has('version')) subject.version = expectText(read, subjectMap.get('version'), 'subject.version', LIMITS.versionBytes);

  const hash = expectText(read, body.get('hash'), 'hash', 16);
  const shardSize = expectUint(read, body.get('shardSize'), 'shardSize');
  return { version: MANIFEST_VERSION, kind: kind as ModelKind, subject, hashAlgorithm: hash as HashAlgorithm, shardSize } as const;
}

/** One entry of the file list; `budget` counts shard digests over all entries. */
function readFileEntry(read: FieldReader, item: CborValue, i: number, budget: { digests: number }): ManifestFile {
  const { fail } = read;
  const entry = expectMap(read, item, `files[${i}]`, ['path', 'size', 'digest', 'shards']);
  const path = expectText(read, entry.get('path'), `files[${i}].path`, LIMITS.pathBytes);
  const size = expectUint(read, entry.get('size'), `files[${i}].size`);
  if (entry.has('digest') === entry.has('shards')) fail(`files[${i}]: expected either "digest" or "shards"`);
  let digests: Uint8Array[];
  if (entry.has('digest')) digests = [expectBytes(read, entry.get('digest'), `files[${i}].digest`)];
  else {
    const shardList = expectArray(read, entry.get('shards'), `files[${i}].shards`, LIMITS.shards);
    // One digest is always written as "digest": the encoding is unique.
    if (shardList.length === 1) fail(`files[${i}]: a file of one shard has "digest", not "shards"`);
    budget.digests += shardList.length;
    if (budget.digests > LIMITS.shards) fail(`files: more than ${LIMITS.shards} shard digests`);
    digests = shardList.map((d, j) => expectBytes(read, d, `files[${i}].shards[${j}]`));
  }
  return { path, size, digests };
}

/** The fields after the file list. */
function readTailShape(read: FieldReader, body: CborMap) {
  const { fail } = read;
  const created = expectUint(read, body.get('created'), 'created');
  const expires = body.has('expires') ? expectUint(read, body.get('expires'), 'expires') : undefined;
  const ignoreList = expectArray(read, body.get('ignore'), 'ignore', LIMITS.ignorePatterns);
  const ignore = ignoreList.map((p, i) => expectText(read, p, `ignore[${i}]`, LIMITS.globBytes));

  const annotationMap = body.get('annotations');
  if (!(annotationMap instanceof Map)) return fail('annotations: expected a map');
  if (annotationMap.size > LIMITS.annotations) fail(`annotations: more than ${LIMITS.annotations}`);
  const annotations: Record<string, string> = Object.create(null);
  for (const [key, value] of annotationMap) annotations[key] = expectText(read, value, `annotations.${key}`, LIMITS.annotationValueBytes);
  return { created, ignore, annotations, ...(expires === undefined ? {} : { expires }) };
}
