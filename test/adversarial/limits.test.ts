/**
 * Every documented limit (packages/core/src/limits.ts, docs/threat-model.md "Limits") is
 * enforced: just inside it is accepted (or fails for another reason), just past it is refused
 * with the code the documentation gives. Where a limit cannot be reached on disk in a test (a
 * million files), the walker is run with the limit lowered in this process: what is tested is
 * that the check exists and uses the documented constant.
 */
import assert from 'node:assert/strict';
import { closeSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { constants as bufferConstants } from 'node:buffer';
import {
  appendSignature,
  checkGlob,
  checkModelPath,
  decodeCanonical,
  decodeEnvelope,
  decodeManifest,
  encodeCanonical,
  generateSecretKey,
  LIMITS,
  MsSignError,
  parseTrustPolicy,
  type CborValue,
  type ErrorCode,
  secretKeySigner,
} from '@ms-sign/core';
import { loadVerifiedModel } from '@ms-sign/core/node';
import { walkModel } from '@ms-sign/core/internal';
import { manifestBytes, sha256, signPayload, trustKeys, writeKeyFiles } from '../helpers/crafted.js';
import { assertCodes } from '../helpers/hostile.js';
import { repoRoot, runCli, tempDir } from '../helpers/index.js';

const MiB = 1024 * 1024;
const CONTENT = new TextEncoder().encode('weights');
const bytesOf = (n: number, c = 'a') => c.repeat(n);

function refusedWith(code: ErrorCode, pattern?: RegExp) {
  return (e: unknown) => e instanceof MsSignError && e.code === code && (pattern === undefined || pattern.test(e.message));
}

/** decodeManifest of the base manifest after `change`: returns normally or throws MsSignError. */
const decodeChanged = (change: (m: Map<string, CborValue>) => void) => () => decodeManifest(manifestBytes(CONTENT, change));

function sparseFile(path: string, size: number): void {
  const fd = openSync(path, 'w', 0o600);
  ftruncateSync(fd, size);
  closeSync(fd);
}

describe('the documented limits are the enforced ones', () => {
  test('docs/threat-model.md lists every LIMITS entry with its value', () => {
    const doc = readFileSync(join(repoRoot, 'docs', 'threat-model.md'), 'utf8');
    const section = doc.slice(doc.indexOf('\n## Limits\n'), doc.indexOf('\n## ', doc.indexOf('\n## Limits\n') + 1));
    const rows = new Map([...section.matchAll(/^\| `(\w+)` \| ([\d,]+) \|/gm)].map((m) => [m[1]!, Number(m[2]!.replaceAll(',', ''))]));
    assert.deepEqual(Object.fromEntries(rows), { ...LIMITS });
  });
});

describe('limits on the signature file', () => {
  test(`signatureFileBytes: a file of ${LIMITS.signatureFileBytes} + 1 bytes is refused before it is read`, async (t) => {
    const dir = tempDir(t);
    const key = await writeKeyFiles(dir, generateSecretKey());
    writeFileSync(join(dir, 'model.ms'), CONTENT);
    sparseFile(join(dir, 'model.ms.sig'), LIMITS.signatureFileBytes + 1);
    const before = process.memoryUsage().arrayBuffers;
    assertCodes(await runCli(['verify', 'model.ms', '-p', key.publicPath, '--json'], { cwd: dir }), 1, ['MALFORMED_SIGNATURE_FILE']);
    assert.ok(process.memoryUsage().arrayBuffers - before < LIMITS.signatureFileBytes / 2, 'the file was read');
    assert.throws(() => decodeEnvelope(new Uint8Array(LIMITS.signatureFileBytes + 1)), refusedWith('MALFORMED_SIGNATURE_FILE', /larger than/));
  });

  test(`signatures: ${LIMITS.signatures} are read, one more is MALFORMED_SIGNATURE_FILE; --append refuses the one past it`, async () => {
    const keys = Array.from({ length: LIMITS.signatures }, () => generateSecretKey());
    const payload = manifestBytes(CONTENT, () => undefined);
    const full = signPayload(payload, keys);
    assert.equal(decodeEnvelope(full).signatures.length, LIMITS.signatures);
    await assert.rejects(appendSignature(decodeEnvelope(full), secretKeySigner(generateSecretKey())), refusedWith('LIMIT_EXCEEDED'));
    const over = signPayload(payload, [...keys, generateSecretKey()]);
    assert.throws(() => decodeEnvelope(over), refusedWith('MALFORMED_SIGNATURE_FILE', new RegExp(`more than ${LIMITS.signatures}`)));
  });

  test(`cborDepth: ${LIMITS.cborDepth} levels of nested items decode, ${LIMITS.cborDepth + 1} do not`, () => {
    const nested = (levels: number): CborValue => {
      let value: CborValue = 0;
      for (let i = 1; i < levels; i++) value = [value];
      return value;
    };
    assert.deepEqual(decodeCanonical(encodeCanonical(nested(LIMITS.cborDepth))), nested(LIMITS.cborDepth));
    assert.throws(() => decodeCanonical(encodeCanonical(nested(LIMITS.cborDepth + 1))), /nested too deeply/);
  });
});

describe('limits on the manifest', () => {
  test(`files: a manifest of ${LIMITS.files} + 1 files is refused by count, before any entry is read`, () => {
    assert.throws(decodeChanged((m) => m.set('files', new Array<CborValue>(LIMITS.files + 1).fill(0))), refusedWith('MALFORMED_SIGNATURE_FILE', new RegExp(`more than ${LIMITS.files} items`)));
    // At the limit the count passes and the first entry is what is wrong.
    assert.throws(decodeChanged((m) => m.set('files', new Array<CborValue>(LIMITS.files).fill(0))), refusedWith('MALFORMED_SIGNATURE_FILE', /files\[0\]/));
  });

  test(`shards: a file declaring ${LIMITS.shards} + 1 shards is refused before its digests are read`, () => {
    const entry = (shards: number) => new Map<string, CborValue>([['path', 'big.bin'], ['size', shards * 65536], ['shards', []]]);
    assert.throws(decodeChanged((m) => m.set('files', [entry(LIMITS.shards + 1)])), refusedWith('MALFORMED_SIGNATURE_FILE', new RegExp(`more than ${LIMITS.shards} shard digests`)));
    assert.throws(decodeChanged((m) => m.set('files', [entry(LIMITS.shards)])), refusedWith('MALFORMED_SIGNATURE_FILE', /expected 4000000 digests/));
  });

  test(`pathBytes, pathSegmentBytes, pathDepth: ${LIMITS.pathBytes} bytes, ${LIMITS.pathSegmentBytes}-byte segments, ${LIMITS.pathDepth} levels`, () => {
    const segment = bytesOf(LIMITS.pathSegmentBytes);
    // 15 full segments, one of 254 bytes and one of 1: 4080 bytes and 16 slashes.
    const longest = [...Array.from({ length: 15 }, () => segment), bytesOf(LIMITS.pathSegmentBytes - 1), 'b'].join('/');
    assert.equal(Buffer.byteLength(longest), LIMITS.pathBytes);
    assert.equal(checkModelPath(longest), undefined);
    assert.match(checkModelPath(`${longest}b`) ?? '', /longer than/);
    assert.equal(checkModelPath(segment), undefined);
    assert.match(checkModelPath(`${segment}b`) ?? '', /segment is longer/);
    // Multi-byte characters count in UTF-8 bytes: 128 x "é" is 256 bytes.
    assert.match(checkModelPath('\u00e9'.repeat(128)) ?? '', /segment is longer/);
    const deepest = Array.from({ length: LIMITS.pathDepth }, () => 'd').join('/');
    assert.equal(checkModelPath(deepest), undefined);
    assert.match(checkModelPath(`${deepest}/f`) ?? '', /deeper than/);
    // In a manifest: too long a text is MALFORMED_SIGNATURE_FILE, an unsafe path UNSAFE_PATH.
    const withPath = (path: string) => decodeChanged((m) => m.set('files', [new Map<string, CborValue>([['path', path], ['size', CONTENT.length], ['digest', sha256(CONTENT)]])]));
    assert.doesNotThrow(withPath(longest));
    assert.throws(withPath(`${longest}b`), refusedWith('MALFORMED_SIGNATURE_FILE'));
    assert.throws(withPath(`${segment}b`), refusedWith('UNSAFE_PATH'));
    assert.throws(withPath(`${deepest}/f`), refusedWith('UNSAFE_PATH'));
  });

  test('nameBytes, versionBytes: subject name and version', () => {
    const subject = (name: string, version?: string) => decodeChanged((m) => m.set('subject', new Map([['name', name], ...(version === undefined ? [] : [['version', version] as [string, string]])])));
    assert.doesNotThrow(subject(bytesOf(LIMITS.nameBytes), bytesOf(LIMITS.versionBytes)));
    assert.throws(subject(bytesOf(LIMITS.nameBytes + 1)), refusedWith('MALFORMED_SIGNATURE_FILE'));
    assert.throws(subject('n', bytesOf(LIMITS.versionBytes + 1)), refusedWith('MALFORMED_SIGNATURE_FILE'));
  });

  test('annotations, annotationKeyBytes, annotationValueBytes', () => {
    const annotations = (entries: [string, string][]) => decodeChanged((m) => m.set('annotations', new Map(entries)));
    const many = (n: number) => Array.from({ length: n }, (_, i): [string, string] => [`k${i}`, 'v']);
    assert.doesNotThrow(annotations(many(LIMITS.annotations)));
    assert.throws(annotations(many(LIMITS.annotations + 1)), refusedWith('MALFORMED_SIGNATURE_FILE'));
    assert.doesNotThrow(annotations([[bytesOf(LIMITS.annotationKeyBytes), bytesOf(LIMITS.annotationValueBytes)]]));
    assert.throws(annotations([[bytesOf(LIMITS.annotationKeyBytes + 1), 'v']]), refusedWith('MALFORMED_SIGNATURE_FILE'));
    assert.throws(annotations([['k', bytesOf(LIMITS.annotationValueBytes + 1)]]), refusedWith('MALFORMED_SIGNATURE_FILE'));
  });

  test('ignorePatterns, globBytes', () => {
    const ignore = (patterns: string[]) => decodeChanged((m) => m.set('ignore', patterns));
    assert.doesNotThrow(ignore(Array.from({ length: LIMITS.ignorePatterns }, (_, i) => `p${i}`)));
    assert.throws(ignore(Array.from({ length: LIMITS.ignorePatterns + 1 }, (_, i) => `p${i}`)), refusedWith('MALFORMED_SIGNATURE_FILE'));
    assert.equal(checkGlob(bytesOf(LIMITS.globBytes)), undefined);
    assert.notEqual(checkGlob(bytesOf(LIMITS.globBytes + 1)), undefined);
    assert.throws(ignore([bytesOf(LIMITS.globBytes + 1)]), refusedWith('MALFORMED_SIGNATURE_FILE'));
  });

  test('shard size: a power of two from 64 KiB to 4 GiB', () => {
    for (const ok of [65536, 2 ** 32]) assert.doesNotThrow(decodeChanged((m) => m.set('shardSize', ok)), String(ok));
    for (const bad of [32768, 2 ** 33, 65536 * 3]) assert.throws(decodeChanged((m) => m.set('shardSize', bad)), refusedWith('MALFORMED_SIGNATURE_FILE'), String(bad));
  });
});

describe('limits on what sign accepts', () => {
  test('sign refuses a name, version, annotation or ignore pattern past its limit, and too many of them', async (t) => {
    const dir = tempDir(t);
    const key = await writeKeyFiles(dir, generateSecretKey());
    mkdirSync(join(dir, 'model'));
    writeFileSync(join(dir, 'model', 'weights.bin'), CONTENT);
    const sign = (...extra: string[]) => runCli(['sign', 'model', '-k', key.secretPath, '-o', 'out.sig', '--json', ...extra], { cwd: dir });
    assertCodes(await sign('--name', bytesOf(LIMITS.nameBytes), '--model-version', bytesOf(LIMITS.versionBytes)), 0, []);
    assertCodes(await sign('--name', bytesOf(LIMITS.nameBytes + 1)), 2, ['USAGE'], 'name');
    assertCodes(await sign('--model-version', bytesOf(LIMITS.versionBytes + 1)), 2, ['USAGE'], 'version');
    assertCodes(await sign('-a', `${bytesOf(LIMITS.annotationKeyBytes + 1)}=v`), 2, ['USAGE'], 'annotation key');
    assertCodes(await sign('-a', `k=${bytesOf(LIMITS.annotationValueBytes + 1)}`), 2, ['USAGE'], 'annotation value');
    assertCodes(await sign('--ignore', bytesOf(LIMITS.globBytes + 1)), 2, ['USAGE'], 'glob');
    assertCodes(await sign(...Array.from({ length: LIMITS.annotations + 1 }, (_, i) => ['-a', `k${i}=v`]).flat()), 1, ['LIMIT_EXCEEDED'], 'annotations');
    assertCodes(await sign(...Array.from({ length: LIMITS.ignorePatterns + 1 }, (_, i) => ['--ignore', `p${i}`]).flat()), 1, ['LIMIT_EXCEEDED'], 'ignore patterns');
    assertCodes(await sign('--shard-size', '32768'), 2, ['USAGE'], 'shard size');
  });

  test('a signature file inside the model is recorded as an ignore glob: one that cannot be (too long, a control character) is USAGE, not INTERNAL', async (t) => {
    const dir = tempDir(t);
    const key = await writeKeyFiles(dir, generateSecretKey());
    const deep = Array.from({ length: 5 }, () => bytesOf(250, 'd')).join('/');
    mkdirSync(join(dir, 'model', deep), { recursive: true });
    writeFileSync(join(dir, 'model', 'weights.bin'), CONTENT);
    for (const sig of [`model/${deep}/model.sig`, 'model/bad\u0007name.sig']) {
      assertCodes(await runCli(['sign', 'model', '-k', key.secretPath, '-o', sig, '--json'], { cwd: dir }), 2, ['USAGE'], sig);
    }
    assertCodes(await runCli(['sign', 'model', '-k', key.secretPath, '-o', 'model/model.sig', '--json'], { cwd: dir }), 0, []);
  });
});

describe('limits on the model directory', () => {
  test(`pathDepth: files ${LIMITS.pathDepth} levels deep are signed, deeper directories are LIMIT_EXCEEDED`, async (t) => {
    const dir = tempDir(t);
    const key = await writeKeyFiles(dir, generateSecretKey());
    const deepest = join(dir, 'model', ...Array.from({ length: LIMITS.pathDepth - 1 }, () => 'd'));
    mkdirSync(deepest, { recursive: true });
    writeFileSync(join(deepest, 'f'), CONTENT);
    assertCodes(await runCli(['sign', 'model', '-k', key.secretPath, '--json'], { cwd: dir }), 0, []);
    mkdirSync(join(deepest, 'd'));
    writeFileSync(join(deepest, 'd', 'f'), CONTENT);
    assertCodes(await runCli(['sign', 'model', '-k', key.secretPath, '-o', 'x.sig', '--json'], { cwd: dir }), 1, ['LIMIT_EXCEEDED']);
    assertCodes(await runCli(['verify', 'model', '-p', key.publicPath, '--json'], { cwd: dir }), 1, ['LIMIT_EXCEEDED']);
  });

  test('files: the walker stops at LIMITS.files (run with the limit lowered to 3 in this process)', (t) => {
    const dir = tempDir(t);
    for (const name of ['a', 'b', 'c']) writeFileSync(join(dir, name), name);
    const limits = LIMITS as { files: number };
    const documented = limits.files;
    limits.files = 3;
    try {
      assert.equal(walkModel(dir).files.length, 3);
      writeFileSync(join(dir, 'd'), 'd');
      assert.throws(() => walkModel(dir), refusedWith('LIMIT_EXCEEDED'));
    } finally {
      limits.files = documented;
    }
  });

  test('file size: hashing streams any size; verify-before-load refuses what cannot fit in memory, without allocating it', async (t) => {
    const dir = tempDir(t);
    const key = generateSecretKey();
    writeFileSync(join(dir, 'model.ms'), CONTENT);
    // A trusted signature claiming a file larger than a buffer can hold.
    const size = bufferConstants.MAX_LENGTH + 1;
    const file = new Map<string, CborValue>([['path', 'model.ms'], ['size', size], ['shards', [sha256(CONTENT), sha256(CONTENT)]]]);
    const payload = manifestBytes(CONTENT, (m) => m.set('kind', 'file').set('shardSize', 2 ** 32).set('files', [file]));
    writeFileSync(join(dir, 'model.ms.sig'), signPayload(payload, [key]));
    const before = process.memoryUsage().arrayBuffers;
    await assert.rejects(loadVerifiedModel(join(dir, 'model.ms'), { trust: trustKeys(key.publicKey), threads: 1 }), (e: unknown) =>
      e instanceof MsSignError && e.code === 'LIMIT_EXCEEDED',
    );
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 * MiB);
  });
});

