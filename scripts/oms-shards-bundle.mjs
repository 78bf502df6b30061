#!/usr/bin/env node
/**
 * Makes an OMS / model_signing bundle in SHARDS mode for a single-file model, for the benchmark
 * and the tests: ms-sign exports files mode only (what model_signing's verify CLI accepts), but
 * model_signing's API signs shards too, and ms-sign verifies them.
 *
 *   node scripts/oms-shards-bundle.mjs NATIVE.sig EC.key EC.pub OUT.oms
 *
 * The shard digests are taken from a native ms-sign signature of the same file (`sign FILE`; its
 * shard size becomes the bundle's shard_size), so nothing is hashed again; the statement is
 * written as model_signing writes one ("." names a single file, ranges are ".:start:end", the
 * algorithm "sha256-sharded-N"), and signed with the ECDSA key (DER, SHA-256) over the DSSE PAE.
 * Only for models signed by the caller: the native signature is decoded without being verified.
 */
import { createPrivateKey, sign } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { decodeEnvelope, decodeManifest, dssePae, encodeOmsBundle, IN_TOTO_PAYLOAD_TYPE, PREDICATE_V1, rootOfDigests, STATEMENT_TYPE, toHex } from '@ms-sign/core';
import { parseEcPublicKeyPem } from '@ms-sign/core/node';

const [nativeSig, secretKey, publicKey, out] = process.argv.slice(2);
if (!out) {
  process.stderr.write('usage: node scripts/oms-shards-bundle.mjs NATIVE.sig EC.key EC.pub OUT.oms\n');
  process.exit(2);
}
const manifest = decodeManifest(decodeEnvelope(new Uint8Array(readFileSync(nativeSig))).payload);
if (manifest.kind !== 'file' || manifest.hashAlgorithm !== 'sha256') throw new Error(`${nativeSig}: expected a single-file sha256 signature`);
const [file] = manifest.files;
const shardSize = manifest.shardSize;
const resources = file.digests.map((digest, i) => ({
  name: `.:${i * shardSize}:${Math.min((i + 1) * shardSize, file.size)}`,
  algorithm: `sha256-sharded-${shardSize}`,
  digest: toHex(digest),
}));
const statement = {
  _type: STATEMENT_TYPE,
  subject: [{ name: file.path, digest: { sha256: toHex(rootOfDigests(file.digests)) } }],
  predicateType: PREDICATE_V1,
  predicate: { resources, serialization: { method: 'shards', hash_type: 'sha256', allow_symlinks: false, shard_size: shardSize, ignore_paths: [] } },
};
const payload = new TextEncoder().encode(JSON.stringify(statement, null, 2));
const signature = sign('sha256', dssePae(IN_TOTO_PAYLOAD_TYPE, payload), { key: createPrivateKey(readFileSync(secretKey)), dsaEncoding: 'der' });
const hint = parseEcPublicKeyPem(readFileSync(publicKey, 'utf8'), publicKey).hint;
writeFileSync(out, encodeOmsBundle(payload, new Uint8Array(signature), hint));
process.stderr.write(`${out}: OMS shards bundle, ${resources.length} shards of ${shardSize} bytes\n`);
