#!/usr/bin/env python3
"""Generates the scanner's test corpus: test/fixtures/scan/<case> and test/fixtures/scan/expected.json.

Needs python3 and numpy only (no torch, h5py or onnx). PyTorch files are written the way torch.save
writes them: a zip of stored members (archive/data.pkl at protocol 2 with BINPERSID storage ids,
archive/data/<key>, archive/version), with stub `torch` modules registered in sys.modules so that
pickle emits the real global names. Hostile pickles are written opcode by opcode; their payloads
are harmless (`true`), and the tests never unpickle anything.

Each case has an expected verdict and the codes that must be among its findings; `globals` lists
module:qualname pairs some finding must name (the scanner resolved the import correctly).

Run: python3 scripts/make-scan-corpus.py   (rewrites the directory; output is deterministic)
"""
import collections
import io
import json
import os
import pickle
import shutil
import struct
import sys
import tarfile
import types
import zipfile
import zlib

import numpy as np

ROOT = os.environ.get('SCAN_CORPUS_OUT') or os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'scan')
EXPECTED = {}
FIXED_TIME = (2026, 1, 1, 0, 0, 0)


def case(name, data, verdict, codes=(), globals_=(), bypass=None, note=None):
    assert name.split('/')[0] in OWNED, name
    path = os.path.join(ROOT, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data)
    entry = {'verdict': verdict, 'codes': sorted(set(codes))}
    if globals_:
        entry['globals'] = list(globals_)
    if bypass is not None:
        entry['bypass'] = bypass
    if note:
        entry['note'] = note
    EXPECTED[name] = entry


# ---------------------------------------------------------------------------------------------
# Opcode helpers (pickletools names)

def g(module, name):
    return b'c' + module.encode() + b'\n' + name.encode() + b'\n'


def su(s):  # SHORT_BINUNICODE
    b = s.encode()
    return b'\x8c' + bytes([len(b)]) + b


def reduce_call(module, name, arg="true", proto=2):
    head = b'\x80' + bytes([proto]) if proto >= 2 else b''
    return head + g(module, name) + b"(S'" + arg.encode() + b"'\ntR."


IMPORT_CALL = ['PICKLE_UNSAFE_IMPORT', 'PICKLE_UNSAFE_CALL']

# ---------------------------------------------------------------------------------------------
# Stub torch, so pickle writes torch's real global names without torch installed.

torch = types.ModuleType('torch')
torch_utils = types.ModuleType('torch._utils')
sys.modules['torch'] = torch
sys.modules['torch._utils'] = torch_utils


def _rebuild_tensor_v2(*args):
    raise RuntimeError('stub')


_rebuild_tensor_v2.__module__ = 'torch._utils'
torch_utils._rebuild_tensor_v2 = _rebuild_tensor_v2
torch._utils = torch_utils


class FloatStorage:
    pass


FloatStorage.__module__ = 'torch'
torch.FloatStorage = FloatStorage


class Storage:
    def __init__(self, key, numel, data=None):
        self.key, self.numel = key, numel
        self.data = data if data is not None else struct.pack('<%df' % numel, *range(numel))


class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, size, stride)

    def __reduce_ex__(self, protocol):
        s, o, size, stride = self.args
        return (_rebuild_tensor_v2, (s, o, size, stride, False, collections.OrderedDict()))


def torch_pickle(obj, legacy=False):
    buf = io.BytesIO()
    p = pickle.Pickler(buf, protocol=2)

    def persistent_id(o):
        if isinstance(o, Storage):
            pid = ('storage', FloatStorage, o.key, 'cpu', o.numel)
            return pid + (None,) if legacy else pid
        return None

    p.persistent_id = persistent_id
    p.dump(obj)
    return buf.getvalue()


def state_dict(tensors):
    sd = collections.OrderedDict(tensors)
    sd._metadata = collections.OrderedDict([('', {'version': 1})])
    return sd


def storages_of(tensors):
    out = collections.OrderedDict()
    for t in tensors.values():
        out[t.args[0].key] = t.args[0]
    return out


