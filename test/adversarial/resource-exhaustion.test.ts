/**
 * Hostile input that costs work before any signature is checked: each is bounded before the
 * work, and a child process running the real CLI stays under MEMORY_BOUND (its peak RSS, from
 * process.resourceUsage()). Time is bounded by counting the work, never by the clock.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  checkSignatures,
  decodeEnvelope,
  encodeCanonical,
  encodeEnvelope,
  encodeManifest,
  generateSecretKey,
  KDF_LIMITS,
  LIMITS,
  MANIFEST_PAYLOAD_TYPE,
  MAX_LISTED_PROBLEMS,
  MsSignError,
  policyFromKeys,
  signingMessage,
} from '@ms-sign/core';
import { writeKeyFiles } from '../helpers/crafted.js';
import { signedDirectory, spawnCliMeasured } from '../helpers/hostile.js';
import { tempDir } from '../helpers/index.js';

const MiB = 1024 * 1024;
const MEMORY_BOUND = 200 * MiB;

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** A CBOR array head for `n` items (n < 2^32). */
function arrayHead(n: number): Uint8Array {
  const head = new Uint8Array(5);
  head[0] = 0x9a;
  new DataView(head.buffer).setUint32(1, n);
  return head;
}

/** An unsigned signature file whose `signatures` array holds `n` empty maps: one byte each. */
function emptyEntries(n: number): Uint8Array {
  return concat(
    Uint8Array.of(0xa3),
    encodeCanonical('payload'),
    encodeCanonical(new Uint8Array(16)),
    encodeCanonical('signatures'),
    arrayHead(n),
    new Uint8Array(n).fill(0xa0),
    encodeCanonical('payloadType'),
    encodeCanonical(MANIFEST_PAYLOAD_TYPE),
  );
}

const cryptoCjs = createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');

/** Runs `fn` and counts the bytes it feeds to SHA-512 (what each Ed25519 verification hashes). */
function sha512BytesOf(fn: () => void): number {
  const original = cryptoCjs.createHash;
  let bytes = 0;
  cryptoCjs.createHash = ((algorithm: string, options?: object) => {
    const hash = original(algorithm, options as never);
    if (algorithm === 'sha512') {
      const update = hash.update.bind(hash) as (data: Uint8Array) => typeof hash;
      hash.update = ((data: Uint8Array) => {
        bytes += data.length;
        return update(data);
      }) as typeof hash.update;
    }
    return hash;
  }) as typeof original;
  // The ESM named import in core sees the wrapper only after this.
  syncBuiltinESMExports();
  try {
    fn();
  } finally {
    cryptoCjs.createHash = original;
    syncBuiltinESMExports();
  }
  return bytes;
}

/** DER: tag, definite length, contents. */
function der(tag: number, ...contents: Uint8Array[]): Uint8Array {
  const body = concat(...contents);
  const n = body.length;
  const length = n < 0x80 ? Uint8Array.of(n) : n < 0x100 ? Uint8Array.of(0x81, n) : Uint8Array.of(0x82, n >> 8, n & 0xff);
  return concat(Uint8Array.of(tag), length, body);
}
const oid = (bytes: number[]) => der(0x06, Uint8Array.from(bytes));
const integer = (n: bigint) => {
  const bytes: number[] = [];
  for (let v = n; v > 0n; v >>= 8n) bytes.unshift(Number(v & 0xffn));
  if (bytes.length === 0 || bytes[0]! & 0x80) bytes.unshift(0);
  return der(0x02, Uint8Array.from(bytes));
};
const octets = (n: number) => der(0x04, new Uint8Array(n).fill(7));
const PBES2 = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d];
const PBKDF2 = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0c];
const SCRYPT = [0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x04, 0x0b];
const AES256_CBC = [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a];
const AES256_GCM = [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2e];

