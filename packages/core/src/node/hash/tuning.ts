/**
 * Hashing parameters, chosen by measurement on the reference machine (2 cores, AMD EPYC with
 * SHA-NI, warm page cache); the measurements are in docs/performance.md ("Decisions").
 */
const MiB = 1024 * 1024;

/**
 * Default shard size recorded in new manifests (each manifest records its own, so changing this
 * never breaks old signatures). 16, 32, 64 and 128 MiB verify a 4 GiB file in the same time within
 * noise (the claim counter keeps threads balanced to within one shard, ~45 ms at 64 MiB); 64 MiB
 * keeps every file up to 64 MiB comparable with `sha256sum` and the manifest at 32 bytes per
 * 64 MiB, while still naming a damaged range to within 64 MiB.
 */
export const DEFAULT_SHARD_SIZE = 64 * MiB;

/**
 * Read buffer per thread. 64-128 KiB costs ~5% less CPU than 256 KiB-1 MiB: the bytes the kernel
 * copies in are still in the 1 MiB L2 when SHA-256 reads them. Below 64 KiB syscalls start to show.
 */
export const CHUNK_BYTES = 128 * 1024;

/**
 * Below this much work (bytes, plus TASK_COST_BYTES per file or shard), the main thread hashes
 * alone: a worker needs ~45 ms of CPU and ~10 MiB to start, so it cannot help work the main
 * thread finishes in about that time (64 MiB at ~1.45 GB/s).
 */
export const INLINE_COST_BYTES = 64 * MiB;

/**
 * What one file or shard costs besides its bytes (open, two fstat, close: ~9 us here), in bytes
 * of hashing time.
 */
export const TASK_COST_BYTES = 16 * 1024;

/**
 * Claim granularity. A shard of at least BATCH_BYTES is a unit of its own; smaller tasks travel
 * together up to BATCH_BYTES or BATCH_FILES (~3 ms of work for 4 KiB files), so that 20,000 small
 * files cost ~80 messages, not 20,000, and --fail-fast waits for at most one unit per worker.
 */
export const BATCH_BYTES = 8 * MiB;
export const BATCH_FILES = 256;
