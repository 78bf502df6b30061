/**
 * The scanner framework (pure): detect each file's format, run its scanner, collect bounded
 * findings, derive the file verdict, and judge a whole model against a scan mode. File access is
 * the caller's (node/scan.ts walks a model; verify hands over verified bytes): everything here
 * works on a ByteSource.
 *
 * Example:
 *   const result = scanFile(new BufferSource(bytes), 'model.ms', { modelFiles: new Set(['model.ms']) });
 *   result.verdict; // 'clean' | 'unsafe' | 'malformed' | 'unknown'
 */
import { problem, type Problem } from '../errors.js';
import type { Glob } from '../format/glob.js';
import { SCAN_CODES, VERDICT_RANK, type ScanCode, type ScanErrorCode, type Verdict } from './codes.js';
import { detectFormat, extensionMismatch } from './detect.js';
import { scannerFor } from './registry.js';
import { inRange } from './source.js';
import { RefinedFormat, ScanAbort, type ByteSource, type FileScanResult, type Finding, type FindingInput, type FormatInfo, type NestedScanResult, type ScanContext } from './types.js';

/** Bumped when a change makes a scan stricter; reported as `scanner.version`. */
export const SCANNER_VERSION = 1;

export type ScanMode = 'off' | 'no-unsafe' | 'clean';
export const SCAN_MODES: readonly ScanMode[] = ['off', 'no-unsafe', 'clean'];

export const SCAN_LIMITS = {
  /** Error findings kept per file (and listed in errors[]); SCAN_FINDINGS_TRUNCATED after. */
  errorsPerFile: 100,
  /** All findings kept per file. */
  findingsPerFile: 1000,
  /** Nesting of scanMember (zip in zip in zip). */
  memberDepth: 3,
  /** detail strings and member names, in UTF-8 bytes. */
  detailBytes: 256,
  messageBytes: 1024,
} as const;

export interface ScanFileOptions {
  /** Every model-relative path of the model (external references resolve against it). Default: just this file. */
  readonly modelFiles?: ReadonlySet<string>;
  readonly modelFileSizes?: ReadonlyMap<string, number>;
  /** Extra allowed pickle globals, exact `module:qualname`. */
  readonly allowGlobals?: ReadonlySet<string>;
  /** Waivable codes a policy rule waives (`scanWaive`). */
  readonly waive?: ReadonlySet<ScanCode>;
}

/** Scans one file. Never throws for hostile bytes: every failure is a finding. */
export function scanFile(source: ByteSource, path: string, options: ScanFileOptions = {}): FileScanResult {
  const collector = new FindingCollector(path, options.waive ?? new Set());
  const outcome = scanInto(source, path, undefined, 0, options, collector);
  const findings = collector.finish();
  return {
    path,
    size: source.size,
    format: outcome.format,
    ...(outcome.formatInfo === undefined ? {} : { formatInfo: outcome.formatInfo }),
    verdict: verdictOf(findings),
    findings,
  };
}

/** The worst effect among the findings that are not waived. */
export function verdictOf(findings: readonly Finding[]): Verdict {
  let verdict: Verdict = 'clean';
  for (const f of findings) {
    if (f.waived || f.verdict === 'none') continue;
    if (VERDICT_RANK[f.verdict] > VERDICT_RANK[verdict]) verdict = f.verdict;
  }
  return verdict;
}

interface Outcome {
  format: string;
  formatInfo?: FormatInfo;
}

