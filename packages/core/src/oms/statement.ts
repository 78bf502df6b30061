import { sha256 } from '@noble/hashes/sha2.js';
import { fromHex, toHex } from '../bytes.js';
import { MsSignError } from '../errors.js';
import { checkModelPath } from '../format/paths.js';
import { LIMITS } from '../limits.js';
import { asObject, parseJsonBytes } from './json.js';

/**
 * The in-toto statement inside an OMS / model_signing bundle, for every version model_signing has
 * written: the `signature/v1.0` predicate (model_signing 0.3 and later, the OMS spec) with one
 * subject, the root digest, and a list of resources; and the `Digests/v0.1` predicate of
 * model_signing 0.2, with one subject per file. Read only after the signature verified.
 */
export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const PREDICATE_V1 = 'https://model_signing/signature/v1.0';
export const PREDICATE_V01 = 'https://model_signing/Digests/v0.1';

/** Which writer's layout the statement has, as verify --json reports it. */
export type OmsFlavour = 'model_signing-0.2' | 'model_signing-0.3-1.0' | 'model_signing-1.1';

/** Hash types ms-sign's hashing engine computes for OMS resources. */
export type OmsHashType = 'sha256';

export interface OmsResource {
  readonly name: string;
  readonly algorithm: string;
  readonly digest: string;
}

/** One file the statement covers, with its digests by shard index (files mode: one). */
export interface OmsFile {
  /** Normalised model-relative path; "." for a single-file model. */
  readonly path: string;
  /** Shards mode: the file size the shards imply. Files mode signs no size. */
  readonly size: number | undefined;
  readonly digests: readonly Uint8Array[];
}

export interface OmsStatement {
  readonly predicateType: string;
  readonly flavour: OmsFlavour;
  readonly subjectName: string | null;
  /** Hex SHA-256 over the resource digests in listed order (v1.0 only). */
  readonly rootDigest: string | null;
  readonly method: 'files' | 'shards';
  readonly hashType: OmsHashType;
  /** Shards mode only. */
  readonly shardSize: number | undefined;
  readonly allowSymlinks: boolean;
  /** Recorded paths not covered (model_signing 1.1 and later), normalised, relative to the model root. */
  readonly ignorePaths: readonly string[];
  /** True when the statement covers a single file (named "."). */
  readonly singleFile: boolean;
  /** Files in the order of their first resource. */
  readonly files: readonly OmsFile[];
  /** The resources as listed, for inspect. */
  readonly resources: readonly OmsResource[];
}

const MAX_DEPTH = 16;

/** Reads predicateType before the signature is checked: only to choose which message to check. */
export function peekPredicateType(payload: Uint8Array): string | undefined {
  const unreadable = (): never => {
    throw new MsSignError('MALFORMED_SIGNATURE_FILE', 'unreadable statement');
  };
  try {
    const value = asObject(parseJsonBytes(payload, MAX_DEPTH, unreadable))?.predicateType;
    return typeof value === 'string' ? value : undefined;
  } catch (error) {
    if (error instanceof MsSignError) return undefined;
    throw error;
  }
}

export function parseOmsStatement(payload: Uint8Array, source: string): OmsStatement {
  const fail = (message: string, code: 'MALFORMED_SIGNATURE_FILE' | 'UNSUPPORTED_FORMAT' | 'UNSAFE_PATH' = 'MALFORMED_SIGNATURE_FILE'): never => {
    throw new MsSignError(code, `${source}: signed statement: ${message}`, { path: source });
  };
  const parsed = parseJsonBytes(payload, MAX_DEPTH, fail);
  const statement = fields(parsed, 'statement', ['_type', 'subject', 'predicateType', 'predicate'], fail);
  if (statement._type !== STATEMENT_TYPE) fail(`_type must be ${STATEMENT_TYPE}`, 'UNSUPPORTED_FORMAT');
  const subjects = Array.isArray(statement.subject) ? statement.subject : fail('subject: expected an array');
  if (statement.predicateType === PREDICATE_V1) return parseV1(statement, subjects, fail);
  if (statement.predicateType === PREDICATE_V01) return parseV01(subjects, fail);
  return fail(`predicate type ${JSON.stringify(statement.predicateType)} is not a model signature`, 'UNSUPPORTED_FORMAT');
}

