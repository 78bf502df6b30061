/**
 * Generates the conformance suite's data (conformance/cases/, conformance/cases.json,
 * conformance/vectors.json) from fixed keys, fixed times and the repository's test data, so that
 * every byte is reproducible: `npm run conformance:generate` rewrites them, and
 * test/conformance.test.ts checks that the committed data is what this writes.
 *
 * Each case states its expected exit code and error codes HERE, by hand; the generator then runs
 * the real CLI on the case and refuses to write a suite the CLI disagrees with.
 */
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { encodeCanonical, encodeEnvelope, decodeEnvelope, encodePublicKeyPem, type CborValue, type ManifestFile } from '@ms-sign/core';
import { fileEntry, HOSTILE_PATHS, manifestBytes, manifestOf, seedKey, signManifest, signPayload, spkiBase64, writeKeyFiles } from '../helpers/crafted.js';
import { canonicalSmallOrderEncodings } from '../helpers/ed25519-curve.js';
import { dataDir, fixture, repoRoot, runCli } from '../helpers/index.js';
import { signAt } from '../helpers/trust.js';
import { loadCases, vectorFileNames } from '../helpers/vectors.js';

/** The case format's version (conformance/README.md). */
const SUITE_VERSION = 1;

// Fixed times (Unix seconds): every signature file is reproducible byte for byte.
const CREATED = Date.UTC(2026, 0, 1) / 1000;
const FAR_FUTURE = Date.UTC(2099, 0, 1) / 1000;
const EXPIRED = Date.UTC(2026, 1, 1) / 1000;
const DAY = 86_400;

const WEIGHTS = Uint8Array.from({ length: 4096 }, (_, i) => (i * 31 + 7) & 0xff);
const CONFIG = new TextEncoder().encode('{"layers": 4}\n');
const OUTSIDE = new TextEncoder().encode('a file outside the model\n');
const SCRIPT = new TextEncoder().encode('#!/bin/sh\necho hello\n');

export interface ConformanceCase {
  readonly id: string;
  readonly description: string;
  /** The implementation's arguments, exactly; run in a fresh copy of cases/ID. */
  readonly argv: readonly string[];
  readonly exit: 0 | 1 | 2;
  /** The set of errors[].code of the --json report (empty when it verifies). */
  readonly errors: readonly string[];
  /** Files the runner writes before running (names a checkout could not hold), path to base64. */
  readonly create?: Readonly<Record<string, string>>;
}

interface CaseSpec extends ConformanceCase {
  /** Writes the case's files into `dir` (the case's own directory). */
  readonly build: (dir: string) => Promise<void> | void;
}

const keyA = seedKey(1);
const keyB = seedKey(2);
const stranger = seedKey(3);

function write(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
}

function writePublicKeys(dir: string): void {
  write(join(dir, 'publisher.pub'), encodePublicKeyPem(keyA.publicKey));
}

/** A single-file model `model.bin` signed by key A at CREATED (and the public key). */
async function signedFile(dir: string, options: { expires?: number; now?: number; name?: string; keys?: string[] } = {}): Promise<void> {
  write(join(dir, 'model.bin'), WEIGHTS);
  writePublicKeys(dir);
  const keyFiles = [];
  for (const [i, key] of [keyA, keyB, stranger].entries()) {
    const prefix = ['a', 'b', 'stranger'][i]!;
    if ((options.keys ?? ['a']).includes(prefix)) keyFiles.push((await writeKeyFiles(dir, key, `signing-${prefix}`)).secretPath);
  }
  await signAt(dir, 'model.bin', keyFiles, { now: options.now ?? CREATED, ...(options.expires === undefined ? {} : { expires: options.expires }), ...(options.name ? { name: options.name } : {}) });
  for (const f of keyFiles) rmSync(f);
  for (const f of keyFiles) rmSync(f.replace(/\.key$/, '.pub'));
}

/** A directory model `model/` (weights.bin, config.json, sub/extra.bin) signed by key A. */
async function signedDirectory(dir: string): Promise<void> {
  write(join(dir, 'model', 'weights.bin'), WEIGHTS);
  write(join(dir, 'model', 'config.json'), CONFIG);
  write(join(dir, 'model', 'sub', 'extra.bin'), WEIGHTS.subarray(0, 100));
  writePublicKeys(dir);
  const { secretPath } = await writeKeyFiles(dir, keyA, 'signing');
  await signAt(dir, 'model', secretPath, { now: CREATED });
  rmSync(secretPath);
  rmSync(join(dir, 'signing.pub'));
}

