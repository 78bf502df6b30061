/**
 * format/pae.ts: the exact bytes an ms-sign signature covers (docs/signature-format.md). Another verifier
 * must rebuild them byte for byte, and no two (payload type, payload) pairs may give the same
 * message, or a signature over one could be replayed as a signature over the other.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { MANIFEST_PAYLOAD_TYPE, SIGNING_DOMAIN, signingMessage, toHex } from '@ms-sign/core';
import { unicodeText } from '../../../test/helpers/arbitraries.js';

const text = (s: string) => new TextEncoder().encode(s);

describe('signingMessage', () => {
  test('the domain and payload type of format v1 are fixed', () => {
    assert.equal(SIGNING_DOMAIN, 'MSSIGN/v1');
    assert.equal(MANIFEST_PAYLOAD_TYPE, 'application/vnd.ms-sign.manifest.v1+cbor');
  });

  test('exact bytes: "MSSIGN/v1" SP LEN(type) SP type SP LEN(payload) SP payload', () => {
    const cases: [string, Uint8Array, string][] = [
      [MANIFEST_PAYLOAD_TYPE, text('abc'), 'MSSIGN/v1 40 application/vnd.ms-sign.manifest.v1+cbor 3 abc'],
      [MANIFEST_PAYLOAD_TYPE, new Uint8Array(0), 'MSSIGN/v1 40 application/vnd.ms-sign.manifest.v1+cbor 0 '],
      ['', text('x'), 'MSSIGN/v1 0  1 x'],
      // Lengths count UTF-8 bytes, not characters.
      ['typ\u00e9', text('\u00fc'), 'MSSIGN/v1 5 typ\u00e9 2 \u00fc'],
      // Decimal without leading zeros.
      ['t', new Uint8Array(1000).fill(0x41), `MSSIGN/v1 1 t 1000 ${'A'.repeat(1000)}`],
    ];
    for (const [type, payload, expected] of cases) assert.equal(toHex(signingMessage(type, payload)), toHex(text(expected)), expected.slice(0, 60));
  });

  test('binary payload bytes are appended unchanged (no text decoding)', () => {
    const payload = Uint8Array.from({ length: 256 }, (_, i) => i);
    const message = signingMessage(MANIFEST_PAYLOAD_TYPE, payload);
    const head = text(`MSSIGN/v1 40 ${MANIFEST_PAYLOAD_TYPE} 256 `);
    assert.equal(message.length, head.length + 256);
    assert.equal(toHex(message.subarray(0, head.length)), toHex(head));
    assert.equal(toHex(message.subarray(head.length)), toHex(payload));
  });

  test('distinct (type, payload) pairs never give the same message', () => {
    const pair = fc.tuple(unicodeText({ maxLength: 12 }), fc.uint8Array({ maxLength: 12 }));
    fc.assert(
      fc.property(pair, pair, ([typeA, payloadA], [typeB, payloadB]) => {
        fc.pre(typeA !== typeB || toHex(payloadA) !== toHex(payloadB));
        assert.notEqual(toHex(signingMessage(typeA, payloadA)), toHex(signingMessage(typeB, payloadB)));
      }),
      { numRuns: 1000 },
    );
    // The classic ambiguity a PAE prevents: moving bytes between type and payload.
    assert.notEqual(toHex(signingMessage('a b', text('c'))), toHex(signingMessage('a', text('b c'))));
  });
});