def torch_zip(data_pkl, storages, extra=(), prefix='archive', data_name='data.pkl', compression=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w', compression) as z:
        def put(name, data):
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.compress_type = compression
            z.writestr(info, data)
        put(f'{prefix}/{data_name}', data_pkl)
        put(f'{prefix}/byteorder', b'little')
        for key, s in storages.items():
            put(f'{prefix}/data/{key}', s.data)
        put(f'{prefix}/version', b'3\n')
        put(f'{prefix}/.data/serialization_id', b'1234567890')
        for name, data in extra:
            put(name, data)
    return buf.getvalue()


def benign_tensors():
    w = Storage('0', 6)
    b = Storage('1', 3)
    return {'fc.weight': Tensor(w, 0, (2, 3), (3, 1)), 'fc.bias': Tensor(b, 0, (3,), (1,))}


EVIL = reduce_call('os', 'system')

# ---------------------------------------------------------------------------------------------
# Zip byte patching


def entries(data):
    """(name, local header offset, central entry offset) of each member."""
    z = zipfile.ZipFile(io.BytesIO(data))
    out = []
    cd = data.rfind(b'PK\x05\x06')
    cd_offset = struct.unpack_from('<I', data, cd + 16)[0]
    p = cd_offset
    for info in z.infolist():
        assert data[p:p + 4] == b'PK\x01\x02'
        n, e, c = struct.unpack_from('<HHH', data, p + 28)
        out.append((info.filename, info.header_offset, p))
        p += 46 + n + e + c
    return out


def patch(data, offset, fmt, value):
    b = bytearray(data)
    struct.pack_into(fmt, b, offset, value)
    return bytes(b)


def member(data, name):
    return next(e for e in entries(data) if e[0] == name)


# The folders this script owns (test/fixtures/scan/mindspore comes from another generator).
OWNED = ['pickle', 'torch', 'zip', 'numpy', 'safetensors', 'gguf', 'keras', 'onnx', 'code', 'other']


def main():
    for d in OWNED:
        shutil.rmtree(os.path.join(ROOT, d), ignore_errors=True)
    os.makedirs(ROOT, exist_ok=True)
    pickles()
    torch_files()
    zips()
    numpy_files()
    safetensors_files()
    gguf_files()
    keras_files()
    onnx_files()
    other_files()
    with open(os.path.join(ROOT, 'expected.json'), 'w') as f:
        json.dump(EXPECTED, f, indent=1, sort_keys=True)
        f.write('\n')
    total = sum(os.path.getsize(os.path.join(dp, n)) for d in OWNED for dp, _, fs in os.walk(os.path.join(ROOT, d)) for n in fs)
    print(f'{len(EXPECTED)} cases, {total} bytes in {ROOT}')


# ---------------------------------------------------------------------------------------------
# Raw pickles

def pickles():
    # Benign: containers and NumPy arrays at every protocol (real pickle.dumps output).
    for proto in range(6):
        case(f'pickle/benign_containers_p{proto}.pkl', pickle.dumps({'a': [1, 2.5, None, True], 'b': (b'x', 'y'), 'c': {1, 2}, 'd': frozenset([3]), 'e': bytearray(b'z'), 'f': 10**30, 'g': complex(1, 2)}, protocol=proto), 'clean')
        case(f'pickle/benign_numpy_p{proto}.pkl', pickle.dumps({'w': np.arange(12, dtype=np.float32).reshape(3, 4), 's': np.float64(1.5)}, protocol=proto), 'clean')
    case('pickle/benign_numpy_fortran_p5.pkl', pickle.dumps(np.asfortranarray(np.ones((3, 2))), protocol=5), 'clean')

    # 1. Deny-list gaps: one reduce pickle per module the anchors missed; all unsafe by allow-list.
    gaps = [
        ('pip', 'main'), ('functools', 'partial'), ('torch.serialization', 'load'), ('pydoc', 'pipepager'), ('venv', 'create'),
        ('importlib', 'import_module'), ('marshal', 'loads'), ('pkgutil', 'resolve_name'), ('uuid', '_get_command_stdout'),
        ('imaplib', 'IMAP4_stream'), ('_osx_support', '_read_output'), ('_aix_support', '_read_cmd_output'), ('_pyrepl.pager', 'pipe_pager'),
        ('logging', 'FileHandler'), ('_io', 'FileIO'), ('urllib.request', 'urlopen'), ('torch.utils.collect_env', 'run'),
        ('torch._dynamo.guards', 'GuardBuilder'), ('torch.jit.unsupported_tensor_ops', 'execWrapper'), ('torch.utils._config_module', 'ConfigModule.load_config'),
        ('cProfile', 'run'), ('profile', 'run'), ('trace', 'Trace'), ('idlelib.pyshell', 'ModifiedInterpreter'), ('lib2to3.pgen2.pgen', 'ParserGenerator'),
        ('doctest', 'debug_script'), ('ensurepip', '_run_pip'), ('multiprocessing.util', 'spawnv_passfds'),
        ('mlflow.projects.backend.local', '_run_entry_point'), ('pandas.io.parsers', 'read_csv'), ('ctypes', 'CDLL'), ('pty', 'spawn'),
        ('numpy.f2py.crackfortran', '_eval_length'), ('distutils.file_util', 'write_file'), ('os', 'system'), ('posix', 'system'),
        ('builtins', 'eval'), ('builtins', 'exec'), ('runpy', '_run_code'), ('subprocess', 'Popen'), ('webbrowser', 'open'),
        ('code', 'InteractiveInterpreter'), ('shutil', 'rmtree'), ('socket', 'create_connection'), ('operator', 'attrgetter'),
    ]
    for module, name in gaps:
        case(f'pickle/gap_{module}.{name}.pkl', reduce_call(module, name), 'unsafe', IMPORT_CALL, [f'{module}:{name}'], bypass=1)
    case('pickle/gap_builtin_eval_p0.pkl', reduce_call('__builtin__', 'eval', proto=0), 'unsafe', IMPORT_CALL, ['builtins:eval'], bypass=1,
         note='protocol 0 maps __builtin__ to builtins (fix_imports)')
    case('pickle/gap_inst_exec.pkl', b"(S'true'\ni__builtin__\nexec\n.", 'unsafe', IMPORT_CALL, ['builtins:exec'], bypass=1)
    case('pickle/gap_stack_global_p4.pkl', b'\x80\x04' + su('os') + su('system') + b'\x93' + su('true') + b'\x85R.', 'unsafe', IMPORT_CALL, ['os:system'], bypass=1)

    # 2. Submodule of a listed module: exact pairs only.
    case('pickle/submodule_asyncio.pkl', reduce_call('asyncio.unix_events', '_UnixSubprocessTransport._start'), 'unsafe', IMPORT_CALL,
         ['asyncio.unix_events:_UnixSubprocessTransport._start'], bypass=2)

    # 3. Memo tricks: the memo holds stack values, not "the previous opcode's argument".
    case('pickle/memo_ctf_put_pop.pkl',
         b"S'os'\np0\n0S'system'\np1\n0g0\ng1\n\x93(S'true'\ntR.", 'unsafe', IMPORT_CALL, ['os:system'], bypass=3)
    case('pickle/memo_mix_memoize_binput.pkl',
         b'\x80\x04' + su('collections') + b'\x94' + su('OrderedDict') + b'q\x07' + su('os') + b'\x94' + su('system') + b'\x94'
         + b'0000h\x02h\x03\x93' + su('true') + b'\x85R.', 'unsafe', IMPORT_CALL, ['os:system'], bypass=3,
         note='MEMOIZE stores at len(memo): after BINPUT 7 the next MEMOIZE is index 2')
    case('pickle/build_setattr_then_global.pkl',
         b'\x80\x02' + g('collections', 'OrderedDict') + b'N}' + b"X\x07\x00\x00\x00__doc__X\x01\x00\x00\x00a" + b's\x86b.', 'unsafe',
         ['PICKLE_UNSAFE_BUILD'], bypass=3, note='only allowed globals, but BUILD sets attributes on the class itself')
    case('pickle/setitem_on_global.pkl', b'\x80\x02' + g('collections', 'OrderedDict') + b"X\x01\x00\x00\x00aX\x01\x00\x00\x00bs.", 'unsafe',
         ['PICKLE_UNSAFE_MUTATION'], bypass=3)
    case('pickle/append_on_call_result.pkl', b'\x80\x02' + g('collections', 'OrderedDict') + b')RK\x01a.', 'unsafe', ['PICKLE_UNSAFE_MUTATION'], bypass=3)

    # 4. STACK_GLOBAL operands: STRING opcodes produce strings; anything else is not a literal.
    case('pickle/stack_global_STRING_ops.pkl', b"\x80\x04S'os'\nS'system'\n\x93" + su('true') + b'\x85R.', 'unsafe', IMPORT_CALL, ['os:system'], bypass=4)
    case('pickle/stack_global_BINSTRING_ops.pkl', b'\x80\x04U\x02osT\x06\x00\x00\x00system\x93' + su('true') + b'\x85R.', 'unsafe', IMPORT_CALL, ['os:system'], bypass=4)
    case('pickle/stack_global_int_operand.pkl', b'\x80\x04K\x01\x94' + su('system') + b'\x94h\x00h\x01\x93.', 'unsafe', ['PICKLE_NONLITERAL_GLOBAL'], bypass=4,
         note='an int from the memo as the module operand (type confusion)')
    case('pickle/stack_global_call_operand.pkl', b'\x80\x04' + g('builtins', 'set') + b')R' + su('x') + b'\x93.', 'unsafe', ['PICKLE_NONLITERAL_GLOBAL'], bypass=4)

    # 5. A missing memo key after the payload: findings before the break stay.
    case('pickle/memo_keyerror_after_reduce.pkl', EVIL[:-1] + b'h\x63.', 'unsafe', IMPORT_CALL + ['PICKLE_MALFORMED'], ['os:system'], bypass=5)

    # 6. Dotted names and introspection chains.
    case('pickle/dotted_name_pathlib_os.pkl', reduce_call('pathlib', 'os.system'), 'unsafe', IMPORT_CALL, ['pathlib:os.system'], bypass=6)
    case('pickle/introspection_builtins.pkl', b'\x80\x02' + g('builtins', 'print.__class__.__base__.__subclasses__') + b')R.', 'unsafe', IMPORT_CALL,
         ['builtins:print.__class__.__base__.__subclasses__'], bypass=6)
    case('pickle/dotted_allowed_prefix.pkl', b'\x80\x02' + g('collections', 'OrderedDict.fromkeys') + b')R.', 'unsafe', IMPORT_CALL,
         ['collections:OrderedDict.fromkeys'], bypass=6, note='an allowed name does not allow its attributes')

    # 7. A call whose result is discarded.
    case('pickle/obj_then_pop.pkl', b'\x80\x02(' + g('os', 'system') + b"S'true'\no0N.", 'unsafe', IMPORT_CALL, ['os:system'], bypass=7)
    case('pickle/newobj_then_pop.pkl', b'\x80\x02' + g('subprocess', 'Popen') + b"(S'true'\nt\x810N.", 'unsafe', IMPORT_CALL, ['subprocess:Popen'], bypass=7)

    # 8. Nested pickles.
    inner = EVIL
    case('pickle/nested_pickle_loads.pkl', b'\x80\x03' + g('_pickle', 'loads') + b'C' + bytes([len(inner)]) + inner + b'\x85R.', 'unsafe', IMPORT_CALL,
         ['_pickle:loads'], bypass=8)
    case('pickle/nested_torch_load.pkl', reduce_call('torch', 'load', 'other.pt'), 'unsafe', IMPORT_CALL, ['torch:load'], bypass=8)

    # 9. Several pickles in one file.
    case('pickle/second_pickle_malicious.pkl', pickle.dumps({'ok': 1}, protocol=2) + EVIL, 'unsafe', IMPORT_CALL, ['os:system'], bypass=9)
    case('pickle/second_pickle_protocol0.pkl', pickle.dumps([1, 2], protocol=2) + reduce_call('os', 'system', proto=0), 'unsafe', IMPORT_CALL, ['os:system'], bypass=9)
    case('pickle/trailing_garbage.pkl', pickle.dumps([1, 2], protocol=2) + b'\x00\x01not a pickle', 'clean', ['PICKLE_TRAILING_DATA'],
         note='pickle.load ignores bytes after STOP: a note, not malformed')

    # 10. Broken pickle that ran its payload first.
    case('pickle/runpy_broken_after_reduce.pkl', b'\x80\x02' + g('runpy', '_run_code') + b"(S'true'\n}tR\xff", 'unsafe',
         IMPORT_CALL + ['PICKLE_MALFORMED'], ['runpy:_run_code'], bypass=10)
    case('pickle/truncated_after_reduce.pkl', EVIL[:-1], 'unsafe', IMPORT_CALL + ['PICKLE_MALFORMED'], ['os:system'], bypass=10)

    # 11. FRAME boundary divergence: the frame ends inside SHORT_BINUNICODE's argument.
    body = su('os') + b'\x8c\x06'
    rest = b'system\x93' + su('true') + b'\x85R.'
    case('pickle/frame_straddle.pkl', b'\x80\x04\x95' + struct.pack('<Q', len(body)) + body + rest, 'unsafe',
         IMPORT_CALL + ['PICKLE_FRAME_VIOLATION'], ['os:system'], bypass=11)
    case('pickle/frame_past_eof.pkl', b'\x80\x04\x95' + struct.pack('<Q', 1000) + b'N.', 'malformed', ['PICKLE_FRAME_VIOLATION'], bypass=11)

    # 12. Text integers with Python int() semantics.
    case('pickle/text_int_put_underscore.pkl', b"S'os'\np 1_0 \n0S'system'\np01\n0g10\ng1\n\x93(S'true'\ntR.", 'unsafe', IMPORT_CALL, ['os:system'], bypass=12)
    case('pickle/text_int_variants.pkl', b'(I0x10\nI01\nI00\nL1_000L\nI 7\nF1.5\nl.', 'clean', bypass=12)
    case('pickle/text_int_invalid.pkl', b'(I1__0\nl.', 'malformed', ['PICKLE_MALFORMED'], bypass=12)

    # 13. Extension / dispatch: content decides.
    case('pickle/disguised.npy', EVIL, 'unsafe', IMPORT_CALL + ['FORMAT_EXTENSION_MISMATCH'], ['os:system'], bypass=13)
    case('pickle/disguised.safetensors', EVIL, 'unsafe', IMPORT_CALL + ['FORMAT_EXTENSION_MISMATCH'], ['os:system'], bypass=13)
    case('pickle/disguised.bin', EVIL, 'unsafe', IMPORT_CALL, ['os:system'], bypass=13)
    case('pickle/protocol0_no_extension', reduce_call('os', 'system', proto=0), 'unsafe', IMPORT_CALL, ['os:system'], bypass=13)

    # 19. Scanner tampering.
    case('pickle/tamper_picklescan.pkl', reduce_call('picklescan.scanner', 'scan_pickle_bytes'), 'unsafe', IMPORT_CALL, bypass=19)
    case('pickle/tamper_fickling.pkl', reduce_call('fickling', 'always_check_safety'), 'unsafe', IMPORT_CALL, bypass=19)

    # Opcode rules of their own.
    case('pickle/ext_registry.pkl', b'\x80\x02\x82\x01.', 'unsafe', ['PICKLE_EXTENSION_REGISTRY'])
    case('pickle/next_buffer.pkl', b'\x80\x05\x97.', 'unsafe', ['PICKLE_OUT_OF_BAND_BUFFER'])
    case('pickle/persid_non_storage.pkl', b'\x80\x02X\x03\x00\x00\x00abcQ.', 'unsafe', ['PICKLE_PERSISTENT_ID'])
    case('pickle/codecs_encode_ok.pkl', b'\x80\x02' + g('_codecs', 'encode') + b'X\x01\x00\x00\x00aX\x06\x00\x00\x00latin1\x86R.', 'clean',
         note='how protocol 2 writes bytes')
    case('pickle/codecs_encode_bad_args.pkl', b'\x80\x02' + g('_codecs', 'encode') + b'X\x01\x00\x00\x00aX\x05\x00\x00\x00rot13\x86R.', 'unsafe', ['PICKLE_UNSAFE_CALL'])
    case('pickle/proto6.pkl', b'\x80\x06N.', 'malformed', ['PICKLE_MALFORMED'])
    case('pickle/long4_huge.pkl', b'\x80\x02\x8b\xff\xff\xff\x7f\x00.', 'malformed', ['PICKLE_MALFORMED'])
    case('pickle/binunicode_past_eof.pkl', b'\x80\x02X\xff\xff\xff\x00ab.', 'malformed', ['PICKLE_MALFORMED'])
    case('pickle/stack_underflow.pkl', b'\x80\x020.', 'malformed', ['PICKLE_MALFORMED'])
    case('pickle/marks_10k_plus.pkl', b'\x80\x02' + b'(' * 10_001 + b'N.', 'malformed', ['SCAN_LIMIT_EXCEEDED'])
    case('pickle/string_unquoted.pkl', b'Sabc\n.', 'malformed', ['PICKLE_MALFORMED'])
    case('pickle/mixed_protocol.pkl', b'\x80\x02' + su('x') + b'.', 'clean', ['PICKLE_PROTOCOL_MIX'])


# ---------------------------------------------------------------------------------------------
# PyTorch

def torch_files():
    tensors = benign_tensors()
    sd = state_dict(tensors)
    pkl = torch_pickle(sd)
    good = torch_zip(pkl, storages_of(tensors))
    case('torch/benign_state_dict.pt', good, 'clean')
    case('torch/benign_deflated.pt', torch_zip(pkl, storages_of(tensors), compression=zipfile.ZIP_DEFLATED), 'clean')
    case('torch/benign_other_prefix.pth', torch_zip(pkl, storages_of(tensors), prefix='resnet18'), 'clean')
    case('torch/benign_trailing_bytes.pt', good + b'\x00' * 16, 'clean', ['ZIP_TRAILING_DATA'])

    # Storage checks.
    short = Storage('0', 6, struct.pack('<5f', *range(5)))
    t = {'w': Tensor(short, 0, (2, 3), (3, 1))}
    case('torch/storage_size_short.pt', torch_zip(torch_pickle(state_dict(t)), storages_of(t)), 'unsafe', ['TORCH_STORAGE_SIZE'])
    s = Storage('0', 6)
    t = {'w': Tensor(s, 2, (2, 3), (3, 1))}
    case('torch/view_out_of_bounds.pt', torch_zip(torch_pickle(state_dict(t)), storages_of(t)), 'unsafe', ['TORCH_TENSOR_VIEW_OOB'])
    case('torch/storage_missing.pt', torch_zip(pkl, {}), 'malformed', ['TORCH_STORAGE_MISSING'])
    case('torch/no_data_pkl.pt', torch_zip(b'\x80\x02N.', {'0': Storage('0', 1)}, data_name='other.pkl'), 'malformed', ['TORCH_ZIP_NO_DATA_PKL'])
    case('torch/malicious_data_pkl.pt', torch_zip(EVIL, {}), 'unsafe', IMPORT_CALL, ['os:system'])
    case('torch/ts_code.pt', torch_zip(pkl, storages_of(tensors), extra=[('archive/code/__torch__/m.py', b'def forward(self):\n    pass\n'),
                                                                        ('archive/constants.pkl', b'\x80\x02).')]), 'unsafe', ['TORCHSCRIPT_CODE'])

    # 16. Legacy format: five pickles then raw storages.
    def legacy(magic_pickle, obj_tensors):
        out = magic_pickle + pickle.dumps(1001, protocol=2) + pickle.dumps({'protocol_version': 1001, 'little_endian': True}, protocol=2)
        out += torch_pickle(state_dict(obj_tensors), legacy=True)
        stor = storages_of(obj_tensors)
        out += pickle.dumps(list(stor.keys()), protocol=2)
        for st in stor.values():
            out += struct.pack('<Q', st.numel) + st.data
        return out
    magic = pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2)
    case('torch/legacy_benign.pt', legacy(magic, benign_tensors()), 'clean')
    case('torch/legacy_magic_eval.pt', legacy(reduce_call('__builtin__', 'eval', '0x1950a86a20f9469cfc6c'), benign_tensors()), 'unsafe',
         IMPORT_CALL + ['TORCH_LEGACY_MAGIC'], ['builtins:eval'], bypass=16)
    case('torch/legacy_trailing.pt', legacy(magic, benign_tensors()) + b'\x00' * 8, 'malformed', ['TORCH_LEGACY_LAYOUT'])

    # 17. Legacy tar format.
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w', format=tarfile.USTAR_FORMAT) as tf:
        for name, data in [('sys_info', pickle.dumps({'protocol_version': 1000}, protocol=2)), ('pickle', pickle.dumps(collections.OrderedDict(), protocol=2)),
                           ('tensors', pickle.dumps(0, protocol=2)), ('storages', pickle.dumps(0, protocol=2))]:
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 0
            tf.addfile(info, io.BytesIO(data))
    case('torch/legacy_tar.pt', buf.getvalue(), 'unsafe', ['TORCH_LEGACY_TAR'], bypass=17)


