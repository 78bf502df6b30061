import { fromBase64, toBase64 } from '../bytes.js';

/**
 * PEM armor (RFC 7468, strict base64 body). readPemBlocks returns every well-formed block in the
 * text; the callers decide how many they accept and with which label.
 */
export interface PemBlock {
  readonly label: string;
  readonly der: Uint8Array;
}

const PEM = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END \1-----/g;

export function readPemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const m of text.matchAll(PEM)) {
    const body = m[2]!.replace(/[\r\n]/g, '');
    const der = fromBase64(body);
    if (der !== undefined) blocks.push({ label: m[1]!, der });
  }
  return blocks;
}

export function writePem(label: string, der: Uint8Array): string {
  const b64 = toBase64(der);
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