function scanInto(source: ByteSource, path: string, member: string | undefined, depth: number, options: ScanFileOptions, collector: FindingCollector): Outcome {
  const name = member ?? path;
  const detection = detectFormat(source, name);
  const at = (finding: FindingInput): FindingInput => (member === undefined ? finding : { ...finding, member: finding.member === undefined ? member : `${member}/${finding.member}` });
  const report = (finding: FindingInput) => collector.add(at(finding));
  let outcome: Outcome = { format: detection.format };
  if (detection.format === 'empty') {
    report({ code: 'FORMAT_EMPTY', message: `${name} is empty` });
    return outcome;
  }
  if (detection.format === 'mindspore-encrypted') {
    report({ code: 'SCAN_ENCRYPTED', message: `${name} is an encrypted MindSpore model: its structure cannot be checked` });
    return outcome;
  }
  if (detection.format === 'archive-other') {
    report({ code: 'FORMAT_ARCHIVE', message: `${name} is a compressed archive ms-sign does not open` });
    return outcome;
  }
  const scanner = scannerFor(detection.format);
  if (scanner === undefined) {
    report(unknownFormatFinding(name, detection.format));
    noteExtensionMismatch(name, outcome.format, report);
    return outcome;
  }
  // Built on the first read, once (a scanner may read it per reference it resolves).
  let modelFiles: ReadonlySet<string> | undefined;
  const ctx: ScanContext = {
    path,
    // Read when a scanner resolves a reference, not for every file: the caller may build the
    // model's file list on first use (verify's hashing threads do).
    get modelFiles() {
      return (modelFiles ??= options.modelFiles ?? new Set([path]));
    },
    get modelFileSizes() {
      return options.modelFileSizes;
    },
    allowGlobals: options.allowGlobals ?? new Set(),
    report,
    scanMember(inner: string, bytes: ByteSource): NestedScanResult {
      const full = member === undefined ? inner : `${member}/${inner}`;
      if (depth + 1 >= SCAN_LIMITS.memberDepth) {
        collector.add({ code: 'SCAN_LIMIT_EXCEEDED', message: `${full} is nested more than ${SCAN_LIMITS.memberDepth} levels deep; not scanned`, member: full });
        return { format: 'unknown', verdict: 'malformed' };
      }
      const before = collector.size;
      const nested = scanInto(bytes, path, full, depth + 1, options, collector);
      return { format: nested.format, ...(nested.formatInfo === undefined ? {} : { formatInfo: nested.formatInfo }), verdict: verdictOf(collector.since(before)) };
    },
  };
  try {
    const result = scanner.scan(source, ctx);
    if (result instanceof RefinedFormat) outcome = { format: result.format, ...(result.formatInfo === undefined ? {} : { formatInfo: result.formatInfo }) };
    else if (result !== undefined) outcome = { format: detection.format, formatInfo: result };
  } catch (error) {
    if (!(error instanceof ScanAbort)) throw error;
    // A parse error never hides what came before it: the findings so far stay.
    report({ code: error.code, message: error.message, ...(error.offset === undefined ? {} : { offset: error.offset }) });
  }
  noteExtensionMismatch(name, outcome.format, report);
  scanTrailingZip(source, path, member, depth, options, collector, outcome);
  return outcome;
}

function unknownFormatFinding(name: string, format: string): FindingInput {
  const known = format !== 'unknown' && format !== 'text';
  return {
    code: 'FORMAT_UNKNOWN',
    message: known ? `${name} is ${format}, a format ms-sign does not validate yet` : `${name} is not a model format ms-sign knows`,
    ...(known ? { detail: { format } } : {}),
  };
}

/**
 * The result scanFile gives a file that detect.ts isPlainUnknown accepts, rebuilt from its path
 * and size alone: verify's hashing threads report such files by index, not by result, and the
 * result is made here, on the main thread, without a collector (one finding, never waivable).
 */
export function plainUnknownResult(path: string, size: number): FileScanResult {
  const findings = [makeFinding(unknownFormatFinding(path, 'unknown'), path, NO_WAIVER)];
  return { path, size, format: 'unknown', verdict: verdictOf(findings), findings };
}

const NO_WAIVER: ReadonlySet<ScanCode> = new Set();

