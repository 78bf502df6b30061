/**
 * policy/semver.ts: Semantic Versioning 2.0.0 precedence (section 11), which rollback protection
 * uses to decide whether a model version is older than one accepted before.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compareSemver, parseSemver } from '@ms-sign/core';

function compare(a: string, b: string): number {
  const x = parseSemver(a);
  const y = parseSemver(b);
  assert.ok(x && y, `${a} and ${b} parse`);
  return Math.sign(compareSemver(x, y));
}

describe('compareSemver', () => {
  test('the precedence example of SemVer 2.0.0 section 11, in every pair', () => {
    const ascending = [
      '1.0.0-alpha',
      '1.0.0-alpha.1',
      '1.0.0-alpha.beta',
      '1.0.0-beta',
      '1.0.0-beta.2',
      '1.0.0-beta.11',
      '1.0.0-rc.1',
      '1.0.0',
      '1.0.1',
      '1.1.0',
      '2.0.0',
      '10.0.0',
    ];
    ascending.forEach((a, i) => ascending.forEach((b, j) => assert.equal(compare(a, b), Math.sign(i - j), `${a} vs ${b}`)));
  });

  test('numbers compare as numbers, also beyond 2^53', () => {
    assert.equal(compare('1.10.0', '1.9.0'), 1);
    assert.equal(compare('1.0.0-10', '1.0.0-9'), 1);
    assert.equal(compare('1.0.99999999999999999999', '1.0.99999999999999999998'), 1);
    assert.equal(compare('99999999999999999999.0.0', '99999999999999999999.0.0'), 0);
  });

  test('numeric identifiers rank below alphanumeric ones, which compare in ASCII order', () => {
    assert.equal(compare('1.0.0-1', '1.0.0-a'), -1);
    assert.equal(compare('1.0.0-B', '1.0.0-a'), -1);
    assert.equal(compare('1.0.0-a', '1.0.0-a.1'), -1);
    assert.equal(compare('1.0.0-0a', '1.0.0-1'), 1, '"0a" is alphanumeric');
  });

  test('build metadata and a leading "v" do not change precedence', () => {
    assert.equal(compare('1.0.0+build.1', '1.0.0+build.2'), 0);
    assert.equal(compare('1.0.0-alpha+001', '1.0.0-alpha'), 0);
    assert.equal(compare('v1.2.3', '1.2.3'), 0);
  });
});

describe('parseSemver', () => {
  for (const text of ['0.0.0', '1.2.3', 'v1.2.3', '1.0.0-0.3.7', '1.0.0-x.7.z.92', '1.0.0-x-y-z.--', '1.0.0+20130313144700', '1.0.0-beta+exp.sha.5114f85', '1.0.0-00a']) {
    test(`accepts ${text}`, () => {
      assert.notEqual(parseSemver(text), undefined);
    });
  }
  for (const text of ['', '1', '1.0', '1.0.0.0', '01.0.0', '1.01.0', '1.0.01', '1.0.0-01', '1.0.0-', '1.0.0+', '1.0.0-a..b', '1.0.0-a_b', 'V1.0.0', 'vv1.0.0', ' 1.0.0', '1.0.0 ', '1.0.0\n', '-1.0.0', '1.0.0-é', 'latest']) {
    test(`refuses ${JSON.stringify(text)}`, () => {
      assert.equal(parseSemver(text), undefined);
    });
  }
});
