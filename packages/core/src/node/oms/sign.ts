import { verify as verifySignature } from 'node:crypto';
import { basename, relative, resolve, sep } from 'node:path';
import type { Signer } from '../../crypto/signer.js';
import { ALGORITHM_OF } from './ecdsa-signer.js';
import { MsSignError } from '../../errors.js';
import type { Glob } from '../../format/glob.js';
import { dssePae } from '../../oms/pae.js';
import { encodeOmsBundle, encodeOmsStatement } from '../../oms/export.js';
import { IN_TOTO_PAYLOAD_TYPE } from '../../oms/bundle.js';
import { checkOmsIgnorePath, normalisePath } from '../../oms/statement.js';
import { hashModelFiles, type HashingOptions } from '../contents.js';
import { realSignaturePath } from '../signature-path.js';
import { resolveModel, walkModel } from '../walk.js';
import { GIT_PATHS } from './contents.js';
import { CURVE_HASH, ecPublicKeyFromSpki } from './ec-key.js';

export interface SignOmsOptions extends HashingOptions {
  readonly signer: Signer;
  /** Where the bundle will be written: left out of the model, and recorded as ignored, if inside it. */
  readonly signaturePath: string;
  /** Paths relative to the model root to leave out (recorded in the bundle). */
  readonly ignore?: readonly string[];
  /** Subject name; default: the model's file or directory name. */
  readonly name?: string;
}

/**
 * Signs a model as an OMS bundle that model_signing 1.1.1 verifies with `verify key`. Refuses what
 * it would reject: keys other than ECDSA P-256/P-384/P-521 (model_signing takes only elliptic-curve
 * keys) and symbolic links in the model. Checks the signer's signature before returning the bytes.
 */
export async function signOmsModel(modelPath: string, options: SignOmsOptions): Promise<{ bundle: Uint8Array; payload: Uint8Array; files: number }> {
  const { signer } = options;
  if (!signer.algorithm.startsWith('ecdsa-')) {
    throw new MsSignError('BAD_KEY', `${signer.description} is an ${signer.algorithm} key; OMS bundles that model_signing verifies need an ECDSA P-256, P-384 or P-521 key`);
  }
  const key = ecPublicKeyFromSpki(signer.publicKey, signer.description);
  if (ALGORITHM_OF[key.curve] !== signer.algorithm) throw new MsSignError('BAD_KEY', `${signer.description}: algorithm ${signer.algorithm} does not match its ${key.curve} key`);

  const model = resolveModel(modelPath);
  const ignorePaths = new Set(GIT_PATHS);
  for (const path of options.ignore ?? []) {
    const why = checkOmsIgnorePath(path);
    if (why !== undefined) throw new MsSignError('USAGE', `ignore path ${JSON.stringify(path)} is refused: ${why}; give paths relative to the model root`);
    if (model.kind === 'file') throw new MsSignError('USAGE', 'ignore paths apply to directory models only');
    ignorePaths.add(normalisePath(path));
  }
  const realSig = realSignaturePath(options.signaturePath);
  if (model.kind === 'directory' && realSig !== undefined) {
    const inside = relative(model.root, realSig);
    if (inside !== '' && !inside.startsWith('..') && !inside.startsWith(sep)) ignorePaths.add(inside.split(sep).join('/'));
  }
  const ignore: Glob = { pattern: '(OMS ignore paths)', matches: (rel) => ignorePaths.has(rel) };
  const walk = walkModel(modelPath, { ignore: model.kind === 'directory' ? [ignore] : [], withStats: true, ...(realSig ? { exclude: new Set([realSig]) } : {}) });
  const problem = walk.problems[0];
  if (problem) {
    const why = problem.code === 'UNSAFE_FILE_TYPE' ? ' (model_signing refuses symbolic links and special files unless told to follow them; ms-sign never follows them)' : '';
    throw new MsSignError(problem.code, `${problem.message}${why}`, { path: problem.path });
  }
  if (walk.files.length === 0) throw new MsSignError('USAGE', `model ${modelPath} has no files to sign`);
  // Whole files: files mode has one digest per file.
  const hashed = await hashModelFiles(walk, 'sha256', Number.MAX_SAFE_INTEGER, options);
  // The walk lists files by code point (the OMS spec's order); a single file is named ".".
  const files = hashed.map((f) => ({ path: model.kind === 'file' ? '.' : f.path, digest: f.digests[0]! }));
  const payload = encodeOmsStatement({ subjectName: options.name ?? basename(resolve(modelPath)), files, ignorePaths: [...ignorePaths] });
  const pae = dssePae(IN_TOTO_PAYLOAD_TYPE, payload);
  const signature = await signer.sign(pae);
  // A broken or hostile signer must never produce a bundle: DER, the curve's hash, this key.
  let ok = false;
  try {
    ok = verifySignature(CURVE_HASH[key.curve], pae, { key: key.keyObject, dsaEncoding: 'der' }, signature);
  } catch {
    ok = false;
  }
  if (!ok) throw new MsSignError('BAD_SIGNATURE', `${signer.description} returned a signature that does not verify (DER ECDSA with ${CURVE_HASH[key.curve]} expected); nothing was written`);
  return { bundle: encodeOmsBundle(payload, signature, key.hint), payload, files: files.length };
}
