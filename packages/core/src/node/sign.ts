import { basename, relative, resolve, sep } from 'node:path';
import type { SecretKey } from '../crypto/keys.js';
import { MsSignError } from '../errors.js';
import { decodeEnvelope } from '../format/envelope.js';
import { checkGlob, compileGlob, escapeGlob } from '../format/glob.js';
import { checkAnnotationKey, checkLabel, decodeManifest, isValidShardSize, MANIFEST_VERSION, type HashAlgorithm, type Manifest } from '../format/manifest.js';
import { appendSignature, createSignatureFile } from '../format/signature-file.js';
import { LIMITS } from '../limits.js';
import { compareModel, hashModelFiles, type HashingOptions } from './contents.js';
import { DEFAULT_SHARD_SIZE } from './hash/tuning.js';
import { realSignaturePath } from './signature-path.js';
import { resolveModel, walkModel } from './walk.js';

export interface SignModelOptions extends HashingOptions {
  /** One or more secret keys; each adds a signature over the same manifest. */
  readonly keys: readonly SecretKey[];
  /** Where the signature file will be written: left out of the model if it lies inside it. */
  readonly signaturePath: string;
  /** Subject name; default: the model's file or directory name. */
  readonly name?: string;
  readonly version?: string;
  readonly annotations?: Readonly<Record<string, string>>;
  /** Globs of files and directories to leave out; recorded in the manifest and applied on verify. */
  readonly ignore?: readonly string[];
  readonly hashAlgorithm?: HashAlgorithm;
  readonly shardSize?: number;
  /** Unix seconds. */
  readonly expires?: number;
  /** Unix seconds; default: now. */
  readonly now?: number;
}

export interface SignedModel {
  readonly manifest: Manifest;
  /** The bytes of the signature file, for the caller to write (atomically). */
  readonly signatureFile: Uint8Array;
}

/**
 * Hashes a model file or directory and signs the manifest.
 *
 * @example
 * ```ts
 * import { signModel, generateSecretKey, writeFileAtomic } from '@ms-sign/core';
 * const key = generateSecretKey();
 * const { signatureFile } = await signModel('model.ms', { keys: [key], signaturePath: 'model.ms.sig' });
 * writeFileAtomic('model.ms.sig', signatureFile);
 * ```
 */
export async function signModel(modelPath: string, options: SignModelOptions): Promise<SignedModel> {
  if (options.keys.length === 0) throw new MsSignError('USAGE', 'no secret key given');
  const hashAlgorithm = options.hashAlgorithm ?? 'sha256';
  const shardSize = options.shardSize ?? DEFAULT_SHARD_SIZE;
  if (!isValidShardSize(shardSize)) throw new MsSignError('USAGE', `shard size must be a power of two from 64 KiB to 4 GiB, got ${shardSize}`);
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (options.expires !== undefined && options.expires <= now) throw new MsSignError('USAGE', 'the expiry must be in the future');
  // What ms-sign signs, it must verify: no time a date cannot write (LIMITS.latestTime).
  for (const [what, time] of [['creation time', now], ['expiry', options.expires]] as const) {
    if (time !== undefined && (!Number.isSafeInteger(time) || time < 0 || time > LIMITS.latestTime)) {
      throw new MsSignError('USAGE', `the ${what} must be a whole number of seconds from 1970 to 9999-12-31T23:59:59Z, got ${time}`);
    }
  }
  const model = resolveModel(modelPath);
  const uniqueIgnore = recordedIgnorePatterns(options.ignore ?? [], model, options.signaturePath);

  const walk = walkModel(modelPath, { ignore: uniqueIgnore.map(compileGlob), withStats: true });
  if (walk.problems.length > 0) {
    const first = walk.problems[0]!;
    const more = walk.problems.length > 1 ? ` (and ${walk.problems.length - 1} more)` : '';
    throw new MsSignError(first.code, `cannot sign ${modelPath}: ${first.message}${more}`, { path: first.path });
  }
  if (walk.files.length === 0) throw new MsSignError('USAGE', `${modelPath} holds no file to sign`);

  const name = options.name ?? basename(resolve(modelPath));
  const nameProblem = checkLabel(name, LIMITS.nameBytes);
  if (nameProblem) throw new MsSignError('USAGE', `model name ${nameProblem}`);
  if (options.version !== undefined) {
    const versionProblem = checkLabel(options.version, LIMITS.versionBytes);
    if (versionProblem) throw new MsSignError('USAGE', `model version ${versionProblem}`);
  }
  const annotations: Record<string, string> = Object.create(null);
  for (const [key, value] of Object.entries(options.annotations ?? {})) {
    const keyProblem = checkAnnotationKey(key);
    if (keyProblem) throw new MsSignError('USAGE', `annotation key ${JSON.stringify(key)} ${keyProblem}`);
    if (/\p{Cc}/u.test(value) || Buffer.byteLength(value) > LIMITS.annotationValueBytes) {
      throw new MsSignError('USAGE', `annotation ${key}: value must be at most ${LIMITS.annotationValueBytes} bytes without control characters`);
    }
    annotations[key] = value;
  }
  if (Object.keys(annotations).length > LIMITS.annotations) throw new MsSignError('LIMIT_EXCEEDED', `at most ${LIMITS.annotations} annotations`);

  const files = await hashModelFiles(walk, hashAlgorithm, shardSize, options);
  const manifest: Manifest = {
    version: MANIFEST_VERSION,
    kind: walk.kind,
    subject: { name, ...(options.version === undefined ? {} : { version: options.version }) },
    hashAlgorithm,
    shardSize,
    files,
    created: now,
    ignore: walk.kind === 'file' ? [] : uniqueIgnore,
    annotations,
    ...(options.expires === undefined ? {} : { expires: options.expires }),
  };
  return { manifest, signatureFile: createSignatureFile(manifest, options.keys) };
}

