/**
 * format/json.ts, the one strict JSON reader: model headers, OMS bundles and statements, trust
 * policies and state files all get the same rules (fatal UTF-8, no duplicate key, bounded depth),
 * and what they are given is what JSON.parse would have given for an accepted text.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findDuplicateJsonKey, MsSignError, parseOmsBundle, parseTrustPolicy } from '@ms-sign/core';
import { parseStrictJson, toPlainJson } from '@ms-sign/core/internal';

const refusedWith = (fn: () => unknown, code: string, message: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof MsSignError && e.code === code && message.test(e.message));

describe('the strict JSON reader', () => {
  test('a duplicate key is named by its JSON pointer, through arrays and escaped names', () => {
    assert.equal(findDuplicateJsonKey('{"a": [{"b": 1}, {"b": 1, "b": 2}]}'), '/a/1/b');
    assert.equal(findDuplicateJsonKey('{"x/y": {"m~n": 1, "m\\u007en": 2}}'), '/x~1y/m~0n');
    assert.equal(findDuplicateJsonKey('{"a": 1, "b": {"a": 2}}'), undefined);
  });

  test('toPlainJson gives what JSON.parse gives, "__proto__" included as a key', () => {
    const text = '{"__proto__": {"polluted": true}, "n": [8.0, -0, 1e3, 0.5, 12345678901234567890], "s": "\\u00e9\\n", "t": [true, false, null, {}, []]}';
    const plain = toPlainJson(parseStrictJson(text)) as Record<string, unknown>;
    assert.deepEqual(plain, JSON.parse(text));
    assert.equal(Object.getPrototypeOf(plain), Object.prototype);
    assert.deepEqual(Object.keys(plain), ['__proto__', 'n', 's', 't']);
    assert.equal(({} as { polluted?: boolean }).polluted, undefined);
  });

  test('every caller gets the union of the rules: depth, duplicates and UTF-8 in a bundle and in a policy', () => {
    const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    refusedWith(() => parseOmsBundle(new TextEncoder().encode(`{"mediaType": ${deep(40)}}`), 'b'), 'MALFORMED_SIGNATURE_FILE', /nested deeper than 32/);
    refusedWith(() => parseOmsBundle(new TextEncoder().encode('{"a": 1, "a": 1}'), 'b'), 'MALFORMED_SIGNATURE_FILE', /duplicate key "a"/);
    refusedWith(() => parseTrustPolicy(`{"version": 1, "x": ${deep(300)}}`, 'p'), 'BAD_TRUST_POLICY', /not valid JSON/);
    // Policy files are decoded strictly: an invalid UTF-8 byte is refused, not turned into U+FFFD.
    const policy = new TextEncoder().encode('{"version": 1, "publishers": [], "rules": [{"models": ["x"], "comment": "\u00e9"}]}');
    const broken = policy.slice();
    broken[broken.indexOf(0xc3)] = 0xff;
    refusedWith(() => parseTrustPolicy(broken, 'p'), 'BAD_TRUST_POLICY', /not valid JSON/);
  });
});
