import { basename, relative, resolve, sep } from 'node:path';
import type { Signer } from '../crypto/signer.js';
import { MsSignError, type Problem } from '../errors.js';
import { DEFAULT_SCAN_MODE } from '../scan/policy.js';
import { judgeScan, summarizeScan, type ScanMode, type ScanSummary } from '../scan/scan.js';
import type { FileScanResult } from '../scan/types.js';
import { scanWalkedFiles } from './scan.js';
import { checkGlob, compileGlob, escapeGlob } from '../format/glob.js';
import { checkManifest, isValidShardSize, MANIFEST_VERSION, HASH_ALGORITHMS, shardCount, type HashAlgorithm, type Manifest, type ManifestFile } from '../format/manifest.js';
import { createSignatureFile } from '../format/signature-file.js';
import { LIMITS } from '../limits.js';
import type { ExpectedContents, SignedStatement } from '../verify/statement.js';
import { signatureFormatOf } from '../verify/verify-signature-file.js';
import { compareContents, hashModelFiles, ignoredBy, type HashingOptions } from './contents.js';
import { DEFAULT_SHARD_SIZE } from './hash/tuning.js';
import { realSignaturePath } from './signature-path.js';
import { resolveModel, walkModel, type ModelWalk } from './walk.js';

/** Options of signModel. */
export interface SignModelOptions extends HashingOptions {
  /**
   * One or more signers (a file key: `secretKeySigner`); each adds a signature over the same
   * manifest, checked with the signer's public key before the signature file is returned.
   */
  readonly signers: readonly Signer[];
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
  /** The scan before hashing (docs/scan.md); default no-unsafe. */
  readonly scan?: ScanMode;
  /** Sign even if the scan fails its mode; the findings are still returned. */
  readonly allowUnsafe?: boolean;
}

/** What sign's scan found: the mode, the files that are not clean, and the problems if it failed. */
export interface SignScanReport {
  readonly mode: ScanMode;
  readonly summary: ScanSummary;
  readonly files: readonly FileScanResult[];
  /** Empty when the model passes the mode. */
  readonly problems: readonly Problem[];
}

/** A signed model: the manifest and the signature file bytes. */
export interface SignedModel {
  readonly manifest: Manifest;
  /** The bytes of the signature file, for the caller to write (atomically). */
  readonly signatureFile: Uint8Array;
  /** Absent when the scan was off. */
  readonly scan?: SignScanReport;
}

/**
 * Thrown by signModel when the scan finds the model unsafe or malformed (or, in clean mode, of
 * unknown format) and signing anyway was not asked for: nothing is signed. `scan` lists every
 * finding; the code is the first aggregate (SCAN_UNSAFE, SCAN_MALFORMED, SCAN_UNKNOWN_FORMAT).
 */
export class SignScanRefusal extends MsSignError {
  constructor(readonly scan: SignScanReport) {
    const aggregate = scan.problems.find((p) => p.code === 'SCAN_UNSAFE' || p.code === 'SCAN_MALFORMED' || p.code === 'SCAN_UNKNOWN_FORMAT') ?? scan.problems[0]!;
    super(aggregate.code, `refusing to sign: ${aggregate.message}`);
  }
}

/**
 * Hashes a model file or directory and signs the manifest.
 *
 * @example
 * ```ts
 * import { generateSecretKey, secretKeySigner } from '@ms-sign/core';
 * import { signModel, writeFileAtomic } from '@ms-sign/core/node';
 * const signer = secretKeySigner(generateSecretKey());
 * const { signatureFile } = await signModel('model.ms', { signers: [signer], signaturePath: 'model.ms.sig' });
 * writeFileAtomic('model.ms.sig', signatureFile);
 * ```
 */
