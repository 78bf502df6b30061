/**
 * Fuzz targets: the signature-file decoder, the trust-policy loader, the path validator and the
 * walker's handling of names on disk. Each pairs an input arbitrary (random and mutated valid
 * inputs) with the code under test and an oracle:
 *   - nothing escapes but MsSignError with one of the target's codes (anything else is a bug:
 *     the CLI would report it as INTERNAL);
 *   - no input takes longer than the target's budget (a pathological input must not hang us);
 *   - memory stays bounded (checked after each input here, and by the worker's heap limit);
 *   - what is accepted satisfies the format's invariants (canonical re-encoding, path rules).
 * Used by test/fuzz/fuzz.test.ts (a short run in `npm test`) and scripts/fuzz.mjs (long runs).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  checkGlob,
  checkModelPath,
  checkPublicKeyBytes,
  compileGlob,
  decodeEnvelope,
  decodeManifest,
  encodeEnvelope,
  encodeManifest,
  escapeGlob,
  findPathCollision,
  LIMITS,
  MsSignError,
  SCAN_CODES,
  parseTrustPolicy,
  BufferSource,
  scanFile,
  verifyMsBuffer,
  type ErrorCode,
  type Manifest,
} from '@ms-sign/core';
import { walkModel } from '@ms-sign/core/internal';
import { fileEntry, manifestOf, seedKey, signManifest, spkiBase64 } from '../helpers/crafted.js';
import { unicodeStringArbitrary } from '../helpers/property.js';
import { mutatedArbitrary } from './mutate.js';
import { fixturesDir, repoRoot } from '../helpers/index.js';
import { i64 } from '../helpers/flatbuffer-writer.js';
import { dagBomb, external as msExternal, model as msModel, node as msNode, tensor as msTensor } from '../helpers/ms-models.js';

export interface FuzzTarget<T> {
  readonly name: string;
  readonly description: string;
  readonly arbitrary: fc.Arbitrary<T>;
  /** The only MsSignError codes the code under test may throw for this input. */
  readonly allowed: readonly ErrorCode[];
  /** Longest time one input may take, in milliseconds. */
  readonly budgetMs: number;
  /** heapUsed + arrayBuffers allowed after an input (default MEMORY_LIMIT_BYTES). */
  readonly memoryLimitBytes?: number;
  /** Runs the code under test; throws FuzzFinding when an accepted input breaks an invariant. */
  run(input: T): void;
  /** The input as bytes, to save a crashing input. */
  serialize(input: T): Uint8Array;
}

/** A violated oracle: a bug found. */
export class FuzzFinding extends Error {
  override readonly name = 'FuzzFinding';
}

/** heapUsed + arrayBuffers above this after an input is a finding (inputs are at most kilobytes). */
export const MEMORY_LIMIT_BYTES = 768 * 1024 * 1024;

const utf8 = new TextEncoder();
const ensure = (condition: boolean, message: string) => {
  if (!condition) throw new FuzzFinding(message);
};
const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0;

/** Runs one input against a target's oracle. Throws FuzzFinding, with what went wrong. */
export function checkInput<T>(target: FuzzTarget<T>, input: T): void {
  const once = () => {
    const start = performance.now();
    try {
      target.run(input);
    } catch (error) {
      if (error instanceof FuzzFinding) throw error;
      if (!(error instanceof MsSignError)) {
        throw new FuzzFinding(`${(error as Error)?.constructor?.name ?? typeof error} escaped: ${(error as Error)?.stack ?? String(error)}`);
      }
      if (!target.allowed.includes(error.code)) throw new FuzzFinding(`MsSignError ${error.code} is not one of ${target.allowed.join(', ')}: ${error.message}`);
    }
    return performance.now() - start;
  };
  // Over budget twice in a row: a garbage-collection pause does not strike twice.
  if (once() > target.budgetMs) {
    const again = once();
    if (again > target.budgetMs) throw new FuzzFinding(`took ${again.toFixed(0)} ms, more than the ${target.budgetMs} ms budget`);
  }
  const memory = process.memoryUsage();
  if (memory.heapUsed + memory.arrayBuffers > (target.memoryLimitBytes ?? MEMORY_LIMIT_BYTES)) {
    throw new FuzzFinding(`memory grew to ${memory.heapUsed + memory.arrayBuffers} bytes`);
  }
}

