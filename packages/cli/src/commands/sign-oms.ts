import { MsSignError, type Signer } from '@ms-sign/core';
import { signOmsModel, writeFileAtomic } from '@ms-sign/core/node';
import { resolve } from 'node:path';
import { printable, writeLine, type CliIo } from '../io.js';
import { printJson } from '../output.js';
import { startProgress } from '../progress.js';

export interface SignOmsCliOptions {
  readonly output?: string;
  readonly name?: string;
  readonly ignore: readonly string[];
  readonly threads?: number;
  readonly json?: boolean;
}

/**
 * `ms-sign sign MODEL --format oms`: an OMS / model_signing bundle (default MODEL.sig; model_signing's
 * own default is model.sig inside the model, which works too: it is recorded as ignored).
 */
export async function signOmsCommand(model: string, signer: Signer, options: SignOmsCliOptions, io: CliIo, signatureArg: string): Promise<number> {
  const signaturePath = resolve(io.cwd, signatureArg);
  const progress = startProgress(io, options.json !== true);
  let bundle: Uint8Array;
  let files: number;
  try {
    const signed = await signOmsModel(resolve(io.cwd, model), {
      signer,
      signaturePath,
      ignore: options.ignore,
      ...(options.name === undefined ? {} : { name: options.name }),
      threads: options.threads,
      onProgress: progress.onProgress,
    });
    bundle = signed.bundle;
    files = signed.files;
  } catch (error) {
    if (error instanceof MsSignError && error.code === 'BAD_KEY' && signer.algorithm === 'ed25519') {
      throw new MsSignError('BAD_KEY', `${error.message}; make one with "ms-sign keygen --algorithm ecdsa-p256" and sign with -k on it`, { cause: error });
    }
    throw error;
  } finally {
    progress.stop();
  }
  writeFileAtomic(signaturePath, bundle, { overwrite: true });
  if (options.json) {
    printJson(io, { ok: true, model, signature: signatureArg, format: 'oms', keyId: signer.keyId, files: { count: files }, errors: [] });
  } else {
    writeLine(io.stdout, `Signed ${printable(model)} as an OMS bundle (${files} file${files === 1 ? '' : 's'}) with ECDSA key ${signer.keyId}`);
    writeLine(io.stdout, `Signature: ${printable(signatureArg)} (verify with "ms-sign verify" or "model_signing verify key")`);
  }
  return 0;
}
