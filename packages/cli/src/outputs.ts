import { LIMITS, MsSignError, signatureFormatOf } from '@ms-sign/core';
import { readBoundedFile } from '@ms-sign/core/internal';
import { realpathSync, statSync, type BigIntStats } from 'node:fs';
import { relative, resolve, sep } from 'node:path';

/** A file a command reads, and how to name it in an error. */
export interface CommandInput {
  readonly path: string;
  readonly what: string;
}

/**
 * Refuses an output file that is one of the command's inputs: `-o` must never replace the
 * secret key, the model or the signature it was checked against. Compared by device and inode,
 * so a symlink or hard link to an input is caught too.
 *
 * @throws MsSignError OUTPUT_IS_INPUT
 */
export function refuseOutputOverInputs(output: string, shown: string, inputs: readonly CommandInput[]): void {
  const target = identity(output);
  if (target === undefined) return;
  for (const input of inputs) {
    const id = identity(input.path);
    if (id !== undefined && id.dev === target.dev && id.ino === target.ino) {
      throw new MsSignError('OUTPUT_IS_INPUT', `${shown} is ${input.what}; refusing to overwrite it: write to another path`, { path: shown });
    }
  }
}

/**
 * For sign with a directory model: an existing file inside the model at the output path is a
 * file of the model (sign would leave it out and overwrite it), unless it is a signature file.
 */
export function refuseSignatureOverModelFile(output: string, shown: string, modelDir: string): void {
  let real: string;
  try {
    real = realpathSync(output);
  } catch {
    return; // not there yet: nothing to overwrite
  }
  const inside = relative(modelDir, real);
  if (inside === '' || inside.startsWith('..') || inside.startsWith(sep)) return;
  try {
    const bytes = readBoundedFile(output, LIMITS.signatureFileBytes, 'MALFORMED_SIGNATURE_FILE', 'signature file');
    if (bytes !== undefined) signatureFormatOf(bytes).describe(bytes, shown);
  } catch (error) {
    if (!(error instanceof MsSignError)) throw error;
    throw new MsSignError('OUTPUT_IS_INPUT', `${shown} is a file of the model, not a signature file; refusing to overwrite it: write the signature elsewhere`, { path: shown });
  }
}

function identity(path: string): BigIntStats | undefined {
  try {
    return statSync(resolve(path), { bigint: true });
  } catch {
    return undefined;
  }
}
