/**
 * Setup errors (issue 2): a wrong command line, key or passphrase is the operator's fault and
 * exits 2 with a stable code, never 1 (which would read as "this model is tampered") and never 0.
 * No run may print secret key material or a passphrase.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { encodePublicKeyPem } from '@ms-sign/core';
import { cliOk, copyFixture, makeKey, runCli, spawnCli, tempDir, type CliResult } from './helpers/index.js';
import { openssl, skipWithoutOpenssl } from './helpers/openssl.js';
import { assertFailure, assertNoSecrets, ownerOnly, secretForms, signedFile, type SignedModel } from './helpers/scenarios.js';

const PASSPHRASE = 'correct horse battery staple 42';
const WRONG_PASSPHRASE = 'incorrect donkey battery staple 43';

const secretFormsOf = new Map<string, Promise<string[]>>();

/**
 * Runs the CLI in the model's directory and checks that no form of its secret key, nor the
 * passphrase given, appears on stdout or stderr: every run of this file goes through here.
 */
async function run(m: SignedModel, argv: readonly string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  const r = await runCli(argv, { cwd: m.dir, env });
  if (!secretFormsOf.has(m.key.secret)) secretFormsOf.set(m.key.secret, secretForms([m.key.secret], []));
  const passphrase = env.MS_SIGN_PASSPHRASE;
  assertNoSecrets([r], [...(await secretFormsOf.get(m.key.secret)!), ...(passphrase ? [passphrase] : [])]);
  return r;
}

/** The one JSON object a --json run must print, also for a usage error. */
function singleJsonObject(r: CliResult): Record<string, unknown> {
  const value: unknown = r.json();
  assert.ok(value !== null && typeof value === 'object' && !Array.isArray(value), 'stdout is one JSON object');
  return value as Record<string, unknown>;
}

describe('usage errors: exit 2, USAGE', () => {
  const cases: [string, string[]][] = [
    ['an unknown flag of verify', ['verify', 'parallel.ms', '--no-such-flag']],
    ['an unknown flag of sign', ['sign', 'parallel.ms', '-k', 'publisher.key', '--no-such-flag']],
    ['an unknown top-level flag', ['--no-such-flag']],
    ['an unknown command', ['frobnicate', 'parallel.ms']],
    ['a missing argument', ['verify']],
    ['an excess argument', ['verify', 'parallel.ms', 'other.ms', '-p', 'publisher.pub']],
    ['an invalid --hash choice', ['sign', 'parallel.ms', '-k', 'publisher.key', '--hash', 'md5']],
  ];
  for (const [what, argv] of cases) {
    test(`${what}: nothing is done, USAGE on stderr, and with --json one JSON object`, async (t) => {
      const m = await signedFile(t);
      const sigBefore = readFileSync(join(m.dir, m.sig));
      const plain = await run(m, argv);
      assert.equal(plain.code, 2);
      assert.equal(plain.stdout, '');
      assert.match(plain.stderr, /^ms-sign: USAGE: /);
      const json = await run(m, [...argv, '--json']);
      assertFailure(json, 2, ['USAGE']);
      assert.equal(singleJsonObject(json).ok, false);
      assert.deepEqual(readFileSync(join(m.dir, m.sig)), sigBefore, 'the signature file is untouched');
    });
  }

  test('sign without -k and without MS_SIGN_KEY: USAGE', async (t) => {
    const m = await signedFile(t);
    assertFailure(await run(m, ['sign', m.model, '--json']), 2, ['USAGE']);
  });
});

