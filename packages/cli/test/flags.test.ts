/**
 * Every flag reaches the option it names: one row per flag, checked by its observable effect
 * (what inspect --json reports about the signature written, or what verify does). A flag read
 * under the wrong name would otherwise pass silently.
 */
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { copyFixture, errorCodes, makeKey, runCli, tempDir } from '../../../test/helpers/index.js';

interface Inspected {
  subject: { name: string; version: string | null };
  hashAlgorithm: string;
  shardSize: number;
  created: string;
  expires: string | null;
  ignore: string[];
  annotations: Record<string, string>;
  files: { path: string }[];
}

const signCases: { flags: string[]; model?: 'file' | 'dir'; sig?: string; check: (i: Inspected) => void }[] = [
  { flags: ['--name', 'acme/resnet'], check: (i) => assert.equal(i.subject.name, 'acme/resnet') },
  { flags: ['--model-version', '2.1.0'], check: (i) => assert.equal(i.subject.version, '2.1.0') },
  { flags: ['-a', 'commit=abc', '--annotation', 'run=7'], check: (i) => assert.deepEqual(i.annotations, { commit: 'abc', run: '7' }) },
  { flags: ['--hash', 'sha512'], check: (i) => assert.equal(i.hashAlgorithm, 'sha512') },
  { flags: ['--shard-size', '65536'], check: (i) => assert.equal(i.shardSize, 65536) },
  {
    flags: ['--expires', '30d'],
    check: (i) => {
      const days = (Date.parse(i.expires!) - Date.parse(i.created)) / 86_400_000;
      assert.equal(days, 30);
    },
  },
  { flags: ['--expires', '2099-12-31'], check: (i) => assert.equal(i.expires, '2099-12-31T00:00:00Z') },
  { flags: ['-o', 'elsewhere.sig'], sig: 'elsewhere.sig', check: (i) => assert.equal(i.subject.name, 'parallel.ms') },
  {
    flags: ['--ignore', '*.tmp', '--ignore', 'cache/**'],
    model: 'dir',
    check: (i) => {
      // .gitignore style, recorded anchored (a v1 glob); .git/ is left out by default.
      assert.deepEqual(i.ignore, ['**/*.tmp', 'cache/**', '**/.git/**']);
      assert.deepEqual(i.files.map((f) => f.path), ['parallel.ms']);
    },
  },
];

describe('sign flags', () => {
  for (const row of signCases) {
    test(`sign ${row.flags.join(' ')}`, async (t) => {
      const dir = tempDir(t);
      const key = await makeKey(dir);
      let model = 'parallel.ms';
      if (row.model === 'dir') {
        model = 'model';
        copyFixture('parallel.ms', join(dir, model));
        writeFileSync(join(dir, model, 'scratch.tmp'), 'x');
        copyFixture('relu.mindir', join(dir, model, 'cache'));
      } else copyFixture('parallel.ms', dir);
      const signed = await runCli(['sign', model, '-k', key.secret, ...row.flags], { cwd: dir });
      assert.equal(signed.code, 0, signed.stderr);
      const sig = row.sig ?? `${model}.sig`;
      const inspected = await runCli(['inspect', sig, '--json'], { cwd: dir });
      assert.equal(inspected.code, 0, inspected.stdout);
      row.check(inspected.json<Inspected>());
      const verified = await runCli(['verify', model, '-s', sig, '-p', key.public], { cwd: dir });
      assert.equal(verified.code, 0, verified.stderr);
    });
  }
});

describe('verify flags', () => {
  test('--name refuses a model signed under another name; -q prints nothing on success', async (t) => {
    const dir = tempDir(t);
    const key = await makeKey(dir);
    copyFixture('parallel.ms', dir);
    assert.equal((await runCli(['sign', 'parallel.ms', '-k', key.secret, '--name', 'acme/a'], { cwd: dir })).code, 0);
    const wrong = await runCli(['verify', 'parallel.ms', '-p', key.public, '--name', 'acme/b', '--json'], { cwd: dir });
    assert.equal(wrong.code, 1);
    assert.deepEqual(errorCodes(wrong), ['NAME_MISMATCH']);
    const quiet = await runCli(['verify', 'parallel.ms', '-p', key.public, '--name', 'acme/a', '-q'], { cwd: dir });
    assert.equal(quiet.code, 0);
    assert.equal(quiet.stdout + quiet.stderr, '');
  });

  test('--fail-fast reports one problem where the default reports all', async (t) => {
    const dir = tempDir(t);
    const key = await makeKey(dir);
    copyFixture('parallel.ms', join(dir, 'model'));
    copyFixture('relu.mindir', join(dir, 'model'));
    assert.equal((await runCli(['sign', 'model', '-k', key.secret], { cwd: dir })).code, 0);
    writeFileSync(join(dir, 'model', 'parallel.ms'), 'changed');
    writeFileSync(join(dir, 'model', 'relu.mindir'), 'changed too');
    writeFileSync(join(dir, 'model', 'extra.bin'), 'new');
    const all = await runCli(['verify', 'model', '-p', key.public, '--json'], { cwd: dir });
    assert.deepEqual(errorCodes(all).sort(), ['SIZE_MISMATCH', 'SIZE_MISMATCH', 'UNSIGNED_FILE']);
    const first = await runCli(['verify', 'model', '-p', key.public, '--json', '--fail-fast'], { cwd: dir });
    assert.equal(first.code, 1);
    assert.equal(errorCodes(first).length, 1);
  });

  test('keygen -o PREFIX writes PREFIX.key and PREFIX.pub', async (t) => {
    const dir = tempDir(t);
    const r = await runCli(['keygen', '-o', 'keys-release', '--no-passphrase'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(join(dir, 'keys-release.key')) && existsSync(join(dir, 'keys-release.pub')));
  });
});