# ---------------------------------------------------------------------------------------------
# 14. Zip tricks (PyTorch archives with byte patches)

def zips():
    tensors = benign_tensors()
    pkl = torch_pickle(state_dict(tensors))
    st = storages_of(tensors)
    evil = torch_zip(EVIL, {})
    name = 'archive/data.pkl'
    _, local, central = member(evil, name)
    crc = struct.unpack_from('<I', evil, central + 16)[0]
    bad = patch(patch(evil, local + 14, '<I', crc ^ 1), central + 16, '<I', crc ^ 1)
    case('zip/crc_mismatch.pt', bad, 'unsafe', IMPORT_CALL + ['ZIP_CRC_MISMATCH'], ['os:system'], bypass=14)
    for bit in (0x1, 0x20, 0x40):
        case(f'zip/flag_{bit:#x}_local.pt', patch(evil, local + 6, '<H', bit), 'unsafe', IMPORT_CALL + ['ZIP_FLAGS'], ['os:system'], bypass=14)
        case(f'zip/flag_{bit:#x}_central.pt', patch(evil, central + 8, '<H', bit), 'unsafe', IMPORT_CALL + ['ZIP_FLAGS'], ['os:system'], bypass=14)
    b = bytearray(evil)
    b[local + 30 + len(name) - 1] = ord('x')  # local name archive/data.pkx
    case('zip/name_mismatch.pt', bytes(b), 'unsafe', IMPORT_CALL + ['ZIP_NAME_MISMATCH'], ['os:system'], bypass=14)
    case('zip/data_txt_member.pt', torch_zip(pkl, st, extra=[('archive/data.txt', EVIL)]), 'unsafe', IMPORT_CALL, ['os:system'], bypass=14)
    case('zip/hidden_pickle_data_7.pt', torch_zip(pkl, st, extra=[('archive/data/7', EVIL)]), 'unsafe', IMPORT_CALL, ['os:system'], bypass=14)
    case('zip/upper_case_data_pkl.pt', torch_zip(EVIL, {}, data_name='DATA.PKL'), 'unsafe', IMPORT_CALL, ['os:system'], bypass=14,
         note='miniz finds records ignoring case; zipfile-based scanners look for data.pkl only')
    case('zip/case_collision_data_pkl.pt', torch_zip(pkl, st, extra=[('archive/DATA.PKL', EVIL)]), 'unsafe',
         IMPORT_CALL + ['TORCH_ZIP_AMBIGUOUS_RECORD'], ['os:system'], bypass=14)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        dup = torch_zip(pkl, st, extra=[('archive/data.pkl', EVIL)])
    case('zip/duplicate_data_pkl.pt', dup, 'unsafe', IMPORT_CALL + ['ZIP_DUPLICATE_NAME', 'TORCH_ZIP_AMBIGUOUS_RECORD'], ['os:system'], bypass=14)
    # Overlap: the version record's central entry points at data.pkl's local header.
    good = torch_zip(pkl, st)
    _, dlocal, _ = member(good, 'archive/data.pkl')
    _, _, vcentral = member(good, 'archive/version')
    case('zip/overlapping_entries.pt', patch(good, vcentral + 42, '<I', dlocal), 'unsafe', ['ZIP_OVERLAP', 'ZIP_NAME_MISMATCH'], bypass=14)
    # Prefix: a local header no central entry lists, before a valid archive.
    hidden = torch_zip(EVIL, {})
    cd = struct.unpack_from('<I', hidden, hidden.rfind(b'PK\x05\x06') + 16)[0]
    prefix = hidden[:cd]
    out = bytearray(good)
    for _, _, c in entries(good):
        struct.pack_into('<I', out, c + 42, struct.unpack_from('<I', out, c + 42)[0] + len(prefix))
    eocd = out.rfind(b'PK\x05\x06')
    struct.pack_into('<I', out, eocd + 16, struct.unpack_from('<I', out, eocd + 16)[0] + len(prefix))
    case('zip/prefix_local_header.pt', prefix + bytes(out), 'unsafe', ['ZIP_PREFIX_DATA'], bypass=14)
    # Zip-slip member names and a bomb.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w') as z:
        z.writestr(zipfile.ZipInfo('../evil.txt', FIXED_TIME), b'x')
    case('zip/path_traversal.zip', buf.getvalue(), 'unsafe', ['ZIP_PATH'])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        info = zipfile.ZipInfo('zeros.bin', FIXED_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, b'\x00' * (24 * 1024 * 1024))
    case('zip/bomb_ratio.zip', buf.getvalue(), 'unsafe', ['ZIP_BOMB'])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo('x.pkl', FIXED_TIME)
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, pickle.dumps(list(range(2000)), protocol=2))
    small = buf.getvalue()
    _, l, c = member(small, 'x.pkl')
    case('zip/bomb_declared_size.zip', patch(patch(small, l + 22, '<I', 100), c + 24, '<I', 100), 'unsafe', ['ZIP_BOMB'])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w') as z:
        z.writestr(zipfile.ZipInfo('notes/readme.txt', FIXED_TIME), b'hello')
        z.writestr(zipfile.ZipInfo('weights.pkl', FIXED_TIME), EVIL)
    case('zip/generic_with_pickle.zip', buf.getvalue(), 'unsafe', IMPORT_CALL, ['os:system'])
    # 15. Polyglot: a malicious pickle with a benign zip appended (zipfile shifts offsets past it).
    case('zip/polyglot_pickle_zip.pkl', EVIL + good, 'unsafe', IMPORT_CALL + ['SCAN_POLYGLOT', 'ZIP_PREFIX_DATA'], ['os:system'], bypass=15)


