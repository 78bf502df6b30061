import {
  MsSignError,
  parseWhen,
  LIMITS,
  type HashAlgorithm,
  contentsSummary,
  type ExpectedContents,
  type SignedStatement,
  signatureFormatOf,
} from '@ms-sign/core';
import { cosignModel, defaultSignaturePath, signModel, SignScanRefusal, writeFileAtomic, type SignScanReport } from '@ms-sign/core/node';
import { exitCodeFor } from '../exit-codes.js';
import { ignoredBy, readBoundedFile, resolveModel } from '@ms-sign/core/internal';
import { resolve } from 'node:path';
import { printable, writeLine, type CliIo } from '../io.js';
import { formatBytes, printJson, printProblems, signerName } from '../output.js';
import { refuseOutputOverInputs, refuseSignatureOverModelFile } from '../outputs.js';
import { startProgress } from '../progress.js';
import { openSigner, type SignerFlags } from '../signers.js';
import { parseAllowGlobals } from './scan.js';

export interface SignOptions extends SignerFlags {
  readonly output?: string;
  readonly name?: string;
  readonly modelVersion?: string;
  readonly annotation: readonly string[];
  readonly ignore: readonly string[];
  /** false with --no-ignore-git. */
  readonly ignoreGit?: boolean;
  readonly hash: HashAlgorithm;
  readonly expires?: string;
  readonly append?: boolean;
  readonly acceptIgnores?: boolean;
  readonly force?: boolean;
  readonly shardSize?: number;
  readonly threads?: number;
  readonly json?: boolean;
  /** native (ms-sign's own signature file, the default) or oms (an OMS bundle for model_signing). */
  readonly format?: 'native' | 'oms';
  /** false: --no-scan, the same as --scan off. */
  readonly scan?: 'off' | 'no-unsafe' | 'clean' | false;
  readonly quiet?: boolean;
  readonly progress?: boolean;
  readonly allowUnsafe?: boolean;
  readonly allowGlobal?: readonly string[];
}

