/**
 * The documentation stands alone (issue 8, item 14): nothing in the repository points at a
 * contract or notes file that only exists outside it, and the README says how to install.
 * (The CI recipes are run by ci-recipes.test.ts, the examples by verify-before-load.test.ts.)
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { repoRoot } from './helpers/index.js';

// Spelled in pieces so that this file does not match itself.
const OUTSIDE_REFERENCES = [['SPEC', '.md'], ['SPEC', ' section'], ['..', '/shared'], ['OMS', '-NOTES'], ['SCAN', '-NOTES']].map((parts) => parts.join(''));

const SKIP_DIRS = new Set(['node_modules', 'dist', '.git', 'fixtures', 'data', 'bench-results']);
const TEXT = /\.(md|ts|mjs|js|py|cc|json|yaml|yml)$/;

function* textFiles(path: string): Generator<string> {
  if (statSync(path).isFile()) {
    if (TEXT.test(path)) yield path;
    return;
  }
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.isDirectory() && SKIP_DIRS.has(entry.name)) continue;
    yield* textFiles(join(path, entry.name));
  }
}

describe('the documentation stands alone', () => {
  test('no doc, source, example or test cites the contract or notes files that live outside the repository', () => {
    const roots = ['README.md', 'SECURITY.md', 'docs', 'examples', 'scripts', 'test', 'packages/core', 'packages/cli'].map((p) => join(repoRoot, p));
    const found: string[] = [];
    let scanned = 0;
    for (const root of roots) {
      for (const file of textFiles(root)) {
        scanned++;
        readFileSync(file, 'utf8')
          .split('\n')
          .forEach((line, i) => {
            for (const needle of OUTSIDE_REFERENCES) if (line.includes(needle)) found.push(`${relative(repoRoot, file)}:${i + 1}: ${line.trim()}`);
          });
      }
    }
    assert.ok(scanned > 100, `scanned ${scanned} files`);
    assert.deepEqual(found, [], 'say it in the repository\'s own words, or point at docs/');
  });

  test('no file carries a merge conflict marker left by a hand-resolved merge', () => {
    // Spelled with repeat() so that this file does not match itself.
    const marker = new RegExp(`^(${['<', '=', '>'].map((c) => c.repeat(7)).join('|')})( |$)`);
    const roots = ['README.md', 'SECURITY.md', 'docs', 'examples', 'scripts', 'test', 'conformance', 'packages/core', 'packages/cli', '.ci'].map((p) => join(repoRoot, p));
    const found: string[] = [];
    for (const root of roots) {
      for (const file of textFiles(root)) {
        readFileSync(file, 'utf8')
          .split('\n')
          .forEach((line, i) => {
            if (marker.test(line)) found.push(`${relative(repoRoot, file)}:${i + 1}`);
          });
      }
    }
    assert.deepEqual(found, []);
  });

  test('the README has an Install section: from npm, and from source today', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    const install = readme.split(/^## /m).find((s) => s.startsWith('Install\n'));
    assert.ok(install, 'README.md has "## Install"');
    assert.match(install, /npm install -g ms-sign/);
    assert.match(install, /From source/);
    assert.match(install, /npm run setup/);
    assert.match(install, /pnpm@12\.4\.2 pack/);
    // The quick start stays true: setup, then test.
    assert.match(readme, /npm run setup[^\n]*\nnpm test/);
  });

  test('each package ships a README and the Apache-2.0 LICENSE, and lists them in "files"', () => {
    for (const pkg of ['core', 'cli']) {
      const dir = join(repoRoot, 'packages', pkg);
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { license: string; files: string[] };
      assert.equal(manifest.license, 'Apache-2.0');
      assert.ok(manifest.files.includes('README.md') && manifest.files.includes('LICENSE'), `${pkg}: files lists README.md and LICENSE`);
      assert.match(readFileSync(join(dir, 'LICENSE'), 'utf8'), /Apache License\s+Version 2\.0, January 2004[\s\S]*END OF TERMS AND CONDITIONS/);
      assert.match(readFileSync(join(dir, 'README.md'), 'utf8'), /## Install[\s\S]*cbor-extract/);
    }
  });
});
