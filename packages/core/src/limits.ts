/**
 * Documented bounds on everything ms-sign reads from untrusted input (docs/signature-format.md,
 * "Limits"). They keep decoding and hashing within bounded time and memory whatever an attacker
 * writes into a signature file or model directory.
 */
const MiB = 1024 * 1024;

/** Every bound ms-sign applies to untrusted input (signature files, manifests, policies, model trees). */
export const LIMITS = {
  /** A signature file larger than this is refused before it is read. */
  signatureFileBytes: 64 * MiB,
  /** Files in one model (directory walk and manifest). */
  files: 1_000_000,
  /** Shard digests over all files of one manifest. */
  shards: 4_000_000,
  /** UTF-8 bytes of a model-relative path, and of one segment of it. */
  pathBytes: 4096,
  pathSegmentBytes: 255,
  /** Directory nesting below the model root. */
  pathDepth: 128,
  /** Subject name and version. */
  nameBytes: 256,
  versionBytes: 128,
  annotations: 256,
  annotationKeyBytes: 128,
  annotationValueBytes: 4096,
  ignorePatterns: 256,
  globBytes: 1024,
  /** Signatures in one signature file. */
  signatures: 64,
  /** CBOR nesting (the format needs 4 levels). */
  cborDepth: 16,
  /** Trust policy, rollback state and key files. */
  trustPolicyBytes: 4 * MiB,
  stateFileBytes: 16 * MiB,
  keyFileBytes: 64 * 1024,
} as const;

/** Shard size bounds; shard sizes are powers of two (SPEC section 3). */
export const MIN_SHARD_SIZE = 64 * 1024;
export const MAX_SHARD_SIZE = 4 * 1024 * MiB;
