/**
 * fast-check settings shared by test/property and test/fuzz: modest run counts for CI, every run
 * reproducible. A failure prints its seed and path; rerun with FC_SEED=<seed> (and FC_PATH=<path>
 * to replay the shrunk case only). FC_RUNS_FACTOR=10 multiplies every run count for a longer run.
 */
import fc from 'fast-check';
import { findPathCollision } from '@ms-sign/core';

export function fcParams<T>(numRuns: number): fc.Parameters<T> {
  const factor = Number(process.env.FC_RUNS_FACTOR ?? '1');
  return {
    numRuns: Math.max(1, Math.round(numRuns * factor)),
    ...(process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) }),
    ...(process.env.FC_PATH === undefined ? {} : { path: process.env.FC_PATH }),
  };
}

/** Characters for generated file names: letters, digits, punctuation the path rules allow, non-ASCII. */
const NAME_CHARS = [...'abcdefghijklmnopqrstuvwxyzABCXYZ0123456789._-+=@ ', '\u00e9', '\u00df', '\u4e2d', '\u{1f600}', '\u0130'];

/** One file or directory name within the path rules (docs/signature-format.md). */
export const nameArbitrary = fc
  .array(fc.constantFrom(...NAME_CHARS), { minLength: 1, maxLength: 10 })
  .map((chars) => chars.join(''))
  .filter((name) => name !== '.' && name !== '..');

/**
 * Relative paths of the files of a directory model: 1 to `maxFiles` paths of 1 to 3 segments,
 * no two equal ignoring case, and no file where another path needs a directory.
 */
export function treeArbitrary(maxFiles: number): fc.Arbitrary<string[]> {
  return fc
    .uniqueArray(
      fc.array(nameArbitrary, { minLength: 1, maxLength: 3 }).map((segments) => segments.join('/')),
      { minLength: 1, maxLength: maxFiles },
    )
    .filter((paths) => findPathCollision(paths) === undefined && paths.every((p) => !paths.some((q) => q.startsWith(`${p}/`))));
}

/** Deterministic content of `size` bytes from a salt (no huge arrays through fast-check). */
export function contentOf(size: number, salt: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 131 + salt * 7 + (i >> 8)) & 0xff;
  return out;
}

export const SHARD = 64 * 1024;

/** File sizes around the shard boundaries of SHARD-sized shards, and 0. */
export const sizeArbitrary = fc.oneof(
  fc.constantFrom(0, 1, SHARD - 1, SHARD, SHARD + 1, 2 * SHARD, 2 * SHARD + 1, 3 * SHARD - 1),
  fc.integer({ min: 0, max: 3 * SHARD + 17 }),
);

/**
 * Any Unicode scalar value (surrogates excluded), biased towards small values and boundaries.
 * Built by hand: fast-check's own `unit: 'binary'` takes most of a second to construct.
 */
export const codePointArbitrary = fc
  .integer({ min: 0, max: 0x10ffff })
  .filter((c) => c < 0xd800 || c > 0xdfff)
  .map((c) => String.fromCodePoint(c));

export const unicodeStringArbitrary = (maxLength: number) => fc.string({ unit: codePointArbitrary, maxLength });