// ---------------------------------------------------------------------------------------------
// The signature-file decoder: decodeEnvelope, then decodeManifest of its payload (as inspect does,
// and as verify does once a signature checked).

const bytesOf = (n: number, salt: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + salt) & 0xff);
const NOW = 1_750_000_000;

function seedManifests(): Manifest[] {
  return [
    manifestOf([fileEntry('model.ms', bytesOf(100, 1))], { kind: 'file', subject: { name: 'model.ms', version: '1.2.3' }, created: NOW }),
    {
      ...manifestOf(
        [
          fileEntry('README', new Uint8Array(0)),
          { path: 'big/weights.bin', size: 3 * 65536 + 5, digests: [0, 1, 2, 3].map((i) => bytesOf(32, i)) },
          fileEntry('nested/\u00e9t\u00e9/m\u00f6del.mindir', bytesOf(9, 3)),
        ],
        { created: NOW, expires: NOW + 86400, shardSize: 65536 },
      ),
      ignore: ['*.tmp', '**/cache/**', 'a\\*b'],
      annotations: { commit: '0123abc', 'ci/run': 'https://ci.example/1' },
    },
    manifestOf(
      [
        { path: 'a', size: 1, digests: [bytesOf(64, 6)] },
        { path: 'b/c', size: 2, digests: [bytesOf(64, 7)] },
      ],
      { hashAlgorithm: 'sha512', created: NOW },
    ),
  ];
}

const MANIFEST_SEEDS = seedManifests();
export const SIGNATURE_SEEDS: readonly Uint8Array[] = [
  signManifest(MANIFEST_SEEDS[0]!, [seedKey(1)]),
  signManifest(MANIFEST_SEEDS[1]!, [seedKey(1), seedKey(2)]),
  signManifest(MANIFEST_SEEDS[2]!, [seedKey(3)]),
];
const PAYLOAD_SEEDS = MANIFEST_SEEDS.map(encodeManifest);

/** A valid envelope around a mutated manifest: reaches the manifest decoder with its structure intact. */
const rewrappedArbitrary = fc
  .tuple(fc.nat(SIGNATURE_SEEDS.length - 1), mutatedArbitrary(PAYLOAD_SEEDS))
  .map(([s, payload]) => encodeEnvelope({ ...decodeEnvelope(SIGNATURE_SEEDS[s]!), payload }));

export const signatureFileTarget: FuzzTarget<Uint8Array> = {
  name: 'signature-file',
  description: 'decodeEnvelope + decodeManifest on random bytes, mutated signature files and mutated manifests',
  arbitrary: fc.oneof(
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 300 }) },
    { weight: 5, arbitrary: mutatedArbitrary(SIGNATURE_SEEDS) },
    { weight: 4, arbitrary: rewrappedArbitrary },
  ),
  allowed: ['MALFORMED_SIGNATURE_FILE', 'UNSUPPORTED_FORMAT', 'UNSAFE_PATH'],
  budgetMs: 500,
  run(bytes) {
    const envelope = decodeEnvelope(bytes, 'fuzz.sig');
    ensure(sameBytes(encodeEnvelope(envelope), bytes), 'an accepted signature file does not re-encode to its own bytes');
    const manifest = decodeManifest(envelope.payload, 'fuzz.sig');
    ensure(sameBytes(encodeManifest(manifest), envelope.payload), 'an accepted manifest does not re-encode to its own bytes');
    for (const f of manifest.files) ensure(checkModelPath(f.path) === undefined, `an accepted manifest lists an unsafe path ${JSON.stringify(f.path)}`);
    ensure(findPathCollision(manifest.files.map((f) => f.path)) === undefined, 'an accepted manifest lists colliding paths');
  },
  serialize: (bytes) => bytes,
};