# ---------------------------------------------------------------------------------------------
# NumPy

def npy_bytes(arr, allow_pickle=False):
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=allow_pickle)
    return buf.getvalue()


def npy_with_header(header, body=b''):
    h = header.encode('latin1')
    pad = 64 - (10 + len(h) + 1) % 64
    h = h + b' ' * (pad % 64) + b'\n'
    return b'\x93NUMPY\x01\x00' + struct.pack('<H', len(h)) + h + body


def numpy_files():
    case('numpy/benign.npy', npy_bytes(np.arange(24, dtype=np.float32).reshape(2, 3, 4)), 'clean')
    case('numpy/benign_structured.npy', npy_bytes(np.zeros(3, dtype=[('a', '<i4'), ('b', '<f8', (2,))])), 'clean')
    case('numpy/benign_unicode.npy', npy_bytes(np.array(['ab', 'cde'])), 'clean')
    case('numpy/object.npy', npy_bytes(np.array([{'a': 1}, [2, 3], 'x'], dtype=object), allow_pickle=True), 'unsafe', ['NPY_OBJECT_DTYPE'])
    evil_obj = npy_with_header("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", EVIL)
    case('numpy/object_malicious.npy', evil_obj, 'unsafe', ['NPY_OBJECT_DTYPE'] + IMPORT_CALL, ['os:system'])
    case('numpy/header_expression.npy', npy_with_header("{'descr': __import__('os').system('true'), 'fortran_order': False, 'shape': (1,), }", b'\x00' * 8),
         'malformed', ['NPY_HEADER_INVALID'])
    case('numpy/header_large.npy', npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }" + ' ' * 12000, b'\x00' * 8), 'clean', ['NPY_HEADER_LARGE'])
    case('numpy/truncated_data.npy', npy_bytes(np.arange(10, dtype=np.float64))[:-8], 'malformed', ['NPY_DATA_SIZE'])
    buf = io.BytesIO()
    np.savez(buf, a=np.arange(3), b=np.ones((2, 2)))
    case('numpy/benign.npz', buf.getvalue(), 'clean')
    buf = io.BytesIO()
    np.savez_compressed(buf, a=np.arange(1000), b=np.ones((20, 20)))
    case('numpy/benign_compressed.npz', buf.getvalue(), 'clean')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w') as z:
        z.writestr(zipfile.ZipInfo('a.npy', FIXED_TIME), npy_bytes(np.arange(3)))
        z.writestr(zipfile.ZipInfo('b.npy', FIXED_TIME), EVIL)
    case('numpy/npz_pickle_member.npz', buf.getvalue(), 'unsafe', ['NPZ_NON_NPY_MEMBER'] + IMPORT_CALL, ['os:system'])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w') as z:
        z.writestr(zipfile.ZipInfo('a.npy', FIXED_TIME), npy_bytes(np.arange(3)))
    data = buf.getvalue()
    b = bytearray(data)
    b[30] = ord('b')
    case('numpy/npz_name_mismatch.npz', bytes(b), 'malformed', ['ZIP_NAME_MISMATCH'])