function flipByte(path: string, at: (length: number) => number): void {
  const bytes = readFileSync(path);
  bytes[at(bytes.length)]! ^= 0x01;
  writeFileSync(path, bytes);
}

/** A trust policy: publisher A for `models`, plus what `extra` adds. */
function policy(dir: string, publishers: { name: string; key: typeof keyA; models?: string[]; notBefore?: string; notAfter?: string }[], extra: { revoked?: object[]; rules?: object[] } = {}): void {
  const doc = {
    version: 1,
    publishers: publishers.map((p) => ({
      name: p.name,
      models: p.models ?? ['**'],
      keys: [{ publicKey: spkiBase64(p.key.publicKey.bytes), ...(p.notBefore ? { notBefore: p.notBefore } : {}), ...(p.notAfter ? { notAfter: p.notAfter } : {}) }],
    })),
    revoked: extra.revoked ?? [],
    rules: extra.rules ?? [],
  };
  write(join(dir, 'trust.json'), `${JSON.stringify(doc, null, 2)}\n`);
}

const verifyFile = (...extra: string[]) => ['verify', 'model.bin', '-p', 'publisher.pub', '--json', ...extra];
const verifyDir = (...extra: string[]) => ['verify', 'model', '-p', 'publisher.pub', '--json', ...extra];
const verifyTrust = ['verify', 'model.bin', '-t', 'trust.json', '--json'];

