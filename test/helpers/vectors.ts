/**
 * The Ed25519 vectors of test/data/vectors (see its README) and the verdict ms-sign must give on
 * each: read by the vectors test and by the conformance suite's generator.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataDir } from './index.js';

export interface VectorCase {
  readonly id: string;
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
  /** Whether a strict RFC 8032 verifier that refuses small-order keys accepts it (the README). */
  readonly accept: boolean;
  /** The secret seed, where the vector gives one. */
  readonly seed?: Uint8Array;
}

interface VectorFile {
  readonly cases: (json: unknown) => VectorCase[];
  /** How many cases the file holds, and how many of them must be accepted. */
  readonly total: number;
  readonly accepted: number;
}

const hex = (text: string) => new Uint8Array(Buffer.from(text, 'hex'));

interface Wycheproof {
  testGroups: { publicKey: { pk: string }; tests: { tcId: number; msg: string; sig: string; result: 'valid' | 'invalid' | 'acceptable' }[] }[];
}

/** edge-cases.json (ed25519-speccheck): the README's rejected cases. */
const EDGE_CASES_REJECTED = new Set([0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11]);

export const VECTOR_FILES: Record<string, VectorFile> = {
  // Wycheproof: exactly its own results.
  'wycheproof-ed25519_test.json': {
    cases: (json) =>
      (json as Wycheproof).testGroups.flatMap((group) =>
        group.tests.map((t) => {
          assert.notEqual(t.result, 'acceptable', 'no "acceptable" results: each case is valid or invalid');
          return { id: `tcId ${t.tcId}`, publicKey: hex(group.publicKey.pk), message: hex(t.msg), signature: hex(t.sig), accept: t.result === 'valid' };
        }),
      ),
    total: 151,
    accepted: 88,
  },
  // RFC 8032 section 7.1: every vector accepted.
  'rfc8032-ed25519.json': {
    cases: (json) =>
      (json as { priv: string; pub: string; msg: string; sig: string }[]).map((v, i) => ({
        id: `test ${i + 1}`,
        publicKey: hex(v.pub),
        message: hex(v.msg),
        signature: hex(v.sig),
        accept: true,
        seed: hex(v.priv),
      })),
    total: 4,
    accepted: 4,
  },
  // ZIP-215: all use small-order points or non-canonical encodings; none accepted.
  'zip215.json': {
    cases: (json) =>
      (json as { vk_bytes: string; sig_bytes: string }[]).map((v, i) => ({
        id: `#${i}`,
        publicKey: hex(v.vk_bytes),
        message: new TextEncoder().encode('Zcash'),
        signature: hex(v.sig_bytes),
        accept: false,
      })),
    total: 196,
    accepted: 0,
  },
  'edge-cases.json': {
    cases: (json) =>
      (json as { message: string; pub_key: string; signature: string }[]).map((v, i) => ({
        id: `case ${i}`,
        publicKey: hex(v.pub_key),
        message: hex(v.message),
        signature: hex(v.signature),
        accept: !EDGE_CASES_REJECTED.has(i),
      })),
    total: 12,
    accepted: 1,
  },
};

export function loadCases(file: string): VectorCase[] {
  const spec = VECTOR_FILES[file];
  assert.ok(spec, `no expected results for ${file}`);
  return spec.cases(JSON.parse(readFileSync(join(dataDir, 'vectors', file), 'utf8')));
}


/** The vector files there are, sorted. */
export function vectorFileNames(): string[] {
  return readdirSync(join(dataDir, 'vectors')).filter((f) => f.endsWith('.json')).sort();
}
