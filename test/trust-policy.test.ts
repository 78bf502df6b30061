/**
 * The trust policy file: the committed example loads and means what docs/trust-policy.md says;
 * a malformed policy is refused with exit 2 naming the file and the field; and the policy is
 * found in the documented order, which verify reports in text and --json.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { encodePublicKeyPem, encodeSecretKeyPem, MsSignError, publicKeyToDocument, secretKeyFromSeed, type TrustPolicyDocument } from '@ms-sign/core';
import { readTrustPolicyFile } from '@ms-sign/core/node';
import { cliUnderTest, copyFixture, errorCodes, makeKey, repoRoot, runCli, tempDir } from './helpers/index.js';
import { cliOk, DAY, nowSeconds, signAt, verifyJson } from './helpers/trust.js';

const EXAMPLE = join(repoRoot, 'examples', 'trust-policy.json');

/** The example policy's keys are derived from public strings (docs/trust-policy.md): test material only. */
async function exampleKey(dir: string, name: string): Promise<string> {
  const key = secretKeyFromSeed(new Uint8Array(createHash('sha256').update(`ms-sign example key ${name}`).digest()));
  writeFileSync(join(dir, `${name}.key`), await encodeSecretKeyPem(key), { mode: 0o600 });
  writeFileSync(join(dir, `${name}.pub`), encodePublicKeyPem(key.publicKey));
  return `${name}.key`;
}

describe('examples/trust-policy.json', () => {
  test('loads, and holds what the docs walk through', () => {
    const { document, policy } = readTrustPolicyFile(EXAMPLE);
    assert.deepEqual(policy.publishers.map((p) => [p.name, p.keys.length]), [['acme', 2], ['partner-lab', 1]]);
    assert.deepEqual([...policy.revoked], ['3af035253fbcd4565a52511e2a9c0994']);
    assert.deepEqual(policy.rules.map((r) => [r.models.pattern, r.threshold, r.maxAgeSeconds, r.requireExpiry]), [
      ['**', 1, 365 * DAY, false],
      ['acme/prod/**', 2, 90 * DAY, true],
    ]);
    assert.equal(document.publishers[0]!.keys[0]!.notAfter, '2026-07-01');
  });

  test('is the example shown in docs/trust-policy.md', () => {
    const doc = readFileSync(join(repoRoot, 'docs', 'trust-policy.md'), 'utf8');
    const shown = /## An example policy[\s\S]*?```json\n([\s\S]*?)```/.exec(doc);
    assert.ok(shown, 'docs/trust-policy.md shows an example policy');
    assert.deepEqual(JSON.parse(shown[1]!), JSON.parse(readFileSync(EXAMPLE, 'utf8')));
  });

  test('verify applies it as documented: production models need acme and partner-lab, with an expiry', async (t) => {
    const dir = tempDir(t);
    copyFixture('lenet_tod_infer.ms', dir, 'detector.ms');
    const acme = await exampleKey(dir, 'acme-2026');
    const partner = await exampleKey(dir, 'partner-lab');
    const now = nowSeconds();
    const verify = () => verifyJson(dir, ['detector.ms', '-t', EXAMPLE]);

    await signAt(dir, 'detector.ms', acme, { name: 'acme/prod/detector', expires: now + 30 * DAY });
    let r = await verify();
    assert.equal(r.code, 1);
    assert.deepEqual(r.codes, ['THRESHOLD_NOT_MET']);
    assert.deepEqual(r.report.policy.rule, { models: ['**', 'acme/prod/**'], threshold: 2, maxAge: '90d', requireExpiry: true });

    await cliOk(dir, ['sign', 'detector.ms', '--append', '-k', partner]);
    r = await verify();
    assert.equal(r.code, 0, JSON.stringify(r.report.errors));
    assert.deepEqual(r.report.signers.map((s) => [s.publisher, s.valid]), [['acme', true], ['partner-lab', true]]);

    await signAt(dir, 'detector.ms', [acme, partner], { name: 'acme/prod/detector' });
    r = await verify();
    assert.deepEqual(r.codes, ['EXPIRY_REQUIRED']);

    // acme's 2025 key stopped signing on 2026-07-01; the leaked 2024 key is revoked.
    await signAt(dir, 'detector.ms', await exampleKey(dir, 'acme-2025'), { name: 'acme/research/detector', now });
    assert.deepEqual((await verify()).codes, ['KEY_NOT_VALID']);
    await signAt(dir, 'detector.ms', await exampleKey(dir, 'acme-2024-leaked'), { name: 'acme/research/detector' });
    assert.deepEqual((await verify()).codes, ['REVOKED_KEY']);
    // partner-lab may not sign acme's research models on its own.
    await signAt(dir, 'detector.ms', partner, { name: 'acme/research/detector' });
    assert.deepEqual((await verify()).codes, ['OUT_OF_SCOPE']);
  });
});