# ---------------------------------------------------------------------------------------------
# safetensors

def st_file(header, data, pad=0):
    h = json.dumps(header, separators=(',', ':')).encode() + b' ' * pad
    return struct.pack('<Q', len(h)) + h + data


def safetensors_files():
    data = b'\x00' * 24 + b'\x01' * 8
    good = {'a': {'dtype': 'F32', 'shape': [2, 3], 'data_offsets': [0, 24]}, 'b': {'dtype': 'I64', 'shape': [1], 'data_offsets': [24, 32]},
            '__metadata__': {'format': 'pt'}}
    case('safetensors/benign.safetensors', st_file(good, data, pad=5), 'clean')
    case('safetensors/header_past_eof.safetensors', struct.pack('<Q', 1000) + b'{}', 'malformed', ['SAFETENSORS_HEADER_SIZE'])
    case('safetensors/header_over_100mb.safetensors', struct.pack('<Q', 100_000_001) + b'{' + b' ' * 64, 'malformed', ['SAFETENSORS_HEADER_SIZE'],
         note='detected by extension (the length rules it out as content)')
    h = b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}'
    case('safetensors/duplicate_keys.safetensors', struct.pack('<Q', len(h)) + h + b'\x00' * 8, 'malformed', ['SAFETENSORS_HEADER_JSON'])
    case('safetensors/overlap.safetensors', st_file({'a': {'dtype': 'F32', 'shape': [4], 'data_offsets': [0, 16]},
                                                    'b': {'dtype': 'F32', 'shape': [2], 'data_offsets': [8, 16]}}, b'\x00' * 16), 'unsafe', ['SAFETENSORS_OVERLAP'])
    case('safetensors/hole.safetensors', st_file({'a': {'dtype': 'F32', 'shape': [1], 'data_offsets': [0, 4]},
                                                 'b': {'dtype': 'F32', 'shape': [1], 'data_offsets': [8, 12]}}, b'\x00' * 12), 'malformed', ['SAFETENSORS_HOLE'])
    case('safetensors/trailing_bytes.safetensors', st_file({'a': {'dtype': 'F32', 'shape': [1], 'data_offsets': [0, 4]}}, b'\x00' * 8), 'malformed', ['SAFETENSORS_HOLE'])
    case('safetensors/unknown_dtype.safetensors', st_file({'a': {'dtype': 'F128', 'shape': [1], 'data_offsets': [0, 16]}}, b'\x00' * 16), 'malformed', ['SAFETENSORS_DTYPE'])
    case('safetensors/shape_mismatch.safetensors', st_file({'a': {'dtype': 'F32', 'shape': [100], 'data_offsets': [0, 8]}}, b'\x00' * 8), 'unsafe', ['SAFETENSORS_SIZE_MISMATCH'])
    case('safetensors/metadata_non_string.safetensors', st_file({'__metadata__': {'n': 1}, 'a': {'dtype': 'U8', 'shape': [1], 'data_offsets': [0, 1]}}, b'\x00'),
         'malformed', ['SAFETENSORS_METADATA'])
    case('safetensors/negative_offset.safetensors', st_file({'a': {'dtype': 'U8', 'shape': [1], 'data_offsets': [-1, 0]}}, b'\x00'), 'malformed', ['SAFETENSORS_OFFSETS'])
    case('safetensors/float_offset.safetensors', st_file({'a': {'dtype': 'U8', 'shape': [1], 'data_offsets': [0, 1.0]}}, b'\x00'), 'malformed', ['SAFETENSORS_OFFSETS'])
    case('safetensors/sub_byte_f4.safetensors', st_file({'a': {'dtype': 'F4', 'shape': [4], 'data_offsets': [0, 2]}}, b'\x00' * 2), 'clean')


