/**
 * Error codes of library calls, for tests that assert codes, never messages (STYLE: sigstore-js
 * asserts the class and the code). Light on purpose: unit tests of packages/core import it
 * without loading the CLI.
 */
import assert from 'node:assert/strict';
import { MsSignError } from '@ms-sign/core';

function codeOf(error: unknown): string {
  assert.ok(error instanceof MsSignError, `expected an MsSignError, got ${String(error)}`);
  return error.code;
}

/** The MsSignError code `run` throws, or undefined when it returns. */
export function thrownCode(run: () => unknown): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return codeOf(error);
  }
}

/** The MsSignError code `promise` rejects with, or undefined when it resolves. */
export async function rejectedCode(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return codeOf(error);
  }
}
