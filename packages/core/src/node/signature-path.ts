import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/** The default signature file of a model: `MODEL.sig` next to it (the README). */
export function defaultSignaturePath(modelPath: string): string {
  return `${modelPath.replace(/\/+$/, '') || '/'}.sig`;
}

/**
 * The signature file's real path, to leave it out of a directory model it lies inside (so that
 * `-o model/model.sig` works like model_signing's default); undefined if its directory is missing.
 */
export function realSignaturePath(signaturePath: string): string | undefined {
  const dir = dirname(resolve(signaturePath));
  return existsSync(dir) ? join(realpathSync(dir), basename(signaturePath)) : undefined;
}
