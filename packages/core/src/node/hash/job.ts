// Type-only import: workers load this module and must not pull in the format code.
import type { HashAlgorithm } from '../../format/manifest.js';
import type { ScanCode } from '../../scan/codes.js';
import type { FileScanResult } from '../../scan/types.js';
import { BATCH_BYTES, BATCH_FILES } from './tuning.js';
import { PLAIN_UNKNOWN, UNOBSERVED_IDENTITY, type CopySink, type FailureReason, type FileIdentity, type HashFile, type HashScan, type HashTaskResult, type MemorySink } from './task.js';

/**
 * The plan of a hash job, shared by the main thread and the workers: files cut into shard tasks
 * (file-major numbering), and tasks grouped into units, the grains that threads claim from one
 * atomic counter. Everything here is typed arrays and one string, so that handing a job of
 * 20,000 files to a worker copies a few flat buffers instead of 20,000 objects.
 */
export interface JobPlan {
  readonly algorithm: HashAlgorithm;
  readonly shardSize: number;
  /** Sizes come from a verified manifest: see HashJob.sizesSigned. */
  readonly sizesSigned: boolean;
  /** File paths joined by NUL (no POSIX path contains one). */
  readonly paths: string;
  readonly sizes: Float64Array;
  /** Copy sinks by file index (verified copies: few). */
  readonly copySinks: readonly (readonly [number, CopySink])[];
  /**
   * Memory sinks (verify-before-load, the scan's capture of small files: up to one per file), as
   * flat arrays: handing a worker 20,000 sink objects that each reference a SharedArrayBuffer costs
   * a structured clone per reference; here each distinct buffer travels once.
   */
  readonly memorySinks: { readonly buffers: readonly SharedArrayBuffer[]; readonly files: Int32Array; readonly buffer: Int32Array; readonly offsets: Float64Array };
  /** firstTask[f] is file f's first task; firstTask[files] is the task count. */
  readonly firstTask: Int32Array;
  readonly taskFile: Int32Array;
  /** Tasks in the order they are claimed: big shards first (longest job first), then small files. */
  readonly order: Int32Array;
  /** Unit u is order[unitStart[u] .. unitStart[u + 1]). */
  readonly unitStart: Int32Array;
  /** The scan of small files on the bytes of their hashing read (verify), if asked for and any qualifies. */
  readonly scan?: PlanScan;
}

/**
 * Verify's scan, run by the hashing threads on the bytes of a small file's single read (the
 * fast path of hashRange): no second read, no transfer of file bytes between threads, and the
 * scan spread over every thread. A file is scanned only once its digest equals the signed one,
 * so the scan judges verified bytes, exactly as the scan stage after the comparison would.
 */
export interface HashJobScan {
  /** Model-relative path of each file of the job: what the scan reports, and the model's file list. */
  readonly paths: readonly string[];
  /** The signed digest of each file to scan this way (small, one shard); undefined: not scanned here. */
  readonly digests: readonly (Uint8Array | undefined)[];
  readonly allowGlobals: ReadonlySet<string>;
  readonly waive: ReadonlySet<ScanCode>;
}

/** HashJobScan as flat data for the workers. */
export interface PlanScan {
  /** Model-relative paths joined by NUL. */
  readonly paths: string;
  /** 1 for a file scanned on its hashing read. */
  readonly scanned: Uint8Array;
  /** The signed digest of file f at f * digest length (zeros where not scanned). */
  readonly digests: Uint8Array;
  readonly allowGlobals: readonly string[];
  readonly waive: readonly ScanCode[];
}

function planScan(scan: HashJobScan, files: number): PlanScan | undefined {
  const first = scan.digests.find((d) => d !== undefined);
  if (first === undefined) return undefined;
  const scanned = new Uint8Array(files);
  const digests = new Uint8Array(files * first.length);
  scan.digests.forEach((digest, f) => {
    if (digest === undefined) return;
    scanned[f] = 1;
    digests.set(digest, f * first.length);
  });
  return { paths: scan.paths.join('\0'), scanned, digests, allowGlobals: [...scan.allowGlobals], waive: [...scan.waive] };
}

