/**
 * MindIR and MindSpore checkpoints, and the protobuf walker under them: the real relu.mindir
 * fixture, and the hand-encoded files of test/fixtures/scan/mindspore (written by
 * test/tools/make-mindspore-protobuf.py, with their expected verdicts in expected.json), scanned
 * from disk as `ms-sign scan` reads them.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BufferSource, ScanAbort, scanFile, walkProtobuf, type ProtoSchema } from '@ms-sign/core';
import { scanModel } from '@ms-sign/core/node';
import { fixture, repoRoot } from './helpers/index.js';

const dir = join(repoRoot, 'test', 'fixtures', 'scan', 'mindspore');
const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Record<string, { verdict: string; codes: string[] }>;

test('relu.mindir (exported by MindSpore 1.5) is clean, with its versions and one node', () => {
  const r = scanFile(new BufferSource(readFileSync(fixture('relu.mindir'))), 'relu.mindir');
  assert.equal(r.format, 'mindir');
  assert.equal(r.verdict, 'clean');
  assert.equal(r.formatInfo?.irVersion, '0.1.0');
  assert.equal(r.formatInfo?.producer, 'MindSpore');
  assert.equal(r.formatInfo?.modelVersion, '1.5.0rc1');
  assert.equal(r.formatInfo?.nodes, 1);
});

test('every generated MindIR and checkpoint file gets its expected verdict and codes', () => {
  const report = scanModel(dir);
  const byPath = new Map(report.files.map((f) => [f.path, f]));
  assert.ok(Object.keys(expected).length >= 15);
  for (const [path, want] of Object.entries(expected)) {
    const got = byPath.get(path);
    assert.ok(got !== undefined, `${path} was not scanned`);
    const codes = got.findings.map((f) => f.code);
    assert.equal(got.verdict, want.verdict, `${path}: ${codes.join(', ')}`);
    for (const code of want.codes) assert.ok(codes.includes(code as never), `${path}: expected ${code}, got ${codes.join(', ')}`);
    assert.equal(got.format, path.endsWith('.ckpt') ? 'mindspore-ckpt' : 'mindir', path);
  }
  assert.equal(report.ok, false);
});

test('external data is checked against the scanned file set: the weights next to the model pass', () => {
  const inside = scanModel(join(dir, 'external_ok'));
  assert.equal(inside.files.find((f) => f.path === 'model.mindir')?.verdict, 'clean');
  // Scanned alone, the same model names a file that is not part of what is scanned.
  const alone = scanModel(join(dir, 'external_ok', 'model.mindir'));
  assert.deepEqual(alone.files[0]!.findings.map((f) => f.code), ['MINDIR_EXTERNAL_DATA_UNSIGNED']);
});

const schema: ProtoSchema = { M: { 1: { name: 'child', type: { kind: 'message', message: 'M' } }, 2: { name: 'n', type: { kind: 'varint' }, repeated: true } } };
const walk = (bytes: number[], maxDepth?: number) => {
  try {
    walkProtobuf(new BufferSource(Uint8Array.from(bytes)), 'M', schema, {}, { invalidCode: 'ONNX_INVALID', ...(maxDepth ? { maxDepth } : {}) });
    return 'ok';
  } catch (error) {
    assert.ok(error instanceof ScanAbort, String(error));
    return error.code;
  }
};

test('the protobuf walker: varints, wire types, lengths and depth follow libprotobuf', () => {
  assert.equal(walk([0x10, 0x05]), 'ok');
  assert.equal(walk([0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), 'ok', 'a 10-byte varint with a last byte of 1');
  assert.equal(walk([0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]), 'ONNX_INVALID', 'a 10th byte above 1 overflows');
  assert.equal(walk([0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00]), 'ONNX_INVALID', 'longer than 10 bytes');
  for (const wire of [3, 4, 6, 7]) assert.equal(walk([0x18 | wire]), 'ONNX_INVALID', `wire type ${wire}`);
  assert.equal(walk([0x0a, 0x05, 0x10]), 'ONNX_INVALID', 'a length past the end');
  assert.equal(walk([0x0a, 0x03, 0x0a, 0x05, 0x10]), 'ONNX_INVALID', 'a nested length past its message');
  assert.equal(walk([0x12, 0x03, 0x01, 0x02, 0x03]), 'ok', 'packed repeated varints');
  assert.equal(walk([0x00, 0x01]), 'ONNX_INVALID', 'field number 0');
  // Nesting: 3 levels pass a limit of 3, 4 do not.
  const nest = (depth: number) => {
    let m: number[] = [0x10, 0x01];
    for (let i = 0; i < depth; i++) m = [0x0a, m.length, ...m];
    return m;
  };
  assert.equal(walk(nest(3), 3), 'ok');
  assert.equal(walk(nest(4), 3), 'SCAN_LIMIT_EXCEEDED');
});

test('the protobuf walker is iterative: 100,000 nested messages hit the limit, not the stack', () => {
  // Built from the inside out with 5-byte lengths so each level is a fixed 6 bytes.
  const levels = 100_000;
  const bytes = new Uint8Array(levels * 6);
  for (let i = 0; i < levels; i++) {
    const remaining = (levels - i - 1) * 6;
    bytes.set([0x0a, 0x80 | (remaining & 0x7f), 0x80 | ((remaining >> 7) & 0x7f), 0x80 | ((remaining >> 14) & 0x7f), 0x80 | ((remaining >> 21) & 0x7f), remaining >> 28], i * 6);
  }
  const r = scanFile(new BufferSource(bytes), 'deep.bin');
  assert.notEqual(r.verdict, 'clean');
  assert.equal(walk([...bytes], 1_000_000), 'ok');
});
