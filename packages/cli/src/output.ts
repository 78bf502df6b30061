import type { Problem, SignerReport } from '@ms-sign/core';
import { paint, printable, useColor, writeLine, type CliIo } from './io.js';

/** Diagnostics go to stderr, one line per problem: "ms-sign: CODE: message". */
export function printProblems(io: CliIo, problems: readonly Problem[]): void {
  const color = useColor(io, 'stderr');
  for (const p of problems) writeLine(io.stderr, `ms-sign: ${paint(color, 31, p.code)}: ${printable(p.message)}`);
}

/** `--json`: exactly one JSON object on stdout, also on failure (SPEC section 2). */
export function printJson(io: CliIo, value: object): void {
  writeLine(io.stdout, JSON.stringify(value, null, 2));
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** A signer as people read it: "key 3f…", or its certificate or Sigstore identity (escaped). */
export function signerName(signer: Pick<SignerReport, 'keyId' | 'certificate' | 'sigstore'>): string {
  if (signer.keyId !== null) return `key ${signer.keyId}`;
  if (signer.certificate) return `certificate ${printable(signer.certificate.subject)} (issued by ${printable(signer.certificate.issuer)})`;
  if (signer.sigstore) return `${printable(signer.sigstore.identity)} (via ${printable(signer.sigstore.issuer)})`;
  return 'unidentified signer';
}
