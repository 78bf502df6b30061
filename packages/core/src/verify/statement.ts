import type { Manifest, Subject } from '../format/manifest.js';

/**
 * What a signature format's signed payload claims about the release, whatever the format: the
 * model's name and version, when it was signed, until when it is valid, and free-form
 * annotations. The trust policy (publisher scopes, key windows, expiry, maximum age) and
 * rollback protection read only this. A native Manifest is one.
 */
export interface SignedStatement {
  readonly subject: Subject;
  /** Unix seconds. */
  readonly created: number;
  /** Unix seconds. */
  readonly expires?: number;
  readonly annotations: Readonly<Record<string, string>>;
}

/**
 * What the model on disk must contain, as a verified signature describes it: the input of the
 * content comparison that follows signature verification (node/ compares it with the files).
 *
 * Today one kind: `manifest`, ms-sign's own manifest (every file's path, size and digests of
 * fixed-size shards, plus the ignore globs). A format that records contents differently adds a
 * member to this union and a case to the comparison (`compareContents` in node/contents.ts);
 * nothing else changes. For example, an OMS / model_signing bundle in "files" mode records
 * per-file SHA-256 digests WITHOUT sizes: it would add
 * `{ kind: 'file-digests'; files: { path; digest }[]; ignore }`, compared by hashing each whole
 * file (no size check: the digest covers the length) with the same missing / unsigned-file rules;
 * in "shards" mode it records `path:start:end` ranges with per-range digests, which maps to a
 * member holding explicit byte ranges per file (the last range's end is the file's size).
 */
export type ExpectedContents = { readonly kind: 'manifest'; readonly manifest: Manifest };

/** Number of files and total bytes the expected contents describe (bytes: null when sizes are not recorded). */
export function contentsSummary(expected: ExpectedContents): { count: number; bytes: number | null } {
  switch (expected.kind) {
    case 'manifest':
      return { count: expected.manifest.files.length, bytes: expected.manifest.files.reduce((n, f) => n + f.size, 0) };
  }
}