function cases(): CaseSpec[] {
  const list: CaseSpec[] = [];
  const add = (c: CaseSpec) => list.push(c);

  // --- golden: signature files of format v1 as a released ms-sign wrote them.
  const golden = join(dataDir, 'golden', 'v1');
  add({
    id: 'golden/file',
    description: 'a released single-file signature (test/data/golden/v1) verifies',
    argv: ['verify', 'parallel.ms', '-p', 'test-key.pub', '--json'],
    exit: 0,
    errors: [],
    build: (dir) => {
      copyFileSync(fixture('parallel.ms'), join(dir, 'parallel.ms'));
      copyFileSync(join(golden, 'parallel.ms.sig'), join(dir, 'parallel.ms.sig'));
      copyFileSync(join(golden, 'test-key.pub'), join(dir, 'test-key.pub'));
    },
  });
  add({
    id: 'golden/directory',
    description: 'a released directory signature verifies',
    argv: ['verify', 'model-dir', '-p', 'test-key.pub', '--json'],
    exit: 0,
    errors: [],
    build: (dir) => {
      cpSync(join(golden, 'model-dir'), join(dir, 'model-dir'), { recursive: true });
      copyFileSync(join(golden, 'model-dir.sig'), join(dir, 'model-dir.sig'));
      copyFileSync(join(golden, 'test-key.pub'), join(dir, 'test-key.pub'));
    },
  });

  // --- accepted models.
  add({ id: 'accept/file', description: 'a signed single file verifies', argv: verifyFile(), exit: 0, errors: [], build: (d) => signedFile(d) });
  add({ id: 'accept/directory', description: 'a signed directory verifies', argv: verifyDir(), exit: 0, errors: [], build: (d) => signedDirectory(d) });
  add({ id: 'accept/explicit-signature', description: '-s names the signature file', argv: ['verify', 'model.bin', '-s', 'model.bin.sig', '-p', 'publisher.pub', '--json'], exit: 0, errors: [], build: (d) => signedFile(d) });
  add({ id: 'accept/name', description: '--name matches the signed name', argv: verifyFile('--name', 'model.bin'), exit: 0, errors: [], build: (d) => signedFile(d) });

  // --- every tamper class of a model.
  const fileTamper: [string, string, (dir: string) => void, string[]][] = [
    ['first-byte', 'one bit of the first byte flipped', (d) => flipByte(join(d, 'model.bin'), () => 0), ['DIGEST_MISMATCH']],
    ['middle-byte', 'one bit of a middle byte flipped', (d) => flipByte(join(d, 'model.bin'), (n) => n >> 1), ['DIGEST_MISMATCH']],
    ['last-byte', 'one bit of the last byte flipped', (d) => flipByte(join(d, 'model.bin'), (n) => n - 1), ['DIGEST_MISMATCH']],
    ['truncated', 'truncated by one byte', (d) => writeFileSync(join(d, 'model.bin'), WEIGHTS.subarray(0, -1)), ['SIZE_MISMATCH']],
    ['emptied', 'truncated to nothing', (d) => writeFileSync(join(d, 'model.bin'), ''), ['SIZE_MISMATCH']],
    ['extended', 'one byte appended', (d) => writeFileSync(join(d, 'model.bin'), Buffer.concat([WEIGHTS, Buffer.of(0)])), ['SIZE_MISMATCH']],
  ];
  for (const [name, what, tamper, errors] of fileTamper) {
    add({ id: `tamper/file-${name}`, description: `single file: ${what}`, argv: verifyFile(), exit: 1, errors, build: async (d) => (await signedFile(d), tamper(d)) });
  }
  const dirTamper: [string, string, (dir: string) => void, string[]][] = [
    ['added', 'a file added', (d) => write(join(d, 'model', 'added.bin'), 'new'), ['UNSIGNED_FILE']],
    ['removed', 'a file removed', (d) => rmSync(join(d, 'model', 'config.json')), ['MISSING_FILE']],
    ['renamed', 'a file renamed', (d) => renameSync(join(d, 'model', 'config.json'), join(d, 'model', 'config2.json')), ['MISSING_FILE', 'UNSIGNED_FILE']],
    ['moved', 'a file moved into another folder', (d) => renameSync(join(d, 'model', 'config.json'), join(d, 'model', 'sub', 'config.json')), ['MISSING_FILE', 'UNSIGNED_FILE']],
    ['nested-byte', 'a byte flipped in a nested file', (d) => flipByte(join(d, 'model', 'sub', 'extra.bin'), () => 3), ['DIGEST_MISMATCH']],
    [
      'everything',
      'a file added, one removed, one changed and one resized: all reported',
      (d) => {
        write(join(d, 'model', 'added.bin'), 'new');
        rmSync(join(d, 'model', 'config.json'));
        flipByte(join(d, 'model', 'weights.bin'), () => 0);
        writeFileSync(join(d, 'model', 'sub', 'extra.bin'), 'short');
      },
      ['UNSIGNED_FILE', 'MISSING_FILE', 'DIGEST_MISMATCH', 'SIZE_MISMATCH'],
    ],
  ];
  for (const [name, what, tamper, errors] of dirTamper) {
    add({ id: `tamper/directory-${name}`, description: `directory: ${what}`, argv: verifyDir(), exit: 1, errors, build: async (d) => (await signedDirectory(d), tamper(d)) });
  }

  // --- every tamper class of a signature file.
  const sig = (d: string) => join(d, 'model.bin.sig');
  const envelopeOf = (d: string) => decodeEnvelope(readFileSync(sig(d)), 'model.bin.sig');
  const sigTamper: [string, string, (dir: string) => Promise<void> | void, string[]][] = [
    ['missing', 'the signature file missing', (d) => rmSync(sig(d)), ['MISSING_SIGNATURE_FILE']],
    ['empty', 'the signature file empty', (d) => writeFileSync(sig(d), ''), ['MALFORMED_SIGNATURE_FILE']],
    ['truncated', 'the signature file truncated by one byte', (d) => writeFileSync(sig(d), readFileSync(sig(d)).subarray(0, -1)), ['MALFORMED_SIGNATURE_FILE']],
    ['truncated-half', 'the signature file truncated to half', (d) => writeFileSync(sig(d), readFileSync(sig(d)).subarray(0, readFileSync(sig(d)).length >> 1)), ['MALFORMED_SIGNATURE_FILE']],
    ['appended', 'a byte appended to the signature file', (d) => writeFileSync(sig(d), Buffer.concat([readFileSync(sig(d)), Buffer.of(0)])), ['MALFORMED_SIGNATURE_FILE']],
    ['not-cbor', 'a text file as the signature file', (d) => writeFileSync(sig(d), 'this is not a signature\n'), ['MALFORMED_SIGNATURE_FILE']],
    [
      'payload-byte',
      'one byte of the signed payload changed (a digest byte)',
      (d) => {
        const e = envelopeOf(d);
        const payload = Uint8Array.from(e.payload);
        payload[payload.length - 40]! ^= 0x01;
        writeFileSync(sig(d), encodeEnvelope({ ...e, payload }));
      },
      ['BAD_SIGNATURE'],
    ],
    [
      'signature-byte',
      'one byte of the Ed25519 signature changed',
      (d) => {
        const e = envelopeOf(d);
        const signature = Uint8Array.from(e.signatures[0]!.signature);
        signature[10]! ^= 0x01;
        writeFileSync(sig(d), encodeEnvelope({ ...e, signatures: [{ ...e.signatures[0]!, signature }] }));
      },
      ['BAD_SIGNATURE'],
    ],
    ['payload-type', 'another payload type', (d) => writeFileSync(sig(d), encodeEnvelope({ ...envelopeOf(d), payloadType: 'application/vnd.other+cbor' })), ['UNSUPPORTED_FORMAT']],
    ['other-key', 'signed by a key that is not trusted', (d) => writeFileSync(sig(d), signPayload(envelopeOf(d).payload, [stranger])), ['UNTRUSTED_SIGNER']],
    [
      'key-id-rewritten',
      "signed by another key whose key id was rewritten to the trusted key's",
      (d) => {
        const e = decodeEnvelope(signPayload(envelopeOf(d).payload, [stranger]), 'sig');
        writeFileSync(sig(d), encodeEnvelope({ ...e, signatures: [{ keyId: Buffer.from(keyA.publicKey.keyId, 'hex'), signature: e.signatures[0]!.signature }] }));
      },
      ['BAD_SIGNATURE'],
    ],
    [
      'other-model',
      'a valid signature of another model by the same key',
      (d) => writeFileSync(sig(d), signManifest(manifestOf([fileEntry('model.bin', CONFIG)], { kind: 'file', subject: { name: 'model.bin' }, created: CREATED }), [keyA])),
      ['SIZE_MISMATCH'],
    ],
  ];
  for (const [name, what, tamper, errors] of sigTamper) {
    add({ id: `tamper/signature-${name}`, description: what, argv: verifyFile(), exit: 1, errors, build: async (d) => (await signedFile(d), await tamper(d)) });
  }

  // --- hostile signature files, SIGNED by the trusted key.
  const hostileModel = (d: string) => {
    write(join(d, 'model', 'weights.bin'), WEIGHTS);
    write(join(d, 'outside.bin'), OUTSIDE);
    writePublicKeys(d);
  };
  for (const [i, [what, paths]] of HOSTILE_PATHS.entries()) {
    add({
      id: `hostile/path-${String(i + 1).padStart(2, '0')}`,
      description: `a signed manifest with the path ${what}: ${JSON.stringify(paths)}`,
      argv: verifyDir(),
      exit: 1,
      errors: ['UNSAFE_PATH'],
      build: (d) => {
        hostileModel(d);
        const files: ManifestFile[] = paths.map((p) => (p === 'weights.bin' ? fileEntry(p, WEIGHTS) : fileEntry(p === '/OUTSIDE' ? '/outside.bin' : p, OUTSIDE)));
        write(join(d, 'model.sig'), signManifest(manifestOf(files, { created: CREATED }), [keyA]));
      },
    });
  }
  const hostileFields: [string, string, (m: Map<string, CborValue>) => void][] = [
    ['unknown-field', 'an unknown field', (m) => m.set('exec', 'rm -rf /')],
    ['proto-field', 'a "__proto__" field', (m) => m.set('__proto__', new Map([['polluted', 'yes']]))],
    ['shard-size', 'a shard size that is not a power of two', (m) => m.set('shardSize', 65537)],
    ['digest-length', 'a digest of the wrong length', (m) => m.set('files', [new Map<string, CborValue>([['path', 'weights.bin'], ['size', 4096], ['digest', new Uint8Array(31)]])])],
    ['annotation-control', 'an annotation value with a control character', (m) => m.set('annotations', new Map([['note', 'line\u001b[31m']]))],
    ['subject-newline', 'a subject name with a newline', (m) => m.set('subject', new Map([['name', 'fine\nVerified OK']]))],
    ['no-files', 'no files', (m) => m.set('files', [])],
    ['hash-md5', 'an unknown hash algorithm', (m) => m.set('hash', 'md5')],
  ];
  for (const [name, what, change] of hostileFields) {
    add({
      id: `hostile/field-${name}`,
      description: `a signed manifest with ${what}`,
      argv: verifyDir(),
      exit: 1,
      errors: ['MALFORMED_SIGNATURE_FILE'],
      build: (d) => {
        hostileModel(d);
        write(join(d, 'model.sig'), signPayload(manifestBytes(WEIGHTS, (m) => (m.set('created', CREATED), change(m))), [keyA]));
      },
    });
  }
  const hostileCbor: [string, string, Uint8Array][] = [
    ['declares-1gib', 'a payload declaring 1 GiB', Uint8Array.from([0xa3, 0x67, ...Buffer.from('payload'), 0x5a, 0x40, 0x00, 0x00, 0x00, 1, 2, 3, 4, 5, 6, 7, 8])],
    ['declares-2-64', 'a payload declaring 2^64 - 1 bytes', Uint8Array.from([0xa3, 0x67, ...Buffer.from('payload'), 0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0])],
    ['array-2-32', 'an array declaring 2^32 - 1 items', Uint8Array.from([0x9a, 0xff, 0xff, 0xff, 0xff, 0, 0, 0])],
    ['map-2-63', 'a map declaring 2^63 entries', Uint8Array.from([0xbb, 0x80, 0, 0, 0, 0, 0, 0, 0, 0])],
    ['nested-arrays', 'arrays nested 100,000 deep', Uint8Array.from([...new Uint8Array(100_000).fill(0x81), 0x00])],
    ['nested-indefinite', 'indefinite-length arrays nested 10,000 deep', Uint8Array.from([...new Uint8Array(10_000).fill(0x9f), ...new Uint8Array(10_000).fill(0xff)])],
    ['nested-tags', 'tags nested 10,000 deep', Uint8Array.from([...new Uint8Array(10_000).fill(0xc6), 0x00])],
  ];
  for (const [name, what, bytes] of hostileCbor) {
    add({ id: `hostile/cbor-${name}`, description: `a signature file that is ${what}`, argv: verifyDir(), exit: 1, errors: ['MALFORMED_SIGNATURE_FILE'], build: (d) => (hostileModel(d), write(join(d, 'model.sig'), bytes)) });
  }
  add({
    id: 'hostile/cbor-nested-signed',
    description: 'a SIGNED payload nested deeper than the limit',
    argv: verifyDir(),
    exit: 1,
    errors: ['MALFORMED_SIGNATURE_FILE'],
    build: (d) => {
      hostileModel(d);
      let deep: CborValue = 0;
      for (let i = 0; i < 100; i++) deep = [deep];
      write(join(d, 'model.sig'), signPayload(encodeCanonical(new Map<string, CborValue>([['version', 1], ['annotations', deep]])), [keyA]));
    },
  });

  // --- path collisions: one pinned Unicode version decides (docs/signature-format.md).
  const collisionCase = (id: string, description: string, names: string[], exit: 0 | 1, errors: string[]) =>
    add({
      id,
      description,
      argv: verifyDir(),
      exit,
      errors,
      create: Object.fromEntries(names.map((n) => [`model/${n}`, Buffer.from(WEIGHTS.subarray(0, 16)).toString('base64')])),
      build: (d) => {
        writePublicKeys(d);
        const files = [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))).map((n) => fileEntry(n, WEIGHTS.subarray(0, 16)));
        write(join(d, 'model.sig'), signManifest(manifestOf(files, { created: CREATED }), [keyA]));
      },
    });
  collisionCase('paths/case-collision', 'two names equal ignoring case (É/é)', ['\u00c9T\u00c9.bin', '\u00e9t\u00e9.bin'], 1, ['UNSAFE_PATH']);
  collisionCase('paths/full-case-folding', 'two names equal under full case folding (ß/SS)', ['STRASSE.bin', 'stra\u00dfe.bin'], 1, ['UNSAFE_PATH']);
  collisionCase('paths/nfc-nfd', 'NFC and NFD spellings of one name', ['caf\u00e9.bin', 'cafe\u0301.bin'], 1, ['UNSAFE_PATH']);
  collisionCase('paths/after-pinned-unicode', 'U+A7CB (not assigned in Unicode 14.0.0) and U+0264: distinct names', ['\ua7cb.bin', '\u0264.bin'], 0, []);

  // --- trust policies: thresholds, revocation, scopes, key windows, expiry, age.
  const policyCase = (id: string, description: string, build: (d: string) => Promise<void> | void, exit: 0 | 1 | 2, errors: string[], argv = verifyTrust) =>
    add({ id, description, argv, exit, errors, build });
  const A = { name: 'alice', key: keyA };
  const B = { name: 'bob', key: keyB };
  policyCase('policy/accept', 'a publisher for every model', async (d) => (await signedFile(d), policy(d, [A])), 0, []);
  policyCase('policy/threshold-met', 'threshold 2, signed by two publishers', async (d) => (await signedFile(d, { keys: ['a', 'b'] }), policy(d, [A, B], { rules: [{ models: '**', threshold: 2 }] })), 0, []);
  policyCase('policy/threshold-not-met', 'threshold 2, signed by one publisher', async (d) => (await signedFile(d), policy(d, [A, B], { rules: [{ models: '**', threshold: 2 }] })), 1, ['THRESHOLD_NOT_MET']);
  policyCase('policy/revoked', 'the only signing key revoked', async (d) => (await signedFile(d), policy(d, [A], { revoked: [{ keyId: keyA.publicKey.keyId, reason: 'leaked' }] })), 1, ['REVOKED_KEY']);
  policyCase('policy/out-of-scope', 'the publisher may sign other models only', async (d) => (await signedFile(d), policy(d, [{ ...A, models: ['vision/*'] }])), 1, ['OUT_OF_SCOPE']);
  policyCase('policy/in-scope-glob', 'the publisher may sign models matching a glob', async (d) => (await signedFile(d), policy(d, [{ ...A, models: ['model.*'] }])), 0, []);
  policyCase('policy/key-not-yet-valid', 'signed before the key window opens', async (d) => (await signedFile(d), policy(d, [{ ...A, notBefore: '2026-06-01' }])), 1, ['KEY_NOT_VALID']);
  policyCase('policy/key-window-closed', 'signed after the key window closed', async (d) => (await signedFile(d), policy(d, [{ ...A, notAfter: '2025-12-01' }])), 1, ['KEY_NOT_VALID']);
  policyCase('policy/key-window-open', 'signed inside the key window', async (d) => (await signedFile(d), policy(d, [{ ...A, notBefore: '2025-01-01', notAfter: '2027-01-01' }])), 0, []);
  policyCase('policy/expired', 'the signature expired', async (d) => (await signedFile(d, { expires: EXPIRED }), policy(d, [A])), 1, ['EXPIRED']);
  policyCase('policy/not-expired', 'the signature expires in 2099', async (d) => (await signedFile(d, { expires: FAR_FUTURE }), policy(d, [A])), 0, []);
  policyCase('policy/created-in-future', 'created in 2099', async (d) => (await signedFile(d, { now: FAR_FUTURE - DAY }), policy(d, [A])), 1, ['NOT_YET_VALID']);
  policyCase('policy/expiry-required', 'a rule requires an expiry and there is none', async (d) => (await signedFile(d), policy(d, [A], { rules: [{ models: '**', requireExpiry: true }] })), 1, ['EXPIRY_REQUIRED']);
  policyCase('policy/expiry-required-met', 'a rule requires an expiry and there is one', async (d) => (await signedFile(d, { expires: FAR_FUTURE }), policy(d, [A], { rules: [{ models: '**', requireExpiry: true }] })), 0, []);
  policyCase('policy/too-old', 'a rule allows 30 days of age', async (d) => (await signedFile(d), policy(d, [A], { rules: [{ models: '**', maxAge: '30d' }] })), 1, ['TOO_OLD']);
  policyCase('policy/name-mismatch', '--name differs from the signed name', async (d) => signedFile(d), 1, ['NAME_MISMATCH'], verifyFile('--name', 'other.bin'));
  policyCase('policy/bad-policy', 'a trust policy with an unknown field', async (d) => (await signedFile(d), write(join(d, 'trust.json'), '{"version":1,"publishers":[],"revoked":[],"rules":[],"extra":1}')), 2, ['BAD_TRUST_POLICY']);

  // --- the scan of the verified bytes: a correctly signed model that is unsafe to load.
  add({
    id: 'scan/code-file',
    description: 'a signed directory holding a shell script: the signature verifies, the scan (default mode no-unsafe) refuses the model',
    argv: verifyDir(),
    exit: 1,
    errors: ['CODE_FILE', 'SCAN_UNSAFE'],
    build: (d) => {
      write(join(d, 'model', 'weights.bin'), WEIGHTS);
      write(join(d, 'model', 'run.sh'), SCRIPT);
      writePublicKeys(d);
      write(join(d, 'model.sig'), signManifest(manifestOf([fileEntry('run.sh', SCRIPT), fileEntry('weights.bin', WEIGHTS)], { created: CREATED }), [keyA]));
    },
  });

  // --- OMS bundles (OpenSSF model signing) as model_signing 1.1.0 wrote them, key mode (ECDSA P-384).
  const omsCorpus = join(dataDir, 'interop', 'model-signing');
  const omsKeyCase = (id: string, description: string, exit: 0 | 1, errors: string[], tamper: (d: string) => void = () => {}) =>
    add({
      id,
      description,
      argv: ['verify', 'model', '-s', 'model/model.sig', '-p', 'publisher.pub', '--json'],
      exit,
      errors,
      build: (d) => {
        cpSync(join(omsCorpus, 'v1.1.0-elliptic-key'), join(d, 'model'), { recursive: true });
        copyFileSync(join(omsCorpus, 'keys', 'certificate', 'signing-key-pub.pem'), join(d, 'publisher.pub'));
        tamper(d);
      },
    });
  omsKeyCase('oms/key-mode', 'an OMS bundle (ECDSA P-384 key, the bundle records its ignored paths) verifies', 0, []);
  omsKeyCase('oms/key-mode-tampered', 'an OMS bundle: one bit of a signed file flipped', 1, ['DIGEST_MISMATCH'], (d) => flipByte(join(d, 'model', 'signme-1'), () => 0));

  // --- weak public keys given as trust anchors.
  for (const [i, raw] of canonicalSmallOrderEncodings().slice(0, 2).entries()) {
    add({
      id: `keys/small-order-${i + 1}`,
      description: 'a small-order public key (which would accept forged signatures) as the trust anchor',
      argv: verifyFile(),
      exit: 2,
      errors: ['BAD_KEY'],
      build: async (d) => (await signedFile(d), write(join(d, 'publisher.pub'), `-----BEGIN PUBLIC KEY-----\n${spkiBase64(raw)}\n-----END PUBLIC KEY-----\n`)),
    });
  }
  return list;
}