describe('unusable key files: exit 2, KEY_UNREADABLE or BAD_KEY', () => {
  test('a secret key file that does not exist: KEY_UNREADABLE', async (t) => {
    const m = await signedFile(t);
    assertFailure(await run(m, ['sign', m.model, '-k', 'missing.key', '--json']), 2, ['KEY_UNREADABLE']);
  });

  test('a public key file that does not exist: KEY_UNREADABLE', async (t) => {
    const m = await signedFile(t);
    assertFailure(await run(m, ['verify', m.model, '-p', 'missing.pub', '--json']), 2, ['KEY_UNREADABLE']);
  });

  test('a directory given as the key: KEY_UNREADABLE', async (t) => {
    const m = await signedFile(t);
    mkdirSync(join(m.dir, 'keys.d'), { mode: 0o700 });
    assertFailure(await run(m, ['sign', m.model, '-k', 'keys.d', '--json']), 2, ['KEY_UNREADABLE']);
    assertFailure(await run(m, ['verify', m.model, '-p', 'keys.d', '--json']), 2, ['KEY_UNREADABLE']);
  });

  const garbage: [string, string][] = [
    ['empty', ''],
    ['not PEM', 'this is not a key\n'],
    ['PEM with a body that is not base64', '-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n'],
    ['PEM with a body that is not a key', '-----BEGIN PRIVATE KEY-----\nAAAAAAAAAAAAAAAA\n-----END PRIVATE KEY-----\n'],
  ];
  for (const [what, text] of garbage) {
    test(`a secret key file that is ${what}: BAD_KEY`, async (t) => {
      const m = await signedFile(t);
      writeFileSync(join(m.dir, 'garbage.key'), text, { mode: 0o600 });
      assertFailure(await run(m, ['sign', m.model, '-k', 'garbage.key', '--json']), 2, ['BAD_KEY']);
    });

    test(`a public key file that is ${what.replace('PRIVATE', 'PUBLIC')}: BAD_KEY`, async (t) => {
      const m = await signedFile(t);
      writeFileSync(join(m.dir, 'garbage.pub'), text.replaceAll('PRIVATE', 'PUBLIC'));
      assertFailure(await run(m, ['verify', m.model, '-p', 'garbage.pub', '--json']), 2, ['BAD_KEY']);
    });
  }

  test('a public key given as the secret key, and a secret key as the public key: BAD_KEY (and, as in every run here, the secret is not printed)', async (t) => {
    const m = await signedFile(t);
    const asSecret = join(m.dir, 'public-as-secret.key');
    writeFileSync(asSecret, readFileSync(m.key.public), { mode: 0o600 });
    const signed = await run(m, ['sign', m.model, '-k', asSecret, '--json']);
    assertFailure(signed, 2, ['BAD_KEY']);
    const verified = await run(m, ['verify', m.model, '-p', m.key.secret, '--json']);
    assertFailure(verified, 2, ['BAD_KEY']);
  });

  test('the identity point as a public key (it would verify forged signatures): BAD_KEY', async (t) => {
    const m = await signedFile(t);
    const identity = new Uint8Array(32);
    identity[0] = 1;
    writeFileSync(join(m.dir, 'identity.pub'), encodePublicKeyPem({ bytes: identity, keyId: '' }));
    assertFailure(await run(m, ['verify', m.model, '-p', 'identity.pub', '--json']), 2, ['BAD_KEY']);
  });

  const foreignKeys: [string, string[]][] = [
    ['RSA', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024']],
    ['EC P-256', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']],
    ['X25519', ['-algorithm', 'X25519']],
    ['Ed448', ['-algorithm', 'ED448']],
  ];
  for (const [name, genpkey] of foreignKeys) {
    test(`an ${name} key made by openssl, as secret and as public key: BAD_KEY`, async (t) => {
      if (skipWithoutOpenssl(t)) return;
      const m = await signedFile(t);
      openssl(['genpkey', ...genpkey, '-out', 'foreign.key'], m.dir);
      ownerOnly(join(m.dir, 'foreign.key'));
      openssl(['pkey', '-in', 'foreign.key', '-pubout', '-out', 'foreign.pub'], m.dir);
      const signed = await run(m, ['sign', m.model, '-k', 'foreign.key', '--json']);
      assertFailure(signed, 2, ['BAD_KEY']);
      assertFailure(await run(m, ['verify', m.model, '-p', 'foreign.pub', '--json']), 2, ['BAD_KEY']);
      assert.equal((await run(m, ['verify', m.model, '-p', m.key.public])).code, 0, 'the signature file was not touched');
    });
  }
});

describe('secret key file permissions', () => {
  for (const mode of [0o644, 0o640, 0o604, 0o660, 0o606]) {
    test(`a secret key file with mode 0${mode.toString(8)}: INSECURE_KEY_FILE, nothing signed`, async (t) => {
      const m = await signedFile(t);
      const sigBefore = readFileSync(join(m.dir, m.sig));
      writeFileSync(join(m.dir, 'loose.key'), readFileSync(m.key.secret), { mode });
      const r = await run(m, ['sign', m.model, '-k', 'loose.key', '--json']);
      assertFailure(r, 2, ['INSECURE_KEY_FILE']);
      assert.deepEqual(readFileSync(join(m.dir, m.sig)), sigBefore);
    });
  }

  // Only group and other bits make a key file insecure (as ssh judges private keys).
  for (const mode of [0o600, 0o400, 0o700]) {
    test(`a secret key file with mode 0${mode.toString(8)} signs`, async (t) => {
      const m = await signedFile(t);
      writeFileSync(join(m.dir, 'tight.key'), readFileSync(m.key.secret), { mode });
      await cliOk(m.dir, ['sign', m.model, '-k', 'tight.key']);
    });
  }
});

describe('keygen', () => {
  test('writes the secret key with mode 0600, and never overwrites a key without --force', async (t) => {
    const dir = tempDir(t);
    const first = await makeKey(dir, 'release');
    assert.equal(statSync(first.secret).mode & 0o777, 0o600);
    const before = { secret: readFileSync(first.secret), public: readFileSync(first.public) };

    const again = await runCli(['keygen', '-o', 'release', '--no-passphrase', '--json'], { cwd: dir });
    assertFailure(again, 2, ['FILE_EXISTS']);
    assert.deepEqual(readFileSync(first.secret), before.secret, 'the old secret key is unchanged');
    assert.deepEqual(readFileSync(first.public), before.public, 'the old public key is unchanged');

    const forced = await cliOk(dir, ['keygen', '-o', 'release', '--no-passphrase', '--force', '--json']);
    assert.notEqual(forced.json<{ keyId: string }>().keyId, first.keyId);
    assert.notDeepEqual(readFileSync(first.secret), before.secret);
    assert.equal(statSync(first.secret).mode & 0o777, 0o600);
    assertNoSecrets([again, forced], await secretForms([first.secret], []));
  });

  test('refuses when only the public key file exists, and writes no secret key', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'release.pub'), 'keep me\n');
    assertFailure(await runCli(['keygen', '-o', 'release', '--no-passphrase', '--json'], { cwd: dir }), 2, ['FILE_EXISTS']);
    assert.equal(readFileSync(join(dir, 'release.pub'), 'utf8'), 'keep me\n');
    assert.equal(existsSync(join(dir, 'release.key')), false);
  });

  test('without --no-passphrase, MS_SIGN_PASSPHRASE or a terminal: PASSPHRASE_REQUIRED, nothing written', async (t) => {
    const dir = tempDir(t);
    assertFailure(await runCli(['keygen', '-o', 'release', '--json'], { cwd: dir }), 2, ['PASSPHRASE_REQUIRED']);
    assert.equal(existsSync(join(dir, 'release.key')), false);
    assert.equal(existsSync(join(dir, 'release.pub')), false);
  });
});

