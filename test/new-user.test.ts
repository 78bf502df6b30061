/**
 * What a first-time user trips over (issue 8, items 7 to 10 and 12): the one-liner, .gitignore
 * style --ignore, key ids and revocation by file or prefix, the default key, inspect on the wrong
 * file, sign -q, several models in one verify, and --progress in a CI log. Real keys, real
 * MindSpore fixtures, the real CLI.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { cliOk, copyFixture, errorCodes, makeKey, runCli, spawnCli, tempDir } from './helpers/index.js';
import { signedDirectory, signedFile } from './helpers/scenarios.js';

const mustSucceed = (argv: readonly string[], cwd: string) => cliOk(cwd, argv);

/** A trust policy at the default per-user place ($XDG_CONFIG_HOME/ms-sign/trust.json) trusting `pub`. */
async function userPolicy(dir: string, pub: string, publisher = 'acme'): Promise<string> {
  const path = join(dir, '.config-home', 'ms-sign', 'trust.json');
  mkdirSync(join(dir, '.config-home', 'ms-sign'), { recursive: true, mode: 0o700 });
  await mustSucceed(['trust', 'init', '-t', path], dir);
  await mustSucceed(['trust', 'add', publisher, '-p', pub, '-t', path], dir);
  return path;
}

function flipLastByte(path: string): void {
  const bytes = readFileSync(path);
  bytes[bytes.length - 1]! ^= 1;
  writeFileSync(path, bytes);
}

describe('ms-sign MODEL is ms-sign verify MODEL (item 7)', () => {
  test('verifies with the default policy lookup, exit 0; a tampered model exits 1, as verify does', async (t) => {
    const m = await signedFile(t);
    await userPolicy(m.dir, m.key.public);
    const ok = spawnCli([m.model], { cwd: m.dir });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^Verified parallel\.ms/);
    assert.match(ok.stdout, /policy: .*\.config-home\/ms-sign\/trust\.json/);
    const withFlags = await runCli([m.model, '--json'], { cwd: m.dir });
    assert.equal(withFlags.code, 0);
    assert.equal(withFlags.json().ok, true);
    flipLastByte(join(m.dir, m.model));
    const bad = spawnCli([m.model], { cwd: m.dir });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /DIGEST_MISMATCH/);
  });

  test('without any trust anchor it exits 2 like verify (never 0)', async (t) => {
    const m = await signedFile(t);
    const r = await runCli([m.model, '--json'], { cwd: m.dir });
    assert.equal(r.code, 2);
    assert.deepEqual(errorCodes(r), ['NO_TRUST_ANCHOR']);
  });

  test('a model file named like a command is reachable as ./NAME; a mistyped command is USAGE', async (t) => {
    const m = await signedFile(t);
    copyFixture('parallel.ms', m.dir, 'verify');
    await mustSucceed(['sign', 'verify', '-k', m.key.secret], m.dir);
    await userPolicy(m.dir, m.key.public);
    const dotted = await runCli(['./verify', '--json'], { cwd: m.dir });
    assert.equal(dotted.code, 0, dotted.stdout);
    assert.equal(dotted.json<{ subject: { name: string } }>().subject.name, 'verify');
    const typo = await runCli(['verfy', m.model], { cwd: m.dir });
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /USAGE: unknown command "verfy" \(did you mean verify\?\)/);
    const help = await runCli(['--help'], { cwd: m.dir });
    assert.equal(help.code, 0);
    assert.match(help.stdout, /"ms-sign MODEL \[verify options\]" is short for "ms-sign verify MODEL"/);
  });
});

