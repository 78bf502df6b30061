/**
 * Keras: the v3 `.keras` zip (config.json, metadata.json, model.weights.h5) and legacy `.h5`
 * files. Loading deserialises the config: a Lambda layer runs stored bytecode, a `module` outside
 * Keras is imported, and a `function` object calls a Python function by name (CVE-2024-3660,
 * CVE-2025-1550, CVE-2025-9906). The whole config is walked, at every depth (Lambda layers hide
 * inside nested models and wrappers), without recursion.
 */
import { RefinedFormat, type ByteSource, type FindingInput, type FormatInfo, type FormatScanner, type ScanContext } from './types.js';
import { JsonError, parseStrictJson, type JsonValue } from '../format/json.js';
import { findCaseInsensitive, memberSource, type ZipArchive } from './zip.js';

export const KERAS_LIMITS = {
  /** config.json, and a config found inside an .h5 file. */
  configBytes: 64 * 1024 * 1024,
  depth: 256,
} as const;

/** Root packages whose modules Keras may import while loading. */
const KERAS_PACKAGES = new Set(['keras', 'keras_hub', 'keras_nlp', 'tf_keras', 'tensorflow']);
const LAMBDA_CLASSES = new Set(['Lambda', '__lambda__', 'TFOpLambda']);

/** Functions a config may name by reference: Keras's own activations, losses, metrics and initialisers. */
const FUNCTION_MODULES = new Set([
  'keras.activations', 'keras.src.activations', 'keras.src.activations.activations',
  'keras.losses', 'keras.src.losses', 'keras.src.losses.losses',
  'keras.metrics', 'keras.src.metrics',
  'keras.initializers', 'keras.src.initializers',
  'keras.ops', 'keras.src.ops',
]);
const FUNCTION_NAMES = new Set([
  'relu', 'relu6', 'leaky_relu', 'elu', 'selu', 'gelu', 'silu', 'swish', 'mish', 'sigmoid', 'hard_sigmoid', 'hard_silu', 'hard_swish',
  'softmax', 'log_softmax', 'softplus', 'softsign', 'tanh', 'linear', 'exponential', 'celu', 'glu', 'sparse_plus', 'squareplus',
  'mean_squared_error', 'mean_absolute_error', 'mean_absolute_percentage_error', 'mean_squared_logarithmic_error', 'binary_crossentropy',
  'categorical_crossentropy', 'sparse_categorical_crossentropy', 'hinge', 'squared_hinge', 'categorical_hinge', 'huber', 'log_cosh',
  'kl_divergence', 'poisson', 'cosine_similarity', 'binary_focal_crossentropy', 'categorical_focal_crossentropy', 'accuracy',
  'binary_accuracy', 'categorical_accuracy', 'sparse_categorical_accuracy', 'top_k_categorical_accuracy', 'mse', 'mae', 'mape', 'msle',
]);

const shown = (s: string) => (s.length > 120 ? `${s.slice(0, 120)}...` : s);

/** Walks a Keras config (any JSON) and reports what runs code on load. */
export function checkKerasConfig(config: JsonValue, report: (f: FindingInput) => void, member: string | undefined): { objects: number } {
  const where = member === undefined ? {} : { member };
  const seen = new Set<string>();
  const once = (f: FindingInput, key: string) => {
    if (seen.has(key) || seen.size > 200) return;
    seen.add(key);
    report(f);
  };
  let objects = 0;
  const stack: { value: JsonValue; path: string }[] = [{ value: config, path: '' }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (Array.isArray(value)) {
      value.forEach((v, i) => stack.push({ value: v, path: `${path}[${i}]` }));
      continue;
    }
    if (!(value instanceof Map)) continue;
    objects++;
    const at = path === '' ? 'the top level' : shown(path);
    const className = value.get('class_name');
    const module = value.get('module');
    if ((typeof className === 'string' && LAMBDA_CLASSES.has(className)) || value.get('function_type') === 'lambda') {
      once({ code: 'KERAS_LAMBDA', message: `a ${typeof className === 'string' ? shown(className) : 'lambda'} object at ${at}: its code runs when the model loads`, ...where, detail: { path: shown(path) } }, `L${path}`);
    }
    if (typeof module === 'string' && !KERAS_PACKAGES.has(module.split('.')[0]!)) {
      once({ code: 'KERAS_UNSAFE_MODULE', message: `module ${JSON.stringify(shown(module))} at ${at} is not part of Keras: loading imports it`, ...where, detail: { module: shown(module), path: shown(path) } }, `M${module}`);
    }
    if (className === 'function') {
      const name = value.get('config');
      const ok = typeof module === 'string' && FUNCTION_MODULES.has(module) && typeof name === 'string' && FUNCTION_NAMES.has(name);
      if (!ok) {
        const ref = `${typeof module === 'string' ? module : '?'}.${typeof name === 'string' ? name : '?'}`;
        once({ code: 'KERAS_FUNCTION_REF', message: `a reference to function ${JSON.stringify(shown(ref))} at ${at}, which loading calls`, ...where, detail: { function: shown(ref), path: shown(path) } }, `F${ref}`);
      }
    }
    const registered = value.get('registered_name');
    if (typeof registered === 'string' && registered.includes('>') && !KERAS_PACKAGES.has(registered.split('>')[0]!.split('.')[0]!)) {
      once({ code: 'KERAS_CUSTOM_OBJECT', message: `custom object ${JSON.stringify(shown(registered))} at ${at}: loading needs its Python class`, ...where, detail: { name: shown(registered) } }, `C${registered}`);
    }
    for (const [k, v] of value) stack.push({ value: v, path: `${path}.${k}` });
  }
  return { objects };
}

