/**
 * The conformance suite (conformance/): its committed data is exactly what its generator writes
 * (so every case can be regenerated and reviewed as a diff), and the CLI passes it through the
 * documented command protocol, run by conformance/run.mjs as any other implementation would be.
 * With MS_SIGN_CLI set (test/helpers), that build of the CLI is the one run.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { cliBin, cliUnderTest, repoRoot, runCli, tempDir } from './helpers/index.js';
import { generate } from './tools/conformance-cases.js';

const conformanceDir = join(repoRoot, 'conformance');

/** Every file under `dir`, as relative path to bytes. */
function tree(dir: string): Map<string, Buffer> {
  const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  return new Map(files.map((e) => [relative(dir, join(e.parentPath, e.name)), readFileSync(join(e.parentPath, e.name))]));
}

function runSuite(impl: string, ...extra: string[]) {
  return spawnSync(process.execPath, [join(conformanceDir, 'run.mjs'), '--impl', impl, ...extra], { cwd: repoRoot, encoding: 'utf8', timeout: 15 * 60_000 });
}

const quote = (path: string) => `"${path}"`;

describe('conformance suite', () => {
  test('the committed cases and vectors are what the generator writes', async (t) => {
    const out = tempDir(t);
    await generate(out);
    const committed = tree(join(conformanceDir, 'cases'));
    const generated = tree(join(out, 'cases'));
    assert.deepEqual([...generated.keys()].sort(), [...committed.keys()].sort(), 'the same case files');
    for (const [path, bytes] of generated) assert.ok(bytes.equals(committed.get(path)!), `cases/${path} differs: run npm run conformance:generate`);
    for (const file of ['cases.json', 'vectors.json']) {
      assert.equal(readFileSync(join(out, file), 'utf8'), readFileSync(join(conformanceDir, file), 'utf8'), `${file} differs: run npm run conformance:generate`);
    }
  });

  test('every case and vector states its verdict, and the suite covers each kind', () => {
    const { cases } = JSON.parse(readFileSync(join(conformanceDir, 'cases.json'), 'utf8')) as { cases: { id: string; exit: number; errors: string[] }[] };
    const { vectors } = JSON.parse(readFileSync(join(conformanceDir, 'vectors.json'), 'utf8')) as { vectors: { accept: boolean }[] };
    for (const group of ['golden/', 'accept/', 'tamper/file-', 'tamper/directory-', 'tamper/signature-', 'hostile/path-', 'hostile/field-', 'hostile/cbor-', 'paths/', 'policy/', 'scan/', 'oms/', 'keys/']) {
      assert.ok(cases.some((c) => c.id.startsWith(group)), `no ${group} case`);
    }
    for (const c of cases) assert.equal(c.exit === 0, c.errors.length === 0, `${c.id}: exit 0 exactly when no error is expected`);
    assert.equal(vectors.length, 363);
    assert.ok(vectors.some((v) => v.accept) && vectors.some((v) => !v.accept));
  });

  test(`${cliUnderTest ?? 'the Node.js CLI'} passes the suite through its command protocol`, () => {
    const impl = cliUnderTest === undefined ? `${quote(process.execPath)} ${quote(cliBin)}` : /\.[cm]?js$/.test(cliUnderTest) ? `${quote(process.execPath)} ${quote(cliUnderTest)}` : quote(cliUnderTest);
    const r = runSuite(impl);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /conformance: 453 passed, 0 failed/);
  });

  test('verify-raw: exit 0 for a valid signature, 1 for an invalid one, 2 for an argument that is not hex', async (t) => {
    const dir = tempDir(t);
    const { vectors } = JSON.parse(readFileSync(join(conformanceDir, 'vectors.json'), 'utf8')) as { vectors: { id: string; publicKey: string; message: string; signature: string }[] };
    const v = vectors.find((x) => x.id === 'rfc8032-ed25519 test 1')!;
    assert.equal((await runCli(['verify-raw', v.publicKey, v.message, v.signature], { cwd: dir })).code, 0);
    assert.equal((await runCli(['verify-raw', v.publicKey, '00', v.signature], { cwd: dir })).code, 1);
    const bad = await runCli(['verify-raw', 'xyz', v.message, v.signature], { cwd: dir });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /PUBLIC_KEY must be hex/);
  });

  test('the runner reports a failing implementation: exit 1, with the case and what differed', () => {
    // `true` accepts everything and prints nothing: every refusal and every --json check fails.
    const r = runSuite('true', '--filter', 'tamper/file-first-byte', '--no-vectors');
    assert.equal(r.status, 1);
    assert.match(r.stdout, /not ok - tamper\/file-first-byte: exit 0, expected 1; stdout is not a JSON report/);
    assert.match(r.stdout, /conformance: 0 passed, 1 failed/);
  });
});
