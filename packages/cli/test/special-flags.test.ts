/**
 * The flags commander treats specially (-V/--version, -h/--help, the `help` command, `--`) can
 * never turn a check into exit 0: `verify -V tampered.ms` exiting 0 would let a script written
 * from minisign habit load a tampered model. --version answers only on its own; help only when
 * nothing but command names comes with it; after `--` every argument is exec's CMD's.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { copyFixture, makeKey, runCli, tempDir, type CliResult } from '../../../test/helpers/index.js';

type TestContext = Parameters<typeof tempDir>[0];

/** A signed copy of a real model whose bytes were then changed: it must never verify. */
async function tamperedModel(t: TestContext) {
  const dir = tempDir(t);
  const key = await makeKey(dir);
  copyFixture('parallel.ms', dir);
  assert.equal((await runCli(['sign', 'parallel.ms', '-k', key.secret], { cwd: dir })).code, 0);
  const bytes = readFileSync(join(dir, 'parallel.ms'));
  bytes[bytes.length - 1]! ^= 1;
  writeFileSync(join(dir, 'parallel.ms'), bytes);
  return { dir, key };
}

function assertUsage(r: CliResult, argv: readonly string[]): void {
  assert.equal(r.code, 2, `ms-sign ${argv.join(' ')} exited ${r.code}:\n${r.stdout}${r.stderr}`);
  assert.match(r.stderr, /USAGE/, argv.join(' '));
}

/** Each command with the arguments of an ordinary run of it. */
function commands(key: { secret: string; public: string; keyId: string }): { path: string[]; args: string[] }[] {
  const verifyArgs = ['parallel.ms', '-p', key.public];
  return [
    { path: ['keygen'], args: ['-o', 'k2', '--no-passphrase'] },
    { path: ['sign'], args: ['parallel.ms', '-k', key.secret, '-o', 'x.sig'] },
    { path: ['verify'], args: verifyArgs },
    { path: ['inspect'], args: ['parallel.ms.sig'] },
    { path: ['exec'], args: [...verifyArgs, '--', 'true'] },
    { path: ['trust', 'init'], args: ['-t', 'p.json'] },
    { path: ['trust', 'add'], args: ['acme', '-p', key.public, '-t', 'p.json'] },
    { path: ['trust', 'remove'], args: ['acme', '-t', 'p.json'] },
    { path: ['trust', 'revoke'], args: [key.keyId, '-t', 'p.json'] },
    { path: ['trust', 'rule'], args: ['**', '--threshold', '1', '-t', 'p.json'] },
    { path: ['trust', 'list'], args: ['-t', 'p.json'] },
  ];
}

describe('-V and --version are top-level only', () => {
  test('ms-sign -V and --version alone print the version and exit 0', async (t) => {
    const dir = tempDir(t);
    for (const flag of ['-V', '--version']) {
      const r = await runCli([flag], { cwd: dir });
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^\d+\.\d+\.\d+/);
    }
  });

  test('inside any command, or with any other argument, -V/--version is a usage error (exit 2)', async (t) => {
    const { dir, key } = await tamperedModel(t);
    const lines: string[][] = [['-V', 'verify'], ['--version', 'x'], ['verify', '-qV', 'parallel.ms', '-p', key.public]];
    for (const { path, args } of commands(key)) {
      lines.push([...path, '-V', ...args], [...path, ...args.filter((a) => a !== '--' && a !== 'true'), '--version'], [...path, '--version']);
    }
    for (const argv of lines) assertUsage(await runCli(argv, { cwd: dir }), argv);
  });
});

describe('help exits 0 only when nothing else is asked', () => {
  test('COMMAND --help, COMMAND -h and help COMMAND print help for every command and exit 0', async (t) => {
    const { dir, key } = await tamperedModel(t);
    for (const argv of [['--help'], ['-h'], ['help']]) {
      const r = await runCli(argv, { cwd: dir });
      assert.equal(r.code, 0, argv.join(' '));
      assert.match(r.stdout, /Usage: ms-sign/);
    }
    for (const { path } of commands(key)) {
      for (const argv of [[...path, '--help'], [...path, '-h'], ['help', ...path]]) {
        const r = await runCli(argv, { cwd: dir });
        assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
        // Commander's `help` command looks one level down: `help trust add` shows trust's help.
        const shown = argv[0] === 'help' ? path.slice(0, 1) : path;
        assert.match(r.stdout, new RegExp(`Usage: ms-sign ${shown.join(' ')} `), argv.join(' '));
      }
    }
  });

  test('help with a model or any option is a usage error (exit 2), wherever it stands', async (t) => {
    const { dir, key } = await tamperedModel(t);
    const lines: string[][] = [['verify', '-qh', 'parallel.ms', '-p', key.public], ['verify', '--help', '--help'], ['help', 'help']];
    for (const { path, args } of commands(key)) {
      const own = args.includes('--') ? args.slice(0, args.indexOf('--')) : args;
      lines.push([...path, '--help', ...args], [...path, ...own, '-h'], ['help', ...path, ...own], [...path, own[0]!, '--help', ...own.slice(1)]);
    }
    for (const argv of lines) assertUsage(await runCli(argv, { cwd: dir }), argv);
  });

  test('a command that needs a subcommand and gets none is a usage error', async (t) => {
    const dir = tempDir(t);
    for (const argv of [[], ['trust']]) assertUsage(await runCli(argv, { cwd: dir }), argv);
  });
});

describe('-- ends ms-sign\'s own arguments', () => {
  test('verify: an argument after -- is one more model to verify, never a flag', async (t) => {
    // verify takes several models; after "--" every word is a model name (POSIX), so "-- --help"
    // names a model "--help" that has no signature: the run fails (exit 1), printing no help.
    const { dir, key } = await tamperedModel(t);
    for (const flag of ['--help', '-h', '--version', '-V']) {
      const argv = ['verify', 'parallel.ms', '-p', key.public, '--', flag];
      const result = await runCli(argv, { cwd: dir });
      assert.equal(result.code, 1, `${argv.join(' ')}: ${result.stderr}`);
      assert.doesNotMatch(result.stdout, /Usage:|\d+\.\d+\.\d+/);
      assert.match(result.stderr, new RegExp(`MISSING_SIGNATURE_FILE: signature file .*${flag}\\.sig`));
    }
  });

  test('exec: --help and --version after -- belong to CMD; a tampered model still does not run it', async (t) => {
    const { dir, key } = await tamperedModel(t);
    const marker = join(dir, 'ran');
    const cmd = ['sh', '-c', 'echo "$@" > "$0"', marker, '--help', '-V'];
    const refused = await runCli(['exec', 'parallel.ms', '-p', key.public, '--', ...cmd], { cwd: dir });
    assert.equal(refused.code, 1, refused.stderr);
    assert.throws(() => readFileSync(marker), /ENOENT/);
    // Signed again, the model verifies: CMD runs and gets the flags as its own arguments.
    assert.equal((await runCli(['sign', 'parallel.ms', '-k', key.secret], { cwd: dir })).code, 0);
    const ran = await runCli(['exec', 'parallel.ms', '-p', key.public, '-q', '--', ...cmd], { cwd: dir });
    assert.equal(ran.code, 0, ran.stderr);
    assert.equal(readFileSync(marker, 'utf8'), '--help -V\n');
  });
});
