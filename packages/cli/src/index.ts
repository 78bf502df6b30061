/** Programmatic entry to the ms-sign CLI (what bin/ms-sign.cjs runs). */
export { main, processIo } from './main.js';
export { EXIT_CODES, exitCodeFor } from './exit-codes.js';
export type { CliIo } from './io.js';
