#!/usr/bin/env node
// Thin launcher: all logic is in dist/main.js (built from src/main.ts).
//
// verify, exec, inspect and verify-raw run before a model loads, often once per process start,
// so they start from the one-file bundle (dist-bundle/ms-sign.cjs, `npm run build` writes it)
// when it is there and at least as new as both packages' last compile: one file read instead of
// ~80 module resolutions and reads (docs/performance.md, Start-up). The bundle is the same
// compiled code; other commands (sign --pkcs11 needs a native addon the bundle cannot hold) and
// a stale or missing bundle take dist/ as before.
import { readFileSync, statSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const BUNDLED_COMMANDS = new Set(['verify', 'exec', 'inspect', 'verify-raw']);

function currentBundle() {
  const url = new URL('../dist-bundle/ms-sign.cjs', import.meta.url);
  try {
    const built = statSync(url).mtimeMs;
    for (const info of ['../dist/.tsbuildinfo', '../../core/dist/.tsbuildinfo']) {
      const compiled = statSync(new URL(info, import.meta.url), { throwIfNoEntry: false });
      if (compiled !== undefined && compiled.mtimeMs > built) return undefined;
    }
    return url;
  } catch {
    return undefined;
  }
}

const argv = process.argv.slice(2);
const bundle = BUNDLED_COMMANDS.has(argv[0]) ? currentBundle() : undefined;
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  // Answered here, as main.ts would: no module of the CLI loads and no stdout stream is created
  // (a pipe's stream loads node:net), so `ms-sign --version` costs what `node -e 0` costs.
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  try {
    writeSync(1, `${version}\n`);
  } catch (error) {
    if (error.code !== 'EPIPE') throw error;
    process.exitCode = 141; // a closed pipe, as main.ts reports it
  }
} else if (bundle !== undefined) {
  createRequire(import.meta.url)(fileURLToPath(bundle)); // runs main and sets process.exitCode
} else {
  const { main, processIo } = await import('../dist/main.js');
  process.exitCode = await main(argv, processIo());
}
