import { formatDate, LIMITS, MsSignError, signatureFormatOf, toHex, type SignatureDescription } from '@ms-sign/core';
import { readBoundedFile } from '@ms-sign/core/internal';
import { resolve } from 'node:path';
import { exitCodeFor } from '../exit-codes.js';
import { printable, writeLine, type CliIo } from '../io.js';
import { formatBytes, printJson, printProblems, signerName } from '../output.js';

export interface InspectOptions {
  readonly json?: boolean;
}

/**
 * `ms-sign inspect SIG`: what a signature file claims, decoded as strictly as verify decodes it,
 * but NOT verified: nothing here says who signed it or that a model matches.
 */
export async function inspectCommand(sig: string, options: InspectOptions, io: CliIo): Promise<number> {
  let view: Record<string, unknown>;
  try {
    const bytes = readBoundedFile(resolve(io.cwd, sig), LIMITS.signatureFileBytes, 'MALFORMED_SIGNATURE_FILE', 'signature file');
    if (bytes === undefined) throw new MsSignError('MISSING_SIGNATURE_FILE', `signature file ${sig} not found`, { path: sig });
    view = { ok: true, verified: false, signature: sig, ...describeView(signatureFormatOf(bytes).describe(bytes, sig)), errors: [] };
  } catch (error) {
    if (!(error instanceof MsSignError)) throw error;
    const problems = [error.toProblem()];
    if (options.json) printJson(io, { ok: false, verified: false, signature: sig, errors: problems });
    else printProblems(io, problems);
    return exitCodeFor(problems);
  }
  if (options.json) {
    printJson(io, view);
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
  }
}
