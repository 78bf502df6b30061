/**
 * The library reports facts and codes; only the CLI names its own options. A message in core that
 * says "use --force" or "give it with -s" is wrong for every library user, so no string in
 * packages/core/src that builds an error may name a command-line flag.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from './helpers/index.js';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

// A flag inside a string literal or template: " --name", "(-o", "'-t'".
const FLAG = /(?:^|[\s('"`])--?[a-zA-Z][a-zA-Z-]*(?=[\s)'"`,;.:]|$)/;

test('no library message names a CLI flag', () => {
  const offenders: string[] = [];
  for (const file of sources(join(repoRoot, 'packages', 'core', 'src'))) {
    readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
      const code = line.trim();
      if (code.startsWith('*') || code.startsWith('//') || code.startsWith('/*')) return;
      for (const literal of code.match(/'[^']*'|`[^`]*`|"[^"]*"/g) ?? []) {
        if (FLAG.test(literal.slice(1, -1))) offenders.push(`${file.slice(repoRoot.length + 1)}:${i + 1}: ${literal}`);
      }
    });
  }
  assert.deepEqual(offenders, []);
});
