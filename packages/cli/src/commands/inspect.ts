import { describeNativeListing, formatDate, LIMITS, MsSignError, NATIVE_FORMAT, signatureFormatOf, toHex, type ManifestFile, type NativeListing, type SignatureDescription } from '@ms-sign/core';
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
  let view: Record<string, unknown> | undefined;
  let listing: NativeListing | undefined;
  const path = resolve(io.cwd, sig);
  if (describeNonSignature(path) === 'a public key') return inspectPublicKey(sig, options, io);
  try {
    const bytes = readBoundedFile(path, LIMITS.signatureFileBytes, 'MALFORMED_SIGNATURE_FILE', 'signature file');
    if (bytes === undefined) throw new MsSignError('MISSING_SIGNATURE_FILE', `signature file ${sig} not found`, { path: sig });
    const format = signatureFormatOf(bytes, ALL_SIGNATURE_FORMATS);
    // Native files are listed entry by entry: an unverified file may claim a million entries.
    if (format.id === NATIVE_FORMAT.id) listing = describeNativeListing(bytes, sig);
    else view = { ok: true, verified: false, signature: sig, ...describeView(format.describe(bytes, sig)), errors: [] };
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
  if (listing !== undefined) {
    if (options.json) printNativeJson(io, sig, listing);
    else printNative(io, sig, listing);
    return 0;
  }
  view = view!;
  if (options.json) {
    printJson(io, view);
    return 0;
  }
  printOms(io, sig, view);
  return 0;
}

/** The --json fields of a native signature file, in the order inspect prints them, but its files. */
function nativeView(sig: string, listing: NativeListing): Record<string, unknown> {
  const { header } = listing.listing;
  return {
    ok: true,
    verified: false,
    signature: sig,
    payloadType: listing.payloadType,
    subject: { name: header.subject.name, version: header.subject.version ?? null },
    kind: header.kind,
    hashAlgorithm: header.hashAlgorithm,
    shardSize: header.shardSize,
    created: formatDate(header.created),
    expires: header.expires === undefined ? null : formatDate(header.expires),
    ignore: header.ignore,
    annotations: { ...header.annotations },
    signers: listing.signers,
  };
}

function fileView(f: ManifestFile): { path: string; size: number; digest: string } | { path: string; size: number; shards: string[] } {
  return f.digests.length === 1 ? { path: f.path, size: f.size, digest: toHex(f.digests[0]!) } : { path: f.path, size: f.size, shards: f.digests.map(toHex) };
}

/**
 * The same JSON as printJson of the whole view, written a file at a time: the file list is never
 * one string (a million entries would be 140 MB of it).
 */
function printNativeJson(io: CliIo, sig: string, listing: NativeListing): void {
  const whole = JSON.stringify({ ...nativeView(sig, listing), files: [], errors: [] }, null, 2);
  const at = whole.indexOf('\n  "files": []');
  const out = batchedWriter(io);
  out.write(`${whole.slice(0, at)}\n  "files": [`);
  let first = true;
  for (const f of listing.listing.files()) {
    out.write(`${first ? '' : ','}\n    ${JSON.stringify(fileView(f), null, 2).replaceAll('\n', '\n    ')}`);
    first = false;
  }
  out.write(`${first ? ']' : '\n  ]'}${whole.slice(at + '\n  "files": []'.length)}\n`);
  out.flush();
}

/** Writes to stdout in pieces of about 64 KiB: a million one-line writes cost a million buffers and system calls. */
function batchedWriter(io: CliIo): { write(text: string): void; flush(): void } {
  let pending: string[] = [];
  let length = 0;
  const flush = () => {
    if (pending.length > 0) io.stdout.write(pending.join(''));
    pending = [];
    length = 0;
  };
  return {
    write(text) {
      pending.push(text);
      length += text.length;
      if (length >= 65536) flush();
    },
    flush,
  };
}

/** A native signature file, one line per file, written as each entry is read. */
function printNative(io: CliIo, sig: string, listing: NativeListing): void {
  const view = nativeView(sig, listing);
  const subject = view.subject as { name: string; version: string | null };
  const writer = batchedWriter(io);
  const out = (line: string) => writer.write(`${line}\n`);
  out(`Signature file ${printable(sig)} (NOT verified: run "ms-sign verify" to check it)`);
  out(`  model:       ${printable(subject.name)}${subject.version ? ` version ${printable(subject.version)}` : ''} (${String(view.kind)})`);
  out(`  created:     ${String(view.created)}${view.expires ? `, expires ${String(view.expires)}` : ''}`);
  out(`  hash:        ${String(view.hashAlgorithm)}, shards of ${formatBytes(view.shardSize as number)}`);
  out(`  signers:     ${listing.signers.map(signerName).join(', ')}`);
  const ignore = view.ignore as string[];
  if (ignore.length > 0) out(`  ignore:      ${ignore.map((p) => printable(p)).join(', ')}`);
  for (const [key, value] of Object.entries(view.annotations as Record<string, string>)) out(`  annotation:  ${printable(key)}=${printable(value)}`);
  out(`  files:       ${listing.listing.fileCount} (${formatBytes(listing.listing.totalBytes)})`);
  for (const f of listing.listing.files()) out(`    ${f.digests.length === 1 ? toHex(f.digests[0]!) : `${f.digests.length} shards`}  ${f.size}  ${printable(f.path)}`);
  writer.flush();
}

/** The --json fields of an OMS bundle's description, in the order inspect prints them. */
function describeView(description: SignatureDescription): Record<string, unknown> {
  const { expected } = description;
  switch (expected.kind) {
    case 'manifest':
      // Listed by describeNativeListing instead.
      throw new Error('inspect: a native signature file is listed entry by entry');
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
