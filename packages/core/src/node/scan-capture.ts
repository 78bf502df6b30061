import type { ManifestFile } from '../format/manifest.js';
import { MsSignError } from '../errors.js';
import type { ExpectedContents } from '../verify/statement.js';
import { IDENTITY_MIN_BYTES, scannedWhileHashed } from './contents.js';
import type { CopySink, FileIdentity, MemorySink } from './hash/task.js';
import type { HashedScans } from './contents.js';
import type { VerifiedFileForScan } from './scan.js';
import type { ModelWalk, WalkedFile } from './walk.js';
import { omsManifest } from './oms/contents.js';

/**
 * Files too big to be scanned while hashed but under IDENTITY_MIN_BYTES are kept in memory while
 * they are hashed, up to this much in all; the rest are scanned from the file with their hashed
 * identity or digest checked. (The smallest files, most of a directory of 20,000, take no memory
 * here: the hashing threads scan them on their read, see scannedWhileHashed.)
 */
const CAPTURE_TOTAL_BYTES = 32 * 1024 * 1024;
/** Memory for captured files is taken in blocks of this size (one SharedArrayBuffer each). */
const BLOCK_BYTES = 8 * 1024 * 1024;

/**
 * Keeps what verify's hashing reads for the scan that follows, so that the scan judges exactly
 * the verified bytes: the smallest files are scanned by the hashing threads themselves, files up
 * to IDENTITY_MIN_BYTES go into shared memory while they are hashed (one read serves both), the
 * caller's own sinks (verify-before-load buffers, verified copies) are remembered, and the rest is
 * scanned later from the file with its hashed identity checked (node/scan.ts).
 */
export class ScanCapture {
  private readonly sinks = new Map<string, CopySink | MemorySink>();
  private block: { buffer: SharedArrayBuffer; used: number } | undefined;
  private captured = 0;

  constructor(
    private readonly scanning: boolean,
    private readonly callerSink?: (file: ManifestFile) => CopySink | MemorySink | undefined,
  ) {}

  sinkFor(file: ManifestFile): CopySink | MemorySink | undefined {
    const own = this.callerSink?.(file);
    if (own !== undefined) {
      this.sinks.set(file.path, own);
      return own;
    }
    if (!this.scanning || scannedWhileHashed(file) || file.size >= IDENTITY_MIN_BYTES || this.captured + file.size > CAPTURE_TOTAL_BYTES) return undefined;
    if (this.block === undefined || this.block.used + file.size > this.block.buffer.byteLength) this.block = { buffer: new SharedArrayBuffer(BLOCK_BYTES), used: 0 };
    const sink: MemorySink = { kind: 'memory', buffer: this.block.buffer, offset: this.block.used };
    this.block.used += file.size;
    this.captured += file.size;
    this.sinks.set(file.path, sink);
    return sink;
  }

  /** Where the scan reads each verified file, paired with the walk as the comparison paired them. */
  targets(expected: ExpectedContents, walk: ModelWalk, identities: ReadonlyMap<string, FileIdentity> | undefined, scanned?: HashedScans): VerifiedFileForScan[] {
    const manifest = expected.kind === 'manifest' ? expected.manifest : omsManifest(expected.statement, walk);
    // Built only for a file the hashing threads did not scan (for 20,000 small files, none).
    let onDisk: Map<string, WalkedFile> | undefined;
    return manifest.files.map((file, i) => {
      // The comparison's files are the manifest's, in its order, when every file was found (the
      // scan runs only then); a path that differs takes the re-read below instead.
      const result = scanned?.paths[i] === file.path ? scanned.results[i] : undefined;
      // The comparison paired each walked file of a directory with the signed file of the same
      // path; a single-file model is identified by its content: its walked name is the one to report.
      if (result !== undefined) return { path: manifest.kind === 'file' ? walk.files[0]!.path : file.path, size: file.size, result };
      const walked = manifest.kind === 'file' ? walk.files[0] : (onDisk ??= new Map(walk.files.map((f) => [f.path, f]))).get(file.path);
      if (walked === undefined) throw new MsSignError('INTERNAL', `${file.path} was verified but not walked`);
      const path = walked.path;
      const sink = this.sinks.get(file.path);
      if (sink?.kind === 'memory') return { path, size: file.size, bytes: new Uint8Array(sink.buffer, sink.offset, file.size) };
      if (sink?.kind === 'copy') return { path, size: file.size, absolutePath: sink.path };
      const identity = identities?.get(file.path);
      return {
        path,
        size: file.size,
        absolutePath: walked.absolutePath,
        ...(file.digests.length === 1 ? { digest: { algorithm: manifest.hashAlgorithm, value: file.digests[0]! } } : {}),
        ...(identity === undefined ? {} : { identity }),
      };
    });
  }
}
