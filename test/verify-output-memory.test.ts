/**
 * `verify --output -` in bounded memory (issue 8, item 11): a model larger than the in-memory
 * bound is spooled to an unlinked 0600 file while it is verified, then streamed. Memory is
 * measured as the child's peak RSS (process.resourceUsage, written at exit); time is not asserted.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { parsePublicKeyPem, policyFromKeys } from '@ms-sign/core';
import { ModelVerificationError, readVerifiedModel } from '@ms-sign/core/node';
import { cliOk, cliBin, copyFixture, makeKey, tempDir } from './helpers/index.js';
import { signedFile } from './helpers/scenarios.js';

const mustSucceed = (argv: readonly string[], cwd: string) => cliOk(cwd, argv);

const MiB = 1024 * 1024;
/** Peak resident memory allowed for any model size (the bound). */
const MEMORY_BOUND_KIB = 200 * 1024;

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Writes the child's peak RSS (KiB) to RSS_OUT when it exits. */
const RECORD_RSS = `data:text/javascript,${encodeURIComponent(
  'import{writeFileSync}from"node:fs";process.on("exit",()=>writeFileSync(process.env.RSS_OUT,String(process.resourceUsage().maxRSS)));',
)}`;

describe('verify --output - keeps memory bounded at any model size', () => {
  test('a 600 MiB model streams to stdout byte for byte with peak RSS under 200 MiB, and no spool file is left', async (t) => {
    const dir = tempDir(t);
    const spool = join(dir, 'tmp');
    mkdirSync(spool);
    const key = await makeKey(dir);
    // Sparse-ish: 600 MiB of mostly holes, with random MiB here and there so the content matters.
    const model = join(dir, 'big.bin');
    const fd = openSync(model, 'w', 0o644);
    ftruncateSync(fd, 600 * MiB);
    for (const at of [0, 137, 300, 599]) writeSync(fd, randomBytes(MiB), 0, MiB, at * MiB);
    closeSync(fd);
    await mustSucceed(['sign', 'big.bin', '-k', key.secret], dir);

    const out = join(dir, 'out.bin');
    const outFd = openSync(out, 'w', 0o600);
    const rssFile = join(dir, 'rss');
    const child = spawnSync(process.execPath, ['--import', RECORD_RSS, cliBin, 'verify', 'big.bin', '-p', key.public, '--output', '-', '-q'], {
      cwd: dir,
      stdio: ['ignore', outFd, 'pipe'],
      env: { PATH: process.env.PATH, HOME: dir, TMPDIR: spool, RSS_OUT: rssFile, NO_COLOR: '1' },
    });
    closeSync(outFd);
    assert.equal(child.status, 0, child.stderr.toString());
    assert.equal(await sha256File(out), await sha256File(model), 'stdout carries exactly the model');
    const peakKiB = Number(readFileSync(rssFile, 'utf8'));
    t.diagnostic(`peak RSS of verify --output - on 600 MiB: ${Math.round(peakKiB / 1024)} MiB`);
    assert.ok(peakKiB > 0 && peakKiB < MEMORY_BOUND_KIB, `peak RSS ${Math.round(peakKiB / 1024)} MiB`);
    assert.deepEqual(readdirSync(spool), [], 'the spool file is gone');
  });

  test('readVerifiedModel: the spooled and the in-memory paths give the same bytes; a failure streams nothing and leaves nothing', async (t) => {
    const m = await signedFile(t);
    const spool = join(m.dir, 'tmp');
    mkdirSync(spool);
    const trust = { policy: policyFromKeys([{ name: 'p', key: parsePublicKeyPem(readFileSync(m.key.public, 'utf8')) }]), source: 'test' };
    const collect = async (spoolAbove: number) => {
      const stream = await readVerifiedModel(join(m.dir, m.model), { trust }, { spoolAbove, tmpDir: spool });
      const chunks: Uint8Array[] = [];
      for await (const chunk of stream.chunks) chunks.push(chunk);
      return Buffer.concat(chunks);
    };
    const original = readFileSync(join(m.dir, m.model));
    assert.deepEqual(await collect(0), original, 'spooled');
    assert.deepEqual(await collect(Number.MAX_SAFE_INTEGER), original, 'in memory');
    assert.deepEqual(readdirSync(spool), []);
    copyFixture('lenet_tod_infer.ms', m.dir, m.model);
    await assert.rejects(readVerifiedModel(join(m.dir, m.model), { trust }, { spoolAbove: 0, tmpDir: spool }), ModelVerificationError);
    assert.deepEqual(readdirSync(spool), [], 'no spool file after a failure');
  });
});
