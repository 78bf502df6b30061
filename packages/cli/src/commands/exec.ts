import { copyVerifiedModel, ModelVerificationError, MsSignError, verifyModel, type VerificationReport } from '@ms-sign/core';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { constants as osConstants } from 'node:os';
import { exitCodeFor } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { startProgress } from '../progress.js';
import { prepareVerify, presentReport, printReport, type VerifyCliOptions } from '../verify-setup.js';

export interface ExecOptions extends VerifyCliOptions {
  readonly copy?: boolean;
}

const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * `ms-sign exec MODEL -- CMD ARGS...` (SPEC section 5): run CMD only if MODEL verifies, with `{}`
 * in ARGS replaced by the path to load: the original path, or with --copy a private read-only
 * copy of exactly the verified bytes, removed when CMD ends. Exit code: CMD's (128 + signal
 * number if a signal ended it); 1 or 2 without starting CMD when verification fails.
 * Verification output goes to stderr: stdout belongs to CMD.
 */
export async function execCommand(model: string, command: readonly string[], options: ExecOptions, io: CliIo): Promise<number> {
  if (options.json) throw new MsSignError('USAGE', 'exec leaves stdout to CMD and has no --json; use "ms-sign verify --json" for a report');
  const [program, ...args] = command;
  if (program === undefined) throw new MsSignError('USAGE', 'no command given: ms-sign exec MODEL -- CMD [ARGS...]');
  const progress = startProgress(io, options.quiet !== true);
  let workDir: string | undefined;
  try {
    let report: VerificationReport;
    let loadPath = model;
    try {
      const prepared = prepareVerify(model, options, io, progress);
      try {
        if (options.copy) {
          // mkdtemp makes a fresh directory only this user can enter (mode 0700).
          workDir = mkdtempSync(join(tmpdir(), 'ms-sign-exec-'));
          loadPath = join(workDir, basename(prepared.modelPath));
          report = await copyVerifiedModel(prepared.modelPath, loadPath, prepared.options);
        } else report = await verifyModel(prepared.modelPath, prepared.options);
      } catch (error) {
        if (!(error instanceof ModelVerificationError)) throw error;
        report = error.report;
      }
      prepared.commit(report);
      report = presentReport(report, model, options, prepared.origin);
    } finally {
      progress.stop();
    }
    printReport(io, report, io.stderr, options.quiet === true);
    if (!report.ok) return exitCodeFor(report.errors);
    return await runCommand(program, args.map((a) => a.replaceAll('{}', loadPath)), io);
  } finally {
    if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
  }
}

function runCommand(program: string, args: string[], io: CliIo): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: 'inherit', cwd: io.cwd, env: io.env });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    for (const s of FORWARDED_SIGNALS) process.on(s, forward);
    const cleanup = () => {
      for (const s of FORWARDED_SIGNALS) process.off(s, forward);
    };
    child.on('error', (error: NodeJS.ErrnoException) => {
      cleanup();
      if (error.code === 'ENOENT') reject(new MsSignError('COMMAND_NOT_FOUND', `${program}: command not found`));
      else if (error.code === 'EACCES') reject(new MsSignError('COMMAND_NOT_EXECUTABLE', `${program}: permission denied`));
      else reject(new MsSignError('IO_ERROR', `cannot run ${program}: ${error.message}`));
    });
    child.on('exit', (code, signal) => {
      cleanup();
      if (code !== null) resolve(code);
      else resolve(128 + (signal ? (osConstants.signals[signal] ?? 0) : 0));
    });
  });
}
