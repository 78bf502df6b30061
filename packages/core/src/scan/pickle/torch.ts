/**
 * PyTorch containers and raw pickles: raw pickle streams (with the legacy torch < 1.6 layout of
 * five pickles plus raw storages), torch.save zip archives (and TorchScript), and the torch 0.1
 * tar format. Pickles inside torch containers use the `torch` allow-list profile; everything else
 * uses `generic`.
 */
import { SCAN_CODES } from '../codes.js';
import { RefinedFormat, type ByteSource, type FindingInput, type FormatInfo, type FormatScanner, type ScanContext } from '../types.js';
import { asciiLower, findCaseInsensitive, memberHead, memberSource, windowSource, type ZipArchive, type ZipEntry } from '../zip.js';
import { readU64 } from '../source.js';
import type { PickleProfile } from './allowlist.js';
import { looksLikePickle, parsesAsPickle, pickleSecondOpcodeIsValid, runPickle, runPickleStream, type PersistentMode, type PickleRun, type StorageRef, type TensorView } from './unpickler.js';

/**
 * Extensions that promise a pickle: a broken parse there is malformed, whatever came before.
 * Not .bin, .dat or .data: raw weights and other binary data use them too, and random bytes start
 * like a pickle once in ~11,000 files (20,000 random .bin files failed sign in the benchmark).
 */
const PICKLE_EXTENSIONS = new Set(['pkl', 'pickle', 'joblib', 'pt', 'pth', 'ckpt']);
const extension = (path: string) => {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? '' : name.slice(dot + 1).toLowerCase();
};

/** The first pickle of a legacy torch file: this literal integer (torch/serialization.py MAGIC_NUMBER). */
export const TORCH_LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
/** The second: the legacy protocol version. */
export const TORCH_LEGACY_PROTOCOL = 1001n;

const USUAL_LOCATION = /^(cpu|meta|mps|(cuda|xpu|hpu|npu)(:\d{1,3})?)$/u;

interface Scope {
  readonly report: (f: FindingInput) => void;
  readonly allowGlobals: ReadonlySet<string>;
}

function notWeightsOnly(runs: readonly PickleRun[], scope: Scope, member: string | undefined): void {
  const ops = new Set<string>();
  for (const r of runs) for (const o of r.notWeightsOnly) ops.add(o);
  if (ops.size === 0) return;
  const list = [...ops].sort().join(', ');
  scope.report({ code: 'TORCH_NOT_WEIGHTS_ONLY', message: `uses opcodes torch.load(weights_only=True) refuses: ${list}`, ...(member === undefined ? {} : { member }), detail: { opcodes: list } });
}

function locationNotes(storages: readonly StorageRef[], scope: Scope, member: string | undefined): void {
  const odd = new Set(storages.map((s) => s.location).filter((l) => !USUAL_LOCATION.test(l)));
  for (const l of odd) scope.report({ code: 'TORCH_STORAGE_LOCATION', message: `storage location ${JSON.stringify(l.slice(0, 64))} is unusual`, ...(member === undefined ? {} : { member }) });
}

