/**
 * Pickle allow-lists, as data: exact `module:qualname` pairs, no wildcards, no prefixes. A dotted
 * qualname (`prod.a`, `print.__class__`) is never implied by a shorter entry.
 *
 * Profile `torch` mirrors the globals `torch.load(weights_only=True)` accepts
 * (`torch/_weights_only_unpickler.py`, `_get_allowed_globals()`, torch 2.6-2.8 text). Profile
 * `generic` (raw pickles, NumPy object arrays) adds NumPy's array reconstruction, in both the
 * `numpy.core` and the NumPy 2 `numpy._core` spelling.
 *
 * Every entry has a role: `callable` (REDUCE/NEWOBJ/OBJ/INST may call it) or `value` (may be
 * imported and passed as an argument, e.g. a dtype, but calling it is flagged). `buildable` lists
 * the constructors whose results BUILD may set state on.
 */

/** Version stamp of the torch list (bumped when the list is regenerated from a newer torch). */
export const TORCH_ALLOWLIST_SOURCE = 'torch 2.8 torch/_weights_only_unpickler.py _get_allowed_globals';

const TORCH_DTYPES = [
  'float32', 'float64', 'float16', 'bfloat16', 'complex32', 'complex64', 'complex128',
  'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'bool',
  'float8_e5m2', 'float8_e4m3fn', 'float8_e5m2fnuz', 'float8_e4m3fnuz', 'float8_e8m0fnu', 'float4_e2m1fn_x2',
  'quint8', 'qint8', 'qint32', 'quint4x2', 'quint2x4',
  'bits1x8', 'bits2x4', 'bits4x2', 'bits8', 'bits16',
  'uint1', 'uint2', 'uint3', 'uint4', 'uint5', 'uint6', 'uint7',
  'int1', 'int2', 'int3', 'int4', 'int5', 'int6', 'int7',
];

/** Legacy typed storage classes and their element sizes in bytes (torch._utils._element_size). */
const LEGACY_STORAGE_SIZES: readonly (readonly [string, number])[] = [
  ['Double', 8], ['Float', 4], ['Half', 2], ['BFloat16', 2], ['Long', 8], ['Int', 4], ['Short', 2], ['Char', 1], ['Byte', 1], ['Bool', 1],
  ['ComplexFloat', 8], ['ComplexDouble', 16],
];

export const TORCH_STORAGE_ELEMENT_SIZE: ReadonlyMap<string, number> = new Map([
  // Files saved from CUDA by torch < 1.6 name the torch.cuda storage classes.
  ...LEGACY_STORAGE_SIZES.map(([name, size]) => [`torch.cuda:${name}Storage`, size] as [string, number]),
  ['torch:DoubleStorage', 8], ['torch:FloatStorage', 4], ['torch:HalfStorage', 2], ['torch:BFloat16Storage', 2],
  ['torch:LongStorage', 8], ['torch:IntStorage', 4], ['torch:ShortStorage', 2], ['torch:CharStorage', 1],
  ['torch:ByteStorage', 1], ['torch:BoolStorage', 1], ['torch:ComplexFloatStorage', 8], ['torch:ComplexDoubleStorage', 16],
  ['torch:QInt8Storage', 1], ['torch:QUInt8Storage', 1], ['torch:QInt32Storage', 4], ['torch:QUInt4x2Storage', 1],
  ['torch:QUInt2x4Storage', 1], ['torch:UntypedStorage', 1], ['torch.storage:UntypedStorage', 1],
]);

const TENSOR_TYPES = ['Double', 'Float', 'Long', 'Int', 'Short', 'Char', 'Byte', 'Bool', 'Half', 'BFloat16'];