function validDocument(publicKey: string): TrustPolicyDocument {
  return {
    version: 1,
    publishers: [{ name: 'acme', models: ['**'], keys: [{ publicKey }] }],
    revoked: [],
    rules: [{ models: '**', threshold: 1 }],
  };
}

// Ed25519's neutral element (y = 1): a small-order point, which strict verification refuses.
const SMALL_ORDER_KEY = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from([1]), Buffer.alloc(31)]).toString('base64');

/** Each malformed policy and the field verify must name (a JSON pointer). */
interface LooseDocument {
  [field: string]: unknown;
  version: unknown;
  publishers: { name: unknown; models: unknown; keys: Record<string, unknown>[] }[];
  revoked?: Record<string, unknown>[];
  rules: Record<string, unknown>[];
}

const MALFORMED: { what: string; field: string; edit: (doc: LooseDocument, key: string) => void }[] = [
  { what: 'threshold 0', field: '/rules/0/threshold', edit: (d) => void (d.rules[0]!.threshold = 0) },
  { what: 'threshold 1.5', field: '/rules/0/threshold', edit: (d) => void (d.rules[0]!.threshold = 1.5) },
  { what: 'threshold as a string', field: '/rules/0/threshold', edit: (d) => void (d.rules[0]!.threshold = '2') },
  { what: 'a misspelt field', field: '/rules/0/thresold', edit: (d) => void (d.rules[0]!.thresold = 2) },
  { what: 'a missing list', field: '/revoked', edit: (d) => void delete d.revoked },
  { what: 'an unknown version', field: '/version', edit: (d) => void (d.version = 2) },
  { what: 'a publisher without keys', field: '/publishers/0/keys', edit: (d) => void (d.publishers[0]!.keys = []) },
  { what: 'a name with a space', field: '/publishers/0/name', edit: (d) => void (d.publishers[0]!.name = 'ac me') },
  { what: 'a key that is not base64 SPKI', field: '/publishers/0/keys/0/publicKey', edit: (d) => void (d.publishers[0]!.keys[0]!.publicKey = 'not a key') },
  { what: 'a key of the right length that is not Ed25519 SPKI', field: '/publishers/0/keys/0/publicKey', edit: (d) => void (d.publishers[0]!.keys[0]!.publicKey = 'A'.repeat(59) + '=') },
  { what: 'a small-order key', field: '/publishers/0/keys/0/publicKey', edit: (d) => void (d.publishers[0]!.keys[0]!.publicKey = SMALL_ORDER_KEY) },
  { what: 'an impossible date', field: '/publishers/0/keys/0/notBefore', edit: (d) => void (d.publishers[0]!.keys[0]!.notBefore = '2026-13-45') },
  { what: 'a date without a zone', field: '/publishers/0/keys/0/notAfter', edit: (d) => void (d.publishers[0]!.keys[0]!.notAfter = '2026-01-01T00:00:00') },
  {
    what: 'a window that ends before it starts',
    field: '/publishers/0/keys/0/notAfter',
    edit: (d) => void Object.assign(d.publishers[0]!.keys[0]!, { notBefore: '2026-02-01', notAfter: '2026-01-01' }),
  },
  { what: 'one key for two publishers', field: '/publishers/1/keys/0/publicKey', edit: (d, key) => void d.publishers.push({ name: 'other', models: ['**'], keys: [{ publicKey: key }] }) },
  { what: 'a publisher listed twice', field: '/publishers/1/name', edit: (d) => void d.publishers.push({ name: 'acme', models: ['**'], keys: [{ publicKey: SECOND_KEY }] }) },
  { what: 'a bad model glob', field: '/publishers/0/models/0', edit: (d) => void (d.publishers[0]!.models = ['acme/**x']) },
  { what: 'an empty rule glob', field: '/rules/0/models', edit: (d) => void (d.rules[0]!.models = '') },
  { what: 'two rules for one glob', field: '/rules/1/models', edit: (d) => void d.rules.push({ models: '**', threshold: 2 }) },
  { what: 'a zero max age', field: '/rules/0/maxAge', edit: (d) => void (d.rules[0]!.maxAge = '0d') },
  { what: 'a max age in months', field: '/rules/0/maxAge', edit: (d) => void (d.rules[0]!.maxAge = '3mo') },
  { what: 'an upper-case revoked key id', field: '/revoked/0/keyId', edit: (d) => void d.revoked!.push({ keyId: 'A'.repeat(32) }) },
  { what: 'requireExpiry as a string', field: '/rules/0/requireExpiry', edit: (d) => void (d.rules[0]!.requireExpiry = 'yes') },
];
const SECOND_KEY = publicKeyToDocument(secretKeyFromSeed(new Uint8Array(32).fill(7)).publicKey);

