/**
 * Secrets: a secret key file readable by group or others is refused (as ssh refuses it), and no
 * secret key material or passphrase ever reaches stdout, stderr or --json output, whatever the
 * command and however it fails. The scan uses known secrets and looks for any 12-character piece
 * of them in every form a leak could take (hex, base64, base64url, the PEM body, a byte list).
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { encodeSecretKeyPem, parseSecretKeyPem, secretKeyFromSeed } from '@ms-sign/core';
import { nodeKeyFileCipher } from '@ms-sign/core/node';
import { writeKeyFiles } from '../helpers/crafted.js';
import { assertCodes } from '../helpers/hostile.js';
import { errorCodes, runCli, spawnCli, tempDir, type CliResult } from '../helpers/index.js';

// A seed whose hex and base64 start with characters JSON.parse echoes back in its errors.
const SEED = Uint8Array.from({ length: 32 }, (_, i) => (0xd6 + i * 37) & 0xff);
const PASSPHRASE = 'correct horse battery staple 4711';
const WRONG_PASSPHRASE = 'correct horse battery stapler 4712';
const KEY = secretKeyFromSeed(SEED);
// scrypt takes about half a second: encrypt once for the whole file.
const ENCRYPTED_PEM = await encodeSecretKeyPem(KEY, PASSPHRASE, nodeKeyFileCipher);

/** Every form in which the seed, a PEM body or a passphrase could leak. */
function secretForms(seed: Uint8Array, pemBodies: readonly string[], passphrases: readonly string[]): string[] {
  const b64 = Buffer.from(seed).toString('base64');
  return [
    Buffer.from(seed).toString('hex'),
    Buffer.from(seed).toString('hex').toUpperCase(),
    b64.replace(/=+$/, ''),
    Buffer.from(seed).toString('base64url'),
    [...seed].join(','),
    [...seed].join(', '),
    // A PKCS#8 body's first 22 base64 characters are the fixed Ed25519 prefix; the rest is secret.
    ...pemBodies.map((body) => body.slice(22)),
    ...passphrases,
  ];
}

// JSON.parse quotes 10 characters of its input in errors: pieces that short must be caught.
const WINDOW = 10;

/** Fails when any WINDOW-character piece of a secret form appears in the output. */
function assertNoSecret(r: CliResult, forms: readonly string[], what: string): void {
  const output = `${r.stdout}\n${r.stderr}`;
  for (const form of forms) {
    for (let i = 0; i + WINDOW <= form.length; i++) {
      const piece = form.slice(i, i + WINDOW);
      assert.ok(!output.includes(piece), `${what}: output leaks secret piece ${JSON.stringify(piece)}:\n${output}`);
    }
  }
}

const pemBody = (pem: string) => pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');

async function secretsDir(t: Parameters<typeof tempDir>[0]) {
  const dir = tempDir(t);
  const plain = await writeKeyFiles(dir, KEY, 'plain');
  writeFileSync(join(dir, 'encrypted.key'), ENCRYPTED_PEM, { mode: 0o600 });
  const plainPem = readFileSync(plain.secretPath, 'utf8');
  for (const [name, content] of [
    ['seed.hex', `${Buffer.from(SEED).toString('hex')}\n`],
    ['seed.b64', `${Buffer.from(SEED).toString('base64')}\n`],
    ['pkcs8.der', Buffer.from(pemBody(plainPem), 'base64')],
    // The DER cut short by 3 bytes: OpenSSL's own error, not ms-sign's, must not echo it.
    ['broken.key', plainPem.replace(/.{4}\n-----END/, '\n-----END')],
  ] as const) {
    writeFileSync(join(dir, name), content, { mode: 0o600 });
  }
  writeFileSync(join(dir, 'model.ms'), 'model bytes');
  writeFileSync(join(dir, 'trust.json'), '{"version":1,"publishers":[],"revoked":[],"rules":[]}\n');
  const forms = secretForms(SEED, [pemBody(plainPem)], [PASSPHRASE, WRONG_PASSPHRASE]);
  return { dir, plain, plainPem, forms };
}

