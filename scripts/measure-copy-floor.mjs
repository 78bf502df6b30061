#!/usr/bin/env node
/**
 * What writing a private copy costs the kernel, apart from ms-sign (docs/performance.md, "exec
 * --copy"): 1 GiB written in 128 KiB pwrite calls (verify's read size) into a fresh file, by one
 * thread and by two threads writing alternate 64 MiB shards of the same file (as verify's hashing
 * threads do), then the unlink that removes the copy. A benchmark, not a test:
 *
 *   node scripts/measure-copy-floor.mjs [DIR]     (default: $TMPDIR, where exec puts its copy)
 *
 * Prints wall time and the process's CPU time for each, best of 3.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

const SIZE = 1024 * 1024 * 1024;
const CHUNK = 128 * 1024;
const SHARD = 64 * 1024 * 1024;

function writeShards(path, first, step) {
  const chunk = Buffer.alloc(CHUNK, 0x5a);
  const fd = openSync(path, 'r+');
  try {
    for (let shard = first; shard * SHARD < SIZE; shard += step) {
      for (let at = shard * SHARD; at < (shard + 1) * SHARD; at += CHUNK) writeSync(fd, chunk, 0, CHUNK, at);
    }
  } finally {
    closeSync(fd);
  }
}

if (!isMainThread) {
  writeShards(workerData.path, workerData.first, workerData.step);
  parentPort.postMessage('done');
} else {
  const dir = mkdtempSync(join(process.argv[2] ?? tmpdir(), 'ms-sign-copy-floor-'));
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  // Rows in this order; each keeps its best (lowest wall) run.
  const results = { 'write 1 GiB, 1 thread': undefined, 'write 1 GiB, 2 threads': undefined, 'unlink the 1 GiB copy': undefined };
  try {
    for (const threads of [1, 2, 1, 2, 1, 2]) {
      const path = join(dir, 'copy.bin');
      closeSync(openSync(path, 'w', 0o600));
      const cpu0 = cpu();
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: threads }, (_, first) => new Promise((resolve, reject) => {
          const worker = new Worker(new URL(import.meta.url), { workerData: { path, first, step: threads } });
          worker.once('message', resolve);
          worker.once('error', reject);
        })),
      );
      const t1 = performance.now();
      const cpu1 = cpu();
      rmSync(path);
      const t2 = performance.now();
      for (const [name, wall, cpuSeconds] of [[`write 1 GiB, ${threads} thread${threads > 1 ? 's' : ''}`, t1 - t0, cpu1 - cpu0], ['unlink the 1 GiB copy', t2 - t1, cpu() - cpu1]]) {
        const best = results[name];
        if (best === undefined || wall < best.wall) results[name] = { wall, cpuSeconds };
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`| ${'step'.padEnd(28)} | wall (best of 3) | CPU |`);
  console.log(`|${'-'.repeat(30)}|------------------|-----|`);
  for (const [name, { wall, cpuSeconds }] of Object.entries(results)) console.log(`| ${name.padEnd(28)} | ${(wall / 1000).toFixed(3)} s | ${cpuSeconds.toFixed(2)} s |`);
}
