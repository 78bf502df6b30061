/**
 * The attackers of docs/threat-model.md, end to end, each as an operator meets them: a policy
 * made with the trust commands, a model signed and served, `verify` run as a loader would run it.
 * The policy rules themselves are tested in depth by the trust-policy tests; here each test is
 * one attack and what stops it, including where a defence needs the operator's help.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
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
