/**
 * Hostile files on disk (SPEC section 3): symlinks, FIFOs, hard links, names that are not UTF-8 or
 * that collide ignoring case. Each is refused on sign and fails verify; none makes ms-sign read
 * outside the model or hang.
 */
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, linkSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { generateSecretKey } from '@ms-sign/core';
import { verifyModel } from '@ms-sign/core/node';
import { trustKeys, writeKeyFiles } from '../helpers/crafted.js';
import { withFsPaths } from '../helpers/fs-spy.js';
import { assertCodes, assertIncludesCode, mkfifo, signedDirectory, verifyDirectory } from '../helpers/hostile.js';
import { runCli, spawnCli, tempDir, writeFile } from '../helpers/index.js';

/** A FIFO must end the command quickly: spawnCli throws if the child outlives this. */
const FIFO_TIMEOUT_MS = 20_000;

describe('symbolic links inside a model are refused', () => {
  for (const [where, target] of [
    ['inside', 'weights.bin'],
    ['outside', '../outside.bin'],
  ] as const) {
    test(`a symlink to a file ${where} the model: sign refuses and verify fails with UNSAFE_FILE_TYPE`, async (t) => {
      const signed = await signedDirectory(t);
      writeFileSync(join(signed.dir, 'outside.bin'), 'secret outside the model');
      symlinkSync(target, join(signed.model, 'link.bin'));
      // verify: the link is reported, and nothing is read through it.
      const { result, paths } = await withFsPaths(() => verifyDirectory(signed, '--threads', '1')); // workers escape the spy
      assertCodes(result, 1, ['UNSAFE_FILE_TYPE'], 'verify');
      assert.ok(paths.some((p) => p.startsWith(signed.model)), 'the fs spy saw the model');
      assert.ok(!paths.some((p) => resolve(signed.dir, p) === join(signed.dir, 'outside.bin')), 'the link target was touched');
      assertCodes(await runCli(['sign', 'model', '-k', signed.key.secretPath, '-o', 'again.sig', '--json'], { cwd: signed.dir }), 1, ['UNSAFE_FILE_TYPE'], 'sign');
    });
  }

  test('a signed file replaced by a symlink to an identical copy: UNSAFE_FILE_TYPE (content alone is not enough)', async (t) => {
    const signed = await signedDirectory(t);
    copyFileSync(join(signed.model, 'weights.bin'), join(signed.dir, 'copy.bin'));
    rmSync(join(signed.model, 'weights.bin'));
    symlinkSync('../copy.bin', join(signed.model, 'weights.bin'));
    assertIncludesCode(await verifyDirectory(signed), 1, 'UNSAFE_FILE_TYPE');
  });
});

