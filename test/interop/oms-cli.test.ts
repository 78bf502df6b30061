/**
 * The CLI end to end on OMS / model_signing bundles: every corpus case with the inputs upstream
 * uses (exit 0), mutations (exit 1 and their codes), trust policies holding OMS anchors, inspect,
 * and export with keygen --algorithm ecdsa-p256 and sign --format oms.
 */
import assert from 'node:assert/strict';
import { appendFileSync, chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createPublicKey } from 'node:crypto';
import { errorCodes, runCli, tempDir } from '../helpers/index.js';
import { makeToken, pkcs11Tool } from '../helpers/softhsm.js';
import { CASES, caPath, copyCase, corpusDir, IDENTITY, ISSUER, publicKeyPath, trustedRootPath, type CorpusCase } from './corpus.js';

/** The trust flags for a corpus case, as the corpus README names them. */
function trustArgs(c: CorpusCase): string[] {
  if (c.mode === 'elliptic-key') return ['-p', publicKeyPath];
  if (c.mode === 'certificate') return ['--cert-root', caPath];
  return ['--trusted-root', trustedRootPath, '--sigstore-identity', IDENTITY, '--sigstore-issuer', ISSUER];
}

function verifyArgs(c: CorpusCase, dir = join(corpusDir, c.name)): string[] {
  const model = c.model === '.' ? dir : join(dir, c.model);
  return ['verify', model, '-s', join(dir, 'model.sig'), ...trustArgs(c), ...c.ignore.flatMap((p) => ['--ignore', p]), '--json'];
}

describe('ms-sign verify on every corpus folder', () => {
  for (const c of CASES) {
    test(`${c.name}: exit 0, the flavour and the signer reported`, async (t) => {
      const r = await runCli(verifyArgs(c), { cwd: tempDir(t) });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const report = r.json<{ oms: { flavour: string; mode: string }; signers: { keyId: string | null; certificate?: object; sigstore?: { identity: string; issuer: string } }[] }>();
      assert.equal(report.oms.mode, c.mode === 'elliptic-key' ? 'key' : c.mode);
      const signer = report.signers[0]!;
      if (c.mode === 'elliptic-key') assert.equal(signer.keyId, 'e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e');
      if (c.mode === 'certificate') assert.deepEqual(signer.certificate, { subject: 'CN=intermediate-ca', issuer: 'CN=intermediate-ca' });
      if (c.mode === 'sigstore') assert.deepEqual(signer.sigstore, { identity: IDENTITY, issuer: ISSUER });
    });
  }
});

