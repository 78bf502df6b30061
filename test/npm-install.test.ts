/**
 * ms-sign installs as any npm CLI (issue 8, item 13): `pnpm pack` both packages (which turns
 * `workspace:*` into the real version), `npm install -g --prefix TMP` the two tarballs together,
 * then run TMP/bin/ms-sign: --version, keygen, sign and verify of a real model.
 *
 * The tarballs' third-party dependencies (commander, cbor-x, @noble/*, ajv) come from npm's cache
 * when it has them (--prefer-offline), else from the registry: on a fresh machine this test needs
 * the network, as `npm run setup` does. `--ignore-scripts` shows that ms-sign works without the
 * optional native cbor-extract build (README, "Install").
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { copyFixture, repoRoot, tempDir } from './helpers/index.js';

const PNPM = ['-y', 'pnpm@12.4.2'];

function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: 300_000 });
  if (r.error) throw r.error;
  return r;
}

function packageJsonOf(tarball: string, cwd: string): { version: string; dependencies: Record<string, string> } {
  const r = run('tar', ['-xzOf', tarball, 'package/package.json'], cwd);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { version: string; dependencies: Record<string, string> };
}

describe('ms-sign installs from its packed tarballs with npm', () => {
  test('pnpm pack both packages, npm install -g them into a temporary prefix, and sign and verify with the installed ms-sign', async (t) => {
    const dir = tempDir(t, 'ms-sign-npm-');
    const packs = join(dir, 'packs');
    mkdirSync(packs);
    for (const pkg of ['core', 'cli']) {
      const r = run('npx', [...PNPM, 'pack', '--pack-destination', packs], join(repoRoot, 'packages', pkg));
      assert.equal(r.status, 0, `pnpm pack in packages/${pkg}: ${r.stderr}${r.stdout}`);
    }
    const { version } = JSON.parse(readFileSync(join(repoRoot, 'packages', 'cli', 'package.json'), 'utf8')) as { version: string };
    const coreTgz = join(packs, `ms-sign-core-${version}.tgz`);
    const cliTgz = join(packs, `ms-sign-${version}.tgz`);
    assert.ok(existsSync(coreTgz) && existsSync(cliTgz), 'both tarballs are packed');

    // workspace:* became the real version, so npm can resolve the CLI's core.
    assert.equal(packageJsonOf(cliTgz, dir).dependencies['@ms-sign/core'], version);
    for (const tgz of [coreTgz, cliTgz]) {
      const listing = run('tar', ['-tzf', tgz], dir).stdout.split('\n');
      for (const file of ['package/README.md', 'package/LICENSE', 'package/package.json']) assert.ok(listing.includes(file), `${tgz} holds ${file}`);
      assert.match(run('tar', ['-xzOf', tgz, 'package/LICENSE'], dir).stdout, /Apache License\s+Version 2\.0, January 2004[\s\S]*END OF TERMS AND CONDITIONS/);
      assert.ok(!listing.some((f) => f.includes('/test/') || f.endsWith('.ts') && !f.endsWith('.d.ts')), 'no tests or sources in the package');
    }

    const prefix = join(dir, 'prefix');
    const npmEnv = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
    let install = run('npm', ['install', '-g', '--prefix', prefix, '--offline', '--ignore-scripts', coreTgz, cliTgz], dir, npmEnv);
    if (install.status !== 0) {
      t.diagnostic('npm cache lacks the third-party dependencies: installing them from the registry');
      install = run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--ignore-scripts', coreTgz, cliTgz], dir, npmEnv);
    }
    assert.equal(install.status, 0, `npm install -g: ${install.stderr}`);

    const bin = join(prefix, 'bin', 'ms-sign');
    // A clean environment: nothing of this repository on the module path.
    const env = { PATH: `${join(prefix, 'bin')}:${process.env.PATH}`, HOME: dir, XDG_CONFIG_HOME: join(dir, '.config'), NO_COLOR: '1' };
    const work = join(dir, 'work');
    mkdirSync(work);
    const versionRun = run(bin, ['--version'], work, env);
    assert.equal(versionRun.status, 0, versionRun.stderr);
    assert.equal(versionRun.stdout, `${version}\n`);
    copyFixture('parallel.ms', work);
    for (const args of [['keygen', '--no-passphrase'], ['sign', 'parallel.ms', '-q'], ['verify', 'parallel.ms', '-p', 'ms-sign.pub']]) {
      const r = run(bin, args, work, env);
      assert.equal(r.status, 0, `installed ms-sign ${args.join(' ')}: ${r.stderr}`);
    }
    // The installed CLI runs the installed core, not this checkout's.
    const where = run(process.execPath, ['-e', 'console.log(require.resolve("@ms-sign/core/package.json"))'], join(prefix, 'lib', 'node_modules', 'ms-sign'), env);
    assert.ok(where.stdout.startsWith(prefix), where.stdout + where.stderr);
  });
});