/** The Ed25519 vectors as the suite states them: hex key, message, signature, and the verdict. */
function vectors() {
  return vectorFileNames().flatMap((file) =>
    loadCases(file).map((c) => ({
      id: `${file.replace(/\.json$/, '')} ${c.id}`,
      publicKey: Buffer.from(c.publicKey).toString('hex'),
      message: Buffer.from(c.message).toString('hex'),
      signature: Buffer.from(c.signature).toString('hex'),
      accept: c.accept,
    })),
  );
}

/** Writes the suite into `out` (a conformance/ directory) after checking each case with the CLI. */
export async function generate(out: string): Promise<number> {
  const specs = cases();
  rmSync(join(out, 'cases'), { recursive: true, force: true });
  const work = mkdtempSync(join(tmpdir(), 'ms-sign-conformance-'));
  try {
    for (const spec of specs) {
      const dir = join(out, 'cases', spec.id);
      mkdirSync(dir, { recursive: true });
      await spec.build(dir);
      // Check it as the runner will run it: a fresh copy, plus the files it creates.
      const run = join(work, spec.id);
      cpSync(dir, run, { recursive: true });
      for (const [path, data] of Object.entries(spec.create ?? {})) write(join(run, path), Buffer.from(data, 'base64'));
      const r = await runCli(spec.argv, { cwd: run });
      const codes = r.json<{ errors: { code: string }[] }>().errors.map((e) => e.code);
      assert.equal(r.code, spec.exit, `${spec.id}: exit ${r.code}, expected ${spec.exit}: ${r.stdout}`);
      assert.deepEqual([...new Set(codes)].sort(), [...spec.errors].sort(), `${spec.id}: error codes`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const listed = specs.map(({ build: _build, ...c }) => c);
  writeFileSync(join(out, 'cases.json'), `${JSON.stringify({ version: SUITE_VERSION, cases: listed }, null, 1)}\n`);
  writeFileSync(join(out, 'vectors.json'), `${JSON.stringify({ version: SUITE_VERSION, vectors: vectors() }, null, 1)}\n`);
  return specs.length;
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const out = process.argv[2] ?? join(repoRoot, 'conformance');
  const n = await generate(out);
  console.log(`wrote ${n} cases and the vectors to ${out}`);
}