describe('an encrypted secret key', () => {
  // Each wrong or right passphrase costs one scrypt (N = 2^17): the cases run concurrently.
  test('needs the right passphrase from MS_SIGN_PASSPHRASE or a terminal, and none is ever printed', { concurrency: true }, async (t) => {
    const m = await signedFile(t);
    const made = await cliOk(m.dir, ['keygen', '-o', 'sealed', '--json'], { MS_SIGN_PASSPHRASE: PASSPHRASE });
    assert.equal(made.json<{ encrypted: boolean }>().encrypted, true);
    const keyFile = join(m.dir, 'sealed.key');
    const keyText = readFileSync(keyFile, 'utf8');
    assert.match(keyText, /^-----BEGIN ENCRYPTED PRIVATE KEY-----\n/);
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    const results: CliResult[] = [made];
    let runs = 0;
    const sign = async (env: Record<string, string | undefined>, ...keyArgs: string[]) => {
      // Concurrent runs write distinct signature files.
      const r = await run(m, ['sign', m.model, ...keyArgs, '-o', `${m.model}.${++runs}.sig`, '--json'], env);
      results.push(r);
      return r;
    };

    await Promise.all([
      t.test('wrong passphrase: WRONG_PASSPHRASE', async () => {
        assertFailure(await sign({ MS_SIGN_PASSPHRASE: WRONG_PASSPHRASE }, '-k', 'sealed.key'), 2, ['WRONG_PASSPHRASE']);
      }),
      t.test('an empty MS_SIGN_PASSPHRASE: WRONG_PASSPHRASE', async () => {
        assertFailure(await sign({ MS_SIGN_PASSPHRASE: '' }, '-k', 'sealed.key'), 2, ['WRONG_PASSPHRASE']);
      }),
      t.test('no passphrase and stdin not a terminal: PASSPHRASE_REQUIRED', async () => {
        assertFailure(await sign({}, '-k', 'sealed.key'), 2, ['PASSPHRASE_REQUIRED']);
        assertFailure(await sign({ MS_SIGN_KEY: keyText }), 2, ['PASSPHRASE_REQUIRED']);
      }),
      t.test('the right passphrase signs, with the key from a file and from MS_SIGN_KEY', async () => {
        const [fromFile, fromEnv] = await Promise.all([
          sign({ MS_SIGN_PASSPHRASE: PASSPHRASE }, '-k', 'sealed.key'),
          sign({ MS_SIGN_PASSPHRASE: PASSPHRASE, MS_SIGN_KEY: keyText }),
        ]);
        assert.equal(fromFile.code, 0, fromFile.stdout);
        assert.equal(fromEnv.code, 0, fromEnv.stdout);
      }),
    ]);
    await t.test('no passphrase in a real child process with piped stdin: PASSPHRASE_REQUIRED', () => {
      const r = spawnCli(['sign', m.model, '-k', 'sealed.key', '--json'], { cwd: m.dir, input: `${PASSPHRASE}\n` });
      results.push(r);
      assertFailure(r, 2, ['PASSPHRASE_REQUIRED']);
    });
    assertNoSecrets(results, await secretForms([keyFile], [PASSPHRASE, WRONG_PASSPHRASE]));
  });
});

