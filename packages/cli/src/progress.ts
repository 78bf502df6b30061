import type { CliIo } from './io.js';
import { formatBytes } from './output.js';

export interface Progress {
  readonly onProgress: (done: number, total: number) => void;
  stop(): void;
}

const NONE: Progress = { onProgress: () => undefined, stop: () => undefined };

/**
 * A progress bar on stderr for hashing that takes more than about a second: bytes, rate and ETA.
 * Only on a terminal, never with --json or -q, and gone (line cleared) when the work ends.
 */
export function startProgress(io: CliIo, enabled: boolean): Progress {
  if (!enabled || io.stderr.isTTY !== true || io.env.TERM === 'dumb') return NONE;
  const started = Date.now();
  let done = 0;
  let total = 0;
  let shown = false;
  const render = () => {
    const elapsed = (Date.now() - started) / 1000;
    if (elapsed < 1 || total === 0) return;
    shown = true;
    const rate = done / elapsed;
    const eta = rate > 0 ? Math.max(0, (total - done) / rate) : 0;
    const width = Math.max(10, Math.min(40, (io.stderr.columns ?? 80) - 50));
    const filled = Math.round((done / total) * width);
    const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
    io.stderr.write(`\r\x1b[2K[${bar}] ${formatBytes(done)} / ${formatBytes(total)}  ${formatBytes(rate)}/s  ETA ${eta.toFixed(0)}s`);
  };
  const timer = setInterval(render, 200);
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
