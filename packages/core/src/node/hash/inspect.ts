// Verify's scan inside the hashing threads (see PlanScan in job.ts). Loaded by a worker only when
// its job asks for a scan, so that a plain hash job starts without the scanner's modules.
import { bytesEqual } from '../../bytes.js';
import { scanFile, type ScanFileOptions } from '../../scan/scan.js';
import { BufferSource } from '../../scan/source.js';
import type { FileScanResult } from '../../scan/types.js';
import type { JobPlan } from './job.js';

/** Scans file `file` on the bytes just hashed, if the job asks for it and they are the signed ones. */
export type ScanInspector = (file: number, bytes: Uint8Array, digest: Uint8Array) => FileScanResult | undefined;

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
    if (!bytesEqual(digest, scan.digests.subarray(file * length, (file + 1) * length))) return undefined;
    // The bytes are a view of the thread's reused read buffer: the result keeps none of them
    // (findings and formatInfo hold strings and numbers only).
    return scanFile(new BufferSource(bytes), paths[file]!, options);
  };
}
