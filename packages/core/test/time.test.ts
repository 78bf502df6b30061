/**
 * policy/time.ts: dates and durations as operators write them in trust policies and on the
 * command line (key windows, --expires, --max-age). A date that does not exist must be refused,
 * not rolled over: "--not-after 2026-02-30" silently meaning March 2 would keep a key valid longer
 * than its owner said.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatDate, formatDuration, parseDate, parseDuration, parseWhen } from '@ms-sign/core';

describe('parseDuration', () => {
  const valid: [string, number][] = [
    ['45s', 45],
    ['30m', 1800],
    ['12h', 43_200],
    ['90d', 7_776_000],
    ['2w', 1_209_600],
    ['1w2d', 777_600],
    ['12h30m', 45_000],
    ['1d1d', 172_800],
    ['01d', 86_400],
  ];
  for (const [text, seconds] of valid) {
    test(`${text} is ${seconds} s`, () => {
      assert.equal(parseDuration(text), seconds);
    });
  }

  for (const text of ['', '0d', '0s', '0w0d', 'd', '90', '1.5d', '-1d', '90D', '90 d', ' 90d', '90d ', '1y', '1mo', 'P1D', '9'.repeat(20) + 'w']) {
    test(`refuses ${JSON.stringify(text)}`, () => {
      assert.equal(parseDuration(text), undefined);
    });
  }
});

describe('parseDate', () => {
  const valid: [string, string][] = [
    ['2026-01-31', '2026-01-31T00:00:00Z'],
    ['2026-01-31T12:00:00Z', '2026-01-31T12:00:00Z'],
    ['2026-01-31t12:00:00z', '2026-01-31T12:00:00Z'],
    ['2026-01-31 12:00:00Z', '2026-01-31T12:00:00Z'],
    ['2026-01-31T12:00:00.999Z', '2026-01-31T12:00:00Z'],
    ['2026-01-31T12:00:00+02:00', '2026-01-31T10:00:00Z'],
    ['2026-01-31T00:30:00-01:00', '2026-01-31T01:30:00Z'],
    ['2024-02-29', '2024-02-29T00:00:00Z'],
    ['2000-02-29', '2000-02-29T00:00:00Z'],
    ['2026-12-31T23:59:59Z', '2026-12-31T23:59:59Z'],
    ['2026-04-30', '2026-04-30T00:00:00Z'],
  ];
  for (const [text, iso] of valid) {
    test(`${text} is ${iso}`, () => {
      const seconds = parseDate(text);
      assert.notEqual(seconds, undefined);
      assert.equal(formatDate(seconds!), iso);
    });
  }

  const invalid: [string, string][] = [
    ['February 30', '2026-02-30'],
    ['February 29 of a common year', '2026-02-29'],
    ['February 29 of a century year', '2100-02-29'],
    ['April 31', '2026-04-31'],
    ['April 31 with a time', '2026-04-31T12:00:00Z'],
    ['day 32', '2026-01-32'],
    ['day 0', '2026-01-00'],
    ['month 13', '2026-13-01'],
    ['month 0', '2026-00-10'],
    ['hour 24', '2026-01-31T24:00:00Z'],
    ['hour 25', '2026-01-31T25:00:00Z'],
    ['minute 60', '2026-01-31T12:60:00Z'],
    ['second 60', '2026-01-31T23:59:60Z'],
    ['an offset hour of 24', '2026-01-31T12:00:00+24:00'],
    ['an offset minute of 60', '2026-01-31T12:00:00+01:60'],
    ['no zone', '2026-01-31T12:00:00'],
    ['no seconds', '2026-01-31T12:00Z'],
    ['a short year', '26-01-31'],
    ['no dashes', '20260131'],
    ['slashes', '2026/01/31'],
    ['a duration', '90d'],
    ['words', 'tomorrow'],
    ['empty', ''],
    ['trailing text', '2026-01-31x'],
  ];
  for (const [what, text] of invalid) {
    test(`refuses ${what} (${JSON.stringify(text)})`, () => {
      assert.equal(parseDate(text), undefined);
    });
  }
});

describe('parseWhen', () => {
  const now = 1_800_000_000;
  test('a duration counts from now, a date is absolute', () => {
    assert.equal(parseWhen('90d', now), now + 7_776_000);
    assert.equal(parseWhen('2027-01-31', now), parseDate('2027-01-31'));
    assert.equal(parseWhen('2026-02-30', now), undefined);
    assert.equal(parseWhen('soon', now), undefined);
  });
});

describe('formatDate and formatDuration', () => {
  test('formatDate writes RFC 3339 UTC without fractions', () => {
    assert.equal(formatDate(0), '1970-01-01T00:00:00Z');
    assert.equal(formatDate(1_793_491_200), '2026-11-01T00:00:00Z');
    assert.equal(formatDate(4_102_444_800), '2100-01-01T00:00:00Z');
  });

  test('formatDuration uses the largest unit that divides, and parses back', () => {
    const cases: [number, string][] = [[1, '1s'], [59, '59s'], [61, '61s'], [60, '1m'], [3600, '1h'], [86_400, '1d'], [604_800, '1w'], [7_776_000, '90d'], [1_209_600, '2w']];
    for (const [seconds, text] of cases) {
      assert.equal(formatDuration(seconds), text);
      assert.equal(parseDuration(text), seconds);
    }
  });
});
