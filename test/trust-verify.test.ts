/**
 * What verify decides under a trust policy (docs/trust-policy.md, issue 3): for each way a signed model
 * can fail the policy, the CLI's exit code and the --json error code; and the cases that must pass.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { decodeEnvelope, encodeCanonical, encodeEnvelope, type CborValue, type EnvelopeSignature } from '@ms-sign/core';
import { copyFixture, makeKey, runCli, tempDir } from './helpers/index.js';
import { cliOk, DAY, nowSeconds, signAt, verifyJson } from './helpers/trust.js';

type Key = Awaited<ReturnType<typeof makeKey>>;

const fromHex = (hex: string) => new Uint8Array(Buffer.from(hex, 'hex'));

/** A policy made by `trust init` ($XDG_CONFIG_HOME/ms-sign/trust.json) and a copy of a real model to sign. */
async function setup(t: { after: (fn: () => void) => void }, publishers: readonly [string, number, ...string[]][] = [['acme', 1]]) {
  const dir = tempDir(t);
  copyFixture('parallel.ms', dir);
  await cliOk(dir, ['trust', 'init']);
  const keys: Record<string, Key[]> = {};
  for (const [name, count, ...flags] of publishers) {
    keys[name] = [];
    for (let i = 0; i < count; i++) {
      const key = await makeKey(dir, `${name}-${i}`);
      keys[name].push(key);
      await cliOk(dir, ['trust', 'add', name, '-p', key.public, ...flags]);
    }
  }
  const verify = (...args: string[]) => verifyJson(dir, ['parallel.ms', ...args]);
  return { dir, keys, verify };
}

function expectFailure(r: Awaited<ReturnType<typeof verifyJson>>, codes: string[]): void {
  assert.equal(r.code, 1, JSON.stringify(r.report.errors));
  assert.equal(r.report.ok, false);
  assert.deepEqual(r.codes, codes);
}

function expectSuccess(r: Awaited<ReturnType<typeof verifyJson>>): void {
  assert.equal(r.code, 0, JSON.stringify(r.report.errors));
  assert.equal(r.report.ok, true);
  assert.deepEqual(r.codes, []);
}