const TORCH_REBUILD_FUNCTIONS = [
  'torch._utils:_rebuild_tensor',
  'torch._utils:_rebuild_tensor_v2',
  'torch._utils:_rebuild_tensor_v3',
  'torch._utils:_rebuild_parameter',
  'torch._utils:_rebuild_parameter_with_state',
  'torch._utils:_rebuild_qtensor',
  'torch._utils:_rebuild_sparse_tensor',
  'torch._utils:_rebuild_meta_tensor_no_storage',
  'torch._utils:_rebuild_nested_tensor',
  'torch._utils:_rebuild_wrapper_subclass',
  'torch._utils:_rebuild_device_tensor_from_numpy',
  'torch._utils:_rebuild_device_tensor_from_cpu_tensor',
  'torch._tensor:_rebuild_from_type_v2',
];

/** Rebuild functions whose first four arguments are (storage, storage offset, size, stride). */
export const TORCH_VIEW_REBUILDS: ReadonlySet<string> = new Set(['torch._utils:_rebuild_tensor', 'torch._utils:_rebuild_tensor_v2', 'torch._utils:_rebuild_qtensor']);

export type GlobalRole = 'callable' | 'value';

function torchProfile(): Map<string, GlobalRole> {
  const m = new Map<string, GlobalRole>();
  const callable = (...names: string[]) => names.forEach((n) => m.set(n, 'callable'));
  const value = (...names: string[]) => names.forEach((n) => m.set(n, 'value'));
  callable('collections:OrderedDict', 'collections:Counter', 'torch.nn.parameter:Parameter', 'torch:Size', 'torch:device');
  callable('torch.serialization:_get_layout', '_codecs:encode', 'builtins:bytearray', 'builtins:set', 'builtins:complex');
  value('torch:Tensor');
  value(...TORCH_DTYPES.map((d) => `torch:${d}`));
  value(...TORCH_STORAGE_ELEMENT_SIZE.keys(), 'torch:TypedStorage', 'torch.storage:TypedStorage');
  value(...TENSOR_TYPES.flatMap((t) => [`torch:${t}Tensor`, `torch.cuda:${t}Tensor`]));
  value(...['per_tensor_affine', 'per_tensor_symmetric', 'per_channel_affine', 'per_channel_symmetric', 'per_channel_affine_float_qparams'].map((q) => `torch:${q}`));
  callable(...TORCH_REBUILD_FUNCTIONS);
  return m;
}

function genericProfile(): Map<string, GlobalRole> {
  const m = torchProfile();
  for (const core of ['numpy.core', 'numpy._core']) {
    m.set(`${core}.multiarray:_reconstruct`, 'callable');
    m.set(`${core}.multiarray:scalar`, 'callable');
    m.set(`${core}.numeric:_frombuffer`, 'callable');
  }
  m.set('numpy:ndarray', 'value');
  m.set('numpy:dtype', 'callable');
  // How protocols 0-3 write a frozenset (protocol 4 has an opcode for it); harmless.
  m.set('builtins:frozenset', 'callable');
  return m;
}

export type PickleProfile = 'torch' | 'generic';

export const PROFILES: Readonly<Record<PickleProfile, ReadonlyMap<string, GlobalRole>>> = { torch: torchProfile(), generic: genericProfile() };

/** Constructors whose results BUILD may set state on (OrderedDict metadata, tensor and NumPy state). */
export const BUILDABLE: ReadonlySet<string> = new Set([
  'collections:OrderedDict',
  'collections:Counter',
  'torch.nn.parameter:Parameter',
  ...TORCH_REBUILD_FUNCTIONS,
  'numpy.core.multiarray:_reconstruct',
  'numpy._core.multiarray:_reconstruct',
  'numpy:dtype',
]);

/** Constructors whose results SETITEM/SETITEMS may fill (besides a plain dict). */
export const DICT_LIKE: ReadonlySet<string> = new Set(['collections:OrderedDict', 'collections:Counter']);