/**
 * A file whose scan result is plainUnknownResult(path, size), kept as its path and size until the
 * result is read: verify of 20,000 such files reports them only as a count unless the report is
 * printed whole (--json). Its verdict is `unknown`; `findings` and `result()` build the result.
 */
export class PlainUnknownFile {
  constructor(
    readonly path: string,
    readonly size: number,
  ) {}

  get verdict(): Verdict {
    return 'unknown';
  }

  get findings(): readonly Finding[] {
    return this.result().findings;
  }

  result(): FileScanResult {
    return plainUnknownResult(this.path, this.size);
  }
}

/** What judgeScan and summarizeScan read of a file: a FileScanResult, or a PlainUnknownFile. */
export type JudgedFile = Pick<FileScanResult, 'path' | 'verdict' | 'findings'>;

function noteExtensionMismatch(name: string, format: string, report: (finding: FindingInput) => void): void {
  if (!extensionMismatch(name, format)) return;
  report({ code: 'FORMAT_EXTENSION_MISMATCH', message: `${name} holds ${format} data, not what its extension says; scanned as ${format}`, detail: { format } });
}

const EOCD_SEARCH = 65_557;

/**
 * A file of another format that also ends in a zip directory is read as a zip too (CPython's
 * zipfile finds the directory from the end): both readings are scanned, and when both are valid
 * the file is a polyglot that different loaders read differently.
 */
function scanTrailingZip(source: ByteSource, path: string, member: string | undefined, depth: number, options: ScanFileOptions, collector: FindingCollector, outcome: Outcome): void {
  const zip = scannerFor('zip');
  if (zip === undefined || ZIP_FAMILY.has(outcome.format) || outcome.format === 'unknown' || outcome.format === 'text' || !hasEocd(source)) return;
  const before = collector.size;
  const secondary = new FindingCollector(path, options.waive ?? new Set());
  const ctxReport = (f: FindingInput) => secondary.add(member === undefined ? f : { ...f, member: f.member === undefined ? member : `${member}/${f.member}` });
  try {
    zip.scan(source, {
      path,
      modelFiles: options.modelFiles ?? new Set([path]),
      allowGlobals: options.allowGlobals ?? new Set(),
      report: ctxReport,
      scanMember: (inner, bytes) => {
        const full = member === undefined ? inner : `${member}/${inner}`;
        const start = secondary.size;
        const nested = scanInto(bytes, path, full, depth + 1, options, secondary);
        return { format: nested.format, verdict: verdictOf(secondary.since(start)) };
      },
    });
  } catch (error) {
    if (!(error instanceof ScanAbort)) throw error;
    ctxReport({ code: error.code, message: error.message });
  }
  const found = secondary.finish();
  const zipValid = !found.some((f) => f.verdict === 'malformed');
  const primaryValid = !collector.since(before).some((f) => f.verdict === 'malformed');
  for (const f of found) if (f.code !== 'SCAN_FINDINGS_TRUNCATED') collector.addFinding(f);
  if (zipValid && primaryValid) {
    collector.add({ code: 'SCAN_POLYGLOT', message: `${member ?? path} is valid both as ${outcome.format} and as a zip archive`, ...(member === undefined ? {} : { member }) });
  }
}

const ZIP_FAMILY = new Set(['zip', 'pytorch-zip', 'torchscript-zip', 'keras-v3', 'numpy-npz']);

function hasEocd(source: ByteSource): boolean {
  const start = Math.max(0, source.size - EOCD_SEARCH);
  if (!inRange(source, start, source.size - start) || source.size < 22) return false;
  const tail = source.read(start, source.size - start);
  // From each "P" back to the start, found by the engine's native search rather than a JavaScript
  // loop over every byte (a cold loop over 64 KiB took ~1 ms of a small model's verify).
  for (let i = tail.lastIndexOf(0x50, tail.length - 22); i >= 0; i = i === 0 ? -1 : tail.lastIndexOf(0x50, i - 1)) {
    if (tail[i + 1] === 0x4b && tail[i + 2] === 0x05 && tail[i + 3] === 0x06) return true;
  }
  return false;
}

