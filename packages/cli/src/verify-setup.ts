import { MsSignError, type ErrorCode, type Problem, type RollbackState } from '@ms-sign/core';
import { defaultSignaturePath, readRollbackState, writeRollbackState, type VerificationReport, type VerifyModelOptions } from '@ms-sign/core/node';
import { resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { paint, printable, useColor, writeLine, type CliIo } from './io.js';
import { formatBytes, printProblems, signerName } from './output.js';
import type { Progress } from './progress.js';
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
  readonly threads?: number;
  /** --scan MODE: tightens (never loosens) the mode the trust policy's rules set. */
  readonly scan?: 'off' | 'no-unsafe' | 'clean';
}

export interface PreparedVerify {
  readonly modelPath: string;
  readonly options: VerifyModelOptions;
  readonly origin: string;
  /** Persists the rollback state if this verification advanced it. */
  readonly commit: (report: VerificationReport) => void;
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
    ...(cli.scan === undefined ? {} : { scan: cli.scan }),
  };
  return {
    modelPath: resolve(io.cwd, model),
    options,
    origin: trust.origin,
    commit: (report) => {
      if (statePath !== undefined && state !== undefined && report.ok && report.rollback?.recorded) writeRollbackState(statePath, state);
    },
  };
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

/** Which trust anchors and rules were applied: always reported (SPEC section 4). */
function describePolicy(report: PresentedReport): string {
  const { source, origin, rule } = report.policy;
  const found = origin === '-p' ? '' : ` (found by ${origin})`;
  if (rule === null) return `${printable(source)}${found}`;
  const rules = rule.models.length === 0 ? 'no rule matches: threshold 1' : `rule${rule.models.length === 1 ? '' : 's'} ${rule.models.map((m) => `"${printable(m)}"`).join(', ')}: threshold ${rule.threshold}`;
  return `${printable(source)}${found}, ${rules}${rule.maxAge ? `, max age ${rule.maxAge}` : ''}${rule.requireExpiry ? ', expiry required' : ''}`;
}

/** Human-readable result: success on `out` (unless quiet), failures on stderr. */
export function printReport(io: CliIo, report: PresentedReport, out: Writable, quiet: boolean): void {
  if (!report.ok) {
    const color = useColor(io, 'stderr');
    writeLine(io.stderr, `ms-sign: ${paint(color, 31, 'NOT VERIFIED')}: ${printable(report.model)} must not be loaded`);
    printProblems(io, report.errors);
    writeLine(io.stderr, `ms-sign: policy: ${describePolicy(report)}`);
    if (report.scan?.summary) writeLine(io.stderr, `ms-sign: scan: ${describeScan(report)}`);
    return;
  }
  if (quiet) return;
  const color = out === io.stdout ? useColor(io, 'stdout') : useColor(io, 'stderr');
  const signers = report.signers.filter((s) => s.valid).map((s) => `${printable(s.publisher ?? '?')} (${signerName(s)})`);
  writeLine(out, `${paint(color, 32, 'Verified')} ${printable(report.model)}`);
  writeLine(out, `  model:     ${printable(report.subject.name ?? '')}${report.subject.version ? ` version ${printable(report.subject.version)}` : ''}, signed ${report.created}${report.expires ? `, expires ${report.expires}` : ''}`);
  writeLine(out, `  signed by: ${signers.join(', ')}`);
  writeLine(out, `  files:     ${report.files.count} (${formatBytes(report.files.bytes)})`);
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
