/**
 * The OpenSSF Model Signing v1.0 test vectors get the verdicts the specification gives them, and
 * the pure pieces (strict JSON, both signed messages, statement rules, the root digest) are checked
 * against values recomputed from the corpus and from model_signing itself.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, sign } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { dssePae, legacyPae, parseOmsBundle, parseOmsStatement, rootOfDigests, toHex } from '@ms-sign/core';
import { verifyOmsModel } from '@ms-sign/core/node';
import { tempDir } from '../helpers/index.js';
import { thrownCode } from '../helpers/codes.js';
import { corpusDir, keysDir, trustFor, vectorsDir } from './corpus.js';

const signingKey = createPrivateKey(readFileSync(join(keysDir, 'signing-key.pem')));
const model = join(corpusDir, 'v1.1.0-elliptic-key');

function codes(r: { errors: { code: string }[] }): string[] {
  return r.errors.map((e) => e.code);
}

describe('OMS v1.0 vectors', () => {
  for (const [vector, code] of [
    ['invalid/empty.bundle.json', 'MALFORMED_SIGNATURE_FILE'],
    ['invalid/missing-envelope.bundle.json', 'MALFORMED_SIGNATURE_FILE'],
    ['invalid/missing-verification-material.bundle.json', 'MALFORMED_SIGNATURE_FILE'],
    ['invalid/missing-tlog-entries.bundle.json', 'MALFORMED_SIGNATURE_FILE'],
  ] as const) {
    test(`${vector} is refused as a bundle: ${code}`, () => {
      assert.equal(thrownCode(() => parseOmsBundle(readFileSync(join(vectorsDir, vector)), vector)), code);
    });
  }
  test('invalid-payload/wrong-predicate: its signature no longer verifies (BAD_SIGNATURE)', async () => {
    const r = await verifyOmsModel(model, join(vectorsDir, 'invalid-payload/wrong-predicate.bundle.json'), { trust: trustFor('elliptic-key'), ignore: ['model.sig'] });
    assert.deepEqual(codes(r), ['BAD_SIGNATURE']);
  });
  test('invalid-payload/wrong-predicate re-signed with the corpus key: refused for its predicate (UNSUPPORTED_FORMAT)', async (t) => {
    const path = join(tempDir(t), 'wrong-predicate.json');
    writeFileSync(path, resign(readFileSync(join(vectorsDir, 'invalid-payload/wrong-predicate.bundle.json'), 'utf8')));
    const r = await verifyOmsModel(model, path, { trust: trustFor('elliptic-key'), ignore: ['model.sig'] });
    assert.deepEqual(codes(r), ['UNSUPPORTED_FORMAT']);
  });
  for (const [vector, mode, dir] of [
    ['valid/key.bundle.json', 'elliptic-key', 'v1.1.0-elliptic-key'],
    ['valid/certificate.bundle.json', 'certificate', 'v1.1.0-elliptic-key'],
    ['valid/sigstore.bundle.json', 'sigstore', 'v1.1.0-sigstore'],
  ] as const) {
    test(`${vector} verifies (the folder's own model.sig is not part of the model)`, async () => {
      const r = await verifyOmsModel(join(corpusDir, dir), join(vectorsDir, vector), { trust: trustFor(mode), ignore: ['model.sig'] });
      assert.deepEqual(r.errors, []);
      // valid/key does not record model.sig: without the ignore, it is an unsigned file.
      if (mode !== 'sigstore') {
        const strict = await verifyOmsModel(join(corpusDir, dir), join(vectorsDir, vector), { trust: trustFor(mode) });
        assert.deepEqual(codes(strict), ['UNSIGNED_FILE']);
      }
    });
  }
});

/** Replaces the bundle's signature with one by the corpus key over its (edited) payload. */
function resign(bundleText: string, edit: (payload: string) => string = (p) => p): string {
  const bundle = JSON.parse(bundleText) as { dsseEnvelope: { payload: string; signatures: { sig: string }[] } };
  const payload = Buffer.from(edit(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8')));
  bundle.dsseEnvelope.payload = payload.toString('base64');
  bundle.dsseEnvelope.signatures[0]!.sig = sign('sha384', dssePae('application/vnd.in-toto+json', payload), { key: signingKey, dsaEncoding: 'der' }).toString('base64');
  return JSON.stringify(bundle);
}

describe('signed messages', () => {
  test('DSSE PAE: the prefix model_signing signs', () => {
    const pae = dssePae('application/vnd.in-toto+json', new TextEncoder().encode('{}'));
    assert.equal(new TextDecoder().decode(pae), 'DSSEv1 28 application/vnd.in-toto+json 2 {}');
  });
  test('the model_signing 0.2 legacy message is Python repr() of the payload', () => {
    const bytes = Uint8Array.from([0x7b, 0x0a, 0x09, 0x0d, 0x27, 0x5c, 0x00, 0x7f, 0xc3, 0xa9, 0x7d]);
    // Contains ' and no ", so Python quotes with ".
    assert.equal(new TextDecoder().decode(legacyPae('t', bytes)), `DSSEV1 1 t 11 b"{\\n\\t\\r'\\\\\\x00\\x7f\\xc3\\xa9}"`);
    const both = Uint8Array.from([0x27, 0x22]);
    assert.equal(new TextDecoder().decode(legacyPae('t', both)), `DSSEV1 1 t 2 b'\\'"'`);
  });
  test('v0.2.0-certificate: the legacy message is 736 bytes and starts as upstream printed it', () => {
    const b = parseOmsBundle(readFileSync(join(corpusDir, 'v0.2.0-certificate', 'model.sig')), 'v0.2.0');
    const message = legacyPae(b.payloadType, b.payload);
    assert.equal(message.length, 736);
    assert.ok(new TextDecoder().decode(message).startsWith(`DSSEV1 28 application/vnd.in-toto+json 664 b'{\\n  "_type": `));
  });
});

// The mutations below edit decoded JSON freely, as an attacker would.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type LooseJson = any;

describe('bundle and statement rules', () => {
  const base = readFileSync(join(corpusDir, 'v1.1.0-elliptic-key', 'model.sig'), 'utf8');
  const statement = (edit: (s: Record<string, LooseJson>) => void) => {
    const b = parseOmsBundle(Buffer.from(base), 'x');
    const s = JSON.parse(new TextDecoder().decode(b.payload)) as Record<string, LooseJson>;
    edit(s);
    return new TextEncoder().encode(JSON.stringify(s));
  };
  test('a duplicate key in the bundle is refused', () => {
    const dup = base.replace('"mediaType"', '"mediaType": "x", "mediaType"');
    assert.equal(thrownCode(() => parseOmsBundle(Buffer.from(dup), 'x')), 'MALFORMED_SIGNATURE_FILE');
  });
  test('an unknown top-level field is refused (model_signing refuses it too)', () => {
    const extra = base.replace('"mediaType"', '"extra": 1, "mediaType"');
    assert.equal(thrownCode(() => parseOmsBundle(Buffer.from(extra), 'x')), 'MALFORMED_SIGNATURE_FILE');
  });
  test('another media type spelling is refused for key bundles', () => {
    const other = base.replace('bundle.v0.3+json', 'bundle+json;version=0.3');
    assert.equal(thrownCode(() => parseOmsBundle(Buffer.from(other), 'x')), 'UNSUPPORTED_FORMAT');
  });
  test('two signatures are refused', () => {
    const b = JSON.parse(base);
    b.dsseEnvelope.signatures.push(b.dsseEnvelope.signatures[0]);
    assert.equal(thrownCode(() => parseOmsBundle(Buffer.from(JSON.stringify(b)), 'x')), 'MALFORMED_SIGNATURE_FILE');
  });
  test('deep nesting is refused before parsing', () => {
    assert.equal(thrownCode(() => parseOmsBundle(Buffer.from('['.repeat(100000)), 'x')), 'MALFORMED_SIGNATURE_FILE');
  });
  test('the corpus statement parses, and the root is over the listed order', () => {
    const s = parseOmsStatement(statement(() => undefined), 'x');
    assert.equal(s.rootDigest, '92745110b1ab4368471cbe31664e10174e954b113a3df333db860317b2c6dec4');
    assert.deepEqual(s.files.map((f) => f.path), ['signme-1', 'signme-2']);
  });
  test('reversing the resources breaks the root: the listed order is never re-sorted', () => {
    assert.equal(thrownCode(() => parseOmsStatement(statement((s) => s.predicate.resources.reverse()), 'x')), 'MALFORMED_SIGNATURE_FILE');
  });
  for (const [name, code] of [
    ['../etc/passwd', 'UNSAFE_PATH'],
    ['/etc/passwd', 'UNSAFE_PATH'],
    ['a/../../b', 'UNSAFE_PATH'],
    ['', 'UNSAFE_PATH'],
    ['a\\b', 'UNSAFE_PATH'],
  ] as const) {
    test(`resource name ${JSON.stringify(name)}: ${code}`, () => {
      const payload = statement((s) => {
        s.predicate.resources[0].name = name;
      });
      assert.equal(thrownCode(() => parseOmsStatement(withRoot(payload), 'x')), code);
    });
  }
  test('a name listed twice (also as ./name) is refused', () => {
    const payload = statement((s) => {
      s.predicate.resources[1].name = './signme-1';
    });
    assert.equal(thrownCode(() => parseOmsStatement(withRoot(payload), 'x')), 'UNSAFE_PATH');
  });
  test('ignore paths "." and ".." are refused', () => {
    for (const bad of ['.', '..', '/abs']) {
      const payload = statement((s) => {
        s.predicate.serialization.ignore_paths = [bad];
      });
      assert.equal(thrownCode(() => parseOmsStatement(payload, 'x')), 'UNSAFE_PATH');
    }
  });
  test('an empty resource list is refused', () => {
    const payload = statement((s) => {
      s.predicate.resources = [];
    });
    assert.equal(thrownCode(() => parseOmsStatement(withRoot(payload), 'x')), 'MALFORMED_SIGNATURE_FILE');
  });
  test('Python shard sizes written as floats are read (8.0), fractional ones are refused', () => {
    const shards = (size: string) =>
      new TextEncoder().encode(
        `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"m","digest":{"sha256":"${toHex(rootOfDigests([new Uint8Array(32)]))}"}}],"predicateType":"https://model_signing/signature/v1.0","predicate":{"resources":[{"name":"f:0:3","algorithm":"sha256-sharded-8","digest":"${'0'.repeat(64)}"}],"serialization":{"method":"shards","hash_type":"sha256","allow_symlinks":false,"shard_size":${size}}}}`,
      );
    assert.equal(parseOmsStatement(shards('8.0'), 'x').shardSize, 8);
    assert.equal(thrownCode(() => parseOmsStatement(shards('8.5'), 'x')), 'MALFORMED_SIGNATURE_FILE');
  });
});

/** Rewrites the subject digest to match the (edited) resources, so that only the edit is tested. */
function withRoot(payload: Uint8Array): Uint8Array {
  const s = JSON.parse(new TextDecoder().decode(payload)) as { subject: { digest: { sha256: string } }[]; predicate: { resources: { digest: string }[] } };
  s.subject[0]!.digest.sha256 = toHex(rootOfDigests(s.predicate.resources.map((r) => new Uint8Array(Buffer.from(r.digest, 'hex')))));
  return new TextEncoder().encode(JSON.stringify(s));
}