/** `ms-sign sign MODEL`: hash the model and write MODEL.sig atomically (or co-sign with --append). */
export async function signCommand(model: string, options: SignOptions, io: CliIo): Promise<number> {
  const modelPath = resolve(io.cwd, model);
  const signatureArg = options.output ?? defaultSignaturePath(model);
  const signaturePath = resolve(io.cwd, signatureArg);
  const now = Math.floor(Date.now() / 1000);
  const annotations = parseAnnotations(options.annotation);
  let expires: number | undefined;
  if (options.expires !== undefined) {
    expires = parseWhen(options.expires, now);
    if (expires === undefined) throw new MsSignError('USAGE', `--expires ${JSON.stringify(options.expires)}: expected a duration (90d, 12h, 2w) or a date (2027-01-31)`);
  }
  if (options.append) {
    const conflicting = ['name', 'modelVersion', 'expires', 'shardSize'].filter((k) => options[k as keyof SignOptions] !== undefined);
    if (conflicting.length > 0 || options.annotation.length > 0 || options.force || (options.allowGlobal?.length ?? 0) > 0) {
      throw new MsSignError('USAGE', '--append co-signs the existing manifest as it is; it takes no --name, --model-version, -a, --allow-global, --expires or --force');
    }
    if (options.acceptIgnores && options.ignore.length > 0) throw new MsSignError('USAGE', 'give either --ignore (the patterns you vouch for) or --accept-ignores, not both');
  } else {
    if (options.acceptIgnores) throw new MsSignError('USAGE', '--accept-ignores goes with --append');
    refuseOutputOverInputs(signaturePath, signatureArg, [
      { path: modelPath, what: 'the model' },
      ...(options.key === undefined ? [] : [{ path: resolve(io.cwd, options.key), what: 'the secret key' }]),
    ]);
    const resolved = resolveModel(modelPath);
    if (resolved.kind === 'directory') refuseSignatureOverModelFile(signaturePath, signatureArg, resolved.root);
  }
  if (options.format === 'oms') {
    const unsupported = ['modelVersion', 'expires', 'shardSize', 'append'].filter((k) => options[k as keyof SignOptions] !== undefined && options[k as keyof SignOptions] !== false);
    if (unsupported.length > 0 || options.annotation.length > 0 || options.hash !== 'sha256') {
      throw new MsSignError('USAGE', '--format oms writes what model_signing verifies: files mode, SHA-256, no version, annotations, expiry, shard size or co-signing');
    }
  }
  const allowGlobals = parseAllowGlobals(options.allowGlobal);
  // -k, --pkcs11 or --signer-cmd; a token session stays open until signing is done.
  const { signer, close: closeSigner } = await openSigner(options, io);
  if (options.format === 'oms') {
    try {
      const { signOmsCommand } = await import('./sign-oms.js');
      return await signOmsCommand(model, signer, options, io, signatureArg);
    } finally {
      closeSigner();
    }
  }
  // An ECDSA key file (keygen --algorithm ecdsa-p256) is the wrong key for a native signature
  // file; a token's ECDSA key is refused by the native format itself (SIGNER_FAILED).
  if (signer.algorithm !== 'ed25519' && options.pkcs11 === undefined) {
    closeSigner();
    throw new MsSignError('BAD_KEY', `${signer.description} is an ${signer.algorithm} key; ms-sign signature files are signed with Ed25519 keys (an ECDSA key signs OMS bundles: --format oms)`);
  }
  const progress = startProgress(io, options.json !== true && options.quiet !== true, undefined, options.progress === true);
  let signed: { readonly statement: SignedStatement; readonly expected: ExpectedContents; readonly signatureFile: Uint8Array; readonly scan?: SignScanReport };
  try {
    const hashing = { threads: options.threads, onProgress: progress.onProgress };
    if (options.append) {
      const existing = readBoundedFile(signaturePath, LIMITS.signatureFileBytes, 'MALFORMED_SIGNATURE_FILE', 'signature file');
      if (existing === undefined) throw new MsSignError('MISSING_SIGNATURE_FILE', `--append: signature file ${signatureArg} not found`, { path: signatureArg });
      try {
        // The co-signer vouches for what the signature leaves out: the same --ignore list, or
        // --accept-ignores after reading the patterns the refusal lists.
        signed = await cosignModel(modelPath, existing, { signer, signaturePath, ...(options.acceptIgnores ? {} : { ignore: options.ignore, ignoreGit: options.ignoreGit !== false }), ...hashing });
      } catch (error) {
        if (error instanceof MsSignError && error.code === 'IGNORE_MISMATCH') {
          throw new MsSignError(error.code, `${error.message}; co-sign with the same --ignore list, or with --accept-ignores once you have checked them`, { path: signatureArg, cause: error });
        }
        throw error;
      }
    } else {
      if (!options.force) refuseToDropSignatures(signaturePath, signatureArg, signer.keyId);
      const { manifest, signatureFile, scan } = await signModel(modelPath, {
        signers: [signer],
        ...(options.scan === undefined ? {} : { scan: options.scan === false ? 'off' : options.scan }),
        ...(options.allowUnsafe ? { allowUnsafe: true } : {}),
        ...(allowGlobals.size > 0 ? { allowGlobals } : {}),
        signaturePath,
        annotations,
        ignore: options.ignore,
        ignoreGit: options.ignoreGit !== false,
        hashAlgorithm: options.hash,
        now,
        ...(options.name === undefined ? {} : { name: options.name }),
        ...(options.modelVersion === undefined ? {} : { version: options.modelVersion }),
        ...(expires === undefined ? {} : { expires }),
        ...(options.shardSize === undefined ? {} : { shardSize: options.shardSize }),
        ...hashing,
      });
      signed = { statement: manifest, expected: { kind: 'manifest', manifest }, signatureFile, ...(scan === undefined ? {} : { scan }) };
    }
  } catch (error) {
    if (!(error instanceof SignScanRefusal)) throw error;
    progress.stop();
    // Every finding, not only the first: the publisher has to fix them all.
    const problems = error.scan.problems.map((p) => (p.code === error.code ? { ...p, message: `${p.message}; nothing was signed (--allow-unsafe signs anyway)` } : p));
    if (options.json) printJson(io, { ok: false, model, scan: presentScan(error.scan), errors: problems });
    else printProblems(io, problems);
    return exitCodeFor(problems);
  } finally {
    progress.stop();
    closeSigner();
  }
  const scanFailed = (signed.scan?.problems.length ?? 0) > 0;
  // --allow-unsafe: signed anyway, and said so on stderr.
  if (scanFailed && !options.json) {
    writeLine(io.stderr, 'ms-sign: signing despite the scan (--allow-unsafe):');
    printProblems(io, signed.scan!.problems);
  }
  writeFileAtomic(signaturePath, signed.signatureFile, { overwrite: true });

  const { statement } = signed;
  const { count, bytes: recorded } = contentsSummary(signed.expected);
  const bytes = recorded ?? 0;
  const ignored = ignoredBy(signed.expected);
  if (options.json) {
    printJson(io, {
      ok: true,
      model,
      signature: signatureArg,
      keyId: signer.keyId,
      appended: options.append === true,
      ignore: ignored,
      subject: { name: statement.subject.name, version: statement.subject.version ?? null },
      files: { count, bytes },
      ...(signed.scan === undefined ? {} : { scan: presentScan(signed.scan) }),
      errors: [],
    });
  } else if (!options.quiet) {
    const what = `${count} file${count === 1 ? '' : 's'}${recorded === null ? '' : `, ${formatBytes(recorded)}`}`;
    writeLine(io.stdout, `${options.append ? 'Co-signed' : 'Signed'} ${printable(model)} as "${printable(statement.subject.name)}"${statement.subject.version ? ` version ${printable(statement.subject.version)}` : ''} (${what}) with key ${signer.keyId}`);
    if (ignored.length > 0) writeLine(io.stdout, `Ignored (not covered): ${ignored.map((p) => printable(p)).join(', ')}`);
    writeLine(io.stdout, `Signature: ${printable(signatureArg)}`);
  }
  return 0;
}

