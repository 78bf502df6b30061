/** Dates and durations as written in trust policies and on the command line. */

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
const DURATION = /^(?:\d+[smhdw])+$/;
// RFC 3339 date-time with a zone, or a plain date (midnight UTC).
const DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2}))?$/;

/** Parses "90d", "12h", "1w2d", "30m", "45s" into seconds; undefined if malformed. */
export function parseDuration(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined;
  let seconds = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)([smhdw])/g)) seconds += Number(n) * UNITS[unit!]!;
  return Number.isSafeInteger(seconds) && seconds > 0 ? seconds : undefined;
}

/** Parses an RFC 3339 date-time ("2026-01-31T12:00:00Z") or date ("2026-01-31") to Unix seconds. */
export function parseDate(text: string): number | undefined {
  const m = DATE.exec(text);
  if (!m) return undefined;
  // Date.parse rolls impossible dates over ("2026-02-30" is March 2, "T24:00:00" the next day):
  // a key window or expiry must end on the day written, or the date be refused.
  const [year, month, day, hour] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4] ?? 0)];
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  if (days === undefined || day < 1 || day > days || hour > 23) return undefined;
  const ms = Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text);
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000);
}

/** "--expires WHEN": a duration from now, or a date. */
export function parseWhen(text: string, now: number): number | undefined {
  const duration = parseDuration(text);
  return duration !== undefined ? now + duration : parseDate(text);
}

/** Unix seconds as RFC 3339 UTC without fractions ("2026-11-01T00:00:00Z"). */
export function formatDate(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace('.000Z', 'Z');
}

/** Seconds in the largest whole unit ("90d", "12h"), as trust policies write durations. */
export function formatDuration(seconds: number): string {
  for (const [unit, size] of [['w', 604800], ['d', 86400], ['h', 3600], ['m', 60]] as const) {
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}
