/**
 * The CI recipes of docs/ci.md run as written (issue 8, item 14): this test parses the page
 * itself (never a copy), takes the shell lines of the GitHub Actions workflow (`run:`) and of the
 * GitLab CI file (`script:` items), and runs them in order with bash against a real model and a
 * real key held in MS_SIGN_KEY, as a CI secret would be. `npm install -g ms-sign` is the one
 * line not run: the repository's own build is on PATH instead (test/npm-install.test.ts
 * installs the packed tarballs the way that line would).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { cliBin, copyFixture, makeKey, repoRoot, tempDir } from './helpers/index.js';

const INSTALL = 'npm install -g ms-sign';

/** The ```yaml block under the heading `## title` of docs/ci.md. */
function yamlBlock(title: string): string {
  const page = readFileSync(join(repoRoot, 'docs', 'ci.md'), 'utf8');
  const section = page.split(/^## /m).find((s) => s.startsWith(`${title}\n`));
  assert.ok(section, `docs/ci.md has a "## ${title}" section`);
  const block = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, `a yaml block under "## ${title}"`);
  return block;
}

/** GitHub Actions: every single-line `run:` value, in order. */
function githubRunLines(yaml: string): string[] {
  return yaml
    .split('\n')
    .map((line) => /^\s*(?:- )?run: (.+)$/.exec(line)?.[1])
    .filter((command): command is string => command !== undefined)
    .map((command) => {
      assert.ok(!command.startsWith('|') && !command.startsWith('>'), 'run: values are single lines (docs/ci.md says so)');
      return command;
    });
}

/** GitLab CI: the items of every `script:` list, in order. */
function gitlabScriptLines(yaml: string): string[] {
  const lines: string[] = [];
  let scriptIndent: number | undefined;
  for (const line of yaml.split('\n')) {
    const indent = line.length - line.trimStart().length;
    if (/^\s*script:\s*$/.test(line)) {
      scriptIndent = indent;
      continue;
    }
    if (scriptIndent === undefined) continue;
    const item = /^\s*- (.+)$/.exec(line);
    if (item && indent > scriptIndent) lines.push(item[1]!);
    else if (line.trim() !== '' && indent <= scriptIndent) scriptIndent = undefined;
  }
  return lines;
}

async function runRecipe(t: Parameters<typeof tempDir>[0], commands: readonly string[], ciEnv: Record<string, string>) {
  const dir = tempDir(t);
  // ms-sign on PATH, as `npm install -g ms-sign` would put it.
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'ms-sign'), `#!/bin/sh\nexec "${process.execPath}" "${cliBin}" "$@"\n`);
  chmodSync(join(bin, 'ms-sign'), 0o755);
  const work = join(dir, 'repo');
  mkdirSync(work);
  copyFixture('parallel.ms', work, 'model.ms');
  const key = await makeKey(dir, 'release');
  writeFileSync(join(work, 'release.pub'), readFileSync(key.public));
  const secretText = readFileSync(key.secret, 'utf8');
  rmSync(key.secret);
  const env = { PATH: `${bin}:${process.env.PATH}`, HOME: dir, XDG_CONFIG_HOME: join(dir, '.config'), NO_COLOR: '1', MS_SIGN_KEY: secretText, ...ciEnv };
  const run = (command: string) => spawnSync('bash', ['-e', '-o', 'pipefail', '-c', command], { cwd: work, env, encoding: 'utf8' });
  assert.equal(commands.filter((c) => c === INSTALL).length, 2, 'each job installs ms-sign');
  for (const command of commands) {
    if (command === INSTALL) continue;
    const r = run(command);
    assert.equal(r.status, 0, `"${command}" failed:\n${r.stderr}${r.stdout}`);
  }
  return { work, key, run };
}

function checkOutcome(work: string, keyId: string, commit: string): void {
  assert.deepEqual(readFileSync(join(work, 'verified.ms')), readFileSync(join(work, 'model.ms')), 'the deploy job holds exactly the verified bytes');
  const report = JSON.parse(readFileSync(join(work, 'report.json'), 'utf8')) as {
    ok: boolean;
    subject: { version: string };
    annotations: Record<string, string>;
    signers: { keyId: string; valid: boolean }[];
  };
  assert.equal(report.ok, true);
  assert.equal(report.subject.version, '1.2.0');
  assert.equal(report.annotations.commit, commit);
  assert.deepEqual(report.signers.map((s) => [s.keyId, s.valid]), [[keyId, true]]);
}

describe('the CI recipes of docs/ci.md run as written', () => {
  test('GitHub Actions: sign on a tag, check, then verify into verified.ms; a tampered model fails the deploy step', async (t) => {
    const commands = githubRunLines(yamlBlock('GitHub Actions'));
    assert.ok(commands.length >= 5, `found ${commands.length} run: lines`);
    const sha = 'a'.repeat(40);
    const { work, key, run } = await runRecipe(t, commands, {
      GITHUB_REF_NAME: 'v1.2.0',
      GITHUB_SHA: sha,
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: 'acme/models',
      GITHUB_RUN_ID: '42',
    });
    checkOutcome(work, key.keyId, sha);
    const model = readFileSync(join(work, 'model.ms'));
    model[100]! ^= 1;
    writeFileSync(join(work, 'model.ms'), model);
    rmSync(join(work, 'verified.ms'));
    const deploy = commands.find((c) => c.includes('--output verified.ms'))!;
    assert.equal(run(deploy).status, 1, 'the deploy step fails on a tampered model');
  });

  test('GitLab CI: the same with CI_COMMIT_TAG and CI_COMMIT_SHA', async (t) => {
    const commands = gitlabScriptLines(yamlBlock('GitLab CI'));
    assert.ok(commands.length >= 5, `found ${commands.length} script: lines`);
    const sha = 'b'.repeat(40);
    const { work, key } = await runRecipe(t, commands, {
      CI_COMMIT_TAG: 'v1.2.0',
      CI_COMMIT_SHA: sha,
      CI_PIPELINE_URL: 'https://gitlab.example/acme/models/-/pipelines/7',
    });
    checkOutcome(work, key.keyId, sha);
  });
});
