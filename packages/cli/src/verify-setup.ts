import { LIMITS, MsSignError, checkOmsIgnorePath, type ErrorCode, type Problem, type RollbackState } from '@ms-sign/core';
import { readBoundedFile } from '@ms-sign/core/internal';
import { defaultSignaturePath, ModelVerificationError, parseSigstoreTrustedRoot, readRollbackState, writeRollbackState, type SigstoreTrust, type VerificationReport, type VerifyModelOptions } from '@ms-sign/core/node';
import { resolve } from 'node:path';
import { paint, printable, useColor, writeLine, type CliIo } from './io.js';
import { formatBytes, printProblems, signerName } from './output.js';
import type { Progress } from './progress.js';
import type { CommandInput } from './outputs.js';
import { resolveTrust } from './trust.js';

/** Options shared by `verify` and `exec`. */
export interface VerifyCliOptions {
  readonly signature?: string;
  readonly publicKey: readonly string[];
  readonly trust?: string;
  readonly name?: string;
  readonly state?: string;
  readonly allowRollback?: boolean;
  readonly failFast?: boolean;
  readonly json?: boolean;
  readonly quiet?: boolean;
  readonly progress?: boolean;
  readonly threads?: number;
  /** Paths relative to the model root present but not signed (repeatable --ignore). */
  readonly ignore?: readonly string[];
  /** Sigstore trusted_root.json (or client trust config) for keyless OMS bundles. */
  readonly trustedRoot?: string;
  readonly certRoot?: readonly string[];
  readonly sigstoreIdentity?: string;
  readonly sigstoreIssuer?: string;
  /** --scan MODE: tightens (never loosens) the mode the trust policy's rules set; false is --no-scan (= off). */
  readonly scan?: 'off' | 'no-unsafe' | 'clean' | false;
}

export interface PreparedVerify {
  readonly modelPath: string;
  readonly options: VerifyModelOptions;
  readonly origin: string;
  /** Persists the rollback state if this verification advanced it. */
  readonly commit: (report: VerificationReport) => void;
  /** The files this verification reads: an output must not be one of them. */
  readonly inputs: readonly CommandInput[];
}

export function prepareVerify(model: string, cli: VerifyCliOptions, io: CliIo, progress: Progress): PreparedVerify {
  if (cli.allowRollback && cli.state === undefined) throw new MsSignError('USAGE', '--allow-rollback needs --state FILE');
  const trust = resolveTrust(cli, io);
  const statePath = cli.state === undefined ? undefined : resolve(io.cwd, cli.state);
  const state: RollbackState | undefined = statePath === undefined ? undefined : readRollbackState(statePath);
  const options: VerifyModelOptions = {
    trust,
    onProgress: progress.onProgress,
    ...(cli.signature === undefined ? {} : { signaturePath: resolve(io.cwd, cli.signature) }),
    ...(cli.name === undefined ? {} : { expectedName: cli.name }),
    ...(cli.failFast ? { failFast: true } : {}),
    ...(cli.threads === undefined ? {} : { threads: cli.threads }),
    ...(state === undefined ? {} : { rollback: { state, allow: cli.allowRollback === true } }),
    ...(cli.ignore === undefined || cli.ignore.length === 0 ? {} : { ignore: ignorePaths(cli.ignore) }),
    ...(cli.trustedRoot === undefined ? {} : { sigstoreTrustedRoot: loadTrustedRoot(cli.trustedRoot, io) }),
    ...(cli.scan === undefined ? {} : { scan: cli.scan === false ? 'off' : cli.scan }),
  };
  const modelPath = resolve(io.cwd, model);
  const inputs: CommandInput[] = [
    { path: modelPath, what: 'the model' },
    { path: options.signaturePath ?? defaultSignaturePath(modelPath), what: 'the signature file' },
    ...cli.publicKey.map((file) => ({ path: resolve(io.cwd, file), what: 'a public key' })),
    ...(trust.origin === '-p' ? [] : [{ path: trust.source, what: 'the trust policy' }]),
    ...(statePath === undefined ? [] : [{ path: statePath, what: 'the state file' }]),
  ];
  return {
    modelPath,
    options,
    inputs,
    origin: trust.origin,
    commit: (report) => {
      if (statePath !== undefined && state !== undefined && report.ok && report.rollback?.recorded) writeRollbackState(statePath, state);
    },
  };
}

/**
 * Runs one verification (`run`: verifyModel, loadVerifiedModel, copyVerifiedModel...), taking the
 * report from a ModelVerificationError too; persists the rollback state if it advanced, and
 * returns the report as the CLI prints it.
 */
export async function settleVerification(prepared: PreparedVerify, model: string, cli: VerifyCliOptions, run: () => Promise<VerificationReport>): Promise<PresentedReport> {
  let verified: VerificationReport;
  try {
    verified = await run();
  } catch (error) {
    if (!(error instanceof ModelVerificationError)) throw error;
    verified = error.report;
  }
  prepared.commit(verified);
  return presentReport(verified, model, cli, prepared.origin);
}

/** --ignore paths: relative to the model root, inside it. */
function ignorePaths(paths: readonly string[]): string[] {
  for (const path of paths) {
    const why = checkOmsIgnorePath(path);
    if (why !== undefined) throw new MsSignError('USAGE', `--ignore ${JSON.stringify(path)}: ${why}; give a path relative to the model root`);
  }
  return [...paths];
}