describe('secret key files readable by group or others are refused', () => {
  for (const mode of [0o640, 0o604, 0o644, 0o660, 0o606, 0o666, 0o700, 0o777]) {
    test(`mode ${mode.toString(8)}: sign exits 2 with INSECURE_KEY_FILE, says which chmod to run, and signs nothing`, async (t) => {
      const s = await secretsDir(t);
      chmodSync(s.plain.secretPath, mode);
      const r = await runCli(['sign', 'model.ms', '-k', 'plain.key', '--json'], { cwd: s.dir });
      if ((mode & 0o077) === 0) {
        assertCodes(r, 0, []);
        return;
      }
      assertCodes(r, 2, ['INSECURE_KEY_FILE']);
      assert.match(r.json<{ errors: { message: string }[] }>().errors[0]!.message, /run: chmod 600 plain\.key/);
      assert.equal(existsSync(join(s.dir, 'model.ms.sig')), false);
      assertNoSecret(r, s.forms, `mode ${mode.toString(8)}`);
    });
  }

  test('modes 600 and 400 are accepted', async (t) => {
    const s = await secretsDir(t);
    for (const mode of [0o600, 0o400]) {
      chmodSync(s.plain.secretPath, mode);
      assertCodes(await runCli(['sign', 'model.ms', '-k', 'plain.key', '--json'], { cwd: s.dir }), 0, [], mode.toString(8));
    }
  });
});

/**
 * [argv, extra environment, expected exit code]; each runs with and without --json, except those
 * that derive a key with scrypt (--json only, to keep the test fast) and keygen (no error JSON).
 */
type Scenario = readonly [readonly string[], Record<string, string>, number];