/** An "ENCRYPTED PRIVATE KEY" PEM: PBES2 with the given KDF and cipher; the ciphertext is junk. */
function encryptedKeyPem(kdf: Uint8Array, cipher: Uint8Array): string {
  const info = der(0x30, der(0x30, oid(PBES2), der(0x30, kdf, cipher)), octets(64));
  const base64 = Buffer.from(info).toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${base64}\n-----END ENCRYPTED PRIVATE KEY-----\n`;
}
const pbkdf2 = (iterations: bigint) => der(0x30, oid(PBKDF2), der(0x30, octets(16), integer(iterations)));
const scrypt = (N: bigint, r: bigint, p: bigint) => der(0x30, oid(SCRYPT), der(0x30, octets(16), integer(N), integer(r), integer(p), integer(32n)));
const cbc = der(0x30, oid(AES256_CBC), octets(16));
const gcm = der(0x30, oid(AES256_GCM), der(0x30, octets(12), integer(16n)));

function assertRefused(run: ReturnType<typeof spawnCliMeasured>, exit: number, code: string, what: string, t?: { diagnostic: (m: string) => void }): void {
  t?.diagnostic(`${what}: peak RSS ${(run.maxRssBytes / MiB).toFixed(0)} MiB`);
  assert.equal(run.code, exit, `${what}: exit ${run.code}\n${run.stdout}${run.stderr}`);
  const codes = (JSON.parse(run.stdout) as { errors: { code: string }[] }).errors.map((e) => e.code);
  assert.ok(codes.includes(code), `${what}: ${codes.join(', ')}`);
  assert.ok(run.maxRssBytes < MEMORY_BOUND, `${what}: peak RSS ${(run.maxRssBytes / MiB).toFixed(0)} MiB`);
}

describe('resource exhaustion before any signature is checked', () => {
  test('millions of empty signature entries in an unsigned file: refused while the CBOR is scanned, verify and inspect under 200 MiB', (t) => {
    const dir = tempDir(t);
    const key = generateSecretKey();
    writeFileSync(join(dir, 'model.ms'), 'weights');
    writeFileSync(join(dir, 'model.ms.sig'), emptyEntries(4_000_000));
    assert.throws(() => decodeEnvelope(emptyEntries(LIMITS.signatures + 1)), (e: unknown) => e instanceof MsSignError && e.code === 'MALFORMED_SIGNATURE_FILE' && /more than 64/.test(e.message));
    return writeKeyFiles(dir, key).then((files) => {
      assertRefused(spawnCliMeasured(['verify', 'model.ms', '-p', files.publicPath, '--json'], { cwd: dir }), 1, 'MALFORMED_SIGNATURE_FILE', 'verify', t);
      assertRefused(spawnCliMeasured(['inspect', 'model.ms.sig', '--json'], { cwd: dir }), 1, 'MALFORMED_SIGNATURE_FILE', 'inspect', t);
    });
  });

  test('an unsigned file claiming 250,000 files: inspect lists every one in a 64 MiB heap (no tree of the whole manifest), verify refuses it under 200 MiB', (t) => {
    const dir = tempDir(t);
    const count = 250_000;
    const digest = new Uint8Array(32).fill(0xab);
    const files = Array.from({ length: count }, (_, i) => ({ path: `f${String(i).padStart(7, '0')}`, size: i, digests: [digest] }));
    const payload = encodeManifest({ version: 1, kind: 'directory', subject: { name: 'many' }, hashAlgorithm: 'sha256', shardSize: 1 << 20, files, created: 1, ignore: [], annotations: {} });
    const signatures = [{ keyId: new Uint8Array(16).fill(1), signature: new Uint8Array(64).fill(2) }];
    writeFileSync(join(dir, 'many.sig'), encodeEnvelope({ payloadType: MANIFEST_PAYLOAD_TYPE, payload, signatures }));
    mkdirSync(join(dir, 'many'));
    // Decoded as one tree, these entries need several times this heap: inspect ran out of memory.
    const env = { NODE_OPTIONS: '--max-old-space-size=64' };
    const text = spawnCliMeasured(['inspect', 'many.sig'], { cwd: dir, env });
    t.diagnostic(`inspect: peak RSS ${(text.maxRssBytes / MiB).toFixed(0)} MiB`);
    assert.equal(text.code, 0, text.stderr.slice(-2000));
    const lines = text.stdout.trimEnd().split('\n');
    assert.match(lines.find((l) => l.startsWith('  files:')) ?? '', new RegExp(`^  files: +${count} \\(`));
    assert.equal(lines.at(-1), `    ${'ab'.repeat(32)}  ${count - 1}  f${String(count - 1).padStart(7, '0')}`);
    assert.equal(lines.length, count + 6);
    assert.ok(text.maxRssBytes < MEMORY_BOUND, `inspect: peak RSS ${(text.maxRssBytes / MiB).toFixed(0)} MiB`);
    const json = spawnCliMeasured(['inspect', 'many.sig', '--json'], { cwd: dir, env });
    assert.equal(json.code, 0, json.stderr.slice(-2000));
    const view = JSON.parse(json.stdout) as { files: { path: string; size: number; digest: string }[] };
    assert.equal(view.files.length, count);
    assert.deepEqual(view.files[count - 1], { path: `f${String(count - 1).padStart(7, '0')}`, size: count - 1, digest: 'ab'.repeat(32) });
    assert.ok(json.maxRssBytes < MEMORY_BOUND, `inspect --json: peak RSS ${(json.maxRssBytes / MiB).toFixed(0)} MiB`);
    return writeKeyFiles(dir, generateSecretKey()).then((key) => {
      assertRefused(spawnCliMeasured(['verify', 'many', '-s', 'many.sig', '-p', key.publicPath, '--json'], { cwd: dir, env }), 1, 'UNTRUSTED_SIGNER', 'verify', t);
    });
  });

  test('a bogus signature naming a trusted key over a ~60 MB payload: verify holds the payload once more at most, under 200 MiB', async (t) => {
    const dir = tempDir(t);
    // 76,000 entries of ~760-byte paths: a payload near the 64 MiB signature-file limit, cheap to build.
    const long = ['x', 'y', 'z'].map((c) => c.repeat(250)).join('/');
    const files = Array.from({ length: 76_000 }, (_, i) => ({ path: `d${i}/${long}`, size: 0, digests: [new Uint8Array(32)] }));
    const payload = encodeManifest({ version: 1, kind: 'directory', subject: { name: 'big' }, hashAlgorithm: 'sha256', shardSize: 1 << 20, files, created: 1, ignore: [], annotations: {} });
    assert.ok(payload.length > 55 * MiB && payload.length < LIMITS.signatureFileBytes - MiB, `payload ${payload.length} bytes`);
    const key = await writeKeyFiles(dir, generateSecretKey());
    const keyId = Buffer.from(key.keyId, 'hex');
    writeFileSync(join(dir, 'big.sig'), encodeEnvelope({ payloadType: MANIFEST_PAYLOAD_TYPE, payload, signatures: [{ keyId, signature: new Uint8Array(64).fill(2) }] }));
    mkdirSync(join(dir, 'big'));
    // 315 MiB for a 62 MB payload was measured before the signed message was built once; 177 MiB now.
    assertRefused(spawnCliMeasured(['verify', 'big', '-s', 'big.sig', '-p', key.publicPath, '--json'], { cwd: dir }), 1, 'BAD_SIGNATURE', 'verify', t);
  });

  test('64 bogus signatures naming a trusted key hash the payload once, not once each', () => {
    const key = generateSecretKey();
    const policy = policyFromKeys([{ name: 'acme', key: key.publicKey }]);
    const payload = new Uint8Array(randomBytes(4 * MiB));
    const keyId = Buffer.from(key.publicKey.keyId, 'hex');
    const message = signingMessage(MANIFEST_PAYLOAD_TYPE, payload).length;
    const copies = Array.from({ length: LIMITS.signatures }, () => ({ keyId, signature: new Uint8Array(64).fill(1) }));
    const distinct = Array.from({ length: LIMITS.signatures }, () => ({ keyId, signature: new Uint8Array(randomBytes(64)) }));
    for (const [what, signatures] of [['identical copies', copies], ['distinct bogus signatures', distinct]] as const) {
      const envelope = decodeEnvelope(encodeEnvelope({ payloadType: MANIFEST_PAYLOAD_TYPE, payload, signatures }));
      let statuses: string[] = [];
      const hashed = sha512BytesOf(() => {
        statuses = checkSignatures(envelope, policy).map((c) => c.status);
      });
      assert.deepEqual(new Set(statuses), new Set(['bad-signature']), what);
      assert.ok(hashed <= message + 1024, `${what}: ${hashed} bytes hashed for a ${message}-byte message`);
    }
  });

  test('encrypted keys with absurd PBKDF2 iterations or scrypt parameters: BAD_KEY before deriving, under 200 MiB', (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'model.ms'), 'weights');
    const keys: [string, string][] = [
      ['PBKDF2, 2^40 iterations', encryptedKeyPem(pbkdf2(2n ** 40n), cbc)],
      ['PBKDF2, 2^64 iterations', encryptedKeyPem(pbkdf2(2n ** 64n), cbc)],
      [`PBKDF2, ${KDF_LIMITS.pbkdf2Iterations + 1} iterations`, encryptedKeyPem(pbkdf2(BigInt(KDF_LIMITS.pbkdf2Iterations + 1)), cbc)],
      ['scrypt N=2^20 r=32 p=16 (OpenSSL form)', encryptedKeyPem(scrypt(2n ** 20n, 32n, 16n), cbc)],
      ['scrypt N=2^20 r=32 p=16 (ms-sign form)', encryptedKeyPem(scrypt(2n ** 20n, 32n, 16n), gcm)],
      ['scrypt N=2^18 r=8 p=1: 256 MiB', encryptedKeyPem(scrypt(2n ** 18n, 8n, 1n), gcm)],
      ['scrypt N=2^17 r=8 p=64: 64 times the work', encryptedKeyPem(scrypt(2n ** 17n, 8n, 64n), gcm)],
    ];
    for (const [what, pem] of keys) {
      writeFileSync(join(dir, 'hostile.key'), pem, { mode: 0o600 });
      const run = spawnCliMeasured(['sign', 'model.ms', '-k', 'hostile.key', '--json'], { cwd: dir, env: { MS_SIGN_PASSPHRASE: 'pass' }, timeoutMs: 60_000 });
      assertRefused(run, 2, 'BAD_KEY', what, t);
    }
  });

  test(`130,000 unsigned files beside a model: reported (the first ${MAX_LISTED_PROBLEMS}, then counted), no stack overflow, under 200 MiB`, async (t) => {
    const signed = await signedDirectory(t);
    const junk = join(signed.model, 'junk');
    mkdirSync(junk);
    for (let i = 0; i < 130_000; i++) closeSync(openSync(join(junk, `f${i}`), 'w'));
    const run = spawnCliMeasured(['verify', 'model', '-p', signed.key.publicPath, '--json'], { cwd: signed.dir });
    assertRefused(run, 1, 'UNSIGNED_FILE', 'verify', t);
    const { errors } = JSON.parse(run.stdout) as { errors: { code: string; message: string; path?: string }[] };
    assert.equal(errors.length, MAX_LISTED_PROBLEMS + 1);
    assert.ok(errors.slice(0, MAX_LISTED_PROBLEMS).every((e) => e.code === 'UNSIGNED_FILE' && e.path?.startsWith('junk/')));
    assert.match(errors[MAX_LISTED_PROBLEMS]!.message, new RegExp(`${130_000 - MAX_LISTED_PROBLEMS} more UNSIGNED_FILE`));
    const text = spawnCliMeasured(['verify', 'model', '-p', signed.key.publicPath], { cwd: signed.dir });
    assert.equal(text.code, 1, text.stderr.slice(-2000));
    assert.match(text.stderr, /NOT VERIFIED/);
  });
});
