/**
 * The zip-family scanner: reads the archive once with our zip reader (anomalies reported), decides
 * what it is from its members (PyTorch, TorchScript, Keras v3, NumPy .npz, or a plain zip), and
 * scans it accordingly. In a plain zip every member that looks like a pickle is scanned.
 */
import { RefinedFormat, type ByteSource, type FormatInfo, type FormatScanner, type ScanContext } from './types.js';
import { isKerasArchive, scanKerasArchive } from './keras.js';
import { isNpy, scanNpz } from './numpy.js';
import { classifyTorchZip, memberIsPickle, scanPickleMember, scanTorchZip } from './pickle/torch.js';
import { memberHead, readZip, type ZipArchive } from './zip.js';

/** The zip-family format of an archive. */
export function classifyZip(source: ByteSource, archive: ZipArchive): 'pytorch-zip' | 'torchscript-zip' | 'keras-v3' | 'numpy-npz' | 'zip' {
  const torch = classifyTorchZip(archive);
  if (torch !== undefined) return torch;
  if (isKerasArchive(archive)) return 'keras-v3';
  if (archive.entries.length > 0 && archive.entries.every((e) => e.rawName.endsWith('.npy') || isNpy(memberHead(source, e, 8)))) return 'numpy-npz';
  return 'zip';
}

/** Scans a zip-family file and refines its format id from the members. */
export function scanZipFamily(source: ByteSource, ctx: ScanContext): RefinedFormat {
  const archive = readZip(source, (f) => ctx.report(f));
  if (archive === undefined) return new RefinedFormat('zip');
  const kind = classifyZip(source, archive);
  return new RefinedFormat(kind, scanKind(source, archive, ctx, kind));
}

function scanKind(source: ByteSource, archive: ZipArchive, ctx: ScanContext, kind: ReturnType<typeof classifyZip>): FormatInfo {
  switch (kind) {
    case 'pytorch-zip':
    case 'torchscript-zip':
      return scanTorchZip(source, archive, ctx, kind);
    case 'keras-v3': {
      const info = scanKerasArchive(source, archive, ctx);
      // Keras loads only its own members, but a pickle riding along is still reported.
      const pickles = scanPickleMembers(source, archive, ctx, (name) => name === 'config.json' || name === 'metadata.json');
      return { ...info, ...(pickles.length > 0 ? { pickles } : {}) };
    }
    case 'numpy-npz':
      return scanNpz(source, archive, ctx);
    default:
      return { members: archive.entries.length, pickles: scanPickleMembers(source, archive, ctx, () => false) };
  }
}

/** Scans every member (but the skipped ones) whose bytes look like a pickle, whatever its name. */
function scanPickleMembers(source: ByteSource, archive: ZipArchive, ctx: ScanContext, skip: (name: string) => boolean): string[] {
  const scope = { report: (f: Parameters<ScanContext['report']>[0]) => ctx.report(f), allowGlobals: ctx.allowGlobals };
  const pickles: string[] = [];
  for (const entry of archive.entries) {
    if (skip(entry.rawName) || !memberIsPickle(source, entry)) continue;
    pickles.push(entry.name);
    scanPickleMember(source, entry, scope, 'generic', 'none');
  }
  return pickles;
}

export const zipScanner: FormatScanner = { format: 'zip', scan: scanZipFamily };