export function planJob(files: readonly HashFile[], algorithm: HashAlgorithm, shardSize: number, sizesSigned = false, scan?: HashJobScan): JobPlan {
  const sizes = new Float64Array(files.length);
  const firstTask = new Int32Array(files.length + 1);
  const paths: string[] = new Array(files.length);
  const copySinks: (readonly [number, CopySink])[] = [];
  const buffers = new Map<SharedArrayBuffer, number>();
  const memory: { file: number; buffer: number; offset: number }[] = [];
  let tasks = 0;
  for (let f = 0; f < files.length; f++) {
    const file = files[f]!;
    sizes[f] = file.size;
    paths[f] = file.path;
    if (file.sink?.kind === 'copy') copySinks.push([f, file.sink]);
    else if (file.sink?.kind === 'memory') {
      let buffer = buffers.get(file.sink.buffer);
      if (buffer === undefined) buffers.set(file.sink.buffer, (buffer = buffers.size));
      memory.push({ file: f, buffer, offset: file.sink.offset });
    }
    firstTask[f] = tasks;
    tasks += file.size <= shardSize ? 1 : Math.ceil(file.size / shardSize);
  }
  firstTask[files.length] = tasks;
  const taskFile = new Int32Array(tasks);
  const plan = { algorithm, shardSize, sizes, firstTask, taskFile };
  // Big shards (units of their own) first, longest first, so that no thread is left with a long
  // one at the end; the stable sort keeps equal shards in file order. Small tasks follow in walk order.
  const big: number[] = [];
  for (let f = 0, t = 0; f < files.length; f++) {
    for (; t < firstTask[f + 1]!; t++) {
      taskFile[t] = f;
      if (taskLength(plan, t) >= BATCH_BYTES) big.push(t);
    }
  }
  big.sort((a, b) => taskLength(plan, b) - taskLength(plan, a));
  const order = new Int32Array(tasks);
  order.set(big);
  let next = big.length;
  for (let t = 0; t < tasks; t++) if (taskLength(plan, t) < BATCH_BYTES) order[next++] = t;
  const unitStart: number[] = [];
  for (let i = 0; i < big.length; i++) unitStart.push(i);
  let bytes = BATCH_BYTES;
  let count = BATCH_FILES;
  for (let i = big.length; i < tasks; i++) {
    if (bytes >= BATCH_BYTES || count >= BATCH_FILES) {
      unitStart.push(i);
      bytes = 0;
      count = 0;
    }
    bytes += taskLength(plan, order[i]!);
    count++;
  }
  unitStart.push(tasks);
  const memorySinks = {
    buffers: [...buffers.keys()],
    files: Int32Array.from(memory, (m) => m.file),
    buffer: Int32Array.from(memory, (m) => m.buffer),
    offsets: Float64Array.from(memory, (m) => m.offset),
  };
  const scanPlan = scan === undefined ? undefined : planScan(scan, files.length);
  return { ...plan, sizesSigned, paths: paths.join('\0'), copySinks, memorySinks, order, unitStart: Int32Array.from(unitStart), ...(scanPlan === undefined ? {} : { scan: scanPlan }) };
}

type TaskGeometry = Pick<JobPlan, 'shardSize' | 'sizes' | 'firstTask' | 'taskFile'>;

export function taskShard(plan: TaskGeometry, task: number): number {
  return task - plan.firstTask[plan.taskFile[task]!]!;
}

export function taskOffset(plan: TaskGeometry, task: number): number {
  return taskShard(plan, task) * plan.shardSize;
}

export function taskLength(plan: TaskGeometry, task: number): number {
  const size = plan.sizes[plan.taskFile[task]!]!;
  return Math.min(plan.shardSize, size - taskOffset(plan, task));
}

export function unitCount(plan: JobPlan): number {
  return plan.unitStart.length - 1;
}