describe('FIFOs end quickly with an error, never hang', () => {
  test('a FIFO inside the model directory: sign and verify fail with UNSAFE_FILE_TYPE', async (t) => {
    const signed = await signedDirectory(t);
    mkfifo(join(signed.model, 'pipe'));
    const sign = spawnCli(['sign', 'model', '-k', signed.key.secretPath, '-o', 'again.sig', '--json'], { cwd: signed.dir, timeoutMs: FIFO_TIMEOUT_MS });
    assertCodes(sign, 1, ['UNSAFE_FILE_TYPE'], 'sign');
    const verify = spawnCli(['verify', 'model', '-p', signed.key.publicPath, '--json'], { cwd: signed.dir, timeoutMs: FIFO_TIMEOUT_MS });
    assertCodes(verify, 1, ['UNSAFE_FILE_TYPE'], 'verify');
  });

  test('a FIFO given as MODEL: sign, verify and verify --output - fail with UNSAFE_FILE_TYPE', async (t) => {
    const dir = tempDir(t);
    const key = await writeKeyFiles(dir, generateSecretKey());
    writeFileSync(join(dir, 'model.ms'), 'model bytes');
    assert.equal((await runCli(['sign', 'model.ms', '-k', key.secretPath, '-o', 'pipe.sig'], { cwd: dir })).code, 0);
    mkfifo(join(dir, 'pipe'));
    const run = (argv: string[]) => spawnCli(argv, { cwd: dir, timeoutMs: FIFO_TIMEOUT_MS });
    assertCodes(run(['sign', 'pipe', '-k', key.secretPath, '--json']), 1, ['UNSAFE_FILE_TYPE'], 'sign');
    assertCodes(run(['verify', 'pipe', '-p', key.publicPath, '--json']), 1, ['UNSAFE_FILE_TYPE'], 'verify');
    const toStdout = run(['verify', 'pipe', '-p', key.publicPath, '--output', '-']);
    assert.equal(toStdout.code, 1, toStdout.stderr);
    assert.match(toStdout.stderr, /UNSAFE_FILE_TYPE/);
    assert.equal(toStdout.stdoutBytes.length, 0);
  });

  test('a FIFO given as the signature file: verify, inspect and sign --append fail with MALFORMED_SIGNATURE_FILE', async (t) => {
    const dir = tempDir(t);
    const key = await writeKeyFiles(dir, generateSecretKey());
    writeFileSync(join(dir, 'model.ms'), 'model bytes');
    mkfifo(join(dir, 'model.ms.sig'));
    const run = (argv: string[]) => spawnCli(argv, { cwd: dir, timeoutMs: FIFO_TIMEOUT_MS });
    assertCodes(run(['verify', 'model.ms', '-p', key.publicPath, '--json']), 1, ['MALFORMED_SIGNATURE_FILE'], 'verify');
    assertCodes(run(['inspect', 'model.ms.sig', '--json']), 1, ['MALFORMED_SIGNATURE_FILE'], 'inspect');
    assertCodes(run(['sign', 'model.ms', '-k', key.secretPath, '--append', '--json']), 1, ['MALFORMED_SIGNATURE_FILE'], 'sign --append');
  });

  test('a FIFO given as key, trust policy or state file: exit 2 with the setup error that names it', async (t) => {
    const dir = tempDir(t);
    const key = await writeKeyFiles(dir, generateSecretKey());
    writeFileSync(join(dir, 'model.ms'), 'model bytes');
    assert.equal((await runCli(['sign', 'model.ms', '-k', key.secretPath], { cwd: dir })).code, 0);
    mkfifo(join(dir, 'pipe'));
    const run = (argv: string[]) => spawnCli([...argv, '--json'], { cwd: dir, timeoutMs: FIFO_TIMEOUT_MS });
    assertCodes(run(['sign', 'model.ms', '-k', 'pipe', '-o', 'x.sig']), 2, ['KEY_UNREADABLE'], 'sign -k');
    assertCodes(run(['verify', 'model.ms', '-p', 'pipe']), 2, ['KEY_UNREADABLE'], 'verify -p');
    assertCodes(run(['trust', 'add', 'someone', '-p', 'pipe', '-t', 'trust.json']), 2, ['KEY_UNREADABLE'], 'trust add -p');
    assertCodes(run(['verify', 'model.ms', '-t', 'pipe']), 2, ['BAD_TRUST_POLICY'], 'verify -t');
    assertCodes(run(['verify', 'model.ms', '-p', key.publicPath, '--state', 'pipe']), 2, ['BAD_STATE_FILE'], 'verify --state');
  });
});

describe('hard links are regular files: their content is what is verified', () => {
  test('a hard link to a file outside the model signs and verifies; writing through the outside name is DIGEST_MISMATCH', async (t) => {
    const dir = tempDir(t);
    const key = await writeKeyFiles(dir, generateSecretKey());
    mkdirSync(join(dir, 'model'));
    writeFileSync(join(dir, 'outside.bin'), 'shared bytes');
    linkSync(join(dir, 'outside.bin'), join(dir, 'model', 'linked.bin'));
    assert.equal((await runCli(['sign', 'model', '-k', key.secretPath], { cwd: dir })).code, 0);
    assertCodes(await runCli(['verify', 'model', '-p', key.publicPath, '--json'], { cwd: dir }), 0, []);
    writeFileSync(join(dir, 'outside.bin'), 'SHARED bytes');
    assertCodes(await runCli(['verify', 'model', '-p', key.publicPath, '--json'], { cwd: dir }), 1, ['DIGEST_MISMATCH']);
  });

  test('two hard links to one file inside the model are two covered files', async (t) => {
    const signed = await signedDirectory(t, { 'a.bin': 'same inode' });
    rmSync(join(signed.dir, 'model.sig'));
    linkSync(join(signed.model, 'a.bin'), join(signed.model, 'b.bin'));
    assert.equal((await runCli(['sign', 'model', '-k', signed.key.secretPath], { cwd: signed.dir })).code, 0);
    const r = await verifyDirectory(signed);
    assertCodes(r, 0, []);
    assert.equal(r.json<{ files: { count: number } }>().files.count, 2);
    appendFileSync(join(signed.model, 'a.bin'), '!');
    assertCodes(await verifyDirectory(signed), 1, ['SIZE_MISMATCH', 'SIZE_MISMATCH']);
  });
});