describe('signers the policy does not trust', () => {
  test('a signer not in the policy: UNTRUSTED_SIGNER', async (t) => {
    const { dir, verify } = await setup(t);
    const stranger = await makeKey(dir, 'stranger');
    await cliOk(dir, ['sign', 'parallel.ms', '-k', stranger.secret]);
    const r = await verify();
    expectFailure(r, ['UNTRUSTED_SIGNER']);
    assert.deepEqual(r.report.signers, [{ keyId: stranger.keyId, publisher: null, valid: false, error: r.report.signers[0]!.error }]);
    assert.equal(r.report.signers[0]!.error!.code, 'UNTRUSTED_SIGNER');
  });

  test('a revoked key: REVOKED_KEY, fatal even when a trusted co-signer meets the threshold', async (t) => {
    const { dir, keys, verify } = await setup(t, [['acme', 1], ['beta', 1]]);
    const [acme, beta] = [keys.acme![0]!, keys.beta![0]!];
    await cliOk(dir, ['sign', 'parallel.ms', '-k', acme.secret]);
    await cliOk(dir, ['sign', 'parallel.ms', '--append', '-k', beta.secret]);
    expectSuccess(await verify());
    await cliOk(dir, ['trust', 'revoke', beta.keyId]);
    expectFailure(await verify(), ['REVOKED_KEY']);
    await cliOk(dir, ['sign', 'parallel.ms', '-k', beta.secret, '--force']);
    expectFailure(await verify(), ['REVOKED_KEY']);
  });

  test('a key revoked but no longer listed for any publisher is still refused', async (t) => {
    const { dir, keys, verify } = await setup(t);
    const acme = keys.acme![0]!;
    await cliOk(dir, ['sign', 'parallel.ms', '-k', acme.secret]);
    await cliOk(dir, ['trust', 'revoke', acme.keyId]);
    await cliOk(dir, ['trust', 'remove', 'acme']);
    expectFailure(await verify(), ['REVOKED_KEY']);
  });

  test('a key used outside its validity window: KEY_NOT_VALID; inside it: verified', async (t) => {
    const { dir, verify } = await setup(t, []);
    const key = await makeKey(dir, 'rotating');
    await cliOk(dir, ['trust', 'add', 'acme', '-p', key.public, '--not-before', '2026-01-01', '--not-after', '2026-07-01']);
    const at = (iso: string) => Date.parse(iso) / 1000;
    await signAt(dir, 'parallel.ms', key.secret, { now: at('2025-12-31T23:59:59Z') });
    expectFailure(await verify(), ['KEY_NOT_VALID']);
    await signAt(dir, 'parallel.ms', key.secret, { now: at('2026-07-01T00:00:01Z') });
    expectFailure(await verify(), ['KEY_NOT_VALID']);
    await signAt(dir, 'parallel.ms', key.secret, { now: at('2026-03-01T00:00:00Z') });
    expectSuccess(await verify());
    // A key not yet valid today.
    await cliOk(dir, ['trust', 'add', 'acme', '-p', key.public, '--not-before', '2099-01-01', '--not-after', '2100-01-01']);
    await cliOk(dir, ['sign', 'parallel.ms', '-k', key.secret]);
    expectFailure(await verify(), ['KEY_NOT_VALID']);
  });

  test("a model name outside the publisher's globs: OUT_OF_SCOPE", async (t) => {
    const { dir, keys, verify } = await setup(t, [['acme', 1, '--models', 'acme/*', '--models', 'shared/**']]);
    const acme = keys.acme![0]!;
    for (const name of ['beta/detector', 'acme/nested/detector', 'acme', 'parallel.ms']) {
      await cliOk(dir, ['sign', 'parallel.ms', '-k', acme.secret, '--name', name]);
      expectFailure(await verify(), ['OUT_OF_SCOPE']);
    }
    for (const name of ['acme/detector', 'shared/a/b/c']) {
      await cliOk(dir, ['sign', 'parallel.ms', '-k', acme.secret, '--name', name]);
      expectSuccess(await verify());
    }
  });
});