// ---------------------------------------------------------------------------------------------
// The trust-policy loader: parseTrustPolicy on random text, random JSON and mutated policies.

const VALID_KEY = spkiBase64(seedKey(9).publicKey.bytes);
const POLICY_SEEDS: readonly unknown[] = [
  { version: 1, publishers: [], revoked: [], rules: [] },
  {
    $schema: 'https://example/trust-policy.v1.json',
    version: 1,
    publishers: [
      { name: 'acme-ml', models: ['acme/**', 'shared-*'], keys: [{ publicKey: VALID_KEY, notBefore: '2025-01-01', notAfter: '2027-01-31T12:00:00Z' }] },
      { name: 'other.org', models: ['**'], keys: [{ publicKey: spkiBase64(seedKey(8).publicKey.bytes) }] },
    ],
    revoked: [{ keyId: '0123456789abcdef0123456789abcdef', reason: 'lost laptop', revokedAt: '2026-02-03T04:05:06Z' }],
    rules: [{ models: 'acme/**', threshold: 2, maxAge: '90d', requireExpiry: true }, { models: '**' }],
  },
];

/** Values that break assumptions: huge or odd strings, extreme numbers, prototype keys, deep nesting. */
const weirdJsonValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom<unknown>(
    '',
    'x'.repeat(100_000),
    '\u0000\u001b[2J\u202e',
    '\ud800',
    '*a'.repeat(300) + '*b',
    '**/**/**',
    '\\',
    -1,
    0,
    1.5,
    1e308,
    Number.MAX_SAFE_INTEGER + 2,
    '2026-02-30',
    '9999-99-99T99:99:99Z',
    '0000-01-01',
    'MCowBQYDK2VwAyEAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
    { __proto__: { polluted: true } },
    JSON.parse('{"__proto__": {"polluted": true}}'),
    [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],
  ),
);

type JsonPath = readonly (string | number)[];

/** Every path into a JSON value (objects by key, arrays by index). */
function jsonPaths(value: unknown, prefix: JsonPath = []): JsonPath[] {
  if (typeof value !== 'object' || value === null) return [prefix];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return [prefix, ...entries.flatMap(([k, v]) => jsonPaths(v, [...prefix, k]))];
}

type JsonEdit = { readonly kind: 'replace' | 'delete' | 'add' | 'duplicate'; readonly path: number; readonly key: string; readonly value: unknown };

function applyJsonEdit(document: unknown, edit: JsonEdit): unknown {
  const root = structuredClone(document);
  const paths = jsonPaths(root);
  const path = paths[edit.path % paths.length]!;
  if (path.length === 0) return edit.kind === 'replace' ? edit.value : root;
  const parent = path.slice(0, -1).reduce<unknown>((node, k) => (node as Record<string | number, unknown>)[k], root) as Record<string | number, unknown>;
  const key = path[path.length - 1]!;
  if (edit.kind === 'replace') parent[key] = edit.value;
  else if (edit.kind === 'delete') {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  } else if (edit.kind === 'duplicate' && Array.isArray(parent)) parent.push(structuredClone(parent[key as number]));
  else if (typeof parent[key] === 'object' && parent[key] !== null && !Array.isArray(parent[key])) (parent[key] as Record<string, unknown>)[edit.key] = edit.value;
  return root;
}

const jsonEditArbitrary: fc.Arbitrary<JsonEdit> = fc.record({
  kind: fc.constantFrom('replace' as const, 'delete' as const, 'add' as const, 'duplicate' as const),
  path: fc.nat(),
  key: fc.oneof(fc.constantFrom('name', 'models', 'keys', 'publicKey', 'threshold', 'extra', '__proto__', 'constructor'), fc.string({ maxLength: 8 })),
  value: weirdJsonValue,
});

