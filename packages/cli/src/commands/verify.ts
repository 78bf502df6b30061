import { MsSignError } from '@ms-sign/core';
import { copyVerifiedModel, loadVerifiedModel, verifyModel, type VerificationReport } from '@ms-sign/core/node';
import { resolveModel } from '@ms-sign/core/internal';
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { exitCodeFor } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { printJson } from '../output.js';
import { startProgress } from '../progress.js';
import { prepareVerify, printReport, settleVerification, type PresentedReport, type VerifyCliOptions } from '../verify-setup.js';

export interface VerifyOptions extends VerifyCliOptions {
  readonly output?: string;
}

/**
 * `ms-sign verify MODEL`: exit 0 only if MODEL may be loaded. With `--output`, the verified
 * bytes of a single-file model go to FILE or stdout only after verification succeeded, read
 * once, so what the loader gets is what was checked (SPEC section 5).
 */
export async function verifyCommand(model: string, options: VerifyOptions, io: CliIo): Promise<number> {
  const toStdout = options.output === '-';
  if (toStdout && io.stdout.isTTY === true) {
    throw new MsSignError('USAGE', '--output - writes the model\'s binary bytes; redirect stdout to a file or pipe');
  }
  if (toStdout && options.json) throw new MsSignError('USAGE', '--output - and --json both want stdout; use --output FILE with --json');
  const progress = startProgress(io, options.json !== true && options.quiet !== true);
  let report: PresentedReport;
  let bytes: Uint8Array | undefined;
  try {
    const prepared = prepareVerify(model, options, io, progress);
    if (options.output !== undefined && resolveModel(prepared.modelPath).kind !== 'file') {
      throw new MsSignError('USAGE', '--output works for single-file models; for a directory use "ms-sign exec --copy"');
    }
    report = await settleVerification(prepared, model, options, async () => {
      if (toStdout) {
        const loaded = await loadVerifiedModel(prepared.modelPath, prepared.options);
        bytes = loaded.bytes;
        return loaded.report;
      }
      if (options.output !== undefined) return verifyIntoFile(prepared.modelPath, resolve(io.cwd, options.output), prepared.options);
      return verifyModel(prepared.modelPath, prepared.options);
    });
  } finally {
    progress.stop();
  }
  if (options.json) printJson(io, report);
  else printReport(io, report, toStdout ? io.stderr : io.stdout, options.quiet === true);
  // Only now, and only on success, does a byte of the model reach stdout.
  if (report.ok && bytes !== undefined) await writeAll(io, bytes);
  return report.ok ? 0 : exitCodeFor(report.errors);
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

/** Writes the verified bytes to stdout; a reader that stops early (EPIPE) is an IO_ERROR, not a crash. */
function writeAll(io: CliIo, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (error: NodeJS.ErrnoException) => {
      const why = error.code === 'EPIPE' ? 'the reader closed the pipe before the whole model was written' : error.message;
      reject(new MsSignError('IO_ERROR', `cannot write the model to stdout: ${why}`, { cause: error }));
    };
    // Streams report a broken pipe as an 'error' event too: without a listener it would crash.
    io.stdout.on('error', fail);
    io.stdout.write(bytes, (error) => (error ? fail(error) : resolve()));
  });
}
