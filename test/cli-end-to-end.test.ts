import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { copyFixture, errorCodes, FIXTURES, makeKey, runCli, spawnCli, tempDir } from './helpers/index.js';

describe('sign and verify real MindSpore models', () => {
  for (const name of FIXTURES) {
    test(`${name} signs and verifies as a single file`, async (t) => {
      const dir = tempDir(t);
      const key = await makeKey(dir);
      copyFixture(name, dir);
      const signed = await runCli(['sign', name, '-k', key.secret, '--json'], { cwd: dir });
      assert.equal(signed.code, 0, signed.stderr);
      const verified = await runCli(['verify', name, '-p', key.public, '--json'], { cwd: dir });
      assert.equal(verified.code, 0, verified.stdout);
      const report = verified.json<{ ok: boolean; subject: { name: string }; signers: { keyId: string; valid: boolean }[] }>();
      assert.equal(report.ok, true);
      assert.equal(report.subject.name, name);
      assert.deepEqual(report.signers.map((s) => [s.keyId, s.valid]), [[key.keyId, true]]);
    });
  }

  test('a directory of several models with a nested folder signs and verifies', async (t) => {
    const dir = tempDir(t);
    const key = await makeKey(dir);
    copyFixture('parallel.ms', join(dir, 'model'));
    copyFixture('lenet_tod_infer.ms', join(dir, 'model'));
    copyFixture('relu.mindir', join(dir, 'model', 'nested', 'deeper'));
    copyFixture('conv_train_model.ms', join(dir, 'model', 'nested'));
    const signed = await runCli(['sign', 'model', '-k', key.secret], { cwd: dir });
    assert.equal(signed.code, 0, signed.stderr);
    assert.ok(readdirSync(dir).includes('model.sig'));
    const verified = await runCli(['verify', 'model', '-p', key.public, '--json'], { cwd: dir });
    assert.equal(verified.code, 0, verified.stdout);
    assert.deepEqual(verified.json<{ files: { count: number } }>().files.count, 4);
  });

  test('the installed bin runs as a process: exit codes and stdout/stderr split', async (t) => {
    const dir = tempDir(t);
    const key = await makeKey(dir);
    copyFixture('parallel.ms', dir);
    assert.equal(spawnCli(['sign', 'parallel.ms', '-k', key.secret], { cwd: dir }).code, 0);
    const ok = spawnCli(['verify', 'parallel.ms', '-p', key.public], { cwd: dir });
    assert.equal(ok.code, 0);
    assert.match(ok.stdout, /^Verified parallel\.ms/);
    assert.equal(ok.stderr, '');
    const noAnchor = spawnCli(['verify', 'parallel.ms', '--json'], { cwd: dir });
    assert.equal(noAnchor.code, 2);
    assert.deepEqual(errorCodes(noAnchor), ['NO_TRUST_ANCHOR']);
  });
});
