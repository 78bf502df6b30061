import { compareUtf8, utf8ByteLength } from '../bytes.js';
import { MsSignError } from '../errors.js';
import { LIMITS, MAX_SHARD_SIZE, MIN_SHARD_SIZE } from '../limits.js';
import { CborDecodeError, decodeCanonical, encodeCanonical, type CborValue } from './cbor.js';
import { expectArray, expectBytes, expectMap, expectText, expectUint, type FieldReader } from './fields.js';
import { checkGlob } from './glob.js';
import { checkModelPath, findPathCollision } from './paths.js';

export const MANIFEST_VERSION = 1;

/** Digest length in bytes for each supported hash algorithm (node:crypto names). */
export const HASH_ALGORITHMS = { sha256: 32, sha512: 64 } as const;
export type HashAlgorithm = keyof typeof HASH_ALGORITHMS;

export type ModelKind = 'file' | 'directory';

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

export function checkAnnotationKey(key: string): string | undefined {
  if (utf8ByteLength(key) > LIMITS.annotationKeyBytes) return `is longer than ${LIMITS.annotationKeyBytes} bytes`;
  if (!ANNOTATION_KEY.test(key)) return 'must start with a letter or digit and use only A-Z a-z 0-9 . _ : / -';
  return undefined;
}

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
 * Strictly decodes and validates a manifest. Call only on payload bytes whose signature by a
 * trusted key has been checked (SPEC section 3).
 *
 * @throws MsSignError MALFORMED_SIGNATURE_FILE, UNSUPPORTED_FORMAT or UNSAFE_PATH
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
  const read: FieldReader = { fail, context: 'manifest' };
  const body = expectMap(read, root, 'manifest', [
    'version', 'kind', 'subject', 'hash', 'shardSize', 'files', 'created', 'expires', 'ignore', 'annotations',
  ]);
  const version = expectUint(read, body.get('version'), 'version');
  if (version !== MANIFEST_VERSION) {
    throw new MsSignError('UNSUPPORTED_FORMAT', `manifest version ${version} is not supported (this ms-sign reads version ${MANIFEST_VERSION})`, { path: sourcePath });
  }
  const kind = expectText(read, body.get('kind'), 'kind', 16);
  if (kind !== 'file' && kind !== 'directory') return fail(`kind: expected "file" or "directory", got ${JSON.stringify(kind)}`);

  const subjectMap = expectMap(read, body.get('subject'), 'subject', ['name', 'version']);
  const name = expectText(read, subjectMap.get('name'), 'subject.name', LIMITS.nameBytes);
  const nameProblem = checkLabel(name, LIMITS.nameBytes);
  if (nameProblem) fail(`subject.name ${nameProblem}`);
  const subject: { name: string; version?: string } = { name };
  if (subjectMap.has('version')) {
    const v = expectText(read, subjectMap.get('version'), 'subject.version', LIMITS.versionBytes);
    const versionProblem = checkLabel(v, LIMITS.versionBytes);
    if (versionProblem) fail(`subject.version ${versionProblem}`);
    subject.version = v;
  }

  const hash = expectText(read, body.get('hash'), 'hash', 16);
  if (!Object.hasOwn(HASH_ALGORITHMS, hash)) fail(`hash: unsupported algorithm ${JSON.stringify(hash)}`);
  const hashAlgorithm = hash as HashAlgorithm;
  const digestBytes = HASH_ALGORITHMS[hashAlgorithm];

  const shardSize = expectUint(read, body.get('shardSize'), 'shardSize');
  if (!isValidShardSize(shardSize)) fail(`shardSize: expected a power of two from ${MIN_SHARD_SIZE} to ${MAX_SHARD_SIZE}`);

  const list = expectArray(read, body.get('files'), 'files', LIMITS.files);
  if (list.length === 0) fail('files: the manifest covers no file');
  if (kind === 'file' && list.length !== 1) fail('files: a single-file manifest must list exactly one file');
  let totalShards = 0;
  const files: ManifestFile[] = list.map((item, i) => {
    const entry = expectMap(read, item, `files[${i}]`, ['path', 'size', 'digest', 'shards']);
    const path = expectText(read, entry.get('path'), `files[${i}].path`, LIMITS.pathBytes);
    const unsafe = checkModelPath(path) ?? (kind === 'file' && path.includes('/') ? 'a single-file model path has no "/"' : undefined);
    if (unsafe) throw new MsSignError('UNSAFE_PATH', `manifest lists an unsafe path ${JSON.stringify(path)}: ${unsafe}`, { path: sourcePath });
    const size = expectUint(read, entry.get('size'), `files[${i}].size`);
    const shards = shardCount(size, shardSize);
    totalShards += shards;
    if (totalShards > LIMITS.shards) fail(`files: more than ${LIMITS.shards} shard digests`);
    let digests: Uint8Array[];
    if (shards === 1) {
      if (entry.has('shards')) fail(`files[${i}]: a file of one shard has "digest", not "shards"`);
      digests = [expectBytes(read, entry.get('digest'), `files[${i}].digest`, digestBytes)];
    } else {
      if (entry.has('digest')) fail(`files[${i}]: a file of several shards has "shards", not "digest"`);
      const shardList = expectArray(read, entry.get('shards'), `files[${i}].shards`, LIMITS.shards);
      if (shardList.length !== shards) fail(`files[${i}].shards: expected ${shards} digests for ${size} bytes, got ${shardList.length}`);
      digests = shardList.map((d, j) => expectBytes(read, d, `files[${i}].shards[${j}]`, digestBytes));
    }
    return { path, size, digests };
  });
  for (let i = 1; i < files.length; i++) {
    if (compareUtf8(files[i - 1]!.path, files[i]!.path) >= 0) {
      throw new MsSignError('UNSAFE_PATH', `manifest paths are not sorted and unique at ${JSON.stringify(files[i]!.path)}`, { path: sourcePath });
    }
  }
  const collision = findPathCollision(files.map((f) => f.path));
  if (collision) {
    throw new MsSignError('UNSAFE_PATH', `manifest paths ${JSON.stringify(collision[0])} and ${JSON.stringify(collision[1])} collide ignoring case`, { path: sourcePath });
  }

  const created = expectUint(read, body.get('created'), 'created');
  // Later times cannot be written as a date: refused here rather than failing when reported.
  if (created > LIMITS.latestTime) fail(`created: later than ${LIMITS.latestTime} (9999-12-31T23:59:59Z)`);
  let expires: number | undefined;
  if (body.has('expires')) {
    expires = expectUint(read, body.get('expires'), 'expires');
    if (expires <= created) fail('expires: must be later than created');
    if (expires > LIMITS.latestTime) fail(`expires: later than ${LIMITS.latestTime} (9999-12-31T23:59:59Z)`);
  }

  const ignoreList = expectArray(read, body.get('ignore'), 'ignore', LIMITS.ignorePatterns);
  const ignore = ignoreList.map((p, i) => {
    const pattern = expectText(read, p, `ignore[${i}]`, LIMITS.globBytes);
    const why = checkGlob(pattern);
    if (why) fail(`ignore[${i}]: ${why}`);
    return pattern;
  });
  if (kind === 'file' && ignore.length > 0) fail('ignore: a single-file manifest has no ignore patterns');

  const annotationMap = body.get('annotations');
  if (!(annotationMap instanceof Map)) return fail('annotations: expected a map');
  if (annotationMap.size > LIMITS.annotations) fail(`annotations: more than ${LIMITS.annotations}`);
  const annotations: Record<string, string> = Object.create(null);
  for (const [key, value] of annotationMap) {
    const keyProblem = checkAnnotationKey(key);
    if (keyProblem) fail(`annotations: key ${JSON.stringify(key)} ${keyProblem}`);
    const text = expectText(read, value, `annotations.${key}`, LIMITS.annotationValueBytes);
    if (/\p{Cc}/u.test(text)) fail(`annotations.${key}: contains a control character`);
    annotations[key] = text;
  }

  const manifest: Manifest = {
    version: MANIFEST_VERSION,
    kind,
    subject,
    hashAlgorithm,
    shardSize,
    files,
    created,
    ignore,
    annotations,
    ...(expires === undefined ? {} : { expires }),
  };
  return manifest;
}
