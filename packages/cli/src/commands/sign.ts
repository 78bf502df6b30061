import {
  MsSignError,
  parseWhen,
  LIMITS,
  type HashAlgorithm,
  contentsSummary,
  type ExpectedContents,
  type SignedStatement,
} from '@ms-sign/core';
import { cosignModel, defaultSignaturePath, signModel, SignScanRefusal, writeFileAtomic, type SignScanReport } from '@ms-sign/core/node';
import { exitCodeFor } from '../exit-codes.js';
import { readBoundedFile } from '@ms-sign/core/internal';
import { resolve } from 'node:path';
import { printable, writeLine, type CliIo } from '../io.js';
import { formatBytes, printJson, printProblems } from '../output.js';
import { startProgress } from '../progress.js';
import { openSigner, type SignerFlags } from '../signers.js';

export interface SignOptions extends SignerFlags {
  readonly output?: string;
  readonly name?: string;
  readonly modelVersion?: string;
  readonly annotation: readonly string[];
  readonly ignore: readonly string[];
  readonly hash: HashAlgorithm;
  readonly expires?: string;
  readonly append?: boolean;
  readonly shardSize?: number;
  readonly threads?: number;
  readonly json?: boolean;
  readonly scan?: 'off' | 'no-unsafe' | 'clean';
  readonly allowUnsafe?: boolean;
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
    if (conflicting.length > 0 || options.annotation.length > 0 || options.ignore.length > 0) {
      throw new MsSignError('USAGE', '--append co-signs the existing manifest as it is; it takes no --name, --model-version, -a, --ignore or --expires');
    }
  }
  // -k, --pkcs11 or --signer-cmd; a token session stays open until signing is done.
  const { signer, close: closeSigner } = await openSigner(options, io);
  const progress = startProgress(io, options.json !== true);
  let signed: { readonly statement: SignedStatement; readonly expected: ExpectedContents; readonly signatureFile: Uint8Array; readonly scan?: SignScanReport };
  try {
    const hashing = { threads: options.threads, onProgress: progress.onProgress };
    if (options.append) {
      const existing = readBoundedFile(signaturePath, LIMITS.signatureFileBytes, 'MALFORMED_SIGNATURE_FILE', 'signature file');
      if (existing === undefined) throw new MsSignError('MISSING_SIGNATURE_FILE', `--append: signature file ${signatureArg} not found`, { path: signatureArg });
      signed = await cosignModel(modelPath, existing, { signer, signaturePath, ...hashing });
    } else {
      const { manifest, signatureFile, scan } = await signModel(modelPath, {
        signers: [signer],
        ...(options.scan === undefined ? {} : { scan: options.scan }),
        ...(options.allowUnsafe ? { allowUnsafe: true } : {}),
        signaturePath,
        annotations,
        ignore: options.ignore,
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
  if (options.json) {
    printJson(io, {
      ok: true,
      model,
      signature: signatureArg,
      keyId: signer.keyId,
      appended: options.append === true,
      subject: { name: statement.subject.name, version: statement.subject.version ?? null },
      files: { count, bytes },
      ...(signed.scan === undefined ? {} : { scan: presentScan(signed.scan) }),
      errors: [],
    });
  } else {
    const what = `${count} file${count === 1 ? '' : 's'}${recorded === null ? '' : `, ${formatBytes(recorded)}`}`;
    writeLine(io.stdout, `${options.append ? 'Co-signed' : 'Signed'} ${printable(model)} as "${printable(statement.subject.name)}"${statement.subject.version ? ` version ${printable(statement.subject.version)}` : ''} (${what}) with key ${signer.keyId}`);
    writeLine(io.stdout, `Signature: ${printable(signatureArg)}`);
  }
  return 0;
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
