/**
 * Defects found by attacking ms-sign's defaults: far-future dates, duplicate keys in a policy,
 * concurrent rollback-state updates, outputs written over inputs, and bidi or control
 * characters in what the operator reads.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { generateSecretKey, LIMITS, MsSignError, secretKeySigner, type CborValue } from '@ms-sign/core';
import { signModel } from '@ms-sign/core/node';
import { manifestBytes, sha256, signPayload, writeKeyFiles } from '../helpers/crafted.js';
import { assertCodes } from '../helpers/hostile.js';
import { cliBin, copyFixture, errorCodes, makeKey, runCli, tempDir } from '../helpers/index.js';
import { cliOk, signAt } from '../helpers/trust.js';

type TestContext = Parameters<typeof tempDir>[0];

describe('dates far in the future', () => {
  test('sign refuses an expiry or creation time past 9999-12-31 (USAGE); what it signs up to there, it verifies', async (t) => {
    const dir = tempDir(t);
    const key = await makeKey(dir);
    copyFixture('parallel.ms', dir);
    for (const when of ['1000000000w', '99999999999d']) {
      assertCodes(await runCli(['sign', 'parallel.ms', '-k', key.secret, '--expires', when, '--json'], { cwd: dir }), 2, ['USAGE'], when);
    }
    await cliOk(dir, ['sign', 'parallel.ms', '-k', key.secret, '--expires', '9999-12-31']);
    const verified = await runCli(['verify', 'parallel.ms', '-p', key.public, '--json'], { cwd: dir });
    assertCodes(verified, 0, []);
    assert.equal(verified.json<{ expires: string }>().expires, '9999-12-31T00:00:00Z');
    const secret = generateSecretKey();
    await assert.rejects(signModel(join(dir, 'parallel.ms'), { signers: [secretKeySigner(secret)], signaturePath: join(dir, 'x.sig'), now: 2 ** 53 - 1 }), (e: unknown) => e instanceof MsSignError && e.code === 'USAGE');
  });

  test('a trusted manifest created near 2^53 is MALFORMED_SIGNATURE_FILE (exit 1) for verify and inspect, never INTERNAL', async (t) => {
    const dir = tempDir(t);
    const key = await writeKeyFiles(dir, generateSecretKey());
    const content = new TextEncoder().encode('weights');
    mkdirSync(join(dir, 'model'));
    writeFileSync(join(dir, 'model', 'weights.bin'), content);
    for (const [field, value] of [['created', 2 ** 53 - 1], ['created', LIMITS.latestTime + 1], ['expires', 2 ** 53 - 2]] as const) {
      const payload = manifestBytes(content, (m: Map<string, CborValue>) => m.set(field, value));
      writeFileSync(join(dir, 'model.sig'), signPayload(payload, [key.key]));
      assertCodes(await runCli(['verify', 'model', '-p', key.publicPath, '--json'], { cwd: dir }), 1, ['MALFORMED_SIGNATURE_FILE'], `${field} ${value}`);
      assertCodes(await runCli(['inspect', 'model.sig', '--json'], { cwd: dir }), 1, ['MALFORMED_SIGNATURE_FILE'], `inspect ${field}`);
    }
    assert.equal(sha256(content).length, 32);
  });
});

describe('duplicate keys in a policy or state file', () => {
  test('a policy naming "revoked" twice (the revocation first) is BAD_TRUST_POLICY with the pointer, not a key that verifies again', async (t) => {
    const dir = tempDir(t);
    const key = await makeKey(dir);
    copyFixture('parallel.ms', dir);
    await cliOk(dir, ['sign', 'parallel.ms', '-k', key.secret]);
    await cliOk(dir, ['trust', 'init', '-t', 'trust.json']);
    await cliOk(dir, ['trust', 'add', 'acme', '-p', key.public, '-t', 'trust.json']);
    const policy = JSON.parse(readFileSync(join(dir, 'trust.json'), 'utf8')) as { publishers: unknown[] };
    const text = `{"version": 1, "publishers": ${JSON.stringify(policy.publishers)}, "revoked": [{"keyId": "${key.keyId}"}], "rules": [], "revoked": []}`;
    assert.equal((JSON.parse(text) as { revoked: unknown[] }).revoked.length, 0, 'JSON.parse keeps the last');
    writeFileSync(join(dir, 'trust.json'), text);
    const r = await runCli(['verify', 'parallel.ms', '-t', 'trust.json', '--json'], { cwd: dir });
    assertCodes(r, 2, ['BAD_TRUST_POLICY']);
    assert.equal(r.json<{ errors: { field: string }[] }>().errors[0]!.field, '/revoked');
    // Deeper down, with escapes in the key: the pointer names the object.
    writeFileSync(join(dir, 'trust.json'), text.replace('"revoked": []}', '"x": 0}').replace('"models":', '"mod\\u0065ls": ["other"], "models":'));
    const nested = await runCli(['verify', 'parallel.ms', '-t', 'trust.json', '--json'], { cwd: dir });
    assertCodes(nested, 2, ['BAD_TRUST_POLICY']);
    assert.equal(nested.json<{ errors: { field: string }[] }>().errors[0]!.field, '/publishers/0/models');
    writeFileSync(join(dir, 'state.json'), '{"version": 1, "models": {"parallel.ms": {"created": 1}}, "models": {}}');
    await cliOk(dir, ['trust', 'init', '-t', 'ok.json']);
    await cliOk(dir, ['trust', 'add', 'acme', '-p', key.public, '-t', 'ok.json']);
    assertCodes(await runCli(['verify', 'parallel.ms', '-t', 'ok.json', '--state', 'state.json', '--json'], { cwd: dir }), 2, ['BAD_STATE_FILE']);
  });
});

/** Runs the CLI as a child process without waiting for it (several at once). */
function spawnAsync(argv: readonly string[], cwd: string): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliBin, ...argv], { cwd, env: { PATH: process.env.PATH, HOME: cwd, NO_COLOR: '1' }, stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code));
  });
}