# ---------------------------------------------------------------------------------------------
# GGUF

def gstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack('<Q', len(b)) + b


def gguf(kvs, tensors, version=3, data=b'', alignment=32, counts=None):
    out = b'GGUF' + struct.pack('<I', version)
    out += struct.pack('<QQ', *(counts or (len(tensors), len(kvs))))
    for key, vtype, payload in kvs:
        out += gstr(key) + struct.pack('<I', vtype) + payload
    for name, dims, ttype, offset in tensors:
        out += gstr(name) + struct.pack('<I', len(dims)) + b''.join(struct.pack('<Q', d) for d in dims) + struct.pack('<IQ', ttype, offset)
    out += b'\x00' * ((-len(out)) % alignment)
    return out + data


def gguf_files():
    kv = [('general.architecture', 8, gstr('llama')), ('general.alignment', 4, struct.pack('<I', 32)),
          ('tokenizer.ggml.tokens', 9, struct.pack('<IQ', 8, 2) + gstr('a') + gstr('b'))]
    case('gguf/benign.gguf', gguf(kv, [('w', [4, 2], 0, 0), ('b', [4], 0, 32)], data=b'\x00' * 48), 'clean')
    case('gguf/version1.gguf', gguf(kv, [], version=1), 'malformed', ['GGUF_VERSION'])
    case('gguf/absurd_counts.gguf', gguf([], [], counts=(0, 2**48)) + b'\x00' * 64, 'unsafe', ['GGUF_COUNT'])
    case('gguf/string_past_eof.gguf', b'GGUF' + struct.pack('<IQQ', 3, 0, 1) + struct.pack('<Q', 10**9) + b'k' * 40, 'malformed', ['GGUF_STRING'])
    nested = struct.pack('<IQ', 9, 1) + struct.pack('<IQ', 9, 1) + struct.pack('<IQ', 9, 1) + struct.pack('<IQ', 4, 1) + b'\x00' * 4
    case('gguf/array_depth3.gguf', gguf([('x', 9, nested)], []), 'malformed', ['GGUF_ARRAY'])
    case('gguf/dims5.gguf', gguf([], [('w', [1, 1, 1, 1, 1], 0, 0)], data=b'\x00' * 32), 'malformed', ['GGUF_DIMS'])
    case('gguf/dims_overflow.gguf', gguf([], [('w', [2**40, 2**40], 0, 0)], data=b'\x00' * 32), 'malformed', ['GGUF_DIMS'])
    case('gguf/type99.gguf', gguf([], [('w', [4], 99, 0)], data=b'\x00' * 32), 'unknown', ['GGUF_TENSOR_TYPE'])
    case('gguf/misaligned.gguf', gguf([], [('w', [1], 0, 4)], data=b'\x00' * 32), 'malformed', ['GGUF_TENSOR_RANGE'])
    case('gguf/overlap.gguf', gguf([], [('w', [16], 0, 0), ('v', [8], 0, 32)], data=b'\x00' * 64), 'malformed', ['GGUF_TENSOR_RANGE'])
    case('gguf/alignment3.gguf', gguf([('general.alignment', 4, struct.pack('<I', 3))], []), 'malformed', ['GGUF_ALIGNMENT'])
    case('gguf/alignment_2e30.gguf', gguf([('general.alignment', 4, struct.pack('<I', 2**30))], []), 'malformed', ['GGUF_ALIGNMENT'])
    case('gguf/duplicate_key.gguf', gguf([('a', 4, b'\x00' * 4), ('a', 4, b'\x00' * 4)], []), 'malformed', ['GGUF_DUPLICATE_KEY'])
    case('gguf/chat_template.gguf', gguf([('tokenizer.chat_template', 8, gstr("{% for m in messages %}{{ m['content'] }}{% endfor %}"))], []),
         'clean', ['GGUF_CHAT_TEMPLATE'])
    evil = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    case('gguf/template_injection.gguf', gguf([('tokenizer.chat_template', 8, gstr(evil))], []), 'unsafe', ['GGUF_CHAT_TEMPLATE', 'GGUF_TEMPLATE_INJECTION'])
    case('gguf/legacy_ggjt.bin', b'tjgg' + b'\x00' * 60, 'malformed', ['GGUF_VERSION'])


