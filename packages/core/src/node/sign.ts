import { basename, relative, resolve, sep } from 'node:path';
import type { SecretKey } from '../crypto/keys.js';
import { MsSignError } from '../errors.js';
import { decodeEnvelope } from '../format/envelope.js';
import { checkGlob, compileGlob, escapeGlob } from '../format/glob.js';
import { anchorIgnorePattern, DEFAULT_IGNORE, type IgnorePattern } from '../format/ignore.js';
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
  /**
   * Files and directories to leave out, in `.gitignore` style (`*.tmp` at any depth, `logs/` a
   * directory, `/x` anchored; see anchorIgnorePattern). Each is recorded in the manifest in its
   * anchored form and applied again on verify; one that matches nothing is refused.
   */
  readonly ignore?: readonly string[];
  /** Leave out `.git/` directories (recorded like any pattern). Default true, as model_signing. */
  readonly ignoreGit?: boolean;
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
  const given = (options.ignore ?? []).map((pattern) => {
    const converted = anchorIgnorePattern(pattern);
    if (typeof converted === 'string') throw new MsSignError('USAGE', `ignore pattern ${JSON.stringify(pattern)}: ${converted}`);
    return converted;
  });
  const ignore = given.map((p) => p.anchored);
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (options.expires !== undefined && options.expires <= now) throw new MsSignError('USAGE', 'the expiry must be in the future');

  const realSig = realSignaturePath(options.signaturePath);
  const model = resolveModel(modelPath);
  if (model.kind === 'directory' && realSig !== undefined) {
    const inside = relative(model.root, realSig);
    // A signature file inside the model directory is not part of the model: record that.
    if (inside !== '' && !inside.startsWith('..') && !inside.startsWith(sep)) {
      const pattern = escapeGlob(inside.split(sep).join('/'));
      // Recorded in the manifest, it must be a valid glob (e.g. at most LIMITS.globBytes long).
      const why = checkGlob(pattern);
      if (why) throw new MsSignError('USAGE', `cannot record the signature file's place inside the model (${why}); write it outside the model with -o`);
      ignore.push(pattern);
    }
  }
  if (model.kind === 'file' && given.length > 0) throw new MsSignError('USAGE', 'ignore patterns apply to directory models only');
  if (model.kind === 'directory' && options.ignoreGit !== false) ignore.push((anchorIgnorePattern(DEFAULT_IGNORE) as IgnorePattern).anchored);
  if (ignore.length > LIMITS.ignorePatterns) throw new MsSignError('LIMIT_EXCEEDED', `at most ${LIMITS.ignorePatterns} ignore patterns`);
  const uniqueIgnore = [...new Set(ignore)];

  const used = new Set<string>();
  const walk = walkModel(modelPath, {
    ignore: uniqueIgnore.map(compileGlob),
    withStats: true,
    onIgnored: (path, matched, isDirectory) => {
      for (const glob of matched) used.add(glob.pattern);
      // v1 globs cannot say "directories only": refuse rather than record a pattern that means more.
      const fileMatch = isDirectory ? undefined : given.find((p) => p.directoryOnly && matched.some((g) => g.pattern === p.anchored));
      if (fileMatch) throw new MsSignError('USAGE', `ignore pattern ${JSON.stringify(fileMatch.given)} is for directories, but ${path} is a file; name the file without the trailing "/"`, { path });
    },
  });
  const unused = given.find((p) => !used.has(p.anchored));
  if (unused !== undefined) {
    throw new MsSignError(
      'USAGE',
      `ignore pattern ${JSON.stringify(unused.given)} (recorded as ${JSON.stringify(unused.anchored)}) matches nothing in ${modelPath} that another pattern does not already leave out; check its spelling or drop it`,
    );
  }
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
}

/**
 * Co-signing (`sign --append`): re-hashes the model, checks it matches the existing signature
 * file exactly, and adds `key`'s signature over the same payload. The existing signatures are
 * not trusted here; verify checks them against its policy.
 */
export async function cosignModel(modelPath: string, existing: Uint8Array, options: CosignOptions): Promise<SignedModel> {
  const envelope = decodeEnvelope(existing, options.signaturePath);
  const manifest = decodeManifest(envelope.payload, options.signaturePath);
  const realSig = realSignaturePath(options.signaturePath);
  const walk = walkModel(modelPath, { ignore: manifest.ignore.map(compileGlob), ...(realSig ? { exclude: new Set([realSig]) } : {}) });
  const { problems } = await compareModel(manifest, walk, options);
  if (problems.length > 0) {
    const first = problems[0]!;
    throw new MsSignError(first.code, `will not co-sign: the model differs from what ${options.signaturePath} covers: ${first.message}`, { path: first.path });
  }
  return { manifest, signatureFile: appendSignature(envelope, options.key) };
}