describe('mutated inputs: exit 1 with a stable code', () => {
  const key = CASES.find((c) => c.name === 'v1.1.0-elliptic-key')!;
  const sigstore = CASES.find((c) => c.name === 'v1.1.0-sigstore')!;
  test('a byte appended', async (t) => {
    const dir = copyCase(key.name, tempDir(t));
    chmodSync(join(dir, 'signme-2'), 0o644);
    appendFileSync(join(dir, 'signme-2'), 'x');
    const r = await runCli(verifyArgs(key, dir), { cwd: dir });
    assert.equal(r.code, 1);
    assert.deepEqual(errorCodes(r), ['DIGEST_MISMATCH']);
  });
  test('an extra file', async (t) => {
    const dir = copyCase(key.name, tempDir(t));
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, 'extra'), 'x');
    const r = await runCli(verifyArgs(key, dir), { cwd: dir });
    assert.equal(r.code, 1);
    assert.deepEqual(errorCodes(r), ['UNSIGNED_FILE']);
  });
  test('a missing --ignore for a bundle that does not record it', async (t) => {
    const c = CASES.find((c) => c.name === 'v1.0.1-certificate')!;
    const r = await runCli(verifyArgs({ ...c, ignore: [] }), { cwd: tempDir(t) });
    assert.equal(r.code, 1);
    assert.deepEqual(errorCodes(r), ['UNSIGNED_FILE']);
  });
  test('a wrong key, a wrong root', async (t) => {
    const dir = tempDir(t);
    assert.equal((await runCli(['keygen', '--algorithm', 'ecdsa-p256', '-o', 'other', '--no-passphrase'], { cwd: dir })).code, 0);
    const wrongKey = await runCli(['verify', join(corpusDir, key.name), '-s', join(corpusDir, key.name, 'model.sig'), '-p', join(dir, 'other.pub'), '--json'], { cwd: dir });
    assert.equal(wrongKey.code, 1);
    assert.deepEqual(errorCodes(wrongKey), ['UNTRUSTED_SIGNER']);
    const cert = CASES.find((c) => c.name === 'v1.1.0-certificate')!;
    // The corpus intermediate as the only root: not the root the chain ends in.
    const wrongRoot = await runCli(['verify', join(corpusDir, cert.name), '-s', join(corpusDir, cert.name, 'model.sig'), '--cert-root', join(corpusDir, 'keys/certificate/int-ca-cert.pem'), '--json'], { cwd: dir });
    assert.equal(wrongRoot.code, 0, 'an intermediate given as root is an anchor like any other (OpenSSL partial chains are not used, but the user chose it)');
  });
  test('a substring identity and a wrong issuer', async (t) => {
    for (const [identity, issuer] of [['b@us.ibm.com', ISSUER], [IDENTITY, 'https://accounts.google.com']] as const) {
      const args = ['verify', join(corpusDir, sigstore.name), '-s', join(corpusDir, sigstore.name, 'model.sig'), '--trusted-root', trustedRootPath, '--sigstore-identity', identity, '--sigstore-issuer', issuer, '--json'];
      const r = await runCli(args, { cwd: tempDir(t) });
      assert.equal(r.code, 1);
      assert.deepEqual(errorCodes(r), ['UNTRUSTED_SIGNER']);
    }
  });
  test('an OMS bundle and no trust anchor for its mode: exit 1, and no anchor at all: exit 2', async (t) => {
    const r = await runCli(['verify', join(corpusDir, sigstore.name), '-s', join(corpusDir, sigstore.name, 'model.sig'), '-p', publicKeyPath, '--json'], { cwd: tempDir(t) });
    assert.equal(r.code, 1);
    assert.deepEqual(errorCodes(r), ['UNTRUSTED_SIGNER']);
    const none = await runCli(['verify', join(corpusDir, sigstore.name), '-s', join(corpusDir, sigstore.name, 'model.sig')], { cwd: tempDir(t) });
    assert.equal(none.code, 2);
  });
  test('--ignore outside the model is a usage error', async (t) => {
    const r = await runCli([...verifyArgs(key).slice(0, -1), '--ignore', '../x'], { cwd: tempDir(t) });
    assert.equal(r.code, 2);
  });
});

