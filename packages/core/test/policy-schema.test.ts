/**
 * The trust-policy schema is compiled at run time without checking it against JSON Schema's
 * 2020-12 meta-schema (validateSchema: false: compiling the meta-schema cost ~40% of a verify with
 * a policy file). This test is that check: the shipped schema is a valid 2020-12 schema under
 * ajv's strict mode, so skipping it at run time skips nothing that could fail.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

function coreDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'pnpm-workspace.yaml'))) dir = dirname(dir);
  return join(dir, 'packages', 'core');
}

test('trust-policy.schema.json is a valid JSON Schema 2020-12 document (ajv strict mode)', () => {
  const core = coreDir();
  const schema = JSON.parse(readFileSync(join(core, 'src', 'policy', 'trust-policy.schema.json'), 'utf8')) as object;
  const Ajv = (createRequire(join(core, 'package.json'))('ajv/dist/2020') as { default: new (options: object) => { validateSchema(s: object): boolean; errors: unknown; compile(s: object): unknown } }).default;
  const ajv = new Ajv({ allErrors: true, strict: true });
  assert.equal(ajv.validateSchema(schema), true, JSON.stringify(ajv.errors));
  assert.doesNotThrow(() => ajv.compile(schema));
  // The check can fail: a schema with a wrong keyword type is refused.
  assert.equal(new Ajv({ strict: true }).validateSchema({ ...schema, type: 7 }), false);
});
