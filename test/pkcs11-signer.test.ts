/**
 * The PKCS#11 signer against a real SoftHSM2 token: key generation on the token, Ed25519
 * (CKM_EDDSA) and ECDSA P-256 (CKM_ECDSA) signatures checked by independent verifiers, and every
 * way a token setup goes wrong (wrong PIN, missing key, wrong key type, missing mechanism).
 * SoftHSM2 reads SOFTHSM2_CONF when the module initialises, so each test points it at its token.
 */
import assert from 'node:assert/strict';
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { MsSignError, parsePkcs11Uri, verifyEd25519, keyIdHex } from '@ms-sign/core';
import { generatePkcs11Ed25519Key, openPkcs11Signer, type Pkcs11Options } from '@ms-sign/core/node';
import { rejectedCode } from './helpers/codes.js';
import { makeToken, pkcs11Tool, tool, type SoftToken } from './helpers/softhsm.js';

function use(token: SoftToken): Pkcs11Options {
  process.env.SOFTHSM2_CONF = token.conf;
  return { modulePath: token.module, pin: () => token.pin };
}

const message = new TextEncoder().encode('the exact bytes ms-sign signs');

/** The rejection of `promise`, which must be an MsSignError. */
async function failure(promise: Promise<unknown>): Promise<MsSignError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof MsSignError, `expected an MsSignError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a rejection');
}

describe('PKCS#11 signer on SoftHSM2', () => {
  test('keygen makes a non-extractable Ed25519 pair; the signer signs with CKM_EDDSA and verifies strictly', async (t) => {
    const token = makeToken(t);
    const options = use(token);
    const made = await generatePkcs11Ed25519Key(parsePkcs11Uri('pkcs11:token=release;object=model-key'), options);
    assert.equal(made.publicKey.length, 32);
    assert.equal(made.keyId, keyIdHex(made.publicKey));
    assert.match(made.uri, /^pkcs11:token=release;object=model-key;id=(%[0-9a-f]{2}){16}$/);

    const signer = await openPkcs11Signer(parsePkcs11Uri('pkcs11:token=release;object=model-key'), options);
    t.after(() => signer.close());
    assert.equal(signer.algorithm, 'ed25519');
    assert.deepEqual(signer.publicKey, made.publicKey);
    assert.equal(signer.keyId, made.keyId);
    assert.equal(signer.description, 'pkcs11:token=release;object=model-key');
    const signature = await signer.sign(message);
    assert.equal(signature.length, 64);
    assert.ok(verifyEd25519(signature, message, signer.publicKey));
    assert.ok(!verifyEd25519(signature, new TextEncoder().encode('other bytes'), signer.publicKey));
    // Ed25519 is deterministic (RFC 8032): the token and any other implementation agree.
    assert.deepEqual(await signer.sign(message), signature);
    // One C_Sign call for the whole message: a large manifest is not split into parts.
    const big = new Uint8Array(2 * 1024 * 1024).fill(7);
    assert.ok(verifyEd25519(await signer.sign(big), big, signer.publicKey));

    // The private key is sensitive and not extractable: pkcs11-tool cannot read it out.
    const listing = pkcs11Tool(token, ['--list-objects', '--type', 'privkey']).toString();
    assert.match(listing, /label:\s+model-key/);
    assert.match(listing, /Access:\s+sensitive, always sensitive, never extractable/);
  });

  test('the key is found by id= as well as by label, and the URI redacts pin-value', async (t) => {
    const token = makeToken(t);
    const options = use(token);
    await generatePkcs11Ed25519Key(parsePkcs11Uri('pkcs11:token=release;object=k;id=%01%02'), options);
    const signer = await openPkcs11Signer(parsePkcs11Uri(`pkcs11:token=release;id=%01%02?pin-value=${token.pin}`), { modulePath: token.module });
    t.after(() => signer.close());
    assert.equal(signer.description, 'pkcs11:token=release;id=%01%02');
    assert.ok(verifyEd25519(await signer.sign(message), message, signer.publicKey));
  });

  test('an Ed25519 key made by pkcs11-tool (not by ms-sign) signs too', async (t) => {
    const token = makeToken(t);
    const options = use(token);
    pkcs11Tool(token, ['--keypairgen', '--key-type', 'EC:edwards25519', '--label', 'tool-key', '--id', 'a1', '--usage-sign']);
    const signer = await openPkcs11Signer(parsePkcs11Uri('pkcs11:token=release;object=tool-key'), options);
    t.after(() => signer.close());
    assert.ok(verifyEd25519(await signer.sign(message), message, signer.publicKey));
  });

  test('a P-256 key signs with CKM_ECDSA over SHA-256; the DER signature verifies with OpenSSL', async (t) => {
    const token = makeToken(t);
    const options = use(token);
    pkcs11Tool(token, ['--keypairgen', '--key-type', 'EC:prime256v1', '--label', 'p256', '--id', 'b2', '--usage-sign']);
    const signer = await openPkcs11Signer(parsePkcs11Uri('pkcs11:token=release;object=p256'), options);
    t.after(() => signer.close());
    assert.equal(signer.algorithm, 'ecdsa-p256-sha256');
    assert.equal(signer.keyId, keyIdHex(signer.publicKey));
    const spki = createPublicKey({ key: Buffer.from(signer.publicKey), format: 'der', type: 'spki' });
    assert.equal(spki.asymmetricKeyType, 'ec');
    assert.equal(spki.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const signature = await signer.sign(message);
    assert.equal(signature[0], 0x30, 'a DER SEQUENCE');
    assert.ok(nodeVerify('sha256', message, spki, signature));
    assert.ok(!nodeVerify('sha256', new TextEncoder().encode('other'), spki, signature));
  });

  test('a wrong PIN is PKCS11_LOGIN_FAILED and the PIN is not in the message', async (t) => {
    const token = makeToken(t);
    use(token);
    const wrong = 'not-the-pin-31337';
    const error = await failure(openPkcs11Signer(parsePkcs11Uri('pkcs11:token=release;object=model-key'), { modulePath: token.module, pin: () => wrong }));
    assert.equal(error.code, 'PKCS11_LOGIN_FAILED');
    assert.match(error.message, /CKR_PIN_INCORRECT/);
    assert.ok(!error.message.includes(wrong));
    const fromUri = await failure(openPkcs11Signer(parsePkcs11Uri(`pkcs11:token=release;object=k?pin-value=${wrong}`), { modulePath: token.module }));
    assert.equal(fromUri.code, 'PKCS11_LOGIN_FAILED');
    assert.ok(!fromUri.message.includes(wrong));
  });

  test('a token that needs a login and no PIN given is PKCS11_LOGIN_FAILED', async (t) => {
    const token = makeToken(t);
    use(token);
    assert.equal(await rejectedCode(openPkcs11Signer(parsePkcs11Uri('pkcs11:token=release;object=k'), { modulePath: token.module })), 'PKCS11_LOGIN_FAILED');
  });

  test('a missing key or token is PKCS11_NOT_FOUND; a URI without a key name is USAGE', async (t) => {
    const token = makeToken(t);
    const options = use(token);
    assert.equal(await rejectedCode(openPkcs11Signer(parsePkcs11Uri('pkcs11:token=release;object=no-such-key'), options)), 'PKCS11_NOT_FOUND');
    const noToken = await failure(openPkcs11Signer(parsePkcs11Uri('pkcs11:token=staging;object=k'), options));
    assert.equal(noToken.code, 'PKCS11_NOT_FOUND');
    assert.match(noToken.message, /tokens present: "release"/);
    assert.equal(await rejectedCode(openPkcs11Signer(parsePkcs11Uri('pkcs11:token=release'), options)), 'USAGE');
  });

  test('an RSA key is PKCS11_UNSUPPORTED_KEY, before the token is asked to sign', async (t) => {
    const token = makeToken(t);
    const options = use(token);
    pkcs11Tool(token, ['--keypairgen', '--key-type', 'rsa:2048', '--label', 'rsa-key', '--id', 'c3', '--usage-sign']);
    const error = await failure(openPkcs11Signer(parsePkcs11Uri('pkcs11:token=release;object=rsa-key'), options));
    assert.equal(error.code, 'PKCS11_UNSUPPORTED_KEY');
    assert.match(error.message, /RSA/);
  });

  test('a token without CKM_EDDSA is PKCS11_UNSUPPORTED_KEY for signing and for keygen', async (t) => {
    // SoftHSM2's slots.mechanisms setting limits what its tokens offer: here ECDSA and RSA but no
    // EdDSA, like many HSMs in service. The key was made through a module with everything.
    const full = makeToken(t);
    use(full);
    pkcs11Tool(full, ['--keypairgen', '--key-type', 'EC:edwards25519', '--label', 'ed', '--id', 'd4', '--usage-sign']);
    const tokenDir = readFileSync(full.conf, 'utf8').match(/directories.tokendir = .*/)![0];
    const limited = makeToken(t, 'unused', ['slots.mechanisms = CKM_ECDSA,CKM_EC_KEY_PAIR_GEN,CKM_RSA_PKCS,CKM_RSA_PKCS_KEY_PAIR_GEN']);
    writeFileSync(limited.conf, readFileSync(limited.conf, 'utf8').replace(/directories.tokendir = .*/, tokenDir));
    const listing = tool('pkcs11-tool', ['--module', limited.module, '--token-label', 'release', '-M'], limited.env).toString();
    assert.ok(!/EDDSA/.test(listing) && /ECDSA/.test(listing), listing);
    const options = use(limited);
    const error = await failure(openPkcs11Signer(parsePkcs11Uri('pkcs11:token=release;object=ed'), options));
    assert.equal(error.code, 'PKCS11_UNSUPPORTED_KEY');
    assert.match(error.message, /CKM_EDDSA/);
    assert.equal(await rejectedCode(generatePkcs11Ed25519Key(parsePkcs11Uri('pkcs11:token=release;object=new'), options)), 'PKCS11_UNSUPPORTED_KEY');
  });

  test('keygen refuses a label or id already on the token and creates nothing', async (t) => {
    const token = makeToken(t);
    const options = use(token);
    await generatePkcs11Ed25519Key(parsePkcs11Uri('pkcs11:token=release;object=model-key;id=%0a'), options);
    assert.equal(await rejectedCode(generatePkcs11Ed25519Key(parsePkcs11Uri('pkcs11:token=release;object=model-key'), options)), 'PKCS11_OBJECT_EXISTS');
    assert.equal(await rejectedCode(generatePkcs11Ed25519Key(parsePkcs11Uri('pkcs11:token=release;object=other;id=%0a'), options)), 'PKCS11_OBJECT_EXISTS');
    const listing = pkcs11Tool(token, ['--list-objects', '--type', 'privkey']).toString();
    assert.equal(listing.match(/Private Key Object/g)?.length, 1);
  });

  test('no module, or a module that is not a PKCS#11 library, is PKCS11_UNAVAILABLE', async () => {
    const uri = parsePkcs11Uri('pkcs11:token=release;object=k');
    assert.equal(await rejectedCode(openPkcs11Signer(uri, {})), 'PKCS11_UNAVAILABLE');
    assert.equal(await rejectedCode(openPkcs11Signer(uri, { modulePath: '/nonexistent/libpkcs11.so' })), 'PKCS11_UNAVAILABLE');
    assert.equal(await rejectedCode(openPkcs11Signer(parsePkcs11Uri('pkcs11:object=k?module-path=/usr/lib/x86_64-linux-gnu/libc.so.6'), {})), 'PKCS11_UNAVAILABLE');
  });
});
