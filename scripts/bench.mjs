#!/usr/bin/env node
// `pnpm bench`: ms-sign sign/verify side by side with other SHA-256 tools on the same files.
// Generates its inputs, warms the page cache, runs every tool several times round-robin, prints
// a table (best wall time, throughput, peak RSS, ratios) and writes it as JSON. See
// docs/performance.md for what it measures and how to read it. Run `node scripts/bench.mjs --help`.
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, statfsSync, writeFileSync, writeSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'packages', 'cli', 'bin', 'ms-sign.cjs');
// The one-file bundle and the x64 single binary (npm run build:binary), timed in the startup case when built.
const bundle = join(root, 'packages', 'cli', 'dist-bundle', 'ms-sign.cjs');
const binary = join(root, 'packages', 'cli', 'dist-bin', 'ms-sign-linux-x64');
const MiB = 1024 * 1024;
const ALL_CASES = ['single', 'shards', 'small', 'copy', 'startup', 'startup20m', 'rss10g', 'oms2g'];
// The small-model start-up case verifies a real MindSpore Lite model from the test fixtures.
const lenet = join(root, 'test', 'fixtures', 'mindspore-lite', 'lenet_tod_infer.ms');
const GiB = 1024 * MiB;

const HELP = `usage: node scripts/bench.mjs [options]   (or: pnpm bench -- [options])

  --quick             small inputs (256 MiB file, 8 x 32 MiB, 2,000 x 4 KiB), 2 runs: for iterating
  --runs N            timed runs of every tool per case (default 5; the best and the median are kept)
  --cases LIST        comma-separated subset of: single,shards,small,copy,startup,startup20m,rss10g,oms2g
                      (default: all but rss10g and oms2g)
                      copy: exec --copy of a 1 GiB file against verify alone
                      startup: verify of lenet_tod_infer.ms (250 KB) with -p KEY and with a policy
                      file, and --version, against node -e 0; also through the one-file bundle and
                      the single binary directly when built (npm run build:binary)
                      startup20m: the same with a 20 MiB file
                      rss10g: sign and verify a sparse 10 GiB file to show peak RSS stays flat
                      oms2g: verify a 2 GiB file (--quick: 256 MiB) signed natively, as an OMS
                      shards bundle and as an OMS files bundle
  --work DIR          where inputs go (default: bench-work/ in the repo, gitignored; or $TMPDIR with --tmp)
  --tmp               put inputs under $TMPDIR instead of the repo
  --keep              keep the generated inputs (later runs reuse them)
  --out FILE          JSON results (default: bench-results/latest.json; --quick: <work>/quick.json)
  --threads N         pass --threads N to ms-sign (default: its own, one per core)
  --shard-size BYTES  pass --shard-size to ms-sign sign (default: its own)
  --no-peers          time ms-sign only
  --help              this text`;

function parseArgs(argv) {
  const o = { quick: false, runs: undefined, cases: ALL_CASES.filter((c) => c !== 'rss10g' && c !== 'oms2g'), work: undefined, tmp: false, keep: false, out: undefined, threads: undefined, shardSize: undefined, peers: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) fail(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--') continue;
    else if (a === '--quick') o.quick = true;
    else if (a === '--runs') o.runs = positive(a, value());
    else if (a === '--cases') o.cases = value().split(',').filter(Boolean);
    else if (a === '--work') o.work = resolve(value());
    else if (a === '--tmp') o.tmp = true;
    else if (a === '--keep') o.keep = true;
    else if (a === '--out') o.out = resolve(value());
    else if (a === '--threads') o.threads = positive(a, value());
    else if (a === '--shard-size') o.shardSize = positive(a, value());
    else if (a === '--no-peers') o.peers = false;
    else if (a === '--help' || a === '-h') {
      console.log(HELP);
      process.exit(0);
    } else fail(`unknown option ${a} (see --help)`);
  }
  for (const c of o.cases) if (!ALL_CASES.includes(c)) fail(`unknown case ${c}`);
  o.runs ??= o.quick ? 2 : 5;
  o.work ??= o.tmp ? join(process.env.TMPDIR ?? tmpdir(), 'ms-sign-bench') : join(root, 'bench-work');
  o.out ??= o.quick ? join(o.work, 'quick.json') : join(root, 'bench-results', 'latest.json');
  return o;
}

