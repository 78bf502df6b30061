import { compareUtf8, utf8ByteLength } from '../bytes.js';
import { MsSignError, problem, type ErrorCode, type Problem } from '../errors.js';
import { LIMITS, MAX_SHARD_SIZE, MIN_SHARD_SIZE } from '../limits.js';
import { CborDecodeError, decodeCanonical, encodeCanonical, type CborValue } from './cbor.js';
import { expectArray, expectBytes, expectMap, expectText, expectUint, type FieldReader } from './fields.js';
import { checkGlob } from './glob.js';
import { checkModelPath, findPathCollision } from './paths.js';

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
  /** Model-relative path (SPEC section 3); for a single-file model, the file's name when signed. */
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

  const files = manifest.files;
  if (files.length === 0) add('MALFORMED_SIGNATURE_FILE', 'files: the manifest covers no file');
  if (files.length > LIMITS.files) add('LIMIT_EXCEEDED', `files: more than ${LIMITS.files}`);
  if (manifest.kind === 'file' && files.length !== 1) add('MALFORMED_SIGNATURE_FILE', 'files: a single-file manifest must list exactly one file');
  const sizesOk = files.every((f) => Number.isSafeInteger(f.size) && f.size >= 0);
  // Checked before any per-file digest count, so a huge declared size is reported as the limit.
  if (shardSizeOk && sizesOk && files.reduce((n, f) => n + shardCount(f.size, manifest.shardSize), 0) > LIMITS.shards) {
    add('LIMIT_EXCEEDED', `files: more than ${LIMITS.shards} shard digests`);
  }
  const digestBytes = knownHash ? HASH_ALGORITHMS[manifest.hashAlgorithm] : undefined;
  files.forEach((f, i) => {
    const unsafe = checkModelPath(f.path) ?? (manifest.kind === 'file' && f.path.includes('/') ? 'a single-file model path has no "/"' : undefined);
    if (unsafe) add('UNSAFE_PATH', `files[${i}].path ${JSON.stringify(f.path)} is unsafe: ${unsafe}`);
    if (!Number.isSafeInteger(f.size) || f.size < 0) add('MALFORMED_SIGNATURE_FILE', `files[${i}].size: expected an unsigned integer`);
    else if (shardSizeOk) {
      const shards = shardCount(f.size, manifest.shardSize);
      if (f.digests.length !== shards) add('MALFORMED_SIGNATURE_FILE', `files[${i}]: expected ${shards} digests for ${f.size} bytes, got ${f.digests.length}`);
    }
    if (digestBytes !== undefined) {
      const wrong = f.digests.findIndex((d) => d.length !== digestBytes);
      if (wrong >= 0) add('MALFORMED_SIGNATURE_FILE', `files[${i}] digest ${wrong}: expected ${digestBytes} bytes, got ${f.digests[wrong]!.length}`);
    }
  });
  for (let i = 1; i < files.length; i++) {
    if (compareUtf8(files[i - 1]!.path, files[i]!.path) >= 0) {
      add('UNSAFE_PATH', `manifest paths are not sorted and unique at ${JSON.stringify(files[i]!.path)}`);
      break;
    }
  }
  const collision = findPathCollision(files.map((f) => f.path));
  if (collision) add('UNSAFE_PATH', `manifest paths ${JSON.stringify(collision[0])} and ${JSON.stringify(collision[1])} collide ignoring case`);

  if (!Number.isSafeInteger(manifest.created) || manifest.created < 0) add('MALFORMED_SIGNATURE_FILE', 'created: expected Unix seconds');
  if (manifest.expires !== undefined && !(manifest.expires > manifest.created)) add('MALFORMED_SIGNATURE_FILE', 'expires: must be later than created');

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
 * trusted key has been checked (SPEC section 3).
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
  const problems = checkManifest(manifest);
  if (problems.length > 0) {
    const first = problems[0]!;
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
    // A count over the limits is, in a signature file, one more way of being malformed.
    const code = first.code === 'LIMIT_EXCEEDED' ? 'MALFORMED_SIGNATURE_FILE' : first.code;
    throw new MsSignError(code, `${code === 'UNSUPPORTED_FORMAT' ? '' : 'malformed manifest: '}${first.message}${more}`, { path: sourcePath });
  }
  return manifest;
}

/**
 * The shape stage: every field present with the right type and no unknown field, texts and lists
 * bounded before they are read. The rules on values are checkManifest's.
 */
function readManifestShape(root: CborValue, fail: (message: string) => never, sourcePath: string | undefined): Manifest {
  const read: FieldReader = { fail };
  const body = expectMap(read, root, 'manifest', [
    'version', 'kind', 'subject', 'hash', 'shardSize', 'files', 'created', 'expires', 'ignore', 'annotations',
  ]);
  // First of all, so that a future format version is reported as such, not as malformed.
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

  const list = expectArray(read, body.get('files'), 'files', LIMITS.files);
  // A budget on digests read, over all files: each list is bounded, and so is their sum.
  let digestsRead = 0;
  const files: ManifestFile[] = list.map((item, i) => {
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
      digestsRead += shardList.length;
      if (digestsRead > LIMITS.shards) fail(`files: more than ${LIMITS.shards} shard digests`);
      digests = shardList.map((d, j) => expectBytes(read, d, `files[${i}].shards[${j}]`));
    }
    return { path, size, digests };
  });

  const created = expectUint(read, body.get('created'), 'created');
  const expires = body.has('expires') ? expectUint(read, body.get('expires'), 'expires') : undefined;
  const ignoreList = expectArray(read, body.get('ignore'), 'ignore', LIMITS.ignorePatterns);
  const ignore = ignoreList.map((p, i) => expectText(read, p, `ignore[${i}]`, LIMITS.globBytes));

  const annotationMap = body.get('annotations');
  if (!(annotationMap instanceof Map)) return fail('annotations: expected a map');
  if (annotationMap.size > LIMITS.annotations) fail(`annotations: more than ${LIMITS.annotations}`);
  const annotations: Record<string, string> = Object.create(null);
  for (const [key, value] of annotationMap) annotations[key] = expectText(read, value, `annotations.${key}`, LIMITS.annotationValueBytes);

  return {
    version: MANIFEST_VERSION,
    kind: kind as ModelKind,
    subject,
    hashAlgorithm: hash as HashAlgorithm,
    shardSize,
    files,
    created,
    ignore,
    annotations,
    ...(expires === undefined ? {} : { expires }),
  };
}