describe('thresholds count distinct publishers', () => {
  const twoPublishers = [['acme', 2], ['beta', 1]] as [string, number][];

  test('threshold 2: met by two publishers (co-signed with --append), not by one', async (t) => {
    const { dir, keys, verify } = await setup(t, twoPublishers);
    await cliOk(dir, ['trust', 'rule', '**', '--threshold', '2']);
    await cliOk(dir, ['sign', 'parallel.ms', '-k', keys.acme![0]!.secret]);
    const one = await verify();
    expectFailure(one, ['THRESHOLD_NOT_MET']);
    assert.equal(one.report.policy.rule!.threshold, 2);
    await cliOk(dir, ['sign', 'parallel.ms', '--append', '-k', keys.beta![0]!.secret]);
    const two = await verify();
    expectSuccess(two);
    assert.deepEqual(two.report.signers.map((s) => [s.publisher, s.valid]), [['acme', true], ['beta', true]]);
  });

  test('threshold 2: not met by two keys of the same publisher', async (t) => {
    const { dir, keys, verify } = await setup(t, twoPublishers);
    await cliOk(dir, ['trust', 'rule', '**', '--threshold', '2']);
    await signAt(dir, 'parallel.ms', [keys.acme![0]!.secret, keys.acme![1]!.secret]);
    const r = await verify();
    expectFailure(r, ['THRESHOLD_NOT_MET']);
    assert.deepEqual(r.report.signers.map((s) => [s.publisher, s.valid]), [['acme', true], ['acme', true]]);
  });

  /** Threshold 2, and parallel.ms signed by acme's first key alone: the signature file to tamper with. */
  async function signedByOneOfTwo(t: { after: (fn: () => void) => void }) {
    const ctx = await setup(t, twoPublishers);
    await cliOk(ctx.dir, ['trust', 'rule', '**', '--threshold', '2']);
    await cliOk(ctx.dir, ['sign', 'parallel.ms', '-k', ctx.keys.acme![0]!.secret]);
    const sig = join(ctx.dir, 'parallel.ms.sig');
    return { ...ctx, sig, envelope: decodeEnvelope(readFileSync(sig)) };
  }

  test('threshold 2: not met by one key signing twice', async (t) => {
    const { sig, envelope, verify } = await signedByOneOfTwo(t);
    // Ed25519 is deterministic: the same key signing the same payload twice gives the same entry.
    writeFileSync(sig, encodeEnvelope({ ...envelope, signatures: [envelope.signatures[0]!, envelope.signatures[0]!] }));
    const r = await verify();
    expectFailure(r, ['THRESHOLD_NOT_MET']);
    assert.deepEqual(r.report.signers.map((s) => [s.publisher, s.valid]), [['acme', true], ['acme', true]]);
  });

  test('threshold 2: not met by one key appearing under two key ids', async (t) => {
    const { sig, envelope, keys, verify } = await signedByOneOfTwo(t);
    const acmeSignature = envelope.signatures[0]!;
    const under = (keyId: string): EnvelopeSignature => ({ keyId: fromHex(keyId), signature: acmeSignature.signature });
    // acme's signature again, claiming to be beta's: checked with beta's key, it fails.
    writeFileSync(sig, encodeEnvelope({ ...envelope, signatures: [acmeSignature, under(keys.beta![0]!.keyId)] }));
    expectFailure(await verify(), ['BAD_SIGNATURE', 'THRESHOLD_NOT_MET']);
    // ... claiming an id no policy key has: untrusted.
    writeFileSync(sig, encodeEnvelope({ ...envelope, signatures: [acmeSignature, under('00'.repeat(16))] }));
    expectFailure(await verify(), ['UNTRUSTED_SIGNER', 'THRESHOLD_NOT_MET']);
    // ... claiming acme's other key: that key does not verify it either.
    writeFileSync(sig, encodeEnvelope({ ...envelope, signatures: [acmeSignature, under(keys.acme![1]!.keyId)] }));
    expectFailure(await verify(), ['BAD_SIGNATURE', 'THRESHOLD_NOT_MET']);
  });

  test('every matching rule applies, the strictest setting wins, whatever their order', async (t) => {
    const { dir, keys, verify } = await setup(t, twoPublishers);
    await cliOk(dir, ['trust', 'rule', 'acme/**', '--threshold', '2']);
    await cliOk(dir, ['trust', 'rule', '**', '--max-age', '30d']);
    await cliOk(dir, ['trust', 'rule', 'other/**', '--threshold', '3']);
    await signAt(dir, 'parallel.ms', keys.acme![0]!.secret, { name: 'acme/detector' });
    const r = await verify();
    expectFailure(r, ['THRESHOLD_NOT_MET']);
    assert.deepEqual(r.report.policy.rule, { models: ['acme/**', '**'], threshold: 2, maxAge: '30d', requireExpiry: false });
    await signAt(dir, 'parallel.ms', keys.acme![0]!.secret, { name: 'beta/detector' });
    expectSuccess(await verify());
  });

  test('an untrusted extra co-signer does not fail a model whose threshold is met', async (t) => {
    const { dir, keys, verify } = await setup(t);
    const stranger = await makeKey(dir, 'stranger');
    await signAt(dir, 'parallel.ms', [stranger.secret, keys.acme![0]!.secret]);
    const r = await verify();
    expectSuccess(r);
    assert.deepEqual(r.report.signers.map((s) => [s.keyId, s.valid]), [[stranger.keyId, false], [keys.acme![0]!.keyId, true]]);
  });
});

