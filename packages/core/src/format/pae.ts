import { utf8 } from '../bytes.js';

/**
 * The signed message (SPEC section 3): DSSE-style pre-authentication encoding that names ms-sign,
 * the format version and the payload type, so an ms-sign signature can never be taken for a
 * signature over some other kind of message made with the same key, and vice versa:
 *
 *   "MSSIGN/v1" SP LEN(type) SP type SP LEN(payload) SP payload
 *
 * LEN is the ASCII decimal byte length without leading zeros, SP one 0x20 byte.
 */
export const SIGNING_DOMAIN = 'MSSIGN/v1';

/** The payload type of a v1 manifest, the only one this version reads. */
export const MANIFEST_PAYLOAD_TYPE = 'application/vnd.ms-sign.manifest.v1+cbor';

/** The exact bytes a signature covers: the payload type and payload bound together with the signing domain. */
export function signingMessage(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = utf8(payloadType);
  const head = utf8(`${SIGNING_DOMAIN} ${type.length} ${payloadType} ${payload.length} `);
  const out = new Uint8Array(head.length + payload.length);
  out.set(head, 0);
  out.set(payload, head.length);
  return out;
}
