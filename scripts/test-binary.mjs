#!/usr/bin/env node
// CI's binary steps (npm run test:binary, after npm test): builds the one-file bundle and both
// single binaries from this checkout, runs the CLI's end-to-end tests, the binary's own tests and
// the conformance suite against the x64 binary, the suite's quick cases against the bundle, and
// the arm64 binary under qemu-user (qemu-aarch64 with an arm64 sysroot: .ci/run installs both).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { binaryPath, buildBinaries } from './build-binary.mjs';
import { bundlePath } from './build-bundle.mjs';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const testBuild = join(root, '.test-build', 'test');

/**
 * The test files that call the CLI only through test/helpers (so MS_SIGN_CLI reaches every call).
 * Not tamper.test: its byte-by-byte signature-file sweep is ~1,000 runs (slow as processes), and
 * the conformance suite runs every tamper class against the binary.
 */
const END_TO_END = [
  'cli-end-to-end',
  'golden',
  'exec',
  'verify-before-load',
  'setup-errors',
  'sharding',
  'rollback',
  'trust-verify',
  'trust-policy',
  'binary',
  'conformance',
];

const ARM64_SYSROOT = '/usr/aarch64-linux-gnu';

function run(what, command, args, env = {}) {
  console.log(`\n== ${what}`);
  const started = Date.now();
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  console.log(`== ${what}: exit ${r.status} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const built = await buildBinaries();
for (const { path, bytes } of built) console.log(`built ${path} (${(bytes / 2 ** 20).toFixed(1)} MiB)`);

const x64 = binaryPath('x64');
run(
  'end-to-end tests against the x64 binary',
  process.execPath,
  ['--test', '--test-reporter=spec', ...END_TO_END.map((name) => join(testBuild, `${name}.test.js`))],
  { MS_SIGN_CLI: x64 },
);

run('conformance suite (quick cases) against the one-file bundle', process.execPath, [
  'conformance/run.mjs',
  '--impl',
  `"${process.execPath}" "${bundlePath}"`,
  '--filter',
  'accept/',
]);

const qemu = ['/usr/bin/qemu-aarch64', '/usr/bin/qemu-aarch64-static'].find((p) => existsSync(p));
if (qemu === undefined || !existsSync(join(ARM64_SYSROOT, 'lib', 'libstdc++.so.6'))) {
  console.log(`\n== arm64: NOT RUN: needs qemu-aarch64 and an arm64 sysroot in ${ARM64_SYSROOT} (apt-get install qemu-user libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross)`);
  if (process.env.CI === 'true') process.exit(1);
} else {
  // Under emulation each run takes seconds: the golden files, the accepted models, the file
  // tamper classes, the path rules, the scan and OMS cases, and the RFC 8032 and edge-case vectors.
  const impl = `"${qemu}" -L ${ARM64_SYSROOT} "${binaryPath('arm64')}"`;
  for (const filter of ['golden/', 'accept/', 'tamper/file-', 'paths/', 'scan/', 'oms/', 'vector rfc8032', 'vector edge-cases']) {
    run(`conformance ${filter} against the arm64 binary under ${qemu}`, process.execPath, ['conformance/run.mjs', '--impl', impl, '--filter', filter]);
  }
}
