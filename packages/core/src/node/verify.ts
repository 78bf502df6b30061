import { appendProblems, limitListedProblems, MsSignError, problem, toProblem, type Problem } from '../errors.js';
import type { ModelKind } from '../format/manifest.js';
import { LIMITS } from '../limits.js';
import type { TrustPolicy } from '../policy/policy.js';
import type { SigstoreTrust } from './oms/sigstore.js';
import { ALL_SIGNATURE_FORMATS } from './formats.js';
import type { OmsFlavour } from '../oms/statement.js';
import { formatDate } from '../policy/time.js';
import type { AppliedRule } from '../verify/policy-check.js';
import { advanceRollbackState, checkRollback, type RollbackState } from '../verify/rollback.js';
import type { SignerReport } from '../verify/signer-report.js';
import { contentsSummary, type ExpectedContents, type SignedStatement } from '../verify/statement.js';
import { nodeEd25519Equation, nodeSha512 } from './crypto.js';
import { verifySignatureFile } from '../verify/verify-signature-file.js';
import { compareContents, expectedHashWork, ignoredBy, walkFilter, type CompareOptions } from './contents.js';
import { prestartHashWorkers, releaseHashWorkers, workersFor } from './hash/pool.js';
import { readBoundedFile } from './files.js';
import { defaultSignaturePath, realSignaturePath } from './signature-path.js';
import { walkModel } from './walk.js';
import { applyScanPolicy } from '../scan/policy.js';
import { judgeScan, PlainUnknownFile, summarizeScan, type ScanMode, type ScanSummary } from '../scan/scan.js';
import type { FileScanResult } from '../scan/types.js';
import { ScanCapture } from './scan-capture.js';
import { scanVerifiedFilesLazily, type VerifiedFileForScan } from './scan.js';

/** The trust anchors verify applies, and where they came from (always reported). */
export interface TrustSource {
  readonly policy: TrustPolicy;
  /** The policy file's path, or a description such as the list of key files given. */
  readonly source: string;
}

/** Options of verifyModel. */
export interface VerifyModelOptions extends CompareOptions {
  readonly trust: TrustSource;
  /** Default: MODEL.sig. */
  readonly signaturePath?: string;
  /** Refuse a validly signed model published under another name (--name). */
  readonly expectedName?: string;
  /** Unix seconds; default: now. */
  readonly now?: number;
  /** Rollback protection: refused unless newer than the state; the state advances on success. */
  readonly rollback?: { readonly state: RollbackState; readonly allow: boolean };
  /**
   * Paths relative to the model root that are present but not covered by the signature (a file, or
   * a directory whole): left out of the comparison. Older OMS bundles do not record what their
   * signer left out.
   */
  readonly ignore?: readonly string[];
  /** For Sigstore keyless OMS bundles: the trusted root their evidence is checked against. */
  readonly sigstoreTrustedRoot?: SigstoreTrust;
  /**
   * The scan of the verified bytes (docs/scan.md): the mode asked for. It may only tighten a mode
   * the trust policy's matching rules set (else USAGE); default: theirs, or no-unsafe.
   */
  readonly scan?: ScanMode;
}

/** `verify --json`'s `scan`: the mode and rules applied, and the files that are not clean. */
export interface VerifyScanReport {
  readonly mode: ScanMode;
  /** Patterns of the matching rules that set the mode; null: the default (or the command line). */
  readonly rule: readonly string[] | null;
  /** null when the scan did not run (mode off, or verification failed before it). */
  readonly summary: ScanSummary | null;
  readonly files: readonly FileScanResult[];
}

/** What verify found, as `verify --json` prints it (the README). */
export interface VerificationReport {
  /** True only when the model may be loaded. */
  ok: boolean;
  model: string;
  signature: string;
  subject: { name: string | null; version: string | null };
  kind: ModelKind | null;
  hashAlgorithm: string | null;
  created: string | null;
  expires: string | null;
  annotations: Record<string, string>;
  signers: SignerReport[];
  files: { count: number; bytes: number };
  /** The ignore patterns the signature records and verify applied: files they match are not covered. */
  ignore: string[];
  policy: { source: string; rule: AppliedRule | null };
  /** For --state: whether this model was recorded as the newest accepted. */
  rollback?: { recorded: boolean };
  /** OMS / model_signing bundles only: which writer's layout, trust mode and serialization. */
  oms?: { flavour: OmsFlavour; mode: 'key' | 'certificate' | 'sigstore'; serialization: 'files' | 'shards'; rootDigest: string | null };
  /** The scan of the verified bytes; absent until the signature and policy stages have passed. */
  scan?: VerifyScanReport;
  errors: Problem[];
}

