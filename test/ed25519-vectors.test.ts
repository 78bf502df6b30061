/**
 * Ed25519 test vectors (test/data/vectors, see its README) through ms-sign's own verification
 * path: a public key is loaded as verify loads it (publicKeyFromBytes, which refuses small-order
 * and non-canonical keys), then the signature is checked with verifyEd25519 (strict RFC 8032,
 * not ZIP-215). One generic loop; each file only says how to read its cases and what to expect.
 * Every vector runs through both Ed25519 equations verifyEd25519 can use after its own checks:
 * the pure default on @noble/ed25519 and OpenSSL's (nodeEd25519Equation, what verify uses under
 * Node); their verdicts must be identical.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { checkPublicKeyBytes, MsSignError, publicKeyFromBytes, secretKeyFromSeed, verifyEd25519, type Ed25519Equation } from '@ms-sign/core';
import { nodeEd25519Equation, nodeSha512 } from '@ms-sign/core/node';
import { loadCases, VECTOR_FILES, vectorFileNames, type VectorCase } from './helpers/vectors.js';

/** The two verification paths: [name, SHA-512, equation] (undefined: verifyEd25519's default). */
const PATHS: readonly (readonly [string, typeof nodeSha512 | undefined, Ed25519Equation | undefined])[] = [
  ['@noble/ed25519 (pure default)', undefined, undefined],
  ['node:crypto (nodeEd25519Equation)', nodeSha512, nodeEd25519Equation],
];

/** Verifies one case as ms-sign verifies a signature file: load the key, then check. */
function acceptedByMsSign(c: VectorCase, [, hash, equation] = PATHS[0]!): boolean {
  let key: ReturnType<typeof publicKeyFromBytes>;
  try {
    key = publicKeyFromBytes(c.publicKey);
  } catch (error) {
    assert.ok(error instanceof MsSignError && error.code === 'BAD_KEY', `${c.id}: a refused key is BAD_KEY`);
    assert.notEqual(checkPublicKeyBytes(c.publicKey), undefined, `${c.id}: checkPublicKeyBytes agrees with publicKeyFromBytes`);
    // verifyEd25519 checks the key itself too: a caller that skips loading is not exposed.
    assert.equal(verifyEd25519(c.signature, c.message, c.publicKey, hash, equation), false, `${c.id}: verifyEd25519 refuses a refused key`);
    return false;
  }
  assert.equal(checkPublicKeyBytes(c.publicKey), undefined, `${c.id}: checkPublicKeyBytes agrees with publicKeyFromBytes`);
  return verifyEd25519(c.signature, c.message, key.bytes, hash, equation);
}

/** A Python with PyNaCl (libsodium), or undefined: .ci/run installs Debian's python3-nacl. */
function pythonWithNacl(): string | undefined {
  return ['python3', '/usr/bin/python3'].find((python) => spawnSync(python, ['-c', 'import nacl.bindings'], { stdio: 'ignore' }).status === 0);
}

// Reads [publicKey, message, signature] hex triples on stdin, prints one 0/1 verdict per line.
const LIBSODIUM_VERIFY = `
import json, sys, nacl.bindings as b
for pk, msg, sig in json.load(sys.stdin):
    try:
        b.crypto_sign_open(bytes.fromhex(sig) + bytes.fromhex(msg), bytes.fromhex(pk))
        print(1)
    except Exception:
        print(0)
`;

