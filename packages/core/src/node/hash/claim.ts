import type { FileScanResult } from '../../scan/types.js';
import type { ScanInspector } from './inspect.js';
import { planFiles, storeResult, taskLength, taskOffset, unitCount, type JobPlan, type ResultTable } from './job.js';
import { hashRange, PLAIN_UNKNOWN, type HashFile, type HashTaskResult } from './task.js';

/** What every hashing thread shares: the plan, the result table and the control words. */
export interface WorkerData {
  readonly plan: JobPlan;
  readonly table: ResultTable;
  /** Shared Int32Array: [next unit to claim, stop flag, tasks hashed by all threads]. */
  readonly control: Int32Array;
}

const NEXT_UNIT = 0;
const STOP = 1;
const HASHED = 2;

export function createControl(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(12));
}

/** Tasks hashed to the end so far, by all threads: less than all after an early stop. */
export function tasksHashed(control: Int32Array): number {
  return Atomics.load(control, HASHED);
}

/** Asks every thread to stop: none claims another unit, and a shard being hashed ends at its next read. */
export function requestStop(control: Int32Array): void {
  Atomics.store(control, STOP, 1);
}

export function stopRequested(control: Int32Array): boolean {
  return Atomics.load(control, STOP) !== 0;
}

/** The next unclaimed unit, or undefined when all are taken or a stop was requested. */
export function claimUnit(data: WorkerData): number | undefined {
  if (stopRequested(data.control)) return undefined;
  const unit = Atomics.add(data.control, NEXT_UNIT, 1);
  return unit < unitCount(data.plan) ? unit : undefined;
}

export type UnitFailures = (readonly [task: number, message: string])[];
/** Scan results of a unit's tasks: one per small file whose scan the job asked for and whose digest matched. */
export type UnitScans = (readonly [task: number, result: FileScanResult])[];

/**
 * Hashes the tasks of one unit. In a worker, results go into the result table and the failure
 * messages and scan results are returned; on the main thread `onTask` takes each result as soon
 * as it exists, so that a stop takes effect at once and nothing goes through shared memory.
 */
export function hashUnit(
  data: WorkerData,
  fileAt: (file: number) => HashFile,
  unit: number,
  scratch: Buffer,
  onTask?: (task: number, result: HashTaskResult) => void,
  inspector?: ScanInspector,
): { failures: UnitFailures; scans: UnitScans } {
  const { plan, table, control } = data;
  const failures: UnitFailures = [];
  const scans: UnitScans = [];
  const stopped = () => stopRequested(control);
  for (let i = plan.unitStart[unit]!; i < plan.unitStart[unit + 1]! && !stopped(); i++) {
    const task = plan.order[i]!;
    const file = plan.taskFile[task]!;
    const result = hashRange(fileAt(file), taskOffset(plan, task), taskLength(plan, task), plan.algorithm, scratch, stopped, plan.sizesSigned, inspector, file);
    if (result === undefined) break;
    Atomics.add(control, HASHED, 1);
    if (onTask) onTask(task, result);
    else {
      // A PLAIN_UNKNOWN scan goes into the result table with the digest; full results travel in the message.
      const message = storeResult(table, task, result);
      if (message !== undefined) failures.push([task, message]);
      if (result.ok && result.scan !== undefined && result.scan !== PLAIN_UNKNOWN) scans.push([task, result.scan]);
    }
  }
  return { failures, scans };
}

/** A worker's whole life: claim and hash units until none is left. */
export function claimUnits(data: WorkerData, scratch: Buffer, inspector: ScanInspector | undefined, onUnit: (unit: number, failures: UnitFailures, scans: UnitScans) => void): void {
  const fileAt = planFiles(data.plan);
  for (let unit = claimUnit(data); unit !== undefined; unit = claimUnit(data)) {
    const { failures, scans } = hashUnit(data, fileAt, unit, scratch, undefined, inspector);
    onUnit(unit, failures, scans);
  }
}
