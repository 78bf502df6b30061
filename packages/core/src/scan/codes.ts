/**
 * The scanner's code catalogue, as data: one row per code with its severity, what it does to a
 * file's verdict, and whether a trust-policy rule may waive it (`scanWaive`). Error-severity codes
 * are verification failures (exit 1); note codes never appear in `errors[]`. docs/scan.md and
 * docs/errors.md are tested against this table.
 */

export type Verdict = 'clean' | 'unsafe' | 'malformed' | 'unknown';
/** What a finding does to its file's verdict. */
export type VerdictEffect = 'unsafe' | 'malformed' | 'unknown' | 'none';
export type Severity = 'error' | 'note';

export interface ScanCodeInfo<S extends Severity = Severity> {
  readonly severity: S;
  readonly effect: VerdictEffect;
  /** A policy rule may waive it (`scanWaive`); all others are refused there. */
  readonly waivable: boolean;
  readonly meaning: string;
}

const E = 'error' as const;
const N = 'note' as const;
// Generic in the severity, so that the error codes can be derived as a type (ScanErrorCode).
const row = <S extends Severity>(severity: S, effect: VerdictEffect, meaning: string, waivable = false): ScanCodeInfo<S> => ({ severity, effect, waivable, meaning });

export const SCAN_CODES = {
  // Detection and framework
  FORMAT_UNKNOWN: row(N, 'unknown', 'not a model format ms-sign knows'),
  FORMAT_EMPTY: row(N, 'unknown', 'the file is empty'),
  FORMAT_ARCHIVE: row(N, 'unknown', 'a 7z, gzip, xz, zstd or rar container ms-sign does not open'),
  FORMAT_EXTENSION_MISMATCH: row(N, 'none', 'the content is another format than the extension says; the content decides'),
  SCAN_ENCRYPTED: row(N, 'unknown', 'a MindSpore-encrypted model: its structure cannot be checked', true),
  SCAN_POLYGLOT: row(E, 'unsafe', 'valid as two formats that different loaders would read differently'),
  SCAN_LIMIT_EXCEEDED: row(E, 'malformed', 'a documented scanner limit was hit'),
  SCAN_TRUNCATED: row(E, 'malformed', 'the file ends inside a structure'),
  SCAN_FINDINGS_TRUNCATED: row(N, 'none', 'more than 100 errors in one file; the rest are not listed'),
  CODE_FILE: row(E, 'unsafe', 'an executable, library or script inside the model'),
  // MindSpore Lite .ms (FlatBuffers)
  MS_IDENTIFIER: row(E, 'malformed', 'bytes 4..7 are neither MSL2 nor the legacy layout'),
  MS_LEGACY_SCHEMA: row(N, 'none', 'a v0 (pre-MSL2) file; current MindSpore Lite refuses it'),
  MS_TOO_LARGE: row(E, 'malformed', 'a .ms file of 2 GiB or more'),
  MS_FB_OUT_OF_BOUNDS: row(E, 'malformed', 'a FlatBuffers offset or length points outside the file'),
  MS_FB_MISALIGNED: row(E, 'malformed', 'a FlatBuffers scalar, offset or vector is misaligned'),
  MS_FB_BAD_VTABLE: row(E, 'malformed', 'a FlatBuffers vtable is invalid'),
  MS_FB_BAD_STRING: row(E, 'malformed', 'a FlatBuffers string is unterminated or out of bounds'),
  MS_FB_BAD_OFFSET: row(E, 'malformed', 'a FlatBuffers offset is invalid (zero, negative or too deep)'),
  MS_FB_AMPLIFICATION: row(E, 'unsafe', 'tables shared so often that Lite\'s verifier would visit more than 10^6 tables'),
  MS_FB_SHARED_TABLE: row(N, 'none', 'a table is referenced more than once'),
  MS_GRAPH_MISSING: row(E, 'malformed', 'the graph has no nodes, tensors or subgraph Lite needs'),
  MS_INDEX_OUT_OF_RANGE: row(E, 'malformed', 'a tensor, node or subgraph index is out of range'),
  MS_DUPLICATE_INDEX: row(E, 'malformed', 'an index is repeated where Lite requires distinct ones'),
  MS_GRAPH_INVALID: row(E, 'malformed', 'the graph breaks one of Lite\'s semantic checks'),
  MS_TENSOR_DATA_SIZE: row(E, 'malformed', 'a tensor\'s data length does not match its shape and type'),
  MS_EXTERNAL_DATA_PATH: row(E, 'unsafe', 'external weights are read from outside the model directory'),
  MS_EXTERNAL_DATA_UNSIGNED: row(E, 'unsafe', 'external weights are read from a file that is not part of the model'),
  MS_EXTERNAL_DATA_RANGE: row(E, 'malformed', 'an external-data offset, length or count is invalid'),
  MS_UNKNOWN_PRIMITIVE: row(N, 'none', 'an operator type this scanner does not know'),
  MS_CUSTOM_OP: row(N, 'none', 'a custom operator: its code lives outside the model'),
  MS_COMPRESSED_WEIGHTS: row(N, 'none', 'compressed or quantised weights'),
  MS_OBFUSCATED: row(N, 'none', 'an obfuscated model'),
  MS_VERSION_NEWER: row(N, 'none', 'written by a newer MindSpore Lite than this scanner knows'),
  // MindIR and checkpoints (protobuf)
  MINDIR_INVALID: row(E, 'malformed', 'not a valid MindIR model'),
  MINDIR_TENSOR_DATA_SIZE: row(E, 'malformed', 'a MindIR tensor\'s data length does not match its shape and type'),
  MINDIR_EXTERNAL_DATA_RANGE: row(E, 'malformed', 'a MindIR external-data offset or length is invalid'),
  MINDIR_EXTERNAL_DATA_PATH: row(E, 'unsafe', 'MindIR external data is read from outside the model directory'),
  MINDIR_EXTERNAL_DATA_UNSIGNED: row(E, 'unsafe', 'MindIR external data is read from a file that is not part of the model'),
  MINDIR_PYTHON_OP: row(E, 'unsafe', 'a MindIR node runs Python code'),
  CKPT_INVALID: row(E, 'malformed', 'not a valid MindSpore checkpoint'),
  CKPT_TENSOR_TYPE: row(E, 'malformed', 'a checkpoint tensor has an unknown type'),
  CKPT_TENSOR_SIZE: row(E, 'malformed', 'a checkpoint tensor\'s data length does not match its shape and type'),
  CKPT_CRC_MISMATCH: row(E, 'malformed', 'the checkpoint\'s CRC trailer does not match'),
  CKPT_CRC_ABSENT: row(N, 'none', 'the checkpoint has no CRC trailer'),
  PROTOBUF_WIRE_TYPE: row(N, 'none', 'a known protobuf field with another wire type'),
  // Pickle
  PICKLE_UNSAFE_IMPORT: row(E, 'unsafe', 'the pickle imports a global that is not on the allow-list'),
  PICKLE_NONLITERAL_GLOBAL: row(E, 'unsafe', 'STACK_GLOBAL takes a module or name that is not a literal string'),
  PICKLE_UNSAFE_CALL: row(E, 'unsafe', 'the pickle calls something that is not an allowed constructor'),
  PICKLE_UNSAFE_BUILD: row(E, 'unsafe', 'BUILD on an object whose state setting can run code'),
  PICKLE_UNSAFE_MUTATION: row(E, 'unsafe', 'the pickle mutates an object it may not (append, setitem on a non-container)'),
  PICKLE_PERSISTENT_ID: row(E, 'unsafe', 'a persistent id outside the loader\'s storage protocol'),
  PICKLE_EXTENSION_REGISTRY: row(E, 'unsafe', 'EXT1/EXT2/EXT4: imports through the copyreg extension registry'),
  PICKLE_OUT_OF_BAND_BUFFER: row(E, 'unsafe', 'NEXT_BUFFER/READONLY_BUFFER: out-of-band data'),
  PICKLE_MALFORMED: row(E, 'malformed', 'the pickle is broken (bad opcode, stack underflow, unterminated)'),
  PICKLE_FRAME_VIOLATION: row(E, 'malformed', 'an opcode crosses a FRAME boundary'),
  PICKLE_TRAILING_DATA: row(N, 'none', 'bytes after the last STOP'),
  PICKLE_PROTOCOL_MIX: row(N, 'none', 'opcodes of a newer protocol than the PROTO header'),
  // PyTorch
  TORCH_ZIP_NO_DATA_PKL: row(E, 'malformed', 'a PyTorch zip without data.pkl'),
  TORCH_STORAGE_MISSING: row(E, 'malformed', 'a tensor storage the pickle names is missing'),
  TORCH_LEGACY_LAYOUT: row(E, 'malformed', 'a legacy PyTorch file with an unexpected layout'),
  TORCH_ZIP_AMBIGUOUS_RECORD: row(E, 'unsafe', 'two records PyTorch and zipfile would resolve differently'),
  TORCH_STORAGE_SIZE: row(E, 'unsafe', 'a storage is smaller than its tensors need'),
  TORCH_TENSOR_VIEW_OOB: row(E, 'unsafe', 'a tensor view reaches outside its storage'),
  TORCH_LEGACY_MAGIC: row(E, 'unsafe', 'a legacy PyTorch file whose magic or protocol pickles are not as torch writes them'),
  TORCH_LEGACY_TAR: row(E, 'unsafe', 'a legacy tar-format PyTorch file (loading it runs pickles)'),
  TORCHSCRIPT_CODE: row(E, 'unsafe', 'TorchScript code that runs on load'),
  TORCH_NOT_WEIGHTS_ONLY: row(N, 'none', 'needs torch.load(weights_only=False)'),
  TORCH_STORAGE_LOCATION: row(N, 'none', 'an unusual storage location'),
  // Zip
  ZIP_MALFORMED: row(E, 'malformed', 'the zip structure is broken'),
  ZIP_NAME_MISMATCH: row(E, 'malformed', 'local header and central directory disagree on a name'),
  ZIP_FLAGS: row(E, 'malformed', 'encrypted or otherwise unsupported zip flags'),
  ZIP_CRC_MISMATCH: row(E, 'malformed', 'a member\'s CRC-32 does not match'),
  ZIP_METHOD: row(E, 'malformed', 'a compression method other than stored or deflate'),
  ZIP_DUPLICATE_NAME: row(E, 'unsafe', 'two members with the same name'),
  ZIP_OVERLAP: row(E, 'unsafe', 'members overlap'),
  ZIP_PATH: row(E, 'unsafe', 'a member path that leaves the archive (absolute or ..)'),
  ZIP_BOMB: row(E, 'unsafe', 'a member inflates beyond the documented ratio or size'),
  ZIP_PREFIX_DATA: row(E, 'unsafe', 'bytes before the first member (a polyglot prefix)'),
  ZIP_TRAILING_DATA: row(N, 'none', 'bytes after the end of central directory'),
  // NumPy
  NPY_HEADER_INVALID: row(E, 'malformed', 'the .npy header is invalid'),
  NPY_DATA_SIZE: row(E, 'malformed', 'the .npy data length does not match its shape and type'),
  NPY_OBJECT_DTYPE: row(E, 'unsafe', 'an object array: loading needs allow_pickle=True', true),
  NPY_HEADER_LARGE: row(N, 'none', 'a .npy header over 10,000 bytes'),
  NPZ_NON_NPY_MEMBER: row(N, 'none', 'a .npz member that is not a .npy array'),
  // safetensors
  SAFETENSORS_HEADER_SIZE: row(E, 'malformed', 'the header length is out of bounds'),
  SAFETENSORS_HEADER_JSON: row(E, 'malformed', 'the header is not strict JSON'),
  SAFETENSORS_METADATA: row(E, 'malformed', '__metadata__ is not a map of strings'),
  SAFETENSORS_DTYPE: row(E, 'malformed', 'an unknown dtype'),
  SAFETENSORS_OFFSETS: row(E, 'malformed', 'invalid data offsets'),
  SAFETENSORS_HOLE: row(E, 'malformed', 'bytes between tensors that no tensor covers'),
  SAFETENSORS_SIZE_MISMATCH: row(E, 'unsafe', 'a tensor\'s byte range does not match its shape and dtype'),
  SAFETENSORS_OVERLAP: row(E, 'unsafe', 'two tensors share bytes'),
  SAFETENSORS_INDEX_PATH: row(E, 'unsafe', 'an index names a shard outside the model'),
  // GGUF
  GGUF_VERSION: row(E, 'malformed', 'an unsupported GGUF version or a legacy GGML magic'),
  GGUF_STRING: row(E, 'malformed', 'an invalid GGUF string'),
  GGUF_ARRAY: row(E, 'malformed', 'an invalid GGUF array'),
  GGUF_TYPE: row(E, 'malformed', 'an unknown GGUF value type'),
  GGUF_DUPLICATE_KEY: row(E, 'malformed', 'a metadata key appears twice'),
  GGUF_ALIGNMENT: row(E, 'malformed', 'an invalid alignment'),
  GGUF_DIMS: row(E, 'malformed', 'invalid tensor dimensions'),
  GGUF_TENSOR_RANGE: row(E, 'malformed', 'tensor data outside the file or overlapping'),
  GGUF_COUNT: row(E, 'unsafe', 'an absurd tensor or metadata count (a loader allocation bomb)'),
  GGUF_TEMPLATE_INJECTION: row(E, 'unsafe', 'a chat template that reaches Python objects'),
  GGUF_TENSOR_TYPE: row(N, 'unknown', 'a tensor type this scanner does not know'),
  GGUF_BIG_ENDIAN: row(N, 'unknown', 'a big-endian GGUF file'),
  GGUF_CHAT_TEMPLATE: row(N, 'none', 'the model carries a chat template (code for the template engine)'),
  // ONNX
  ONNX_INVALID: row(E, 'malformed', 'not a valid ONNX model'),
  ONNX_EXTERNAL_DATA_RANGE: row(E, 'malformed', 'an external-data offset or length is invalid'),
  ONNX_TENSOR_SIZE: row(E, 'malformed', 'a tensor\'s data length does not match its shape and type'),
  ONNX_EXTERNAL_DATA_PATH: row(E, 'unsafe', 'external data is read from outside the model directory'),
  ONNX_EXTERNAL_DATA_UNSIGNED: row(E, 'unsafe', 'external data is read from a file that is not part of the model'),
  ONNX_CUSTOM_DOMAIN: row(N, 'none', 'an operator from a custom domain'),
  // Keras
  KERAS_LAMBDA: row(E, 'unsafe', 'a Lambda layer: its code runs on load'),
  KERAS_UNSAFE_MODULE: row(E, 'unsafe', 'a layer or object from a module outside Keras'),
  KERAS_FUNCTION_REF: row(E, 'unsafe', 'a reference to a Python function'),
  KERAS_CONFIG_INVALID: row(E, 'malformed', 'the Keras config is invalid'),
  KERAS_CUSTOM_OBJECT: row(N, 'none', 'a registered custom object (an error under "clean" unless waived)', true),
  HDF5_CONFIG_NOT_FOUND: row(N, 'unknown', 'an HDF5 file without a Keras config ms-sign can read'),
} as const satisfies Record<string, ScanCodeInfo>;

