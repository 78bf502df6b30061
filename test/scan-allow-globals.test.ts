/**
 * `scanAllowGlobals`: a trust-policy rule (or scan/sign --allow-global) adds exact pickle globals
 * to the allow-list. A harmless global the default list lacks makes a pickle unsafe by default and
 * clean once allowed; hard-denied entries are refused (BAD_TRUST_POLICY in a policy, USAGE on the
 * command line), and several matching rules add only what they all list.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { applyScanPolicy, BufferSource, hardDenyReason, parseTrustPolicy, PICKLE_ALLOWLISTS, scanFile, type RuleDocument } from '@ms-sign/core';
import { thrownCode } from './helpers/codes.js';
import { errorCodes, makeKey, runCli, tempDir, writeFile, type CliResult } from './helpers/index.js';

/** `datetime.timedelta(1, 2, 3)` as protocol 2 writes it: GLOBAL, three ints, TUPLE3, REDUCE. */
const TIMEDELTA_PICKLE = Uint8Array.from([
  0x80, 0x02, ...Buffer.from('cdatetime\ntimedelta\n', 'latin1'), 0x4b, 1, 0x4b, 2, 0x4b, 3, 0x87, 0x52, 0x2e,
]);
const GLOBAL = 'datetime:timedelta';

const policyWith = (rules: RuleDocument[]) => parseTrustPolicy(JSON.stringify({ version: 1, publishers: [], revoked: [], rules }), 'trust.json');
const ok = (r: CliResult) => assert.equal(r.code, 0, r.stderr + r.stdout.slice(0, 600));

test('the test global is harmless and on no default allow-list, so the pickle is unsafe until allowed', () => {
  assert.equal(hardDenyReason(GLOBAL), undefined);
  for (const profile of Object.values(PICKLE_ALLOWLISTS) as ReadonlyMap<string, unknown>[]) assert.equal(profile.has(GLOBAL), false);
  const plain = scanFile(new BufferSource(TIMEDELTA_PICKLE), 'delta.pkl');
  assert.equal(plain.verdict, 'unsafe', JSON.stringify(plain.findings));
  const allowed = scanFile(new BufferSource(TIMEDELTA_PICKLE), 'delta.pkl', { allowGlobals: new Set([GLOBAL]) });
  assert.equal(allowed.verdict, 'clean', JSON.stringify(allowed.findings));
});

test('scanAllowGlobals in a rule: parsed; hard-denied or malformed entries are BAD_TRUST_POLICY at their JSON pointer', () => {
  const { policy } = policyWith([{ models: 'acme/**', scanAllowGlobals: [GLOBAL, 'builtins:set'] }]);
  assert.deepEqual([...policy.rules[0]!.scanAllowGlobals!], [GLOBAL, 'builtins:set']);
  for (const bad of ['os:system', 'builtins:eval', 'subprocess.Popen:x', 'collections:OrderedDict.__class__']) {
    let caught: unknown;
    try {
      policyWith([{ models: 'a' }, { models: 'b', scanAllowGlobals: [GLOBAL, bad] }]);
    } catch (error) {
      caught = error;
    }
    const e = caught as { code?: string; message?: string };
    assert.equal(e.code, 'BAD_TRUST_POLICY', bad);
    assert.match(e.message ?? '', /\/rules\/1\/scanAllowGlobals\/1/, bad);
  }
  assert.equal(thrownCode(() => policyWith([{ models: '**', scanAllowGlobals: ['no-colon'] }])), 'BAD_TRUST_POLICY');
  assert.equal(thrownCode(() => policyWith([{ models: '**', scanAllowGlobals: Array.from({ length: 257 }, (_, i) => `m:n${i}`) }])), 'BAD_TRUST_POLICY');
});

test('matching rules add only the globals every one of them lists', () => {
  const { policy } = policyWith([
    { models: '**', scanAllowGlobals: [GLOBAL, 'builtins:set'] },
    { models: 'acme/**', scanAllowGlobals: [GLOBAL] },
    { models: 'acme/strict', threshold: 1 },
  ]);
  assert.deepEqual([...applyScanPolicy(policy.rules, 'other').allowGlobals], [GLOBAL, 'builtins:set']);
  assert.deepEqual([...applyScanPolicy(policy.rules, 'acme/x').allowGlobals], [GLOBAL]);
  assert.deepEqual([...applyScanPolicy(policy.rules, 'acme/strict').allowGlobals], [], 'a matching rule without the field allows none');
  assert.deepEqual([...applyScanPolicy([], 'x').allowGlobals], []);
});