// Modules whose every name is refused, whatever a policy says: process, interpreter, import
// machinery, nested unpicklers, file and network access, and callable-composition helpers.
const HARD_DENY_MODULES = new Set([
  'os', 'posix', 'nt', 'sys', 'subprocess', 'importlib', 'pickle', '_pickle', 'marshal', 'runpy', 'code', 'codeop',
  'pty', 'ctypes', 'types', 'operator', '_operator', 'functools', 'pkgutil', 'pydoc', 'shutil', 'socket',
  'webbrowser', 'io', '_io',
]);
/** The only builtins a policy may add (harmless constructors). */
const BUILTINS_ALLOWED = new Set(['bytearray', 'set', 'complex', 'frozenset']);

/**
 * Why `module:qualname` may never be allowed, or undefined when a policy may add it. The policy
 * loader refuses hard-denied `scanAllowGlobals` entries with this reason.
 */
export function hardDenyReason(entry: string): string | undefined {
  const colon = entry.indexOf(':');
  if (colon <= 0 || colon === entry.length - 1 || entry.indexOf(':', colon + 1) !== -1) return 'is not of the form module:qualname';
  const module = entry.slice(0, colon);
  const qualname = entry.slice(colon + 1);
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000]/u.test(entry)) return 'contains whitespace or NUL';
  const root = module.split('.')[0]!;
  if (HARD_DENY_MODULES.has(module) || HARD_DENY_MODULES.has(root)) return `names module ${root}, which can never be allowed`;
  if ((module === 'builtins' || module === '__builtin__') && !BUILTINS_ALLOWED.has(qualname)) return `builtins:${qualname} can never be allowed`;
  if (qualname.split('.').some((s) => s.length === 0 || /^__.*__$/u.test(s))) return 'has an empty or __dunder__ qualname segment';
  if (module.split('.').some((s) => s.length === 0)) return 'has an empty module segment';
  return undefined;
}

/** Every hard-denied module (for docs and the policy loader's messages). */
export const HARD_DENY_MODULE_LIST: readonly string[] = [...HARD_DENY_MODULES].sort();

/**
 * CPython's `_compat_pickle` mapping applied by `fix_imports` to GLOBAL/INST with protocol < 3:
 * the Python 2 names a protocol 0-2 pickle may carry. Only the entries that can reach an
 * allow-listed name or a hard-denied module matter; the rest are still refused (not allow-listed).
 */
const IMPORT_MAPPING: ReadonlyMap<string, string> = new Map([
  ['__builtin__', 'builtins'], ['copy_reg', 'copyreg'], ['cPickle', 'pickle'], ['commands', 'subprocess'],
  ['cStringIO', 'io'], ['StringIO', 'io'], ['exceptions', 'builtins'], ['UserDict', 'collections'],
  ['UserList', 'collections'], ['UserString', 'collections'], ['_winreg', 'winreg'], ['thread', '_thread'],
  ['urllib2', 'urllib.request'], ['httplib', 'http.client'], ['SocketServer', 'socketserver'],
]);
const NAME_MAPPING: ReadonlyMap<string, string> = new Map([
  ['__builtin__:xrange', 'builtins:range'], ['__builtin__:reduce', 'functools:reduce'], ['__builtin__:intern', 'sys:intern'],
  ['__builtin__:unichr', 'builtins:chr'], ['__builtin__:unicode', 'builtins:str'], ['__builtin__:long', 'builtins:int'],
  ['itertools:izip', 'builtins:zip'], ['itertools:imap', 'builtins:map'], ['itertools:ifilter', 'builtins:filter'],
  ['UserDict:IterableUserDict', 'collections:UserDict'], ['UserList:UserList', 'collections:UserList'],
  ['string:maketrans', 'bytes:maketrans'], ['__builtin__:basestring', 'builtins:str'],
]);

/** (module, name) as CPython resolves it with fix_imports for protocol < 3. */
export function fixImports(module: string, name: string): [string, string] {
  const pair = NAME_MAPPING.get(`${module}:${name}`);
  if (pair !== undefined) {
    const c = pair.indexOf(':');
    return [pair.slice(0, c), pair.slice(c + 1)];
  }
  return [IMPORT_MAPPING.get(module) ?? module, name];
}
