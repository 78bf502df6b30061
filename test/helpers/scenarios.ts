/**
 * Ready-made signed models for the tamper, setup and interop tests: a fresh temporary directory
 * with a real key, a copy of real fixtures and a signature made by the real CLI. Plus the two
 * assertions those tests share: the exit code with the exact `--json` error codes, and that no
 * secret reached stdout or stderr.
 */
import assert from 'node:assert/strict';
import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSecretKeyPem } from '@ms-sign/core';
import { nodeKeyFileCipher } from '@ms-sign/core/node';
import { cliOk, copyFixture, errorCodes, makeKey, runCli, tempDir, type CliResult } from './index.js';

type TestContext = Parameters<typeof tempDir>[0];

export interface SignedModel {
  /** The temporary directory every path below is relative to (the CLI runs there). */
  readonly dir: string;
  /** The model as given to the CLI, relative to `dir`. */
  readonly model: string;
  /** The signature file, relative to `dir`. */
  readonly sig: string;
  readonly key: { readonly secret: string; readonly public: string; readonly keyId: string };
}

/** A copy of one fixture signed as a single-file model. */
export async function signedFile(t: TestContext, fixtureName = 'parallel.ms'): Promise<SignedModel> {
  const dir = tempDir(t);
  const key = await makeKey(dir);
  copyFixture(fixtureName, dir);
  await cliOk(dir, ['sign', fixtureName, '-k', key.secret]);
  return { dir, model: fixtureName, sig: `${fixtureName}.sig`, key };
}

/** The files of `signedDirectory`'s model, relative to the model directory. */
export const DIRECTORY_MODEL_FILES = ['lenet_tod_infer.ms', 'nested/relu.mindir', 'parallel.ms'] as const;

/** A directory model of three fixtures, one of them in a nested folder, signed as `model`. */
export async function signedDirectory(t: TestContext): Promise<SignedModel> {
  const dir = tempDir(t);
  const key = await makeKey(dir);
  for (const path of DIRECTORY_MODEL_FILES) copyFixture(path.split('/').pop()!, join(dir, 'model'), path);
  await cliOk(dir, ['sign', 'model', '-k', key.secret]);
  return { dir, model: 'model', sig: 'model.sig', key };
}


/** `verify MODEL --json` with the key of `m` as the only trust anchor. */
export function verifyJson(m: SignedModel, ...extra: string[]): Promise<CliResult> {
  return runCli(['verify', m.model, '-p', m.key.public, '--json', ...extra], { cwd: m.dir });
}

/**
 * Asserts the exit code and exactly these error codes (in order) in the one JSON object a
 * `--json` run prints: codes, never messages, are the contract (SPEC section 2).
 */
export function assertFailure(r: CliResult, exitCode: 1 | 2, codes: readonly string[], context = ''): void {
  const where = context === '' ? '' : ` (${context})`;
  assert.equal(r.code, exitCode, `exit code${where}:\n${r.stdout}${r.stderr}`);
  assert.deepEqual(errorCodes(r), codes, `error codes${where}`);
  assert.equal(r.json<{ ok: boolean }>().ok, false, `ok${where}`);
}

/** The path fields of a --json result's errors, in order. */
export function errorPaths(r: CliResult): (string | undefined)[] {
  return r.json<{ errors: { path?: string }[] }>().errors.map((e) => e.path);
}

/** Makes a key file readable by its owner only, as ms-sign requires of secret keys. */
export function ownerOnly(path: string): string {
  chmodSync(path, 0o600);
  return path;
}

/**
 * Every form in which a secret could leak into output: the PEM body of each secret key file
 * (whole and line by line), its raw 32-byte seed in hex, base64 and base64url, and each passphrase.
 */
export async function secretForms(keyFiles: readonly string[], passphrases: readonly string[]): Promise<string[]> {
  const forms: string[] = [...passphrases];
  for (const file of keyFiles) {
    const pem = readFileSync(file, 'utf8');
    const body = pem.split('\n').filter((line) => line !== '' && !line.startsWith('-----'));
    // Short tail lines (a few base64 characters) could match by chance; whole lines of 16+ cannot.
    forms.push(body.join(''), ...body.filter((line) => line.length >= 16));
    const passphrase = passphrases[0];
    const key = await parseSecretKeyPem(pem, () => {
      if (passphrase === undefined) throw new Error(`${file} is encrypted: give its passphrase`);
      return passphrase;
    }, file, nodeKeyFileCipher);
    const seed = Buffer.from(key.seed);
    forms.push(seed.toString('hex'), seed.toString('base64').replace(/=+$/, ''), seed.toString('base64url'));
  }
  return forms;
}

/** Asserts that none of `secrets` appears in any stdout or stderr of `results`. */
export function assertNoSecrets(results: readonly CliResult[], secrets: readonly string[]): void {
  assert.ok(results.length > 0);
  for (const r of results) {
    for (const secret of secrets) {
      assert.ok(secret.length >= 8, 'a secret form this short would match by chance');
      assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), `a secret appears in the output:\n${r.stdout}${r.stderr}`);
    }
  }
}
