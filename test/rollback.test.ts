/**
 * Rollback protection (SPEC section 4): `verify --state FILE` records per model name the newest
 * version accepted and refuses an older one with ROLLBACK unless --allow-rollback. Versions
 * compare as semver when both parse as semver, else (and when equal) by creation time.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { compareRecords, emptyRollbackState, type RollbackRecord } from '@ms-sign/core';
import { readRollbackState, writeRollbackState } from '@ms-sign/core/node';
import { copyFixture, makeKey, tempDir } from './helpers/index.js';
import { nowSeconds, signAt, verifyJson } from './helpers/trust.js';

describe('version order', () => {
  // Semver precedence itself is unit-tested in packages/core/test/semver.test.ts.
  const record = (version: string | undefined, created: number): RollbackRecord => ({ ...(version === undefined ? {} : { version }), created });
  const rows: [string, RollbackRecord, RollbackRecord, -1 | 0 | 1][] = [
    ['semver wins over creation time', record('1.10.0', 100), record('1.9.0', 200), 1],
    ['semver wins over creation time (older)', record('1.9.0', 200), record('1.10.0', 100), -1],
    ['equal versions: creation time decides', record('2.0.0', 100), record('v2.0.0+rebuild', 200), -1],
    ['a version that is not semver: creation time', record('build-10', 100), record('build-9', 200), -1],
    ['only one side semver: creation time', record('2.0.0', 300), record('nightly', 200), 1],
    ['no versions: creation time', record(undefined, 100), record(undefined, 100), 0],
  ];
  for (const [what, a, b, expected] of rows) {
    test(what, () => {
      assert.equal(compareRecords(a, b), expected);
      assert.equal(compareRecords(b, a), -expected || 0);
    });
  }
});

describe('verify --state', () => {
  async function setup(t: { after: (fn: () => void) => void }) {
    const dir = tempDir(t);
    const key = await makeKey(dir);
    copyFixture('parallel.ms', dir);
    const sign = (options: { version?: string; now?: number; name?: string }) => signAt(dir, 'parallel.ms', key.secret, options);
    const verify = (...args: string[]) => verifyJson(dir, ['parallel.ms', '-p', key.public, '--state', 'state.json', ...args]);
    // The file as written (and readable by the library: readRollbackState checks it).
    const state = (): Record<string, RollbackRecord> => (readRollbackState(join(dir, 'state.json')), JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')).models);
    return { dir, sign, verify, state };
  }

  test('an older semver version is refused with ROLLBACK, then accepted once with --allow-rollback', async (t) => {
    const { sign, verify, state } = await setup(t);
    const now = nowSeconds();
    await sign({ version: '1.2.0', now: now - 300 });
    let r = await verify();
    assert.equal(r.code, 0);
    assert.deepEqual(r.report.rollback, { recorded: true });
    assert.deepEqual(state(), { 'parallel.ms': { version: '1.2.0', created: now - 300 } });

    // 1.10.0 is newer than 1.2.0 (semver, not string order).
    await sign({ version: '1.10.0', now: now - 200 });
    assert.equal((await verify()).code, 0);

    // 1.9.0, signed later (a backport), is still an older version.
    await sign({ version: '1.9.0', now: now - 100 });
    r = await verify();
    assert.equal(r.code, 1);
    assert.deepEqual(r.codes, ['ROLLBACK']);
    assert.equal(r.report.rollback, undefined);
    assert.deepEqual(state(), { 'parallel.ms': { version: '1.10.0', created: now - 200 } });

    r = await verify('--allow-rollback');
    assert.equal(r.code, 0, JSON.stringify(r.report.errors));
    assert.deepEqual(r.report.rollback, { recorded: false });
    // Accepting an older model on purpose does not move the state back.
    assert.deepEqual(state(), { 'parallel.ms': { version: '1.10.0', created: now - 200 } });
    assert.deepEqual((await verify()).codes, ['ROLLBACK']);
  });

  test('a pre-release after its release is a rollback; the same version again is not', async (t) => {
    const { sign, verify } = await setup(t);
    const now = nowSeconds();
    await sign({ version: '2.0.0', now: now - 100 });
    assert.equal((await verify()).code, 0);
    assert.deepEqual((await verify()).report.rollback, { recorded: false });
    await sign({ version: '2.0.0-rc.1', now: now - 50 });
    assert.deepEqual((await verify()).codes, ['ROLLBACK']);
  });

  test('without semver versions, creation time orders: an older signature is a rollback', async (t) => {
    const { sign, verify, state } = await setup(t);
    const now = nowSeconds();
    await sign({ now: now - 100 });
    assert.equal((await verify()).code, 0);
    await sign({ now: now - 1000 });
    assert.deepEqual((await verify()).codes, ['ROLLBACK']);
    await sign({ version: 'build-9', now: now - 10 });
    assert.equal((await verify()).code, 0);
    // "build-10" is not semver: signed earlier than build-9, it is older.
    await sign({ version: 'build-10', now: now - 20 });
    assert.deepEqual((await verify()).codes, ['ROLLBACK']);
    assert.deepEqual(state(), { 'parallel.ms': { version: 'build-9', created: now - 10 } });
  });

  test('the state is per model name', async (t) => {
    const { sign, verify, state } = await setup(t);
    const now = nowSeconds();
    await sign({ version: '3.0.0', now: now - 10, name: 'acme/a' });
    assert.equal((await verify()).code, 0);
    for (const name of ['acme/b', '__proto__']) {
      await sign({ version: '1.0.0', now: now - 5, name });
      assert.equal((await verify()).code, 0, name);
    }
    assert.deepEqual(Object.keys(state()).sort(), ['__proto__', 'acme/a', 'acme/b']);
    assert.equal(state()['__proto__']!.version, '1.0.0');
  });

  test('a model that fails verification records nothing', async (t) => {
    const { dir, sign, verify, state } = await setup(t);
    await sign({ version: '1.0.0' });
    assert.equal((await verify()).code, 0);
    await sign({ version: '2.0.0' });
    const bytes = readFileSync(join(dir, 'parallel.ms'));
    bytes[0] = bytes[0]! ^ 1;
    writeFileSync(join(dir, 'parallel.ms'), bytes);
    assert.deepEqual((await verify()).codes, ['DIGEST_MISMATCH']);
    assert.equal(state()['parallel.ms']!.version, '1.0.0');
  });

  test('a malformed state file is a setup error (exit 2); --allow-rollback needs --state', async (t) => {
    const { dir, sign, verify } = await setup(t);
    await sign({ version: '1.0.0' });
    for (const text of ['not json', '{"version": 2, "models": {}}', '{"version": 1, "models": {"m": {"created": "yesterday"}}}']) {
      writeFileSync(join(dir, 'state.json'), text);
      const r = await verify();
      assert.equal(r.code, 2, text);
      assert.deepEqual(r.codes, ['BAD_STATE_FILE']);
      assert.equal(r.report.errors[0]!.path, join(dir, 'state.json'));
    }
    const key = join(dir, 'publisher.pub');
    const r = await verifyJson(dir, ['parallel.ms', '-p', key, '--allow-rollback']);
    assert.equal(r.code, 2);
    assert.deepEqual(r.codes, ['USAGE']);
  });

  test('writing the state never moves it back past what another verify recorded meanwhile', (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'state.json');
    const mine = emptyRollbackState();
    mine.models['acme/a'] = { version: '2.0.0', created: 200 };
    mine.models['acme/b'] = { version: '1.0.0', created: 100 };
    const theirs = emptyRollbackState();
    theirs.models['acme/a'] = { version: '3.0.0', created: 300 };
    theirs.models['acme/c'] = { created: 50 };
    writeRollbackState(path, theirs);
    writeRollbackState(path, mine);
    assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')).models, {
      'acme/a': { version: '3.0.0', created: 300 },
      'acme/c': { created: 50 },
      'acme/b': { version: '1.0.0', created: 100 },
    });
  });
});