describe('--ignore has .gitignore semantics, recorded anchored (item 8)', () => {
  /** A model directory with files a user wants left out at several depths. */
  async function messyModel(t: Parameters<typeof tempDir>[0]) {
    const dir = tempDir(t);
    const key = await makeKey(dir);
    copyFixture('parallel.ms', join(dir, 'model'));
    copyFixture('relu.mindir', join(dir, 'model', 'sub'));
    writeFileSync(join(dir, 'model', 'top.tmp'), 'x');
    writeFileSync(join(dir, 'model', 'sub', 'deep.tmp'), 'x');
    mkdirSync(join(dir, 'model', 'sub', 'logs'));
    writeFileSync(join(dir, 'model', 'sub', 'logs', 'run.txt'), 'log');
    mkdirSync(join(dir, 'model', '.git', 'refs'), { recursive: true });
    writeFileSync(join(dir, 'model', '.git', 'HEAD'), 'ref: refs/heads/main\n');
    writeFileSync(join(dir, 'model', 'build'), 'not a directory');
    return { dir, key };
  }

  async function inspected(dir: string) {
    const r = await runCli(['inspect', 'model.sig', '--json'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    return r.json<{ ignore: string[]; files: { path: string }[] }>();
  }

  test('no slash = any depth, trailing / = directory, leading / = anchored; .git/ left out by default and recorded', async (t) => {
    const { dir, key } = await messyModel(t);
    await mustSucceed(['sign', 'model', '-k', key.secret, '--ignore', '*.tmp', '--ignore', 'logs/', '--ignore', '/build'], dir);
    const i = await inspected(dir);
    assert.deepEqual(i.ignore, ['**/*.tmp', '**/logs/**', 'build', '**/.git/**']);
    assert.deepEqual(i.files.map((f) => f.path), ['parallel.ms', 'sub/relu.mindir']);
    // Verify applies what was recorded: new files matching the patterns stay left out.
    writeFileSync(join(dir, 'model', 'sub', 'new.tmp'), 'y');
    writeFileSync(join(dir, 'model', '.git', 'ORIG_HEAD'), 'z');
    const v = await runCli(['verify', 'model', '-p', key.public, '--json'], { cwd: dir });
    assert.equal(v.code, 0, v.stdout);
  });

  test('** works as in git, and a pattern with a slash in the middle stays anchored', async (t) => {
    const { dir, key } = await messyModel(t);
    await mustSucceed(['sign', 'model', '-k', key.secret, '--ignore', 'sub/**/*.txt', '--ignore', 'sub/*.tmp', '--ignore', '/*.tmp', '--ignore', 'build'], dir);
    const i = await inspected(dir);
    assert.deepEqual(i.ignore, ['sub/**/*.txt', 'sub/*.tmp', '*.tmp', '**/build', '**/.git/**']);
    assert.deepEqual(i.files.map((f) => f.path), ['parallel.ms', 'sub/relu.mindir']);
  });

  test('--no-ignore-git signs .git/ too', async (t) => {
    const { dir, key } = await messyModel(t);
    await mustSucceed(['sign', 'model', '-k', key.secret, '--no-ignore-git'], dir);
    const i = await inspected(dir);
    assert.deepEqual(i.ignore, []);
    assert.ok(i.files.some((f) => f.path === '.git/HEAD'));
  });

  test('a pattern that matches nothing, a directory pattern that names a file, and negation are usage errors', async (t) => {
    const { dir, key } = await messyModel(t);
    for (const [pattern, message] of [
      ['*.tpm', /ignore pattern "\*\.tpm" \(recorded as "\*\*\/\*\.tpm"\) matches nothing/],
      ['build/', /ignore pattern "build\/" is for directories, but build is a file/],
      ['!keep.tmp', /negation/],
    ] as const) {
      const r = await runCli(['sign', 'model', '-k', key.secret, '--ignore', pattern], { cwd: dir });
      assert.equal(r.code, 2, pattern);
      assert.match(r.stderr, message);
    }
  });

  test('a signature signed before .gitignore semantics keeps its meaning: a top-level glob does not reach subdirectories', async (t) => {
    // The golden files of test/data/golden/v1 verify unchanged (golden.test.ts); here an old-style
    // manifest whose "*.tmp" matched only the top level: a sub/x.tmp added later is UNSIGNED_FILE.
    const m = await signedDirectory(t);
    const { parseSecretKeyPem, secretKeySigner } = await import('@ms-sign/core');
    const { signModel, writeFileAtomic } = await import('@ms-sign/core/node');
    const key = await parseSecretKeyPem(readFileSync(m.key.secret, 'utf8'), () => Promise.reject(new Error('not encrypted')));
    writeFileSync(join(m.dir, 'model', 'top.tmp'), 'x');
    const signed = await signModel(join(m.dir, 'model'), { signers: [secretKeySigner(key)], signaturePath: join(m.dir, 'model.sig'), ignore: ['/*.tmp'], ignoreGit: false });
    assert.deepEqual(signed.manifest.ignore, ['*.tmp']);
    writeFileAtomic(join(m.dir, 'model.sig'), signed.signatureFile, { overwrite: true });
    writeFileSync(join(m.dir, 'model', 'nested', 'x.tmp'), 'x');
    const r = await runCli(['verify', 'model', '-p', m.key.public, '--json'], { cwd: m.dir });
    assert.equal(r.code, 1);
    assert.deepEqual(errorCodes(r), ['UNSIGNED_FILE']);
  });
});

describe('keys (item 9)', () => {
  test('keyid FILE and inspect FILE.pub print the key id keygen printed', async (t) => {
    const dir = tempDir(t);
    const key = await makeKey(dir);
    const keyid = await runCli(['keyid', key.public], { cwd: dir });
    assert.equal(keyid.code, 0);
    assert.equal(keyid.stdout, `${key.keyId}  ${key.public}\n`);
    const inspect = await runCli(['inspect', key.public, '--json'], { cwd: dir });
    assert.equal(inspect.code, 0);
    assert.equal(inspect.json().keyId, key.keyId);
  });

  test('trust revoke takes a .pub file or an unambiguous prefix; REVOKED_KEY names the publisher and the reason', async (t) => {
    const m = await signedFile(t);
    const other = await makeKey(m.dir, 'other');
    const policy = await userPolicy(m.dir, m.key.public);
    await mustSucceed(['trust', 'add', 'beta', '-p', other.public, '-t', policy], m.dir);
    const bad = await runCli(['trust', 'revoke', 'xyz!', '-t', policy], { cwd: m.dir });
    assert.equal(bad.code, 2);
    const prefix = m.key.keyId.slice(0, 6);
    await mustSucceed(['trust', 'revoke', prefix, '-t', policy, '--reason', 'laptop stolen'], m.dir);
    const doc = JSON.parse(readFileSync(policy, 'utf8')) as { revoked: { keyId: string; reason: string }[] };
    assert.deepEqual(doc.revoked.map((r) => [r.keyId, r.reason]), [[m.key.keyId, 'laptop stolen']]);
    const r = await runCli(['verify', m.model, '--json'], { cwd: m.dir });
    assert.equal(r.code, 1);
    const [problem] = r.json<{ errors: { code: string; message: string }[] }>().errors;
    assert.equal(problem!.code, 'REVOKED_KEY');
    assert.match(problem!.message, new RegExp(`key ${m.key.keyId} of publisher "acme", revoked on \\d{4}-\\d\\d-\\d\\dT[\\d:]+Z: laptop stolen`));
    await mustSucceed(['trust', 'revoke', other.public, '-t', policy], m.dir);
    const after = JSON.parse(readFileSync(policy, 'utf8')) as { revoked: { keyId: string }[] };
    assert.deepEqual(after.revoked.map((x) => x.keyId), [m.key.keyId, other.keyId]);
    const unknown = await runCli(['trust', 'revoke', 'ffff0000', '-t', policy], { cwd: m.dir });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no key of the policy has an id starting with ffff0000/);
  });

  test('an ambiguous key-id prefix is refused, naming the candidates; one character more picks one', async (t) => {
    const dir = tempDir(t);
    const { generateSecretKey, publicKeyToDocument } = await import('@ms-sign/core');
    // Real keys until two ids share their first 4 hex digits (about 300 keys by the birthday bound).
    const byPrefix = new Map<string, ReturnType<typeof generateSecretKey>>();
    let pair: [ReturnType<typeof generateSecretKey>, ReturnType<typeof generateSecretKey>] | undefined;
    for (let i = 0; i < 20_000 && pair === undefined; i++) {
      const key = generateSecretKey();
      const other = byPrefix.get(key.publicKey.keyId.slice(0, 4));
      if (other !== undefined) pair = [other, key];
      else byPrefix.set(key.publicKey.keyId.slice(0, 4), key);
    }
    assert.ok(pair, 'two key ids sharing 4 hex digits');
    const [a, b] = pair.map((k) => k.publicKey);
    const policy = join(dir, 'trust.json');
    const doc = {
      version: 1,
      publishers: [a!, b!].map((k, i) => ({ name: `p${i}`, models: ['**'], keys: [{ publicKey: publicKeyToDocument(k) }] })),
      revoked: [],
      rules: [],
    };
    writeFileSync(policy, JSON.stringify(doc), { mode: 0o600 });
    const shared = a!.keyId.slice(0, 4);
    const r = await runCli(['trust', 'revoke', shared, '-t', policy], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`key id prefix ${shared} is ambiguous: (${a!.keyId}, ${b!.keyId}|${b!.keyId}, ${a!.keyId})`));
    let n = 5;
    while (a!.keyId.slice(0, n) === b!.keyId.slice(0, n)) n++;
    await mustSucceed(['trust', 'revoke', b!.keyId.slice(0, n), '-t', policy], dir);
    const after = JSON.parse(readFileSync(policy, 'utf8')) as { revoked: { keyId: string }[] };
    assert.deepEqual(after.revoked.map((x) => x.keyId), [b!.keyId]);
  });

  test('sign without -k uses ./ms-sign.key (keygen\'s default) only when it exists', async (t) => {
    const dir = tempDir(t);
    copyFixture('parallel.ms', dir);
    const none = await runCli(['sign', 'parallel.ms'], { cwd: dir });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no secret key: give -k FILE, put the key file's text in MS_SIGN_KEY, or make ms-sign\.key here with "ms-sign keygen"/);
    await mustSucceed(['keygen', '--no-passphrase'], dir);
    const signed = await runCli(['sign', 'parallel.ms', '--json'], { cwd: dir });
    assert.equal(signed.code, 0, signed.stderr);
    const keyid = await runCli(['keyid', 'ms-sign.pub', '--json'], { cwd: dir });
    assert.equal(signed.json().keyId, keyid.json().keyId);
  });

  test('MS_SIGN_KEY holding a path or bare base64 gets a hint (and never an echo of the secret)', async (t) => {
    const dir = tempDir(t);
    copyFixture('parallel.ms', dir);
    const key = await makeKey(dir);
    const asPath = await runCli(['sign', 'parallel.ms'], { cwd: dir, env: { MS_SIGN_KEY: key.secret } });
    assert.equal(asPath.code, 2);
    assert.match(asPath.stderr, /BAD_KEY: MS_SIGN_KEY holds a file name, not the key: use -k \S*publisher\.key/);
    const body = readFileSync(key.secret, 'utf8').split('\n').filter((l) => l && !l.startsWith('-----')).join('');
    const asBase64 = await runCli(['sign', 'parallel.ms'], { cwd: dir, env: { MS_SIGN_KEY: body } });
    assert.equal(asBase64.code, 2);
    assert.match(asBase64.stderr, /MS_SIGN_KEY looks like base64 without the PEM lines/);
    assert.ok(!asBase64.stderr.includes(body.slice(0, 16)), 'the secret is not echoed');
  });
});

