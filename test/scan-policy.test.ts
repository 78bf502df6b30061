/**
 * Trust-policy rule fields for the scan (scan, scanAllowUnknown, scanWaive): the schema and the
 * checks behind it, `trust rule` setting them, and how matching rules and the command line combine.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { applyScanPolicy, parseTrustPolicy, type RuleDocument } from '@ms-sign/core';
import { thrownCode } from './helpers/codes.js';
import { runCli, tempDir } from './helpers/index.js';

const policyWith = (rules: RuleDocument[]) => parseTrustPolicy(JSON.stringify({ version: 1, publishers: [], revoked: [], rules }), 'trust.json');

test('rule scan fields are parsed; unknown modes, non-waivable codes and bad globs are BAD_TRUST_POLICY', () => {
  const { policy } = policyWith([{ models: 'acme/**', scan: 'clean', scanAllowUnknown: ['*.md'], scanWaive: ['SCAN_ENCRYPTED'] }]);
  assert.equal(policy.rules[0]!.scan, 'clean');
  assert.equal(policy.rules[0]!.scanAllowUnknown![0]!.matches('README.md'), true);
  assert.deepEqual([...policy.rules[0]!.scanWaive!], ['SCAN_ENCRYPTED']);
  assert.equal(thrownCode(() => policyWith([{ models: '**', scan: 'paranoid' as never }])), 'BAD_TRUST_POLICY');
  assert.equal(thrownCode(() => policyWith([{ models: '**', scanWaive: ['CODE_FILE'] }])), 'BAD_TRUST_POLICY', 'CODE_FILE is not waivable');
  assert.equal(thrownCode(() => policyWith([{ models: '**', scanWaive: ['NO_SUCH_CODE'] }])), 'BAD_TRUST_POLICY');
  assert.equal(thrownCode(() => policyWith([{ models: '**', scanAllowUnknown: [''] }])), 'BAD_TRUST_POLICY');
});

test('matching rules combine strictest-wins; the command line may only tighten an explicit mode', () => {
  const { policy } = policyWith([
    { models: '**', scan: 'no-unsafe', scanWaive: ['SCAN_ENCRYPTED', 'NPY_OBJECT_DTYPE'], scanAllowUnknown: ['*.md', '*.txt'] },
    { models: 'acme/**', scan: 'clean', scanWaive: ['SCAN_ENCRYPTED'], scanAllowUnknown: ['*.md'] },
  ]);
  const acme = applyScanPolicy(policy.rules, 'acme/resnet');
  assert.equal(acme.mode, 'clean');
  assert.deepEqual(acme.rules, ['**', 'acme/**']);
  assert.deepEqual([...acme.waive], ['SCAN_ENCRYPTED'], 'a waiver counts only if every matching rule grants it');
  assert.equal(acme.allowUnknown![0]!.matches('README.md'), true);
  assert.equal(acme.allowUnknown![0]!.matches('notes.txt'), false);
  assert.equal(applyScanPolicy(policy.rules, 'other').mode, 'no-unsafe');
  assert.equal(thrownCode(() => applyScanPolicy(policy.rules, 'acme/x', 'no-unsafe')), 'USAGE');
  assert.equal(thrownCode(() => applyScanPolicy(policy.rules, 'other', 'off')), 'USAGE');
  assert.equal(applyScanPolicy(policy.rules, 'other', 'clean').mode, 'clean');
  // No rule sets a mode: the default may be switched off or tightened.
  assert.equal(applyScanPolicy([], 'x', 'off').mode, 'off');
  assert.equal(applyScanPolicy([], 'x').mode, 'no-unsafe');
});

test('trust rule sets, shows and drops the scan fields; it refuses codes that cannot be waived', async (t) => {
  const dir = tempDir(t);
  const trust = join(dir, 'trust.json');
  assert.equal((await runCli(['trust', 'init', '-t', trust], { cwd: dir })).code, 0);
  const set = await runCli(['trust', 'rule', 'acme/**', '-t', trust, '--scan', 'clean', '--scan-allow-unknown', '*.md', '--scan-waive', 'SCAN_ENCRYPTED'], { cwd: dir });
  assert.equal(set.code, 0, set.stderr);
  const list = await runCli(['trust', 'list', '-t', trust, '--json'], { cwd: dir });
  const rules = list.json<{ rules: { models: string; scan: string | null; scanAllowUnknown: string[]; scanWaive: string[] }[] }>().rules;
  assert.deepEqual(rules.map((r) => [r.models, r.scan, r.scanAllowUnknown, r.scanWaive]), [['acme/**', 'clean', ['*.md'], ['SCAN_ENCRYPTED']]]);
  const refused = await runCli(['trust', 'rule', 'acme/**', '-t', trust, '--scan-waive', 'CODE_FILE', '--json'], { cwd: dir });
  assert.equal(refused.code, 2);
  assert.equal((await runCli(['trust', 'rule', 'acme/**', '-t', trust, '--scan', 'default'], { cwd: dir })).code, 0);
  const after = (await runCli(['trust', 'list', '-t', trust, '--json'], { cwd: dir })).json<{ rules: { scan: string | null }[] }>();
  assert.equal(after.rules[0]!.scan, null);
});
