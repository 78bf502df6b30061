// Verify's scan inside the hashing threads (see PlanScan in job.ts). Loaded by a worker only when
// its job asks for a scan, so that a plain hash job starts without the scanner's modules.
import { scanFile, type ScanFileOptions } from '../../scan/scan.js';
import { BufferSource } from '../../scan/source.js';
import { isPlainUnknown } from '../../scan/detect.js';
import type { JobPlan } from './job.js';
import { PLAIN_UNKNOWN, type InspectBytes } from './task.js';

/** Scans file `file` on the bytes just hashed, if the job asks for it and they are the signed ones. */
export type ScanInspector = InspectBytes;

export function scanInspector(plan: JobPlan): ScanInspector | undefined {
  const scan = plan.scan;
  if (scan === undefined) return undefined;
  const paths = scan.paths.split('\0');
  // The model's file list is only read by scanners that resolve references (an ONNX model's
  // external data, a shard index): built on first use, not for every thread of every job.
  let modelFiles: ReadonlySet<string> | undefined;
  let modelFileSizes: ReadonlyMap<string, number> | undefined;
  const options: ScanFileOptions = {
    get modelFiles() {
      return (modelFiles ??= new Set(paths));
    },
    get modelFileSizes() {
      return (modelFileSizes ??= new Map(paths.map((path, f) => [path, plan.sizes[f]!])));
    },
    allowGlobals: new Set(scan.allowGlobals),
    waive: new Set(scan.waive),
  };
  const length = scan.digests.length / scan.scanned.length;
  return (file, bytes, digest) => {
    if (scan.scanned[file] !== 1) return undefined;
    // Only verified bytes are judged: a file whose digest differs fails verification unscanned.
    // (Compared in place: a subarray per file cost more than the comparison.)
    if (digest.length !== length) return undefined;
    for (let i = 0, at = file * length; i < length; i++) if (digest[i] !== scan.digests[at + i]) return undefined;
    // Bytes of no known format (most files of a large directory): a few byte compares decide,
    // and the result travels as PLAIN_UNKNOWN, rebuilt on the main thread from the path and size.
    if (isPlainUnknown(bytes, paths[file]!)) return PLAIN_UNKNOWN;
    // The bytes are a view of the thread's reused read buffer: the result keeps none of them
    // (findings and formatInfo hold strings and numbers only).
    return scanFile(new BufferSource(bytes), paths[file]!, options);
  };
}
