#!/usr/bin/env node
/**
 * What the scan adds to `ms-sign verify`: a directory of many small files, and one large file
 * whose bytes are no known format. Each case is verified with `--scan off` and with the default
 * scan, alternately, and the medians are compared. A benchmark, not a test. Build first:
 *
 *   npx tsc -b packages/core packages/cli && node scripts/measure-scan-overhead.mjs [FILES] [BIG_MIB]
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const files = Number(process.argv[2] ?? 20000);
const bigMiB = Number(process.argv[3] ?? 4096);
const cli = new URL('../packages/cli/bin/ms-sign.js', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'ms-sign-scan-bench-'));
const run = (...args) => {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
};
const time = (...args) => {
  const t = process.hrtime.bigint();
  run(...args);
  return Number(process.hrtime.bigint() - t) / 1e6;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

try {
  run('keygen', '-o', 'k', '--no-passphrase');
  mkdirSync(join(dir, 'small'));
  for (let d = 0; d < 100; d++) {
    mkdirSync(join(dir, 'small', `d${d}`));
    for (let i = 0; i < files / 100; i++) writeFileSync(join(dir, 'small', `d${d}`, `f${i}.bin`), randomBytes(4096));
  }
  // Random bytes every 1 MiB, zeros between: no known format, and cheap to create.
  const fd = openSync(join(dir, 'big.bin'), 'w');
  for (let m = 0; m < bigMiB; m++) writeSync(fd, randomBytes(4096), 0, 4096, m * 1024 * 1024);
  writeSync(fd, Buffer.alloc(1), 0, 1, bigMiB * 1024 * 1024 - 1);
  closeSync(fd);
  for (const model of ['small', 'big.bin']) {
    run('sign', model, '-k', 'k.key', '--scan', 'off');
    const off = [];
    const on = [];
    time('verify', model, '-p', 'k.pub', '-q', '--scan', 'off'); // warm the page cache
    for (let i = 0; i < 5; i++) {
      off.push(time('verify', model, '-p', 'k.pub', '-q', '--scan', 'off'));
      on.push(time('verify', model, '-p', 'k.pub', '-q'));
    }
    const a = median(off);
    const b = median(on);
    console.log(`${model === 'small' ? `${files} files of 4 KiB` : `one ${bigMiB} MiB file`}: verify --scan off ${a.toFixed(0)} ms, with the scan ${b.toFixed(0)} ms (${(((b - a) / a) * 100).toFixed(1)}%)`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
