import { basename, relative, resolve, sep } from 'node:path';
import type { Signer } from '../crypto/signer.js';
import { MsSignError, type Problem } from '../errors.js';
import { DEFAULT_SCAN_MODE } from '../scan/policy.js';
import { judgeScan, summarizeScan, type ScanMode, type ScanSummary } from '../scan/scan.js';
import type { FileScanResult } from '../scan/types.js';
import { scanWalkedFiles } from './scan.js';
import { checkGlob, compileGlob, escapeGlob } from '../format/glob.js';
import { anchorIgnorePattern, DEFAULT_IGNORE, type IgnorePattern } from '../format/ignore.js';
import { checkManifest, isValidShardSize, MANIFEST_VERSION, HASH_ALGORITHMS, shardCount, type HashAlgorithm, type Manifest, type ManifestFile } from '../format/manifest.js';
import { nodeSha512 } from './crypto.js';
import { createSignatureFile } from '../format/signature-file.js';
import { LIMITS } from '../limits.js';
import { contentsSummary, type ExpectedContents, type SignedStatement } from '../verify/statement.js';
import { signatureFormatOf } from '../verify/verify-signature-file.js';
import { ALL_SIGNATURE_FORMATS } from './formats.js';
import { compareContents, hashModelFiles, ignoredBy, walkFilter, type HashingOptions } from './contents.js';
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
  /** The scan before hashing (docs/scan.md); default no-unsafe. */
  readonly scan?: ScanMode;
  /** Sign even if the scan fails its mode; the findings are still returned. */
  readonly allowUnsafe?: boolean;
  /** Exact `module:qualname` pickle globals the scan allows besides its allow-list (hard-denied ones never count). */
  readonly allowGlobals?: ReadonlySet<string>;
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
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const model = resolveModel(modelPath);
  const { recorded: uniqueIgnore, given } = recordedIgnorePatterns(options.ignore ?? [], model, options.signaturePath, options.ignoreGit !== false);

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

  // Scan before hashing, through descriptors checked against the walk (hashing checks the same):
  // a publisher's pipeline must not sign a model that runs code or breaks its loader.
  const mode = options.scan ?? DEFAULT_SCAN_MODE;
  let scan: SignScanReport | undefined;
  if (mode !== 'off') {
    const files = scanWalkedFiles(walk.files, options.allowGlobals ? { allowGlobals: options.allowGlobals } : {});
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
  return { manifest, signatureFile: await createSignatureFile(manifest, options.signers, nodeSha512), ...(scan === undefined ? {} : { scan }) };
}

/** Options of cosignModel. */
/**
 * The ignore patterns a manifest records for `patterns` (`.gitignore` style): each converted to
 * its anchored v1 form, the signature file's own place added when it lies inside a directory
 * model, `.git/` added unless `ignoreGit` is false, counted against the limit, duplicates dropped.
 * `given` keeps the user's patterns with their anchored forms (sign checks each matches something).
 */
function recordedIgnorePatterns(
  patterns: readonly string[],
  model: ReturnType<typeof resolveModel>,
  signaturePath: string,
  ignoreGit: boolean,
): { recorded: string[]; given: IgnorePattern[] } {
  const given = patterns.map((pattern) => {
    const converted = anchorIgnorePattern(pattern);
    if (typeof converted === 'string') throw new MsSignError('USAGE', `ignore pattern ${JSON.stringify(pattern)}: ${converted}`);
    return converted;
  });
  const ignore = given.map((p) => p.anchored);
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
  if (model.kind === 'file' && given.length > 0) throw new MsSignError('USAGE', 'ignore patterns apply to directory models only');
  if (model.kind === 'directory' && ignoreGit) ignore.push((anchorIgnorePattern(DEFAULT_IGNORE) as IgnorePattern).anchored);
  // Counted before any pattern is compiled or matched against the model's names.
  if (ignore.length > LIMITS.ignorePatterns) throw new MsSignError('LIMIT_EXCEEDED', `at most ${LIMITS.ignorePatterns} ignore patterns`);
  return { recorded: [...new Set(ignore)], given };
}

export interface CosignOptions extends HashingOptions {
  readonly signer: Signer;
  readonly signaturePath: string;
  /**
   * The ignore patterns the co-signer vouches for, as given to sign: co-signing refuses unless the
   * signature file records exactly these (IGNORE_MISMATCH). Undefined accepts the recorded ones.
   */
  readonly ignore?: readonly string[];
  /** With `ignore`: the co-signer also vouches for leaving out `.git/` (the default); false: it does not. */
  readonly ignoreGit?: boolean;
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
  const format = signatureFormatOf(existing, ALL_SIGNATURE_FORMATS);
  if (format.append === undefined) throw new MsSignError('UNSUPPORTED_FORMAT', `${options.signaturePath} is a ${format.id} signature file, which cannot be co-signed`, { path: options.signaturePath });
  const { statement, expected } = format.describe(existing, options.signaturePath);
  if (options.ignore !== undefined) {
    // A co-signer vouches for every file the signature leaves out: one compromised publisher must
    // not get a file past a threshold-2 rule through patterns the other never saw.
    const vouched = new Set(recordedIgnorePatterns(options.ignore, resolveModel(modelPath), options.signaturePath, options.ignoreGit !== false).recorded);
    const recorded = new Set(ignoredBy(expected));
    if (vouched.size !== recorded.size || [...recorded].some((p) => !vouched.has(p))) {
      const list = (patterns: Iterable<string>) => [...patterns].map((p) => JSON.stringify(p)).join(', ') || 'none';
      const { count } = contentsSummary(expected);
      throw new MsSignError(
        'IGNORE_MISMATCH',
        `will not co-sign: ${options.signaturePath} covers ${count} file${count === 1 ? '' : 's'} and leaves out files matching ${list(recorded)}, but the co-signer gave ${list(vouched)}`,
        { path: options.signaturePath },
      );
    }
  }
  const realSig = realSignaturePath(options.signaturePath);
  const walk = walkModel(modelPath, { ...walkFilter(expected), ...(realSig ? { exclude: new Set([realSig]) } : {}) });
  const { problems } = await compareContents(expected, walk, options);
  if (problems.length > 0) {
    const first = problems[0]!;
    throw new MsSignError(first.code, `will not co-sign: the model differs from what ${options.signaturePath} covers: ${first.message}`, { path: first.path });
  }
  return { statement, expected, signatureFile: await format.append(existing, options.signer, options.signaturePath) };
}
