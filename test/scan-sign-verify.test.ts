/**
 * The scan inside sign and verify, through the real CLI: sign refuses unsafe and malformed
 * models unless told otherwise, verify scans the verified bytes and reports the mode and rule it
 * applied, the trust policy chooses the mode and the command line may only tighten it, and
 * nothing unsafe is handed over by --output or exec.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { copyFixture, errorCodes, makeKey, runCli, spawnCli, tempDir, writeFile, type CliResult } from './helpers/index.js';
import { dagBomb } from './helpers/ms-models.js';

interface ScanJson {
  scan: { mode: string; rule: string[] | null; summary: Record<string, number> | null; files: { path: string; verdict: string }[] };
}

async function setup(t: Parameters<typeof tempDir>[0]) {
  const dir = tempDir(t);
  const key = await makeKey(dir);
  const cli = (args: string[]) => runCli(args, { cwd: dir });
  return { dir, key, cli };
}

const ok = (r: CliResult) => assert.equal(r.code, 0, r.stderr + r.stdout.slice(0, 600));

test('sign refuses a DAG-bomb .ms and writes no signature; --allow-unsafe signs and says why; --scan off does not scan', async (t) => {
  const { dir, key, cli } = await setup(t);
  writeFile(join(dir, 'bomb', 'model.ms'), dagBomb(2000, 2000));
  const refused = await cli(['sign', 'bomb', '-k', key.secret, '--json']);
  assert.equal(refused.code, 1);
  const codes = errorCodes(refused);
  assert.ok(codes.includes('MS_FB_AMPLIFICATION') && codes.includes('SCAN_UNSAFE'), codes.join(','));
  assert.equal(existsSync(join(dir, 'bomb.sig')), false);
  const human = await cli(['sign', 'bomb', '-k', key.secret]);
  assert.equal(human.code, 1);
  assert.match(human.stderr, /SCAN_UNSAFE: .*nothing was signed \(--allow-unsafe signs anyway\)/);
  const forced = await cli(['sign', 'bomb', '-k', key.secret, '--allow-unsafe']);
  ok(forced);
  assert.match(forced.stderr, /signing despite the scan \(--allow-unsafe\)[\s\S]*MS_FB_AMPLIFICATION/);
  ok(await cli(['sign', 'bomb', '-k', key.secret, '--scan', 'off', '-o', 'other.sig']));
});

test('verify scans the verified bytes: a signed bomb is NOT VERIFIED, with the scan in --json', async (t) => {
  const { dir, key, cli } = await setup(t);
  writeFile(join(dir, 'bomb', 'model.ms'), dagBomb(2000, 2000));
  ok(await cli(['sign', 'bomb', '-k', key.secret, '--allow-unsafe']));
  const r = await cli(['verify', 'bomb', '-p', key.public, '--json']);
  assert.equal(r.code, 1);
  assert.ok(errorCodes(r).includes('SCAN_UNSAFE'));
  const report = r.json<ScanJson & { ok: boolean }>();
  assert.equal(report.scan.mode, 'no-unsafe');
  assert.equal(report.scan.rule, null);
  assert.deepEqual(report.scan.summary, { files: 1, clean: 0, unsafe: 1, malformed: 0, unknown: 0 });
  assert.deepEqual(report.scan.files.map((f) => [f.path, f.verdict]), [['model.ms', 'unsafe']]);
  // No rule sets a mode: the operator may switch the scan off.
  ok(await cli(['verify', 'bomb', '-p', key.public, '--scan', 'off', '-q']));
});

test('verify of the real fixtures: clean, and only the non-clean files are listed', async (t) => {
  const { dir, key, cli } = await setup(t);
  for (const name of ['parallel.ms', 'retinaface0924.ms', 'relu.mindir']) copyFixture(name, join(dir, 'm'));
  writeFile(join(dir, 'm', 'README.md'), '# a model\n');
  ok(await cli(['sign', 'm', '-k', key.secret]));
  const r = await cli(['verify', 'm', '-p', key.public, '--json']);
  ok(r);
  const report = r.json<ScanJson>();
  assert.deepEqual(report.scan.summary, { files: 4, clean: 3, unsafe: 0, malformed: 0, unknown: 1 });
  assert.deepEqual(report.scan.files.map((f) => f.path), ['README.md']);
  const human = await cli(['verify', 'm', '-p', key.public]);
  assert.match(human.stdout, /scan: {6}no-unsafe: 4 files, 3 clean, 1 unknown/);
  const clean = await cli(['verify', 'm', '-p', key.public, '--scan', 'clean', '--json']);
  assert.equal(clean.code, 1);
  assert.deepEqual(errorCodes(clean), ['SCAN_UNKNOWN_FORMAT']);
});

test('the trust policy sets the mode; the command line may tighten it, never loosen it', async (t) => {
  const { dir, key, cli } = await setup(t);
  copyFixture('parallel.ms', join(dir, 'm'));
  writeFile(join(dir, 'm', 'README.md'), '# a model\n');
  ok(await cli(['sign', 'm', '-k', key.secret]));
  const trust = join(dir, 'trust.json');
  ok(await cli(['trust', 'init', '-t', trust]));
  ok(await cli(['trust', 'add', 'acme', '-p', key.public, '-t', trust]));
  ok(await cli(['trust', 'rule', 'm', '--scan', 'clean', '-t', trust]));
  const strict = await cli(['verify', 'm', '-t', trust, '--json']);
  assert.equal(strict.code, 1);
  assert.deepEqual(errorCodes(strict), ['SCAN_UNKNOWN_FORMAT']);
  assert.deepEqual(strict.json<ScanJson>().scan.rule, ['m']);
  // Loosening what the rule requires is a usage error naming the rule.
  const loosen = await cli(['verify', 'm', '-t', trust, '--scan', 'off', '--json']);
  assert.equal(loosen.code, 2);
  assert.deepEqual(errorCodes(loosen), ['USAGE']);
  assert.match(loosen.stdout, /rule \\"m\\"/);
  ok(await cli(['trust', 'rule', 'm', '--scan-allow-unknown', '*.md', '-t', trust]));
  ok(await cli(['verify', 'm', '-t', trust]));
});

test('a waivable code waived by the rule passes; an encrypted model is unknown otherwise', async (t) => {
  const { dir, key, cli } = await setup(t);
  writeFile(join(dir, 'enc', 'model.ms'), Uint8Array.from([0xd8, 0x5e, 0x3a, 0x7f, ...new Uint8Array(64).fill(7)]));
  ok(await cli(['sign', 'enc', '-k', key.secret]));
  const trust = join(dir, 'trust.json');
  ok(await cli(['trust', 'init', '-t', trust]));
  ok(await cli(['trust', 'add', 'acme', '-p', key.public, '-t', trust]));
  ok(await cli(['trust', 'rule', 'enc', '--scan', 'clean', '-t', trust]));
  assert.deepEqual(errorCodes(await cli(['verify', 'enc', '-t', trust, '--json'])), ['SCAN_UNKNOWN_FORMAT']);
  ok(await cli(['trust', 'rule', 'enc', '--scan-waive', 'SCAN_ENCRYPTED', '-t', trust]));
  ok(await cli(['verify', 'enc', '-t', trust]));
});

test('verify --output and exec hand over nothing that fails the scan', async (t) => {
  const { dir, key } = await setup(t);
  writeFile(join(dir, 'bomb.ms'), dagBomb(2000, 2000));
  assert.equal(spawnCli(['sign', 'bomb.ms', '-k', key.secret, '--allow-unsafe'], { cwd: dir }).code, 0);
  const out = spawnCli(['verify', 'bomb.ms', '-p', key.public, '--output', '-'], { cwd: dir });
  assert.equal(out.code, 1);
  assert.equal(out.stdoutBytes.length, 0);
  const file = spawnCli(['verify', 'bomb.ms', '-p', key.public, '--output', 'copy.ms'], { cwd: dir });
  assert.equal(file.code, 1);
  assert.equal(existsSync(join(dir, 'copy.ms')), false);
  const marker = join(dir, 'ran');
  for (const copy of [[], ['--copy']]) {
    const exec = spawnCli(['exec', 'bomb.ms', '-p', key.public, ...copy, '--', process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x')`], { cwd: dir });
    assert.equal(exec.code, 1, exec.stderr);
    assert.equal(existsSync(marker), false);
  }
  // The same model with the scan off is handed over byte for byte.
  const off = spawnCli(['verify', 'bomb.ms', '-p', key.public, '--output', '-', '--scan', 'off'], { cwd: dir });
  assert.equal(off.code, 0, off.stderr);
  assert.deepEqual(new Uint8Array(off.stdoutBytes), new Uint8Array(readFileSync(join(dir, 'bomb.ms'))));
});