/** offset + sum((size_i - 1) * stride_i) must stay inside the storage (when every size > 0). */
function checkViews(views: readonly TensorView[], scope: Scope, member: string | undefined): void {
  for (const v of views) {
    if (v.sizes.length !== v.strides.length) {
      scope.report({ code: 'TORCH_TENSOR_VIEW_OOB', message: `a tensor view has ${v.sizes.length} sizes but ${v.strides.length} strides`, offset: v.offset, ...(member === undefined ? {} : { member }) });
      continue;
    }
    if (v.sizes.some((s) => s === 0n)) continue;
    let last = v.storageOffset;
    let bad = v.storageOffset < 0n || v.sizes.some((s) => s < 0n) || v.strides.some((s) => s < 0n);
    v.sizes.forEach((s, i) => (last += (s - 1n) * v.strides[i]!));
    // v2 and older: elements of the storage's own type. v3: elements of the view's dtype over the
    // storage's bytes (an untyped storage counts bytes), so element `last` ends at (last+1)*itemSize.
    const storageBytes = v.storage.elementSize === undefined ? undefined : v.storage.numel * BigInt(v.storage.elementSize);
    const outside = v.itemSize === undefined ? last >= v.storage.numel : storageBytes !== undefined && (last + 1n) * BigInt(v.itemSize) > storageBytes;
    if (bad || outside) {
      bad = true;
      scope.report({
        code: 'TORCH_TENSOR_VIEW_OOB',
        message:
          v.itemSize === undefined
            ? `a tensor view of storage ${JSON.stringify(v.storage.key)} reaches element ${last}, but the storage has ${v.storage.numel}`
            : `a tensor view of storage ${JSON.stringify(v.storage.key)} reaches byte ${(last + 1n) * BigInt(v.itemSize)}, but the storage has ${storageBytes} bytes`,
        offset: v.offset,
        ...(member === undefined ? {} : { member }),
        detail: { storage: v.storage.key.slice(0, 64) },
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Raw pickles and the legacy (torch < 1.6) layout.

/**
 * Scans a file that is a pickle stream: every pickle in it, and, when it is a legacy torch file
 * (magic, protocol, sys_info, object, storage keys, then raw storages), that layout.
 */
export function scanPickleFile(source: ByteSource, ctx: ScanContext, profile: PickleProfile = 'generic'): FormatInfo | RefinedFormat {
  const scope: Scope = { report: (f) => ctx.report(f), allowGlobals: ctx.allowGlobals };
  const first = runPickle(source, 0, source.size, { profile, allowGlobals: ctx.allowGlobals, persistent: 'none' });
  if (!first.complete && !PICKLE_EXTENSIONS.has(extension(ctx.path)) && !first.findings.some((f) => SCAN_CODES[f.code].effect === 'unsafe')) {
    // Random bytes start with 0x80 0x00..05 about once in 11,000 files. When the parse breaks
    // before any import or call and the name does not promise a pickle, pickle.load would fail
    // having run nothing: not a pickle, so `unknown`, not `malformed`.
    ctx.report({ code: 'FORMAT_UNKNOWN', message: `starts like a pickle but breaks at offset ${first.end} before importing or calling anything`, offset: first.end });
    return new RefinedFormat('unknown');
  }
  const literalMagic = first.complete && first.value?.k === 'num' && first.value.value === TORCH_LEGACY_MAGIC;
  let legacy = literalMagic;
  if (!literalMagic && first.complete && first.end < source.size) {
    const second = runPickle(source, first.end, source.size, { profile: 'torch', allowGlobals: ctx.allowGlobals, persistent: 'none' });
    legacy = second.complete && second.value?.k === 'num' && second.value.value === TORCH_LEGACY_PROTOCOL;
  }
  if (!legacy) {
    const stream = runPickleStream(source, 0, source.size, { profile, allowGlobals: ctx.allowGlobals, persistent: 'none' }, scope.report);
    return { pickles: stream.runs.length };
  }
  for (const f of first.findings) scope.report(f);
  if (!literalMagic) {
    // torch compares the magic after unpickling it: a magic that is computed ran code first.
    scope.report({ code: 'TORCH_LEGACY_MAGIC', message: 'the legacy PyTorch magic number is not a literal integer', offset: 0 });
  }
  const rest = runPickleStream(source, first.end, source.size, { profile: 'torch', allowGlobals: ctx.allowGlobals, persistent: 'torch-legacy', expected: 4, maxPickles: 4 }, scope.report);
  const runs = [first, ...rest.runs];
  notWeightsOnly(runs, scope, undefined);
  if (runs.length < 5 || !runs.every((r) => r.complete)) {
    scope.report({ code: 'TORCH_LEGACY_LAYOUT', message: `a legacy PyTorch file needs five pickles, ${runs.filter((r) => r.complete).length} parse`, offset: rest.end });
    return { container: 'pytorch-legacy', pickles: runs.length };
  }
  const protocol = runs[1]!.value;
  if (protocol?.k !== 'num' || protocol.value !== TORCH_LEGACY_PROTOCOL) scope.report({ code: 'TORCH_LEGACY_MAGIC', message: 'the legacy protocol version is not 1001', offset: runs[1]!.start });
  const storages = runs[3]!.storages;
  locationNotes(storages, scope, undefined);
  checkViews(runs[3]!.views, scope, undefined);
  checkLegacyStorages(source, rest.end, runs[4]!, storages, scope);
  return { container: 'pytorch-legacy', pickles: 5, storages: storages.length };
}

/** After the five pickles: per storage key, a u64 element count and that many elements, to EOF. */
function checkLegacyStorages(source: ByteSource, start: number, keysRun: PickleRun, storages: readonly StorageRef[], scope: Scope): void {
  const layout = (message: string, offset: number) => scope.report({ code: 'TORCH_LEGACY_LAYOUT', message, offset });
  const keys = keysRun.value;
  if (keys?.k !== 'list' || keys.truncated || !keys.items.every((k) => k.k === 'str' && k.text !== undefined)) {
    layout('the fifth pickle is not a list of storage keys', keysRun.start);
    return;
  }
  const byKey = new Map(storages.map((s) => [s.key, s]));
  let pos = start;
  for (const k of keys.items) {
    const key = k.k === 'str' ? k.text! : '';
    const storage = byKey.get(key);
    if (storage === undefined || storage.elementSize === undefined) {
      layout(`storage key ${JSON.stringify(key.slice(0, 64))} is not a storage the object pickle names`, pos);
      return;
    }
    if (pos + 8 > source.size) {
      layout('the file ends before a storage', pos);
      return;
    }
    const count = readU64(source, pos);
    const bytes = count * BigInt(storage.elementSize);
    if (count !== storage.numel) scope.report({ code: 'TORCH_STORAGE_SIZE', message: `storage ${JSON.stringify(key.slice(0, 64))} holds ${count} elements, the pickle says ${storage.numel}`, offset: pos });
    if (BigInt(pos) + 8n + bytes > BigInt(source.size)) {
      layout(`storage ${JSON.stringify(key.slice(0, 64))} runs past the end of the file`, pos);
      return;
    }
    pos += 8 + Number(bytes);
  }
  if (pos !== source.size) layout(`${source.size - pos} bytes after the last storage`, pos);
}

export const pickleScanner: FormatScanner = {
  format: 'pickle',
  scan: (source, ctx) => scanPickleFile(source, ctx),
  // Protocol 0/1 pickles have no magic: a strict parse to STOP with one value and no open MARK.
  probe: (source) => source.size > 0 && PROTOCOL_0_START.has(source.read(0, 1)[0]!) && parsesAsPickle(source, 0, source.size),
  mayProbe: (bytes) => bytes.length > 0 && PROTOCOL_0_START.has(bytes[0]!) && pickleSecondOpcodeIsValid(bytes),
};

// ---------------------------------------------------------------------------------------------
// Zip members that are pickles.

/** Protocol 0/1 opcodes a pickle may start with (sniffing members that have no PROTO). */
const PROTOCOL_0_START = new Set([...'(cI}]NLSVFGJKM)'].map((c) => c.charCodeAt(0)));

/** Whether a member's content should be scanned as a pickle whatever its name. */
export function memberIsPickle(source: ByteSource, entry: ZipEntry): boolean {
  const head = memberHead(source, entry, 2);
  if (looksLikePickle(head)) return true;
  if (head.length === 0 || !PROTOCOL_0_START.has(head[0]!)) return false;
  // Findings about the member itself come when it is scanned; this is only a sniff.
  const member = memberSource(source, entry, () => undefined, 16 * 1024 * 1024, false);
  return member !== undefined && parsesAsPickle(member, 0, member.size);
}

/** Scans one zip member as a pickle stream; returns its runs (empty when unreadable). */
export function scanPickleMember(source: ByteSource, entry: ZipEntry, scope: Scope, profile: PickleProfile, persistent: PersistentMode): readonly PickleRun[] {
  const member = memberSource(source, entry, scope.report);
  if (member === undefined) return [];
  if (member.size === 0) {
    scope.report({ code: 'PICKLE_MALFORMED', message: 'pickle: the member is empty', member: entry.name });
    return [];
  }
  return runPickleStream(member, 0, member.size, { profile, allowGlobals: scope.allowGlobals, persistent, member: entry.name }, scope.report).runs;
}

/** The archive prefix torch uses: the text before the first `/` of the first central-directory entry. */
export function torchPrefix(archive: ZipArchive): string | undefined {
  const first = archive.entries[0];
  if (first === undefined) return undefined;
  const slash = first.rawName.indexOf('/');
  return slash <= 0 ? undefined : first.rawName.slice(0, slash);
}

/** pytorch-zip, torchscript-zip, or undefined when the archive is not a torch archive. */
export function classifyTorchZip(archive: ZipArchive): 'pytorch-zip' | 'torchscript-zip' | undefined {
  const prefix = torchPrefix(archive);
  if (prefix === undefined) return undefined;
  const p = asciiLower(prefix);
  const names = archive.entries.map((e) => asciiLower(e.rawName));
  const torch = names.includes(`${p}/data.pkl`) || (names.includes(`${p}/version`) && names.some((n) => n.startsWith(`${p}/data/`)));
  if (!torch) return undefined;
  return names.some((n) => n.startsWith(`${p}/code/`)) || names.includes(`${p}/constants.pkl`) ? 'torchscript-zip' : 'pytorch-zip';
}

/** Scans a torch.save (or TorchScript) zip archive. */
export function scanTorchZip(source: ByteSource, archive: ZipArchive, ctx: ScanContext, kind: 'pytorch-zip' | 'torchscript-zip'): FormatInfo {
  const scope: Scope = { report: (f) => ctx.report(f), allowGlobals: ctx.allowGlobals };
  const prefix = torchPrefix(archive)!;
  const record = (name: string) => findCaseInsensitive(archive, `${prefix}/${name}`);
  const scanned = new Set<ZipEntry>();
  const ambiguous = (name: string, found: readonly ZipEntry[]) => {
    if (found.length > 1) {
      scope.report({ code: 'TORCH_ZIP_AMBIGUOUS_RECORD', message: `${found.length} members match ${prefix}/${name} ignoring case; which one PyTorch loads is undefined, all are scanned`, member: found[1]!.name });
    }
  };
  const dataPkl = record('data.pkl');
  ambiguous('data.pkl', dataPkl);
  const version = [...record('version'), ...record('.data/version')];
  if (dataPkl.length === 0 || version.length === 0) {
    scope.report({ code: 'TORCH_ZIP_NO_DATA_PKL', message: `a PyTorch archive needs ${prefix}/data.pkl and ${prefix}/version` });
  }
  const storages: StorageRef[] = [];
  const views: TensorView[] = [];
  const pickles: string[] = [];
  for (const name of ['data.pkl', 'constants.pkl']) {
    const found = name === 'data.pkl' ? dataPkl : record(name);
    if (name !== 'data.pkl') ambiguous(name, found);
    for (const entry of found) {
      scanned.add(entry);
      pickles.push(entry.name);
      const runs = scanPickleMember(source, entry, scope, 'torch', 'torch-zip');
      notWeightsOnly(runs, scope, entry.name);
      for (const r of runs) {
        storages.push(...r.storages);
        views.push(...r.views);
      }
    }
  }
  if (kind === 'torchscript-zip') {
    const code = archive.entries.filter((e) => asciiLower(e.rawName).startsWith(`${asciiLower(prefix)}/code/`));
    scope.report({ code: 'TORCHSCRIPT_CODE', message: `TorchScript code (${code.length} members under ${prefix}/code/) is compiled and run by torch.jit.load`, ...(code[0] ? { member: code[0].name } : {}) });
  }
  locationNotes(storages, scope, undefined);
  // Every storage the pickles name must exist with exactly the bytes its element count needs.
  const checkedKeys = new Set<string>();
  for (const s of storages) {
    if (checkedKeys.has(s.key)) continue;
    checkedKeys.add(s.key);
    const found = record(`data/${s.key}`);
    ambiguous(`data/${s.key}`, found);
    if (found.length === 0) {
      scope.report({ code: 'TORCH_STORAGE_MISSING', message: `storage ${JSON.stringify(s.key.slice(0, 64))} has no member ${prefix}/data/${s.key.slice(0, 64)}`, offset: s.offset });
      continue;
    }
    for (const entry of found) {
      scanned.add(entry);
      if (s.elementSize !== undefined && BigInt(entry.size) !== s.numel * BigInt(s.elementSize)) {
        scope.report({
          code: 'TORCH_STORAGE_SIZE',
          message: `storage ${JSON.stringify(s.key.slice(0, 64))} has ${entry.size} bytes, but ${s.numel} elements of ${s.elementSize} bytes need ${s.numel * BigInt(s.elementSize)}`,
          member: entry.name,
        });
      }
    }
  }
  checkViews(views, scope, dataPkl[0]?.name);
  // Any other member that looks like a pickle is scanned, whatever its name (data.txt, data/7).
  for (const entry of archive.entries) {
    if (scanned.has(entry)) continue;
    if (asciiLower(entry.rawName).endsWith('.pkl') || memberIsPickle(source, entry)) {
      pickles.push(entry.name);
      scanPickleMember(source, entry, scope, 'torch', 'torch-zip');
    }
  }
  return { prefix, pickles, storages: checkedKeys.size };
}

// ---------------------------------------------------------------------------------------------
// tar (the torch 0.1 format, and any other tar: pickle-looking members are scanned).

interface TarMember {
  readonly name: string;
  readonly start: number;
  readonly size: number;
}

const TAR_MAX_MEMBERS = 100_000;

function readTar(source: ByteSource, report: (f: FindingInput) => void): TarMember[] {
  const members: TarMember[] = [];
  let pos = 0;
  while (pos + 512 <= source.size && members.length < TAR_MAX_MEMBERS) {
    const h = source.read(pos, 512);
    if (h.every((b) => b === 0)) break;
    const text = (a: number, n: number) => {
      let s = '';
      for (let i = a; i < a + n && h[i] !== 0; i++) s += String.fromCharCode(h[i]!);
      return s;
    };
    const sizeText = text(124, 12).trim();
    if (!/^[0-7]*$/u.test(sizeText)) {
      report({ code: 'SCAN_TRUNCATED', message: 'a tar header has an invalid size', offset: pos });
      break;
    }
    const size = sizeText === '' ? 0 : parseInt(sizeText, 8);
    const prefix = text(345, 155);
    const name = prefix ? `${prefix}/${text(0, 100)}` : text(0, 100);
    const type = String.fromCharCode(h[156]!);
    if (pos + 512 + size > source.size) {
      report({ code: 'SCAN_TRUNCATED', message: `tar member ${JSON.stringify(name)} runs past the end of the file`, offset: pos });
      break;
    }
    if (type === '0' || type === '\0') members.push({ name, start: pos + 512, size });
    pos += 512 + Math.ceil(size / 512) * 512;
  }
  return members;
}

export const tarScanner: FormatScanner = {
  format: 'tar',
  scan(source, ctx) {
    const scope: Scope = { report: (f) => ctx.report(f), allowGlobals: ctx.allowGlobals };
    const members = readTar(source, scope.report);
    const names = new Set(members.map((m) => m.name));
    const torch = names.has('pickle') && names.has('storages') && names.has('tensors');
    if (torch) scope.report({ code: 'TORCH_LEGACY_TAR', message: 'a legacy tar-format PyTorch file: torch.load runs its pickles without the weights-only checks' });
    let scanned = 0;
    for (const m of members) {
      const member = windowSource(source, m.start, m.size);
      const torchMember = torch && ['pickle', 'tensors', 'storages', 'sys_info'].includes(m.name);
      if (!torchMember && !looksLikePickle(member.read(0, Math.min(2, m.size)))) continue;
      scanned++;
      runPickleStream(member, 0, member.size, { profile: torch ? 'torch' : 'generic', allowGlobals: ctx.allowGlobals, persistent: torch ? 'torch-tar' : 'none', member: m.name }, scope.report);
    }
    if (!torch) scope.report({ code: 'FORMAT_ARCHIVE', message: `a tar archive: ${scanned} pickle members scanned, other members are not checked` });
    return { ...(torch ? { container: 'pytorch-legacy-tar' } : {}), members: members.length };
  },
};
