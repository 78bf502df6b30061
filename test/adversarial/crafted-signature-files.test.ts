/**
 * Hostile signature files. The worst case is one SIGNED by a trusted key (a compromised build, a
 * careless publisher, a bug in another signer): its manifest still must not make ms-sign touch a
 * file outside the model. And an unsigned hostile file must be refused quickly, without
 * allocating what it declares.
 */
import assert from 'node:assert/strict';
import { closeSync, ftruncateSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { before, describe, test } from 'node:test';
import { decodeEnvelope, encodeCanonical, encodeManifest, generateSecretKey, MsSignError, type CborValue, type ManifestFile } from '@ms-sign/core';
import { verifyModel } from '@ms-sign/core/node';
import { fileEntry, HOSTILE_PATHS, manifestBytes, manifestOf, sha256, signManifest, signPayload, trustKeys, writeKeyFiles } from '../helpers/crafted.js';
import { withFsPaths } from '../helpers/fs-spy.js';
import { assertCodes } from '../helpers/hostile.js';
import { runCli, tempDir } from '../helpers/index.js';

const OUTSIDE = new TextEncoder().encode('a file next to the model, not part of it');
const INSIDE = new TextEncoder().encode('weights');

/**
 * A model directory `dir/model` with weights.bin, and `dir/outside.bin` next to it. The crafted
 * manifests list outside.bin under hostile names WITH ITS CORRECT DIGEST: following such a path
 * would make verification pass.
 */
async function setup(t: Parameters<typeof tempDir>[0]) {
  const dir = tempDir(t);
  const key = await writeKeyFiles(dir, generateSecretKey());
  mkdirSync(join(dir, 'model'));
  writeFileSync(join(dir, 'model', 'weights.bin'), INSIDE);
  writeFileSync(join(dir, 'outside.bin'), OUTSIDE);
  return { dir, key, model: join(dir, 'model'), sig: join(dir, 'model.sig') };
}


describe('signature files SIGNED by a trusted key with hostile paths are refused with UNSAFE_PATH', () => {
  // Load the CLI's lazily imported modules first, so the fs spy below sees only data files.
  before(async () => {
    const cleanUp: (() => void)[] = [];
    const m = await setup({ after: (fn) => cleanUp.push(fn) });
    await runCli(['verify', 'model', '-p', m.key.publicPath, '--json', '--threads', '1'], { cwd: m.dir });
    for (const fn of cleanUp) fn();
  });

  for (const [what, paths] of HOSTILE_PATHS) {
    test(`path ${what}: verify exits 1 with UNSAFE_PATH and touches nothing outside the model`, async (t) => {
      const m = await setup(t);
      const files: ManifestFile[] = paths.map((p) => (p === 'weights.bin' ? fileEntry(p, INSIDE) : fileEntry(p === '/OUTSIDE' ? join(m.dir, 'outside.bin') : p, OUTSIDE)));
      writeFileSync(m.sig, signManifest(manifestOf(files), [m.key.key]));
      const { result, paths: touched } = await withFsPaths(() => runCli(['verify', 'model', '-p', m.key.publicPath, '--json', '--threads', '1'], { cwd: m.dir }));
      assertCodes(result, 1, ['UNSAFE_PATH'], what);
      // The manifest is refused as it is decoded, before the model is even listed.
      assert.equal(result.json<{ subject: { name: string | null } }>().subject.name, null);
      const outside = touched.map((p) => resolve(m.dir, p)).filter((p) => !p.startsWith(`${m.dir}/`) || p === join(m.dir, 'outside.bin'));
      assert.deepEqual(outside, [], 'paths outside the model were touched');
      assert.ok(touched.some((p) => resolve(m.dir, p) === m.sig), 'the fs spy saw the signature file');
      // inspect decodes as strictly: the same refusal.
      assertCodes(await runCli(['inspect', 'model.sig', '--json'], { cwd: m.dir }), 1, ['UNSAFE_PATH'], `inspect: ${what}`);
    });
  }

  test('the same hostile manifests signed by an UNTRUSTED key are never decoded: UNTRUSTED_SIGNER only', async (t) => {
    const m = await setup(t);
    const stranger = generateSecretKey();
    for (const [what, paths] of HOSTILE_PATHS) {
      writeFileSync(m.sig, signManifest(manifestOf(paths.map((p) => fileEntry(p, OUTSIDE))), [stranger]));
      const r = await runCli(['verify', 'model', '-p', m.key.publicPath, '--json', '--threads', '1'], { cwd: m.dir });
      assertCodes(r, 1, ['UNTRUSTED_SIGNER'], what);
      assert.equal(r.json<{ subject: { name: string | null } }>().subject.name, null, what);
    }
  });

  test('a single-file manifest whose one path has a "/": UNSAFE_PATH', async (t) => {
    const m = await setup(t);
    writeFileSync(m.sig, signManifest(manifestOf([fileEntry('model/weights.bin', INSIDE)], { kind: 'file' }), [m.key.key]));
    assertCodes(await runCli(['verify', 'model/weights.bin', '-s', 'model.sig', '-p', m.key.publicPath, '--json'], { cwd: m.dir }), 1, ['UNSAFE_PATH']);
  });

  test('a path whose bytes are not UTF-8 (0xff in the CBOR text): MALFORMED_SIGNATURE_FILE', async (t) => {
    const m = await setup(t);
    const payload = encodeManifest(manifestOf([fileEntry('weights\u0001.bin', INSIDE)]));
    const at = Buffer.from(payload).indexOf('weights\u0001.bin') + 'weights'.length;
    payload[at] = 0xff;
    writeFileSync(m.sig, signPayload(payload, [m.key.key]));
    assertCodes(await runCli(['verify', 'model', '-p', m.key.publicPath, '--json', '--threads', '1'], { cwd: m.dir }), 1, ['MALFORMED_SIGNATURE_FILE']);
  });

  test('the same hostile manifest with a correct path verifies: the refusals above are about the path alone', async (t) => {
    const m = await setup(t);
    writeFileSync(m.sig, signManifest(manifestOf([fileEntry('weights.bin', INSIDE)]), [m.key.key]));
    assertCodes(await runCli(['verify', 'model', '-p', m.key.publicPath, '--json', '--threads', '1'], { cwd: m.dir }), 0, []);
  });
});

describe('signed manifests with hostile values are refused with MALFORMED_SIGNATURE_FILE', () => {
  const cases: readonly (readonly [string, (m: Map<string, CborValue>) => void])[] = [
    ['an unknown field', (m) => m.set('exec', 'rm -rf /')],
    ['a "__proto__" field', (m) => m.set('__proto__', new Map([['polluted', 'yes']]))],
    ['a shard size that is not a power of two', (m) => m.set('shardSize', 65537)],
    ['a size of 2^53 - 1 bytes with one digest', (m) => m.set('files', [new Map<string, CborValue>([['path', 'weights.bin'], ['size', Number.MAX_SAFE_INTEGER], ['digest', sha256(INSIDE)]])])],
    ['a digest of the wrong length', (m) => m.set('files', [new Map<string, CborValue>([['path', 'weights.bin'], ['size', 7], ['digest', new Uint8Array(31)]])])],
    ['an annotation value with a control character', (m) => m.set('annotations', new Map([['note', 'line\u001b[31m']]))],
    ['a subject name with a newline', (m) => m.set('subject', new Map([['name', 'fine\nVerified OK']]))],
    ['no files', (m) => m.set('files', [])],
    ['an unknown hash algorithm', (m) => m.set('hash', 'md5')],
  ];
  for (const [what, mutate] of cases) {
    test(`${what}`, async (t) => {
      const m = await setup(t);
      writeFileSync(m.sig, signPayload(manifestBytes(INSIDE, mutate), [m.key.key]));
      assertCodes(await runCli(['verify', 'model', '-p', m.key.publicPath, '--json', '--threads', '1'], { cwd: m.dir }), 1, ['MALFORMED_SIGNATURE_FILE'], what);
    });
  }
});

/** Runs `action` and returns how long it took and how much the heap and buffers grew. */
async function measure<T>(action: () => Promise<T> | T): Promise<{ result: T; ms: number; grewBytes: number }> {
  const before = process.memoryUsage();
  const start = performance.now();
  const result = await action();
  const ms = performance.now() - start;
  const after = process.memoryUsage();
  return { result, ms, grewBytes: Math.max(0, after.arrayBuffers - before.arrayBuffers) + Math.max(0, after.heapUsed - before.heapUsed) };
}

const MiB = 1024 * 1024;

describe('signature files that declare huge sizes or nest deeply are refused fast, without big allocations', () => {
  const cases: readonly (readonly [string, Uint8Array])[] = [
    // map(3), "payload", bytes(1 GiB) and then only 8 bytes.
    ['a payload declaring 1 GiB', Uint8Array.from([0xa3, 0x67, ...Buffer.from('payload'), 0x5a, 0x40, 0x00, 0x00, 0x00, 1, 2, 3, 4, 5, 6, 7, 8])],
    ['a payload declaring 2^64 - 1 bytes', Uint8Array.from([0xa3, 0x67, ...Buffer.from('payload'), 0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0])],
    ['an array declaring 2^32 - 1 items', Uint8Array.from([0x9a, 0xff, 0xff, 0xff, 0xff, 0, 0, 0])],
    ['a map declaring 2^63 entries', Uint8Array.from([0xbb, 0x80, 0, 0, 0, 0, 0, 0, 0, 0])],
    ['arrays nested 1,000,000 deep', Uint8Array.from([...new Uint8Array(1_000_000).fill(0x81), 0x00])],
    ['maps nested 200,000 deep', Uint8Array.from([...Array.from({ length: 200_000 }, () => [0xa1, 0x61, 0x61]).flat(), 0x00])],
    ['indefinite-length arrays nested 100,000 deep', Uint8Array.from([...new Uint8Array(100_000).fill(0x9f), ...new Uint8Array(100_000).fill(0xff)])],
    ['tags nested 100,000 deep', Uint8Array.from([...new Uint8Array(100_000).fill(0xc6), 0x00])],
  ];
  for (const [what, bytes] of cases) {
    test(`${what}: MALFORMED_SIGNATURE_FILE`, async () => {
      const { ms, grewBytes } = await measure(() =>
        assert.throws(() => decodeEnvelope(bytes), (e: unknown) => e instanceof MsSignError && e.code === 'MALFORMED_SIGNATURE_FILE'),
      );
      assert.ok(ms < 1000, `took ${ms} ms`);
      assert.ok(grewBytes < 64 * MiB, `grew ${grewBytes} bytes`);
    });
  }

  test('verify and inspect refuse a 1 GiB-declaring and a 1,000,000-deep signature file through the CLI', async (t) => {
    const m = await setup(t);
    for (const [what, bytes] of [cases[0]!, cases[4]!]) {
      writeFileSync(m.sig, bytes);
      const { result, ms } = await measure(() => runCli(['verify', 'model', '-p', m.key.publicPath, '--json', '--threads', '1'], { cwd: m.dir }));
      assertCodes(result, 1, ['MALFORMED_SIGNATURE_FILE'], what);
      assert.ok(ms < 2000, `${what}: took ${ms} ms`);
      assertCodes(await runCli(['inspect', 'model.sig', '--json'], { cwd: m.dir }), 1, ['MALFORMED_SIGNATURE_FILE'], what);
    }
  });

  test('a signature file that IS 1 GiB (sparse) is refused by its size before it is read', async (t) => {
    const m = await setup(t);
    const fd = openSync(m.sig, 'w');
    ftruncateSync(fd, 1024 * MiB);
    closeSync(fd);
    const { result, ms, grewBytes } = await measure(() => runCli(['verify', 'model', '-p', m.key.publicPath, '--json', '--threads', '1'], { cwd: m.dir }));
    assertCodes(result, 1, ['MALFORMED_SIGNATURE_FILE']);
    assert.ok(ms < 2000, `took ${ms} ms`);
    assert.ok(grewBytes < 64 * MiB, `grew ${grewBytes} bytes`);
  });

  test('a SIGNED payload nested deeper than the limit is refused when decoded', async (t) => {
    const m = await setup(t);
    let deep: CborValue = 'x';
    for (let i = 0; i < 20; i++) deep = [deep];
    const payload = encodeCanonical(new Map<string, CborValue>([['version', 1], ['annotations', deep]]));
    writeFileSync(m.sig, signPayload(payload, [m.key.key]));
    const report = await verifyModel(m.model, { trust: trustKeys(m.key.key.publicKey), signaturePath: m.sig, threads: 1 });
    assert.deepEqual(report.errors.map((e) => e.code), ['MALFORMED_SIGNATURE_FILE']);
  });
});
