#!/usr/bin/env node
'use strict';
// Thin launcher: all logic is in dist/main.js (built from src/main.ts). It is CommonJS because an
// ES module entry makes Node start its ESM loader first (~10 ms of CPU, docs/performance.md).
//
// verify, exec, inspect and verify-raw run before a model loads, often once per process start,
// so they start from the one-file bundle (dist-bundle/ms-sign.cjs, `npm run build` writes it)
// when it is there and at least as new as both packages' last compile: one file read instead of
// ~80 module resolutions and reads. The bundle is the same compiled code; other commands (sign
// --pkcs11 needs a native addon the bundle cannot hold) and a stale or missing bundle take dist/.
//
// The bundle is compiled with V8's code cache for it when `npm run build` wrote one with this
// Node (dist-bundle/ms-sign.cjs.v8cache): the bytecode of what a verify runs, so start-up skips
// parsing and compiling ~0.7 MiB of JavaScript. The cache is bound to the bundle's exact bytes
// (SHA-256 in its first 32 bytes; V8 itself only checks the source length, its own version and
// flags): a cache for other bytes is ignored, never run. It is part of the installed package, as
// trusted as the bundle: nothing at run time writes it, and no option or environment variable
// names another file.
const { createHash } = require('node:crypto');
const { readFileSync, statSync, writeSync } = require('node:fs');
const { dirname, join } = require('node:path');

const BUNDLED_COMMANDS = new Set(['verify', 'exec', 'inspect', 'verify-raw']);
const bundlePath = join(__dirname, '..', 'dist-bundle', 'ms-sign.cjs');
const codeCachePath = `${bundlePath}.v8cache`;
const CACHE_KEY_BYTES = 32;

function bundleIsCurrent() {
  try {
    const built = statSync(bundlePath).mtimeMs;
    for (const info of ['../dist/.tsbuildinfo', '../../core/dist/.tsbuildinfo']) {
      const compiled = statSync(join(__dirname, info), { throwIfNoEntry: false });
      if (compiled !== undefined && compiled.mtimeMs > built) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/** The bundle's source as CommonJS would wrap it, and the cache key of exactly those bytes. */
function wrappedBundle() {
  const source = readFileSync(bundlePath);
  const key = createHash('sha256').update(source).digest();
  // The first line is a shebang, which is not JavaScript inside a function: comment it out.
  const text = source.toString('utf8').replace(/^#!/, '//');
  return { key, wrapped: `(function (exports, require, module, __filename, __dirname) {${text}\n})` };
}

/** Compiles the bundle (with its code cache when that cache was made for these bytes) and returns the compiled script. */
function compileBundle(useCache) {
  const vm = require('node:vm');
  const { key, wrapped } = wrappedBundle();
  let cachedData;
  if (useCache) {
    try {
      const cache = readFileSync(codeCachePath);
      if (cache.length > CACHE_KEY_BYTES && key.equals(cache.subarray(0, CACHE_KEY_BYTES))) cachedData = cache.subarray(CACHE_KEY_BYTES);
    } catch {
      // No cache (not built, or built by another Node): compile from source.
    }
  }
  const script = new vm.Script(wrapped, {
    filename: bundlePath,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  return { key, script };
}

/** Runs the compiled bundle as the module bundlePath; it runs main and sets process.exitCode. */
function runBundle(script) {
  const module_ = { exports: {}, filename: bundlePath, id: bundlePath, loaded: false };
  const requireFromBundle = require('node:module').createRequire(bundlePath);
  script.runInThisContext().call(module_.exports, module_.exports, requireFromBundle, module_, bundlePath, dirname(bundlePath));
}

function answerVersion() {
  // As main.ts would: no module of the CLI loads and no stdout stream is created (a pipe's
  // stream loads node:net), so `ms-sign --version` costs what `node -e 0` costs.
  const { version } = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'));
  try {
    writeSync(1, `${version}\n`);
  } catch (error) {
    if (error.code !== 'EPIPE') throw error;
    process.exitCode = 141; // a closed pipe, as main.ts reports it
  }
}

function launch(argv) {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) return answerVersion();
  if (BUNDLED_COMMANDS.has(argv[0]) && bundleIsCurrent()) return runBundle(compileBundle(true).script);
  void import('../dist/main.js').then(async ({ main, processIo }) => {
    process.exitCode = await main(argv, processIo());
  });
}

if (require.main === module) launch(process.argv.slice(2));
// scripts/build-code-cache.mjs compiles and runs the bundle the same way to write the cache.
else module.exports = { bundlePath, codeCachePath, CACHE_KEY_BYTES, compileBundle, runBundle };