# ---------------------------------------------------------------------------------------------
# Keras

def keras_zip(config, extra=()):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w') as z:
        z.writestr(zipfile.ZipInfo('metadata.json', FIXED_TIME), json.dumps({'keras_version': '3.6.0', 'date_saved': '2026-01-01@00:00:00'}))
        z.writestr(zipfile.ZipInfo('config.json', FIXED_TIME), json.dumps(config))
        z.writestr(zipfile.ZipInfo('model.weights.h5', FIXED_TIME), b'\x89HDF\r\n\x1a\n' + b'\x00' * 56)
        for name, data in extra:
            z.writestr(zipfile.ZipInfo(name, FIXED_TIME), data)
    return buf.getvalue()


def layer(cls, config=None, module='keras.layers'):
    return {'module': module, 'class_name': cls, 'config': config or {'name': cls.lower()}, 'registered_name': None}


def model(layers):
    return {'module': 'keras', 'class_name': 'Sequential', 'config': {'name': 'seq', 'layers': layers}, 'registered_name': None}


def keras_files():
    act = {'module': 'keras.activations', 'class_name': 'function', 'config': 'relu', 'registered_name': 'relu'}
    dense = layer('Dense', {'name': 'd', 'units': 2, 'activation': act})
    case('keras/benign.keras', keras_zip(model([layer('InputLayer', {'batch_shape': [None, 3]}), dense])), 'clean')
    lam = layer('Lambda', {'name': 'l', 'function': {'class_name': '__lambda__', 'config': {'code': '4wEAAAAAAAAA'}}})
    inner = model([layer('TimeDistributed', {'name': 't', 'layer': lam})])
    case('keras/nested_lambda.keras', keras_zip(model([inner])), 'unsafe', ['KERAS_LAMBDA'])
    case('keras/pickle_in_assets.keras', keras_zip(model([dense]), extra=[('assets/tokenizer.bin', EVIL)]), 'unsafe', IMPORT_CALL, ['os:system'])
    case('keras/top_lambda.keras', keras_zip(model([lam])), 'unsafe', ['KERAS_LAMBDA'])
    case('keras/module_os.keras', keras_zip(model([layer('system', {'name': 'x'}, module='os')])), 'unsafe', ['KERAS_UNSAFE_MODULE'])
    case('keras/module_prefix_collision.keras', keras_zip(model([layer('Dense', {'name': 'x'}, module='kerasevil.layers')])), 'unsafe', ['KERAS_UNSAFE_MODULE'])
    fn = {'module': 'keras.config', 'class_name': 'function', 'config': 'enable_unsafe_deserialization', 'registered_name': 'enable_unsafe_deserialization'}
    case('keras/function_ref.keras', keras_zip(model([layer('Dense', {'name': 'd', 'activation': fn})])), 'unsafe', ['KERAS_FUNCTION_REF'])
    case('keras/tfoplambda.keras', keras_zip(model([layer('TFOpLambda', {'name': 'op', 'function': 'math.add'})])), 'unsafe', ['KERAS_LAMBDA'])
    custom = dict(layer('MyLayer', {'name': 'm'}, module='keras.layers'))
    custom['registered_name'] = 'my_package>MyLayer'
    case('keras/custom_object.keras', keras_zip(model([custom])), 'clean', ['KERAS_CUSTOM_OBJECT'])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w') as z:
        z.writestr(zipfile.ZipInfo('metadata.json', FIXED_TIME), '{}')
        z.writestr(zipfile.ZipInfo('config.json', FIXED_TIME), '{"a": 1, "a": 2}')
    case('keras/config_duplicate_key.keras', buf.getvalue(), 'malformed', ['KERAS_CONFIG_INVALID'])
    # Legacy .h5: h5py is not available here, so the files carry the HDF5 signature and a
    # model_config attribute the way h5py lays it out (a contiguous JSON string): what the
    # heuristic reads. Regenerate with h5py for a byte-exact HDF5 file.
    cfg = json.dumps({'class_name': 'Sequential', 'config': {'layers': [{'class_name': 'Lambda', 'config': {'function': ['4wEAAAAA', None, None], 'function_type': 'lambda'}}]}})
    h5 = b'\x89HDF\r\n\x1a\n' + b'\x00' * 56 + b'model_config\x00\x00\x00\x00' + cfg.encode() + b'\x00' * 32
    case('keras/lambda.h5', h5, 'unsafe', ['KERAS_LAMBDA'], note='synthesised HDF5 layout (no h5py here)')
    case('keras/weights_only.h5', b'\x89HDF\r\n\x1a\n' + b'\x00' * 120, 'unknown', ['HDF5_CONFIG_NOT_FOUND'])


