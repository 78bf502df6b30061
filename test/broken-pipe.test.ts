/**
 * A reader that stops early (`ms-sign trust list | head -1`): ms-sign ends as Unix tools do when
 * their pipe closes, silently with the status of SIGPIPE (141), not with a stack trace. Each run
 * writes into a real pipe whose reading end is closed before the command writes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { cliBin, cliOk, makeKey, tempDir, writeFile } from './helpers/index.js';

/** Runs ms-sign with stdout a pipe nobody reads: its reading end closed at once. */
function runIntoClosedPipe(argv: readonly string[], cwd: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [cliBin, ...argv], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, HOME: cwd, NO_COLOR: '1' } });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

describe('output into a closed pipe', () => {
  test('trust list, inspect, verify and --help end silently with status 141', async (t) => {
    const dir = tempDir(t);
    const key = await makeKey(dir);
    await cliOk(dir, ['trust', 'init', '-t', 'trust.json']);
    await cliOk(dir, ['trust', 'add', 'acme', '-p', key.public, '-t', 'trust.json']);
    writeFile(`${dir}/model.bin`, 'weights');
    await cliOk(dir, ['sign', 'model.bin', '-k', key.secret]);
    for (const argv of [['trust', 'list', '-t', 'trust.json'], ['inspect', 'model.bin.sig'], ['inspect', 'model.bin.sig', '--json'], ['verify', 'model.bin', '-p', key.public], ['--help']]) {
      const r = await runIntoClosedPipe(argv, dir);
      assert.deepEqual({ code: r.code, stderr: r.stderr }, { code: 141, stderr: '' }, argv.join(' '));
    }
  });

  test('verify --output - still reports the early close as IO_ERROR (exit 2): the model was not all delivered', async (t) => {
    const dir = tempDir(t);
    const key = await makeKey(dir);
    writeFile(`${dir}/model.bin`, new Uint8Array(4 * 1024 * 1024).fill(7));
    await cliOk(dir, ['sign', 'model.bin', '-k', key.secret]);
    const r = await runIntoClosedPipe(['verify', 'model.bin', '-p', key.public, '--output', '-'], dir);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /IO_ERROR/);
  });
});