test('scan and sign --allow-global: the pickle passes; a hard-denied entry is USAGE (exit 2) with the reason', async (t) => {
  const dir = tempDir(t);
  writeFile(join(dir, 'm', 'delta.pkl'), TIMEDELTA_PICKLE);
  const cli = (args: string[]) => runCli(args, { cwd: dir });
  const unsafe = await cli(['scan', 'm', '--json']);
  assert.equal(unsafe.code, 1);
  assert.ok(errorCodes(unsafe).includes('SCAN_UNSAFE'));
  ok(await cli(['scan', 'm', '--allow-global', GLOBAL]));
  for (const bad of ['os:system', 'builtins:eval']) {
    const refused = await cli(['scan', 'm', '--allow-global', GLOBAL, '--allow-global', bad]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /USAGE/);
    assert.match(refused.stderr, bad === 'os:system' ? /names module os, which can never be allowed/ : /builtins:eval can never be allowed/);
  }
  const key = await makeKey(dir);
  assert.equal((await cli(['sign', 'm', '-k', key.secret])).code, 1, 'sign scans with the default allow-list');
  assert.equal((await cli(['sign', 'm', '-k', key.secret, '--allow-global', 'os:system'])).code, 2);
  ok(await cli(['sign', 'm', '-k', key.secret, '--allow-global', GLOBAL]));
});

test('trust rule --allow-global flows into verify; trust list shows it; a hard-denied one is refused', async (t) => {
  const dir = tempDir(t);
  const key = await makeKey(dir);
  const cli = (args: string[]) => runCli(args, { cwd: dir });
  writeFile(join(dir, 'm', 'delta.pkl'), TIMEDELTA_PICKLE);
  ok(await cli(['sign', 'm', '-k', key.secret, '--allow-global', GLOBAL]));
  const trust = join(dir, 'trust.json');
  ok(await cli(['trust', 'init', '-t', trust]));
  ok(await cli(['trust', 'add', 'acme', '-p', key.public, '-t', trust]));
  const before = await cli(['verify', 'm', '-t', trust, '--json']);
  assert.equal(before.code, 1);
  assert.ok(errorCodes(before).includes('SCAN_UNSAFE'), errorCodes(before).join(','));
  ok(await cli(['trust', 'rule', 'm', '--allow-global', GLOBAL, '--allow-global', 'builtins:set', '-t', trust]));
  const list = await cli(['trust', 'list', '-t', trust, '--json']);
  assert.deepEqual(list.json<{ rules: { scanAllowGlobals: string[] }[] }>().rules[0]!.scanAllowGlobals, [GLOBAL, 'builtins:set']);
  assert.match((await cli(['trust', 'list', '-t', trust])).stdout, /pickle globals allowed datetime:timedelta builtins:set/);
  ok(await cli(['verify', 'm', '-t', trust]));
  const refused = await cli(['trust', 'rule', 'm', '--allow-global', 'builtins:eval', '-t', trust, '--json']);
  assert.equal(refused.code, 2);
  assert.deepEqual(errorCodes(refused), ['USAGE']);
  assert.match(refused.stdout, /scanAllowGlobals\/0.*builtins:eval can never be allowed/);
  // The refused edit left the policy as it was.
  ok(await cli(['verify', 'm', '-t', trust]));
  // A policy file written by hand with a hard-denied entry is refused before anything is verified.
  const doc = JSON.parse(readFileSync(trust, 'utf8')) as { rules: RuleDocument[] };
  doc.rules[0]!.scanAllowGlobals = ['os:system'];
  writeFile(trust, JSON.stringify(doc));
  const bad = await cli(['verify', 'm', '-t', trust, '--json']);
  assert.equal(bad.code, 2);
  assert.deepEqual(errorCodes(bad), ['BAD_TRUST_POLICY']);
});
