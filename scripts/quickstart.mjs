#!/usr/bin/env node
// The README's main job: make a throwaway key, sign the real MindSpore Lite model in examples/,
// verify it, and show that one flipped byte is refused. Runs the built CLI like a user would.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const cli = new URL('../packages/cli/bin/ms-sign.cjs', import.meta.url).pathname;
const model = new URL('../examples/parallel.ms', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'ms-sign-quickstart-'));

function step(title, args, expectCode) {
  console.log(`\n$ ms-sign ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: work, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  process.stdout.write(r.stdout);
  process.stdout.write(r.stderr);
  if (r.status !== expectCode) {
    console.error(`\nquickstart failed at "${title}": exit code ${r.status}, expected ${expectCode}`);
    process.exit(1);
  }
}

try {
  copyFileSync(model, join(work, 'parallel.ms'));
  console.log(`Working in ${work} with examples/parallel.ms (a real MindSpore Lite model)`);
  step('make a throwaway key', ['keygen', '-o', 'demo', '--no-passphrase'], 0);
  step('sign the model', ['sign', 'parallel.ms', '-k', 'demo.key', '--model-version', '1.0.0', '-a', 'source=examples/parallel.ms'], 0);
  step('verify it', ['verify', 'parallel.ms', '-p', 'demo.pub'], 0);
  const bytes = readFileSync(join(work, 'parallel.ms'));
  bytes[100] ^= 0x01;
  writeFileSync(join(work, 'parallel.ms'), bytes);
  console.log('\n(flipping one bit of byte 100 of parallel.ms)');
  step('refuse the tampered model', ['verify', 'parallel.ms', '-p', 'demo.pub'], 1);
  console.log('\nQuick start OK: the model verified, and the tampered copy was refused (exit code 1).');
} finally {
  rmSync(work, { recursive: true, force: true });
}
