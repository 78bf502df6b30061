/**
 * Raw weights and other binary data often end in .bin, .dat or .data, and random bytes start like a
 * pickle (0x80, then a protocol byte 0..5) about once in 11,000 files. Such a file must not make
 * sign refuse a model: only a name that promises a pickle (.pkl, .pt, ...) makes a broken parse
 * `malformed`. Found by the benchmark: 20,000 random 4 KiB .bin files could not be signed.
 * Likewise for random bytes whose first fields look like an ONNX model's (ir_version, graph).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { makeKey, runCli, tempDir } from './helpers/index.js';

/** Bytes that start like a protocol-2 pickle, then break at once (0xf0 is no opcode). */
function pickleLookalike(): Buffer {
  return Buffer.concat([Buffer.from([0x80, 0x02, 0xf0]), randomBytes(4093)]);
}

describe('binary data that starts like a pickle', () => {
  test('.bin, .dat and .data files are unknown, and the model signs and verifies', async (t) => {
    const dir = tempDir(t);
    const model = join(dir, 'model');
    mkdirSync(model);
    for (const name of ['weights.bin', 'table.dat', 'blob.data']) writeFileSync(join(model, name), pickleLookalike());
    const scan = await runCli(['scan', 'model', '--json'], { cwd: dir });
    assert.equal(scan.code, 0, scan.stdout);
    const verdicts = scan.json<{ files: { path: string; verdict: string }[] }>().files.map((f) => [f.path, f.verdict]);
    assert.deepEqual(verdicts.sort(), [['blob.data', 'unknown'], ['table.dat', 'unknown'], ['weights.bin', 'unknown']]);
    const key = await makeKey(dir);
    const signed = await runCli(['sign', 'model', '-k', key.secret, '-o', 'model.sig'], { cwd: dir });
    assert.equal(signed.code, 0, signed.stderr);
    const verified = await runCli(['verify', 'model', '-s', 'model.sig', '-p', key.public], { cwd: dir });
    assert.equal(verified.code, 0, verified.stderr);
  });

  test('the same bytes named .pkl or .pt are a broken pickle: malformed, and sign refuses', async (t) => {
    const dir = tempDir(t);
    for (const name of ['state.pkl', 'state.pt']) {
      writeFileSync(join(dir, name), pickleLookalike());
      const scan = await runCli(['scan', name, '--json'], { cwd: dir });
      assert.equal(scan.code, 1, scan.stdout);
      assert.equal(scan.json<{ files: { verdict: string }[] }>().files[0]!.verdict, 'malformed');
    }
  });
});

/** Bytes whose first protobuf fields look like ONNX (ir_version 78, a graph field), then break (wire type 7). */
function onnxLookalike(): Buffer {
  return Buffer.concat([Buffer.from([0x08, 0x4e, 0x3a, 0x02, 0x61, 0x62, 0x07]), randomBytes(4089)]);
}

describe('binary data that starts like an ONNX model', () => {
  test('a .bin file is unknown (the model signs); named .onnx it is a broken ONNX model: malformed', async (t) => {
    const dir = tempDir(t);
    const model = join(dir, 'model');
    mkdirSync(model);
    const bytes = onnxLookalike();
    writeFileSync(join(model, 'weights.bin'), bytes);
    writeFileSync(join(dir, 'model.onnx'), bytes);
    const scan = await runCli(['scan', 'model', '--json'], { cwd: dir });
    assert.equal(scan.code, 0, scan.stdout);
    assert.deepEqual(scan.json<{ files: { format: string; verdict: string }[] }>().files.map((f) => [f.format, f.verdict]), [['unknown', 'unknown']]);
    const key = await makeKey(dir);
    const signed = await runCli(['sign', 'model', '-k', key.secret, '-o', 'model.sig'], { cwd: dir });
    assert.equal(signed.code, 0, signed.stderr);
    const named = await runCli(['scan', 'model.onnx', '--json'], { cwd: dir });
    assert.equal(named.code, 1, named.stdout);
    assert.deepEqual(named.json<{ files: { format: string; verdict: string }[] }>().files.map((f) => [f.format, f.verdict]), [['onnx', 'malformed']]);
  });
});