const policyTextArbitrary: fc.Arbitrary<string> = fc.oneof(
  { weight: 1, arbitrary: unicodeStringArbitrary(200) },
  { weight: 1, arbitrary: fc.json({ maxDepth: 4 }) },
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.nat(POLICY_SEEDS.length - 1), fc.array(jsonEditArbitrary, { minLength: 1, maxLength: 4 }))
      .map(([s, edits]) => JSON.stringify(edits.reduce(applyJsonEdit, POLICY_SEEDS[s]!))),
  },
  { weight: 2, arbitrary: mutatedArbitrary(POLICY_SEEDS.map((p) => utf8.encode(JSON.stringify(p, null, 2)))).map((bytes) => Buffer.from(bytes).toString('utf8')) },
);

export const trustPolicyTarget: FuzzTarget<string> = {
  name: 'trust-policy',
  description: 'parseTrustPolicy on random text, random JSON, and structurally and textually mutated policies',
  arbitrary: policyTextArbitrary,
  allowed: ['BAD_TRUST_POLICY'],
  budgetMs: 500,
  run(text) {
    const { policy } = parseTrustPolicy(text, 'fuzz.json');
    for (const publisher of policy.publishers) {
      ensure(publisher.keys.length > 0 && publisher.models.length > 0, `accepted publisher ${publisher.name} without keys or models`);
      for (const key of publisher.keys) ensure(checkPublicKeyBytes(key.publicKey.bytes) === undefined, 'accepted a weak public key');
    }
    for (const rule of policy.rules) ensure(Number.isInteger(rule.threshold) && rule.threshold >= 1, `accepted threshold ${rule.threshold}`);
    ensure(({} as Record<string, unknown>).polluted === undefined, 'Object.prototype was polluted');
  },
  serialize: (text) => utf8.encode(text),
};

// ---------------------------------------------------------------------------------------------
// The path validator: checkModelPath never throws, and what it accepts obeys every rule.

const PATH_PIECES = ['a', 'B', '/', '.', '..', '\\', '\u0000', '\n', '\u007f', '\u0085', '\u202e', '\u00e9', 'e\u0301', '\ud800', '\udfff', '\u{1f600}', '*', '?', ' ', '~', 'x'.repeat(255), '\u00e9'.repeat(128)];

const pathArbitrary: fc.Arbitrary<string> = fc.oneof(
  fc.array(fc.constantFrom(...PATH_PIECES), { maxLength: 12 }).map((parts) => parts.join('')),
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 40 }),
  unicodeStringArbitrary(40),
  // Near the depth and length limits.
  fc.tuple(fc.integer({ min: LIMITS.pathDepth - 2, max: LIMITS.pathDepth + 2 }), fc.constantFrom('a', 'bb', '\u00e9')).map(([n, s]) => Array.from({ length: n }, () => s).join('/')),
  fc.tuple(fc.integer({ min: 14, max: 18 }), fc.integer({ min: 250, max: 256 })).map(([n, len]) => Array.from({ length: n }, () => 'z'.repeat(len)).join('/')),
);

const utf8Bytes = (s: string) => Buffer.byteLength(s, 'utf8');

export const pathTarget: FuzzTarget<string> = {
  name: 'path',
  description: 'checkModelPath on arbitrary UTF-16 strings (lone surrogates included) and near-limit paths',
  arbitrary: pathArbitrary,
  allowed: [],
  budgetMs: 500,
  run(path) {
    const why = checkModelPath(path);
    if (why !== undefined) {
      ensure(typeof why === 'string' && why.length > 0, 'a refusal without a reason');
      return;
    }
    const segments = path.split('/');
    ensure(path.isWellFormed(), 'accepted a path that is not valid UTF-8');
    ensure(utf8Bytes(path) <= LIMITS.pathBytes, 'accepted a path over the length limit');
    ensure(segments.length <= LIMITS.pathDepth, 'accepted a path over the depth limit');
    ensure(!path.startsWith('/') && !path.includes('\\') && !/\p{Cc}/u.test(path), `accepted ${JSON.stringify(path)}`);
    ensure(segments.every((s) => s !== '' && s !== '.' && s !== '..' && utf8Bytes(s) <= LIMITS.pathSegmentBytes), `accepted a bad segment in ${JSON.stringify(path)}`);
    // sign records a signature file inside the model as an escaped glob: when that is a valid
    // glob (not longer than LIMITS.globBytes; sign refuses otherwise), it matches exactly the path.
    const pattern = escapeGlob(path);
    if (checkGlob(pattern) !== undefined) return;
    const glob = compileGlob(pattern);
    ensure(glob.matches(path) && !glob.matches(`${path}x`) && !glob.matches(`x${path}`), `escapeGlob(${JSON.stringify(path)}) does not match exactly it`);
  },
  serialize: (path) => utf8.encode(JSON.stringify(path)),
};