/** Keeps findings bounded (counts, string sizes) and fills severity and verdict from the catalogue. */
class FindingCollector {
  private readonly findings: Finding[] = [];
  private errors = 0;
  private truncated = false;
  private readonly kinds = new Set<ScanCode>();

  constructor(
    private readonly path: string,
    private readonly waive: ReadonlySet<ScanCode>,
  ) {}

  get size(): number {
    return this.findings.length;
  }

  since(index: number): readonly Finding[] {
    return this.findings.slice(index);
  }

  add(input: FindingInput): void {
    const info = SCAN_CODES[input.code];
    // Past the cap, a finding is only kept if it is the first of its code (so the verdict stays
    // honest); checked before any string work, so a million repeats cost a million set lookups.
    if (this.full(info.severity === 'error') && this.kinds.has(input.code)) return this.markTruncated();
    this.addFinding(makeFinding(input, this.path, this.waive));
  }

  addFinding(finding: Finding): void {
    const isError = finding.severity === 'error';
    if (this.full(isError)) {
      this.markTruncated();
      if (this.kinds.has(finding.code)) return;
    } else if (isError) this.errors++;
    this.kinds.add(finding.code);
    this.findings.push(finding);
  }

  private full(isError: boolean): boolean {
    return (isError && this.errors >= SCAN_LIMITS.errorsPerFile) || this.findings.length >= SCAN_LIMITS.findingsPerFile;
  }

  private markTruncated(): void {
    if (this.truncated) return;
    this.truncated = true;
    this.findings.push({
      code: 'SCAN_FINDINGS_TRUNCATED',
      severity: 'note',
      verdict: 'none',
      message: `more than ${SCAN_LIMITS.errorsPerFile} errors; the rest are not listed`,
      path: this.path,
    });
  }

  finish(): Finding[] {
    return this.findings;
  }
}

/** A reported finding as the results hold it: severity and verdict from the catalogue, text bounded. */
function makeFinding(input: FindingInput, path: string, waive: ReadonlySet<ScanCode>): Finding {
  const info = SCAN_CODES[input.code];
  return {
    code: input.code,
    severity: info.severity,
    verdict: info.effect,
    message: boundText(input.message, SCAN_LIMITS.messageBytes),
    path,
    ...(input.member === undefined ? {} : { member: boundText(input.member, SCAN_LIMITS.detailBytes) }),
    ...(input.offset === undefined ? {} : { offset: input.offset }),
    ...(input.detail === undefined ? {} : { detail: boundDetail(input.detail) }),
    ...(info.waivable && waive.has(input.code) ? { waived: true } : {}),
  };
}

