import { MsSignError } from '../errors.js';
import { LIMITS } from '../limits.js';
import { CborDecodeError, decodeCanonical, encodeCanonical, type CborValue } from './cbor.js';
import { MANIFEST_PAYLOAD_TYPE } from './pae.js';
import { expectBytes, expectMap, expectText, type FieldReader } from './fields.js';

/**
 * The signature file: a CBOR map holding the encoded manifest (`payload`, kept as the exact bytes
 * that were signed), its type, and one or more signatures (docs/signature-format.md).
 */
export interface Envelope {
  readonly payloadType: string;
  readonly payload: Uint8Array;
  readonly signatures: readonly EnvelopeSignature[];
}

/** One signature in a signature file. */
export interface EnvelopeSignature {
  /** 16 bytes: a lookup hint derived from the public key, never a reason to trust. */
  readonly keyId: Uint8Array;
  /** 64-byte Ed25519 signature over signingMessage(payloadType, payload). */
  readonly signature: Uint8Array;
}

export const KEY_ID_BYTES = 16;
export const SIGNATURE_BYTES = 64;

/** Encodes a signature file (deterministic CBOR); nothing is checked, the caller built it. */
export function encodeEnvelope(envelope: Envelope): Uint8Array {
  return encodeCanonical(
    new Map<string, CborValue>([
      ['payload', envelope.payload],
      ['payloadType', envelope.payloadType],
      [
        'signatures',
        envelope.signatures.map(
          (s) =>
            new Map<string, CborValue>([
              ['keyid', s.keyId],
              ['sig', s.signature],
            ]),
        ),
      ],
    ]),
  );
}

/**
 * Strictly decodes a signature file. Does not look inside the payload: the manifest is decoded
 * only after a trusted signature over these exact payload bytes has been checked.
 *
 * @throws MsSignError MALFORMED_SIGNATURE_FILE or UNSUPPORTED_FORMAT
 */
export function decodeEnvelope(bytes: Uint8Array, sourcePath?: string): Envelope {
  const fail = (message: string): never => {
    throw new MsSignError('MALFORMED_SIGNATURE_FILE', `malformed signature file: ${message}`, { path: sourcePath });
  };
  if (bytes.length === 0) fail('the file is empty');
  if (bytes.length > LIMITS.signatureFileBytes) fail(`larger than ${LIMITS.signatureFileBytes} bytes`);
  let root: CborValue;
  try {
    root = decodeCanonical(bytes);
  } catch (error) {
    if (error instanceof CborDecodeError) return fail(error.message);
    throw error;
  }
  const read: FieldReader = { fail };
  const map = expectMap(read, root, 'signature file', ['payload', 'payloadType', 'signatures']);
  const payloadType = expectText(read, map.get('payloadType'), 'payloadType', 256);
  if (payloadType !== MANIFEST_PAYLOAD_TYPE) {
    throw new MsSignError(
      'UNSUPPORTED_FORMAT',
      `signature file has payload type ${JSON.stringify(payloadType)}; this ms-sign reads ${MANIFEST_PAYLOAD_TYPE} (upgrade ms-sign?)`,
      { path: sourcePath },
    );
  }
  const payload = expectBytes(read, map.get('payload'), 'payload');
  const list = map.get('signatures');
  if (!Array.isArray(list)) return fail('signatures: expected an array');
  if (list.length === 0) fail('signatures: the file holds no signature');
  if (list.length > LIMITS.signatures) fail(`signatures: more than ${LIMITS.signatures}`);
  const signatures = (list as readonly CborValue[]).map((item, i) => {
    const entry = expectMap(read, item, `signatures[${i}]`, ['keyid', 'sig']);
    return {
      keyId: expectBytes(read, entry.get('keyid'), `signatures[${i}].keyid`, KEY_ID_BYTES),
      signature: expectBytes(read, entry.get('sig'), `signatures[${i}].sig`, SIGNATURE_BYTES),
    };
  });
  return { payloadType, payload, signatures };
}