// ---------------------------------------------------------------------------------------------
// The walker's name handling: real files with arbitrary byte names (Linux allows all but "/" and
// NUL), some in a subdirectory. Every name is either walked as a valid path or reported.

type NameSpec = { readonly name: Uint8Array; readonly inSubdirectory: boolean };

const nameBytesArbitrary: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 24 }),
  fc.array(fc.constantFrom('a', 'A', '\u00e9', 'e\u0301', '\u00df', 'SS', '\u0130', 'i', '\\', '\n', '\u001b', '.', ' ', '*'), { minLength: 1, maxLength: 6 }).map((parts) => utf8.encode(parts.join(''))),
).map((bytes) => bytes.map((b) => (b === 0 || b === 0x2f ? 0x5f : b)));

const namesArbitrary: fc.Arbitrary<NameSpec[]> = fc.array(fc.record({ name: nameBytesArbitrary, inSubdirectory: fc.boolean() }), { minLength: 1, maxLength: 6 });

const isDotName = (bytes: Uint8Array) => (bytes.length === 1 && bytes[0] === 0x2e) || (bytes.length === 2 && bytes[0] === 0x2e && bytes[1] === 0x2e);

export const walkerTarget: FuzzTarget<NameSpec[]> = {
  name: 'walker-names',
  description: 'walkModel over a directory of files with arbitrary byte names',
  arbitrary: namesArbitrary,
  allowed: [],
  budgetMs: 5000,
  run(specs) {
    const root = mkdtempSync(join(tmpdir(), 'ms-sign-fuzz-'));
    try {
      const model = join(root, 'model');
      mkdirSync(join(model, 'sub'), { recursive: true });
      writeFileSync(join(model, 'sub', 'anchor'), 'keeps sub non-empty');
      const created = new Set<string>();
      for (const { name, inSubdirectory } of specs) {
        if (isDotName(name)) continue;
        const dir = Buffer.from(inSubdirectory ? join(model, 'sub') : model);
        const path = Buffer.concat([dir, Buffer.from('/'), name]);
        try {
          writeFileSync(path, 'x');
          created.add(Buffer.concat([Buffer.from(inSubdirectory ? 'sub/' : ''), name]).toString('latin1'));
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST' && (error as NodeJS.ErrnoException).code !== 'EISDIR') throw error;
        }
      }
      const walk = walkModel(model);
      for (const file of walk.files) ensure(checkModelPath(file.path) === undefined, `walked an unsafe path ${JSON.stringify(file.path)}`);
      ensure(findPathCollision(walk.files.map((f) => f.path)) === undefined || walk.problems.some((p) => p.code === 'UNSAFE_PATH'), 'colliding names not reported');
      // Every name created is walked or reported: nothing is silently skipped.
      const walked = new Set(walk.files.map((f) => Buffer.from(f.path, 'utf8').toString('latin1')));
      const reported = walk.problems.length;
      for (const name of created) ensure(walked.has(name) || reported > 0, `name ${JSON.stringify(name)} neither walked nor reported`);
      for (const p of walk.problems) ensure(p.code === 'UNSAFE_PATH', `unexpected problem ${p.code}`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
  serialize: (specs) => utf8.encode(JSON.stringify(specs.map((s) => ({ name: Buffer.from(s.name).toString('hex'), inSubdirectory: s.inSubdirectory })))),
};

// The scanner: the real MindSpore fixtures (the two smaller .ms, the MindIR), small synthetic
// models with PartialFusion, external data and a DAG bomb, and the generated checkpoints, mutated
// byte-wise and by 32-bit writes at aligned positions (FlatBuffers offsets, lengths, vtables).
const SCAN_SEEDS: readonly { name: string; bytes: Uint8Array }[] = [
  { name: 'parallel.ms', bytes: readFileSync(join(fixturesDir, 'parallel.ms')) },
  { name: 'conv_train_model.ms', bytes: readFileSync(join(fixturesDir, 'conv_train_model.ms')) },
  { name: 'relu.mindir', bytes: readFileSync(join(fixturesDir, 'relu.mindir')) },
  { name: 'model.ms', bytes: msModel({ nodes: [msNode('p', 'PartialFusion', [0], [1], { sub_graph_index: i64(0n) })] }) },
  { name: 'model.ms', bytes: msModel({ tensors: [msTensor(), msTensor(), msExternal('weights.msw')] }) },
  { name: 'bomb.ms', bytes: dagBomb(40, 40) },
  ...['ok.ckpt', 'sliced.ckpt', 'ok.mindir', 'external_ok/model.mindir'].map((name) => ({ name, bytes: readFileSync(join(repoRoot, 'test', 'fixtures', 'scan', 'mindspore', name)) })),
];
const INTERESTING_U32 = [0, 1, 2, 3, 4, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffc, 0x40000000, 0x3fffffff, 0x10000];
const u32WriteArbitrary = fc
  .record({ seed: fc.nat(SCAN_SEEDS.length - 1), writes: fc.array(fc.record({ at: fc.nat(), value: fc.oneof(fc.constantFrom(...INTERESTING_U32), fc.nat()) }), { minLength: 1, maxLength: 3 }) })
  .map(({ seed, writes }) => {
    const bytes = new Uint8Array(SCAN_SEEDS[seed]!.bytes);
    const view = new DataView(bytes.buffer);
    for (const w of writes) if (bytes.length >= 4) view.setUint32((w.at % (bytes.length >> 2)) * 4, w.value >>> 0, true);
    return { name: SCAN_SEEDS[seed]!.name, bytes };
  });

export const scanTarget: FuzzTarget<{ name: string; bytes: Uint8Array }> = {
  name: 'scan',
  description: 'scanFile (detection, the .ms verifier and graph checks, MindIR, checkpoints) on mutated real models',
  arbitrary: fc.oneof(
    { weight: 3, arbitrary: fc.tuple(fc.nat(SCAN_SEEDS.length - 1), mutatedArbitrary(SCAN_SEEDS.map((s) => s.bytes))).map(([i, bytes]) => ({ name: SCAN_SEEDS[i]!.name, bytes })) },
    { weight: 3, arbitrary: u32WriteArbitrary },
  ),
  // scanFile reports hostile bytes as findings: it throws nothing for them.
  allowed: [],
  budgetMs: 2000,
  run({ name, bytes }) {
    const first = scanFile(new BufferSource(bytes), name);
    const again = scanFile(new BufferSource(bytes), name);
    ensure(JSON.stringify(first) === JSON.stringify(again), 'the same bytes gave two different results');
    ensure(first.findings.filter((f) => f.severity === 'error').length <= 100, 'more than 100 error findings kept');
    for (const f of first.findings) ensure(!/[\u0000-\u001f]/.test(f.message) && f.message.length <= 1024, `an unescaped or unbounded message: ${JSON.stringify(f.message.slice(0, 80))}`);
    // A .ms the scanner calls clean passes Lite's structural verification (the same rules, run again on their own).
    if (first.format === 'mindspore-lite-ms' && first.verdict === 'clean' && first.formatInfo?.identifier === 'MSL2') verifyMsBuffer(new BufferSource(bytes), true);
  },
  serialize: ({ bytes }) => bytes,
};


// ---------------------------------------------------------------------------------------------
// The model scanner on hostile bytes: the abstract unpickler and the zip reader (with everything
// behind them: torch, npz and Keras checks, the inflater), seeded with the generated scan corpus.
// scanFile must never throw: every problem is a finding with a catalogue code.

function corpusSeeds(dir: string, maxBytes: number): Uint8Array[] {
  const root = join(repoRoot, 'test', 'fixtures', 'scan', dir);
  return readdirSync(root)
    .map((name) => join(root, name))
    .filter((path) => statSync(path).size <= maxBytes)
    .sort()
    .map((path) => new Uint8Array(readFileSync(path)));
}

function scannerTarget(name: string, description: string, seeds: readonly Uint8Array[], path: string): FuzzTarget<Uint8Array> {
  return {
    name,
    description,
    arbitrary: fc.oneof({ weight: 1, arbitrary: fc.uint8Array({ maxLength: 400 }) }, { weight: 8, arbitrary: mutatedArbitrary(seeds) }),
    allowed: [],
    budgetMs: 1000,
    run(bytes) {
      const result = scanFile(new BufferSource(bytes), path);
      ensure(['clean', 'unsafe', 'malformed', 'unknown'].includes(result.verdict), `verdict ${result.verdict}`);
      for (const f of result.findings) ensure(f.code in SCAN_CODES || f.code === 'SCAN_FINDINGS_TRUNCATED', `unknown code ${f.code}`);
      // A finding of effect unsafe or malformed decides the verdict: none may be lost.
      const worst = result.findings.some((f) => f.verdict === 'unsafe') ? 'unsafe' : undefined;
      ensure(worst === undefined || result.verdict === 'unsafe', 'an unsafe finding did not make the file unsafe');
    },
    serialize: (bytes) => bytes,
  };
}

export const pickleTarget = scannerTarget('pickle', 'scanFile on random bytes and mutated pickles of the scan corpus (the abstract unpickler)', corpusSeeds('pickle', 4096), 'fuzz.pkl');
export const zipTarget = scannerTarget('zip', 'scanFile on mutated zip archives of the scan corpus (zip reader, inflater, torch/npz/Keras checks)', [...corpusSeeds('torch', 8192), ...corpusSeeds('zip', 8192), ...corpusSeeds('numpy', 8192).filter((b) => b[0] === 0x50), ...corpusSeeds('keras', 8192).filter((b) => b[0] === 0x50)], 'fuzz.zip');


export const FUZZ_TARGETS: readonly FuzzTarget<never>[] = [signatureFileTarget, trustPolicyTarget, pathTarget, walkerTarget, scanTarget, pickleTarget, zipTarget] as unknown as readonly FuzzTarget<never>[];

const hoard: ArrayBuffer[] = [];

/** Deliberately broken targets: the harness must catch each (test/fuzz/fuzz.test.ts). */
export const CANARY_TARGETS: readonly FuzzTarget<never>[] = [
  { name: 'canary-foreign-error', description: 'throws a TypeError', arbitrary: fc.nat(), allowed: [], budgetMs: 100, run: () => { throw new TypeError('boom'); }, serialize: () => new Uint8Array() },
  { name: 'canary-slow', description: 'takes 50 ms', arbitrary: fc.nat(), allowed: [], budgetMs: 10, run: () => { const end = performance.now() + 50; while (performance.now() < end); }, serialize: () => new Uint8Array() },
  { name: 'canary-hang', description: 'never returns', arbitrary: fc.nat(), allowed: [], budgetMs: 100, run: () => { for (;;); }, serialize: () => utf8.encode('hang') },
  {
    name: 'canary-memory',
    description: 'keeps 128 MiB per input',
    arbitrary: fc.nat(),
    allowed: [],
    budgetMs: 10_000,
    memoryLimitBytes: 96 * 1024 * 1024,
    run: () => {
      hoard.push(new ArrayBuffer(128 * 1024 * 1024));
    },
    serialize: () => new Uint8Array(),
  },
] as unknown as readonly FuzzTarget<never>[];

export function findTarget(name: string): FuzzTarget<never> {
  const target = [...FUZZ_TARGETS, ...CANARY_TARGETS].find((t) => t.name === name);
  if (!target) throw new Error(`no fuzz target ${name}; targets: ${FUZZ_TARGETS.map((t) => t.name).join(', ')}`);
  return target;
}
