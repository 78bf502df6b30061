/**
 * progress.ts: the progress bar shows on a terminal only, after the delay, with bytes, rate and
 * ETA, and leaves nothing behind. A fake clock decides when "a second" has passed; the tests
 * only wait for the redraw timer to tick, they assert nothing about time.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { repoRoot } from '../../../test/helpers/index.js';

type ProgressModule = typeof import('../dist/progress.js');
const { startProgress, progressLine } = (await import(pathToFileURL(join(repoRoot, 'packages', 'cli', 'dist', 'progress.js')).href)) as ProgressModule;
type CliIo = Parameters<ProgressModule['startProgress']>[0];

function fakeIo(isTTY: boolean, env: Record<string, string> = {}, columns = 100): { io: CliIo; written: () => string } {
  let text = '';
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer | string, _encoding, callback) {
        text += chunk.toString();
        callback();
      },
    }),
    { isTTY, columns },
  );
  const io = { stdout: stream, stderr: stream, stdin: process.stdin, env, cwd: '/' } as unknown as CliIo;
  return { io, written: () => text };
}

/** Runs work of `total` bytes half done, with a clock that says `elapsedMs` have passed. */
async function drawAfter(io: CliIo, enabled: boolean, elapsedMs: number) {
  let now = 1_000_000;
  const progress = startProgress(io, enabled, { delayMs: 1000, intervalMs: 2, now: () => now });
  progress.onProgress(512 * 1024 * 1024, 1024 * 1024 * 1024);
  now += elapsedMs;
  await sleep(30);
  return progress;
}

describe('progress bar', () => {
  test('draws bytes, rate and ETA on a terminal once the work outlasts the delay, and clears its line', async () => {
    const { io, written } = fakeIo(true);
    const progress = await drawAfter(io, true, 2000);
    const drawn = written();
    assert.match(drawn, /^\r\x1b\[2K\[#{20}\.{20}\]  50%  512\.0 MiB \/ 1\.0 GiB  256\.0 MiB\/s  ETA 2s/);
    progress.stop();
    assert.ok(written().endsWith('\r\x1b[2K'), 'the line is cleared at the end');
    const length = written().length;
    await sleep(20);
    assert.equal(written().length, length, 'nothing is drawn after stop');
  });

  test('draws a full line on a terminal that reports 0 columns (as under script(1))', async () => {
    const { io, written } = fakeIo(true, {}, 0);
    (await drawAfter(io, true, 2000)).stop();
    assert.match(written(), /\[#{10,}\.{10,}\]  50%  512\.0 MiB \/ 1\.0 GiB/);
  });

  test('stays silent for work shorter than the delay', async () => {
    const { io, written } = fakeIo(true);
    (await drawAfter(io, true, 500)).stop();
    assert.equal(written(), '');
  });

  const silent: [string, boolean, boolean, Record<string, string>][] = [
    ['stderr is not a terminal (pipe, file, CI log)', false, true, {}],
    ['--json or -q (the caller disables it)', true, false, {}],
    ['TERM=dumb', true, true, { TERM: 'dumb' }],
  ];
  for (const [why, isTTY, enabled, env] of silent) {
    test(`never draws when ${why}`, async () => {
      const { io, written } = fakeIo(isTTY, env);
      (await drawAfter(io, enabled, 5000)).stop();
      assert.equal(written(), '');
    });
  }

  test('fits narrow terminals and gives long ETAs in minutes and hours', () => {
    const GiB = 1024 ** 3;
    for (const columns of [20, 40, 60, 80, 200]) assert.ok(progressLine(GiB, 10 * GiB, 1, columns).length < columns);
    assert.match(progressLine(GiB, 100 * GiB, 1, 120), /ETA 1m39s$/);
    assert.match(progressLine(GiB, 10_000 * GiB, 1, 120), /ETA 2h46m$/);
    assert.match(progressLine(0, GiB, 0, 120), /ETA \?$/);
  });

  test('--progress where no bar can be drawn (a CI log): a plain line each interval, no control characters', async () => {
    for (const [isTTY, env] of [[false, {}], [true, { TERM: 'dumb' }]] as const) {
      const { io, written } = fakeIo(isTTY, env);
      let now = 1_000_000;
      const progress = startProgress(io, false, { delayMs: 1000, intervalMs: 2, logIntervalMs: 5, now: () => now }, true);
      progress.onProgress(256 * 1024 * 1024, 1024 * 1024 * 1024);
      now += 4000;
      await sleep(40);
      progress.stop();
      const lines = written().split('\n').filter(Boolean);
      assert.ok(lines.length >= 2, `several lines, got ${JSON.stringify(written())}`);
      for (const line of lines) assert.equal(line, 'ms-sign: hashing 25%  256.0 MiB / 1.0 GiB  64.0 MiB/s  ETA 12s');
      assert.ok(written().endsWith('\n'), 'whole lines only');
      const length = written().length;
      await sleep(20);
      assert.equal(written().length, length, 'nothing after stop');
    }
  });

  test('--progress on a terminal draws the bar as usual, even with -q', async () => {
    const { io, written } = fakeIo(true);
    let now = 1_000_000;
    const progress = startProgress(io, false, { delayMs: 1000, intervalMs: 2, now: () => now }, true);
    progress.onProgress(512 * 1024 * 1024, 1024 * 1024 * 1024);
    now += 2000;
    await sleep(30);
    progress.stop();
    assert.match(written(), /^\r\x1b\[2K\[#{20}\.{20}\]  50%/);
  });
});
