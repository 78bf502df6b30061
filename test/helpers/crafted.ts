/**
 * Builders for hostile inputs: key files written in-process (fast), signature files whose
 * manifests the CLI would never write (unsafe paths, bad fields) yet SIGNED by a trusted key, and
 * SPKI files for arbitrary 32-byte "public keys". Used by test/adversarial, test/property and
 * test/fuzz.
 */
import { createHash, createPrivateKey, sign as nodeSign } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  encodeCanonical,
  encodeEnvelope,
  encodeManifest,
  encodePublicKeyPem,
  encodeSecretKeyPem,
  MANIFEST_PAYLOAD_TYPE,
  MANIFEST_VERSION,
  policyFromKeys,
  secretKeyFromSeed,
  signingMessage,
  type CborValue,
  type Manifest,
  type ManifestFile,
  type PublicKey,
  type SecretKey,
} from '@ms-sign/core';
import { nodeKeyFileCipher, type TrustSource } from '@ms-sign/core/node';

// RFC 8410 DER prefixes: PKCS#8 v1 PrivateKeyInfo and SubjectPublicKeyInfo for Ed25519.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface KeyFiles {
  readonly key: SecretKey;
  readonly secretPath: string;
  readonly publicPath: string;
  readonly keyId: string;
}

/** A key from a fixed 32-byte seed (deterministic tests), e.g. seedKey(7). */
export function seedKey(n: number): SecretKey {
  return secretKeyFromSeed(new Uint8Array(32).fill(n));
}

/** Writes PREFIX.key (mode 0600, encrypted when a passphrase is given) and PREFIX.pub in `dir`. */
export async function writeKeyFiles(dir: string, key: SecretKey, prefix = 'publisher', passphrase?: string): Promise<KeyFiles> {
  const secretPath = join(dir, `${prefix}.key`);
  const publicPath = join(dir, `${prefix}.pub`);
  writeFileSync(secretPath, await encodeSecretKeyPem(key, passphrase, nodeKeyFileCipher), { mode: 0o600 });
  writeFileSync(publicPath, encodePublicKeyPem(key.publicKey));
  return { key, secretPath, publicPath, keyId: key.publicKey.keyId };
}

/** What `verify -p` builds: each key its own publisher for every model name. */
export function trustKeys(...keys: PublicKey[]): TrustSource {
  return { policy: policyFromKeys(keys.map((key, i) => ({ name: `publisher-${i}`, key }))), source: '-p' };
}

export function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}

/** A manifest entry for a file of one shard: its plain SHA-256. */
export function fileEntry(path: string, content: Uint8Array): ManifestFile {
  return { path, size: content.length, digests: [sha256(content)] };
}

/** A v1 directory manifest over `files` (kept in the order given: sorting is the test's choice). */
export function manifestOf(files: readonly ManifestFile[], overrides: Partial<Manifest> = {}): Manifest {
  return {
    version: MANIFEST_VERSION,
    kind: 'directory',
    subject: { name: 'crafted' },
    hashAlgorithm: 'sha256',
    shardSize: 64 * 1024 * 1024,
    files,
    created: Math.floor(Date.now() / 1000) - 60,
    ignore: [],
    annotations: {},
    ...overrides,
  };
}

/**
 * Signs arbitrary payload bytes with node:crypto (OpenSSL), independently of ms-sign's own
 * signing code, and wraps them in an envelope. The payload need not be a valid manifest.
 */
export function signPayload(payload: Uint8Array, keys: readonly SecretKey[], payloadType = MANIFEST_PAYLOAD_TYPE): Uint8Array {
  const message = signingMessage(payloadType, payload);
  return encodeEnvelope({
    payloadType,
    payload,
    signatures: keys.map((key) => ({
      keyId: Buffer.from(key.publicKey.keyId, 'hex'),
      signature: new Uint8Array(nodeSign(null, message, createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, key.seed]), format: 'der', type: 'pkcs8' }))),
    })),
  });
}

/** A signature file for `manifest`, encoded without any validation (encodeManifest checks nothing). */
export function signManifest(manifest: Manifest, keys: readonly SecretKey[]): Uint8Array {
  return signPayload(encodeManifest(manifest), keys);
}

/** An SPKI PEM ("-----BEGIN PUBLIC KEY-----") holding any 32 bytes as an Ed25519 public key. */
export function spkiPem(raw: Uint8Array): string {
  return `-----BEGIN PUBLIC KEY-----\n${Buffer.concat([SPKI_PREFIX, raw]).toString('base64')}\n-----END PUBLIC KEY-----\n`;
}

/** The trust-policy form of a raw key: base64 of its SPKI DER. */
export function spkiBase64(raw: Uint8Array): string {
  return Buffer.concat([SPKI_PREFIX, raw]).toString('base64');
}

/**
 * A valid v1 manifest as a raw CBOR map over one file `weights.bin` holding `content`, for tests
 * that set fields to values the typed encoder would never write (then encodeCanonical + signPayload).
 */
export function manifestMap(content: Uint8Array): Map<string, CborValue> {
  return new Map<string, CborValue>([
    ['version', 1],
    ['kind', 'directory'],
    ['subject', new Map([['name', 'crafted']])],
    ['hash', 'sha256'],
    ['shardSize', 65536],
    ['files', [new Map<string, CborValue>([['path', 'weights.bin'], ['size', content.length], ['digest', sha256(content)]])]],
    ['created', Math.floor(Date.now() / 1000) - 60],
    ['ignore', []],
    ['annotations', new Map()],
  ]);
}

/** The canonical bytes of `manifestMap(content)` after `change` edits it. */
export function manifestBytes(content: Uint8Array, change: (m: Map<string, CborValue>) => void): Uint8Array {
  const map = manifestMap(content);
  change(map);
  return encodeCanonical(map);
}

/**
 * Manifest paths that must be refused with UNSAFE_PATH even when SIGNED by a trusted key (the
 * names of outside.bin next to the model where a path could reach it).
 */
export const HOSTILE_PATHS: readonly (readonly [string, readonly string[]])[] = [
  ['absolute', ['/etc/passwd']],
  ['absolute to the outside file', ['/OUTSIDE']],
  ['".." to the outside file', ['../outside.bin']],
  ['".." in the middle', ['weights.bin/../../outside.bin']],
  ['"." segment', ['./weights.bin']],
  ['backslash', ['..\\outside.bin']],
  ['NUL', ['weights.bin\u0000.txt']],
  ['newline', ['weights\n.bin']],
  ['escape sequence', ['\u001b[2Jweights.bin']],
  ['DEL', ['weights\u007f.bin']],
  ['C1 control (NEL)', ['weights\u0085.bin']],
  ['empty', ['']],
  ['empty segment', ['a//weights.bin']],
  ['trailing slash', ['weights.bin/']],
  ['repeated', ['weights.bin', 'weights.bin']],
  ['repeated ignoring case', ['WEIGHTS.bin', 'weights.bin']],
  ['repeated after Unicode normalization', ['caf\u00e9.bin', 'cafe\u0301.bin']],
  ['not sorted', ['weights.bin', 'a.bin']],
];