describe('inspect on the wrong file, sign -q, several models in one verify (item 10)', () => {
  test('inspect says what a model, a directory, a secret key or a JSON file looks like', async (t) => {
    const m = await signedFile(t);
    writeFileSync(join(m.dir, 'policy.json'), '{"version":1,"publishers":[],"revoked":[],"rules":[]}');
    mkdirSync(join(m.dir, 'dir'));
    const cases: [string, RegExp][] = [
      [m.model, /parallel\.ms is not an ms-sign signature file: it looks like a MindSpore Lite model \(\.ms\); its signature file would be parallel\.ms\.sig/],
      ['dir', /it looks like a directory/],
      [m.key.secret, /it looks like a secret key/],
      ['policy.json', /it looks like a trust policy \(JSON\)/],
    ];
    copyFixture('relu.mindir', m.dir);
    cases.push(['relu.mindir', /it looks like a MindSpore model \(MindIR\)/]);
    for (const [file, message] of cases) {
      const r = await runCli(['inspect', file], { cwd: m.dir });
      assert.equal(r.code, 1, file);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /negative integers/);
    }
    // A damaged signature file (a CBOR map) keeps the decoder's own message.
    const sig = readFileSync(join(m.dir, m.sig));
    writeFileSync(join(m.dir, 'cut.sig'), sig.subarray(0, 40));
    const cut = await runCli(['inspect', 'cut.sig'], { cwd: m.dir });
    assert.equal(cut.code, 1);
    assert.doesNotMatch(cut.stderr, /looks like/);
  });

  test('sign -q prints nothing and still signs', async (t) => {
    const dir = tempDir(t);
    const key = await makeKey(dir);
    copyFixture('parallel.ms', dir);
    const r = await runCli(['sign', 'parallel.ms', '-k', key.secret, '-q'], { cwd: dir });
    assert.equal(r.code, 0);
    assert.equal(r.stdout + r.stderr, '');
    await mustSucceed(['verify', 'parallel.ms', '-p', key.public], dir);
  });

  test('verify A B C: each against its own MODEL.sig; exit 0 only if all verify; --json is one object with models[]', async (t) => {
    const m = await signedFile(t);
    copyFixture('lenet_tod_infer.ms', m.dir);
    await mustSucceed(['sign', 'lenet_tod_infer.ms', '-k', m.key.secret], m.dir);
    const both = await runCli(['verify', m.model, 'lenet_tod_infer.ms', '-p', m.key.public, '--json'], { cwd: m.dir });
    assert.equal(both.code, 0, both.stdout);
    const all = both.json<{ ok: boolean; models: { ok: boolean; model: string; signature: string }[]; errors: unknown[] }>();
    assert.equal(all.ok, true);
    assert.deepEqual(all.models.map((r) => [r.model, r.signature, r.ok]), [
      ['parallel.ms', 'parallel.ms.sig', true],
      ['lenet_tod_infer.ms', 'lenet_tod_infer.ms.sig', true],
    ]);
    flipLastByte(join(m.dir, 'lenet_tod_infer.ms'));
    const plain = await runCli(['verify', m.model, 'lenet_tod_infer.ms', 'missing.ms', '-p', m.key.public], { cwd: m.dir });
    assert.equal(plain.code, 1);
    assert.match(plain.stdout, /^Verified parallel\.ms/);
    assert.match(plain.stderr, /NOT VERIFIED: lenet_tod_infer\.ms must not be loaded\nms-sign: DIGEST_MISMATCH/);
    assert.match(plain.stderr, /NOT VERIFIED: missing\.ms must not be loaded/);
    const json = await runCli(['verify', m.model, 'lenet_tod_infer.ms', '-p', m.key.public, '--json'], { cwd: m.dir });
    const failed = json.json<{ ok: boolean; models: { ok: boolean; errors: { code: string }[] }[] }>();
    assert.equal(failed.ok, false);
    assert.deepEqual(failed.models.map((r) => [r.ok, r.errors.map((e) => e.code)]), [[true, []], [false, ['DIGEST_MISMATCH']]]);
  });

  test('verify with several models refuses -s and --output (usage error, exit 2)', async (t) => {
    const m = await signedFile(t);
    for (const flags of [['-s', m.sig], ['--output', 'out.ms']]) {
      const r = await runCli(['verify', m.model, m.model, '-p', m.key.public, ...flags, '--json'], { cwd: m.dir });
      assert.equal(r.code, 2, flags.join(' '));
      assert.deepEqual(errorCodes(r), ['USAGE']);
    }
  });
});

describe('--progress in a CI log (item 12)', () => {
  test('--progress is accepted by sign, verify and exec, and a run that ends quickly logs nothing', async (t) => {
    // The line format and its interval are tested with a fake clock in packages/cli/test/progress-bar.test.ts.
    const m = await signedFile(t);
    const signRun = spawnCli(['sign', m.model, '-k', m.key.secret, '--progress', '-q'], { cwd: m.dir });
    assert.equal(signRun.code, 0, signRun.stderr);
    const verifyRun = spawnCli(['verify', m.model, '-p', m.key.public, '--progress'], { cwd: m.dir });
    assert.equal(verifyRun.code, 0, verifyRun.stderr);
    assert.equal(verifyRun.stderr, '');
    const execRun = spawnCli(['exec', m.model, '-p', m.key.public, '--progress', '-q', '--', process.execPath, '-e', ''], { cwd: m.dir });
    assert.equal(execRun.code, 0, execRun.stderr);
  });
});
