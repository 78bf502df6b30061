import { MsSignError } from '@ms-sign/core';
import { copyVerifiedModel, verifyModel } from '@ms-sign/core/node';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { basename, isAbsolute, join } from 'node:path';
import { exitCodeFor } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { startProgress } from '../progress.js';
import { prepareVerify, printReport, settleVerification, type PresentedReport, type VerifyCliOptions } from '../verify-setup.js';

export interface ExecOptions extends VerifyCliOptions {
  readonly copy?: boolean;
}

/** Signals a terminal or a supervisor sends to stop a job; CMD gets them too. */
const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;

/**
 * `ms-sign exec MODEL -- CMD ARGS...` (docs/verify-before-load.md): run CMD only if MODEL verifies, with `{}`
 * in ARGS replaced by the path to load: the original path, or with --copy a private read-only
 * copy of exactly the verified bytes, removed when CMD ends. Exit code: CMD's (128 + signal
 * number if a signal ended it); 1 or 2 without starting CMD when verification fails.
 * Verification output goes to stderr: stdout belongs to CMD.
 */
export async function execCommand(model: string, command: readonly string[], options: ExecOptions, io: CliIo): Promise<number> {
  if (options.json) throw new MsSignError('USAGE', 'exec leaves stdout to CMD and has no --json; use "ms-sign verify --json" for a report');
  const [program, ...args] = command;
  if (program === undefined) throw new MsSignError('USAGE', 'no command given: ms-sign exec MODEL -- CMD [ARGS...]');
  let workDir: string | undefined;
  const removeCopy = () => {
    if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
    workDir = undefined;
  };
  const signals = new SignalRelay(removeCopy);
  const progress = startProgress(io, options.quiet !== true, undefined, options.progress === true);
  try {
    let report: PresentedReport;
    let loadPath = model;
    try {
      const prepared = prepareVerify(model, options, io, progress);
      report = await settleVerification(prepared, model, options, () => {
        if (!options.copy) return verifyModel(prepared.modelPath, prepared.options);
        // A fresh directory only this user can enter (mkdtemp: mode 0700), so nobody else can
        // swap or change the copy between its verification and CMD's load.
        workDir = mkdtempSync(join(tempRoot(io), 'ms-sign-exec-'));
        loadPath = join(workDir, basename(prepared.modelPath));
        return copyVerifiedModel(prepared.modelPath, loadPath, prepared.options);
      });
    } finally {
      progress.stop();
    }
    printReport(io, report, 'stderr', options.quiet === true);
    if (!report.ok) return exitCodeFor(report.errors);
    return await runCommand(program, args.map((a) => a.replaceAll('{}', loadPath)), io, signals);
  } finally {
    signals.dispose();
    removeCopy();
  }
}

/** $TMPDIR as the caller's environment says (absolute only), else the system's. */
function tempRoot(io: CliIo): string {
  const dir = io.env.TMPDIR;
  return dir && isAbsolute(dir) ? dir : tmpdir();
}

/**
 * While exec runs, the stop signals are ours: before CMD starts, one removes the copy and then
 * ends ms-sign by the same signal (as if no handler were installed); while CMD runs, it is
 * passed on to CMD, and ms-sign waits for CMD to end, removes the copy and exits with CMD's code.
 */
class SignalRelay {
  private child: ChildProcess | undefined;
  private readonly handler = (signal: NodeJS.Signals) => {
    if (this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill(signal);
      return;
    }
    this.beforeExit();
    this.dispose();
    process.kill(process.pid, signal);
  };

  constructor(private readonly beforeExit: () => void) {
    for (const s of FORWARDED_SIGNALS) process.on(s, this.handler);
  }

  attach(child: ChildProcess): void {
    this.child = child;
  }

  dispose(): void {
    for (const s of FORWARDED_SIGNALS) process.off(s, this.handler);
  }
}

function runCommand(program: string, args: string[], io: CliIo, signals: SignalRelay): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: 'inherit', cwd: io.cwd, env: io.env });
    signals.attach(child);
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') reject(new MsSignError('COMMAND_NOT_FOUND', `${program}: command not found`));
      else if (error.code === 'EACCES') reject(new MsSignError('COMMAND_NOT_EXECUTABLE', `${program}: permission denied`));
      else reject(new MsSignError('IO_ERROR', `cannot run ${program}: ${error.message}`));
    });
    child.on('exit', (code, signal) => {
      if (code !== null) resolve(code);
      else resolve(128 + (signal ? (osConstants.signals[signal] ?? 0) : 0));
    });
  });
}