function parseConfig(bytes: Uint8Array, report: (f: FindingInput) => void, member: string | undefined, offset = 0): JsonValue | undefined {
  try {
    return parseStrictJson(bytes, { depth: KERAS_LIMITS.depth });
  } catch (error) {
    if (!(error instanceof JsonError)) throw error;
    report({ code: error.limit ? 'SCAN_LIMIT_EXCEEDED' : 'KERAS_CONFIG_INVALID', message: `the Keras config is not valid JSON: ${error.message}`, offset: offset + error.offset, ...(member === undefined ? {} : { member }) });
    return undefined;
  }
}

/** True when the archive has the root members of a Keras v3 file. */
export function isKerasArchive(archive: ZipArchive): boolean {
  const names = new Set(archive.entries.map((e) => e.rawName));
  return names.has('config.json') && names.has('metadata.json');
}

/** Scans a `.keras` archive's config.json (Keras reads the archive with zipfile: exact names). */
export function scanKerasArchive(source: ByteSource, archive: ZipArchive, ctx: ScanContext): FormatInfo {
  const report = (f: FindingInput) => ctx.report(f);
  const configs = archive.entries.filter((e) => e.rawName === 'config.json');
  const others = findCaseInsensitive(archive, 'config.json').filter((e) => e.rawName !== 'config.json');
  if (others.length > 0) report({ code: 'ZIP_DUPLICATE_NAME', message: 'config.json appears under another letter case', member: others[0]!.name });
  let objects = 0;
  for (const entry of configs) {
    const member = memberSource(source, entry, report, KERAS_LIMITS.configBytes);
    if (member === undefined) continue;
    const config = parseConfig(member.read(0, member.size), report, entry.name);
    if (config !== undefined) objects += checkKerasConfig(config, report, entry.name).objects;
  }
  return { objects };
}

// ---------------------------------------------------------------------------------------------
// Legacy .h5: no HDF5 library; h5py stores the `model_config` attribute as one contiguous JSON
// string, so it is found by a byte search and a bounded, string-aware brace match.

const enc = new TextEncoder();
const NEEDLE = enc.encode('model_config');
const STARTS = [enc.encode('{"class_name"'), enc.encode('{"module"')];
const SEARCH_CHUNK = 1024 * 1024;

function indexOfBytes(source: ByteSource, needle: Uint8Array, from: number, to: number): number {
  for (let pos = from; pos < to; pos += SEARCH_CHUNK) {
    const len = Math.min(SEARCH_CHUNK + needle.length - 1, to - pos);
    if (len < needle.length) break;
    const chunk = source.read(pos, len);
    outer: for (let i = chunk.indexOf(needle[0]!); i !== -1 && i + needle.length <= chunk.length; i = chunk.indexOf(needle[0]!, i + 1)) {
      for (let k = 1; k < needle.length; k++) if (chunk[i + k] !== needle[k]) continue outer;
      return pos + i;
    }
  }
  return -1;
}

/** End (exclusive) of the JSON object starting at `start`, matching braces outside strings; -1 if none within the limit. */
function jsonObjectEnd(source: ByteSource, start: number): number {
  const limit = Math.min(source.size, start + KERAS_LIMITS.configBytes);
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (let pos = start; pos < limit; pos += SEARCH_CHUNK) {
    const chunk = source.read(pos, Math.min(SEARCH_CHUNK, limit - pos));
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (inString) {
        if (escaped) escaped = false;
        else if (c === 0x5c) escaped = true;
        else if (c === 0x22) inString = false;
      } else if (c === 0x22) inString = true;
      else if (c === 0x7b) depth++;
      else if (c === 0x7d && --depth === 0) return pos + i + 1;
      else if (c === 0) return -1;
    }
  }
  return -1;
}

export const kerasH5Scanner: FormatScanner = {
  format: 'hdf5',
  scan(source, ctx) {
    const report = (f: FindingInput) => ctx.report(f);
    const attr = indexOfBytes(source, NEEDLE, 0, source.size);
    let start = -1;
    if (attr !== -1) {
      const candidates = STARTS.map((s) => indexOfBytes(source, s, attr, Math.min(source.size, attr + 64 * 1024 * 1024))).filter((p) => p !== -1);
      start = candidates.length === 0 ? -1 : Math.min(...candidates);
    }
    const end = start === -1 ? -1 : jsonObjectEnd(source, start);
    if (end === -1) {
      report({ code: 'HDF5_CONFIG_NOT_FOUND', message: 'an HDF5 file without a Keras model_config ms-sign can read: its content is not checked' });
      return undefined;
    }
    const config = parseConfig(source.read(start, end - start), report, undefined, start);
    if (config === undefined) return new RefinedFormat('keras-h5');
    return new RefinedFormat('keras-h5', { objects: checkKerasConfig(config, report, undefined).objects });
  },
};
