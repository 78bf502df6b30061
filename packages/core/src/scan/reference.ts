/**
 * Cross-file references inside a model (external weights, shard indexes), pure. They resolve
 * against the model's file set, never the live file system: what is checked is what was signed.
 */

/**
 * Resolves a reference a model file makes to another file (external data) against the model's
 * file set, never the live file system. `from` is the referring file's model-relative path.
 * Returns the model-relative target, or why the reference leaves the model directory.
 */
export function resolveModelReference(from: string, location: string): { readonly path: string } | { readonly escapes: string } {
  if (location === '') return { escapes: 'the location is empty' };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(location)) return { escapes: 'the location contains a control character' };
  if (location.includes('\\')) return { escapes: 'the location contains a backslash' };
  if (location.startsWith('/') || /^[A-Za-z]:/.test(location)) return { escapes: 'the location is absolute' };
  const parts = from.split('/').slice(0, -1);
  for (const segment of location.split('/')) {
    if (segment === '..') return { escapes: 'the location contains ".."' };
    if (segment === '' || segment === '.') continue;
    parts.push(segment);
  }
  return { path: parts.join('/') };
}