const utf8Encoder = new TextEncoder();
const UNSAFE_TEXT = /[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;
const UNSAFE_TEXT_ALL = /[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/**
 * Makes attacker-controlled text safe to print and bounded: control and bidi-override characters
 * become \u escapes, and the text is cut to `maxBytes` UTF-8 bytes.
 */
export function boundText(text: string, maxBytes: number): string {
  let escaped = UNSAFE_TEXT.test(text) ? text.replace(UNSAFE_TEXT_ALL, (c) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, '0')}`) : text;
  // Each UTF-16 unit is at most 3 UTF-8 bytes: most messages need no encoding to be measured.
  if (escaped.length * 3 <= maxBytes || utf8Encoder.encode(escaped).length <= maxBytes) return escaped;
  // Cut on a code point boundary.
  let bytes = 0;
  let end = 0;
  for (const ch of escaped) {
    const n = ch.codePointAt(0)! < 0x80 ? 1 : ch.codePointAt(0)! < 0x800 ? 2 : ch.codePointAt(0)! < 0x10000 ? 3 : 4;
    if (bytes + n > maxBytes - 3) break;
    bytes += n;
    end += ch.length;
  }
  escaped = `${escaped.slice(0, end)}...`;
  return escaped;
}

function boundDetail(detail: Readonly<Record<string, string | number | boolean>>): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  let n = 0;
  for (const [key, value] of Object.entries(detail)) {
    if (++n > 16) break;
    out[boundText(key, 64)] = typeof value === 'string' ? boundText(value, SCAN_LIMITS.detailBytes) : value;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// A whole model against a mode

export interface ScanSummary {
  readonly files: number;
  readonly clean: number;
  readonly unsafe: number;
  readonly malformed: number;
  readonly unknown: number;
}

export function summarizeScan(files: readonly Pick<FileScanResult, 'verdict'>[]): ScanSummary {
  const counts = { files: files.length, clean: 0, unsafe: 0, malformed: 0, unknown: 0 };
  for (const f of files) counts[f.verdict]++;
  return counts;
}

export interface ScanPolicy {
  readonly mode: ScanMode;
  /** In `clean` mode: unknown files whose model-relative path matches one of these pass. */
  readonly allowUnknown?: readonly Glob[];
}

export interface ScanJudgement {
  readonly ok: boolean;
  /** One problem per error finding (at most SCAN_LIMITS.errorsPerFile per file), then the aggregate codes. */
  readonly problems: readonly Problem[];
}

/**
 * Judges scanned files against a mode. `no-unsafe` fails on unsafe and malformed files; `clean`
 * also fails on unknown files not allowed by `allowUnknown`, and on un-waived KERAS_CUSTOM_OBJECT
 * notes (custom code the host must provide). `off` passes everything.
 */
export function judgeScan(files: readonly JudgedFile[], policy: ScanPolicy): ScanJudgement {
  if (policy.mode === 'off') return { ok: true, problems: [] };
  const problems: Problem[] = [];
  const aggregates = new Map<'SCAN_UNSAFE' | 'SCAN_MALFORMED' | 'SCAN_UNKNOWN_FORMAT', string[]>();
  const flag = (code: 'SCAN_UNSAFE' | 'SCAN_MALFORMED' | 'SCAN_UNKNOWN_FORMAT', path: string) => {
    const list = aggregates.get(code) ?? [];
    list.push(path);
    aggregates.set(code, list);
  };
  for (const file of files) {
    let failed = false;
    if (file.verdict === 'unsafe') {
      failed = true;
      flag('SCAN_UNSAFE', file.path);
    } else if (file.verdict === 'malformed') {
      failed = true;
      flag('SCAN_MALFORMED', file.path);
    } else if (policy.mode === 'clean') {
      if (file.verdict === 'unknown' && !(policy.allowUnknown ?? []).some((g) => g.matches(file.path))) flag('SCAN_UNKNOWN_FORMAT', file.path);
      if (file.findings.some((f) => f.code === 'KERAS_CUSTOM_OBJECT' && !f.waived)) flag('SCAN_UNSAFE', file.path);
    }
    if (failed) {
      for (const f of file.findings) {
        if (f.severity === 'error' && !f.waived) problems.push(problem(f.code as ScanErrorCode, f.member === undefined ? f.message : `${f.member}: ${f.message}`, f.path));
      }
    }
  }
  const describe = { SCAN_UNSAFE: 'unsafe to load', SCAN_MALFORMED: 'malformed', SCAN_UNKNOWN_FORMAT: 'of a format the scan could not validate' } as const;
  for (const [code, paths] of aggregates) {
    const shown = paths.slice(0, 5).join(', ') + (paths.length > 5 ? ` and ${paths.length - 5} more` : '');
    problems.push(problem(code, `${paths.length} file${paths.length === 1 ? ' is' : 's are'} ${describe[code]} (scan mode ${policy.mode}): ${shown}`));
  }
  return { ok: problems.length === 0, problems };
}