describe('no secret key material or passphrase in any output', () => {
  test('every command, succeeding and failing, in-process, with and without --json', async (t) => {
    const s = await secretsDir(t);
    const pass = { MS_SIGN_PASSPHRASE: PASSPHRASE };
    const wrong = { MS_SIGN_PASSPHRASE: WRONG_PASSPHRASE };
    const scenarios: Scenario[] = [
      [['sign', 'model.ms', '-k', 'plain.key', '-o', 'a.sig'], {}, 0],
      [['sign', 'model.ms', '-k', 'encrypted.key', '-o', 'b.sig'], pass, 0],
      [['sign', 'model.ms', '-k', 'encrypted.key', '-o', 'c.sig'], wrong, 2],
      [['sign', 'model.ms', '-k', 'encrypted.key', '-o', 'c.sig'], {}, 2],
      [['sign', 'model.ms', '-o', 'd.sig'], { MS_SIGN_KEY: s.plainPem }, 0],
      [['sign', 'model.ms', '-o', 'e.sig'], { MS_SIGN_KEY: readFileSync(join(s.dir, 'broken.key'), 'utf8') }, 2],
      [['sign', 'model.ms', '-o', 'e.sig'], { MS_SIGN_KEY: Buffer.from(SEED).toString('hex') }, 2],
      [['sign', 'model.ms', '-o', 'e.sig'], { MS_SIGN_KEY: s.plainPem.replaceAll('PRIVATE', 'PUBLIC') }, 2],
      [['sign', 'model.ms', '-o', 'e.sig', '-k', 'broken.key'], {}, 2],
      [['sign', 'model.ms', '-o', 'e.sig', '-k', 'seed.hex'], {}, 2],
      [['sign', 'model.ms', '-o', 'e.sig', '-k', 'seed.b64'], {}, 2],
      [['sign', 'model.ms', '-o', 'e.sig', '-k', 'pkcs8.der'], {}, 2],
      [['verify', 'model.ms', '-s', 'a.sig', '-p', 'plain.pub'], {}, 0],
      [['verify', 'model.ms', '-s', 'a.sig', '-p', 'plain.key'], {}, 2],
      [['verify', 'model.ms', '-s', 'a.sig', '-p', 'encrypted.key'], {}, 2],
      [['verify', 'model.ms', '-s', 'a.sig', '-p', 'seed.hex'], {}, 2],
      [['verify', 'model.ms', '-s', 'plain.key', '-p', 'plain.pub'], {}, 1],
      [['verify', 'model.ms', '-s', 'seed.hex', '-p', 'plain.pub'], {}, 1],
      [['verify', 'model.ms', '-s', 'pkcs8.der', '-p', 'plain.pub'], {}, 1],
      [['verify', 'model.ms', '-s', 'a.sig', '-t', 'plain.key'], {}, 2],
      [['verify', 'model.ms', '-s', 'a.sig', '-t', 'seed.hex'], {}, 2],
      [['verify', 'model.ms', '-s', 'a.sig', '-t', 'seed.b64'], {}, 2],
      [['verify', 'model.ms', '-s', 'a.sig', '-t', 'pkcs8.der'], {}, 2],
      [['verify', 'model.ms', '-s', 'a.sig'], { MS_SIGN_TRUST: 'seed.hex' }, 2],
      [['verify', 'model.ms', '-s', 'a.sig', '-p', 'plain.pub', '--state', 'seed.hex'], {}, 2],
      [['verify', 'model.ms', '-s', 'a.sig', '-p', 'plain.pub', '--state', 'plain.key'], {}, 2],
      [['inspect', 'plain.key'], {}, 1],
      [['inspect', 'seed.hex'], {}, 1],
      [['inspect', 'pkcs8.der'], {}, 1],
      [['trust', 'add', 'someone', '-p', 'plain.key', '-t', 'trust.json'], {}, 2],
      [['trust', 'add', 'someone', '-p', 'plain.pub', '-t', 'seed.hex'], {}, 2],
      [['trust', 'list', '-t', 'seed.b64'], {}, 2],
      [['trust', 'list', '-t', 'plain.key'], {}, 2],
      [['keygen', '-o', 'plain'], pass, 2],
    ];
    for (const [argv, env, exit] of scenarios) {
      const slow = 'MS_SIGN_PASSPHRASE' in env;
      for (const json of argv[0] === 'keygen' ? [false] : slow ? [true] : [false, true]) {
        const args = json ? [...argv, '--json'] : [...argv];
        const r = await runCli(args, { cwd: s.dir, env });
        const what = `ms-sign ${args.join(' ')}`;
        assert.equal(r.code, exit, `${what}: exit ${r.code}\n${r.stdout}${r.stderr}`);
        if (json) assert.ok(errorCodes(r).length === (exit === 0 ? 0 : 1), `${what}: ${r.stdout}`);
        assertNoSecret(r, s.forms, what);
      }
    }
    // exec has no --json; its failures must not leak either.
    assertNoSecret(await runCli(['exec', 'model.ms', '-s', 'a.sig', '-p', 'plain.key', '--', 'true'], { cwd: s.dir }), s.forms, 'exec -p plain.key');
    assertNoSecret(await runCli(['exec', 'model.ms', '-s', 'a.sig', '-t', 'seed.hex', '--', 'true'], { cwd: s.dir }), s.forms, 'exec -t seed.hex');
  });

  test('no command takes a passphrase or a secret key on the command line (argv is visible to every user)', async (t) => {
    const s = await secretsDir(t);
    for (const argv of [
      ['keygen', '-o', 'x', '--passphrase', PASSPHRASE],
      ['sign', 'model.ms', '-k', 'plain.key', '--passphrase', PASSPHRASE],
      ['sign', 'model.ms', '--key-text', s.plainPem],
    ]) {
      const r = await runCli([...argv, '--json'], { cwd: s.dir });
      assertCodes(r, 2, ['USAGE'], argv.slice(0, 2).join(' '));
      assertNoSecret(r, s.forms, argv.join(' '));
    }
  });

  test('keygen never prints the key it made, nor the passphrase it used', async (t) => {
    const dir = tempDir(t);
    const made = await runCli(['keygen', '-o', 'made', '--no-passphrase', '--json'], { cwd: dir });
    assertCodes(made, 0, []);
    const pem = readFileSync(join(dir, 'made.key'), 'utf8');
    const seed = (await parseSecretKeyPem(pem, () => '')).seed;
    assertNoSecret(made, secretForms(seed, [pemBody(pem)], []), 'keygen --no-passphrase');
    const encrypted = await runCli(['keygen', '-o', 'encrypted'], { cwd: dir, env: { MS_SIGN_PASSPHRASE: PASSPHRASE } });
    assert.equal(encrypted.code, 0, encrypted.stderr);
    assertNoSecret(encrypted, [PASSPHRASE, pemBody(readFileSync(join(dir, 'encrypted.key'), 'utf8'))], 'keygen with a passphrase');
  });

  test('as a child process too: no passphrase, a raw seed as MS_SIGN_KEY, a seed file as trust policy', async (t) => {
    const s = await secretsDir(t);
    const runs = [
      spawnCli(['sign', 'model.ms', '-k', 'encrypted.key', '--json'], { cwd: s.dir }),
      spawnCli(['sign', 'model.ms'], { cwd: s.dir, env: { MS_SIGN_KEY: Buffer.from(SEED).toString('hex') } }),
      spawnCli(['verify', 'model.ms', '-t', 'seed.hex'], { cwd: s.dir }),
    ];
    for (const r of runs) {
      assert.equal(r.code, 2, r.stderr);
      assertNoSecret(r, s.forms, 'child process');
    }
  });
});
