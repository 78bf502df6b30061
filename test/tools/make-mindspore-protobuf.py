#!/usr/bin/env python3
"""Writes the MindIR and checkpoint test files of test/fixtures/scan/mindspore/ (hand-encoded
protobuf: no MindSpore or protobuf package needed), plus expected.json with each file's expected
verdict and codes. Run from the repository root:

    python3 test/tools/make-mindspore-protobuf.py

Field numbers follow mind_ir.proto (ModelProto, GraphProto, NodeProto, AttributeProto,
TensorProto, ExternalDataProto) and checkpoint.proto (Checkpoint, Value, TensorProto).
"""
import json
import os
import struct

OUT = os.path.join('test', 'fixtures', 'scan', 'mindspore')


def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_varint(number, value):
    return varint(number << 3) + varint(value)


def field_bytes(number, data):
    if isinstance(data, str):
        data = data.encode()
    return varint((number << 3) | 2) + varint(len(data)) + data


def packed(number, values):
    return field_bytes(number, b''.join(varint(v) for v in values))


# --- MindIR -------------------------------------------------------------------------------

FLOAT = 1  # mind_ir DataType FLOAT (4 bytes)


def tensor(name, dims, raw=None, external=None, data_type=FLOAT):
    t = packed(1, dims) + field_varint(2, data_type) + field_bytes(7, name)
    if raw is not None:
        t += field_bytes(9, raw)
    if external is not None:
        location, offset, length = external
        ext = b''
        if location is not None:
            ext += field_bytes(1, location)
        ext += field_varint(2, offset) + field_varint(3, length)
        t += field_bytes(12, ext)
    return t


def node(op_type, inputs, outputs, name='n0'):
    n = b''.join(field_bytes(1, i) for i in inputs) + b''.join(field_bytes(2, o) for o in outputs)
    return n + field_bytes(3, name) + field_bytes(4, op_type)


def value_info(name, dims):
    return field_bytes(1, name) + field_bytes(2, tensor(name + ':t', dims))


def graph(nodes=(), parameters=(), attributes=()):
    g = b''.join(field_bytes(1, n) for n in nodes) + field_bytes(2, 'graph')
    g += b''.join(field_bytes(3, p) for p in parameters)
    g += field_bytes(5, value_info('x', [1, 1, 2, 2])) + field_bytes(6, value_info('y', [1, 1, 2, 2]))
    g += b''.join(field_bytes(8, a) for a in attributes)
    return g


def model(g=None, producer='MindSpore'):
    m = field_bytes(1, '0.1.0') + field_bytes(2, producer) + field_bytes(5, '2.0.0')
    if g is not None:
        m += field_bytes(7, g)
    return m


def nested_attribute(depth):
    """AttributeProto.values nested `depth` levels (built inside out, no recursion)."""
    a = field_bytes(1, 'leaf')
    for _ in range(depth - 1):
        a = field_bytes(1, 'a') + field_bytes(17, a)
    return a


relu = node('ReLU', ['x'], ['y'])
weights16 = struct.pack('<4f', 1, 2, 3, 4)
MINDIR = {
    'ok.mindir': (model(graph([relu], [tensor('w', [2, 2], weights16)])), 'clean', []),
    'external_ok/model.mindir': (model(graph([relu], [tensor('w', [2, 2], external=('weights.bin', 0, 16))])), 'clean', []),
    'external_traversal.mindir': (model(graph([relu], [tensor('w', [2, 2], external=('../../etc/passwd', 0, 16))])), 'unsafe', ['MINDIR_EXTERNAL_DATA_PATH']),
    'external_absolute.mindir': (model(graph([relu], [tensor('w', [2, 2], external=('/etc/passwd', 0, 16))])), 'unsafe', ['MINDIR_EXTERNAL_DATA_PATH']),
    'external_unsigned.mindir': (model(graph([relu], [tensor('w', [2, 2], external=('weights.bin', 0, 16))])), 'unsafe', ['MINDIR_EXTERNAL_DATA_UNSIGNED']),
    'pyexecute.mindir': (model(graph([relu, node('PyExecute', ['y'], ['z'], 'n1')])), 'unsafe', ['MINDIR_PYTHON_OP']),
    'raw_data_short.mindir': (model(graph([relu], [tensor('w', [2, 2], weights16[:12])])), 'malformed', ['MINDIR_TENSOR_DATA_SIZE']),
    'nested_101.mindir': (model(graph([relu], attributes=[nested_attribute(101)])), 'malformed', ['SCAN_LIMIT_EXCEEDED']),
    'nested_90.mindir': (model(graph([relu], attributes=[nested_attribute(90)])), 'clean', []),
    'no_graph.mindir': (model(None), 'malformed', ['MINDIR_INVALID']),
    'truncated.mindir': (model(graph([relu], [tensor('w', [2, 2], weights16)]))[:-5], 'malformed', ['MINDIR_INVALID']),
}

# --- checkpoints ---------------------------------------------------------------------------


def ckpt_value(tag, dims, tensor_type, content):
    t = packed(1, dims) + field_bytes(2, tensor_type) + field_bytes(3, content)
    return field_bytes(1, field_bytes(1, tag) + field_bytes(2, t))


def trailer(body):
    # The CRC value itself is not checked by the scanner (it is unkeyed); any 10 bytes do.
    return body + b'crc_num' + (12345).to_bytes(10, 'big')


w = struct.pack('<6f', *range(6))
CKPT = {
    'ok.ckpt': (trailer(ckpt_value('conv.weight', [2, 3], 'Float32', w) + ckpt_value('step', [1], 'Int32', struct.pack('<i', 7))), 'clean', []),
    'no_trailer.ckpt': (ckpt_value('conv.weight', [2, 3], 'Float32', w), 'clean', ['CKPT_CRC_ABSENT']),
    'sliced.ckpt': (trailer(ckpt_value('conv.weight', [2, 3], 'Float32', w[:12]) + ckpt_value('conv.weight', [2, 3], 'Float32', w[12:])), 'clean', []),
    'unknown_type.ckpt': (trailer(ckpt_value('conv.weight', [2, 3], 'Float99', w)), 'malformed', ['CKPT_TENSOR_TYPE']),
    'short.ckpt': (trailer(ckpt_value('conv.weight', [2, 3], 'Float32', w[:20])), 'malformed', ['CKPT_TENSOR_SIZE']),
    'bad_trailer.ckpt': (ckpt_value('conv.weight', [2, 3], 'Float32', w) + b'crc_nuX' + bytes(10), 'malformed', ['CKPT_INVALID']),
}


def main():
    expected = {}
    for name, (data, verdict, codes) in {**MINDIR, **CKPT}.items():
        path = os.path.join(OUT, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as f:
            f.write(data)
        expected[name] = {'verdict': verdict, 'codes': codes}
    with open(os.path.join(OUT, 'external_ok', 'weights.bin'), 'wb') as f:
        f.write(weights16)
    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=2, sort_keys=True)
        f.write('\n')
    print(f'wrote {len(expected)} files to {OUT}')


if __name__ == '__main__':
    main()
