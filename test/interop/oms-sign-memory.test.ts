/**
 * `sign --format oms` of 20,000 small files stays under 200 MiB of peak RSS (issue 10's bound).
 * It peaked at ~262 MiB when the bundle's base64 and the digests' hex were built one character at
 * a time: each append made a heap object (a string rope), ~130 MiB for the ~3 MiB statement.
 * Measured as the child's peak RSS (hash workers included: one process); time is not asserted.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { cliBin, runCli, tempDir } from '../helpers/index.js';

const MiB = 1024 * 1024;
const FILES = 20_000;

/** Makes the child write its peak RSS (KiB) to RSS_OUT as it exits; preloaded with --import. */
const RECORD_RSS = `data:text/javascript,${encodeURIComponent(
  'import{writeFileSync}from"node:fs";import{isMainThread}from"node:worker_threads";if(isMainThread)process.on("exit",()=>writeFileSync(process.env.RSS_OUT,String(process.resourceUsage().maxRSS)));',
)}`;

test('sign --format oms of 20,000 files of 4 KiB peaks under 200 MiB and the bundle verifies', async (t) => {
  const dir = tempDir(t);
  // Laid out as the benchmark's small case: 100 directories of 200 files.
  const bytes = randomBytes(4096 + FILES);
  for (let i = 0; i < FILES; i++) {
    const sub = join(dir, 'model', `d${String(Math.floor(i / 200)).padStart(3, '0')}`);
    if (i % 200 === 0) mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `f${String(i).padStart(5, '0')}.bin`), bytes.subarray(i, i + 4096));
  }
  assert.equal((await runCli(['keygen', '--algorithm', 'ecdsa-p256', '-o', 'ec', '--no-passphrase'], { cwd: dir })).code, 0);
  const rssFile = join(dir, 'rss');
  const signed = spawnSync(process.execPath, ['--import', RECORD_RSS, cliBin, 'sign', 'model', '--format', 'oms', '-k', 'ec.key', '-o', 'model.sig'], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: dir, NO_COLOR: '1', RSS_OUT: rssFile },
    encoding: 'utf8',
  });
  assert.equal(signed.status, 0, signed.stderr);
  const peak = Number(readFileSync(rssFile, 'utf8')) * 1024;
  assert.ok(peak < 200 * MiB, `peak RSS ${(peak / MiB).toFixed(0)} MiB`);
  const bundle = JSON.parse(readFileSync(join(dir, 'model.sig'), 'utf8')) as { dsseEnvelope: { payload: string } };
  const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8')) as { predicate: { resources: unknown[] } };
  assert.equal(statement.predicate.resources.length, FILES);
  const verified = await runCli(['verify', 'model', '-s', 'model.sig', '-p', 'ec.pub', '--no-scan'], { cwd: dir });
  assert.equal(verified.code, 0, verified.stdout + verified.stderr);
});
