import { compileGlob } from '../format/glob.js';
import { MsSignError, problem, toProblem, type Problem } from '../errors.js';
import { decodeEnvelope } from '../format/envelope.js';
import { decodeManifest, type Manifest, type ModelKind } from '../format/manifest.js';
import { LIMITS } from '../limits.js';
import type { TrustPolicy } from '../policy/policy.js';
import { formatDate } from '../policy/time.js';
import { applyPolicy, rejectedSigners, type AppliedRule, type SignerReport } from '../verify/policy-check.js';
import { advanceRollbackState, checkRollback, type RollbackState } from '../verify/rollback.js';
import { checkSignatures } from '../verify/signatures.js';
import { compareModel, type CompareOptions } from './contents.js';
import { readBoundedFile } from './files.js';
import { defaultSignaturePath, realSignaturePath } from './signature-path.js';
import { walkModel } from './walk.js';

/** The trust anchors verify applies, and where they came from (always reported). */
export interface TrustSource {
  readonly policy: TrustPolicy;
  /** The policy file's path, or e.g. "-p" for keys given on the command line. */
  readonly source: string;
}

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
}

/** What verify found, as `verify --json` prints it (SPEC section 2). */
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
  policy: { source: string; rule: AppliedRule | null };
  /** For --state: whether this model was recorded as the newest accepted. */
  rollback?: { recorded: boolean };
  errors: Problem[];
}

/**
 * Verifies a model file or directory against its signature file and the trust anchors. Checks
 * the signatures over the raw payload bytes first, decodes the manifest only if one verifies
 * under a trusted key, applies the policy, then hashes and compares the model. Never throws for
 * a model that fails verification: the report says why (every failure found, or the first with
 * `failFast`). Throws MsSignError only for setup errors.
 *
 * @example
 * ```ts
 * import { verifyModel, policyFromKeys, parsePublicKeyPem } from '@ms-sign/core';
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
    policy: { source: options.trust.source, rule: null },
    errors: [],
  };
  const finish = (problems: readonly Problem[]) => {
    report.errors.push(...problems);
    if (options.failFast) report.errors.splice(1);
    report.ok = report.errors.length === 0;
    return report;
  };

  let manifest: Manifest;
  try {
    const bytes = readBoundedFile(signaturePath, LIMITS.signatureFileBytes, 'MALFORMED_SIGNATURE_FILE', 'signature file');
    if (bytes === undefined) {
      return finish([problem('MISSING_SIGNATURE_FILE', `signature file ${signaturePath} not found; sign the model or give its signature with -s`, signaturePath)]);
    }
    const envelope = decodeEnvelope(bytes, signaturePath);
    const checks = checkSignatures(envelope, options.trust.policy);
    if (!checks.some((c) => c.status === 'verified')) {
      // Nothing vouches for the payload: do not decode it, let alone act on it.
      const rejected = rejectedSigners(checks);
      report.signers = rejected.signers;
      return finish(rejected.problems);
    }
    manifest = decodeManifest(envelope.payload, signaturePath);
    describe(report, manifest);
    const outcome = applyPolicy(manifest, checks, options.trust.policy, now);
    report.signers = [...outcome.signers];
    report.policy.rule = outcome.rule;
    report.errors.push(...outcome.problems);
  } catch (error) {
    if (error instanceof MsSignError && error.code !== 'IO_ERROR' && error.code !== 'INTERNAL') return finish([error.toProblem()]);
    throw error;
  }
  if (options.expectedName !== undefined && manifest.subject.name !== options.expectedName) {
    report.errors.push(problem('NAME_MISMATCH', `the signature is for model "${manifest.subject.name}", not "${options.expectedName}"`));
  }
  if (options.rollback) {
    const rollback = checkRollback(options.rollback.state, manifest);
    if (rollback && !options.rollback.allow) report.errors.push(rollback);
  }
  if (options.failFast && report.errors.length > 0) return finish([]);

  try {
    const realSig = realSignaturePath(signaturePath);
    const walk = walkModel(modelPath, { ignore: manifest.ignore.map(compileGlob), ...(realSig ? { exclude: new Set([realSig]) } : {}) });
    const compared = await compareModel(manifest, walk, options);
    report.errors.push(...compared.problems);
  } catch (error) {
    if (!(error instanceof MsSignError) || error.code === 'INTERNAL') throw error;
    report.errors.push(toProblem(error));
  }
  finish([]);
  if (report.ok && options.rollback) report.rollback = { recorded: advanceRollbackState(options.rollback.state, manifest) };
  return report;
}

function describe(report: VerificationReport, manifest: Manifest): void {
  report.subject = { name: manifest.subject.name, version: manifest.subject.version ?? null };
  report.kind = manifest.kind;
  report.hashAlgorithm = manifest.hashAlgorithm;
  report.created = formatDate(manifest.created);
  report.expires = manifest.expires === undefined ? null : formatDate(manifest.expires);
  report.annotations = { ...manifest.annotations };
  report.files = { count: manifest.files.length, bytes: manifest.files.reduce((n, f) => n + f.size, 0) };
}