describe('expiry and age', () => {
  test('an expired manifest: EXPIRED; --expires in the future: verified', async (t) => {
    const { dir, keys, verify } = await setup(t);
    const now = nowSeconds();
    await signAt(dir, 'parallel.ms', keys.acme![0]!.secret, { now: now - 2 * DAY, expires: now - DAY });
    expectFailure(await verify(), ['EXPIRED']);
    await cliOk(dir, ['sign', 'parallel.ms', '-k', keys.acme![0]!.secret, '--expires', '1d']);
    const r = await verify();
    expectSuccess(r);
    const report = r.result.json<{ created: string; expires: string }>();
    assert.equal(Date.parse(report.expires) - Date.parse(report.created), DAY * 1000);
  });

  test('older than the max-age rule: TOO_OLD; younger: verified', async (t) => {
    const { dir, keys, verify } = await setup(t);
    await cliOk(dir, ['trust', 'rule', '**', '--max-age', '30d']);
    const now = nowSeconds();
    await signAt(dir, 'parallel.ms', keys.acme![0]!.secret, { now: now - 31 * DAY });
    expectFailure(await verify(), ['TOO_OLD']);
    await signAt(dir, 'parallel.ms', keys.acme![0]!.secret, { now: now - 29 * DAY });
    expectSuccess(await verify());
  });

  test('a rule requiring an expiry: EXPIRY_REQUIRED without one', async (t) => {
    const { dir, keys, verify } = await setup(t);
    await cliOk(dir, ['trust', 'rule', '**', '--require-expiry']);
    await cliOk(dir, ['sign', 'parallel.ms', '-k', keys.acme![0]!.secret]);
    expectFailure(await verify(), ['EXPIRY_REQUIRED']);
    await cliOk(dir, ['sign', 'parallel.ms', '-k', keys.acme![0]!.secret, '--expires', '2099-01-01']);
    expectSuccess(await verify());
  });

  test('a creation time in the future: NOT_YET_VALID (it must not stretch a key window)', async (t) => {
    const { dir, keys, verify } = await setup(t);
    await signAt(dir, 'parallel.ms', keys.acme![0]!.secret, { now: nowSeconds() + DAY });
    expectFailure(await verify(), ['NOT_YET_VALID']);
  });
});

describe('keys embedded in or hinted by a signature file are never trusted', () => {
  test("a signer's own public key in the annotations changes nothing", async (t) => {
    const { dir, verify } = await setup(t);
    const attacker = await makeKey(dir, 'attacker');
    const body = readFileSync(attacker.public, 'utf8').split('\n')[1]!;
    await cliOk(dir, ['sign', 'parallel.ms', '-k', attacker.secret, '-a', `publicKey=${body}`, '-a', `keyId=${attacker.keyId}`]);
    expectFailure(await verify(), ['UNTRUSTED_SIGNER']);
  });

  test("a signature claiming a trusted key's id, made with another key: BAD_SIGNATURE", async (t) => {
    const { dir, keys, verify } = await setup(t);
    const attacker = await makeKey(dir, 'attacker');
    await cliOk(dir, ['sign', 'parallel.ms', '-k', attacker.secret]);
    const sig = join(dir, 'parallel.ms.sig');
    const envelope = decodeEnvelope(readFileSync(sig));
    writeFileSync(sig, encodeEnvelope({ ...envelope, signatures: [{ keyId: fromHex(keys.acme![0]!.keyId), signature: envelope.signatures[0]!.signature }] }));
    const r = await verify();
    expectFailure(r, ['BAD_SIGNATURE']);
    // The payload was never decoded: nothing from it is reported.
    assert.deepEqual(r.report.subject, { name: null, version: null });
    // With -p the same holds: the key given is the only key.
    const p = await verifyJson(dir, ['parallel.ms', '-p', keys.acme![0]!.public]);
    expectFailure(p, ['BAD_SIGNATURE']);
  });

  test('a public key field added to the signature file is refused as malformed', async (t) => {
    const { dir, verify } = await setup(t);
    const attacker = await makeKey(dir, 'attacker');
    await cliOk(dir, ['sign', 'parallel.ms', '-k', attacker.secret]);
    const sig = join(dir, 'parallel.ms.sig');
    const envelope = decodeEnvelope(readFileSync(sig));
    const publicKey = new Uint8Array(Buffer.from(readFileSync(attacker.public, 'utf8').split('\n')[1]!, 'base64'));
    const entry = (withKey: boolean) =>
      new Map<string, CborValue>([
        ['keyid', envelope.signatures[0]!.keyId],
        ...(withKey ? [['publicKey', publicKey] as [string, CborValue]] : []),
        ['sig', envelope.signatures[0]!.signature],
      ]);
    const file = (top: boolean) =>
      encodeCanonical(
        new Map<string, CborValue>([
          ['payload', envelope.payload],
          ['payloadType', envelope.payloadType],
          ...(top ? [['publicKey', publicKey] as [string, CborValue]] : []),
          ['signatures', [entry(!top)]],
        ]),
      );
    for (const top of [true, false]) {
      writeFileSync(sig, file(top));
      expectFailure(await verify(), ['MALFORMED_SIGNATURE_FILE']);
    }
  });

  test('verify with an empty policy trusts nobody', async (t) => {
    const { dir, verify } = await setup(t, []);
    const key = await makeKey(dir, 'anyone');
    await cliOk(dir, ['sign', 'parallel.ms', '-k', key.secret]);
    expectFailure(await verify(), ['UNTRUSTED_SIGNER']);
  });
});