describe('MS_SIGN_KEY', () => {
  test('holding the text of a plain key file: signs, and the key is not printed', async (t) => {
    const dir = tempDir(t);
    const key = await makeKey(dir);
    copyFixture('parallel.ms', dir);
    const signed = await cliOk(dir, ['sign', 'parallel.ms', '--json'], { MS_SIGN_KEY: readFileSync(key.secret, 'utf8') });
    assert.equal(signed.json<{ keyId: string }>().keyId, key.keyId);
    const verified = await cliOk(dir, ['verify', 'parallel.ms', '-p', key.public, '--json']);
    assertNoSecrets([signed, verified], await secretForms([key.secret], []));
  });

  test('-k wins over MS_SIGN_KEY', async (t) => {
    const dir = tempDir(t);
    const key = await makeKey(dir);
    const other = await makeKey(dir, 'other');
    copyFixture('parallel.ms', dir);
    const signed = await cliOk(dir, ['sign', 'parallel.ms', '-k', key.secret, '--json'], { MS_SIGN_KEY: readFileSync(other.secret, 'utf8') });
    assert.equal(signed.json<{ keyId: string }>().keyId, key.keyId);
  });

  test('holding garbage: BAD_KEY', async (t) => {
    const m = await signedFile(t);
    assertFailure(await run(m, ['sign', m.model, '--json'], { MS_SIGN_KEY: 'not a key' }), 2, ['BAD_KEY']);
  });
});

describe('trust anchors', () => {
  test('verify without -p and without any trust policy: NO_TRUST_ANCHOR', async (t) => {
    const m = await signedFile(t);
    assertFailure(await run(m, ['verify', m.model, '--json']), 2, ['NO_TRUST_ANCHOR']);
    // exec leaves stdout to CMD: its diagnostics are on stderr, one "ms-sign: CODE: ..." line each.
    const exec = await run(m, ['exec', m.model, '--', 'true']);
    assert.equal(exec.code, 2);
    assert.match(exec.stderr, /^ms-sign: NO_TRUST_ANCHOR: /);
  });

  test('the anchor check comes before the model is looked at: a tampered model still gives NO_TRUST_ANCHOR', async (t) => {
    const m = await signedFile(t);
    writeFileSync(join(m.dir, m.model), 'tampered');
    assertFailure(await run(m, ['verify', m.model, '--json']), 2, ['NO_TRUST_ANCHOR']);
  });
});
