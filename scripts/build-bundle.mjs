#!/usr/bin/env node
// Builds the ms-sign CLI as one CommonJS file, packages/cli/dist-bundle/ms-sign.cjs, from the
// compiled packages (run `npm run build` first; `npm run build:bundle` does both). The file runs
// on any Node >= 20.19 with nothing beside it, and it is what the single binaries embed
// (scripts/build-binary.mjs). What bundling changes, and nothing else:
//  - the hash worker is started from its own bundled source (eval) instead of a worker.js file;
//  - cbor-x's optional native decoder (cbor-extract) is never looked for;
//  - a native addon (a .node file) cannot be in one file: the packages that need one are
//    replaced by a module that throws NATIVE_ADDON_UNAVAILABLE when loaded;
//  - `createRequire(import.meta.url)(X)` becomes `require(X)`, so that X is bundled too.
// The build fails if anything is left that needs a file beside the bundle (import.meta, .node).
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const coreDist = join(root, 'packages', 'core', 'dist');
const cliDist = join(root, 'packages', 'cli', 'dist');
export const bundleDir = join(root, 'packages', 'cli', 'dist-bundle');
export const bundlePath = join(bundleDir, 'ms-sign.cjs');

/** Packages that load a native addon: not in the bundle, a clear error instead. */
const NATIVE_PACKAGES = ['cbor-extract', 'pkcs11js'];
/** What both bundles (the worker's and the CLI's) are: one minified CommonJS file for Node >= 20.19. */
const COMMON = { bundle: true, platform: 'node', format: 'cjs', target: 'node20.19', write: false, minify: true, logLevel: 'warning' };

const nativeStub = (name) => `
const error = new Error(${JSON.stringify(`${name} is a native addon, which is not available in the single binary or the one-file bundle; use the npm package of ms-sign (with Node.js) for this feature`)});
error.code = 'NATIVE_ADDON_UNAVAILABLE';
throw error;
`;

/**
 * Builtins a verify of a small model never uses, loaded on first use instead of when the bundle
 * starts: node:child_process (commander requires it at load for executable sub-commands, which
 * ms-sign has none of; exec's spawn) also loads node:net and node:dgram, ~5 ms; node:worker_threads
 * (the hash workers, which a small model's verify does not start) ~4 ms. Each becomes a module of
 * getters, one per export of the builtin, that require the real builtin the first time any is
 * read: the same functions and values, only later. (Code that reads an export the build's Node
 * lacks would get undefined: the bundle's own code is compiled against this Node's types.)
 */
const LAZY_BUILTINS = ['node:child_process', 'node:worker_threads'];

function lazyBuiltin(name) {
  const getters = Object.keys(createRequire(import.meta.url)(name)).map(
    (key) => `Object.defineProperty(exports, ${JSON.stringify(key)}, { enumerable: true, get: () => load()[${JSON.stringify(key)}] });`,
  );
  return `let loaded;\nconst load = () => (loaded ??= require(${JSON.stringify(name)}));\n${getters.join('\n')}\n`;
}

function stripImportMetaRequire(source) {
  return source.replace(/createRequire\(import\.meta\.url\)\(/g, 'require(');
}

async function bundleWorker() {
  const result = await build({
    ...COMMON,
    entryPoints: [join(coreDist, 'node', 'hash', 'worker.js')],
  });
  const code = result.outputFiles[0].text;
  // The worker's graph is node builtins and hash/* only (worker.ts): nothing to resolve at run time.
  if (/\brequire\("(?!node:)/.test(code)) throw new Error('the hash worker bundle requires a non-builtin module');
  return code;
}

function msSignPlugin(workerCode) {
  const requireFromCore = createRequire(join(root, 'packages', 'core', 'package.json'));
  const cborX = join(dirname(requireFromCore.resolve('cbor-x/package.json')), 'index.js');
  return {
    name: 'ms-sign-bundle',
    setup(b) {
      // cbor-x's node entry probes for cbor-extract; its plain entry is the same API without it.
      b.onResolve({ filter: /^cbor-x$/ }, () => ({ path: cborX }));
      b.onResolve({ filter: new RegExp(`^(${NATIVE_PACKAGES.join('|')})(/.*)?$`) }, (args) => ({ path: args.path, namespace: 'native-stub' }));
      b.onLoad({ filter: /.*/, namespace: 'native-stub' }, (args) => ({ contents: nativeStub(args.path), loader: 'js' }));
      // The lazy module's own require is the real builtin.
      b.onResolve({ filter: new RegExp(`^(${LAZY_BUILTINS.join('|')})$`) }, (args) =>
        args.namespace === 'lazy-builtin' ? { path: args.path, external: true } : { path: args.path, namespace: 'lazy-builtin' },
      );
      b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({ contents: lazyBuiltin(args.path), loader: 'js' }));
      b.onResolve({ filter: /\/worker-script\.js$/ }, () => ({ path: 'worker-script', namespace: 'hash-worker' }));
      b.onLoad({ filter: /.*/, namespace: 'hash-worker' }, () => ({
        contents: `export function hashWorkerScript() { return { script: ${JSON.stringify(workerCode)}, eval: true }; }`,
        loader: 'js',
      }));
      b.onLoad({ filter: /\.[cm]?js$/ }, (args) => ({ contents: stripImportMetaRequire(readFileSync(args.path, 'utf8')), loader: 'js' }));
      b.onLoad({ filter: /\.node$/ }, (args) => {
        throw new Error(`native addon ${args.path} cannot be bundled: add its package to NATIVE_PACKAGES`);
      });
    },
  };
}

export async function buildBundle() {
  const workerCode = await bundleWorker();
  const entry = `import { main, processIo } from ${JSON.stringify(join(cliDist, 'main.js'))};
main(process.argv.slice(2), processIo()).then((code) => { process.exitCode = code; });`;
  const result = await build({
    ...COMMON,
    stdin: { contents: entry, resolveDir: root, sourcefile: 'ms-sign-bundle-entry.js', loader: 'js' },
    legalComments: 'eof',
    banner: { js: '#!/usr/bin/env node' },
    plugins: [msSignPlugin(workerCode)],
  });
  const code = result.outputFiles[0].text;
  if (code.includes('import.meta')) throw new Error('the bundle still uses import.meta: something would look for a file beside it');
  if (code.includes('cbor-extract') && !code.includes('NATIVE_ADDON_UNAVAILABLE')) throw new Error('the bundle looks for cbor-extract');
  mkdirSync(bundleDir, { recursive: true });
  const tmp = `${bundlePath}.tmp`;
  writeFileSync(tmp, code);
  chmodSync(tmp, 0o755);
  renameSync(tmp, bundlePath);
  return { path: bundlePath, bytes: Buffer.byteLength(code) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { path, bytes } = await buildBundle();
  console.log(`wrote ${path} (${(bytes / 1024).toFixed(0)} KiB)`);
  // The launcher's code cache for this bundle and this Node (scripts/build-code-cache.mjs).
  const { buildCodeCache } = await import('./build-code-cache.mjs');
  buildCodeCache();
  console.log(`wrote ${path}.v8cache`);
}