describe('concurrent verify --state', () => {
  test('eight verifies of versions 1 to 8 racing on one state file leave the newest recorded, every round', async (t) => {
    const dir = tempDir(t);
    const key = await makeKey(dir);
    copyFixture('parallel.ms', dir);
    const versions = Array.from({ length: 8 }, (_, i) => i + 1);
    for (const v of versions) await signAt(dir, 'parallel.ms', key.secret, { version: `${v}.0.0`, output: `v${v}.sig`, now: 1_700_000_000 + v });
    for (let round = 0; round < 4; round++) {
      const state = `state-${round}.json`;
      // Oldest first: the newer a version, the later it starts, the likelier a stale merge loses it.
      const codes = await Promise.all(versions.map((v) => spawnAsync(['verify', 'parallel.ms', '-s', `v${v}.sig`, '-p', key.public, '--state', state, '-q'], dir)));
      assert.ok(codes.every((c) => c === 0 || c === 1), `round ${round}: exit codes ${codes.join(',')}`);
      const recorded = JSON.parse(readFileSync(join(dir, state), 'utf8')) as { models: Record<string, { version: string }> };
      assert.equal(recorded.models['parallel.ms']!.version, '8.0.0', `round ${round}: the state moved back`);
      assert.ok(!existsSync(join(dir, `${state}.lock`)), 'the lock is released');
    }
  });

  test('a lock left by a process that is gone is taken over', async (t) => {
    const dir = tempDir(t);
    const key = await makeKey(dir);
    copyFixture('parallel.ms', dir);
    await cliOk(dir, ['sign', 'parallel.ms', '-k', key.secret, '--model-version', '1.0.0']);
    writeFileSync(join(dir, 'state.json.lock'), '2147483646\n');
    await cliOk(dir, ['verify', 'parallel.ms', '-p', key.public, '--state', 'state.json']);
    assert.ok(existsSync(join(dir, 'state.json')) && !existsSync(join(dir, 'state.json.lock')));
  });
});