describe('limits on trust policy, state and key files', () => {
  test(`trustPolicyBytes, stateFileBytes, keyFileBytes: one byte more is refused before it is read`, async (t) => {
    const dir = tempDir(t);
    const key = await writeKeyFiles(dir, generateSecretKey());
    writeFileSync(join(dir, 'model.ms'), CONTENT);
    assert.equal((await runCli(['sign', 'model.ms', '-k', key.secretPath], { cwd: dir })).code, 0);
    sparseFile(join(dir, 'trust.json'), LIMITS.trustPolicyBytes + 1);
    sparseFile(join(dir, 'state.json'), LIMITS.stateFileBytes + 1);
    sparseFile(join(dir, 'big.key'), LIMITS.keyFileBytes + 1);
    sparseFile(join(dir, 'big.pub'), LIMITS.keyFileBytes + 1);
    const run = (...argv: string[]) => runCli([...argv, '--json'], { cwd: dir });
    assertCodes(await run('verify', 'model.ms', '-t', 'trust.json'), 2, ['BAD_TRUST_POLICY'], 'trust');
    assertCodes(await run('verify', 'model.ms', '-p', key.publicPath, '--state', 'state.json'), 2, ['BAD_STATE_FILE'], 'state');
    assertCodes(await run('sign', 'model.ms', '-k', 'big.key', '-o', 'x.sig'), 2, ['KEY_UNREADABLE'], 'secret key');
    assertCodes(await run('verify', 'model.ms', '-p', 'big.pub'), 2, ['KEY_UNREADABLE'], 'public key');
  });

  test('the trust policy schema bounds its lists: 1000 publishers, 1000 keys or model globs each, 1000 rules', () => {
    const policy = (publishers: number, rules: number) =>
      JSON.stringify({
        version: 1,
        publishers: Array.from({ length: publishers }, (_, i) => ({ name: `p${i}`, models: ['**'], keys: [] })),
        revoked: [],
        rules: Array.from({ length: rules }, (_, i) => ({ models: `r${i}` })),
      });
    // Publishers without keys fail on minItems: the count check must come first to be what refuses.
    assert.throws(() => parseTrustPolicy(policy(1001, 0), 'p.json'), refusedWith('BAD_TRUST_POLICY', /publishers/));
    assert.throws(() => parseTrustPolicy(policy(0, 1001), 'p.json'), refusedWith('BAD_TRUST_POLICY', /rules/));
    assert.doesNotThrow(() => parseTrustPolicy(policy(0, 1000), 'p.json'));
  });
});
