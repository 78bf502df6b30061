import { formatDate, LIMITS, MsSignError, signatureFormatOf, toHex, type SignatureDescription } from '@ms-sign/core';
import { defaultSignaturePath } from '@ms-sign/core/node';
import { readBoundedFile } from '@ms-sign/core/internal';
import { ALL_SIGNATURE_FORMATS } from '@ms-sign/core/node';
import { resolve } from 'node:path';
import { exitCodeFor } from '../exit-codes.js';
import { printable, writeLine, type CliIo } from '../io.js';
import { loadPublicKey } from '../keys.js';
import { formatBytes, printJson, printProblems, signerName } from '../output.js';
import { describeNonSignature } from '../sniff.js';

export interface InspectOptions {
  readonly json?: boolean;
}

/**
 * `ms-sign inspect SIG`: what a signature file claims, decoded as strictly as verify decodes it,
 * but NOT verified: nothing here says who signed it or that a model matches.
 */
export async function inspectCommand(sig: string, options: InspectOptions, io: CliIo): Promise<number> {
  let view: Record<string, unknown>;
  const path = resolve(io.cwd, sig);
  if (describeNonSignature(path) === 'a public key') return inspectPublicKey(sig, options, io);
  try {
    const bytes = readBoundedFile(path, LIMITS.signatureFileBytes, 'MALFORMED_SIGNATURE_FILE', 'signature file');
    if (bytes === undefined) throw new MsSignError('MISSING_SIGNATURE_FILE', `signature file ${sig} not found`, { path: sig });
    view = { ok: true, verified: false, signature: sig, ...describeView(signatureFormatOf(bytes, ALL_SIGNATURE_FORMATS).describe(bytes, sig)), errors: [] };
  } catch (error) {
    if (!(error instanceof MsSignError)) throw error;
    const looks = error.code === 'MALFORMED_SIGNATURE_FILE' || error.code === 'UNSUPPORTED_FORMAT' ? describeNonSignature(path) : undefined;
    const problems = [
      looks === undefined
        ? error.toProblem()
        : {
            code: error.code,
            message: `${sig} is not an ms-sign signature file: it looks like ${looks}${looks.includes('model') ? `; its signature file would be ${defaultSignaturePath(sig)}` : ''}`,
            path: sig,
          },
    ];
    if (options.json) printJson(io, { ok: false, verified: false, signature: sig, errors: problems });
    else printProblems(io, problems);
    return exitCodeFor(problems);
  }
  if (options.json) {
    printJson(io, view);
    return 0;
  }
  if (view.format === 'oms') {
    printOms(io, sig, view);
    return 0;
  }
  const files = view.files as { path: string; size: number; digest?: string; shards?: string[] }[];
  const subject = view.subject as { name: string; version: string | null };
  const out = (line: string) => writeLine(io.stdout, line);
  out(`Signature file ${printable(sig)} (NOT verified: run "ms-sign verify" to check it)`);
  out(`  model:       ${printable(subject.name)}${subject.version ? ` version ${printable(subject.version)}` : ''} (${String(view.kind)})`);
  out(`  created:     ${String(view.created)}${view.expires ? `, expires ${String(view.expires)}` : ''}`);
  out(`  hash:        ${String(view.hashAlgorithm)}, shards of ${formatBytes(view.shardSize as number)}`);
  out(`  signers:     ${(view.signers as SignatureDescription['signers']).map(signerName).join(', ')}`);
  const ignore = view.ignore as string[];
  if (ignore.length > 0) out(`  ignore:      ${ignore.map((p) => printable(p)).join(', ')}`);
  for (const [key, value] of Object.entries(view.annotations as Record<string, string>)) out(`  annotation:  ${printable(key)}=${printable(value)}`);
  out(`  files:       ${files.length} (${formatBytes(files.reduce((n, f) => n + f.size, 0))})`);
  for (const f of files) out(`    ${f.digest ?? `${f.shards!.length} shards`}  ${f.size}  ${printable(f.path)}`);
  return 0;
}

/** The --json fields of a signature file's description, in the order inspect prints them. */
function describeView(description: SignatureDescription): Record<string, unknown> {
  const { statement, expected } = description;
  switch (expected.kind) {
    case 'manifest': {
      const manifest = expected.manifest;
      return {
        payloadType: description.payloadType,
        subject: { name: statement.subject.name, version: statement.subject.version ?? null },
        kind: manifest.kind,
        hashAlgorithm: manifest.hashAlgorithm,
        shardSize: manifest.shardSize,
        created: formatDate(statement.created),
        expires: statement.expires === undefined ? null : formatDate(statement.expires),
        ignore: manifest.ignore,
        annotations: { ...statement.annotations },
        signers: description.signers,
        files: manifest.files.map((f) =>
          f.digests.length === 1 ? { path: f.path, size: f.size, digest: toHex(f.digests[0]!) } : { path: f.path, size: f.size, shards: f.digests.map(toHex) },
        ),
      };
    }
    case 'oms': {
      const s = expected.statement;
      return {
        format: 'oms',
        payloadType: description.payloadType,
        flavour: s.flavour,
        mode: expected.mode,
        predicateType: s.predicateType,
        subject: { name: s.subjectName, rootDigest: s.rootDigest },
        kind: s.singleFile ? 'file' : 'directory',
        serialization: { method: s.method, hashType: s.hashType, shardSize: s.shardSize ?? null, allowSymlinks: s.allowSymlinks },
        ignore: s.ignorePaths,
        signers: description.signers,
        resources: s.resources,
      };
    }
  }
}

/** An OMS / model_signing bundle: its statement, resources and claimed signer, as listed. */
function printOms(io: CliIo, sig: string, view: Record<string, unknown>): void {
  const out = (line: string) => writeLine(io.stdout, line);
  const subject = view.subject as { name: string | null; rootDigest: string | null };
  const ser = view.serialization as { method: string; hashType: string; shardSize: number | null; allowSymlinks: boolean };
  const resources = view.resources as { name: string; algorithm: string; digest: string }[];
  out(`OMS / model_signing bundle ${printable(sig)} (NOT verified: run "ms-sign verify" to check it)`);
  out(`  layout:      ${String(view.flavour)}, ${String(view.mode)} mode, predicate ${printable(String(view.predicateType))}`);
  out(`  model:       ${printable(subject.name ?? '(unnamed)')} (${String(view.kind)})${subject.rootDigest ? `, root sha256 ${subject.rootDigest}` : ''}`);
  out(`  hash:        ${ser.method}, ${ser.hashType}${ser.shardSize === null ? '' : `, shards of ${formatBytes(ser.shardSize)}`}${ser.allowSymlinks ? ', symbolic links allowed' : ''}`);
  out(`  signer:      ${(view.signers as SignatureDescription['signers']).map(signerName).join(', ')} (as the bundle claims)`);
  const ignore = view.ignore as string[];
  if (ignore.length > 0) out(`  ignore:      ${ignore.map((p) => printable(p)).join(', ')}`);
  out(`  resources:   ${resources.length}`);
  for (const r of resources) out(`    ${r.digest}  ${printable(r.algorithm)}  ${printable(r.name)}`);
}

/** `inspect KEY.pub` (and `keyid KEY.pub`): the key id that signatures, policies and revocations name. */
export async function inspectPublicKey(file: string, options: InspectOptions, io: CliIo): Promise<number> {
  const key = loadPublicKey(file, io);
  if (options.json) printJson(io, { ok: true, publicKey: file, keyId: key.keyId, errors: [] });
  else writeLine(io.stdout, `${key.keyId}  ${printable(file)}`);
  return 0;
}
