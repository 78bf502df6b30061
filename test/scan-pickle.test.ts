/**
 * The abstract unpickler and the pickle allow-list, below the corpus: CPython's parsing rules
 * (int() semantics, every opcode, invalid load keys), the allow-list equal to torch's weights-only
 * list, the hard-deny set a policy cannot override, and bounded time on hostile shapes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { BufferSource, hardDenyReason, PICKLE_ALLOWLISTS, scanFile, type FindingInput } from '@ms-sign/core';
import { PICKLE_OPCODES, pythonInt, runPickleStream } from '@ms-sign/core/internal';

const enc = new TextEncoder();
const bytes = (...parts: (string | number[] | Uint8Array)[]) => {
  const chunks = parts.map((p) => (typeof p === 'string' ? Uint8Array.from(p, (c) => c.charCodeAt(0)) : Uint8Array.from(p)));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) out.set(c, (o += c.length) - c.length);
  return out;
};

function run(data: Uint8Array, allowGlobals: ReadonlySet<string> = new Set()) {
  const findings: FindingInput[] = [];
  const stream = runPickleStream(new BufferSource(data), 0, data.length, { profile: 'generic', allowGlobals, persistent: 'none' }, (f) => findings.push(f));
  return { findings, codes: findings.map((f) => f.code), stream };
}

describe('text opcode arguments follow CPython int()', () => {
  const cases: [string, 0 | 10, bigint | undefined][] = [
    ['1_0', 10, 10n], [' 1_0 \n', 10, 10n], ['01', 10, 1n], ['-5', 10, -5n], ['+7', 10, 7n],
    ['0x10', 0, 16n], ['0X_1f', 0, 31n], ['0o17', 0, 15n], ['0b101', 0, 5n], ['0_0', 0, 0n], ['00', 0, 0n],
    ['010', 0, undefined], ['1__0', 10, undefined], ['_1', 10, undefined], ['1_', 10, undefined], ['', 10, undefined],
    ['0x', 0, undefined], ['12a', 10, undefined], ['1\u00002', 10, 1n],
  ];
  for (const [text, base, want] of cases) {
    test(`int(${JSON.stringify(text)}, ${base}) is ${want ?? 'an error'}`, () => assert.equal(pythonInt(text, base), want));
  }

  test('INT takes strtol first (octal 010 is 8), then int(s, 0); 01/00 are booleans', () => {
    assert.deepEqual(run(bytes('(I010\nI01\nI00\nI0x1F\nl.')).codes, []);
    assert.deepEqual(run(bytes('(I1_0\nl.')).codes, [], '1_0 fails strtol, passes int(s, 0)');
    assert.deepEqual(run(bytes('(I0_8\nl.')).codes, ['PICKLE_MALFORMED'], 'neither strtol nor int(s, 0) takes 0_8');
    assert.deepEqual(run(bytes('(I09\nl.')).codes, ['PICKLE_MALFORMED'], '09 is neither octal nor a base-0 int');
  });
});

describe('opcodes', () => {
  test('the unpickler knows exactly the 68 opcodes of protocols 0-5', () => {
    assert.equal(PICKLE_OPCODES.size, 68);
    assert.equal(new Set(PICKLE_OPCODES.values()).size, 68);
  });

  test('the opcode table matches CPython pickletools (when python3 is here)', (t) => {
    const py = spawnSync('python3', ['-c', 'import pickletools,json;print(json.dumps({o.name: ord(o.code.encode("latin1")) for o in pickletools.opcodes}))'], { encoding: 'utf8' });
    if (py.status !== 0) return t.skip('python3 is not installed');
    assert.deepEqual(Object.fromEntries(PICKLE_OPCODES), JSON.parse(py.stdout));
  });

  test('every other byte is an invalid load key (malformed), with findings before it kept', () => {
    for (let b = 0; b < 256; b++) {
      if ([...PICKLE_OPCODES.values()].includes(b)) continue;
      const r = run(bytes([0x80, 0x02], 'cos\nsystem\n', [b]));
      assert.deepEqual(r.codes, ['PICKLE_UNSAFE_IMPORT', 'PICKLE_MALFORMED'], `byte 0x${b.toString(16)}`);
    }
  });

  test('a pickle using every opcode family parses clean when every global is allowed', () => {
    // PROTO FRAME MEMOIZE EMPTY_* TUPLE1-3 LIST DICT SETITEM(S) APPEND(S) ADDITEMS FROZENSET DUP POP POP_MARK
    // BININT* LONG1 BINFLOAT BINBYTES* BYTEARRAY8 BINUNICODE* STRING BINSTRING UNICODE NONE NEWTRUE/FALSE GET/PUT variants.
    const body = bytes(
      '}', [0x94], '(', 'K', [1], 'M', [2, 0], 'J', [3, 0, 0, 0], [0x8a, 1, 5], 'G', [0, 0, 0, 0, 0, 0, 0, 0], 'N', 'u',
      ']', [0x94], 'N', 'a', '(', [0x88], [0x89], 'e', [0x8f], '(', 'C', [1], 'x', [0x90], '(', 'B', [1, 0, 0, 0], 'y', [0x91], '0',
      '(', [0x8e], [1, 0, 0, 0, 0, 0, 0, 0], 'z', [0x96], [1, 0, 0, 0, 0, 0, 0, 0], 'w', 'l', '0', '(', '1', ')', [0x85], [0x86], [0x87], '0',
      '(', "S'a'\n", 'U', [1], 'b', 'T', [1, 0, 0, 0], 'c', 'Vd\n', 'X', [1, 0, 0, 0], 'e', [0x8d], [1, 0, 0, 0, 0, 0, 0, 0], 'f', [0x8c, 1], 'g', 't',
      'p9\n', 'g9\n', 'q', [7], 'h', [7], 'r', [8, 0, 0, 0], 'j', [8, 0, 0, 0], '2', '(', 'd', '(', 'I1\n', 'L2L\n', 'F3.0\n', 't', [0x86], '.',
    );
    const data = bytes([0x80, 0x05, 0x95], [body.length, 0, 0, 0, 0, 0, 0, 0], body);
    assert.deepEqual(run(data).codes, []);
    // It has no globals, so CPython may load it: it must, or the test pickle is wrong.
    const py = spawnSync('python3', ['-c', 'import pickle,sys;pickle.loads(sys.stdin.buffer.read())'], { input: data });
    if (py.error === undefined) assert.equal(py.status, 0, String(py.stderr));
  });

  test('GLOBAL, INST, STACK_GLOBAL, REDUCE, NEWOBJ, NEWOBJ_EX, OBJ on an allowed constructor are clean', () => {
    const od = 'ccollections\nOrderedDict\n';
    assert.deepEqual(run(bytes([0x80, 0x04], od, ')R', od, ')', [0x81], od, ')}', [0x92], '(', od, 'o', '(icollections\nOrderedDict\n', '(', [0x8c, 11], 'collections', [0x8c, 11], 'OrderedDict', [0x93], 'l.')).codes, []);
  });

  test('BUILD, mutation and persistent ids are judged by what is on the stack', () => {
    assert.deepEqual(run(bytes([0x80, 0x02], 'ccollections\nOrderedDict\n)R}b.')).codes, [], 'BUILD on a constructed OrderedDict');
    assert.deepEqual(run(bytes([0x80, 0x02], 'ccollections\nOrderedDict\n}b.')).codes, ['PICKLE_UNSAFE_BUILD'], 'BUILD on the class');
    assert.deepEqual(run(bytes([0x80, 0x02], ')K', [1], 'a.')).codes, ['PICKLE_UNSAFE_MUTATION'], 'APPEND on a tuple');
    assert.deepEqual(run(bytes([0x80, 0x02], ']K', [1], 'K', [2], 's.')).codes, ['PICKLE_UNSAFE_MUTATION'], 'SETITEM on a list');
    assert.deepEqual(run(bytes([0x80, 0x02], 'N', 'Q.')).codes, ['PICKLE_PERSISTENT_ID']);
  });
});

describe('allow-list and hard-deny set', () => {
  test('the torch profile is the weights-only list: dtypes, storages, rebuilds, and nothing that runs code', () => {
    const torch = PICKLE_ALLOWLISTS.torch;
    for (const name of ['collections:OrderedDict', 'torch._utils:_rebuild_tensor_v2', 'torch:FloatStorage', 'torch:bfloat16', '_codecs:encode', 'torch.nn.parameter:Parameter']) assert.ok(torch.has(name), name);
    for (const name of ['numpy.core.multiarray:_reconstruct', 'builtins:eval', 'torch:load', 'torch.serialization:load', 'builtins:getattr']) assert.ok(!torch.has(name), name);
    for (const name of PICKLE_ALLOWLISTS.generic.keys()) assert.equal(hardDenyReason(name), undefined, `${name} is allowed by default but hard-denied`);
  });

  const refused = ['os:system', 'os.path:join', 'posix:system', 'nt:system', 'sys:modules', 'subprocess:Popen', 'builtins:eval', 'builtins:getattr', '__builtin__:eval',
    'importlib:import_module', '_pickle:loads', 'numpy:__class__', 'sklearn.tree:A.__reduce__', 'a b:c', 'a:b\u0000', 'nocolon', ':x', 'x:', 'a:b:c', 'functools:partial', 'operator:attrgetter'];
  for (const entry of refused) test(`${JSON.stringify(entry)} can never be allowed`, () => assert.ok(hardDenyReason(entry) !== undefined));
  for (const entry of ['sklearn.tree._classes:DecisionTreeClassifier', 'builtins:set', 'numpy:dtype', 'collections:deque']) {
    test(`${entry} may be allowed by a policy`, () => assert.equal(hardDenyReason(entry), undefined));
  }

  test('allowGlobals admits exact pairs only, and never a hard-denied one', () => {
    const sk = bytes([0x80, 0x02], 'csklearn.tree._classes\nDecisionTreeClassifier\n)R}b.');
    assert.deepEqual(run(sk).codes, ['PICKLE_UNSAFE_IMPORT', 'PICKLE_UNSAFE_CALL', 'PICKLE_UNSAFE_BUILD']);
    assert.deepEqual(run(sk, new Set(['sklearn.tree._classes:DecisionTreeClassifier'])).codes, []);
    assert.deepEqual(run(sk, new Set(['sklearn.tree._classes:DecisionTree', 'sklearn.tree:DecisionTreeClassifier'])).codes.length, 3);
    const evil = bytes([0x80, 0x02], "cos\nsystem\n(S'true'\ntR.");
    assert.deepEqual(run(evil, new Set(['os:system'])).codes, ['PICKLE_UNSAFE_IMPORT', 'PICKLE_UNSAFE_CALL']);
    const scanned = scanFile(new BufferSource(evil), 'x.pkl', { allowGlobals: new Set(['os:system']) });
    assert.equal(scanned.verdict, 'unsafe');
  });
});

describe('a file that only starts like a pickle', () => {
  const junk = bytes([0x80, 0x03, 0x86, 0x09, 0x8c, 0x0f, 0x92]);
  test('breaking before any import or call: unknown, unless its name promises a pickle', () => {
    assert.equal(scanFile(new BufferSource(junk), 'a').verdict, 'unknown');
    assert.equal(scanFile(new BufferSource(junk), 'weights.safetensors').verdict, 'unknown');
    assert.equal(scanFile(new BufferSource(junk), 'a.pkl').verdict, 'malformed');
    assert.equal(scanFile(new BufferSource(junk), 'pytorch_model.bin').verdict, 'malformed');
  });

  test('an import before the break keeps it a pickle, unsafe, whatever the name', () => {
    const broken = bytes([0x80, 0x02], 'cos\nsystem\n', [0xff]);
    const r = scanFile(new BufferSource(broken), 'a');
    assert.equal(r.verdict, 'unsafe');
    assert.deepEqual(r.findings.map((f) => f.code), ['PICKLE_UNSAFE_IMPORT', 'PICKLE_MALFORMED']);
  });
});

describe('bounded', () => {
  test('a million-item stack and 10k marks stop at their limits, quickly', () => {
    const many = new Uint8Array(1_000_002 + 3).fill(0x4e); // NONE
    many.set([0x80, 0x02]);
    many[many.length - 1] = 0x2e;
    const start = performance.now();
    assert.ok(run(many).codes.includes('SCAN_LIMIT_EXCEEDED'));
    assert.ok(run(bytes([0x80, 0x02], '('.repeat(20_000), 'N.')).codes.includes('SCAN_LIMIT_EXCEEDED'));
    assert.ok(performance.now() - start < 5000);
  });

  test('length fields past the end are malformed before anything is allocated', () => {
    for (const op of [[0x8e, 255, 255, 255, 255, 255, 255, 255, 127], [0x96, 0, 0, 0, 0, 0, 0, 0, 64], [0x8d, 0, 0, 0, 0, 0, 0, 16, 0], [0x58, 255, 255, 255, 255], [0x95, 255, 255, 255, 255, 255, 255, 255, 255]]) {
      const r = run(bytes([0x80, 0x04], op, '.'));
      assert.ok(r.codes.includes('PICKLE_MALFORMED') || r.codes.includes('PICKLE_FRAME_VIOLATION'), JSON.stringify(r.codes));
    }
  });

  test('time grows linearly: 8x the opcodes costs well under 30x the time', () => {
    const make = (n: number) => bytes([0x80, 0x02, 0x5d], enc.encode('K\x01a'.repeat(n)), '.');
    const time = (d: Uint8Array) => {
      const s = performance.now();
      for (let i = 0; i < 3; i++) run(d);
      return performance.now() - s;
    };
    time(make(10_000));
    const small = time(make(50_000));
    const large = time(make(400_000));
    assert.ok(large < small * 30 + 50, `${small.toFixed(1)} ms vs ${large.toFixed(1)} ms`);
  });
});