describe('Ed25519 test vectors through the verification path of ms-sign', () => {
  const files = vectorFileNames();

  test('every vector file has its expected results here', () => {
    assert.deepEqual(files, Object.keys(VECTOR_FILES).sort());
  });

  for (const file of files) {
    test(file, () => {
      const spec = VECTOR_FILES[file]!;
      const cases = loadCases(file);
      assert.equal(cases.length, spec.total);
      assert.equal(cases.filter((c) => c.accept).length, spec.accepted);
      const verdicts = PATHS.map((path) => cases.map((c) => acceptedByMsSign(c, path)));
      for (const [i, [name]] of PATHS.entries()) {
        const wrong = cases.filter((c, j) => verdicts[i]![j] !== c.accept).map((c) => `${c.id} (expected ${c.accept ? 'accept' : 'reject'})`);
        assert.deepEqual(wrong, [], `${file}: cases where ms-sign with ${name} disagrees with the README`);
      }
      const diverge = cases.filter((_, j) => verdicts[0]![j] !== verdicts[1]![j]).map((c) => c.id);
      assert.deepEqual(diverge, [], `${file}: cases where the two Ed25519 equations give different verdicts`);
      for (const c of cases) {
        if (c.seed !== undefined) assert.deepEqual(secretKeyFromSeed(c.seed).publicKey.bytes, c.publicKey, `${c.id}: the seed gives the public key`);
      }
    });
  }

  test('libsodium (through PyNaCl) gives the same verdict as ms-sign on every vector', (t) => {
    const python = pythonWithNacl();
    if (python === undefined) {
      assert.notEqual(process.env.CI, 'true', 'CI must have PyNaCl (.ci/run installs python3-nacl)');
      t.skip('no Python with PyNaCl here (apt-get install python3-nacl)');
      return;
    }
    const cases = files.flatMap((file) => loadCases(file).map((c) => ({ file, ...c })));
    const hexOf = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
    const r = spawnSync(python, ['-c', LIBSODIUM_VERIFY], { input: JSON.stringify(cases.map((c) => [hexOf(c.publicKey), hexOf(c.message), hexOf(c.signature)])), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const verdicts = r.stdout.trim().split('\n');
    assert.equal(verdicts.length, cases.length);
    const differ = cases.filter((c, i) => (verdicts[i] === '1') !== c.accept).map((c) => `${c.file} ${c.id}`);
    assert.deepEqual(differ, []);
  });

  for (const [name, hash, equation] of PATHS) {
    const verify = (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => verifyEd25519(signature, message, publicKey, hash, equation);

    test(`${name}: a signature that verifies stops verifying when any byte of it, the message or the key changes`, () => {
      const c = loadCases('rfc8032-ed25519.json')[2]!; // a two-byte message
      // One bit per byte, a different bit in each (pure-JS verification costs milliseconds each).
      const flips = (bytes: Uint8Array) =>
        Array.from(bytes, (_, i) => {
          const copy = new Uint8Array(bytes);
          copy[i]! ^= 1 << (i % 8);
          return copy;
        });
      assert.equal(verify(c.signature, c.message, c.publicKey), true);
      for (const signature of flips(c.signature)) assert.equal(verify(signature, c.message, c.publicKey), false);
      for (const message of flips(c.message)) assert.equal(verify(c.signature, message, c.publicKey), false);
      for (const publicKey of flips(c.publicKey)) assert.equal(verify(c.signature, c.message, publicKey), false);
    });

    test(`${name}: S + L (the same scalar, not reduced) is refused for every accepted vector, as libsodium does`, () => {
      // S < L is checked by verifyEd25519 itself before either equation: never left to a library or OpenSSL version.
      const L = 2n ** 252n + 27742317777372353535851937790883648493n;
      const accepted = vectorFileNames().flatMap((file) => loadCases(file)).filter((c) => c.accept);
      assert.ok(accepted.length > 10);
      for (const c of accepted) {
        const s = BigInt(`0x${Buffer.from(c.signature.subarray(32)).reverse().toString('hex')}`) + L;
        if (s >= 2n ** 256n) continue;
        const unreduced = new Uint8Array(c.signature);
        unreduced.set(Buffer.from(s.toString(16).padStart(64, '0'), 'hex').reverse(), 32);
        assert.equal(verify(unreduced, c.message, c.publicKey), false, `${c.id}: S + L`);
      }
    });

    test(`${name}: hostile argument lengths return false, never throw`, () => {
      const c = loadCases('rfc8032-ed25519.json')[0]!;
      for (const length of [0, 1, 31, 33, 63, 65, 128]) {
        assert.equal(verify(new Uint8Array(length), c.message, c.publicKey), false, `signature of ${length} bytes`);
        assert.equal(verify(c.signature, c.message, new Uint8Array(length)), false, `public key of ${length} bytes`);
        assert.notEqual(checkPublicKeyBytes(new Uint8Array(length)), undefined);
      }
    });
  }
});
