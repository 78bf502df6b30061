#!/usr/bin/env node
/**
 * What the scan adds to `ms-sign verify`: a directory of many small files, and one large file
 * whose bytes are no known format. Each case is verified with `--scan off` and with the default
 * scan, alternately, and the medians of CPU time (user + sys) and wall time are compared. A
 * benchmark, not a test. Build first:
 *
 *   npx tsc -b packages/core packages/cli && node scripts/measure-scan-overhead.mjs [FILES] [BIG_MIB]
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const files = Number(process.argv[2] ?? 20000);
const bigMiB = Number(process.argv[3] ?? 4096);
const cli = new URL('../packages/cli/bin/ms-sign.cjs', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'ms-sign-scan-bench-'));
const run = (...args) => {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
};
// CPU time (user + sys, all threads) through /usr/bin/time when there is one: on a shared machine
// wall time mostly measures the other processes.
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const timeOut = join(dir, '.time');
const time = (...args) => {
  const t = process.hrtime.bigint();
  const argv = TIME ? [TIME, '-o', timeOut, '-f', '%U %S', process.execPath, cli, ...args] : [process.execPath, cli, ...args];
  const r = spawnSync(argv[0], argv.slice(1), { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
  const wall = Number(process.hrtime.bigint() - t) / 1e6;
  const cpu = TIME ? readFileSync(timeOut, 'utf8').trim().split('\n').pop().split(' ').reduce((a, b) => a + Number(b) * 1000, 0) : NaN;
  return { wall, cpu };
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
    const what = model === 'small' ? `${files} files of 4 KiB` : `one ${bigMiB} MiB file`;
    for (const kind of TIME ? ['cpu', 'wall'] : ['wall']) {
      const a = median(off.map((r) => r[kind]));
      const b = median(on.map((r) => r[kind]));
      console.log(`${what}: verify ${kind} (median of 5) --scan off ${a.toFixed(0)} ms, with the scan ${b.toFixed(0)} ms (${(((b - a) / a) * 100).toFixed(1)}%)`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
