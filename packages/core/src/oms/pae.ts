import { utf8 } from '../bytes.js';

/**
 * The messages an OMS / model_signing bundle's signature covers.
 *
 * DSSE v1 pre-authentication encoding (DSSE protocol spec):
 *   "DSSEv1" SP LEN(type) SP type SP LEN(payload) SP payload
 * with LEN the ASCII decimal byte length.
 */
export function dssePae(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = utf8(payloadType);
  return concat(utf8(`DSSEv1 ${type.length} ${payloadType} ${payload.length} `), payload);
}

/**
 * The message model_signing 0.1 and 0.2 actually signed: a bug formatted the payload bytes into a
 * Python string, so the signed text is "DSSEV1" (capital V) SP LEN(type) SP type SP LEN(payload)
 * SP repr(payload), where repr is Python's bytes literal (b'...'). Verify-only: never produced.
 */
export function legacyPae(payloadType: string, payload: Uint8Array): Uint8Array {
  return concat(utf8(`DSSEV1 ${utf8(payloadType).length} ${payloadType} ${payload.length} `), pythonBytesRepr(payload));
}

/** Python's repr() of a bytes object, byte for byte (Objects/bytesobject.c, PyBytes_Repr). */
export function pythonBytesRepr(bytes: Uint8Array): Uint8Array {
  const hasSingle = bytes.includes(0x27);
  const quote = hasSingle && !bytes.includes(0x22) ? 0x22 : 0x27;
  const out: number[] = [0x62, quote];
  const hex = '0123456789abcdef';
  for (const b of bytes) {
    if (b === quote || b === 0x5c) out.push(0x5c, b);
    else if (b === 0x09) out.push(0x5c, 0x74);
    else if (b === 0x0a) out.push(0x5c, 0x6e);
    else if (b === 0x0d) out.push(0x5c, 0x72);
    else if (b < 0x20 || b >= 0x7f) out.push(0x5c, 0x78, hex.charCodeAt(b >> 4), hex.charCodeAt(b & 15));
    else out.push(b);
  }
  out.push(quote);
  return Uint8Array.from(out);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