/** The Sigstore trusted root named by --trusted-root. */
function loadTrustedRoot(file: string, io: CliIo): SigstoreTrust {
  const bytes = readBoundedFile(resolve(io.cwd, file), LIMITS.trustPolicyBytes, 'BAD_TRUST_POLICY', 'Sigstore trusted root');
  if (bytes === undefined) throw new MsSignError('BAD_TRUST_POLICY', `Sigstore trusted root ${file} not found`, { path: file });
  return parseSigstoreTrustedRoot(bytes, file);
}

/** A report as the CLI prints it: paths as typed, and how the trust policy was found. */
export type PresentedReport = VerificationReport & { policy: { origin: string } };

/** Reports paths as the user typed them, not as resolved for the library. */
export function presentReport(report: VerificationReport, model: string, cli: VerifyCliOptions, origin: string): PresentedReport {
  const signature = cli.signature ?? defaultSignaturePath(model);
  return { ...report, model, signature, policy: { ...report.policy, origin }, errors: report.errors.map(withHint) };
}

/** The library reports facts; the CLI adds which option would change the outcome. */
const HINTS: Partial<Record<ErrorCode, string>> = {
  MISSING_SIGNATURE_FILE: '; sign the model or give its signature with -s',
  ROLLBACK: '; use --allow-rollback to accept it on purpose',
  EXPIRY_REQUIRED: ' (sign with --expires)',
};

function withHint(problem: Problem): Problem {
  const hint = HINTS[problem.code];
  return hint === undefined ? problem : { ...problem, message: `${problem.message}${hint}` };
}

/** Which trust anchors and rules were applied: always reported (docs/trust-policy.md). */
function describePolicy(report: PresentedReport): string {
  const { source, origin, rule } = report.policy;
  const found = origin === '-p' ? '' : ` (found by ${origin})`;
  if (rule === null) return `${printable(source)}${found}`;
  const rules = rule.models.length === 0 ? 'no rule matches: threshold 1' : `rule${rule.models.length === 1 ? '' : 's'} ${rule.models.map((m) => `"${printable(m)}"`).join(', ')}: threshold ${rule.threshold}`;
  return `${printable(source)}${found}, ${rules}${rule.maxAge ? `, max age ${rule.maxAge}` : ''}${rule.requireExpiry ? ', expiry required' : ''}`;
}

/** Human-readable result: success on stream `to` (unless quiet), failures on stderr. */
export function printReport(io: CliIo, report: PresentedReport, to: 'stdout' | 'stderr', quiet: boolean): void {
  if (!report.ok) {
    const color = useColor(io, 'stderr');
    writeLine(io.stderr, `ms-sign: ${paint(color, 31, 'NOT VERIFIED')}: ${printable(report.model)} must not be loaded`);
    printProblems(io, report.errors);
    writeLine(io.stderr, `ms-sign: policy: ${describePolicy(report)}`);
    if (report.scan?.summary) writeLine(io.stderr, `ms-sign: scan: ${describeScan(report)}`);
    return;
  }
  // The stream is looked up only now: a quiet success writes nothing and creates no stream.
  if (quiet) return;
  const out = io[to];
  const color = useColor(io, to);
  const signers = report.signers.filter((s) => s.valid).map((s) => `${printable(s.publisher ?? '?')} (${signerName(s)})`);
  writeLine(out, `${paint(color, 32, 'Verified')} ${printable(report.model)}`);
  // An OMS bundle without a transparency log carries no signing time, and files mode no sizes.
  const signed = report.created === null ? '' : `, signed ${report.created}`;
  const layout = report.oms ? ` (OMS bundle: ${report.oms.flavour}, ${report.oms.mode} mode)` : '';
  writeLine(out, `  model:     ${printable(report.subject.name ?? '')}${report.subject.version ? ` version ${printable(report.subject.version)}` : ''}${signed}${report.expires ? `, expires ${report.expires}` : ''}${layout}`);
  writeLine(out, `  signed by: ${signers.join(', ')}`);
  writeLine(out, `  files:     ${report.files.count}${report.oms?.serialization === 'files' ? '' : ` (${formatBytes(report.files.bytes)})`}`);
  // What the signers chose to leave out is part of what was verified: say it.
  if (report.ignore.length > 0) writeLine(out, `  ignored:   ${report.ignore.map((p) => printable(p)).join(', ')} (not covered)`);
  writeLine(out, `  policy:    ${describePolicy(report)}`);
  if (report.scan !== undefined) writeLine(out, `  scan:      ${describeScan(report)}`);
}

/** "no-unsafe (default): 3 files, 2 clean, 1 unknown", and which rule set the mode. */
function describeScan(report: PresentedReport): string {
  const scan = report.scan!;
  const by = scan.rule === null ? '' : ` (rule${scan.rule.length === 1 ? '' : 's'} ${scan.rule.map((r) => `"${printable(r)}"`).join(', ')})`;
  if (scan.summary === null) return `${scan.mode}${by}`;
  const s = scan.summary;
  const counts = (['clean', 'unsafe', 'malformed', 'unknown'] as const).filter((v) => s[v] > 0).map((v) => `${s[v]} ${v}`);
  return `${scan.mode}${by}: ${s.files} file${s.files === 1 ? '' : 's'}, ${counts.join(', ')}`;
}
