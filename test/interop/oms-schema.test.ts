/**
 * The OMS v1.0 JSON Schemas (bundle level, then the decoded statement, as the spec's own validator
 * applies them): every corpus bundle and valid vector passes, the invalid vectors fail, and so do
 * bundles ms-sign exports.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { ecdsaKeySigner } from '@ms-sign/core/node';
import { signOmsModel } from '@ms-sign/core/node';
import { repoRoot, tempDir } from '../helpers/index.js';
import { CASES, corpusDir, interopDir, vectorsDir } from './corpus.js';

interface Validator {
  (data: unknown): boolean;
  errors?: unknown[] | null;
}
type AjvInstance = { addSchema(s: object): void; getSchema(id: string): Validator | undefined };

const schemaDir = join(interopDir, 'oms-spec-schemas', 'v1.0');
// ajv is a dependency of @ms-sign/core (the trust-policy schema); JSON Schema 2020-12 entry point.
const Ajv2020 = (createRequire(join(repoRoot, 'packages', 'core', 'package.json'))('ajv/dist/2020') as { default: new (o: object) => AjvInstance }).default;
const ajv = new Ajv2020({ allErrors: true, strict: false });
for (const f of readdirSync(schemaDir)) ajv.addSchema(JSON.parse(readFileSync(join(schemaDir, f), 'utf8')));
const bundleSchema = ajv.getSchema('https://model_signing/bundle/v1.0/schema')!;
const statementSchema = ajv.getSchema('https://model_signing/statement/v1.0/schema')!;

/** The spec validator's two levels; a Digests/v0.1 statement is exempt from the second, as there. */
function omsValid(text: string): boolean {
  let bundle: { dsseEnvelope?: { payload?: string } };
  try {
    bundle = JSON.parse(text);
  } catch {
    return false;
  }
  if (!bundleSchema(bundle)) return false;
  const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope!.payload!, 'base64').toString('utf8'));
  return statement.predicateType === 'https://model_signing/Digests/v0.1' || statementSchema(statement);
}

test('every corpus bundle passes the OMS schemas', () => {
  for (const c of CASES) assert.ok(omsValid(readFileSync(join(corpusDir, c.name, 'model.sig'), 'utf8')), c.name);
});

test('the OMS vectors get their verdicts from the schemas', () => {
  for (const kind of ['valid', 'invalid', 'invalid-payload']) {
    for (const f of readdirSync(join(vectorsDir, kind))) {
      assert.equal(omsValid(readFileSync(join(vectorsDir, kind, f), 'utf8')), kind === 'valid', `${kind}/${f}`);
    }
  }
});

test('exported bundles pass the OMS schemas (directory and single file)', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'a'), 'a');
  writeFileSync(join(dir, 'b'), 'b');
  const signer = ecdsaKeySigner(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
  for (const model of [dir, join(dir, 'a')]) {
    const { bundle } = await signOmsModel(model, { signer, signaturePath: join(dir, 'model.sig') });
    assert.ok(omsValid(new TextDecoder().decode(bundle)), JSON.stringify(bundleSchema.errors ?? statementSchema.errors));
  }
});
