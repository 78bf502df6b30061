/**
 * `ms-sign trust init|add|remove|revoke|rule|list` (SPEC section 4): nobody has to hand-edit JSON,
 * every edit leaves a policy verify accepts, and a refused edit leaves the file as it was.
 */
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parsePublicKeyPem } from '@ms-sign/core';
import { readTrustPolicyFile } from '@ms-sign/core/node';
import { copyFixture, errorCodes, makeKey, repoRoot, runCli, tempDir } from './helpers/index.js';
import { cliOk, signAt, verifyJson } from './helpers/trust.js';

interface Listed {
  path: string;
  origin: string;
  publishers: { name: string; models: string[]; keys: { keyId: string; publicKey: string; notBefore: string | null; notAfter: string | null; revoked: boolean }[] }[];
  revoked: { keyId: string; publisher: string | null; reason: string | null; revokedAt: string | null }[];
  rules: { models: string; threshold: number; maxAge: string | null; requireExpiry: boolean }[];
}

async function list(dir: string): Promise<Listed> {
  return (await cliOk(dir, ['trust', 'list', '--json'])).json<Listed>();
}

const POLICY = ['.ms-sign', 'trust.json'];

/** Runs a trust command that must be refused (exit 2) and checks the policy file did not change. */
async function refused(dir: string, args: readonly string[], code: string): Promise<void> {
  const before = readFileSync(join(dir, ...POLICY));
  const r = await runCli([...args, '--json'], { cwd: dir });
  assert.equal(r.code, 2, r.stdout);
  assert.deepEqual(errorCodes(r), [code]);
  assert.deepEqual(readFileSync(join(dir, ...POLICY)), before, 'a refused edit must leave the policy as it was');
}