describe('sign --append (co-signing)', () => {
  test('refuses a model that changed since it was signed, and a key that already signed', async (t) => {
    const { dir, keys } = await setup(t, [['acme', 1], ['beta', 1]]);
    await cliOk(dir, ['sign', 'parallel.ms', '-k', keys.acme![0]!.secret]);
    const sig = readFileSync(join(dir, 'parallel.ms.sig'));
    const again = await runCli(['sign', 'parallel.ms', '--append', '-k', keys.acme![0]!.secret, '--json'], { cwd: dir });
    assert.equal(again.code, 2);
    const bytes = readFileSync(join(dir, 'parallel.ms'));
    bytes[10] = bytes[10]! ^ 1;
    writeFileSync(join(dir, 'parallel.ms'), bytes);
    const changed = await runCli(['sign', 'parallel.ms', '--append', '-k', keys.beta![0]!.secret, '--json'], { cwd: dir });
    assert.equal(changed.code, 1);
    assert.deepEqual(readFileSync(join(dir, 'parallel.ms.sig')), sig, 'a refused co-signature leaves the file as it was');
  });
});

describe('plain sign over a co-signed file', () => {
  test('refuses to drop other publishers\' signatures without --force, naming them', async (t) => {
    const { dir, keys } = await setup(t, [['acme', 1], ['beta', 1]]);
    const [acme, beta] = [keys.acme![0]!, keys.beta![0]!];
    await cliOk(dir, ['sign', 'parallel.ms', '-k', acme.secret]);
    // Re-signing a file only this key signed replaces it, as before.
    await cliOk(dir, ['sign', 'parallel.ms', '-k', acme.secret]);
    await cliOk(dir, ['sign', 'parallel.ms', '--append', '-k', beta.secret]);
    const sig = readFileSync(join(dir, 'parallel.ms.sig'));
    const refused = await runCli(['sign', 'parallel.ms', '-k', acme.secret, '--json'], { cwd: dir });
    assert.equal(refused.code, 2, refused.stdout);
    const [error] = refused.json<{ errors: { code: string; message: string }[] }>().errors;
    assert.equal(error!.code, 'WOULD_DROP_SIGNATURES');
    assert.ok(error!.message.includes(beta.keyId) && !error!.message.includes(acme.keyId), error!.message);
    assert.deepEqual(readFileSync(join(dir, 'parallel.ms.sig')), sig, 'the co-signed file is left as it was');
    await cliOk(dir, ['sign', 'parallel.ms', '-k', acme.secret, '--force']);
    assert.equal(decodeEnvelope(readFileSync(join(dir, 'parallel.ms.sig'))).signatures.length, 1);
  });
});
