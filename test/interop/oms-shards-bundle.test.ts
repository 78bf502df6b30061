/**
 * scripts/oms-shards-bundle.mjs, which makes the benchmark's OMS shards-mode bundle from a native
 * signature's shard digests: its bundle verifies with ms-sign's OMS verifier, in shards mode over
 * the same ranges, and a changed byte in any range fails it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseOmsBundle, parseOmsStatement } from '@ms-sign/core';
import { cliOk, makeKey, repoRoot, runCli, tempDir } from '../helpers/index.js';

describe('scripts/oms-shards-bundle.mjs', () => {
  test('a shards bundle of a 200 KiB file in 64 KiB ranges verifies; one changed byte does not', async (t) => {
    const dir = tempDir(t);
    const key = await makeKey(dir);
    await cliOk(dir, ['keygen', '--algorithm', 'ecdsa-p256', '-o', 'ec', '--no-passphrase']);
    const model = join(dir, 'model.bin');
    writeFileSync(model, randomBytes(200 * 1024));
    await cliOk(dir, ['sign', 'model.bin', '-k', key.secret, '--shard-size', String(64 * 1024)]);
    const made = spawnSync(process.execPath, [join(repoRoot, 'scripts', 'oms-shards-bundle.mjs'), 'model.bin.sig', 'ec.key', 'ec.pub', 'model.oms'], { cwd: dir, encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    const statement = parseOmsStatement(parseOmsBundle(new Uint8Array(readFileSync(join(dir, 'model.oms'))), 'model.oms').payload, 'model.oms');
    assert.deepEqual([statement.method, statement.shardSize, statement.singleFile, statement.files[0]!.digests.length], ['shards', 64 * 1024, true, 4]);
    await cliOk(dir, ['verify', 'model.bin', '-s', 'model.oms', '-p', 'ec.pub']);
    const bytes = readFileSync(model);
    bytes[150 * 1024]! ^= 1;
    writeFileSync(model, bytes);
    const r = await runCli(['verify', 'model.bin', '-s', 'model.oms', '-p', 'ec.pub', '--json'], { cwd: dir });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /DIGEST_MISMATCH/);
  });
});