function fail(message) {
  console.error(`bench: ${message}`);
  process.exit(2);
}

function positive(name, text) {
  if (!/^\d+$/.test(text) || Number(text) === 0) fail(`${name}: expected a positive whole number, got ${text}`);
  return Number(text);
}

const opts = parseArgs(process.argv.slice(2));

// ---------------------------------------------------------------------------------------------
// Tools present on this machine

function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function versionOf(argv) {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  return r.status === 0 ? (r.stdout || r.stderr).trim().split('\n')[0] : undefined;
}

const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const have = { openssl: which('openssl'), sha256sum: which('sha256sum'), python3: which('python3'), b3sum: which('b3sum'), xargs: which('xargs') };
if (!existsSync(cli)) fail(`${relative(root, cli)} is missing: run the build first (pnpm build)`);
if (!TIME) console.error('bench: /usr/bin/time (Debian package "time") not found: peak RSS is not measured');

// ---------------------------------------------------------------------------------------------
// Measuring one command: wall time, CPU, peak RSS, and how busy the rest of the machine was

/** Busy and total jiffies of all CPUs, from /proc/stat (Linux only). */
function cpuJiffies() {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = fields[3] + (fields[4] ?? 0);
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

const timeOut = () => join(opts.work, '.time.out');

function measure(argv, { env } = {}) {
  const before = cpuJiffies();
  const start = process.hrtime.bigint();
  const full = TIME ? [TIME, '-o', timeOut(), '-f', '%e %U %S %M', ...argv] : argv;
  const r = spawnSync(full[0], full.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env }, maxBuffer: 64 * MiB });
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  const after = cpuJiffies();
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr?.toString().slice(0, 2000)}`);
  let user, sys, rssKiB;
  if (TIME) {
    const line = readFileSync(timeOut(), 'utf8').trim().split('\n').pop().split(' ');
    user = Number(line[1]);
    sys = Number(line[2]);
    rssKiB = Number(line[3]);
  }
  // Other processes' CPU use during the run, in cores: what makes a timing on a shared machine noisy.
  let otherLoad;
  if (before && after && user !== undefined) {
    const seconds = (after.total - before.total) / 100 / availableParallelism();
    const busy = (after.busy - before.busy) / 100;
    otherLoad = seconds > 0 ? Math.max(0, (busy - user - sys) / seconds) : undefined;
  }
  return { wall, user, sys, rssMiB: rssKiB === undefined ? undefined : rssKiB / 1024, otherLoad };
}

// ---------------------------------------------------------------------------------------------
// Inputs

const CASES = {
  single: opts.quick
    ? { title: 'single file', files: [['model.bin', 256 * MiB]] }
    : { title: 'single 4 GiB file', files: [['model.bin', 4 * GiB]] },
  shards: opts.quick
    ? { title: 'eight shards', files: Array.from({ length: 8 }, (_, i) => [`model-${String(i + 1).padStart(5, '0')}-of-00008.bin`, 32 * MiB]) }
    : { title: 'eight 512 MiB shards', files: Array.from({ length: 8 }, (_, i) => [`model-${String(i + 1).padStart(5, '0')}-of-00008.bin`, 512 * MiB]) },
  small: opts.quick
    ? { title: '2,000 files of 4 KiB', files: smallFiles(2_000) }
    : { title: '20,000 files of 4 KiB', files: smallFiles(20_000) },
  rss10g: { title: 'sparse 10 GiB file (peak RSS)', files: [['model.bin', 10 * GiB]], sparse: true, onlyMsSign: true },
  copy: opts.quick
    ? { title: 'exec --copy of a 64 MiB file', files: [['model.bin', 64 * MiB]] }
    : { title: 'exec --copy of a 1 GiB file', files: [['model.bin', GiB]] },
  startup: { title: 'start-up: lenet_tod_infer.ms (250 KB)', files: [['lenet_tod_infer.ms', statSync(lenet).size]], source: lenet },
  startup20m: { title: 'start-up: 20 MiB file', files: [['model.bin', 20 * MiB]] },
  // One file verified three ways: native, OMS shards mode and OMS files mode (docs/performance.md).
  oms2g: opts.quick
    ? { title: 'single file: native, OMS shards, OMS files', files: [['model.bin', 256 * MiB]], onlyMsSign: true, omsShards: true }
    : { title: 'single 2 GiB file: native, OMS shards, OMS files', files: [['model.bin', 2 * GiB]], onlyMsSign: true, omsShards: true },
};

function smallFiles(n) {
  // 100 directories deep at most one level, as a tokenizer/vocabulary or a sharded dataset looks.
  return Array.from({ length: n }, (_, i) => [`d${String(Math.floor(i / 200)).padStart(3, '0')}/f${String(i).padStart(5, '0')}.bin`, 4096]);
}

function caseDir(name) {
  return join(opts.work, opts.quick ? `quick-${name}` : name);
}

/** The model path given to the tools: the file itself for a single-file case. */
function modelPath(name) {
  const spec = CASES[name];
  return spec.files.length === 1 ? join(caseDir(name), spec.files[0][0]) : caseDir(name);
}

function generate(name) {
  const spec = CASES[name];
  const dir = caseDir(name);
  const complete = spec.files.every(([rel, size]) => existsSync(join(dir, rel)) && statSync(join(dir, rel)).size === size);
  if (complete) return false;
  rmSync(dir, { recursive: true, force: true });
  const bytes = spec.files.reduce((n, [, s]) => n + s, 0);
  if (!spec.sparse) {
    const free = statfsSync(opts.work).bavail * statfsSync(opts.work).bsize;
    if (free < bytes + GiB) fail(`${name} needs ${(bytes / GiB).toFixed(1)} GiB in ${opts.work}, only ${(free / GiB).toFixed(1)} GiB free`);
  }
  process.stderr.write(`generating ${spec.title} in ${relative(process.cwd(), dir) || '.'} ... `);
  const chunk = Buffer.allocUnsafe(16 * MiB);
  for (const [rel, size] of spec.files) {
    const path = join(dir, rel);
    mkdirSync(dirname(path), { recursive: true });
    const fd = openSync(path, 'w');
    if (spec.source) {
      writeSync(fd, readFileSync(spec.source));
    } else if (spec.sparse) {
      // A hole reads as zeros at page-cache speed without using disk: enough to watch memory.
      if (size > 0) writeSync(fd, Buffer.alloc(1), 0, 1, size - 1);
    } else {
      for (let done = 0; done < size; ) {
        const n = Math.min(chunk.length, size - done);
        randomFillSync(chunk, 0, n);
        done += writeSync(fd, chunk, 0, n);
      }
    }
    // Flushed now, or the kernel writes gigabytes back while the first tools are being timed.
    fsyncSync(fd);
    closeSync(fd);
  }
  process.stderr.write('done\n');
  return true;
}

/** Reads every input once so that all tools start from the same warm page cache. */
function warm(name) {
  const buffer = Buffer.allocUnsafe(4 * MiB);
  for (const [rel] of CASES[name].files) {
    const fd = openSync(join(caseDir(name), rel), 'r');
    while (readSync(fd, buffer, 0, buffer.length, null) > 0);
    closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// The tools

const PY_HASHLIB = `
import hashlib, os, sys
# What sigstore's model_signing does per file: hashlib SHA-256 over 1 MiB reads, one thread.
def digest(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            h.update(chunk)
    return h.hexdigest()
for top in sys.argv[1:]:
    if os.path.isdir(top):
        for d, _, names in os.walk(top):
            for n in names:
                digest(os.path.join(d, n))
    else:
        digest(top)
`;

// An emulation of the hashing engine of sigstore's model_signing (its serialization modes), so
// that both run in the same benchmark: hashlib SHA-256 over 1 MiB reads on a thread pool.
// files: one task per file, one thread per file; shards: every file cut into SHARD-byte ranges,
// one task per range, one thread per core. hashlib releases the GIL while it hashes, so the
// threads do run in parallel. Digests are computed and dropped (a manifest is not written).
const PY_ENGINE = `
import hashlib, os, sys
from concurrent.futures import ThreadPoolExecutor
mode, shard, top = sys.argv[1], int(sys.argv[2]), sys.argv[3]
CHUNK = 1 << 20
def files_of(top):
    if not os.path.isdir(top):
        return [top]
    out = []
    for d, _, names in os.walk(top):
        out.extend(os.path.join(d, n) for n in names)
    return sorted(out)
def hash_range(task):
    path, start, end = task
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        f.seek(start)
        left = end - start
        while left > 0:
            chunk = f.read(min(CHUNK, left))
            if not chunk:
                raise OSError('short read: ' + path)
            h.update(chunk)
            left -= len(chunk)
    return h.digest()
paths = files_of(top)
if mode == 'files':
    tasks = [(p, 0, os.path.getsize(p)) for p in paths]
    workers = len(tasks)
else:
    tasks = []
    for p in paths:
        size = os.path.getsize(p)
        tasks.extend((p, o, min(o + shard, size)) for o in range(0, max(size, 1), shard))
    workers = os.cpu_count()
with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
    digests = list(pool.map(hash_range, tasks))
`;
const PY_CONFIGS = [
  { id: 'python engine: files (thread per file)', mode: 'files', shard: 0 },
  { id: 'python engine: 1 GB shards', mode: 'shards', shard: 1_000_000_000 },
  { id: 'python engine: 64 MiB shards', mode: 'shards', shard: 64 * MiB },
];
const isPyEngine = (tool) => tool.startsWith('python engine');

const OMS_SHARDS_VERIFY = 'ms-sign verify (OMS shards bundle)';

function toolsFor(name) {
  const model = modelPath(name);
  const sig = join(opts.work, `${opts.quick ? 'quick-' : ''}${name}.sig`);
  const key = join(opts.work, 'bench.key');
  const pub = join(opts.work, 'bench.pub');
  const extra = opts.threads ? ['--threads', String(opts.threads)] : [];
  const shard = opts.shardSize ? ['--shard-size', String(opts.shardSize)] : [];
  const isDir = CASES[name].files.length > 1;
  const fileArgs = isDir ? CASES[name].files.map(([rel]) => join(caseDir(name), rel)) : [model];
  const each = (cmd) => ['sh', '-c', `find "$0" -type f -print0 | xargs -0 ${cmd} > /dev/null`, model];
  const tools = [
    { id: 'ms-sign sign', argv: ['node', cli, 'sign', model, '-k', key, '-o', sig, ...shard, ...extra], mssign: true },
    { id: 'ms-sign verify', argv: ['node', cli, 'verify', model, '-s', sig, '-p', pub, '-q', ...extra], mssign: true, verify: true },
    // The same model as an OMS bundle (files mode: one SHA-256 per whole file), same hashing engine.
    { id: 'ms-sign sign --format oms', argv: ['node', cli, 'sign', model, '--format', 'oms', '-k', join(opts.work, 'bench-ec.key'), '-o', `${sig}.oms`, ...extra], mssign: true },
    { id: 'ms-sign verify (OMS bundle)', argv: ['node', cli, 'verify', model, '-s', `${sig}.oms`, '-p', join(opts.work, 'bench-ec.pub'), '-q', ...extra], mssign: true, oms: true },
  ];
  if (CASES[name].omsShards) {
    // A shards-mode bundle of the same file (made from the native signature's shard digests).
    const make = ['node', join(root, 'scripts', 'oms-shards-bundle.mjs'), sig, join(opts.work, 'bench-ec.key'), join(opts.work, 'bench-ec.pub'), `${sig}.oms-shards`];
    tools.push({ id: OMS_SHARDS_VERIFY, argv: ['node', cli, 'verify', model, '-s', `${sig}.oms-shards`, '-p', join(opts.work, 'bench-ec.pub'), '-q', ...extra], mssign: true, oms: true, make });
  }
  tools.push(...scanOffTools(name, tools));
  if (name === 'copy') {
    // CMD reads the copy's first byte: the copy exists and is readable when CMD runs.
    tools.push({ id: 'ms-sign exec --copy', argv: ['node', cli, 'exec', model, '-s', sig, '-p', pub, '-q', '--copy', ...extra, '--', 'head', '-c', '1', '{}'] });
    return tools;
  }
  if (name === 'startup' || name === 'startup20m') {
    const verifyArgs = ['verify', model, '-s', sig, '-p', pub, '-q', ...extra];
    tools.push(
      { id: 'ms-sign verify (policy file)', argv: ['node', cli, 'verify', model, '-s', sig, '-t', join(opts.work, 'bench-trust.json'), '-q', ...extra], verify: true },
      { id: 'node -e 0', argv: ['node', '-e', '0'] },
      { id: 'ms-sign --version', argv: ['node', cli, '--version'] },
    );
    if (existsSync(bundle)) tools.push({ id: 'ms-sign verify (bundle)', argv: ['node', bundle, ...verifyArgs] }, { id: 'ms-sign --version (bundle)', argv: ['node', bundle, '--version'] });
    if (existsSync(binary)) tools.push({ id: 'ms-sign verify (binary)', argv: [binary, ...verifyArgs] }, { id: 'ms-sign --version (binary)', argv: [binary, '--version'] });
    return tools;
  }
  if (!opts.peers || CASES[name].onlyMsSign) return tools;
  // Many small files go through find | xargs (what the target names); a few big ones as arguments.
  const many = name === 'small';
  if (have.openssl) tools.push({ id: 'openssl dgst -sha256', argv: many ? each('openssl dgst -sha256') : ['openssl', 'dgst', '-sha256', ...fileArgs] });
  if (have.sha256sum) tools.push({ id: many ? 'find | xargs sha256sum' : 'sha256sum', argv: many ? each('sha256sum') : ['sha256sum', ...fileArgs] });
  if (have.python3) {
    tools.push({ id: 'python hashlib (1 thread)', argv: ['python3', '-c', PY_HASHLIB, model] });
    for (const c of PY_CONFIGS) tools.push({ id: c.id, argv: ['python3', '-c', PY_ENGINE, c.mode, String(c.shard), model] });
  }
  if (have.b3sum) tools.push({ id: 'b3sum (BLAKE3, all cores)', argv: many ? each('b3sum') : ['b3sum', ...fileArgs] });
  return tools;
}

function ensureKey() {
  for (const [prefix, algorithm] of [['bench', 'ed25519'], ['bench-ec', 'ecdsa-p256']]) {
    if (existsSync(join(opts.work, `${prefix}.key`))) continue;
    const r = spawnSync('node', [cli, 'keygen', '--algorithm', algorithm, '-o', join(opts.work, prefix), '--no-passphrase', '--force'], { encoding: 'utf8' });
    if (r.status !== 0) fail(`keygen failed: ${r.stderr}`);
  }
}

/** A trust policy file naming the bench key, for the start-up case's policy-file verify. */
function ensureTrustFile() {
  const file = join(opts.work, 'bench-trust.json');
  if (existsSync(file)) return;
  for (const argv of [['trust', 'init', '-t', file], ['trust', 'add', 'bench', '-p', join(opts.work, 'bench.pub'), '-t', file]]) {
    const r = spawnSync('node', [cli, ...argv], { encoding: 'utf8' });
    if (r.status !== 0) fail(`ms-sign ${argv.join(' ')} failed: ${r.stderr}`);
  }
}

/**
 * `openssl speed [-multi N] -evp sha256` on 16 KiB blocks, in bytes/s: the machine's SHA-256
 * ceiling (no file reads). Best of three: other work on the machine can only lower it.
 */
function opensslSpeed(multi) {
  if (!have.openssl) return undefined;
  const args = ['speed', '-seconds', opts.quick ? '1' : '2', '-bytes', '16384', ...(multi > 1 ? ['-multi', String(multi)] : []), '-evp', 'sha256'];
  let best;
  for (let i = 0; i < 3; i++) {
    const r = spawnSync('openssl', args, { encoding: 'utf8' });
    const line = r.stdout.split('\n').reverse().find((l) => /^sha256\s/.test(l.trim()));
    if (line) best = Math.max(best ?? 0, parseFloat(line.trim().split(/\s+/).pop()) * 1000);
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// What the scan adds to verify (docs/scan.md): verify runs with its default scan, and once more
// with --scan off, for the 4 GiB file (bytes of no known format: target < 5%) and the 20,000 small
// files (target < 20%). Compared on the median CPU time (user + sys) when /usr/bin/time measures
// it, since on a shared machine wall time mostly measures the other processes; wall medians too.

const SCAN_TARGETS = { single: 0.05, small: 0.2 };
const SCAN_OFF = 'ms-sign verify --scan off';

function scanOffTools(name, tools) {
  if (SCAN_TARGETS[name] === undefined) return [];
  const verify = tools.find((t) => t.verify);
  return [{ id: SCAN_OFF, argv: [...verify.argv, '--scan', 'off'], mssign: true }];
}

function scanTargets(cases) {
  const out = [];
  for (const c of cases) {
    const limit = SCAN_TARGETS[c.case];
    const on = c.results.find((r) => r.tool === 'ms-sign verify');
    const off = c.results.find((r) => r.tool === SCAN_OFF);
    if (limit === undefined || !on || !off) continue;
    const cpu = (r) => median(r.runs.map((x) => x.user + x.sys));
    const useCpu = TIME !== undefined;
    const ratio = useCpu ? cpu(on) / cpu(off) : on.wallMedian / off.wallMedian;
    out.push({
      case: c.case,
      target: `scan adds < ${limit * 100}% to verify (${useCpu ? 'CPU' : 'wall'} median ${useCpu ? `${cpu(on).toFixed(2)} s vs ${cpu(off).toFixed(2)} s` : ''}, wall median ${on.wallMedian.toFixed(2)} s vs ${off.wallMedian.toFixed(2)} s; ratio)`,
      value: +ratio.toFixed(3),
      limit: 1 + limit,
      ok: ratio < 1 + limit,
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Running

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function runCase(name) {
  const spec = CASES[name];
  const bytes = spec.files.reduce((n, [, s]) => n + s, 0);
  const created = generate(name);
  warm(name);
  const tools = toolsFor(name);
  // The signature file must exist before the first verify.
  measure(tools[0].argv);
  const omsSign = tools.find((t) => t.id === 'ms-sign sign --format oms');
  if (omsSign) measure(omsSign.argv);
  for (const tool of tools.filter((t) => t.make)) measure(tool.make);
  const runs = new Map(tools.map((t) => [t.id, []]));
  for (let r = 0; r < opts.runs; r++) {
    // Round-robin, so that noise from other work on the machine hits every tool alike.
    for (const tool of tools) {
      runs.get(tool.id).push(measure(tool.argv));
      process.stderr.write('.');
    }
  }
  process.stderr.write('\n');
  const results = tools.map((tool) => {
    const rs = runs.get(tool.id);
    const best = rs.reduce((a, b) => (b.wall < a.wall ? b : a));
    return {
      tool: tool.id,
      wallBest: best.wall,
      wallMedian: median(rs.map((r) => r.wall)),
      cpuBest: best.user === undefined ? undefined : best.user + best.sys,
      // The least CPU any run took (user + system): steadier than wall time on a shared machine.
      cpuMin: best.user === undefined ? undefined : Math.min(...rs.map((r) => r.user + r.sys)),
      cpuSecondsPerGB: best.user === undefined ? undefined : Math.min(...rs.map((r) => r.user + r.sys)) / (bytes / 1e9),
      throughputBest: bytes / best.wall,
      rssMiBMax: TIME ? Math.max(...rs.map((r) => r.rssMiB)) : undefined,
      otherLoadAtBest: best.otherLoad,
      otherLoadMax: TIME ? Math.max(...rs.map((r) => r.otherLoad ?? 0)) : undefined,
      runs: rs,
    };
  });
  if (created && !opts.keep) rmSync(caseDir(name), { recursive: true, force: true });
  return { case: name, title: spec.title, files: spec.files.length, bytes, results };
}

// ---------------------------------------------------------------------------------------------
// Report

const fmtBytesRate = (bps) => (bps >= 1e9 ? `${(bps / 1e9).toFixed(2)} GB/s` : `${(bps / 1e6).toFixed(0)} MB/s`);

function table(cases) {
  const rows = [['case', 'tool', 'best s', 'median s', 'throughput', 'peak RSS', 'CPU s', 'CPU s/GB', 'other load', 'verify speed-up']];
  for (const c of cases) {
    const verify = c.results.find((r) => r.tool === 'ms-sign verify');
    for (const r of c.results) {
      rows.push([
        c.title,
        r.tool,
        r.wallBest.toFixed(3),
        r.wallMedian.toFixed(3),
        fmtBytesRate(r.throughputBest),
        r.rssMiBMax === undefined ? 'n/a' : `${r.rssMiBMax.toFixed(0)} MiB`,
        r.cpuBest === undefined ? 'n/a' : r.cpuBest.toFixed(2),
        r.cpuSecondsPerGB === undefined || c.bytes < 64 * MiB ? '' : r.cpuSecondsPerGB.toFixed(3),
        r.otherLoadAtBest === undefined ? 'n/a' : r.otherLoadAtBest.toFixed(2),
        r === verify || !verify ? '' : `${(r.wallBest / verify.wallBest).toFixed(2)}x`,
      ]);
    }
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r) => `| ${r.map((cell, i) => cell.padEnd(widths[i])).join(' | ')} |`;
  return [line(rows[0]), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

/** The targets of issue 14 (and the OMS case's), each as a ratio with its limit. */
function targets(cases, ceiling, perCore) {
  const out = [];
  const get = (c, tool) => c.results.find((r) => r.tool === tool);
  const push = (c, target, value, limit, ok) => out.push({ case: c.case, target, value: +value.toFixed(3), limit, ok });
  for (const c of cases) {
    const verify = get(c, 'ms-sign verify');
    if (!verify) continue;
    const engines = c.results.filter((r) => isPyEngine(r.tool));
    const bestEngine = engines.length ? engines.reduce((a, b) => (b.wallBest < a.wallBest ? b : a)) : undefined;
    if (c.case === 'single' || c.case === 'shards') {
      if (ceiling) push(c, 'verify throughput >= 0.85 of openssl speed -multi', verify.throughputBest / ceiling, 0.85, verify.throughputBest >= 0.85 * ceiling);
      if (bestEngine) push(c, `verify >= 1.15x faster than the best python engine (${bestEngine.tool})`, bestEngine.wallBest / verify.wallBest, 1.15, bestEngine.wallBest >= 1.15 * verify.wallBest);
      const py = get(c, 'python hashlib (1 thread)');
      if (py) out.push({ case: c.case, target: 'verify >= 1.7x python hashlib throughput', value: +(verify.throughputBest / py.throughputBest).toFixed(3), limit: 1.7, ok: verify.throughputBest >= 1.7 * py.throughputBest });
      // An OMS files-mode digest is one SHA-256 stream per file: it cannot use more than one core
      // per file, so its yardstick is a single-threaded hash of the same bytes.
      const oms = get(c, 'ms-sign verify (OMS bundle)');
      if (oms && py) out.push({ case: c.case, target: 'OMS verify >= 0.9x python hashlib (one SHA-256 stream per file)', value: +(oms.throughputBest / py.throughputBest).toFixed(3), limit: 0.9, ok: oms.throughputBest >= 0.9 * py.throughputBest });
    }
    if (c.case === 'oms2g') {
      // Same engine, same bytes: a shards bundle verifies as fast as a native signature (parallel
      // shards), and a files bundle costs the same CPU, its wall time bounded by one core's SHA-256.
      const shards = get(c, OMS_SHARDS_VERIFY);
      const files = get(c, 'ms-sign verify (OMS bundle)');
      if (shards) out.push({ case: c.case, target: 'OMS shards verify wall <= 1.15x native verify', value: +(shards.wallBest / verify.wallBest).toFixed(3), limit: 1.15, ok: shards.wallBest <= 1.15 * verify.wallBest });
      if (files && files.cpuBest !== undefined) {
        out.push({ case: c.case, target: 'OMS files verify CPU <= 1.15x native verify CPU', value: +(files.cpuBest / verify.cpuBest).toFixed(3), limit: 1.15, ok: files.cpuBest <= 1.15 * verify.cpuBest });
      }
      if (files && perCore) {
        const oneCore = c.bytes / perCore;
        out.push({ case: c.case, target: 'OMS files verify wall <= 1.3x one core SHA-256 of the file (openssl speed)', value: +(files.wallBest / oneCore).toFixed(3), limit: 1.3, ok: files.wallBest <= 1.3 * oneCore });
      }
    }
    if (c.case === 'small') {
      const xargs = get(c, 'find | xargs sha256sum');
      if (xargs) push(c, 'verify wall <= 1.2x find | xargs sha256sum', verify.wallBest / xargs.wallBest, 1.2, verify.wallBest <= 1.2 * xargs.wallBest);
      if (bestEngine) push(c, `verify >= 2x faster than the best python engine (${bestEngine.tool})`, bestEngine.wallBest / verify.wallBest, 2, bestEngine.wallBest >= 2 * verify.wallBest);
    }
    if (c.case === 'copy') {
      const copy = get(c, 'ms-sign exec --copy');
      if (copy) push(c, 'exec --copy wall <= 1.3x verify', copy.wallBest / verify.wallBest, 1.3, copy.wallBest <= 1.3 * verify.wallBest);
    }
    if (c.case === 'startup' || c.case === 'startup20m') {
      const node = get(c, 'node -e 0');
      for (const r of c.results.filter((x) => x.tool.startsWith('ms-sign verify'))) push(c, `${r.tool} wall <= 1.4x node -e 0`, r.wallBest / node.wallBest, 1.4, r.wallBest <= 1.4 * node.wallBest);
      for (const r of c.results.filter((x) => x.tool.startsWith('ms-sign --version'))) push(c, `${r.tool} wall <= 1.1x node -e 0`, r.wallBest / node.wallBest, 1.1, r.wallBest <= 1.1 * node.wallBest);
    }
    for (const r of c.results.filter((x) => x.tool.startsWith('ms-sign') && x.rssMiBMax !== undefined && !x.tool.includes('--version'))) {
      push(c, `${r.tool} peak RSS < 200 MiB`, r.rssMiBMax, 200, r.rssMiBMax < 200);
    }
  }
  return out;
}

mkdirSync(opts.work, { recursive: true });
ensureKey();
ensureTrustFile();
const started = new Date();
const load = { before: loadavg() };
const cores = availableParallelism();
process.stderr.write(`measuring the ceiling: openssl speed -multi ${cores} -evp sha256 ... `);
const ceiling = opensslSpeed(cores);
const perCore = opensslSpeed(1);
process.stderr.write(ceiling ? `${fmtBytesRate(ceiling)} (one core ${fmtBytesRate(perCore)})\n` : 'openssl not found\n');
const cases = [];
for (const name of opts.cases) cases.push(runCase(name));
load.after = loadavg();

const checks = [...targets(cases, ceiling, perCore), ...scanTargets(cases)];
const report = {
  date: started.toISOString(),
  command: `node scripts/bench.mjs ${process.argv.slice(2).join(' ')}`.trim(),
  machine: {
    cores,
    cpu: cpus()[0]?.model,
    memoryGiB: +(totalmem() / GiB).toFixed(1),
    node: process.version,
    openssl: have.openssl && versionOf(['openssl', 'version']),
    python: have.python3 && versionOf(['python3', '--version']),
    sha256sum: have.sha256sum && versionOf(['sha256sum', '--version']),
    b3sum: have.b3sum && versionOf(['b3sum', '--version']),
    loadavg: load,
  },
  ceiling: { opensslSpeedMulti: ceiling, opensslSpeedOneCore: perCore, cores },
  // Issue 15: the binaries' and the bundle's size beside their start-up times (null when not built).
  artifacts: Object.fromEntries([['bundle', bundle], ['binary-x64', binary], ['binary-arm64', binary.replace(/x64$/, 'arm64')]].map(([k, f]) => [k, existsSync(f) ? statSync(f).size : null])),
  options: { quick: opts.quick, runs: opts.runs, threads: opts.threads ?? null, shardSize: opts.shardSize ?? null },
  cases,
  targets: checks,
};
mkdirSync(dirname(opts.out), { recursive: true });
writeFileSync(opts.out, `${JSON.stringify(report, null, 2)}\n`);
rmSync(timeOut(), { force: true });

console.log(`\nms-sign benchmark, ${report.date}, ${cores} cores (${report.machine.cpu}), ${report.machine.node}, warm page cache, best of ${opts.runs}`);
console.log(`ceiling: openssl speed -multi ${cores} -evp sha256 = ${ceiling ? fmtBytesRate(ceiling) : 'n/a'}; one core ${perCore ? fmtBytesRate(perCore) : 'n/a'}`);
console.log(`artifacts: ${Object.entries(report.artifacts).map(([k, n]) => `${k} ${n === null ? 'not built' : `${(n / MiB).toFixed(1)} MiB`}`).join(', ')}`);
console.log(`load average before ${load.before.map((x) => x.toFixed(2)).join(' ')}, after ${load.after.map((x) => x.toFixed(2)).join(' ')}; "other load" = cores busy with other processes during the best run\n`);
console.log(table(cases));
console.log(`\ntargets${opts.quick ? ' (set for the full inputs: --quick runs are dominated by start-up and only show that everything works)' : ''}:`);
for (const t of checks) console.log(`  ${t.ok ? "PASS" : "MISS"}  ${t.case}: ${t.target}: ${t.value} (limit ${t.limit})`);
console.log(`\nJSON: ${relative(process.cwd(), opts.out)}`);