describe('unsafe file names in a model are refused', () => {
  test('a file name that is not valid UTF-8: sign and verify fail with UNSAFE_PATH', async (t) => {
    const signed = await signedDirectory(t);
    writeFileSync(Buffer.concat([Buffer.from(`${signed.model}/bad`), Buffer.from([0xff, 0xfe]), Buffer.from('.bin')]), 'x');
    const r = await verifyDirectory(signed);
    assertCodes(r, 1, ['UNSAFE_PATH']);
    assert.equal(r.json<{ errors: { path: string }[] }>().errors[0]!.path, 'bad\\xff\\xfe.bin');
    assertCodes(await runCli(['sign', 'model', '-k', signed.key.secretPath, '-o', 'again.sig', '--json'], { cwd: signed.dir }), 1, ['UNSAFE_PATH'], 'sign');
  });

  for (const [what, a, b] of [
    ['equal ignoring case', 'Weights.bin', 'weights.bin'],
    ['equal after Unicode normalization (NFC vs NFD, as macOS stores names)', 'caf\u00e9.bin', 'cafe\u0301.bin'],
  ] as const) {
    test(`two names ${what}: sign and verify fail with UNSAFE_PATH`, async (t) => {
      const signed = await signedDirectory(t, { [b]: 'one' });
      writeFileSync(join(signed.model, a), 'other');
      const r = await verifyDirectory(signed);
      assertIncludesCode(r, 1, 'UNSAFE_PATH', 'verify');
      assertCodes(await runCli(['sign', 'model', '-k', signed.key.secretPath, '-o', 'again.sig', '--json'], { cwd: signed.dir }), 1, ['UNSAFE_PATH'], 'sign');
    });
  }

  for (const [what, name] of [
    ['a newline', 'a\nb.bin'],
    ['an escape sequence', '\u001b[2Jb.bin'],
    ['a backslash', '..\\b.bin'],
    ['a C1 control character', 'a\u0085b.bin'],
  ] as const) {
    test(`a file name with ${what}: sign refuses with UNSAFE_PATH`, async (t) => {
      const dir = tempDir(t);
      const key = await writeKeyFiles(dir, generateSecretKey());
      writeFile(join(dir, 'model', 'ok.bin'), 'fine');
      writeFile(join(dir, 'model', name), 'hostile');
      assertCodes(await runCli(['sign', 'model', '-k', key.secretPath, '--json'], { cwd: dir }), 1, ['UNSAFE_PATH']);
      assert.deepEqual(readdirSync(dir).sort(), ['model', 'publisher.key', 'publisher.pub']);
    });
  }
});

describe('the library refuses the same files', () => {
  test('verifyModel reports a symlink swapped in for a signed file without following it', async (t) => {
    const signed = await signedDirectory(t);
    writeFileSync(join(signed.dir, 'elsewhere.bin'), 'weights');
    renameSync(join(signed.model, 'weights.bin'), join(signed.dir, 'gone.bin'));
    symlinkSync('../elsewhere.bin', join(signed.model, 'weights.bin'));
    const { result: report, paths } = await withFsPaths(() =>
      verifyModel(signed.model, { trust: trustKeys(signed.key.key.publicKey), signaturePath: join(signed.dir, 'model.sig'), threads: 1 }),
    );
    assert.equal(report.ok, false);
    assert.ok(report.errors.some((e) => e.code === 'UNSAFE_FILE_TYPE'), JSON.stringify(report.errors));
    assert.ok(paths.some((p) => p.startsWith(signed.model)), 'the fs spy saw the model');
    assert.ok(!paths.includes(join(signed.dir, 'elsewhere.bin')));
  });
});
