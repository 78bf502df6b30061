/**
 * A co-tenant who can write in the model directory swaps a signed file for a symbolic link AFTER
 * the walk has seen a regular file, pointing at an identical copy outside the model. The content
 * matches, so only the hash engine's O_NOFOLLOW open stops ms-sign from reading outside the model
 * (verify keeps no walk-time identity to compare with). The swap is made deterministic by doing it
 * inside the hash engine's own openSync call for that file, just before the real open; one hashing
 * thread keeps every open on the main thread, where the override is seen.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, renameSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadVerifiedDirectory, ModelVerificationError, type VerificationReport } from '@ms-sign/core/node';
import { trustKeys } from '../helpers/crafted.js';
import { withFsOverride } from '../helpers/fs-spy.js';
import { assertCodes, signedDirectory, type SignedDirectory } from '../helpers/hostile.js';
import { runCli } from '../helpers/index.js';

const FILES = { 'a.bin': 'the first file, hashed before b', 'b.bin': 'the file that is swapped for a link' };

/**
 * Runs `action` while the first open of `victim` (an absolute path) is preceded by the swap: the
 * file moves away, an identical copy appears outside the model, and `victim` becomes a link to it.
 * Returns the action's result and whether the swap happened.
 */
async function swappingOnOpen<T>(victim: string, outside: string, action: () => Promise<T>): Promise<{ result: T; swapped: boolean }> {
  let swapped = false;
  const result = await withFsOverride(
    'openSync',
    (original) =>
      function (this: unknown, ...args: unknown[]) {
        if (!swapped && args[0] === victim) {
          swapped = true;
          copyFileSync(victim, outside);
          renameSync(victim, `${outside}.original`);
          symlinkSync(outside, victim);
        }
        return original.apply(this, args);
      },
    action,
  );
  return { result, swapped };
}

function setUp(signed: SignedDirectory) {
  return { victim: join(signed.model, 'b.bin'), outside: join(signed.dir, 'outside-b.bin') };
}

/** The report says b.bin was refused: it is not the regular file that was signed. */
function assertRefusedB(report: VerificationReport): void {
  assert.equal(report.ok, false);
  assert.ok(report.errors.some((e) => e.path === 'b.bin'), JSON.stringify(report.errors));
}

describe('a signed file swapped for a symlink after the walk is not followed', () => {
  test('verify', async (t) => {
    const signed = await signedDirectory(t, FILES);
    const { victim, outside } = setUp(signed);
    const { result, swapped } = await swappingOnOpen(victim, outside, () =>
      runCli(['verify', 'model', '-p', signed.key.publicPath, '--json', '--threads', '1'], { cwd: signed.dir }),
    );
    assert.ok(swapped, 'the hash engine opened b.bin (the swap happened)');
    assertCodes(result, 1, ['UNSAFE_FILE_TYPE']);
    assert.equal(result.json<VerificationReport>().errors[0]!.path, 'b.bin');
  });

  test('exec --copy: CMD never runs', async (t) => {
    const signed = await signedDirectory(t, FILES);
    const { victim, outside } = setUp(signed);
    const marker = join(signed.dir, 'ran');
    const { result, swapped } = await swappingOnOpen(victim, outside, () =>
      runCli(['exec', 'model', '-p', signed.key.publicPath, '--copy', '--threads', '1', '--', process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, '')`], {
        cwd: signed.dir,
      }),
    );
    assert.ok(swapped, result.stderr);
    assert.equal(result.code, 1, result.stderr);
    assert.equal(existsSync(marker), false, 'CMD ran on a model read through a link');
  });

  test('loadVerifiedDirectory', async (t) => {
    const signed = await signedDirectory(t, FILES);
    const { victim, outside } = setUp(signed);
    const options = { trust: trustKeys(signed.key.key.publicKey), signaturePath: join(signed.dir, 'model.sig'), threads: 1 };
    const { result: error, swapped } = await swappingOnOpen(victim, outside, () => loadVerifiedDirectory(signed.model, options).then(() => undefined, (e: unknown) => e));
    assert.ok(swapped);
    assert.ok(error instanceof ModelVerificationError, String(error));
    assertRefusedB(error.report);
  });

  test('verify --output (single-file model): no output file', async (t) => {
    const signed = await signedDirectory(t, FILES);
    // A single-file model: b.bin itself, signed on its own.
    const sign = await runCli(['sign', 'model/b.bin', '-k', signed.key.secretPath, '-o', 'b.sig'], { cwd: signed.dir });
    assert.equal(sign.code, 0, sign.stderr);
    const { victim, outside } = setUp(signed);
    const { result, swapped } = await swappingOnOpen(victim, outside, () =>
      runCli(['verify', 'model/b.bin', '-s', 'b.sig', '-p', signed.key.publicPath, '--output', 'out.bin', '--json', '--threads', '1'], { cwd: signed.dir }),
    );
    assert.ok(swapped);
    assert.equal(result.code, 1, result.stderr);
    assert.equal(existsSync(join(signed.dir, 'out.bin')), false);
  });

  test('without the swap, the same runs succeed (the tests above fail for the swap, nothing else)', async (t) => {
    const signed = await signedDirectory(t, FILES);
    assertCodes(await runCli(['verify', 'model', '-p', signed.key.publicPath, '--json', '--threads', '1'], { cwd: signed.dir }), 0, []);
    const { files } = await loadVerifiedDirectory(signed.model, { trust: trustKeys(signed.key.key.publicKey), signaturePath: join(signed.dir, 'model.sig'), threads: 1 });
    assert.equal(Buffer.from(files.get('b.bin')!).toString(), FILES['b.bin']);
  });
});
