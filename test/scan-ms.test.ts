/**
 * The MindSpore Lite .ms scanner on real files: the fixtures (clean; the legacy one with its
 * note), hostile variants patched into copies of parallel.ms, synthetic models for what the
 * fixtures lack, and the Verifier DAG bomb, which must be flagged in linear time.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BufferSource, MS_TABLES, MS_UNION_MEMBERS, scanFile, verifyMsBuffer, type FileScanResult } from '@ms-sign/core';
import { fixture, repoRoot } from './helpers/index.js';
import { dagBomb, HOSTILE_MS_VARIANTS, model, node, subgraph, SYNTHETIC_MS_MODELS, tensor } from './helpers/ms-models.js';

const scan = (bytes: Uint8Array, name = 'model.ms', modelFiles?: string[]): FileScanResult =>
  scanFile(new BufferSource(bytes), name, modelFiles ? { modelFiles: new Set(modelFiles) } : {});
const codes = (r: FileScanResult) => r.findings.map((f) => f.code);

const FIXTURE_INFO = [
  ['parallel.ms', 'MindSpore Lite 1.3.0', 12, 25, 1],
  ['conv_train_model.ms', 'MindSpore Lite 1.2.0', 17, 36, 1],
  ['lenet_tod_infer.ms', 'MindSpore Lite 1.5.0', 13, 27, 1],
  ['ml_face_isface.ms', 'MindSpore Lite 1.5.0', 15, 29, 1],
] as const;

test('the four MSL2 fixtures are clean, with their version and graph sizes', () => {
  for (const [name, version, nodes, tensors, subgraphs] of FIXTURE_INFO) {
    const r = scan(readFileSync(fixture(name)), name);
    assert.equal(r.format, 'mindspore-lite-ms', name);
    assert.equal(r.verdict, 'clean', `${name}: ${codes(r).join(', ')}`);
    assert.deepEqual(r.findings, [], name);
    assert.deepEqual({ ...r.formatInfo, liteVisits: undefined }, { identifier: 'MSL2', version, nodes, tensors, subgraphs, liteVisits: undefined }, name);
  }
});

test('the legacy retinaface0924.ms (no identifier, v0 layout, no subgraph list) is clean with MS_LEGACY_SCHEMA', () => {
  const r = scan(readFileSync(fixture('retinaface0924.ms')), 'retinaface0924.ms');
  assert.equal(r.format, 'mindspore-lite-ms');
  assert.equal(r.verdict, 'clean');
  assert.deepEqual(codes(r), ['MS_LEGACY_SCHEMA']);
  assert.equal(r.formatInfo?.identifier, 'none');
  assert.equal(r.formatInfo?.nodes, 349);
  assert.equal(r.formatInfo?.tensors, 549);
  assert.equal(r.formatInfo?.version, 'MindSpore Lite 1.0.0');
});

test('hostile variants of parallel.ms get the verdict and code Lite\'s behaviour calls for', () => {
  const parallel = readFileSync(fixture('parallel.ms'));
  for (const v of HOSTILE_MS_VARIANTS) {
    const r = scan(v.make(parallel), `${v.name}.ms`);
    assert.equal(r.verdict, v.verdict, `${v.name} (${v.how}): ${codes(r).join(', ')}`);
    assert.ok(codes(r).includes(v.code as never), `${v.name}: expected ${v.code}, got ${codes(r).join(', ')}`);
  }
});

test('a structural failure is reported once, at the first rule Lite breaks, with its offset', () => {
  const parallel = readFileSync(fixture('parallel.ms'));
  const r = scan(HOSTILE_MS_VARIANTS.find((v) => v.name === 'root_oob')!.make(parallel));
  assert.deepEqual(codes(r), ['MS_FB_OUT_OF_BOUNDS']);
  assert.equal(r.findings[0]!.offset, 0);
});

test('synthetic models: PartialFusion, external data, unknown ops, enums, graph rules', () => {
  for (const m of SYNTHETIC_MS_MODELS) {
    const r = scan(m.make(), `${m.name}.ms`);
    assert.equal(r.verdict, m.verdict, `${m.name}: ${codes(r).join(', ')}`);
    if (m.code !== undefined) assert.ok(codes(r).includes(m.code as never), `${m.name}: expected ${m.code}, got ${codes(r).join(', ')}`);
    if (m.notCode !== undefined) assert.ok(!codes(r).includes(m.notCode as never), `${m.name}: unexpected ${m.notCode}`);
  }
});

test('external data resolves against the model\'s files, never the disk', () => {
  const bytes = model({ tensors: [tensor(), tensor(), tensor({ nodeType: { scalar: 'i32', value: 0 }, externalData: undefined as never })] });
  assert.equal(scan(bytes).verdict, 'clean');
  const ext = SYNTHETIC_MS_MODELS.find((m) => m.name === 'external_unsigned')!.make();
  // The same reference passes once the weight file is part of the model being scanned.
  assert.equal(scan(ext, 'model.ms', ['model.ms', 'weights.msw']).verdict, 'clean');
  assert.deepEqual(codes(scan(ext, 'model.ms', ['model.ms'])), ['MS_EXTERNAL_DATA_UNSIGNED']);
  // Relative to the .ms file's own directory.
  assert.equal(scan(ext, 'sub/model.ms', ['sub/model.ms', 'sub/weights.msw']).verdict, 'clean');
  assert.equal(scan(ext, 'sub/model.ms', ['sub/model.ms', 'weights.msw']).verdict, 'unsafe');
  const sizes = new Map([['weights.msw', 8]]);
  const r = scanFile(new BufferSource(ext), 'model.ms', { modelFiles: new Set(['model.ms', 'weights.msw']), modelFileSizes: sizes });
  assert.deepEqual(codes(r), ['MS_EXTERNAL_DATA_RANGE'], 'offset 0 + length 16 > 8 bytes');
});

test('the DAG bomb: Lite would visit n(m + 1) + 1 tables; the scanner counts them without visiting', () => {
  const v = verifyMsBuffer(new BufferSource(dagBomb(300, 200)), true);
  assert.equal(v.liteVisits, 1 + 300 * (1 + 200));
  assert.equal(v.tables, 3);
  // 30000 x 30000 is the 240 KB file Lite's own verifier spends about 31 s on.
  const big = dagBomb(30_000, 30_000);
  assert.ok(big.length < 250_000);
  const r = scan(big);
  assert.equal(r.verdict, 'unsafe');
  const finding = r.findings.find((f) => f.code === 'MS_FB_AMPLIFICATION')!;
  assert.equal(finding.detail?.visits, 1 + 30_000 * 30_001);
});

test('graph checks are linear: a subgraph listing one node a million times', () => {
  const many = new Array<number>(1_000_000).fill(0);
  const r = scan(model({ subgraphs: [subgraph([0], [1], many, [0, 1])] }));
  assert.equal(r.verdict, 'malformed');
  // One error per repeat would be a million: the list is capped, the verdict kept.
  assert.equal(r.findings.filter((f) => f.code === 'MS_DUPLICATE_INDEX').length, 100);
  assert.ok(codes(r).includes('SCAN_FINDINGS_TRUNCATED'));
});

test('nodes shared a million times stay within the graph checks\' work budget', () => {
  const shared = node('a', 'Activation', [0], [1]);
  const r = scan(model({ nodes: new Array(1_000_000).fill(shared) }));
  assert.notEqual(r.verdict, 'clean');
  assert.ok(codes(r).includes('MS_FB_SHARED_TABLE'));
});

test('the field table is the one derived from Lite\'s schema: 231 tables, 221 union members', async (t) => {
  assert.equal(Object.keys(MS_TABLES).length, 231);
  assert.equal(MS_UNION_MEMBERS.length, 222);
  assert.equal(MS_UNION_MEMBERS[108], 'PartialFusion');
  assert.equal(MS_UNION_MEMBERS[190], 'Call');
  assert.equal(MS_UNION_MEMBERS[191], 'Custom');
  // The schema files are not in this repository; CI has them beside the clone.
  const schemaDir = join(repoRoot, '..', 'shared', 'fixtures', 'mindspore-lite', 'schema');
  if (!existsSync(schemaDir)) return t.skip('MindSpore Lite schema files not present');
  const { generateMsSchema } = (await import(join(repoRoot, 'scripts', 'gen-ms-schema.mjs'))) as { generateMsSchema: (dir: string) => string };
  assert.equal(generateMsSchema(schemaDir), readFileSync(join(repoRoot, 'packages', 'core', 'src', 'scan', 'ms', 'schema.ts'), 'utf8'));
});
