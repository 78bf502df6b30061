import type { CliIo } from './io.js';
import { formatBytes } from './output.js';

export interface Progress {
  readonly onProgress: (done: number, total: number) => void;
  stop(): void;
}

export interface ProgressTiming {
  /** Nothing is drawn before this much time has passed: short work stays silent. */
  readonly delayMs: number;
  /** How often the line is redrawn. */
  readonly intervalMs: number;
  readonly now: () => number;
  /** With `--progress` where no bar can be drawn (a log, TERM=dumb): one line this often. */
  readonly logIntervalMs?: number;
}

const NONE: Progress = { onProgress: () => undefined, stop: () => undefined };
const DEFAULT_TIMING: ProgressTiming = { delayMs: 1000, intervalMs: 200, now: Date.now, logIntervalMs: 5000 };

/**
 * A progress bar on stderr for hashing that takes more than about a second: bytes, rate and ETA
 * (the README, "Commands"). Only on a terminal, never with --json or -q (callers pass
 * `enabled`), never with TERM=dumb, and gone (line cleared) when the work ends, so nothing of
 * it is left in the output a script or a log sees.
 */
export function startProgress(io: CliIo, enabled: boolean, timing: ProgressTiming = DEFAULT_TIMING, asked = false): Progress {
  // Not asked for and not enabled (-q, --json): stderr is not even looked at, so a quiet verify
  // never creates the stream (processIo).
  if (!(enabled || asked)) return NONE;
  const terminal = io.stderr.isTTY === true && io.env.TERM !== 'dumb';
  if (asked && !terminal) return logProgress(io, timing);
  if (!terminal) return NONE;
  const started = timing.now();
  let done = 0;
  let total = 0;
  let shown = false;
  const render = () => {
    const elapsed = (timing.now() - started) / 1000;
    if (elapsed * 1000 < timing.delayMs || total === 0) return;
    shown = true;
    // A terminal of unknown width reports 0 columns (e.g. under script(1)): assume 80.
    io.stderr.write(`\r\x1b[2K${progressLine(done, total, elapsed, io.stderr.columns || 80)}`);
  };
  const timer = setInterval(render, timing.intervalMs);
  // The bar must never keep the process alive.
  timer.unref();
  return {
    onProgress: (d, t) => {
      done = d;
      total = t;
    },
    stop: () => {
      clearInterval(timer);
      if (shown) io.stderr.write('\r\x1b[2K');
    },
  };
}

/**
 * `--progress` where no bar can be drawn (CI logs, a file, TERM=dumb): a plain line every few
 * seconds, `ms-sign: hashing  42%  1.2 GiB / 2.9 GiB  2.6 GiB/s  ETA 1s`, and nothing for work
 * that ends sooner.
 */
function logProgress(io: CliIo, timing: ProgressTiming): Progress {
  const started = timing.now();
  let done = 0;
  let total = 0;
  const timer = setInterval(() => {
    if (total === 0) return;
    const elapsed = (timing.now() - started) / 1000;
    io.stderr.write(`ms-sign: hashing ${progressText(done, total, elapsed).trimStart()}\n`);
  }, timing.logIntervalMs ?? DEFAULT_TIMING.logIntervalMs);
  timer.unref();
  return {
    onProgress: (d, t) => {
      done = d;
      total = t;
    },
    stop: () => clearInterval(timer),
  };
}

/** One line: `[#####.....]  42%  1.2 GiB / 2.9 GiB  2.6 GiB/s  ETA 1s`, fitted to the terminal. */
export function progressLine(done: number, total: number, elapsedSeconds: number, columns: number): string {
  const text = progressText(done, total, elapsedSeconds);
  // Leave the last column free: writing into it wraps the line on some terminals.
  const width = Math.min(40, columns - text.length - 5);
  if (width < 10) return text.slice(0, Math.max(0, columns - 1));
  const filled = total > 0 ? Math.round((done / total) * width) : 0;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}`;
}

/** `42%  1.2 GiB / 2.9 GiB  2.6 GiB/s  ETA 1s` */
function progressText(done: number, total: number, elapsedSeconds: number): string {
  const rate = elapsedSeconds > 0 ? done / elapsedSeconds : 0;
  const percent = total > 0 ? Math.floor((done / total) * 100) : 0;
  const eta = rate > 0 ? formatSeconds((total - done) / rate) : '?';
  return `${String(percent).padStart(3)}%  ${formatBytes(done)} / ${formatBytes(total)}  ${formatBytes(rate)}/s  ETA ${eta}`;
}

function formatSeconds(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
