/**
 * Tamper matrix (issue 2): every way a model or its signature file can be changed after signing
 * must make verify exit 1 with the error code that names what was changed.
 */
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { decodeEnvelope, MANIFEST_PAYLOAD_TYPE } from '@ms-sign/core';
import { cliOk, copyFixture, makeKey } from './helpers/index.js';
import { assertFailure, errorPaths, signedDirectory, signedFile, verifyJson } from './helpers/scenarios.js';

function flipByte(path: string, offset: number, mask = 0x01): void {
  const bytes = readFileSync(path);
  const at = offset < 0 ? bytes.length + offset : offset;
  bytes[at]! ^= mask;
  writeFileSync(path, bytes);
}

describe('a tampered single-file model is refused', () => {
  for (const [where, offset] of [['first', 0], ['middle', 2676], ['last', -1]] as const) {
    test(`one bit flipped in the ${where} byte: DIGEST_MISMATCH`, async (t) => {
      const m = await signedFile(t);
      flipByte(join(m.dir, m.model), offset);
      const r = await verifyJson(m);
      assertFailure(r, 1, ['DIGEST_MISMATCH']);
      assert.deepEqual(errorPaths(r), [m.model]);
    });
  }

  test('a byte flipped in a large model (several hash tasks): DIGEST_MISMATCH', async (t) => {
    const m = await signedFile(t, 'retinaface0924.ms');
    flipByte(join(m.dir, m.model), 1_000_000, 0xff);
    assertFailure(await verifyJson(m), 1, ['DIGEST_MISMATCH']);
  });

  test('truncated by one byte: SIZE_MISMATCH', async (t) => {
    const m = await signedFile(t);
    const path = join(m.dir, m.model);
    truncateSync(path, readFileSync(path).length - 1);
    assertFailure(await verifyJson(m), 1, ['SIZE_MISMATCH']);
  });

  test('truncated to nothing: SIZE_MISMATCH', async (t) => {
    const m = await signedFile(t);
    truncateSync(join(m.dir, m.model), 0);
    assertFailure(await verifyJson(m), 1, ['SIZE_MISMATCH']);
  });

  test('extended by one byte: SIZE_MISMATCH', async (t) => {
    const m = await signedFile(t);
    appendFileSync(join(m.dir, m.model), Uint8Array.of(0));
    assertFailure(await verifyJson(m), 1, ['SIZE_MISMATCH']);
  });
});

