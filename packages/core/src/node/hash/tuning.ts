/**
 * Hashing parameters, chosen by measurement with `pnpm bench` (docs/performance.md).
 */
const MiB = 1024 * 1024;

/** Default shard size recorded in new manifests. */
export const DEFAULT_SHARD_SIZE = 64 * MiB;
/** Read buffer per thread: large enough that syscall cost vanishes, small enough to stay in L2/L3. */
export const CHUNK_BYTES = 1 * MiB;
/** Below this many bytes in all, hash on the main thread: starting workers costs more. */
export const INLINE_BYTES = 32 * MiB;
/** Small files are sent to workers in batches of up to this many bytes or files. */
export const BATCH_BYTES = 8 * MiB;
export const BATCH_FILES = 256;
