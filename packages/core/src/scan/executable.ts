/**
 * Executables, libraries, scripts and Python bytecode inside a model (pure). Loaders such as
 * Hugging Face's `trust_remote_code` import the `.py` files a model ships, so any code file is
 * `unsafe`: signing it says who wrote it, not that loading it is harmless.
 */
import type { FormatScanner } from './types.js';

export const executableScanner: FormatScanner = {
  format: 'executable-code',
  scan(_source, ctx) {
    ctx.report({ code: 'CODE_FILE', message: `${ctx.path} is an executable, library or script` });
    return undefined;
  },
};
