#!/usr/bin/env node
// Writes packages/cli/dist-bundle/ms-sign.cjs.v8cache: V8's code cache for the one-file bundle,
// made with this Node after the bundle ran a verify with -p KEY, one with a trust policy and one
// of an OMS bundle on examples/parallel.ms, so it holds the bytecode of what a verify runs, not only the top level
// (docs/performance.md, Start-up). The launcher (bin/ms-sign.cjs) uses it only for the exact
// bundle bytes it was made from, and V8 only for the same Node version and flags; otherwise the
// bundle compiles from source as before. `npm run build` and `npm test` run this after the bundle.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const launcher = join(root, 'packages', 'cli', 'bin', 'ms-sign.cjs');

// Runs in a child Node: compiles the bundle as the launcher does (without a cache), runs each
// training command in turn, then writes key + cache atomically (a reader never sees half a file).
const TRAIN = `
const { renameSync, writeFileSync } = require('node:fs');
const { codeCachePath, compileBundle, runBundle } = require(${JSON.stringify(launcher)});
const runs = JSON.parse(process.argv[1]);
const { key, script } = compileBundle(false);
const next = () => {
  const argv = runs.shift();
  if (argv === undefined) {
    const tmp = codeCachePath + '.tmp';
    writeFileSync(tmp, Buffer.concat([key, script.createCachedData()]));
    renameSync(tmp, codeCachePath);
    process.exitCode = 0;
    return;
  }
  process.argv = [process.execPath, ${JSON.stringify(launcher)}, ...argv];
  process.exitCode = undefined;
  runBundle(script);
  const wait = setInterval(() => {
    if (process.exitCode === undefined) return;
    clearInterval(wait);
    if (process.exitCode !== 0) throw new Error('training run ' + argv.join(' ') + ' exited ' + process.exitCode);
    next();
  }, 1);
};
next();
`;

function run(args, cwd) {
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  if (r.status !== 0) throw new Error(`building the code cache: node ${args.join(' ')} exited ${r.status}\n${r.stdout}${r.stderr}`);
}

export function buildCodeCache() {
  const work = mkdtempSync(join(tmpdir(), 'ms-sign-code-cache-'));
  try {
    copyFileSync(join(root, 'examples', 'parallel.ms'), join(work, 'parallel.ms'));
    run([launcher, 'keygen', '-o', 'k', '--no-passphrase'], work);
    run([launcher, 'sign', 'parallel.ms', '-k', 'k.key'], work);
    run([launcher, 'trust', 'init', '-t', 'trust.json'], work);
    run([launcher, 'trust', 'add', 'demo', '-p', 'k.pub', '-t', 'trust.json'], work);
    run([launcher, 'keygen', '-o', 'ec', '--no-passphrase', '--algorithm', 'ecdsa-p256'], work);
    run([launcher, 'sign', 'parallel.ms', '-k', 'ec.key', '--format', 'oms', '-o', 'parallel.ms.oms'], work);
    const runs = [
      ['verify', 'parallel.ms', '-p', 'k.pub'],
      ['verify', 'parallel.ms', '-t', 'trust.json'],
      ['verify', 'parallel.ms', '-s', 'parallel.ms.oms', '-p', 'ec.pub'],
    ];
    run(['-e', TRAIN, JSON.stringify(runs)], work);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  buildCodeCache();
  console.log(`wrote ${join('packages', 'cli', 'dist-bundle', 'ms-sign.cjs.v8cache')}`);
}