describe('a trust policy holding OMS anchors', () => {
  test('trust add -p EC key, --cert-root, --sigstore-identity: every mode verifies under -t; revoking the key refuses it', async (t) => {
    const dir = tempDir(t);
    const run = (...argv: string[]) => runCli(argv, { cwd: dir });
    assert.equal((await run('trust', 'init', '-t', 'p.json')).code, 0);
    assert.equal((await run('trust', 'add', 'ibm', '-t', 'p.json', '-p', publicKeyPath, '--models', 'v1.*')).code, 0);
    assert.equal((await run('trust', 'add', 'ibm', '-t', 'p.json', '--cert-root', caPath)).code, 0);
    assert.equal((await run('trust', 'add', 'ibm', '-t', 'p.json', '--sigstore-identity', IDENTITY, '--sigstore-issuer', ISSUER)).code, 0);
    // One anchor, one publisher.
    assert.equal((await run('trust', 'add', 'other', '-t', 'p.json', '--cert-root', caPath)).code, 2);
    for (const name of ['v1.1.0-elliptic-key', 'v1.1.0-certificate', 'v1.1.0-sigstore']) {
      const r = await run('verify', join(corpusDir, name), '-s', join(corpusDir, name, 'model.sig'), '-t', 'p.json', '--trusted-root', trustedRootPath, '--json');
      assert.equal(r.code, 0, `${name}: ${r.stdout}`);
      assert.equal(r.json<{ signers: { publisher: string }[] }>().signers[0]!.publisher, 'ibm');
    }
    // Scope: the publisher may sign models named v1.*; v0.2.0's statement names no model.
    const outOfScope = await run('verify', join(corpusDir, 'v0.2.0-certificate'), '-s', join(corpusDir, 'v0.2.0-certificate', 'model.sig'), '-t', 'p.json', '--json');
    assert.equal(outOfScope.code, 1);
    assert.deepEqual(errorCodes(outOfScope), ['OUT_OF_SCOPE']);
    // A maximum age needs a proven signing time: key bundles carry none; Sigstore bundles do (and are old).
    assert.equal((await run('trust', 'rule', '**', '-t', 'p.json', '--max-age', '3650d')).code, 0);
    const noTime = await run('verify', join(corpusDir, 'v1.1.0-elliptic-key'), '-s', join(corpusDir, 'v1.1.0-elliptic-key', 'model.sig'), '-t', 'p.json', '--json');
    assert.deepEqual(errorCodes(noTime), ['TOO_OLD']);
    const proven = await run('verify', join(corpusDir, 'v1.1.0-sigstore'), '-s', join(corpusDir, 'v1.1.0-sigstore', 'model.sig'), '-t', 'p.json', '--trusted-root', trustedRootPath, '--json');
    assert.equal(proven.code, 0, proven.stdout);
    assert.equal((await run('trust', 'rule', '**', '-t', 'p.json', '--remove')).code, 0);
    // Rollback protection orders bundles by proven signing time: key bundles have none.
    const keyState = await run('verify', join(corpusDir, 'v1.1.0-elliptic-key'), '-s', join(corpusDir, 'v1.1.0-elliptic-key', 'model.sig'), '-t', 'p.json', '--state', 's.json', '--json');
    assert.deepEqual(errorCodes(keyState), ['ROLLBACK']);
    const newer = await run('verify', join(corpusDir, 'v1.1.0-sigstore'), '-s', join(corpusDir, 'v1.1.0-sigstore', 'model.sig'), '-t', 'p.json', '--trusted-root', trustedRootPath, '--name', 'v1.1.0-sigstore', '--state', 's.json', '--json');
    assert.equal(newer.code, 0, newer.stdout);
    assert.deepEqual(newer.json<{ rollback: object }>().rollback, { recorded: true });
    assert.equal((await run('trust', 'revoke', 'e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e', '-t', 'p.json')).code, 0);
    const revoked = await run('verify', join(corpusDir, 'v1.1.0-elliptic-key'), '-s', join(corpusDir, 'v1.1.0-elliptic-key', 'model.sig'), '-t', 'p.json', '--json');
    assert.equal(revoked.code, 1);
    assert.ok(errorCodes(revoked).includes('REVOKED_KEY'));
  });
});

