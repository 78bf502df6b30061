import { anchorIgnorePattern, compileGlob, DEFAULT_IGNORE, hardDenyReason, MsSignError, type FileScanResult } from '@ms-sign/core';
import { resolveModel } from '@ms-sign/core/internal';
import { scanModel, type ModelScanReport } from '@ms-sign/core/node';
import { resolve } from 'node:path';
import { exitCodeFor } from '../exit-codes.js';
import { paint, printable, useColor, writeLine, type CliIo } from '../io.js';
import { printJson, printProblems } from '../output.js';

export interface ScanOptions {
  readonly json?: boolean;
  readonly quiet?: boolean;
  readonly mode?: 'no-unsafe' | 'clean';
  readonly ignore?: readonly string[];
  readonly allowGlobal?: readonly string[];
  /** false with --no-ignore-git. */
  readonly ignoreGit?: boolean;
}

/**
 * `ms-sign scan MODEL`: what each file of MODEL is, whether its structure is valid, and whether
 * loading it can run code or drive the loader out of bounds. Exit 0 when no file fails the mode.
 */
export async function scanCommand(model: string, options: ScanOptions, io: CliIo): Promise<number> {
  const modelPath = resolve(io.cwd, model);
  let report: ModelScanReport;
  try {
    // The .gitignore-style patterns of sign and verify: `*.tmp` at any depth, `logs/` a directory.
    const patterns = (options.ignore ?? []).map((g) => {
      const converted = anchorIgnorePattern(g);
      if (typeof converted === 'string') throw new MsSignError('USAGE', `--ignore ${JSON.stringify(g)}: ${converted}`);
      return converted.anchored;
    });
    const allowGlobals = parseAllowGlobals(options.allowGlobal);
    const resolved = resolveModel(modelPath);
    // Scan looks at exactly what sign would sign: sign leaves .git/ out of a directory by default.
    if (resolved.kind === 'directory' && options.ignoreGit !== false) {
      const git = anchorIgnorePattern(DEFAULT_IGNORE);
      if (typeof git !== 'string') patterns.push(git.anchored);
    }
    const ignore = patterns.map((p) => compileGlob(p));
    report = scanModel(modelPath, {
      mode: options.mode ?? 'no-unsafe',
      ...(ignore.length > 0 ? { ignore } : {}),
      ...(allowGlobals.size > 0 ? { allowGlobals } : {}),
    });
  } catch (error) {
    if (!(error instanceof MsSignError)) throw error;
    const problems = [error.toProblem()];
    if (options.json) printJson(io, { ok: false, model, errors: problems });
    else printProblems(io, problems);
    return exitCodeFor(problems);
  }
  if (options.json) printJson(io, { ...report, model });
  else printScanReport(io, report, options.quiet === true);
  return report.ok ? 0 : exitCodeFor(report.errors);
}

/**
 * The `--allow-global` entries of scan and sign: exact MODULE:QUALNAME pairs. A hard-denied pair
 * (os, subprocess, builtins:eval, ...) is a usage error with the reason, never silently dropped.
 */
export function parseAllowGlobals(entries: readonly string[] = []): ReadonlySet<string> {
  for (const g of entries) {
    if (!/^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$/.test(g)) throw new MsSignError('USAGE', `--allow-global ${JSON.stringify(g)}: expected MODULE:QUALNAME, e.g. collections:OrderedDict`);
    const why = hardDenyReason(g);
    if (why !== undefined) throw new MsSignError('USAGE', `--allow-global ${printable(g)}: ${why}; loading it could run code, so no option or policy can allow it`);
  }
  return new Set(entries);
}

/** One line per file that is not clean, then a summary line; -q: nothing on success. */
export function printScanReport(io: CliIo, report: ModelScanReport, quiet: boolean): void {
  if (quiet && report.ok) return;
  const color = useColor(io, 'stdout');
  const colors = { unsafe: 31, malformed: 31, unknown: 33, clean: 32 } as const;
  for (const file of report.files) {
    if (file.verdict === 'clean') continue;
    writeLine(io.stdout, `${paint(color, colors[file.verdict], file.verdict.toUpperCase())} ${printable(file.path)}: ${printable(describe(file))}`);
  }
  const s = report.summary;
  writeLine(io.stdout, `${s.files} file${s.files === 1 ? '' : 's'} scanned (mode ${report.scanner.mode}): ${s.clean} clean, ${s.unsafe} unsafe, ${s.malformed} malformed, ${s.unknown} unknown`);
  const aggregates = report.errors.filter((p) => p.code === 'SCAN_UNSAFE' || p.code === 'SCAN_MALFORMED' || p.code === 'SCAN_UNKNOWN_FORMAT' || p.path === undefined || !report.files.some((f) => f.path === p.path));
  printProblems(io, aggregates);
}

/** The findings that decide the verdict, most important first, shortened. */
function describe(file: FileScanResult): string {
  const deciding = file.findings.filter((f) => f.verdict === file.verdict && !f.waived);
  const shown = (deciding.length > 0 ? deciding : file.findings).slice(0, 3).map((f) => `${f.code}: ${f.member === undefined ? '' : `${f.member}: `}${f.message}`);
  const more = deciding.length > 3 ? ` (+${deciding.length - 3} more)` : '';
  return `${shown.join('; ')}${more}`;
}
