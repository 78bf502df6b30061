import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ERROR_CODES, SETUP_ERROR_CODES, VERIFICATION_FAILURE_CODES } from '@ms-sign/core';
import { EXIT_CODES, exitCodeFor } from 'ms-sign';
import { repoRoot } from '../../../test/helpers/index.js';

test('every error code has an exit code: 1 for verification failures, 2 for setup errors', () => {
  assert.deepEqual(Object.keys(EXIT_CODES).sort(), [...ERROR_CODES].sort());
  for (const code of VERIFICATION_FAILURE_CODES) assert.equal(EXIT_CODES[code], 1, code);
  for (const code of SETUP_ERROR_CODES) assert.equal(EXIT_CODES[code], 2, code);
});

test('docs/errors.md documents every error code', () => {
  const doc = readFileSync(join(repoRoot, 'docs', 'errors.md'), 'utf8');
  const missing = ERROR_CODES.filter((code) => !doc.includes(`| \`${code}\` |`));
  assert.deepEqual(missing, []);
});

test('the most severe problem decides the exit code', () => {
  assert.equal(exitCodeFor([]), 0);
  assert.equal(exitCodeFor([{ code: 'DIGEST_MISMATCH' }, { code: 'MISSING_FILE' }]), 1);
  assert.equal(exitCodeFor([{ code: 'DIGEST_MISMATCH' }, { code: 'IO_ERROR' }]), 2);
  assert.equal(exitCodeFor([{ code: 'COMMAND_NOT_FOUND' }]), 127);
});