describe('inspect and export', () => {
  test('inspect shows the statement, resources and the claimed signer', async (t) => {
    const r = await runCli(['inspect', join(corpusDir, 'v1.1.0-sigstore', 'model.sig'), '--json'], { cwd: tempDir(t) });
    assert.equal(r.code, 0, r.stderr);
    const view = r.json<{ format: string; flavour: string; mode: string; resources: { name: string }[]; signers: { sigstore: object }[]; ignore: string[] }>();
    assert.deepEqual([view.format, view.flavour, view.mode], ['oms', 'model_signing-1.1', 'sigstore']);
    assert.deepEqual(view.resources.map((x) => x.name), ['signme-1', 'signme-2']);
    assert.deepEqual(view.signers[0]!.sigstore, { identity: IDENTITY, issuer: ISSUER });
    assert.ok(view.ignore.includes('ignore-me'));
    const human = await runCli(['inspect', join(corpusDir, 'v0.2.0-certificate', 'model.sig')], { cwd: tempDir(t) });
    assert.equal(human.code, 0);
    assert.match(human.stdout, /model_signing-0\.2, certificate mode/);
  });
  test('keygen --algorithm ecdsa-p256, sign --format oms (bundle inside the model), verify -p, and a single file as "."', async (t) => {
    const dir = tempDir(t);
    const run = (...argv: string[]) => runCli(argv, { cwd: dir });
    const kg = await run('keygen', '--algorithm', 'ecdsa-p256', '-o', 'ec', '--no-passphrase', '--json');
    assert.equal(kg.code, 0);
    const keyId = kg.json<{ keyId: string }>().keyId;
    mkdirSync(join(dir, 'm', 'sub'), { recursive: true });
    writeFileSync(join(dir, 'm', 'sub', 'a.bin'), 'a');
    writeFileSync(join(dir, 'm', 'weights.bin'), 'weights');
    for (const [model, sig] of [['m', 'm/model.sig'], ['m/weights.bin', 'weights.bin.sig']] as const) {
      const signed = await run('sign', model, '--format', 'oms', '-k', 'ec.key', '-o', sig, '--json');
      assert.equal(signed.code, 0, signed.stderr);
      assert.equal(signed.json<{ keyId: string }>().keyId, keyId);
    }
    // The bundle inside the model is recorded as ignored (model_signing's default place for it).
    const r = await run('verify', 'm', '-s', 'm/model.sig', '-p', 'ec.pub', '--json');
    assert.equal(r.code, 0, r.stdout);
    const single = await run('verify', 'm/weights.bin', '-s', 'weights.bin.sig', '-p', 'ec.pub', '--json');
    assert.equal(single.code, 0, single.stdout);
    const ed = await run('keygen', '-o', 'ed', '--no-passphrase');
    assert.equal(ed.code, 0);
    const refused = await run('sign', 'm/weights.bin', '--format', 'oms', '-k', 'ed.key', '-o', 'x.sig', '--json');
    assert.equal(refused.code, 2);
    assert.deepEqual(errorCodes(refused), ['BAD_KEY']);
  });
  test('sign --format oms with a P-256 key on a PKCS#11 token (SoftHSM2): the bundle verifies under the token key', async (t) => {
    const dir = tempDir(t);
    const token = makeToken(t);
    // The module reads SOFTHSM2_CONF from the real process environment when it initialises.
    process.env.SOFTHSM2_CONF = token.conf;
    const env = { MS_SIGN_PKCS11_MODULE: token.module, MS_SIGN_PKCS11_PIN: token.pin, SOFTHSM2_CONF: token.conf };
    pkcs11Tool(token, ['--keypairgen', '--key-type', 'EC:prime256v1', '--label', 'oms-key', '--id', '42', '--usage-sign']);
    const der = pkcs11Tool(token, ['--read-object', '--type', 'pubkey', '--label', 'oms-key']);
    writeFileSync(join(dir, 'token.pub'), createPublicKey({ key: der, format: 'der', type: 'spki' }).export({ format: 'pem', type: 'spki' }));
    writeFileSync(join(dir, 'weights.bin'), 'weights');
    const signed = await runCli(['sign', 'weights.bin', '--format', 'oms', '--pkcs11', 'pkcs11:token=release;object=oms-key', '--json'], { cwd: dir, env });
    assert.equal(signed.code, 0, signed.stdout + signed.stderr);
    const r = await runCli(['verify', 'weights.bin', '-p', 'token.pub', '--json'], { cwd: dir });
    assert.equal(r.code, 0, r.stdout);
  });
});
