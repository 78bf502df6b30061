/**
 * The scanner's shared types (pure: no node: imports). A format scanner reads a file through a
 * bounded ByteSource and reports findings; the framework (scan/scan.ts) detects formats, runs the
 * scanners, derives verdicts and budgets the work.
 */
import type { ScanCode, Severity, Verdict, VerdictEffect } from './codes.js';

/**
 * Random access to one file's bytes. Every read is bounds-checked against `size` before anything
 * is allocated; a read past the end throws ScanAbort('SCAN_TRUNCATED').
 */
export interface ByteSource {
  readonly size: number;
  /** `length` bytes at `position`; may be a view into a shared buffer, so copy what you keep. */
  read(position: number, length: number): Uint8Array;
}

/** One finding, as `scan --json` prints it (field names are the contract). */
export interface Finding {
  readonly code: ScanCode;
  readonly severity: Severity;
  readonly verdict: VerdictEffect;
  readonly message: string;
  /** Model-relative path of the file. */
  readonly path: string;
  /** Zip member or tar entry inside the file. */
  readonly member?: string;
  /** Byte offset inside the file or member. */
  readonly offset?: number;
  /** Small, bounded values (strings cut to 256 bytes and escaped; never raw file bytes). */
  readonly detail?: Readonly<Record<string, string | number | boolean>>;
  /** A trust-policy rule waived this finding (`scanWaive`): it does not count towards the verdict. */
  readonly waived?: boolean;
}

/** What a format scanner may report about a file besides findings (`formatInfo` in JSON). */
export type FormatInfo = Readonly<Record<string, string | number | boolean | readonly string[]>>;

/** A finding as a scanner reports it; the framework fills severity, verdict and path from the catalogue. */
export interface FindingInput {
  readonly code: ScanCode;
  readonly message: string;
  readonly member?: string;
  readonly offset?: number;
  readonly detail?: Readonly<Record<string, string | number | boolean>>;
}

/** Handed to each format scanner for one file. */
export interface ScanContext {
  /** Model-relative path of the file being scanned. */
  readonly path: string;
  /** Every model-relative path in the model (walk or manifest): external references resolve against it, never the live file system. */
  readonly modelFiles: ReadonlySet<string>;
  /** Extra allowed pickle globals, exact `module:qualname` (policy `scanAllowGlobals`). */
  readonly allowGlobals: ReadonlySet<string>;
  /** Sizes of the model's files, by model-relative path, when known (external-data range checks). */
  readonly modelFileSizes?: ReadonlyMap<string, number> | undefined;
  report(finding: FindingInput): void;
  /**
   * Scans bytes nested in this file (a zip member, a tar entry) as a file of its own: detection,
   * the format's scanner, findings reported here with `member` set. Nesting is bounded (a member
   * of a member of a member is reported as SCAN_LIMIT_EXCEEDED, not scanned).
   */
  scanMember(member: string, source: ByteSource): NestedScanResult;
}

/** What scanMember found in a nested member. */
export interface NestedScanResult {
  readonly format: string;
  readonly formatInfo?: FormatInfo;
  readonly verdict: Verdict;
}

/** Raised inside a scanner to stop scanning a file; caught per file, findings so far are kept. */
export class ScanAbort extends Error {
  override readonly name = 'ScanAbort';
  constructor(
    readonly code: ScanCode,
    message: string,
    readonly offset?: number,
  ) {
    super(message);
  }
}

/** One file's result. */
export interface FileScanResult {
  readonly path: string;
  readonly size: number;
  /** Format id from detection (the detector's names, e.g. `mindspore-lite-ms`, `pickle`, ...), or `unknown`. */
  readonly format: string;
  readonly formatInfo?: FormatInfo;
  readonly verdict: Verdict;
  readonly findings: readonly Finding[];
}

/**
 * Returned by a scanner that refines the detected format id: detection says `zip` from the magic,
 * the zip-family scanner returns `new RefinedFormat('pytorch-zip', info)` once it has seen the
 * members.
 */
export class RefinedFormat {
  constructor(
    readonly format: string,
    readonly formatInfo?: FormatInfo,
  ) {}
}

/**
 * A scanner for one format id (scan/registry.ts maps ids to scanners). `scan` returns formatInfo,
 * or a RefinedFormat; findings go through ctx.report; ScanAbort stops the file early.
 */
export interface FormatScanner {
  readonly format: string;
  scan(source: ByteSource, ctx: ScanContext): FormatInfo | RefinedFormat | undefined;
  /**
   * Optional strict content test for formats without a magic number (protocol 0/1 pickles):
   * detection asks it after every magic-number test failed. Must be bounded and must not throw.
   */
  probe?(source: ByteSource, path: string): boolean;
  /**
   * A cheap necessary condition for `probe` on a whole file in memory: false only when `probe`
   * would be false. Must not allocate or throw. Detection's quick rejection (detect.ts
   * isPlainUnknown) asks it instead of the probe; a scanner with a probe and without this turns
   * the quick rejection off.
   */
  mayProbe?(bytes: Uint8Array): boolean;
}
