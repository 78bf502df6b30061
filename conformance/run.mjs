#!/usr/bin/env node
// Runs the ms-sign conformance suite against an implementation (README.md beside this file).
//
//   node conformance/run.mjs --impl 'ms-sign'                      # a command on PATH
//   node conformance/run.mjs --impl 'node packages/cli/bin/ms-sign.cjs'
//   node conformance/run.mjs --impl ./ms-sign-linux-x64 --filter policy/ --jobs 4
//
// Options: --impl CMD (required: a shell command prefix; the case's arguments are appended),
// --filter TEXT (only cases and vectors whose id contains TEXT), --no-vectors, --no-cases,
// --jobs N (parallel runs, default 2), --verbose (print every result). Needs Node.js >= 18 and
// /bin/sh; nothing else. Exit 0 when every selected case passed.
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const SUITE_VERSION = 1;
const TIMEOUT_MS = 120_000;

function parseArgs(argv) {
  const options = { impl: undefined, filter: '', vectors: true, cases: true, jobs: 2, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--impl') options.impl = argv[++i];
    else if (a === '--filter') options.filter = argv[++i] ?? '';
    else if (a === '--no-vectors') options.vectors = false;
    else if (a === '--no-cases') options.cases = false;
    else if (a === '--jobs') options.jobs = Math.max(1, Number.parseInt(argv[++i] ?? '', 10) || 1);
    else if (a === '--verbose') options.verbose = true;
    else throw new Error(`unknown argument ${a} (see conformance/README.md)`);
  }
  if (!options.impl) throw new Error("--impl 'CMD' is required: the command that runs the implementation");
  return options;
}

/** Runs `IMPL ARGV...` through /bin/sh in `cwd` with a minimal environment. */
function runImpl(impl, argv, cwd, home) {
  return new Promise((resolvePromise) => {
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, XDG_CONFIG_HOME: join(home, '.config'), NO_COLOR: '1', LANG: 'C.UTF-8' };
    const child = spawn('/bin/sh', ['-c', `${impl} "$@"`, 'ms-sign-impl', ...argv], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? 128, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

const sameSet = (a, b) => a.length === b.length && a.every((x) => b.includes(x));

async function runCase(impl, c) {
  const work = mkdtempSync(join(tmpdir(), 'ms-sign-conformance-'));
  try {
    const cwd = join(work, 'case');
    cpSync(join(here, 'cases', c.id), cwd, { recursive: true });
    for (const [path, data] of Object.entries(c.create ?? {})) {
      if (isAbsolute(path) || path.split('/').includes('..')) throw new Error(`${c.id}: create path ${path} leaves the case`);
      mkdirSync(dirname(join(cwd, path)), { recursive: true });
      writeFileSync(join(cwd, path), Buffer.from(data, 'base64'));
    }
    const r = await runImpl(impl, c.argv, cwd, work);
    const problems = [];
    if (r.code !== c.exit) problems.push(`exit ${r.code}${r.signal ? ` (${r.signal})` : ''}, expected ${c.exit}`);
    if (c.argv.includes('--json')) {
      let codes;
      try {
        codes = [...new Set(JSON.parse(r.stdout).errors.map((e) => e.code))].sort();
      } catch {
        problems.push('stdout is not a JSON report with errors[]');
      }
      if (codes && !sameSet(codes, [...c.errors].sort())) problems.push(`errors ${JSON.stringify(codes)}, expected ${JSON.stringify([...c.errors].sort())}`);
    }
    return { id: c.id, problems, detail: problems.length ? `${r.stdout.slice(0, 2000)}${r.stderr.slice(0, 2000)}` : '' };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function runVector(impl, v) {
  const home = mkdtempSync(join(tmpdir(), 'ms-sign-conformance-'));
  try {
    const r = await runImpl(impl, ['verify-raw', v.publicKey, v.message, v.signature], home, home);
    const expected = v.accept ? 0 : 1;
    const problems = r.code === expected ? [] : [`exit ${r.code}, expected ${expected} (${v.accept ? 'accept' : 'reject'})`];
    return { id: `vector ${v.id}`, problems, detail: problems.length ? r.stderr.slice(0, 2000) : '' };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

async function pool(items, jobs, work) {
  const results = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(jobs, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i]);
      }
    }),
  );
  return results;
}

function load(file, key) {
  const doc = JSON.parse(readFileSync(join(here, file), 'utf8'));
  if (doc.version !== SUITE_VERSION) throw new Error(`${file}: suite version ${doc.version}, this runner knows ${SUITE_VERSION}`);
  return doc[key];
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  // Cases run in their own directories: a relative path as the command's first word is taken
  // from where the runner was started.
  const [first] = options.impl.trim().split(/\s+/);
  const impl = /^[^"'/]\S*\//.test(first) ? `"${resolve(first)}"${options.impl.trim().slice(first.length)}` : options.impl;
  const cases = options.cases ? load('cases.json', 'cases').filter((c) => c.id.includes(options.filter)) : [];
  const vectors = options.vectors ? load('vectors.json', 'vectors').filter((v) => `vector ${v.id}`.includes(options.filter)) : [];
  const started = Date.now();
  const results = [...(await pool(cases, options.jobs, (c) => runCase(impl, c))), ...(await pool(vectors, options.jobs, (v) => runVector(impl, v)))];
  let failed = 0;
  for (const r of results) {
    if (r.problems.length > 0) {
      failed++;
      console.log(`not ok - ${r.id}: ${r.problems.join('; ')}`);
      if (r.detail) console.log(r.detail.replace(/^/gm, '    '));
    } else if (options.verbose) console.log(`ok - ${r.id}`);
  }
  console.log(`# ${cases.length} cases and ${vectors.length} vectors against ${options.impl} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`conformance: ${results.length - failed} passed, ${failed} failed`);
  process.exitCode = failed === 0 ? 0 : 1;
}

main().catch((error) => {
  console.error(`conformance: ${error.message}`);
  process.exitCode = 2;
});
