/**
 * JSON.parse keeps the last of two equal keys in an object and says nothing, so a policy with
 * `"revoked": [...]` written twice silently drops the first list (and a revoked key verifies
 * again). The signature decoder refuses repeated map keys; policy and state files get the same.
 */

interface ObjectFrame {
  readonly kind: 'object';
  readonly keys: Set<string>;
  key: string | undefined;
  expectingKey: boolean;
}

interface ArrayFrame {
  readonly kind: 'array';
  index: number;
}

/**
 * The JSON pointer (RFC 6901) of the first key that appears twice in one object of `text`, or
 * undefined. `text` must already be valid JSON (JSON.parse accepted it). Iterative: the nesting
 * of a hostile file cannot overflow the stack; linear in the length of `text`.
 */
export function findDuplicateJsonKey(text: string): string | undefined {
  const stack: (ObjectFrame | ArrayFrame)[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const top = stack[stack.length - 1];
    if (c === '{') stack.push({ kind: 'object', keys: new Set(), key: undefined, expectingKey: true });
    else if (c === '[') stack.push({ kind: 'array', index: 0 });
    else if (c === '}' || c === ']') stack.pop();
    else if (c === ',') {
      if (top?.kind === 'object') top.expectingKey = true;
      else if (top?.kind === 'array') top.index++;
    } else if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      if (top?.kind === 'object' && top.expectingKey) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (top.keys.has(key)) return pointer(stack, key);
        top.keys.add(key);
        top.key = key;
        top.expectingKey = false;
      }
      i = end;
    }
    i++;
  }
  return undefined;
}

function pointer(stack: readonly (ObjectFrame | ArrayFrame)[], key: string): string {
  const segments = stack.slice(0, -1).map((frame) => (frame.kind === 'array' ? String(frame.index) : frame.key ?? ''));
  return [...segments, key].map((s) => `/${s.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}