type Fail = (message: string, code?: 'MALFORMED_SIGNATURE_FILE' | 'UNSUPPORTED_FORMAT' | 'UNSAFE_PATH') => never;

function parseV1(statement: Record<string, unknown>, subjects: unknown[], fail: Fail): OmsStatement {
  if (subjects.length !== 1) fail(`expected exactly one subject, found ${subjects.length}`);
  const subject = fields(subjects[0], 'subject[0]', ['name', 'digest', 'annotations'], fail);
  const digest = fields(subject.digest, 'subject[0].digest', ['sha256'], fail);
  const root = typeof digest.sha256 === 'string' && /^[0-9a-f]{64}$/.test(digest.sha256) ? digest.sha256 : fail('subject[0].digest.sha256: expected 64 lowercase hex digits');
  const subjectName = typeof subject.name === 'string' ? subject.name : null;

  const predicate = fields(statement.predicate, 'predicate', ['serialization', 'resources'], fail);
  const ser = fields(predicate.serialization, 'predicate.serialization', ['method', 'hash_type', 'allow_symlinks', 'shard_size', 'ignore_paths'], fail);
  const method = ser.method === 'files' || ser.method === 'shards' ? ser.method : fail(`serialization.method ${JSON.stringify(ser.method)} is not files or shards`, 'UNSUPPORTED_FORMAT');
  if (ser.hash_type !== 'sha256') {
    fail(`serialization.hash_type ${JSON.stringify(ser.hash_type)} is not supported (only sha256)`, 'UNSUPPORTED_FORMAT');
  }
  const hashType: OmsHashType = 'sha256';
  if (typeof ser.allow_symlinks !== 'boolean') fail('serialization.allow_symlinks: expected true or false');
  let shardSize: number | undefined;
  if (method === 'shards') {
    // Python writes shard_size as a float (8.0); JSON.parse gives the same number either way.
    const n = ser.shard_size;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) fail('serialization.shard_size: expected a positive integer');
    shardSize = n as number;
  } else if (ser.shard_size !== undefined) fail('serialization.shard_size is only valid with method shards');
  let ignorePaths: string[] = [];
  if (ser.ignore_paths !== undefined) {
    const list = Array.isArray(ser.ignore_paths) ? ser.ignore_paths : fail('serialization.ignore_paths: expected an array');
    if (list.length > LIMITS.ignorePatterns) fail(`serialization.ignore_paths: more than ${LIMITS.ignorePatterns} entries`, 'UNSAFE_PATH');
    ignorePaths = list.map((p, i) => {
      const path = typeof p === 'string' ? normalisePath(p) : fail(`serialization.ignore_paths[${i}]: expected a string`);
      // "." would ignore the whole model; ".." and absolute paths point outside it.
      const why = path === '.' ? 'it names the whole model' : checkModelPath(path);
      return why === undefined ? path : fail(`ignore path ${JSON.stringify(p)} is refused: ${why}`, 'UNSAFE_PATH');
    });
  }

  const list = Array.isArray(predicate.resources) ? predicate.resources : fail('predicate.resources: expected an array');
  if (list.length === 0) fail('predicate.resources is empty: the statement covers no file');
  if (list.length > (method === 'files' ? LIMITS.files : LIMITS.shards)) fail('predicate.resources: too many entries');
  const resources: OmsResource[] = [];
  const digests: Uint8Array[] = [];
  for (let i = 0; i < list.length; i++) {
    // Resources may carry extra fields (the OMS schema allows them); only these three are read.
    const r = asObject(list[i]) ?? fail(`predicate.resources[${i}]: expected an object`);
    if (typeof r.name !== 'string' || typeof r.algorithm !== 'string' || typeof r.digest !== 'string') {
      fail(`predicate.resources[${i}]: expected string name, algorithm and digest`);
    }
    const d = /^[0-9a-f]{64}$/.test(r.digest as string) ? fromHex(r.digest as string)! : fail(`predicate.resources[${i}].digest: expected 64 lowercase hex digits`);
    const expected = method === 'files' ? [hashType] : [hashType, `${hashType}-sharded-${shardSize}`];
    if (!expected.includes(r.algorithm as string)) fail(`predicate.resources[${i}].algorithm ${JSON.stringify(r.algorithm)} does not match serialization ${method}/${hashType}`);
    resources.push({ name: r.name as string, algorithm: r.algorithm as string, digest: r.digest as string });
    digests.push(d);
  }
  // The root is over the resources in the order listed, as model_signing computes it: never re-sort.
  if (toHex(rootOfDigests(digests)) !== root) fail('the subject digest is not the digest of the listed resources (inconsistent manifest)');
  const files = method === 'files' ? filesOf(resources, digests, fail) : shardsOf(resources, digests, shardSize!, fail);
  return {
    predicateType: PREDICATE_V1,
    flavour: ser.ignore_paths === undefined ? 'model_signing-0.3-1.0' : 'model_signing-1.1',
    subjectName,
    rootDigest: root,
    method,
    hashType,
    shardSize,
    allowSymlinks: ser.allow_symlinks as boolean,
    ignorePaths,
    singleFile: files.length === 1 && files[0]!.path === '.',
    files,
    resources,
  };
}

