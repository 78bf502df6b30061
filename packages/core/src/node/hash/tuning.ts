/**
 * Hashing parameters, chosen by measurement on the reference machine (2 cores, warm page cache)
 * with `pnpm bench` and the experiments described in docs/performance.md.
 */
const MiB = 1024 * 1024;

/** Default shard size recorded in new manifests (each manifest records its own). */
export const DEFAULT_SHARD_SIZE = 64 * MiB;
/** Read buffer per thread. */
export const CHUNK_BYTES = 128 * 1024;
/** Below this much work (bytes plus TASK_COST_BYTES per file or shard), hash on the main thread alone. */
export const INLINE_COST_BYTES = 48 * MiB;
/** What opening, fstat-ing twice and closing one file costs, in bytes of hashing time. */
export const TASK_COST_BYTES = 16 * 1024;
/** Small files are claimed in units of up to this many bytes or files; larger shards alone. */
export const BATCH_BYTES = 8 * MiB;
export const BATCH_FILES = 256;