# ---------------------------------------------------------------------------------------------
# ONNX (hand-encoded protobuf)

def varint(n):
    out = b''
    while True:
        b = n & 0x7f
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def fld(num, payload):
    if isinstance(payload, int):
        return varint(num << 3) + varint(payload)
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def onnx_model(initializers, nodes=b'', graphs_in_node=b''):
    graph = fld(2, b'g') + nodes + b''.join(fld(5, t) for t in initializers)
    return fld(1, 8) + fld(2, b'test') + fld(7, graph) + fld(8, fld(1, b'') + fld(2, 17))


def tensor(name, dims, dtype, raw=None, location=None, extra_kv=()):
    t = b''.join(fld(1, d) for d in dims) + fld(2, dtype) + fld(8, name.encode())
    if raw is not None:
        t += fld(9, raw)
    if location is not None:
        t += fld(13, fld(1, b'location') + fld(2, location.encode()))
        for k, v in extra_kv:
            t += fld(13, fld(1, k.encode()) + fld(2, v.encode()))
        t += fld(14, 1)
    return t


def onnx_files():
    node = fld(1, fld(1, b'x') + fld(2, b'y') + fld(4, b'Relu'))
    case('onnx/benign.onnx', onnx_model([tensor('w', [2, 2], 1, raw=b'\x00' * 16)], nodes=node), 'clean')
    case('onnx/extdata_traversal.onnx', onnx_model([tensor('w', [2], 1, location='../../etc/passwd')]), 'unsafe', ['ONNX_EXTERNAL_DATA_PATH'])
    case('onnx/extdata_absolute.onnx', onnx_model([tensor('w', [2], 1, location='/etc/hosts')]), 'unsafe', ['ONNX_EXTERNAL_DATA_PATH'])
    case('onnx/extdata_nested_dotdot.onnx', onnx_model([tensor('w', [2], 1, location='sub/../../x.bin')]), 'unsafe', ['ONNX_EXTERNAL_DATA_PATH'])
    case('onnx/extdata_nul.onnx', onnx_model([tensor('w', [2], 1, location='w.bin\x00.txt')]), 'unsafe', ['ONNX_EXTERNAL_DATA_PATH'])
    case('onnx/extdata_unsigned.onnx', onnx_model([tensor('w', [2], 1, location='weights.bin')]), 'unsafe', ['ONNX_EXTERNAL_DATA_UNSIGNED'],
         note='weights.bin is not among the model files')
    case('onnx/raw_data_short.onnx', onnx_model([tensor('w', [2, 2], 1, raw=b'\x00' * 8)]), 'malformed', ['ONNX_TENSOR_SIZE'])
    custom = fld(1, fld(1, b'x') + fld(2, b'y') + fld(4, b'MyOp') + fld(7, b'com.example'))
    case('onnx/custom_domain.onnx', onnx_model([], nodes=custom), 'clean', ['ONNX_CUSTOM_DOMAIN'])
    # 101 nested If subgraphs: over the protobuf depth limit.
    g = fld(2, b'leaf')
    for _ in range(101):
        g = fld(1, fld(4, b'If') + fld(5, fld(1, b'then_branch') + fld(6, g) + fld(20, 5)))
    case('onnx/deep_subgraphs.onnx', fld(1, 8) + fld(7, g), 'malformed', ['SCAN_LIMIT_EXCEEDED'])


# ---------------------------------------------------------------------------------------------
# Executables and other containers

def other_files():
    case('code/elf_header.so', b'\x7fELF\x02\x01\x01' + b'\x00' * 57, 'unsafe', ['CODE_FILE'])
    case('code/script.sh', b'#!/bin/sh\ntrue\n', 'unsafe', ['CODE_FILE'])
    case('code/modeling_custom.py', b'import os\n', 'unsafe', ['CODE_FILE'])
    # Text files loaders act on: shard indexes and chat templates beside the weights.
    index = {'metadata': {'total_size': 8}, 'weight_map': {'a': 'model-00001.safetensors', 'b': '../../outside.safetensors'}}
    case('other/index/model.safetensors.index.json', json.dumps(index).encode(), 'unsafe', ['SAFETENSORS_INDEX_PATH'])
    evil = "{{ cycler.__init__.__globals__.os.popen('true').read() }}"
    case('other/tpl_benign/tokenizer_config.json', json.dumps({'chat_template': "{% for m in messages %}{{ m['content'] }}{% endfor %}"}).encode(), 'clean', ['GGUF_CHAT_TEMPLATE'])
    case('other/tpl_evil/tokenizer_config.json', json.dumps({'chat_template': [{'name': 'default', 'template': evil}]}).encode(), 'unsafe', ['GGUF_TEMPLATE_INJECTION'])
    case('other/tpl_jinja/chat_template.jinja', evil.encode(), 'unsafe', ['GGUF_TEMPLATE_INJECTION'])
    # 18. A 7z-wrapped model: not opened, so not clean.
    case('other/wrapped.7z', b'7z\xbc\xaf\x27\x1c\x00\x04' + b'\x00' * 24, 'unknown', ['FORMAT_ARCHIVE'], bypass=18)


if __name__ == '__main__':
    main()