export type ScanCode = keyof typeof SCAN_CODES;

/** Aggregate codes verify and sign report when a scan policy is not met (exit 1). */
export const SCAN_POLICY_CODES = ['SCAN_UNSAFE', 'SCAN_MALFORMED', 'SCAN_UNKNOWN_FORMAT'] as const;
export type ScanPolicyCode = (typeof SCAN_POLICY_CODES)[number];

/** Codes of error severity: each is also an ErrorCode (errors.ts), a verification failure (exit 1). */
export type ScanErrorCode = { [K in ScanCode]: (typeof SCAN_CODES)[K]['severity'] extends 'error' ? K : never }[ScanCode];
export type ScanNoteCode = Exclude<ScanCode, ScanErrorCode>;

export const SCAN_ERROR_CODES = (Object.keys(SCAN_CODES) as ScanCode[]).filter((c): c is ScanErrorCode => SCAN_CODES[c].severity === 'error');
export const SCAN_NOTE_CODES = (Object.keys(SCAN_CODES) as ScanCode[]).filter((c): c is ScanNoteCode => SCAN_CODES[c].severity === 'note');

/** The file-verdict order: a file's verdict is the worst effect among its findings. */
export const VERDICT_RANK: Readonly<Record<Verdict, number>> = { clean: 0, unknown: 1, malformed: 2, unsafe: 3 };