describe('outputs that are inputs', () => {
  async function signed(t: TestContext) {
    const dir = tempDir(t);
    const key = await makeKey(dir);
    copyFixture('parallel.ms', dir);
    copyFixture('relu.mindir', join(dir, 'model'));
    await cliOk(dir, ['sign', 'parallel.ms', '-k', key.secret]);
    await cliOk(dir, ['trust', 'init', '-t', 'trust.json']);
    await cliOk(dir, ['trust', 'add', 'acme', '-p', key.public, '-t', 'trust.json']);
    await cliOk(dir, ['verify', 'parallel.ms', '-t', 'trust.json', '--state', 'state.json']);
    linkSync(join(dir, 'publisher.key'), join(dir, 'key-link'));
    return { dir, key };
  }
  const snapshot = (dir: string, files: readonly string[]) => files.map((f) => readFileSync(join(dir, f)).toString('base64'));

  test('sign -o refuses the secret key (also through a hard link), the model, and a file of a directory model', async (t) => {
    const { dir, key } = await signed(t);
    const files = ['publisher.key', 'parallel.ms', 'model/relu.mindir'];
    const before = snapshot(dir, files);
    for (const [model, output] of [['parallel.ms', 'publisher.key'], ['parallel.ms', 'key-link'], ['parallel.ms', 'parallel.ms'], ['model', 'model/relu.mindir']]) {
      assertCodes(await runCli(['sign', model!, '-k', key.secret, '-o', output!, '--force', '--json'], { cwd: dir }), 2, ['OUTPUT_IS_INPUT'], `${model} -o ${output}`);
    }
    assert.deepEqual(snapshot(dir, files), before, 'nothing was overwritten');
    // A signature file inside the model may be replaced: it is not part of the model.
    await cliOk(dir, ['sign', 'model', '-k', key.secret, '-o', 'model/model.sig']);
    await cliOk(dir, ['sign', 'model', '-k', key.secret, '-o', 'model/model.sig']);
  });

  test('verify --output refuses the model, its signature, the public key, the policy and the state file', async (t) => {
    const { dir, key } = await signed(t);
    const files = ['parallel.ms', 'parallel.ms.sig', 'publisher.pub', 'trust.json', 'state.json'];
    const before = snapshot(dir, files);
    for (const output of files) {
      const trust = output === 'publisher.pub' ? ['-p', key.public] : ['-t', 'trust.json'];
      assertCodes(await runCli(['verify', 'parallel.ms', ...trust, '--state', 'state.json', '--output', output, '--json'], { cwd: dir }), 2, ['OUTPUT_IS_INPUT'], output);
    }
    assert.deepEqual(snapshot(dir, files), before, 'nothing was overwritten');
    await cliOk(dir, ['verify', 'parallel.ms', '-t', 'trust.json', '--output', 'copy.ms']);
  });
});

describe('bidi and control characters in human output', () => {
  test('names, annotations and paths are escaped in text; --json keeps them exact', async (t) => {
    const dir = tempDir(t);
    const key = await makeKey(dir);
    const bidi = 'acme\u202Egnp.exe';
    const file = 'w\u2066eights\u200B.bin';
    mkdirSync(join(dir, 'model'));
    writeFileSync(join(dir, 'model', file), 'weights');
    const signed = await cliOk(dir, ['sign', 'model', '-k', key.secret, '--name', bidi, '-a', 'note=ok\u202Dnot ok\u2028line']);
    const verified = await cliOk(dir, ['verify', 'model', '-p', key.public]);
    const inspected = await cliOk(dir, ['inspect', 'model.sig']);
    writeFileSync(join(dir, 'model', file), 'WEIGHTS');
    const failed = await runCli(['verify', 'model', '-p', key.public], { cwd: dir });
    assert.equal(failed.code, 1);
    const raw = /[\u202A-\u202E\u2066-\u2069\u200B\u2028]/;
    for (const [what, text] of [['sign', signed.stdout], ['verify', verified.stdout], ['inspect', inspected.stdout], ['failed verify', failed.stderr]] as const) {
      assert.ok(!raw.test(text), `${what} prints a raw bidi or invisible character:\n${text}`);
    }
    assert.ok(verified.stdout.includes('acme\\u202egnp.exe'), verified.stdout);
    assert.ok(inspected.stdout.includes('note=ok\\u202dnot ok\\u2028line') && inspected.stdout.includes('w\\u2066eights\\u200b.bin'), inspected.stdout);
    assert.ok(failed.stderr.includes('w\\u2066eights\\u200b.bin'), failed.stderr);
    const json = await runCli(['inspect', 'model.sig', '--json'], { cwd: dir });
    const view = json.json<{ subject: { name: string }; annotations: Record<string, string>; files: { path: string }[] }>();
    assert.deepEqual([view.subject.name, view.annotations.note, view.files[0]!.path], [bidi, 'ok\u202Dnot ok\u2028line', file]);
    assert.deepEqual(errorCodes(await runCli(['verify', 'model', '-p', key.public, '--json'], { cwd: dir })), ['DIGEST_MISMATCH']);
  });
});
