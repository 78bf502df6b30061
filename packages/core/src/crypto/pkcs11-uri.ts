import { decodeUtf8Strict, toHex } from '../bytes.js';
import { MsSignError } from '../errors.js';

/**
 * A parsed PKCS#11 URI (RFC 7512): which token and which key object to use, and optionally the
 * module library and the PIN. Attributes left out match anything, as RFC 7512 section 2.3 says.
 */
export interface Pkcs11Uri {
  /** Token attributes (CK_TOKEN_INFO): label, manufacturerID, model, serialNumber. */
  readonly token?: string;
  readonly manufacturer?: string;
  readonly model?: string;
  readonly serial?: string;
  /** Slot: its numeric id, or its description or manufacturer (CK_SLOT_INFO). */
  readonly slotId?: bigint;
  readonly slotDescription?: string;
  readonly slotManufacturer?: string;
  /** Key object: CKA_LABEL and CKA_ID (raw bytes). */
  readonly object?: string;
  readonly id?: Uint8Array;
  /** Object class; ms-sign signs with private keys, so only "private" (or none) is accepted. */
  readonly type?: 'private';
  /** Query attributes (RFC 7512 section 2.3): the module to load and the PIN. */
  readonly modulePath?: string;
  readonly moduleName?: string;
  readonly pinValue?: string;
  /** The URI rebuilt without pin-value, for messages and logs. */
  readonly redacted: string;
}

/** Longer URIs are refused before parsing: a real one is a few hundred characters. */
export const PKCS11_URI_MAX_LENGTH = 4096;

const PATH_ATTRIBUTES = new Set([
  'token', 'manufacturer', 'model', 'serial', 'slot-id', 'slot-description', 'slot-manufacturer',
  'object', 'id', 'type', 'library-manufacturer', 'library-description', 'library-version',
]);
const QUERY_ATTRIBUTES = new Set(['module-path', 'module-name', 'pin-value', 'pin-source']);

/**
 * Parses a PKCS#11 URI such as `pkcs11:token=release;object=model-key?module-path=/usr/lib/x.so`.
 *
 * Strict where a lax parser would sign with the wrong key: an unknown attribute (a typo such as
 * `objet=` would otherwise match every object) and a repeated one are errors, as are malformed
 * percent-escapes and values that are not UTF-8. Vendor attributes (`x-...`) are accepted and
 * ignored (RFC 7512 section 2.3). `pin-source` is refused: ms-sign reads the PIN from the URI's
 * pin-value, its environment or a prompt, never from a file or command the URI names.
 *
 * @example
 * ```ts
 * const uri = parsePkcs11Uri('pkcs11:token=release;object=model-key?pin-value=1234');
 * uri.object; // 'model-key'
 * uri.redacted; // 'pkcs11:token=release;object=model-key'
 * ```
 */
export function parsePkcs11Uri(text: string): Pkcs11Uri {
  const fail = (why: string): never => {
    throw new MsSignError('USAGE', `PKCS#11 URI: ${why}`);
  };
  if (text.length > PKCS11_URI_MAX_LENGTH) fail(`longer than ${PKCS11_URI_MAX_LENGTH} characters`);
  if (!/^pkcs11:/i.test(text)) fail('must start with "pkcs11:"');
  const body = text.slice('pkcs11:'.length);
  const question = body.indexOf('?');
  const pathPart = question === -1 ? body : body.slice(0, question);
  const queryPart = question === -1 ? '' : body.slice(question + 1);

  const values = new Map<string, Uint8Array>();
  const read = (part: string, separator: string, known: Set<string>, where: string) => {
    if (part === '') return;
    for (const item of part.split(separator)) {
      const eq = item.indexOf('=');
      // The item itself is not echoed: it might be a mistyped pin-value.
      if (eq <= 0) fail(`a ${where} attribute is not NAME=VALUE`);
      const name = item.slice(0, eq).toLowerCase();
      if (!known.has(name) && !name.startsWith('x-')) fail(`unknown ${where} attribute ${JSON.stringify(name)}`);
      if (values.has(name)) fail(`attribute ${JSON.stringify(name)} given twice`);
      values.set(name, percentDecode(item.slice(eq + 1), name, fail));
    }
  };
  read(pathPart, ';', PATH_ATTRIBUTES, 'path');
  read(queryPart, '&', QUERY_ATTRIBUTES, 'query');
  if (values.has('pin-source')) fail('pin-source is not supported; give the PIN as pin-value or in the environment');

  const text8 = (name: string): string | undefined => {
    const bytes = values.get(name);
    if (bytes === undefined) return undefined;
    const decoded = decodeUtf8Strict(bytes);
    if (decoded === undefined) fail(`${name} is not UTF-8`);
    // A NUL would be cut off by the C library on the other side and match a shorter label.
    if (decoded!.includes('\u0000')) fail(`${name} holds a NUL character`);
    return decoded;
  };
  const out: { -readonly [K in keyof Pkcs11Uri]: Pkcs11Uri[K] } = { redacted: '' };
  const strings = [
    ['token', 'token'], ['manufacturer', 'manufacturer'], ['model', 'model'], ['serial', 'serial'],
    ['slot-description', 'slotDescription'], ['slot-manufacturer', 'slotManufacturer'], ['object', 'object'],
    ['module-path', 'modulePath'], ['module-name', 'moduleName'], ['pin-value', 'pinValue'],
  ] as const;
  for (const [name, field] of strings) {
    const value = text8(name);
    if (value !== undefined) out[field] = value;
  }
  const slotId = text8('slot-id');
  if (slotId !== undefined) {
    if (!/^[0-9]{1,20}$/.test(slotId)) fail(`slot-id must be a decimal number, got ${JSON.stringify(slotId)}`);
    out.slotId = BigInt(slotId);
  }
  const id = values.get('id');
  if (id !== undefined) {
    if (id.length === 0) fail('id is empty');
    out.id = id;
  }
  const type = text8('type');
  if (type !== undefined) {
    if (type !== 'private') fail(`type=${type}: ms-sign signs with a private key; leave type out or use type=private`);
    out.type = 'private';
  }
  out.redacted = redact(pathPart, queryPart);
  return out;
}

/** RFC 3986 percent-decoding of one attribute value; every other byte stands for itself. */
function percentDecode(value: string, name: string, fail: (why: string) => never): Uint8Array {
  const encoder = new TextEncoder();
  const out: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (ch === '%') {
      const hex = value.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) fail(`${name}: "%" must be followed by two hex digits`);
      out.push(parseInt(hex, 16));
      i += 2;
    } else {
      for (const b of encoder.encode(ch)) out.push(b);
    }
  }
  return new Uint8Array(out);
}

/** The URI as given, less its pin-value: what messages may show. */
function redact(pathPart: string, queryPart: string): string {
  const query = queryPart
    .split('&')
    .filter((item) => item !== '' && !item.toLowerCase().startsWith('pin-value='))
    .join('&');
  return `pkcs11:${pathPart}${query === '' ? '' : `?${query}`}`;
}

/** Percent-encodes bytes for an `id=` attribute, as `p11tool` and `pkcs11-tool` print ids. */
export function formatPkcs11Id(id: Uint8Array): string {
  return toHex(id).replace(/../g, '%$&');
}
