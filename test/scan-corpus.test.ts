/**
 * The generated scan corpus (test/fixtures/scan, made by scripts/make-scan-corpus.py): every file
 * is scanned as the framework scans a model file, and must get its expected verdict with the
 * expected codes among its findings (and, where listed, the resolved module:qualname of the
 * import). Hostile cases cover each bypass class the anchor scanners fell to (`bypass` in
 * expected.json); benign state dicts, NumPy arrays and safetensors files must be clean.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { BufferSource, scanFile, type FileScanResult } from '@ms-sign/core';
import { errorCodes, makeKey, repoRoot, runCli, tempDir } from './helpers/index.js';

const corpus = join(repoRoot, 'test', 'fixtures', 'scan');

interface Expected {
  readonly verdict: string;
  readonly codes: readonly string[];
  readonly globals?: readonly string[];
  readonly bypass?: number;
  readonly note?: string;
}

const expected = JSON.parse(readFileSync(join(corpus, 'expected.json'), 'utf8')) as Record<string, Expected>;

export function scanCorpusFile(name: string): FileScanResult {
  return scanFile(new BufferSource(readFileSync(join(corpus, name))), name, { modelFiles: new Set([name]) });
}

const describeFindings = (r: FileScanResult) => r.findings.map((f) => `${f.code}${f.member ? ` [${f.member}]` : ''}: ${f.message}`).join('\n  ');

describe('scan corpus: every case gets its verdict and codes', () => {
  for (const [name, want] of Object.entries(expected)) {
    test(`${name} is ${want.verdict}${want.codes.length ? ` (${want.codes.join(', ')})` : ''}`, () => {
      const result = scanCorpusFile(name);
      const codes = new Set(result.findings.map((f) => f.code));
      assert.equal(result.verdict, want.verdict, `format ${result.format}; findings:\n  ${describeFindings(result)}`);
      for (const code of want.codes) assert.ok(codes.has(code as never), `${code} missing; findings:\n  ${describeFindings(result)}`);
      for (const pair of want.globals ?? []) {
        const named = result.findings.some((f) => f.detail !== undefined && `${f.detail.module}:${f.detail.name}` === pair);
        assert.ok(named, `no finding names ${pair}; findings:\n  ${describeFindings(result)}`);
      }
    });
  }
});

describe('scan corpus: coverage', () => {
  test('every bypass class 1-19 has a hostile case that is not clean', () => {
    for (let n = 1; n <= 19; n++) {
      const cases = Object.entries(expected).filter(([, e]) => e.bypass === n && e.verdict !== 'clean');
      assert.ok(cases.length > 0, `bypass class ${n} has no hostile case`);
    }
  });

  test('benign state dicts, NumPy arrays and npz, safetensors files are in the corpus and clean', () => {
    for (const name of ['torch/benign_state_dict.pt', 'torch/legacy_benign.pt', 'numpy/benign.npy', 'numpy/benign.npz', 'safetensors/benign.safetensors', 'pickle/benign_numpy_p2.pkl']) {
      assert.equal(expected[name]?.verdict, 'clean', name);
    }
  });

  test('every file on disk has an expectation, and the corpus stays small', () => {
    let total = 0;
    const walk = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name)) : [relative(corpus, join(dir, d.name))]));
    // mindspore/ has its own generator and expectations.
    const owned = new Set(Object.keys(expected).map((name) => name.split('/')[0]!));
    const files = readdirSync(corpus, { withFileTypes: true }).filter((d) => d.isDirectory() && owned.has(d.name)).flatMap((d) => walk(join(corpus, d.name)));
    assert.ok(files.length >= Object.keys(expected).length);
    for (const file of files) {
      total += statSync(join(corpus, file)).size;
      if (file !== 'expected.json') assert.ok(expected[file] !== undefined, `${file} has no entry in expected.json`);
    }
    assert.ok(total < 2 * 1024 * 1024, `corpus is ${total} bytes`);
  });

  test('the generator reproduces the same cases and expectations (when python3 with numpy is here)', (t) => {
    const probe = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      t.skip('python3 with numpy is not installed');
      return;
    }
    const out = mkdtempSync(join(tmpdir(), 'ms-sign-corpus-'));
    try {
      const run = spawnSync('python3', [join(repoRoot, 'scripts', 'make-scan-corpus.py')], { encoding: 'utf8', env: { ...process.env, SCAN_CORPUS_OUT: out } });
      assert.equal(run.status, 0, run.stderr);
      assert.deepEqual(JSON.parse(readFileSync(join(out, 'expected.json'), 'utf8')), expected);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('scan corpus through the CLI', () => {
  test('ms-sign scan --json of the corpus directory gives every case its verdict, and exit 1', async () => {
    const r = await runCli(['scan', corpus, '--json'], { cwd: repoRoot });
    assert.equal(r.code, 1, r.stderr);
    const report = JSON.parse(r.stdout) as { files: { path: string; verdict: string; findings: { code: string }[] }[] };
    const byPath = new Map(report.files.map((f) => [f.path, f]));
    for (const [name, want] of Object.entries(expected)) {
      const got = byPath.get(name);
      assert.ok(got !== undefined, `${name} was not scanned`);
      assert.equal(got.verdict, want.verdict, `${name}: ${got.findings.map((f) => f.code).join(', ')}`);
      for (const code of want.codes) assert.ok(got.findings.some((f) => f.code === code), `${name}: ${code} missing`);
    }
  });

  test('verify of a signed copy refuses every hostile case with its codes, and lists no benign one', async (t) => {
    const dir = tempDir(t);
    const key = await makeKey(dir);
    for (const folder of new Set(Object.keys(expected).map((name) => name.split('/')[0]!))) cpSync(join(corpus, folder), join(dir, 'model', folder), { recursive: true });
    const signed = await runCli(['sign', 'model', '-k', key.secret, '--allow-unsafe'], { cwd: dir });
    assert.equal(signed.code, 0, signed.stderr);
    const r = await runCli(['verify', 'model', '-p', key.public, '--json'], { cwd: dir });
    assert.equal(r.code, 1, r.stderr);
    const report = r.json<{ scan: { files: { path: string; verdict: string; findings?: { code: string }[] }[] } }>();
    const listed = new Map(report.scan.files.map((f) => [f.path, f]));
    const codes = new Set(errorCodes(r));
    for (const [name, want] of Object.entries(expected)) {
      const got = listed.get(name);
      if (want.verdict === 'clean') {
        assert.equal(got, undefined, `${name} is clean but listed`);
        continue;
      }
      assert.equal(got?.verdict, want.verdict, name);
      if (want.verdict === 'unsafe' || want.verdict === 'malformed') {
        for (const code of want.codes) if (code.startsWith('PICKLE_') || code.startsWith('TORCH_')) assert.ok(codes.has(code), `${name}: ${code} not in errors[]`);
      }
    }
    assert.ok(codes.has('SCAN_UNSAFE') && codes.has('SCAN_MALFORMED'));
  });
});