/**
 * Plain sign replaces the signature file: refuse when that would silently drop other signers'
 * signatures (co-signers of a threshold rule). A file that does not decode holds nothing to keep.
 */
function refuseToDropSignatures(signaturePath: string, signatureArg: string, keyId: string): void {
  let others: string[];
  try {
    const existing = readBoundedFile(signaturePath, LIMITS.signatureFileBytes, 'MALFORMED_SIGNATURE_FILE', 'signature file');
    if (existing === undefined) return;
    const { signers } = signatureFormatOf(existing).describe(existing, signatureArg);
    others = signers.filter((s) => s.keyId !== keyId).map(signerName);
  } catch (error) {
    if (error instanceof MsSignError && error.code !== 'IO_ERROR') return;
    throw error;
  }
  if (others.length === 0) return;
  throw new MsSignError(
    'WOULD_DROP_SIGNATURES',
    `${signatureArg} holds signatures by other signers (${[...new Set(others)].join(', ')}); signing would drop them. Co-sign with --append, write elsewhere with -o, or replace it with --force`,
    { path: signatureArg },
  );
}

function presentScan(scan: SignScanReport) {
  return { mode: scan.mode, summary: scan.summary, files: scan.files, ...(scan.problems.length > 0 ? { findings: scan.problems } : {}) };
}

function parseAnnotations(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new MsSignError('USAGE', `-a ${JSON.stringify(pair)}: expected KEY=VALUE`);
    const key = pair.slice(0, eq);
    if (Object.hasOwn(out, key)) throw new MsSignError('USAGE', `-a: annotation ${JSON.stringify(key)} given twice`);
    out[key] = pair.slice(eq + 1);
  }
  return out;
}