/** A worker's view of the plan's files: one HashFile built per task it claims, not per file. */
export function planFiles(plan: JobPlan): (file: number) => HashFile {
  const paths = plan.sizes.length === 0 ? [] : plan.paths.split('\0');
  const copies = new Map(plan.copySinks);
  const { buffers, files, buffer, offsets } = plan.memorySinks;
  // Memory sink of each file, as an index into the memory arrays (-1: none).
  const memoryOf = new Int32Array(plan.sizes.length).fill(-1);
  for (let i = 0; i < files.length; i++) memoryOf[files[i]!] = i;
  return (f) => {
    const m = memoryOf[f]!;
    const sink: CopySink | MemorySink | undefined = m >= 0 ? { kind: 'memory', buffer: buffers[buffer[m]!]!, offset: offsets[m]! } : copies.get(f);
    return { path: paths[f]!, size: plan.sizes[f]!, sink };
  };
}

// Result status codes in shared memory; 0 means not hashed (skipped after an early stop).
const STATUS = ['pending', 'ok', 'size', 'changed', 'not-regular', 'missing', 'io'] as const;
const IDENTITY_FIELDS = 5;

/**
 * Results of every task in shared memory, written by whichever thread hashed the task: the
 * digests and file identities travel without a message or a copy per task. Failure messages
 * (rare) and full scan results travel in the unit's completion message.
 */
export interface ResultTable {
  readonly status: Int32Array;
  readonly digests: Uint8Array;
  readonly identities: BigInt64Array;
  /** 1 where the task's scan is PLAIN_UNKNOWN (verify's scan while hashing). */
  readonly plainUnknown: Uint8Array;
}

export function createResultTable(tasks: number, digestLength: number): ResultTable {
  return {
    status: new Int32Array(new SharedArrayBuffer(4 * tasks)),
    digests: new Uint8Array(new SharedArrayBuffer(digestLength * tasks)),
    identities: new BigInt64Array(new SharedArrayBuffer(8 * IDENTITY_FIELDS * tasks)),
    plainUnknown: new Uint8Array(new SharedArrayBuffer(tasks)),
  };
}

/** Stores a result; returns its failure message, if any, for the completion message. */
export function storeResult(table: ResultTable, task: number, result: HashTaskResult): string | undefined {
  if ('identity' in result && result.identity !== UNOBSERVED_IDENTITY) {
    const { dev, ino, size, mtimeNs, ctimeNs } = result.identity;
    table.identities.set([dev, ino, BigInt(size), mtimeNs, ctimeNs], task * IDENTITY_FIELDS);
  }
  if (result.ok) {
    table.digests.set(result.digest, task * result.digest.length);
    if (result.scan === PLAIN_UNKNOWN) table.plainUnknown[task] = 1;
  }
  table.status[task] = STATUS.indexOf(result.ok ? 'ok' : result.reason);
  return result.ok || result.reason === 'size' ? undefined : result.message;
}

/**
 * Reads a result back (on the main thread). The file identity is decoded only if asked for: for
 * 20,000 single-shard files nobody compares identities across shards, and building five BigInts
 * per file is most of the cost of a result.
 */
export function loadResult(table: ResultTable, task: number, message: string | undefined, fullScan?: FileScanResult): HashTaskResult | undefined {
  const status = STATUS[table.status[task]!];
  if (status === undefined || status === 'pending') return undefined;
  if (status !== 'ok' && status !== 'size') return { ok: false, reason: status satisfies FailureReason, message: message ?? status };
  const identity = () => {
    const at = task * IDENTITY_FIELDS;
    const ids = table.identities;
    return { dev: ids[at]!, ino: ids[at + 1]!, size: Number(ids[at + 2]!), mtimeNs: ids[at + 3]!, ctimeNs: ids[at + 4]! } satisfies FileIdentity;
  };
  if (status === 'size') return { ok: false, reason: 'size', identity: identity() };
  const length = table.digests.length / table.status.length;
  const digest = table.digests.slice(task * length, (task + 1) * length);
  const scan: HashScan | undefined = table.plainUnknown[task] === 1 ? PLAIN_UNKNOWN : fullScan;
  return {
    ok: true,
    digest,
    get identity() {
      return identity();
    },
    ...(scan === undefined ? {} : { scan }),
  };
}