export async function signModel(modelPath: string, options: SignModelOptions): Promise<SignedModel> {
  if (options.signers.length === 0) throw new MsSignError('USAGE', 'no signer given');
  const hashAlgorithm = options.hashAlgorithm ?? 'sha256';
  const shardSize = options.shardSize ?? DEFAULT_SHARD_SIZE;
  if (!isValidShardSize(shardSize)) throw new MsSignError('USAGE', `shard size must be a power of two from 64 KiB to 4 GiB, got ${shardSize}`);
  const ignore = [...(options.ignore ?? [])];
  for (const pattern of ignore) {
    const why = checkGlob(pattern);
    if (why) throw new MsSignError('USAGE', `ignore pattern ${JSON.stringify(pattern)}: ${why}`);
  }
  const now = options.now ?? Math.floor(Date.now() / 1000);

  const realSig = realSignaturePath(options.signaturePath);
  const model = resolveModel(modelPath);
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
  const uniqueIgnore = [...new Set(ignore)];

  const walk = walkModel(modelPath, { ignore: uniqueIgnore.map(compileGlob), withStats: true });
  if (walk.problems.length > 0) {
    const first = walk.problems[0]!;
    const more = walk.problems.length > 1 ? ` (and ${walk.problems.length - 1} more)` : '';
    throw new MsSignError(first.code, `cannot sign ${modelPath}: ${first.message}${more}`, { path: first.path });
  }
  if (walk.files.length === 0) throw new MsSignError('USAGE', `${modelPath} holds no file to sign`);

  // Scan before hashing, through descriptors checked against the walk (hashing checks the same):
  // a publisher's pipeline must not sign a model that runs code or breaks its loader.
  const mode = options.scan ?? DEFAULT_SCAN_MODE;
  let scan: SignScanReport | undefined;
  if (mode !== 'off') {
    const files = scanWalkedFiles(walk.files);
    const judged = judgeScan(files, { mode });
    scan = { mode, summary: summarizeScan(files), files: files.filter((f) => f.verdict !== 'clean'), problems: judged.problems };
    if (!judged.ok && options.allowUnsafe !== true) throw new SignScanRefusal(scan);
  }

  const annotations: Record<string, string> = Object.create(null);
  Object.assign(annotations, options.annotations ?? {});
  const draft: Manifest = {
    version: MANIFEST_VERSION,
    kind: walk.kind,
    subject: { name: options.name ?? basename(resolve(modelPath)), ...(options.version === undefined ? {} : { version: options.version }) },
    hashAlgorithm,
    shardSize,
    files: placeholderFiles(walk, hashAlgorithm, shardSize),
    created: now,
    ignore: walk.kind === 'file' ? [] : uniqueIgnore,
    annotations,
    ...(options.expires === undefined ? {} : { expires: options.expires }),
  };
  // Every manifest rule, before hours of hashing: ms-sign never signs what verify would refuse.
  refuseInvalid(modelPath, draft);
  const manifest: Manifest = { ...draft, files: await hashModelFiles(walk, hashAlgorithm, shardSize, options) };
  refuseInvalid(modelPath, manifest);
  return { manifest, signatureFile: await createSignatureFile(manifest, options.signers), ...(scan === undefined ? {} : { scan }) };
}

/** Options of cosignModel. */
export interface CosignOptions extends HashingOptions {
  readonly signer: Signer;
  readonly signaturePath: string;
}

/**
 * The walked files with all-zero digests of the right count and length, so that checkManifest can
 * judge the manifest before the files are hashed. The digest arrays share one zero buffer and stop
 * growing past LIMITS.shards in total (the check then reports the limit).
 */
function placeholderFiles(walk: ModelWalk, hashAlgorithm: HashAlgorithm, shardSize: number): ManifestFile[] {
  const zero = new Uint8Array(HASH_ALGORITHMS[hashAlgorithm]);
  let budget = LIMITS.shards + 1;
  return walk.files.map((f) => {
    const size = Number(f.stats?.size ?? 0n);
    const count = Math.min(shardCount(size, shardSize), budget);
    budget -= count;
    return { path: f.path, size, digests: new Array<Uint8Array>(count).fill(zero) };
  });
}

/** Throws the manifest's first problem as a signing error: the caller's input is what is wrong. */
function refuseInvalid(modelPath: string, manifest: Manifest): void {
  const problems = checkManifest(manifest);
  if (problems.length === 0) return;
  const first = problems[0]!;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  const code = first.code === 'MALFORMED_SIGNATURE_FILE' || first.code === 'UNSUPPORTED_FORMAT' ? 'USAGE' : first.code;
  throw new MsSignError(code, `cannot sign ${modelPath}: ${first.message}${more}`);
}

/** A co-signed signature file, with what its (unchanged) signed payload claims. */
export interface CosignedModel {
  readonly statement: SignedStatement;
  readonly expected: ExpectedContents;
  /** The bytes of the signature file with the new signature, for the caller to write (atomically). */
  readonly signatureFile: Uint8Array;
}

/**
 * Co-signing (`sign --append`): re-hashes the model, checks it matches what the existing signature
 * file covers exactly, and adds `signer`'s signature over the same payload, in the file's own
 * format. The existing signatures are not trusted here; verify checks them against its policy.
 */
export async function cosignModel(modelPath: string, existing: Uint8Array, options: CosignOptions): Promise<CosignedModel> {
  const format = signatureFormatOf(existing);
  if (format.append === undefined) throw new MsSignError('UNSUPPORTED_FORMAT', `${options.signaturePath} is a ${format.id} signature file, which cannot be co-signed`, { path: options.signaturePath });
  const { statement, expected } = format.describe(existing, options.signaturePath);
  const realSig = realSignaturePath(options.signaturePath);
  const walk = walkModel(modelPath, { ignore: ignoredBy(expected).map(compileGlob), ...(realSig ? { exclude: new Set([realSig]) } : {}) });
  const { problems } = await compareContents(expected, walk, options);
  if (problems.length > 0) {
    const first = problems[0]!;
    throw new MsSignError(first.code, `will not co-sign: the model differs from what ${options.signaturePath} covers: ${first.message}`, { path: first.path });
  }
  return { statement, expected, signatureFile: await format.append(existing, options.signer, options.signaturePath) };
}
