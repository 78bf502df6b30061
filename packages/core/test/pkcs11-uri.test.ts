/**
 * crypto/pkcs11-uri.ts: RFC 7512 PKCS#11 URIs. The examples of RFC 7512 section 3 parse; what a
 * lax parser would turn into "sign with some other key" (unknown or repeated attributes, bad
 * escapes) is refused; the PIN never survives into the redacted form.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatPkcs11Id, parsePkcs11Uri, PKCS11_URI_MAX_LENGTH } from '@ms-sign/core';
import { thrownCode } from '../../../test/helpers/codes.js';

describe('parsePkcs11Uri', () => {
  test('token and object, as ms-sign documents them', () => {
    const uri = parsePkcs11Uri('pkcs11:token=release;object=model-key');
    assert.equal(uri.token, 'release');
    assert.equal(uri.object, 'model-key');
    assert.equal(uri.id, undefined);
    assert.equal(uri.redacted, 'pkcs11:token=release;object=model-key');
  });

  test('RFC 7512 section 3 examples', () => {
    assert.deepEqual(parsePkcs11Uri('pkcs11:').redacted, 'pkcs11:');
    const a = parsePkcs11Uri('pkcs11:object=my-pubkey;type=private');
    assert.equal(a.object, 'my-pubkey');
    assert.equal(a.type, 'private');
    const b = parsePkcs11Uri('pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;type=private;id=%69%95%3E%5C%F4%BE%15%56%99%61%DE%C2%64%2A%54%7C%08%C6%EE%E7?pin-value=the-pin');
    assert.equal(b.token, 'The Software PKCS#11 Softtoken');
    assert.equal(b.manufacturer, 'Snake Oil, Inc.');
    assert.equal(b.model, '1.0');
    assert.deepEqual(b.id, Uint8Array.from([0x69, 0x95, 0x3e, 0x5c, 0xf4, 0xbe, 0x15, 0x56, 0x99, 0x61, 0xde, 0xc2, 0x64, 0x2a, 0x54, 0x7c, 0x08, 0xc6, 0xee, 0xe7]));
    assert.equal(b.pinValue, 'the-pin');
    assert.ok(!b.redacted.includes('the-pin'));
    const c = parsePkcs11Uri('pkcs11:token=Name%20with%20a%20small%20A%20with%20acute:%20%C3%A1;object=my-certificate');
    assert.equal(c.token, 'Name with a small A with acute: á');
    const d = parsePkcs11Uri('pkcs11:slot-description=Sun%20Metaslot;slot-id=1;object=k?module-path=/usr/lib/libsofthsm2.so&pin-value=1234');
    assert.equal(d.slotDescription, 'Sun Metaslot');
    assert.equal(d.slotId, 1n);
    assert.equal(d.modulePath, '/usr/lib/libsofthsm2.so');
    assert.equal(d.redacted, 'pkcs11:slot-description=Sun%20Metaslot;slot-id=1;object=k?module-path=/usr/lib/libsofthsm2.so');
  });

  test('attribute names are case-insensitive; vendor x- attributes are ignored', () => {
    const uri = parsePkcs11Uri('PKCS11:Token=release;OBJECT=k;x-vendor=whatever');
    assert.equal(uri.token, 'release');
    assert.equal(uri.object, 'k');
  });

  test('the PIN is removed from the redacted form wherever it stands in the query', () => {
    for (const text of ['pkcs11:object=k?pin-value=s3cr3t', 'pkcs11:object=k?pin-value=s3cr3t&module-path=/m.so', 'pkcs11:object=k?module-path=/m.so&PIN-VALUE=s3cr3t']) {
      const uri = parsePkcs11Uri(text);
      assert.equal(uri.pinValue, 's3cr3t');
      assert.ok(!uri.redacted.includes('s3cr3t'), uri.redacted);
    }
  });

  test('refuses what could select the wrong key or read a PIN from elsewhere', () => {
    const bad = [
      'object=k',
      'pkcs11:objet=k',
      'pkcs11:object=a;object=b',
      'pkcs11:object=k?pin-source=file:/etc/pin',
      'pkcs11:object=k?unknown=1',
      'pkcs11:object=%zz',
      'pkcs11:object=%4',
      'pkcs11:object=%ff%fe',
      'pkcs11:object=a%00b',
      'pkcs11:object',
      'pkcs11:id=',
      'pkcs11:type=public',
      'pkcs11:slot-id=one',
      `pkcs11:object=${'k'.repeat(PKCS11_URI_MAX_LENGTH)}`,
    ];
    for (const text of bad) assert.equal(thrownCode(() => parsePkcs11Uri(text)), 'USAGE', text);
  });

  test('a malformed query never echoes its text (it may be a mistyped PIN)', () => {
    try {
      parsePkcs11Uri('pkcs11:object=k?pin-value1234');
      assert.fail('expected an error');
    } catch (error) {
      assert.ok(!(error as Error).message.includes('1234'));
    }
  });

  test('formatPkcs11Id percent-encodes every byte', () => {
    assert.equal(formatPkcs11Id(Uint8Array.of(0xc0, 0xde, 0x01)), '%c0%de%01');
    assert.deepEqual(parsePkcs11Uri(`pkcs11:id=${formatPkcs11Id(Uint8Array.of(0xc0, 0xde, 0x01))}`).id, Uint8Array.of(0xc0, 0xde, 0x01));
  });
});