describe('a tampered directory model is refused', () => {
  test('a file added: UNSIGNED_FILE naming it', async (t) => {
    const m = await signedDirectory(t);
    writeFileSync(join(m.dir, m.model, 'nested', 'payload.so'), 'not signed');
    const r = await verifyJson(m);
    assertFailure(r, 1, ['UNSIGNED_FILE']);
    assert.deepEqual(errorPaths(r), ['nested/payload.so']);
  });

  test('a file removed: MISSING_FILE naming it', async (t) => {
    const m = await signedDirectory(t);
    rmSync(join(m.dir, m.model, 'nested', 'relu.mindir'));
    const r = await verifyJson(m);
    assertFailure(r, 1, ['MISSING_FILE']);
    assert.deepEqual(errorPaths(r), ['nested/relu.mindir']);
  });

  test('a file renamed: MISSING_FILE for the old name and UNSIGNED_FILE for the new one', async (t) => {
    const m = await signedDirectory(t);
    renameSync(join(m.dir, m.model, 'parallel.ms'), join(m.dir, m.model, 'parallel2.ms'));
    const r = await verifyJson(m);
    assertFailure(r, 1, ['MISSING_FILE', 'UNSIGNED_FILE']);
    assert.deepEqual(errorPaths(r), ['parallel.ms', 'parallel2.ms']);
  });

  test('a file moved into another folder: MISSING_FILE and UNSIGNED_FILE', async (t) => {
    const m = await signedDirectory(t);
    renameSync(join(m.dir, m.model, 'nested', 'relu.mindir'), join(m.dir, m.model, 'relu.mindir'));
    const r = await verifyJson(m);
    assertFailure(r, 1, ['MISSING_FILE', 'UNSIGNED_FILE']);
    assert.deepEqual(errorPaths(r), ['nested/relu.mindir', 'relu.mindir']);
  });

  test('a byte flipped in a nested file: DIGEST_MISMATCH naming it', async (t) => {
    const m = await signedDirectory(t);
    flipByte(join(m.dir, m.model, 'nested', 'relu.mindir'), 100);
    const r = await verifyJson(m);
    assertFailure(r, 1, ['DIGEST_MISMATCH']);
    assert.deepEqual(errorPaths(r), ['nested/relu.mindir']);
  });

  test('every failure is listed, not only the first', async (t) => {
    const m = await signedDirectory(t);
    flipByte(join(m.dir, m.model, 'lenet_tod_infer.ms'), 5);
    appendFileSync(join(m.dir, m.model, 'parallel.ms'), 'x');
    rmSync(join(m.dir, m.model, 'nested', 'relu.mindir'));
    writeFileSync(join(m.dir, m.model, 'extra'), 'x');
    const r = await verifyJson(m);
    assertFailure(r, 1, ['MISSING_FILE', 'UNSIGNED_FILE', 'DIGEST_MISMATCH', 'SIZE_MISMATCH']);
    assert.deepEqual(errorPaths(r), ['nested/relu.mindir', 'extra', 'lenet_tod_infer.ms', 'parallel.ms']);
  });
});

/** The code a change inside each region of a signature file must give. */
interface Region {
  readonly name: string;
  readonly start: number;
  readonly end: number;
  readonly code: (changed: Uint8Array) => string;
}

/**
 * Locates the payload, signature, key id and payload type of a one-signature file by searching
 * for their bytes; every other byte is CBOR structure (heads and map keys).
 */
function regionsOf(bytes: Uint8Array): Region[] {
  const envelope = decodeEnvelope(bytes);
  assert.equal(envelope.signatures.length, 1);
  const buffer = Buffer.from(bytes);
  const locate = (name: string, needle: Uint8Array, code: Region['code']): Region => {
    const start = buffer.indexOf(needle);
    assert.ok(start > 0 && buffer.indexOf(needle, start + 1) === -1, `${name} is found exactly once`);
    return { name, start, end: start + needle.length, code };
  };
  const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
  const isUtf8 = (b: Uint8Array) => {
    try {
      strictUtf8.decode(b);
      return true;
    } catch {
      return false;
    }
  };
  const type = locate('payloadType', Buffer.from(MANIFEST_PAYLOAD_TYPE, 'utf8'), () => 'UNSUPPORTED_FORMAT');
  return [
    // Signatures are checked over the raw payload before it is decoded: no change there gets further.
    locate('payload', envelope.payload, () => 'BAD_SIGNATURE'),
    locate('signature', envelope.signatures[0]!.signature, () => 'BAD_SIGNATURE'),
    // The key id only picks the policy key to try; another id names no trusted key.
    locate('key id', envelope.signatures[0]!.keyId, () => 'UNTRUSTED_SIGNER'),
    // Another payload type is a format this version does not read; invalid UTF-8 is not CBOR text at all.
    { ...type, code: (changed) => (isUtf8(changed.subarray(type.start, type.end)) ? 'UNSUPPORTED_FORMAT' : 'MALFORMED_SIGNATURE_FILE') },
  ];
}