export interface CosignOptions extends HashingOptions {
  readonly key: SecretKey;
  readonly signaturePath: string;
  /**
   * The ignore patterns the co-signer vouches for, as given to sign: co-signing refuses unless the
   * manifest records exactly these (IGNORE_MISMATCH). Undefined accepts the recorded ones as they are.
   */
  readonly ignore?: readonly string[];
}

/**
 * The ignore patterns a manifest records for `patterns`: each checked, the signature file's own
 * place added when it lies inside a directory model, duplicates dropped.
 */
function recordedIgnorePatterns(patterns: readonly string[], model: ReturnType<typeof resolveModel>, signaturePath: string): string[] {
  const ignore = [...patterns];
  for (const pattern of ignore) {
    const why = checkGlob(pattern);
    if (why) throw new MsSignError('USAGE', `ignore pattern ${JSON.stringify(pattern)}: ${why}`);
  }
  const realSig = realSignaturePath(signaturePath);
  if (model.kind === 'directory' && realSig !== undefined) {
    const inside = relative(model.root, realSig);
    // A signature file inside the model directory is not part of the model: record that.
    if (inside !== '' && !inside.startsWith('..') && !inside.startsWith(sep)) {
      const pattern = escapeGlob(inside.split(sep).join('/'));
      // Recorded in the manifest, it must be a valid glob (e.g. at most LIMITS.globBytes long).
      const why = checkGlob(pattern);
      if (why) throw new MsSignError('USAGE', `cannot record the signature file's place inside the model (${why}); write it outside the model`);
      ignore.push(pattern);
    }
  }
  if (model.kind === 'file' && ignore.length > 0) throw new MsSignError('USAGE', 'ignore patterns apply to directory models only');
  if (ignore.length > LIMITS.ignorePatterns) throw new MsSignError('LIMIT_EXCEEDED', `at most ${LIMITS.ignorePatterns} ignore patterns`);
  return [...new Set(ignore)];
}

/**
 * Co-signing (`sign --append`): re-hashes the model, checks it matches the existing signature
 * file exactly, and adds `key`'s signature over the same payload. The existing signatures are
 * not trusted here; verify checks them against its policy.
 */
export async function cosignModel(modelPath: string, existing: Uint8Array, options: CosignOptions): Promise<SignedModel> {
  const envelope = decodeEnvelope(existing, options.signaturePath);
  const manifest = decodeManifest(envelope.payload, options.signaturePath);
  if (options.ignore !== undefined) {
    // A co-signer vouches for every file the manifest leaves out: one compromised publisher must
    // not get a file past a threshold-2 rule through patterns the other never saw.
    const vouched = new Set(recordedIgnorePatterns(options.ignore, resolveModel(modelPath), options.signaturePath));
    const recorded = new Set(manifest.ignore);
    if (vouched.size !== recorded.size || [...recorded].some((p) => !vouched.has(p))) {
      const list = (patterns: Iterable<string>) => [...patterns].map((p) => JSON.stringify(p)).join(', ') || 'none';
      throw new MsSignError(
        'IGNORE_MISMATCH',
        `will not co-sign: ${options.signaturePath} covers ${manifest.files.length} file${manifest.files.length === 1 ? "" : "s"} and leaves out files matching ${list(recorded)}, but the co-signer gave ${list(vouched)}`,
        { path: options.signaturePath },
      );
    }
  }
  const realSig = realSignaturePath(options.signaturePath);
  const walk = walkModel(modelPath, { ignore: manifest.ignore.map(compileGlob), ...(realSig ? { exclude: new Set([realSig]) } : {}) });
  const { problems } = await compareModel(manifest, walk, options);
  if (problems.length > 0) {
    const first = problems[0]!;
    throw new MsSignError(first.code, `will not co-sign: the model differs from what ${options.signaturePath} covers: ${first.message}`, { path: first.path });
  }
  return { manifest, signatureFile: appendSignature(envelope, options.key) };
}
