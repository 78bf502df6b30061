/**
 * Format id -> scanner. A format detection returns but no scanner handles gets verdict `unknown`
 * (FORMAT_UNKNOWN: "not validated"). To add a format: export a FormatScanner from its module and
 * add it to SCANNERS (one line each; the ids are detection's, see detect.ts FORMAT_IDS).
 */
import { executableScanner } from './executable.js';
import { chatTemplateScanner, ggufScanner } from './gguf.js';
import { kerasH5Scanner } from './keras.js';
import { ckptScanner } from './mindir/ckpt.js';
import { mindirScanner } from './mindir/mindir.js';
import { msScanner } from './ms/scanner.js';
import { npyScanner } from './numpy.js';
import { onnxScanner } from './onnx.js';
import { pickleScanner, tarScanner } from './pickle/torch.js';
import { safetensorsIndexScanner, safetensorsScanner } from './safetensors.js';
import { zipScanner } from './zip-family.js';
import type { FormatScanner } from './types.js';

export const SCANNERS: readonly FormatScanner[] = [
  msScanner,
  mindirScanner,
  ckptScanner,
  executableScanner,
  pickleScanner,
  zipScanner,
  tarScanner,
  npyScanner,
  safetensorsScanner,
  ggufScanner,
  kerasH5Scanner,
  onnxScanner,
  safetensorsIndexScanner,
  chatTemplateScanner,
];

const BY_FORMAT = new Map<string, FormatScanner>();
for (const scanner of SCANNERS) {
  if (BY_FORMAT.has(scanner.format)) throw new Error(`two scanners for format ${scanner.format}`);
  BY_FORMAT.set(scanner.format, scanner);
}

/** The scanner for a format id, if one is registered. */
export function scannerFor(format: string): FormatScanner | undefined {
  return BY_FORMAT.get(format);
}