describe('a tampered signature file is refused', () => {
  test('every byte changed (XOR 0x01 and 0xff): exit 1 with the code of the region hit', async (t) => {
    const m = await signedFile(t);
    const sigPath = join(m.dir, m.sig);
    const original = new Uint8Array(readFileSync(sigPath));
    const regions = regionsOf(original);
    const hits = new Map<string, number>();
    for (let offset = 0; offset < original.length; offset++) {
      for (const mask of [0x01, 0xff]) {
        const changed = new Uint8Array(original);
        changed[offset]! ^= mask;
        writeFileSync(sigPath, changed);
        const region = regions.find((r) => offset >= r.start && offset < r.end);
        const expected = region?.code(changed) ?? 'MALFORMED_SIGNATURE_FILE';
        assertFailure(await verifyJson(m), 1, [expected], `byte ${offset} (${region?.name ?? 'structure'}) XOR 0x${mask.toString(16)}`);
        const name = region?.name ?? 'structure';
        hits.set(name, (hits.get(name) ?? 0) + 1);
      }
    }
    // The loop really covered every region.
    assert.deepEqual([...hits.keys()].sort(), ['key id', 'payload', 'payloadType', 'signature', 'structure']);
    writeFileSync(sigPath, original);
    assert.equal((await verifyJson(m)).code, 0);
  });

  test('truncated at every length: MALFORMED_SIGNATURE_FILE', async (t) => {
    const m = await signedFile(t);
    const sigPath = join(m.dir, m.sig);
    const original = readFileSync(sigPath);
    for (let length = 0; length < original.length; length++) {
      writeFileSync(sigPath, original.subarray(0, length));
      assertFailure(await verifyJson(m), 1, ['MALFORMED_SIGNATURE_FILE'], `${length} bytes`);
    }
  });

  test('with a byte appended: MALFORMED_SIGNATURE_FILE', async (t) => {
    const m = await signedFile(t);
    appendFileSync(join(m.dir, m.sig), Uint8Array.of(0));
    assertFailure(await verifyJson(m), 1, ['MALFORMED_SIGNATURE_FILE']);
  });

  test('signed by another key: UNTRUSTED_SIGNER', async (t) => {
    const m = await signedFile(t);
    const other = await makeKey(m.dir, 'other');
    await cliOk(m.dir, ['sign', m.model, '-k', other.secret]);
    const r = await verifyJson(m);
    assertFailure(r, 1, ['UNTRUSTED_SIGNER']);
    assert.deepEqual(r.json<{ signers: { keyId: string; valid: boolean }[] }>().signers.map((s) => [s.keyId, s.valid]), [[other.keyId, false]]);
  });

  test("signed by another key whose key id was rewritten to the trusted key's id: BAD_SIGNATURE", async (t) => {
    const m = await signedFile(t);
    const other = await makeKey(m.dir, 'other');
    await cliOk(m.dir, ['sign', m.model, '-k', other.secret]);
    const sigPath = join(m.dir, m.sig);
    const bytes = readFileSync(sigPath);
    const at = bytes.indexOf(Buffer.from(other.keyId, 'hex'));
    assert.ok(at > 0);
    Buffer.from(m.key.keyId, 'hex').copy(bytes, at);
    writeFileSync(sigPath, bytes);
    assertFailure(await verifyJson(m), 1, ['BAD_SIGNATURE']);
  });

  test("a valid signature of another model by the same key: SIZE_MISMATCH", async (t) => {
    const m = await signedFile(t);
    copyFixture('relu.mindir', m.dir);
    await cliOk(m.dir, ['sign', 'relu.mindir', '-k', m.key.secret]);
    assertFailure(await verifyJson(m, '-s', 'relu.mindir.sig'), 1, ['SIZE_MISMATCH']);
  });

  test('the signature file missing: MISSING_SIGNATURE_FILE', async (t) => {
    const m = await signedFile(t);
    rmSync(join(m.dir, m.sig));
    assertFailure(await verifyJson(m), 1, ['MISSING_SIGNATURE_FILE']);
  });

  test('the signature file empty: MALFORMED_SIGNATURE_FILE', async (t) => {
    const m = await signedFile(t);
    writeFileSync(join(m.dir, m.sig), '');
    assertFailure(await verifyJson(m), 1, ['MALFORMED_SIGNATURE_FILE']);
  });
});
