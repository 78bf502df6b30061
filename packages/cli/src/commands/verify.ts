import { MsSignError } from '@ms-sign/core';
import { copyVerifiedModel, readVerifiedModel, verifyModel, type VerificationReport, type VerifiedStream } from '@ms-sign/core/node';
import { resolveModel } from '@ms-sign/core/internal';
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { exitCodeFor } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { printJson } from '../output.js';
import { refuseOutputOverInputs } from '../outputs.js';
import { startProgress } from '../progress.js';
import { prepareVerify, printReport, settleVerification, type PresentedReport, type VerifyCliOptions } from '../verify-setup.js';

export interface VerifyOptions extends VerifyCliOptions {
  readonly output?: string;
}

/**
 * `ms-sign verify MODEL...`: exit 0 only if every MODEL may be loaded. With `--output`, the
 * verified bytes of a single-file model go to FILE or stdout only after verification succeeded,
 * read once, so what the loader gets is what was checked (docs/verify-before-load.md).
 */
export async function verifyCommand(models: readonly string[], options: VerifyOptions, io: CliIo): Promise<number> {
  if (models.length > 1) return verifyMany(models, options, io);
  const model = models[0]!;
  const toStdout = options.output === '-';
  if (toStdout && io.stdout.isTTY === true) {
    throw new MsSignError('USAGE', '--output - writes the model\'s binary bytes; redirect stdout to a file or pipe');
  }
  if (toStdout && options.json) throw new MsSignError('USAGE', '--output - and --json both want stdout; use --output FILE with --json');
  const progress = startProgress(io, options.json !== true && options.quiet !== true, undefined, options.progress === true);
  let report: PresentedReport;
  let verifiedStream: VerifiedStream | undefined;
  try {
    const prepared = prepareVerify(model, options, io, progress);
    if (options.output !== undefined && resolveModel(prepared.modelPath).kind !== 'file') {
      throw new MsSignError('USAGE', '--output works for single-file models; for a directory use "ms-sign exec --copy"');
    }
    report = await settleVerification(prepared, model, options, async () => {
      if (toStdout) {
        verifiedStream = await readVerifiedModel(prepared.modelPath, prepared.options, io.env.TMPDIR ? { tmpDir: io.env.TMPDIR } : {});
        return verifiedStream.report;
      }
      if (options.output !== undefined) {
        refuseOutputOverInputs(resolve(io.cwd, options.output), options.output, prepared.inputs);
        return verifyIntoFile(prepared.modelPath, resolve(io.cwd, options.output), prepared.options);
      }
      return verifyModel(prepared.modelPath, prepared.options);
    });
  } finally {
    progress.stop();
  }
  if (options.json) printJson(io, report);
  else printReport(io, report, toStdout ? 'stderr' : 'stdout', options.quiet === true);
  // Only now, and only on success, does a byte of the model reach stdout.
  if (report.ok && verifiedStream !== undefined) await writeAll(io, verifiedStream);
  return report.ok ? 0 : exitCodeFor(report.errors);
}

/**
 * Several models: each is verified on its own (with its default MODEL.sig) and reported in turn;
 * exit 0 only if all verified. With --json, one object: `{ ok, models: [report, ...], errors }`
 * (docs/decisions.md). A missing model fails only its own entry; setup errors stop them all.
 */
async function verifyMany(models: readonly string[], options: VerifyOptions, io: CliIo): Promise<number> {
  if (options.signature !== undefined || options.output !== undefined) {
    throw new MsSignError('USAGE', `-s/--signature and --output take one model; ${models.length} were given`);
  }
  const reports: PresentedReport[] = [];
  for (const model of models) {
    const progress = startProgress(io, options.json !== true && options.quiet !== true, undefined, options.progress === true);
    try {
      const prepared = prepareVerify(model, options, io, progress);
      // verifyModel reports a missing model or signature in its report; only setup errors throw.
      reports.push(await settleVerification(prepared, model, options, () => verifyModel(prepared.modelPath, prepared.options)));
    } finally {
      progress.stop();
    }
    const last = reports[reports.length - 1]!;
    if (!options.json) printReport(io, last, 'stdout', options.quiet === true);
  }
  const ok = reports.every((r) => r.ok);
  if (options.json) printJson(io, { ok, models: reports, errors: [] });
  return ok ? 0 : exitCodeFor(reports.flatMap((r) => r.errors));
}

/** Copy-while-verifying into a temporary name beside FILE, renamed into place only on success. */
async function verifyIntoFile(modelPath: string, target: string, options: Parameters<typeof copyVerifiedModel>[2]): Promise<VerificationReport> {
  const temp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const report = await copyVerifiedModel(modelPath, temp, options);
    try {
      renameSync(temp, target);
    } catch (error) {
      throw new MsSignError('IO_ERROR', `cannot write ${target}: ${(error as Error).message}`, { path: target, cause: error });
    }
    return report;
  } finally {
    rmSync(temp, { force: true });
  }
}

/**
 * Streams the verified bytes to stdout, waiting for the reader (so a spooled model never sits in
 * memory); a reader that stops early (EPIPE) is an IO_ERROR, not a crash.
 */
async function writeAll(io: CliIo, verified: VerifiedStream): Promise<void> {
  let failure: Error | undefined;
  // Streams report a broken pipe as an 'error' event too: without a listener it would crash.
  const onError = (error: NodeJS.ErrnoException) => {
    failure ??= error;
    io.stdout.emit('drain');
  };
  io.stdout.on('error', onError);
  try {
    for await (const chunk of verified.chunks) {
      if (failure) break;
      const flushed = io.stdout.write(chunk, (error) => {
        if (error) onError(error);
      });
      if (!flushed && !failure) await new Promise((resolve) => io.stdout.once('drain', resolve));
    }
    if (!failure) await new Promise<void>((resolve) => io.stdout.write('', () => resolve()));
  } finally {
    verified.close();
    io.stdout.off('error', onError);
  }
  if (failure) {
    const why = (failure as NodeJS.ErrnoException).code === 'EPIPE' ? 'the reader closed the pipe before the whole model was written' : failure.message;
    throw new MsSignError('IO_ERROR', `cannot write the model to stdout: ${why}`, { cause: failure });
  }
}
