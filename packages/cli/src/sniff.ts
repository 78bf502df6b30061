import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';

const HEAD_BYTES = 4096;

/**
 * What a file that is not a signature file looks like, for a message that helps ("it looks like
 * a MindSpore Lite model") instead of the CBOR decoder's complaint. Reads at most 4 KiB; returns
 * undefined when the file could be a damaged signature file (it starts like one: a CBOR map).
 */
export function describeNonSignature(path: string): string | undefined {
  let head: Buffer;
  let fd: number | undefined;
  try {
    // Non-blocking and checked on the open file: a FIFO or device must not hang or be read.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
    const stats = fstatSync(fd);
    if (stats.isDirectory()) return 'a directory (a model?)';
    if (!stats.isFile()) return undefined;
    head = Buffer.alloc(HEAD_BYTES);
    head = head.subarray(0, readSync(fd, head, 0, HEAD_BYTES, 0));
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (head.length === 0) return 'an empty file';
  // Signature files are CBOR maps (major type 5): a damaged one keeps the decoder's message.
  if (head[0]! >> 5 === 5) return undefined;
  const text = head.toString('latin1');
  if (text.startsWith('-----BEGIN PUBLIC KEY-----')) return 'a public key';
  if (/^-----BEGIN (ENCRYPTED )?PRIVATE KEY-----/.test(text)) return 'a secret key (keep it private; it is not a signature file)';
  if (/^\s*[{[]/.test(text)) return /"publishers"\s*:/.test(text) ? 'a trust policy (JSON)' : 'a JSON document';
  if (head.length >= 8 && text.slice(4, 8) === 'MSL2') return 'a MindSpore Lite model (.ms)';
  if (text.includes('MindSpore')) return 'a MindSpore model (MindIR)';
  // eslint-disable-next-line no-control-regex
  if (/^[\x09\x0a\x0d\x20-\x7e]*$/.test(text)) return 'a text file';
  return 'binary data (a model?)';
}