describe('trust init', () => {
  test('creates ./.ms-sign/trust.json, an empty policy, and refuses to overwrite it', async (t) => {
    const dir = tempDir(t);
    const created = await cliOk(dir, ['trust', 'init', '--json']);
    assert.equal(created.json<{ path: string }>().path, join(dir, ...POLICY));
    assert.deepEqual(await list(dir), { ok: true, path: join(dir, ...POLICY), origin: './.ms-sign/trust.json', publishers: [], revoked: [], rules: [], errors: [] });
    await refused(dir, ['trust', 'init'], 'FILE_EXISTS');
  });

  test('creates the file -t or MS_SIGN_TRUST names', async (t) => {
    const dir = tempDir(t);
    await cliOk(dir, ['trust', 'init', '-t', 'explicit.json']);
    await cliOk(dir, ['trust', 'init'], { MS_SIGN_TRUST: join(dir, 'env.json') });
    assert.ok(existsSync(join(dir, 'explicit.json')) && existsSync(join(dir, 'env.json')));
    assert.ok(!existsSync(join(dir, '.ms-sign')));
  });

  test('edits without any policy are refused (exit 2)', async (t) => {
    const dir = tempDir(t);
    const key = await makeKey(dir);
    const r = await runCli(['trust', 'add', 'acme', '-p', key.public, '--json'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.deepEqual(errorCodes(r), ['BAD_TRUST_POLICY']);
  });
});

describe('trust add', () => {
  test('adds a publisher (scope: every model unless --models), then a second key to it', async (t) => {
    const dir = tempDir(t);
    const [a1, a2, b] = [await makeKey(dir, 'a1'), await makeKey(dir, 'a2'), await makeKey(dir, 'b')];
    await cliOk(dir, ['trust', 'init']);
    await cliOk(dir, ['trust', 'add', 'acme', '-p', a1.public]);
    await cliOk(dir, ['trust', 'add', 'acme', '-p', a2.public, '--not-before', '2026-06-01']);
    await cliOk(dir, ['trust', 'add', 'beta', '-p', b.public, '--models', 'beta/*', '--models', 'shared/**']);
    const { publishers } = await list(dir);
    assert.deepEqual(publishers, [
      {
        name: 'acme',
        models: ['**'],
        keys: [
          { keyId: a1.keyId, publicKey: publishers[0]!.keys[0]!.publicKey, notBefore: null, notAfter: null, revoked: false },
          { keyId: a2.keyId, publicKey: publishers[0]!.keys[1]!.publicKey, notBefore: '2026-06-01', notAfter: null, revoked: false },
        ],
      },
      { name: 'beta', models: ['beta/*', 'shared/**'], keys: [{ keyId: b.keyId, publicKey: publishers[1]!.keys[0]!.publicKey, notBefore: null, notAfter: null, revoked: false }] },
    ]);
    // The listed key is the body of the .pub file: what verify will use.
    assert.equal(publishers[0]!.keys[0]!.publicKey, readFileSync(a1.public, 'utf8').split('\n')[1]);
  });

  test('--models on an existing publisher widens its scope; re-adding a key sets its window', async (t) => {
    const dir = tempDir(t);
    const key = await makeKey(dir);
    await cliOk(dir, ['trust', 'init']);
    await cliOk(dir, ['trust', 'add', 'acme', '-p', key.public, '--models', 'acme/*']);
    const widened = await cliOk(dir, ['trust', 'add', 'acme', '-p', key.public, '--models', 'shared/**', '--models', 'acme/*']);
    assert.match(widened.stdout, /models now acme\/\*, shared\/\*\*/);
    await cliOk(dir, ['trust', 'add', 'acme', '-p', key.public, '--not-after', '2027-01-01']);
    await cliOk(dir, ['trust', 'add', 'acme', '-p', key.public, '--not-before', '2026-01-01']);
    const again = await cliOk(dir, ['trust', 'add', 'acme', '-p', key.public]);
    assert.match(again.stdout, /nothing changed/);
    const [acme] = (await list(dir)).publishers;
    assert.deepEqual(acme!.models, ['acme/*', 'shared/**']);
    assert.deepEqual(acme!.keys.map((k) => [k.notBefore, k.notAfter]), [['2026-01-01', '2027-01-01']]);
  });

  test('refuses one key for two publishers, bad names, dates, globs and windows, leaving the file unchanged', async (t) => {
    const dir = tempDir(t);
    const [a, b] = [await makeKey(dir, 'a'), await makeKey(dir, 'b')];
    await cliOk(dir, ['trust', 'init']);
    await cliOk(dir, ['trust', 'add', 'acme', '-p', a.public]);
    await refused(dir, ['trust', 'add', 'other', '-p', a.public], 'USAGE');
    await refused(dir, ['trust', 'add', 'two words', '-p', b.public], 'USAGE');
    await refused(dir, ['trust', 'add', 'beta', '-p', b.public, '--not-after', '31/01/2027'], 'USAGE');
    await refused(dir, ['trust', 'add', 'beta', '-p', b.public, '--models', 'a/**b'], 'USAGE');
    await refused(dir, ['trust', 'add', 'beta', '-p', b.public, '--not-before', '2027-01-01', '--not-after', '2026-01-01'], 'USAGE');
    await refused(dir, ['trust', 'add', 'beta', '-p', 'missing.pub'], 'KEY_UNREADABLE');
  });
});

describe('trust revoke and remove', () => {
  test('revoke records the key id (any case), once; list marks the key; verify then refuses it', async (t) => {
    const dir = tempDir(t);
    const key = await makeKey(dir);
    copyFixture('parallel.ms', dir);
    await cliOk(dir, ['sign', 'parallel.ms', '-k', key.secret]);
    await cliOk(dir, ['trust', 'init']);
    await cliOk(dir, ['trust', 'add', 'acme', '-p', key.public]);
    assert.equal((await verifyJson(dir, ['parallel.ms'])).code, 0);
    await cliOk(dir, ['trust', 'revoke', key.keyId.toUpperCase(), '--reason', 'key leaked']);
    const again = await cliOk(dir, ['trust', 'revoke', key.keyId]);
    assert.match(again.stdout, /already revoked/);
    const listed = await list(dir);
    assert.equal(listed.revoked.length, 1);
    assert.deepEqual({ ...listed.revoked[0]!, revokedAt: null }, { keyId: key.keyId, publisher: 'acme', reason: 'key leaked', revokedAt: null });
    assert.match(listed.revoked[0]!.revokedAt!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(listed.publishers[0]!.keys[0]!.revoked, true);
    const r = await verifyJson(dir, ['parallel.ms']);
    assert.equal(r.code, 1);
    assert.deepEqual(r.codes, ['REVOKED_KEY']);
    await refused(dir, ['trust', 'revoke', 'not-a-key-id'], 'USAGE');
  });

  test('remove drops a publisher; an unknown name is refused', async (t) => {
    const dir = tempDir(t);
    const [a, b] = [await makeKey(dir, 'a'), await makeKey(dir, 'b')];
    await cliOk(dir, ['trust', 'init']);
    await cliOk(dir, ['trust', 'add', 'acme', '-p', a.public]);
    await cliOk(dir, ['trust', 'add', 'beta', '-p', b.public]);
    await cliOk(dir, ['trust', 'remove', 'acme']);
    assert.deepEqual((await list(dir)).publishers.map((p) => p.name), ['beta']);
    await refused(dir, ['trust', 'remove', 'acme'], 'USAGE');
  });
});

describe('trust rule', () => {
  test('creates a rule, updates only what is given, lifts settings, and removes it', async (t) => {
    const dir = tempDir(t);
    await cliOk(dir, ['trust', 'init']);
    const noScan = { scan: null, scanAllowUnknown: [], scanWaive: [] };
    const rules = async () => (await list(dir)).rules;
    await cliOk(dir, ['trust', 'rule', 'acme/**']);
    assert.deepEqual(await rules(), [{ models: 'acme/**', threshold: 1, maxAge: null, requireExpiry: false, ...noScan }]);
    await cliOk(dir, ['trust', 'rule', 'acme/**', '--threshold', '2', '--max-age', '90d', '--require-expiry']);
    await cliOk(dir, ['trust', 'rule', '**', '--max-age', '1w']);
    await cliOk(dir, ['trust', 'rule', 'acme/**', '--max-age', '30d']);
    assert.deepEqual(await rules(), [
      { models: 'acme/**', threshold: 2, maxAge: '30d', requireExpiry: true, ...noScan },
      { models: '**', threshold: 1, maxAge: '1w', requireExpiry: false, ...noScan },
    ]);
    await cliOk(dir, ['trust', 'rule', 'acme/**', '--no-max-age', '--no-require-expiry']);
    assert.deepEqual((await rules())[0], { models: 'acme/**', threshold: 2, maxAge: null, requireExpiry: false, ...noScan });
    await cliOk(dir, ['trust', 'rule', 'acme/**', '--remove']);
    assert.deepEqual((await rules()).map((r) => r.models), ['**']);
  });

  test('refuses threshold 0, bad durations and globs, leaving the file unchanged', async (t) => {
    const dir = tempDir(t);
    await cliOk(dir, ['trust', 'init']);
    await cliOk(dir, ['trust', 'rule', '**', '--threshold', '2']);
    await refused(dir, ['trust', 'rule', '**', '--threshold', '0'], 'USAGE');
    await refused(dir, ['trust', 'rule', '**', '--threshold', '-1'], 'USAGE');
    await refused(dir, ['trust', 'rule', '**', '--threshold', '1001'], 'USAGE');
    await refused(dir, ['trust', 'rule', '**', '--max-age', '3 months'], 'USAGE');
    await refused(dir, ['trust', 'rule', 'a/**b', '--threshold', '2'], 'USAGE');
    await refused(dir, ['trust', 'rule', 'nothing/*', '--remove'], 'USAGE');
    await refused(dir, ['trust', 'rule', '**', '--remove', '--threshold', '3'], 'USAGE');
  });
});

describe('trust list and how edits are written', () => {
  test('list in text shows publishers, keys with windows, revocations and rules', async (t) => {
    const dir = tempDir(t);
    const key = await makeKey(dir);
    await cliOk(dir, ['trust', 'init']);
    await cliOk(dir, ['trust', 'add', 'acme', '-p', key.public, '--models', 'acme/**', '--not-after', '2027-01-01']);
    await cliOk(dir, ['trust', 'revoke', key.keyId]);
    await cliOk(dir, ['trust', 'rule', 'acme/**', '--threshold', '2', '--require-expiry']);
    const r = await cliOk(dir, ['trust', 'list']);
    assert.ok(r.stdout.includes(`key ${key.keyId} until 2027-01-01  REVOKED`), r.stdout);
    assert.ok(r.stdout.includes('"acme/**"  threshold 2, expiry required'), r.stdout);
  });

  test('edits go to the file verify would apply, atomically, through a symlink to its target', async (t) => {
    const dir = tempDir(t);
    const key = await makeKey(dir);
    mkdirSync(join(dir, 'dotfiles'));
    await cliOk(dir, ['trust', 'init', '-t', join(dir, 'dotfiles', 'trust.json')]);
    mkdirSync(join(dir, '.ms-sign'));
    symlinkSync(join(dir, 'dotfiles', 'trust.json'), join(dir, ...POLICY));
    await cliOk(dir, ['trust', 'add', 'acme', '-p', key.public]);
    await cliOk(dir, ['trust', 'rule', '**', '--threshold', '1']);
    assert.ok(lstatSync(join(dir, ...POLICY)).isSymbolicLink(), 'the link must stay a link');
    assert.equal(readTrustPolicyFile(join(dir, 'dotfiles', 'trust.json')).policy.publishers.length, 1);
    assert.deepEqual(readdirSync(join(dir, 'dotfiles')), ['trust.json'], 'no temporary file is left behind');
  });

  test('a policy written by the commands verifies models as expected', async (t) => {
    const dir = tempDir(t);
    const key = await makeKey(dir);
    copyFixture('conv_train_model.ms', dir);
    await signAt(dir, 'conv_train_model.ms', key.secret, { name: 'acme/conv' });
    await cliOk(dir, ['trust', 'init']);
    await cliOk(dir, ['trust', 'add', 'acme', '-p', key.public, '--models', 'acme/*']);
    const r = await verifyJson(dir, ['conv_train_model.ms']);
    assert.equal(r.code, 0, JSON.stringify(r.report.errors));
    assert.deepEqual(r.report.signers.map((s) => [s.keyId, s.publisher, s.valid]), [[key.keyId, 'acme', true]]);
  });
});

/**
 * The walk-through of docs/trust-policy.md, run as written: each `ms-sign` line of its sh blocks
 * in order, `NAME=value` lines as variables (CUTOVER and OLD_KEY given real values, as the doc
 * says), and `# exit N: CODE` comments as the expected exit code and error code.
 */
describe('docs/trust-policy.md walk-through', () => {
  /** Splits one shell line into words: '...' literal, "..." and bare words with $VAR expanded. */
  function shellWords(line: string, vars: Record<string, string>): { words: string[]; comment: string } {
    const words: string[] = [];
    let word: string | undefined;
    let i = 0;
    const expand = (name: string) => {
      if (!(name in vars)) throw new Error(`unknown variable $${name} in: ${line}`);
      return vars[name]!;
    };
    while (i < line.length) {
      const c = line[i]!;
      if (c === ' ' || c === '\t') {
        if (word !== undefined) words.push(word);
        word = undefined;
        i++;
      } else if (c === '#' && word === undefined) {
        return { words, comment: line.slice(i + 1).trim() };
      } else if (c === "'") {
        const end = line.indexOf("'", i + 1);
        word = (word ?? '') + line.slice(i + 1, end);
        i = end + 1;
      } else if (c === '"') {
        const end = line.indexOf('"', i + 1);
        word = (word ?? '') + line.slice(i + 1, end).replace(/\$\{?(\w+)\}?/g, (_, name: string) => expand(name));
        i = end + 1;
      } else if (c === '$') {
        const name = /^\$\{?(\w+)\}?/.exec(line.slice(i))!;
        word = (word ?? '') + expand(name[1]!);
        i += name[0].length;
      } else {
        word = (word ?? '') + c;
        i++;
      }
    }
    if (word !== undefined) words.push(word);
    return { words, comment: '' };
  }

  test('runs as written, with the exit codes it states', async (t) => {
    const doc = readFileSync(join(repoRoot, 'docs', 'trust-policy.md'), 'utf8');
    const section = doc.slice(doc.indexOf('## Walk-through'), doc.indexOf('## Choices made'));
    const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
    assert.ok(blocks.length >= 4, 'the walk-through has its sh blocks');
    const dir = tempDir(t);
    copyFixture('lenet_tod_infer.ms', dir, 'detector.ms');
    const env = { MS_SIGN_PASSPHRASE: 'walk-through passphrase' };
    const cutover = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    const vars: Record<string, string> = {};
    let ran = 0;
    for (const line of blocks.join('').split('\n').filter((l) => l.trim() !== '')) {
      const assignment = /^(\w+)=(\S+)$/.exec(line.trim());
      if (assignment) {
        const name = assignment[1]!;
        vars[name] = name === 'CUTOVER' ? cutover : name === 'OLD_KEY' ? parsePublicKeyPem(readFileSync(join(dir, 'acme-2025.pub'), 'utf8')).keyId : assignment[2]!;
        continue;
      }
      const { words, comment } = shellWords(line, vars);
      assert.equal(words[0], 'ms-sign', `only ms-sign commands in the walk-through: ${line}`);
      const expected = /^exit (\d+)(?:: ([A-Z_]+))?/.exec(comment);
      const r = await runCli(words.slice(1), { cwd: dir, env });
      assert.equal(r.code, expected ? Number(expected[1]) : 0, `${line}\n${r.stderr}`);
      if (expected?.[2]) assert.match(r.stderr, new RegExp(`: ${expected[2]}: `), line);
      ran++;
    }
    assert.ok(ran >= 15, `ran ${ran} commands`);
  });
});