/**
 * Verifies a model file or directory against its signature file and the trust anchors. Checks
 * the signatures over the raw payload bytes first, decodes the manifest only if one verifies
 * under a trusted key, applies the policy, then hashes and compares the model. Never throws for
 * a model that fails verification: the report says why (every failure found, or the first with
 * `failFast`). Throws only when verification cannot run: MsSignError IO_ERROR when the signature
 * file exists but cannot be read (permissions, I/O), and INTERNAL (or a non-MsSignError) for a
 * fault in ms-sign itself.
 *
 * @example
 * ```ts
 * import { policyFromKeys, parsePublicKeyPem } from '@ms-sign/core';
 * import { verifyModel } from '@ms-sign/core/node';
 * import { readFileSync } from 'node:fs';
 * const key = parsePublicKeyPem(readFileSync('publisher.pub', 'utf8'));
 * const report = await verifyModel('model.ms', { trust: { policy: policyFromKeys([{ name: 'publisher', key }]), source: '-p' } });
 * if (!report.ok) throw new Error(report.errors.map((e) => e.message).join('\n'));
 * ```
 */
export async function verifyModel(modelPath: string, options: VerifyModelOptions): Promise<VerificationReport> {
  const signaturePath = options.signaturePath ?? defaultSignaturePath(modelPath);
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const report: VerificationReport = {
    ok: false,
    model: modelPath,
    signature: signaturePath,
    subject: { name: null, version: null },
    kind: null,
    hashAlgorithm: null,
    created: null,
    expires: null,
    annotations: {},
    signers: [],
    files: { count: 0, bytes: 0 },
    ignore: [],
    policy: { source: options.trust.source, rule: null },
    errors: [],
  };
  const finish = (problems: readonly Problem[]) => {
    appendProblems(report.errors, problems);
    if (options.failFast) report.errors.splice(1);
    limitListedProblems(report.errors);
    report.ok = report.errors.length === 0;
    return report;
  };

  // Stage 1, read: the signature file, bounded.
  let bytes: Uint8Array | undefined;
  try {
    bytes = readBoundedFile(signaturePath, LIMITS.signatureFileBytes, 'MALFORMED_SIGNATURE_FILE', 'signature file');
  } catch (error) {
    if (error instanceof MsSignError && error.code !== 'IO_ERROR' && error.code !== 'INTERNAL') return finish([error.toProblem()]);
    throw error;
  }
  if (bytes === undefined) {
    return finish([problem('MISSING_SIGNATURE_FILE', `signature file ${signaturePath} not found`, signaturePath)]);
  }

  // Stage 2, signatures and policy (pure): nothing below runs unless a trusted signature vouches
  // for the payload.
  const verified = verifySignatureFile(bytes, options.trust.policy, now, {
    source: signaturePath,
    sha512: nodeSha512,
    ed25519Equation: nodeEd25519Equation,
    formats: ALL_SIGNATURE_FORMATS,
    ...(options.expectedName === undefined ? {} : { expectedName: options.expectedName }),
    ...(options.sigstoreTrustedRoot === undefined ? {} : { sigstoreTrustedRoot: options.sigstoreTrustedRoot }),
  });
  report.signers = [...verified.signers];
  report.policy.rule = verified.rule;
  const { statement, expected } = verified;
  if (statement === undefined || expected === undefined) return finish(verified.problems);
  fillReport(report, statement, expected);
  appendProblems(report.errors, verified.problems);
  // An OMS bundle without a proven signing time has no version and no time to order it by: an
  // older bundle replayed would look new. It is refused under rollback protection, and never recorded.
  const unordered = expected.kind === 'oms' && expected.signedAt === undefined;
  if (options.rollback && unordered && !options.rollback.allow) {
    report.errors.push(problem('ROLLBACK', `rollback protection cannot order this ${expected.mode}-mode OMS bundle: it carries no version and no proven signing time`));
  } else if (options.rollback) {
    const rollback = checkRollback(options.rollback.state, statement);
    if (rollback && !options.rollback.allow) report.errors.push(rollback);
  }
  // Which scan applies is known now (the rules match the signed name): a command line that asks
  // for less than a rule requires is refused before any hashing.
  const scan = applyScanPolicy(options.trust.policy.rules, statement.subject.name, options.scan);
  report.scan = { mode: scan.mode, rule: scan.rules.length > 0 ? scan.rules : null, summary: null, files: [] };
  if (options.failFast && report.errors.length > 0) return finish([]);

  // Stage 3, contents: the files on disk against what the signature says they must be. With a
  // scan to run, the hashing threads scan the smallest files on the bytes they read, once their
  // digest matched, and the bytes of other small files are kept for the scan stage.
  const capture = new ScanCapture(scan.mode !== 'off', options.sinkFor);
  let scanTargets: VerifiedFileForScan[] | undefined;
  try {
    // The hash workers this manifest's work will use start now and boot on the other cores while
    // this thread walks the model (they only read files once the walk and comparison are done).
    const work = expectedHashWork(expected);
    if (work !== undefined) prestartHashWorkers(Math.min(workersFor(work.bytes, work.tasks, options.threads), work.tasks - 1), { loadScanner: scan.mode !== 'off' });
    const realSig = realSignaturePath(signaturePath);
    const walk = walkModel(modelPath, { ...walkFilter(expected, options.ignore), ...(realSig ? { exclude: new Set([realSig]) } : {}) });
    const scanWhileHashing = scan.mode === 'off' ? undefined : { allowGlobals: scan.allowGlobals, waive: scan.waive };
    const compared = await compareContents(expected, walk, { ...options, scanWhileHashing, sinkFor: (file) => capture.sinkFor(file) });
    appendProblems(report.errors, compared.problems);
    if (report.errors.length === 0 && scan.mode !== 'off') scanTargets = capture.targets(expected, walk, compared.identities, compared.scans);
  } catch (error) {
    if (!(error instanceof MsSignError) || error.code === 'INTERNAL') throw error;
    report.errors.push(toProblem(error));
  } finally {
    releaseHashWorkers();
  }

  // Stage 4, scan: only when the contents matched, on the bytes the comparison verified (kept in
  // memory, a verified copy, or a file whose identity is the one hashed: never a plain re-open).
  if (scanTargets !== undefined) {
    try {
      const files = scanVerifiedFilesLazily(scanTargets, { waive: scan.waive, allowGlobals: scan.allowGlobals });
      const judged = judgeScan(files, scan);
      const listed = files.filter((f) => f.verdict !== 'clean');
      let built: FileScanResult[] | undefined;
      report.scan = {
        mode: report.scan.mode,
        rule: report.scan.rule,
        summary: summarizeScan(files),
        // Built when read (--json prints it): 20,000 entries of a large directory cost more to
        // build than to scan, and the human output prints only the summary.
        get files() {
          return (built ??= listed.map((f) => (f instanceof PlainUnknownFile ? f.result() : f)));
        },
      };
      appendProblems(report.errors, judged.problems);
    } catch (error) {
      if (!(error instanceof MsSignError) || error.code === 'INTERNAL') throw error;
      report.errors.push(toProblem(error));
    }
  }

  finish([]);
  if (report.ok && options.rollback) report.rollback = { recorded: !unordered && advanceRollbackState(options.rollback.state, statement) };
  return report;
}

/** Fills the report's description of the release from what the verified signature claims. */
function fillReport(report: VerificationReport, statement: SignedStatement, expected: ExpectedContents): void {
  report.subject = { name: statement.subject.name, version: statement.subject.version ?? null };
  report.created = formatDate(statement.created);
  report.expires = statement.expires === undefined ? null : formatDate(statement.expires);
  report.annotations = { ...statement.annotations };
  const summary = contentsSummary(expected);
  report.files = { count: summary.count, bytes: summary.bytes ?? 0 };
  report.ignore = [...ignoredBy(expected)];
  switch (expected.kind) {
    case 'manifest':
      report.kind = expected.manifest.kind;
      report.hashAlgorithm = expected.manifest.hashAlgorithm;
      break;
    case 'oms': {
      const s = expected.statement;
      report.kind = s.singleFile ? 'file' : 'directory';
      report.hashAlgorithm = s.hashType;
      // Only a Sigstore log proves when a bundle was signed; nothing is claimed otherwise.
      report.created = expected.signedAt === undefined ? null : formatDate(expected.signedAt);
      report.oms = { flavour: s.flavour, mode: expected.mode, serialization: s.method, rootDigest: s.rootDigest };
      break;
    }
  }
}
