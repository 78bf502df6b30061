/**
 * The passphrase prompt on a real terminal (a pseudo-terminal driven by test/tools/pty-driver.py):
 * keygen asks twice without echoing, sign asks once, and a wrong answer is WRONG_PASSPHRASE.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { cliBin, copyFixture, repoRoot, runCli, tempDir } from './helpers/index.js';

const python = spawnSync('python3', ['-c', 'import pty'], { encoding: 'utf8' }).status === 0;

function onTerminal(cwd: string, argv: string[], answers: [string, string][]) {
  const driver = join(repoRoot, 'test', 'tools', 'pty-driver.py');
  const r = spawnSync('python3', [driver, '30', JSON.stringify(answers), '--', process.execPath, cliBin, ...argv], {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: cwd, NO_COLOR: '1', TERM: 'xterm' },
  });
  return { code: r.status, output: r.stdout };
}

describe('passphrase prompt on a terminal', { skip: python ? false : 'python3 with the pty module is not installed' }, () => {
  test('keygen asks twice without echo; sign asks once; a wrong passphrase is refused', async (t) => {
    const dir = tempDir(t);
    const secret = 'correct horse battery staple';
    const made = onTerminal(dir, ['keygen', '-o', 'k'], [['Passphrase for the new secret key:', `${secret}\r`], ['Same passphrase again:', `${secret}\r`]]);
    assert.equal(made.code, 0, made.output);
    assert.ok(!made.output.includes(secret), 'the passphrase must not be echoed');
    assert.match(readFileSync(join(dir, 'k.key'), 'utf8'), /BEGIN ENCRYPTED PRIVATE KEY/);

    copyFixture('parallel.ms', dir);
    const signed = onTerminal(dir, ['sign', 'parallel.ms', '-k', 'k.key'], [['Passphrase for k.key:', `${secret}\r`]]);
    assert.equal(signed.code, 0, signed.output);
    assert.ok(!signed.output.includes(secret));
    const verified = await runCli(['verify', 'parallel.ms', '-p', 'k.pub'], { cwd: dir });
    assert.equal(verified.code, 0, verified.stderr);

    const wrong = onTerminal(dir, ['sign', 'parallel.ms', '-k', 'k.key', '--json'], [['Passphrase for k.key:', 'not it\r']]);
    assert.equal(wrong.code, 2, wrong.output);
    assert.match(wrong.output, /"code": "WRONG_PASSPHRASE"/);
  });

  test('keygen refuses two different answers and writes nothing', async (t) => {
    const dir = tempDir(t);
    const r = onTerminal(dir, ['keygen', '-o', 'k'], [['Passphrase for the new secret key:', 'one\r'], ['Same passphrase again:', 'two\r']]);
    assert.equal(r.code, 2, r.output);
    const listing = spawnSync('ls', ['-A', dir], { encoding: 'utf8' }).stdout.trim();
    assert.equal(listing, '');
  });
});