/** model_signing 0.2: one subject per file, SHA-256 of its whole content. */
function parseV01(subjects: unknown[], fail: Fail): OmsStatement {
  if (subjects.length === 0) fail('the statement covers no file');
  if (subjects.length > LIMITS.files) fail('subject: too many entries');
  const resources: OmsResource[] = [];
  const digests: Uint8Array[] = [];
  subjects.forEach((s, i) => {
    const subject = fields(s, `subject[${i}]`, ['name', 'digest', 'annotations'], fail);
    const digest = fields(subject.digest, `subject[${i}].digest`, ['sha256'], fail);
    if (typeof subject.name !== 'string') fail(`subject[${i}].name: expected a string`);
    const d = typeof digest.sha256 === 'string' && /^[0-9a-f]{64}$/.test(digest.sha256) ? fromHex(digest.sha256)! : fail(`subject[${i}].digest.sha256: expected 64 lowercase hex digits`);
    const annotations = subject.annotations === undefined ? {} : fields(subject.annotations, `subject[${i}].annotations`, ['actual_hash_algorithm'], fail);
    if (annotations.actual_hash_algorithm !== undefined && annotations.actual_hash_algorithm !== 'file-sha256') {
      fail(`subject[${i}]: hash ${JSON.stringify(annotations.actual_hash_algorithm)} is not supported`, 'UNSUPPORTED_FORMAT');
    }
    resources.push({ name: subject.name as string, algorithm: 'sha256', digest: digest.sha256 as string });
    digests.push(d);
  });
  const files = filesOf(resources, digests, fail);
  return {
    predicateType: PREDICATE_V01,
    flavour: 'model_signing-0.2',
    subjectName: null,
    rootDigest: null,
    method: 'files',
    hashType: 'sha256',
    shardSize: undefined,
    allowSymlinks: false,
    ignorePaths: [],
    singleFile: files.length === 1 && files[0]!.path === '.',
    files,
    resources,
  };
}

/** SHA-256 over the concatenated raw digests: the OMS root digest (subject of the statement). */
export function rootOfDigests(digests: readonly Uint8Array[]): Uint8Array {
  const h = sha256.create();
  for (const d of digests) h.update(d);
  return h.digest();
}

/**
 * Resource names are POSIX paths relative to the model root, read as Python's PurePosixPath
 * does ("./a", "a//b" and "a/" all mean "a"). Returns "." for the single-file name.
 */
