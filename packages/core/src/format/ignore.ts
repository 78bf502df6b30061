import { checkGlob } from './glob.js';

/** Left out of every directory model unless the signer opts out, as OpenSSF model_signing does. */
export const DEFAULT_IGNORE = '.git/';

export interface IgnorePattern {
  /** As the user wrote it (`.gitignore` style). */
  readonly given: string;
  /** What the manifest records: a format v1 glob over whole model-relative paths. */
  readonly anchored: string;
  /** A trailing `/`: meant for directories only. */
  readonly directoryOnly: boolean;
}

/**
 * Turns a `.gitignore`-style pattern into the anchored glob a v1 manifest records, so a verifier
 * that only knows v1 globs (whole-path matches) applies exactly what the signer meant:
 *
 * - no `/` except a trailing one: any depth, `*.tmp` -> `**\/*.tmp`;
 * - a leading `/` anchors at the model root and is dropped: `/build` -> `build`;
 * - a `/` elsewhere anchors too, as in git: `docs/*.md` stays `docs/*.md`;
 * - a trailing `/` means a directory and everything below it: `logs/` -> `**\/logs/**`
 *   (v1 globs cannot tell a directory from a file; sign refuses a file that such a pattern matches);
 * - `**` works as in git; `!` negation does not exist in v1 and is refused.
 *
 * Returns why the pattern is unusable, or the converted pattern.
 */
export function anchorIgnorePattern(given: string): IgnorePattern | string {
  if (given.startsWith('!')) return 'negation ("!") cannot be recorded in a signature; list only what to leave out (write \\! for a name that starts with "!")';
  let body = given;
  const directoryOnly = body.endsWith('/') && !body.endsWith('\\/');
  if (directoryOnly) body = body.replace(/\/+$/, '');
  const anchoredByRoot = body.startsWith('/');
  if (anchoredByRoot) body = body.replace(/^\/+/, '');
  if (body === '') return 'pattern names no file';
  // An unescaped "/" in what is left anchors the pattern, as in .gitignore.
  const hasSlash = /(^|[^\\])(\\\\)*\//.test(body);
  let anchored = anchoredByRoot || hasSlash || body === '**' ? body : `**/${body}`;
  if (directoryOnly) anchored = `${anchored}/**`;
  const why = checkGlob(anchored);
  if (why !== undefined) return why;
  return { given, anchored, directoryOnly };
}