describe('a malformed trust policy is refused with exit 2, naming the file and the field', () => {
  for (const row of MALFORMED) {
    test(row.what, async (t) => {
      const dir = tempDir(t);
      const key = await makeKey(dir);
      copyFixture('parallel.ms', dir);
      await cliOk(dir, ['sign', 'parallel.ms', '-k', key.secret]);
      const publicKey = readFileSync(key.public, 'utf8').split('\n')[1]!;
      const doc = validDocument(publicKey) as unknown as LooseDocument;
      row.edit(doc, publicKey);
      const policyPath = join(dir, 'policy.json');
      writeFileSync(policyPath, JSON.stringify(doc));

      const r = await verifyJson(dir, ['parallel.ms', '-t', 'policy.json']);
      assert.equal(r.code, 2);
      assert.deepEqual(r.codes, ['BAD_TRUST_POLICY']);
      assert.equal(r.report.errors[0]!.path, policyPath);
      assert.equal(r.report.errors[0]!.field, row.field);
      // The same check guards the library.
      assert.throws(() => readTrustPolicyFile(policyPath), (e: unknown) => e instanceof MsSignError && e.code === 'BAD_TRUST_POLICY' && e.field === row.field);
    });
  }

  test('the text diagnostic names the file and the field too', async (t) => {
    const dir = tempDir(t);
    copyFixture('parallel.ms', dir);
    writeFileSync(join(dir, 'policy.json'), JSON.stringify({ ...validDocument(SECOND_KEY), rules: [{ models: '**', threshold: 0 }] }));
    const r = await runCli(['verify', 'parallel.ms', '-t', 'policy.json'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.ok(r.stderr.includes(join(dir, 'policy.json')) && r.stderr.includes('/rules/0/threshold'), r.stderr);
  });

  test('text that is not JSON, and a policy file that is missing', async (t) => {
    const dir = tempDir(t);
    copyFixture('parallel.ms', dir);
    writeFileSync(join(dir, 'policy.json'), '{"version": 1,');
    // A secret given by mistake as the policy: the error says where, never what.
    writeFileSync(join(dir, 'secret.hex'), '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n');
    for (const file of ['policy.json', 'absent.json', 'secret.hex']) {
      const r = await verifyJson(dir, ['parallel.ms', '-t', file]);
      assert.equal(r.code, 2);
      assert.deepEqual(r.codes, ['BAD_TRUST_POLICY']);
      assert.equal(r.report.errors[0]!.path, join(dir, file));
      assert.ok(!r.result.stdout.includes('9f86d0'), r.result.stdout);
    }
  });
});

describe('lookup order: -t, MS_SIGN_TRUST, $XDG_CONFIG_HOME/ms-sign/trust.json, /etc/ms-sign/trust.json', () => {
  /** Four policies, each trusting a different co-signer of parallel.ms, so the signer shows which applied. */
  async function fourPolicies(t: { after: (fn: () => void) => void }) {
    const dir = tempDir(t);
    copyFixture('parallel.ms', dir);
    const places = {
      t: join(dir, 'explicit.json'),
      env: join(dir, 'from-env.json'),
      xdg: join(dir, 'xdg', 'ms-sign', 'trust.json'),
      home: join(dir, '.config', 'ms-sign', 'trust.json'),
      // Where the tests' CLI runs find the system-wide policy (in place of /etc/ms-sign/trust.json).
      system: join(dir, '.system', 'trust.json'),
    };
    const secrets: string[] = [];
    for (const [name, path] of Object.entries(places)) {
      const key = await makeKey(dir, `key-${name}`);
      secrets.push(key.secret);
      mkdirSync(join(path, '..'), { recursive: true });
      await cliOk(dir, ['trust', 'init', '-t', path]);
      await cliOk(dir, ['trust', 'add', `p-${name}`, '-p', key.public, '-t', path]);
    }
    await signAt(dir, 'parallel.ms', secrets);
    return { dir, places, env: { MS_SIGN_TRUST: places.env, XDG_CONFIG_HOME: join(dir, 'xdg') } };
  }

  const applied = (r: Awaited<ReturnType<typeof verifyJson>>) => [r.report.policy.origin, r.report.policy.source, r.report.signers.filter((s) => s.valid).map((s) => s.publisher)];

  test('each place wins over the ones after it, and verify --json reports the file applied', async (t) => {
    const { dir, places, env } = await fourPolicies(t);
    assert.deepEqual(applied(await verifyJson(dir, ['parallel.ms', '-t', places.t], env)), ['-t', places.t, ['p-t']]);
    assert.deepEqual(applied(await verifyJson(dir, ['parallel.ms'], env)), ['MS_SIGN_TRUST', places.env, ['p-env']]);
    assert.deepEqual(applied(await verifyJson(dir, ['parallel.ms'], { ...env, MS_SIGN_TRUST: undefined })), ['$XDG_CONFIG_HOME/ms-sign/trust.json', places.xdg, ['p-xdg']]);
    // XDG_CONFIG_HOME unset (or relative, which the XDG spec says to ignore): ~/.config.
    for (const xdg of [undefined, 'relative/xdg']) {
      const r = await verifyJson(dir, ['parallel.ms'], { MS_SIGN_TRUST: undefined, XDG_CONFIG_HOME: xdg, HOME: dir });
      assert.deepEqual(applied(r), ['$XDG_CONFIG_HOME/ms-sign/trust.json', places.home, ['p-home']]);
    }
    // No policy of the user's: the system-wide one. Only in-process runs can put it elsewhere than
    // /etc/ms-sign/trust.json; a CLI under test as a child process (MS_SIGN_CLI: the binary) reads
    // the real one, which nothing in the environment may move.
    if (cliUnderTest !== undefined) return;
    const system = await verifyJson(dir, ['parallel.ms'], { MS_SIGN_TRUST: undefined, XDG_CONFIG_HOME: join(dir, 'no-config') });
    assert.deepEqual(applied(system), ['/etc/ms-sign/trust.json', places.system, ['p-system']]);
  });

  test('verify reports the policy and rule applied in text, on success and on failure', async (t) => {
    const { dir, places, env } = await fourPolicies(t);
    await cliOk(dir, ['trust', 'rule', '**', '--max-age', '30d', '-t', places.xdg]);
    const ok = await runCli(['verify', 'parallel.ms'], { cwd: dir, env: { ...env, MS_SIGN_TRUST: undefined } });
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(ok.stdout.includes(`policy:    ${places.xdg} (found by $XDG_CONFIG_HOME/ms-sign/trust.json), rule "**": threshold 1, max age 30d`), ok.stdout);
    await cliOk(dir, ['trust', 'rule', '**', '--threshold', '2', '-t', places.t]);
    const failed = await runCli(['verify', 'parallel.ms', '-t', places.t], { cwd: dir, env });
    assert.equal(failed.code, 1);
    assert.ok(failed.stderr.includes(`policy: ${places.t} (found by -t), rule "**": threshold 2`), failed.stderr);
  });

  test('a policy named by -t or MS_SIGN_TRUST must exist: no fall-through to a weaker one', async (t) => {
    const { dir, env } = await fourPolicies(t);
    for (const [args, extra] of [[['-t', 'missing.json'], env], [[], { ...env, MS_SIGN_TRUST: join(dir, 'missing.json') }]] as const) {
      const r = await verifyJson(dir, ['parallel.ms', ...args], extra);
      assert.equal(r.code, 2);
      assert.deepEqual(r.codes, ['BAD_TRUST_POLICY']);
    }
  });

  test('a policy file that is present but unreadable stops the lookup: no fall-through', async (t) => {
    const { dir, places, env } = await fourPolicies(t);
    const local = { ...env, MS_SIGN_TRUST: undefined };
    rmSync(places.xdg);
    symlinkSync(join(dir, 'nowhere.json'), places.xdg);
    const r = await verifyJson(dir, ['parallel.ms'], local);
    assert.equal(r.code, 2);
    assert.deepEqual(r.codes, ['BAD_TRUST_POLICY']);
    assert.equal(r.report.errors[0]!.path, places.xdg);
  });

  test('no policy anywhere and no -p: verify refuses to run (exit 2)', async (t) => {
    const dir = tempDir(t);
    const key = await makeKey(dir);
    copyFixture('parallel.ms', dir);
    await cliOk(dir, ['sign', 'parallel.ms', '-k', key.secret]);
    const r = await runCli(['verify', 'parallel.ms', '--json'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.deepEqual(errorCodes(r), ['NO_TRUST_ANCHOR']);
  });

  test('-p keys replace the policy and are reported as such; -p with -t is refused', async (t) => {
    const { dir, places, env } = await fourPolicies(t);
    const r = await verifyJson(dir, ['parallel.ms', '-p', 'key-xdg.pub'], env);
    assert.equal(r.code, 0);
    assert.deepEqual(applied(r), ['-p', '-p key-xdg.pub', ['key-xdg.pub']]);
    const both = await verifyJson(dir, ['parallel.ms', '-p', 'key-xdg.pub', '-t', places.t], env);
    assert.equal(both.code, 2);
    assert.deepEqual(both.codes, ['USAGE']);
  });

  test('an old signature stays valid after its key rotated out (the window is checked at signing time)', async (t) => {
    const dir = tempDir(t);
    copyFixture('parallel.ms', dir);
    const old = await makeKey(dir, 'old');
    await cliOk(dir, ['trust', 'init']);
    await cliOk(dir, ['trust', 'add', 'acme', '-p', old.public, '--not-after', '2026-01-01']);
    await signAt(dir, 'parallel.ms', old.secret, { now: Date.parse('2025-12-31T12:00:00Z') / 1000 });
    assert.equal((await verifyJson(dir, ['parallel.ms'])).code, 0);
  });
});

describe('policy and state files someone else could write are refused, as ssh refuses them', () => {
  /** A signed model, a policy trusting its key at `policy` (relative to dir), and a state file. */
  async function setup(t: { after: (fn: () => void) => void }) {
    const dir = tempDir(t);
    copyFixture('parallel.ms', dir);
    const key = await makeKey(dir);
    await cliOk(dir, ['sign', 'parallel.ms', '-k', key.secret]);
    mkdirSync(join(dir, 'conf'));
    await cliOk(dir, ['trust', 'init', '-t', 'conf/trust.json']);
    await cliOk(dir, ['trust', 'add', 'acme', '-p', key.public, '-t', 'conf/trust.json']);
    await cliOk(dir, ['verify', 'parallel.ms', '-t', 'conf/trust.json', '--state', 'conf/state.json']);
    return { dir, key };
  }

  const refusedWithFix = (r: Awaited<ReturnType<typeof verifyJson>>, fix: string) => {
    assert.equal(r.code, 2, r.result.stdout);
    assert.deepEqual(r.codes, ['INSECURE_POLICY_FILE']);
    assert.ok(r.report.errors[0]!.message.includes(`run: ${fix}`), r.report.errors[0]!.message);
  };

  test('a policy or state file writable by group or others: INSECURE_POLICY_FILE (exit 2) with the chmod to run', async (t) => {
    const { dir } = await setup(t);
    for (const [file, args] of [['conf/trust.json', []], ['conf/state.json', ['--state', 'conf/state.json']]] as const) {
      for (const mode of [0o664, 0o646]) {
        chmodSync(join(dir, file), mode);
        refusedWithFix(await verifyJson(dir, ['parallel.ms', '-t', 'conf/trust.json', ...args]), `chmod go-w ${join(dir, file)}`);
      }
      chmodSync(join(dir, file), 0o644);
    }
    // MS_SIGN_TRUST and the user's own policy are held to the same rule, and so are the trust edits.
    chmodSync(join(dir, 'conf', 'trust.json'), 0o666);
    refusedWithFix(await verifyJson(dir, ['parallel.ms'], { MS_SIGN_TRUST: join(dir, 'conf', 'trust.json') }), 'chmod go-w');
    const edit = await runCli(['trust', 'rule', '**', '--threshold', '1', '-t', 'conf/trust.json', '--json'], { cwd: dir });
    assert.deepEqual(errorCodes(edit), ['INSECURE_POLICY_FILE']);
    chmodSync(join(dir, 'conf', 'trust.json'), 0o644);
    assert.equal((await verifyJson(dir, ['parallel.ms', '-t', 'conf/trust.json', '--state', 'conf/state.json'])).code, 0);
  });

  test('a directory above them writable by group or others is refused too; a sticky one (/tmp) is not', async (t) => {
    const { dir } = await setup(t);
    chmodSync(join(dir, 'conf'), 0o775);
    refusedWithFix(await verifyJson(dir, ['parallel.ms', '-t', 'conf/trust.json']), `chmod go-w ${join(dir, 'conf')}`);
    // A state file not written yet: where it would be written must be safe as well.
    chmodSync(join(dir, 'conf'), 0o755);
    mkdirSync(join(dir, 'shared'), { mode: 0o777 });
    chmodSync(join(dir, 'shared'), 0o777);
    refusedWithFix(await verifyJson(dir, ['parallel.ms', '-t', 'conf/trust.json', '--state', 'shared/new-state.json']), `chmod go-w ${join(dir, 'shared')}`);
    chmodSync(join(dir, 'shared'), 0o1777);
    assert.equal((await verifyJson(dir, ['parallel.ms', '-t', 'conf/trust.json', '--state', 'shared/new-state.json'])).code, 0);
  });

  test('a policy or state file owned by another user than the caller or root: INSECURE_POLICY_FILE with the chown to run', async (t) => {
    if (process.getuid?.() !== 0) {
      t.skip('only root can give a file to another user');
      return;
    }
    const { dir } = await setup(t);
    for (const [file, args] of [['conf/trust.json', []], ['conf/state.json', ['--state', 'conf/state.json']]] as const) {
      chownSync(join(dir, file), 4242, 4242);
      refusedWithFix(await verifyJson(dir, ['parallel.ms', '-t', 'conf/trust.json', ...args]), `chown 0 ${join(dir, file)}`);
      chownSync(join(dir, file), 0, 0);
    }
    chownSync(join(dir, 'conf'), 4242, 4242);
    refusedWithFix(await verifyJson(dir, ['parallel.ms', '-t', 'conf/trust.json']), `chown 0 ${join(dir, 'conf')}`);
  });
});
