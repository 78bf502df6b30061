/**
 * The protocol 0/1 pickle probe rejects most random bytes before it builds a parser, by looking at
 * the byte where the second opcode must start. That shortcut may never turn away a pickle the
 * parser accepts: one minimal pickle per opcode the probe can start with, each detected as a
 * pickle under a name that does not promise one, and the same with its second opcode broken.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BufferSource, detectFormat } from '@ms-sign/core';
import { PICKLE_OPCODES } from '@ms-sign/core/internal';

const OPCODES = new Set(PICKLE_OPCODES.values());
const latin1 = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));

/** [first opcode, a whole protocol 0/1 pickle, where its second opcode starts]. */
const CASES: readonly (readonly [string, string, number])[] = [
  ['MARK', '(t.', 1],
  ['EMPTY_TUPLE', ').', 1],
  ['EMPTY_DICT', '}.', 1],
  ['EMPTY_LIST', '].', 1],
  ['NONE', 'N.', 1],
  ['BININT1', 'K\x00.', 2],
  ['BININT2', 'M\x00\x00.', 3],
  ['BININT', 'J\x00\x00\x00\x00.', 5],
  ['BINFLOAT', 'G\x00\x00\x00\x00\x00\x00\x00\x00.', 9],
  ['INT', 'I7\n.', 3],
  ['LONG', 'L7L\n.', 4],
  ['FLOAT', 'F1.5\n.', 5],
  ['STRING', "S'a'\n.", 5],
  ['UNICODE', 'Va\n.', 3],
  // The name's first byte is no opcode: a probe that skipped one line instead of two would stop there.
  ['GLOBAL', 'ccollections\nOrderedDict\n.', 25],
];

test('every opcode a protocol 0/1 probe starts with: a minimal pickle is still detected', () => {
  // The byte after GLOBAL's first line is no opcode (see the case).
  assert.ok(!OPCODES.has('O'.charCodeAt(0)));
  for (const [name, text, second] of CASES) {
    const bytes = latin1(text);
    assert.ok(OPCODES.has(bytes[second]!), `${name}: the case's second opcode`);
    assert.equal(detectFormat(new BufferSource(bytes), 'weights.bin').format, 'pickle', name);
    // Followed by other data (a legacy torch file has storages after its pickles): still a pickle.
    const longer = new Uint8Array(bytes.length + 4096).fill(0xff);
    longer.set(bytes);
    assert.equal(detectFormat(new BufferSource(longer), 'weights.bin').format, 'pickle', `${name} + trailing bytes`);
  }
});

test('the same pickles with an invalid byte where the second opcode starts are not pickles', () => {
  assert.ok(!OPCODES.has(0xff));
  for (const [name, text, second] of CASES) {
    const bytes = latin1(text);
    bytes[second] = 0xff;
    assert.notEqual(detectFormat(new BufferSource(bytes), 'weights.bin').format, 'pickle', name);
  }
});
