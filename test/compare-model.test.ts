/**
 * The digest comparison, called directly (the tamper matrix reaches it only through the CLI):
 * compareModel against a manifest built here from known bytes, with one byte changed at a time and
 * the size kept, so only the digest can tell.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { compareModel, walkModel } from '@ms-sign/core/internal';
import { fileEntry, manifestOf } from './helpers/crafted.js';
import { tempDir, writeFile } from './helpers/index.js';

const A = new TextEncoder().encode('first file of the model');
const B = new TextEncoder().encode('second file of the model, a little longer');

test('compareModel: equal bytes pass; one changed byte, same size, is DIGEST_MISMATCH for that file only', async (t) => {
  const dir = tempDir(t);
  writeFile(join(dir, 'model', 'a.bin'), A);
  writeFile(join(dir, 'model', 'b.bin'), B);
  const manifest = manifestOf([fileEntry('a.bin', A), fileEntry('b.bin', B)]);
  const model = join(dir, 'model');
  assert.deepEqual((await compareModel(manifest, walkModel(model), { threads: 1 })).problems, []);

  for (const at of [0, B.length >> 1, B.length - 1]) {
    const changed = new Uint8Array(B);
    changed[at]! ^= 0x01;
    writeFileSync(join(model, 'b.bin'), changed);
    const { problems } = await compareModel(manifest, walkModel(model), { threads: 1 });
    assert.deepEqual(
      problems.map((p) => [p.code, p.path]),
      [['DIGEST_MISMATCH', 'b.bin']],
      `byte ${at} flipped`,
    );
  }
});
