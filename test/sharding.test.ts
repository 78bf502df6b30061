/**
 * Sharded hashing through the CLI (docs/signature-format.md): what sign records for files at the shard
 * edges, the byte range verify names for a damaged shard, --fail-fast, and digests that do not
 * depend on the thread count. The hidden --shard-size keeps shards (and files) small.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { openSync, readFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { errorCodes, makeKey, runCli, tempDir, writeFile } from './helpers/index.js';

const SHARD = 64 * 1024;

/** Deterministic, non-repeating bytes: a repeated pattern could hide an offset bug. */
function bytes(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** Files at and around the shard edges, by model-relative path. */
const EDGES: Record<string, number> = {
  'empty.bin': 0,
  'one-byte.bin': 1,
  'just-under-one-shard.bin': SHARD - 1,
  'exactly-one-shard.bin': SHARD,
  'one-past-one-shard.bin': SHARD + 1,
  'two-shards-on-the-boundary.bin': 2 * SHARD,
  'five-shards-and-a-tail.bin': 5 * SHARD + 123,
};

interface InspectedFile {
  path: string;
  size: number;
  digest?: string;
  shards?: string[];
}

async function signedEdgeModel(t: { after: (fn: () => void) => void }, extra: string[] = []) {
  const dir = tempDir(t);
  const key = await makeKey(dir);
  Object.entries(EDGES).forEach(([name, size], i) => writeFile(join(dir, 'model', name), bytes(size, i)));
  const signed = await runCli(['sign', 'model', '-k', key.secret, '--shard-size', String(SHARD), '--json', ...extra], { cwd: dir });
  assert.equal(signed.code, 0, signed.stdout + signed.stderr);
  return { dir, key };
}

async function inspectFiles(dir: string, sig = 'model.sig'): Promise<InspectedFile[]> {
  const r = await runCli(['inspect', sig, '--json'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  return r.json<{ files: InspectedFile[] }>().files;
}

/** Overwrites one byte of a file in place (same size: only the digest can tell). */
function flipByte(path: string, offset: number): void {
  const old = readFileSync(path)[offset]!;
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.of(old ^ 0xff), 0, 1, offset);
  closeSync(fd);
}

describe('sharded files', () => {
  test('sign records one plain digest up to one shard and one digest per shard beyond, and verify accepts them', async (t) => {
    const { dir, key } = await signedEdgeModel(t);
    const files = await inspectFiles(dir);
    assert.deepEqual(files.map((f) => f.path), Object.keys(EDGES).sort());
    for (const file of files) {
      const data = readFileSync(join(dir, 'model', file.path));
      assert.equal(file.size, data.length);
      if (data.length <= SHARD) {
        assert.deepEqual(file, { path: file.path, size: data.length, digest: sha256(data) }, file.path);
      } else {
        const expected: string[] = [];
        for (let start = 0; start < data.length; start += SHARD) expected.push(sha256(data.subarray(start, start + SHARD)));
        assert.deepEqual(file.shards, expected, file.path);
      }
    }
    // The boundary file has exactly two shards, the one a byte past it two, the last one of 1 byte.
    const shardsOf = (name: string) => files.find((f) => f.path === name)!.shards!.length;
    assert.equal(shardsOf('two-shards-on-the-boundary.bin'), 2);
    assert.equal(shardsOf('one-past-one-shard.bin'), 2);
    assert.equal(shardsOf('five-shards-and-a-tail.bin'), 6);
    const verified = await runCli(['verify', 'model', '-p', key.public, '--json'], { cwd: dir });
    assert.equal(verified.code, 0, verified.stdout);
  });

  test('a file of at most one shard carries the digest sha256sum prints', { skip: spawnSync('sha256sum', ['--version']).status !== 0 && 'no sha256sum' }, async (t) => {
    const { dir } = await signedEdgeModel(t);
    for (const file of (await inspectFiles(dir)).filter((f) => f.size <= SHARD)) {
      const printed = spawnSync('sha256sum', [join(dir, 'model', file.path)], { encoding: 'utf8' }).stdout.split(' ')[0];
      assert.equal(file.digest, printed, file.path);
    }
  });

  test('a damaged byte inside the last shard is reported with that shard and its byte range', async (t) => {
    const { dir, key } = await signedEdgeModel(t);
    const size = EDGES['five-shards-and-a-tail.bin']!;
    flipByte(join(dir, 'model', 'five-shards-and-a-tail.bin'), size - 50);
    const r = await runCli(['verify', 'model', '-p', key.public, '--json'], { cwd: dir });
    assert.equal(r.code, 1);
    const errors = r.json<{ errors: { code: string; path: string; message: string }[] }>().errors;
    assert.deepEqual(errors.map((e) => [e.code, e.path]), [['DIGEST_MISMATCH', 'five-shards-and-a-tail.bin']]);
    // The range is data the message promises: the last shard, from its first to the file's last byte.
    assert.match(errors[0]!.message, new RegExp(`shard 6 of 6 \\(bytes ${5 * SHARD}-${size - 1}\\)`));
  });

  test('every damaged shard and file is reported, in manifest order; --fail-fast reports only the first', async (t) => {
    const { dir, key } = await signedEdgeModel(t);
    flipByte(join(dir, 'model', 'five-shards-and-a-tail.bin'), SHARD + 7);
    flipByte(join(dir, 'model', 'five-shards-and-a-tail.bin'), 4 * SHARD);
    flipByte(join(dir, 'model', 'exactly-one-shard.bin'), SHARD - 1);
    const all = await runCli(['verify', 'model', '-p', key.public, '--json'], { cwd: dir });
    assert.equal(all.code, 1);
    const errors = all.json<{ errors: { code: string; path: string; message: string }[] }>().errors;
    assert.deepEqual(errors.map((e) => [e.code, e.path]), [
      ['DIGEST_MISMATCH', 'exactly-one-shard.bin'],
      ['DIGEST_MISMATCH', 'five-shards-and-a-tail.bin'],
      ['DIGEST_MISMATCH', 'five-shards-and-a-tail.bin'],
    ]);
    assert.match(errors[1]!.message, new RegExp(`bytes ${SHARD}-${2 * SHARD - 1}\\)`));
    assert.match(errors[2]!.message, new RegExp(`bytes ${4 * SHARD}-${5 * SHARD - 1}\\)`));

    for (const threads of ['1', '3']) {
      const first = await runCli(['verify', 'model', '-p', key.public, '--json', '--fail-fast', '--threads', threads], { cwd: dir });
      assert.equal(first.code, 1);
      assert.deepEqual(errorCodes(first), ['DIGEST_MISMATCH'], `--threads ${threads}`);
    }
  });

  test('the signed digests are the same whatever the thread count, and verify agrees at any count', async (t) => {
    const { dir, key } = await signedEdgeModel(t, ['--threads', '1', '-o', 'one.sig']);
    const reference = await inspectFiles(dir, 'one.sig');
    for (const threads of ['2', '4']) {
      const signed = await runCli(['sign', 'model', '-k', key.secret, '--shard-size', String(SHARD), '--threads', threads, '-o', `t${threads}.sig`], { cwd: dir });
      assert.equal(signed.code, 0, signed.stderr);
      assert.deepEqual(await inspectFiles(dir, `t${threads}.sig`), reference, `--threads ${threads}`);
    }
    for (const threads of ['1', '2', '4']) {
      const r = await runCli(['verify', 'model', '-s', 'one.sig', '-p', key.public, '--threads', threads, '--json'], { cwd: dir });
      assert.equal(r.code, 0, `--threads ${threads}: ${r.stdout}`);
    }
  });

  test('hashing prints nothing on stderr when it is not a terminal, nor with --json', async (t) => {
    const { dir, key } = await signedEdgeModel(t);
    for (const args of [[], ['--json'], ['-q']]) {
      const r = await runCli(['verify', 'model', '-p', key.public, ...args], { cwd: dir });
      assert.equal(r.code, 0);
      assert.equal(r.stderr, '', args.join(' '));
    }
  });
});
