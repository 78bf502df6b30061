/** The pure base64 and hex helpers (PEM bodies, policy keys, digests) against Node's Buffer, which they replace. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { fromBase64, fromHex, toBase64, toHex } from '@ms-sign/core/internal';

test('toBase64 and fromBase64 agree with Buffer on every length 0..70 and random bytes', () => {
  for (let length = 0; length <= 70; length++) {
    const bytes = new Uint8Array(randomBytes(length));
    const expected = Buffer.from(bytes).toString('base64');
    assert.equal(toBase64(bytes), expected);
    assert.deepEqual(fromBase64(expected), bytes);
    const url = Buffer.from(bytes).toString('base64url');
    assert.deepEqual(fromBase64(url, true), bytes);
  }
});

test('fromBase64 refuses what is not strict base64 (where Buffer would guess)', () => {
  for (const bad of ['A', 'AB', 'ABC', 'AB=C', 'A===', 'AB?=', 'AB C', 'AB\nCD==', 'QR==', 'QUJ=']) {
    assert.equal(fromBase64(bad), undefined, bad);
  }
  assert.equal(fromBase64('QQ=='.replace('==', ''), true)?.length, 1);
  assert.equal(fromBase64('QQ==', true), undefined);
});

test('toHex and fromHex agree with Buffer on every length 0..70 and random bytes, every byte value included', () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  for (const bytes of [all, ...Array.from({ length: 71 }, (_, length) => new Uint8Array(randomBytes(length)))]) {
    const expected = Buffer.from(bytes).toString('hex');
    assert.equal(toHex(bytes), expected);
    assert.deepEqual(fromHex(expected), bytes);
  }
});