export function normalisePath(name: string): string {
  // An absolute name stays absolute, and is refused by the path rules.
  if (name.startsWith('/')) return name;
  const joined = name.split('/').filter((s) => s !== '.' && s !== '').join('/');
  return joined === '' ? '.' : joined;
}

function checkName(name: string, fail: Fail): string {
  if (name === '') fail('a resource has an empty name', 'UNSAFE_PATH');
  const path = normalisePath(name);
  if (path === '.') return path;
  const why = checkModelPath(path);
  return why === undefined ? path : fail(`resource name ${JSON.stringify(name)} is refused: ${why}`, 'UNSAFE_PATH');
}

function filesOf(resources: readonly OmsResource[], digests: readonly Uint8Array[], fail: Fail): OmsFile[] {
  const seen = new Set<string>();
  const files: OmsFile[] = [];
  resources.forEach((r, i) => {
    const path = checkName(r.name, fail);
    // model_signing silently keeps the last of two equal names while its root counts both.
    if (seen.has(path)) fail(`resource ${JSON.stringify(path)} is listed twice`, 'UNSAFE_PATH');
    seen.add(path);
    files.push({ path, size: undefined, digests: [digests[i]!] });
  });
  if (seen.has('.') && files.length > 1) fail('"." (a single-file model) cannot be listed with other files', 'UNSAFE_PATH');
  return files;
}

/**
 * Shards mode: names are "path:start:end" (start inclusive, end exclusive). Each file's shards must
 * cut it from 0 in steps of shard_size with nothing missing or repeated, so that the hashing engine
 * recomputes exactly them; the last shard's end is the file's size.
 */
function shardsOf(resources: readonly OmsResource[], digests: readonly Uint8Array[], shardSize: number, fail: Fail): OmsFile[] {
  const byPath = new Map<string, { start: number; end: number; digest: Uint8Array }[]>();
  resources.forEach((r, i) => {
    // The last two colon-separated fields are the offsets: a path may itself contain ":".
    const m = /^([\s\S]+):(\d{1,16}):(\d{1,16})$/.exec(r.name) ?? fail(`shard name ${JSON.stringify(r.name)} is not "path:start:end"`);
    const path = checkName(m[1]!, fail);
    const start = Number(m[2]);
    const end = Number(m[3]);
    if (!Number.isSafeInteger(end) || end <= start) fail(`shard ${JSON.stringify(r.name)} is empty or reversed`);
    let shards = byPath.get(path);
    if (!shards) byPath.set(path, (shards = []));
    shards.push({ start, end, digest: digests[i]! });
  });
  const files: OmsFile[] = [];
  for (const [path, shards] of byPath) {
    const sorted = [...shards].sort((a, b) => a.start - b.start);
    const size = sorted[sorted.length - 1]!.end;
    sorted.forEach((s, k) => {
      if (s.start !== k * shardSize || s.end !== Math.min(s.start + shardSize, size)) {
        fail(`shards of ${JSON.stringify(path)} do not cut it into consecutive pieces of ${shardSize} bytes`);
      }
    });
    files.push({ path, size, digests: sorted.map((s) => s.digest) });
  }
  if (byPath.has('.') && files.length > 1) fail('"." (a single-file model) cannot be listed with other files', 'UNSAFE_PATH');
  return files;
}

function fields(value: unknown, field: string, allowed: readonly string[], fail: Fail): Record<string, unknown> {
  const o = asObject(value) ?? fail(`${field}: expected an object`);
  for (const key of Object.keys(o)) {
    if (!allowed.includes(key)) fail(`${field}: unknown field ${JSON.stringify(key)}`);
  }
  return o;
}

/**
 * Returns why `path` cannot be an ignore path given by a user, or undefined: it must name a file or
 * directory inside the model (relative to its root, no ".."), and not the whole model.
 */
export function checkOmsIgnorePath(path: string): string | undefined {
  const normal = normalisePath(path);
  return normal === '.' ? 'it names the whole model' : checkModelPath(normal);
}
