#!/usr/bin/env node
// Benchmark: the bundled action (dist/index.js, our own BuildKit client) against
// BuildKit's Go client (buildctl), on the same daemon, doing the same work.
//
//   BUILDKIT_HOST=tcp://127.0.0.1:1234 npm run bench
//
// Environment:
//   BUILDKIT_HOST  daemon address (required)
//   BUILDCTL       buildctl binary (default: `buildctl` from PATH)
//   BENCH_ROUNDS   measured rounds (default 3); medians are reported
//   BENCH_TINY_REPEATS cached tiny rebuilds per tool and round (default 3):
//                  a rebuild takes ~0.15 s and varies by tens of ms from one
//                  run to the next, so its median is taken over rounds x
//                  repeats samples (each tool's rebuilds follow its own first
//                  build; the order of the tools alternates per round),
//                  and as many bare process starts (`node -e 0` for the
//                  action, `buildctl --version`): the floor of a rebuild
//   BENCH_SCALE    0 < scale <= 1 shrinks the contexts for a quick run
//   BENCH_KEEP     1 keeps the generated contexts (temp dir) afterwards
//   BENCH_KEEP_CACHE 1 keeps the daemon's cache records of the benchmark
//                  builds (by default they are pruned at the end: every
//                  round leaves about 4 GB behind)
//   BENCH_ACTION   another build of the action to run instead of dist/index.js
//   BENCH_ACTION_BEFORE a second build of the action, measured in the same
//                  rounds as "ours-before" (before/after a change)
//   BENCH_CONTEXTS which measurements to run, comma-separated (default
//                  tiny,small,large: T, A and B below; `envd` is opt-in)
//   BUILDCTL_NEWEST a second, newer buildctl measured as a third client on
//                  the same daemon (skipped when it is the same binary)
//   BENCH_NODE     the Node.js that runs the action (default: the one running
//                  the benchmark); scripts/action-node.sh prints one of the
//                  version action.yml declares (what GitHub runs it on)
//   BENCH_NODE_BEFORE the Node.js that runs "ours-before" (default BENCH_NODE);
//                  with it and no BENCH_ACTION_BEFORE, ours-before is the
//                  same build on that Node.js (one runtime against another)
//   BENCH_OUT      where to write the raw results (JSON)
//   BUILDKITD_PID, BUILDKITD_TLS_PID  the plain and mutual-TLS daemons'
//                  process IDs (scripts/peers.sh env prints them): the CPU
//                  each daemon spends during a build is recorded too
//   For `envd`: ENVD_BIN, E2E_REGISTRY, BUILDKIT_TLS_HOST, BUILDKIT_TLS_DIR
//                  (BUILDKIT_TLS_SERVER_NAME), as scripts/peers.sh env prints,
//                  and go (it builds bench/tls-relay, the control: envd
//                  through a compiled TLS relay to the mutual-TLS daemon).
//
// bench/peers.mjs runs this once per provisioned daemon version (the real
// peers) and writes one table per version into BENCHMARKS.md.
//
// What is measured, per round (the tools alternate; who goes first alternates
// per round):
//   * first transfer of a fresh copy of each context (A: 5,000 small files,
//     B: 20 x 50 MiB). Transfer time is the daemon's own span of the
//     "[internal] load build context" vertex, read back from the daemon's
//     build history (`buildctl debug monitor` / `debug get` of the OTLP trace):
//     the same clock and the same definition for both clients. The whole
//     process wall time is recorded as well.
//   * a fully cached rebuild (same directory, second build), as whole-process
//     wall time, on a tiny context (T) and on A.
//   * peak RSS (VmHWM, polled from /proc every 20 ms) of both processes while
//     sending B (~1 GiB).
// Both tools build the same Dockerfile (the context is copied in a throw-away
// stage; the image is a single small file, so exporting stays cheap) and both
// export an image without pushing it. Every first build gets a fresh copy of
// its context (new path, new mtimes); our action then starts from an empty
// daemon-side copy (its shared key derives from the path), and so does
// buildctl: its shared copies are pruned before each of its first builds (see
// resetBuildctlCopies). The cache records the run created are pruned at the end.
//
// Raw results: <os.tmpdir()>/envd-remote-build-bench/latest.json
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { positiveInt } from './settings.mjs';

const execFileP = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const DIST = path.resolve(process.env.BENCH_ACTION || path.join(HERE, '../dist/index.js'));
const MiB = 1024 * 1024;
/** The Node.js that runs the action; buildctl and the benchmark itself are not affected. */
const ACTION_NODE = process.env.BENCH_NODE?.trim() || process.execPath;
const BEFORE_NODE = process.env.BENCH_NODE_BEFORE?.trim() || ACTION_NODE;
const BEFORE = process.env.BENCH_ACTION_BEFORE?.trim() ? path.resolve(process.env.BENCH_ACTION_BEFORE.trim()) : BEFORE_NODE !== ACTION_NODE ? DIST : null;

// ---------------------------------------------------------------- settings

function die(message) {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(2);
}

const HOST = process.env.BUILDKIT_HOST?.trim();
if (!HOST) {
  die('BUILDKIT_HOST is not set. Point it at the buildkitd to benchmark against, e.g.\n  BUILDKIT_HOST=tcp://127.0.0.1:1234 npm run bench');
}
const ROUNDS = positiveInt('BENCH_ROUNDS', 3, die);
const TINY_REPEATS = positiveInt('BENCH_TINY_REPEATS', 3, die);
const SCALE = (() => {
  const raw = process.env.BENCH_SCALE;
  if (raw === undefined || raw === '') return 1;
  const v = Number(raw);
  if (!(v > 0 && v <= 1)) die(`BENCH_SCALE must be a number in (0, 1], got "${raw}"`);
  return v;
})();
const BUILDCTL = findBuildctl();
const BUILDCTL_NEWEST = (() => {
  const raw = process.env.BUILDCTL_NEWEST?.trim();
  if (!raw) return null;
  if (!existsSync(raw)) die(`BUILDCTL_NEWEST=${raw} does not exist`);
  return realpathSync(raw) === realpathSync(BUILDCTL) ? null : raw;
})();
const CONTEXTS = new Set((process.env.BENCH_CONTEXTS || 'tiny,small,large').split(',').map((c) => c.trim()).filter(Boolean));
for (const c of CONTEXTS) if (!['tiny', 'small', 'large', 'envd'].includes(c)) die(`BENCH_CONTEXTS: unknown context "${c}" (tiny, small, large, envd)`);
const ENVD = CONTEXTS.has('envd') ? envdSettings() : null;

function envdSettings() {
  const need = ['ENVD_BIN', 'E2E_REGISTRY', 'BUILDKIT_TLS_HOST', 'BUILDKIT_TLS_DIR'];
  const missing = need.filter((k) => !process.env[k]?.trim());
  if (missing.length) die(`BENCH_CONTEXTS=envd needs ${missing.join(', ')} (scripts/peers.sh env VERSION prints them)`);
  const bin = process.env.ENVD_BIN.trim();
  if (!existsSync(bin)) die(`ENVD_BIN=${bin} does not exist`);
  for (const f of ['/bin/busybox', '/bin/bash-static']) if (!existsSync(f)) die(`${f} is missing (the envd base image needs it: apt-get install busybox-static bash-static)`);
  return {
    bin,
    version: process.env.ENVD_VERSION?.trim() ? `v${process.env.ENVD_VERSION.trim().replace(/^v/, '')}` : 'v1.3.4',
    registry: process.env.E2E_REGISTRY.trim(),
    tlsHost: process.env.BUILDKIT_TLS_HOST.trim(),
    tlsDir: process.env.BUILDKIT_TLS_DIR.trim(),
    tlsServerName: process.env.BUILDKIT_TLS_SERVER_NAME?.trim() || 'buildkitd.internal',
  };
}
if (!existsSync(DIST)) die(`${DIST} does not exist: run \`npm run build\` first`);
if (BEFORE && !existsSync(BEFORE)) die(`BENCH_ACTION_BEFORE=${BEFORE} does not exist`);
if (!existsSync(ACTION_NODE)) die(`BENCH_NODE=${ACTION_NODE} does not exist`);
if (!existsSync(BEFORE_NODE)) die(`BENCH_NODE_BEFORE=${BEFORE_NODE} does not exist`);

function findBuildctl() {
  const explicit = process.env.BUILDCTL?.trim();
  if (explicit) {
    if (!existsSync(explicit)) die(`BUILDCTL=${explicit} does not exist`);
    return explicit;
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'buildctl');
    if (dir && existsSync(candidate)) return candidate;
  }
  return die('buildctl was not found in PATH: set BUILDCTL=/path/to/buildctl (the comparison needs it)');
}

// ---------------------------------------------------------------- contexts

const SMALL_FILES = Math.max(10, Math.round(5000 * SCALE));
const LARGE_FILES = 20;
const LARGE_FILE_BYTES = Math.max(MiB, Math.round(50 * MiB * SCALE));

/** Deterministic-enough filler: slices of one random pool, each block stamped. */
const POOL = randomBytes(8 * MiB);

async function generateSmall(dir) {
  // 25 top directories x 10 subdirectories, files spread evenly: nested, like a source tree.
  let bytes = 0;
  for (let i = 0; i < SMALL_FILES; i++) {
    const top = i % 25;
    const sub = Math.floor(i / 25) % 10;
    const d = path.join(dir, `pkg${String(top).padStart(2, '0')}`, `mod${sub}`);
    if (i < 250) await mkdir(d, { recursive: true });
    const size = 1024 + ((i * 2654435761) % 3073); // 1-4 KiB
    const offset = (i * 40503) % (POOL.length - size);
    await writeFile(path.join(d, `file${String(i).padStart(5, '0')}.txt`), POOL.subarray(offset, offset + size));
    bytes += size;
  }
  return { files: SMALL_FILES, bytes };
}

async function generateLarge(dir) {
  await mkdir(dir, { recursive: true });
  const block = Buffer.allocUnsafe(MiB);
  for (let f = 0; f < LARGE_FILES; f++) {
    const fh = await open(path.join(dir, `blob${String(f).padStart(2, '0')}.bin`), 'w');
    try {
      for (let written = 0; written < LARGE_FILE_BYTES; ) {
        const n = Math.min(MiB, LARGE_FILE_BYTES - written);
        const offset = ((f * 1000003 + written / MiB * 7919) * 4099) % (POOL.length - MiB);
        POOL.copy(block, 0, offset, offset + n);
        block.writeUInt32LE(f, 0);
        block.writeUInt32LE(written / MiB, 4);
        await fh.write(block, 0, n);
        written += n;
      }
    } finally {
      await fh.close();
    }
  }
  return { files: LARGE_FILES, bytes: LARGE_FILES * LARGE_FILE_BYTES };
}

async function generateTiny(dir) {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'hello.txt'), 'hello\n');
  return { files: 1, bytes: 6 };
}

/**
 * Names the throw-away stage, so the daemon's cache records of its COPY
 * (one full copy of the context per build) can be pruned afterwards.
 */
const STAGE = 'envd-bench-ctx';

/** The same Dockerfile for both tools; `marker` names the final file so the build can be found in the daemon's history. */
function dockerfile(marker) {
  return `FROM scratch AS ${STAGE}\nCOPY . /ctx\nFROM scratch\nCOPY --from=${STAGE} /ctx/Dockerfile /${marker}\n`;
}

let copyCounter = 0;
/** A fresh copy of a template (new path, new mtimes), with its own Dockerfile. */
async function freshCopy(work, template, label) {
  const marker = `bench-${label}-${++copyCounter}-${randomBytes(4).toString('hex')}`;
  const dest = path.join(work, 'runs', marker);
  await mkdir(path.dirname(dest), { recursive: true });
  await execFileP('cp', ['-r', template, dest]); // no -p: every mtime is new
  await writeFile(path.join(dest, 'Dockerfile'), dockerfile(marker));
  return { dir: dest, marker };
}

// ---------------------------------------------------------------- running

const CLOCK_TICK_MS = 10; // USER_HZ is 100 on Linux
/**
 * CPU (user + system, ms) of the children this process has waited for:
 * fields cutime and cstime of /proc/self/stat. The benchmark runs one child
 * at a time, so the difference across one run is that child's CPU, with the
 * CPU of the processes it waited for itself (envd, for the action).
 */
function childrenCpuMs() {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); cutime and cstime are fields 16 and 17.
    return (Number(fields[13]) + Number(fields[14])) * CLOCK_TICK_MS;
  } catch {
    return NaN;
  }
}

/**
 * CPU (user + system, ms) the daemon has used so far (fields utime and stime
 * of /proc/PID/stat), for BUILDKITD_PID (plain daemon) or BUILDKITD_TLS_PID:
 * whether a client makes the daemon work harder for the same build. NaN when
 * the pid is unknown or not readable.
 */
function processCpuMs(pid) {
  if (!pid) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_MS;
  } catch {
    return NaN;
  }
}

/** Spawns a process, polls its RSS, and resolves when it exits (with its wall time and CPU). */
function measure(command, args, env, opts = {}) {
  return new Promise((resolve, reject) => {
    const cpuBefore = childrenCpuMs();
    const daemonPid = opts.daemonPid ?? process.env.BUILDKITD_PID;
    const daemonBefore = processCpuMs(daemonPid);
    const started = performance.now();
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'], ...(opts.cwd ? { cwd: opts.cwd } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout.length < 4 * MiB ? (stdout += d) : undefined));
    child.stderr.on('data', (d) => (stderr.length < 4 * MiB ? (stderr += d) : undefined));
    let peakKb = 0;
    const sample = () => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        for (const key of ['VmHWM', 'VmRSS']) {
          const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status);
          if (m) peakKb = Math.max(peakKb, Number(m[1]));
        }
      } catch {
        // exited between samples, or no /proc
      }
    };
    const timer = setInterval(sample, 20);
    let wallMs;
    let cpuMs;
    let daemonCpuMs;
    child.on('exit', () => {
      wallMs = performance.now() - started;
      cpuMs = childrenCpuMs() - cpuBefore;
      daemonCpuMs = processCpuMs(daemonPid) - daemonBefore;
      clearInterval(timer);
    });
    child.on('error', (err) => {
      clearInterval(timer);
      reject(err);
    });
    child.on('close', (code) => resolve({ code, wallMs, cpuMs, daemonCpuMs: Number.isFinite(daemonCpuMs) ? daemonCpuMs : null, peakRssMb: peakKb ? peakKb / 1024 : null, stdout, stderr }));
    sample();
  });
}

let runCounter = 0;
async function runOurs(work, dir, tag, extra = {}) {
  const files = path.join(work, 'gh', String(++runCounter));
  await mkdir(files, { recursive: true });
  const names = { GITHUB_OUTPUT: 'output', GITHUB_STATE: 'state', GITHUB_STEP_SUMMARY: 'summary', GITHUB_ENV: 'env', GITHUB_PATH: 'path' };
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    RUNNER_TEMP: path.join(files, 'runner-temp'),
    RUNNER_TOOL_CACHE: path.join(files, 'tool-cache'),
    GITHUB_WORKSPACE: dir,
    GITHUB_ACTIONS: 'true',
    GITHUB_JOB: 'bench',
    GITHUB_RUN_ID: String(process.pid),
    GITHUB_RUN_ATTEMPT: '1',
    INPUT_BUILDER: HOST,
    INPUT_CONTEXT: dir,
    INPUT_TAGS: tag,
    INPUT_PUSH: 'false',
    INPUT_FALLBACK: 'never',
    ...extra.env,
  };
  for (const [key, name] of Object.entries(names)) {
    env[key] = path.join(files, name);
    await writeFile(env[key], '');
  }
  const r = await measure(extra.node ?? ACTION_NODE, [extra.action ?? DIST], env, { daemonPid: extra.daemonPid });
  const output = await readFile(env.GITHUB_OUTPUT, 'utf8');
  // The runner's file-command format: `digest<<DELIM` heredoc (or `digest=...`).
  if (r.code !== 0 || (!extra.noDigest && !/^digest(?:=|<<.*\n)sha256:[0-9a-f]{64}$/m.test(output))) {
    throw new Error(`the action failed (exit ${r.code}) on ${dir}:\n${tail(r.stdout + r.stderr)}`);
  }
  return r;
}

async function runBuildctl(work, dir, tag, bin = BUILDCTL, tool = 'buildctl') {
  const refFile = path.join(work, 'gh', `ref-${++runCounter}`);
  await mkdir(path.dirname(refFile), { recursive: true });
  const args = ['--addr', HOST, 'build', '--frontend', 'dockerfile.v0', '--local', `context=${dir}`, '--local', `dockerfile=${dir}`];
  args.push('--output', `type=image,name=${tag}`, '--progress', 'plain', '--ref-file', refFile);
  const before = new Map((await localCopies()).map((c) => [c.id, c.lastUsed]));
  const r = await measure(bin, args, process.env);
  // Its copies: the records of local directories that this build created or used.
  buildctlCopies.set(tool, (await localCopies()).filter((c) => before.get(c.id) !== c.lastUsed).map((c) => c.id));
  if (r.code !== 0) throw new Error(`buildctl failed (exit ${r.code}) on ${dir}:\n${tail(r.stdout + r.stderr)}`);
  return { ...r, ref: (await readFile(refFile, 'utf8')).trim() };
}

/** Per buildctl tool: IDs of the daemon-side directory copies its latest build used. */
const buildctlCopies = new Map();

/** The daemon's copies of local directories ("local source for ..." records). */
async function localCopies() {
  return (await cacheRecords()).filter((r) => r.description.startsWith('local source for '));
}

function tail(text) {
  return text.trim().split('\n').slice(-20).join('\n');
}

/** Largest "transferring ... <size>" figure in a progress log, in bytes (a sanity check that the context was sent). */
function transferredBytes(log) {
  const units = { B: 1, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 };
  let max = 0;
  for (const m of log.matchAll(/transferring (?:context: )?([\d.]+)\s*(B|kB|KB|MB|GB|TB)\b/g)) max = Math.max(max, Number(m[1]) * units[m[2]]);
  return max;
}

/** Steps reported as cached ("#N CACHED"), both tools print them the same way. */
function cachedSteps(log) {
  return (log.match(/^#\d+ CACHED\s*$/gm) ?? []).length;
}

// ---------------------------------------------------------------- daemon history

/** Completed builds in the daemon's history: ref and trace blob digest. */
async function historyRecords() {
  const out = await new Promise((resolve) => {
    const child = spawn(BUILDCTL, ['--addr', HOST, 'debug', 'monitor', '--completed'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let text = '';
    let quiet;
    const stop = () => child.kill('SIGTERM');
    const hard = setTimeout(stop, 5000);
    const idle = setTimeout(stop, 1500); // nothing at all: empty history
    child.stdout.on('data', (d) => {
      text += d;
      clearTimeout(idle);
      clearTimeout(quiet);
      quiet = setTimeout(stop, 300); // the completed list arrives at once, then it waits for new events
    });
    child.on('close', () => {
      clearTimeout(hard);
      clearTimeout(idle);
      clearTimeout(quiet);
      resolve(text);
    });
    child.on('error', () => resolve(text));
  });
  const records = [];
  for (const block of out.split(/^event: /m).slice(1)) {
    const ref = /ref:(\S+)/.exec(block)?.[1];
    const trace = /trace: .*?digest:"(sha256:[0-9a-f]{64})"/.exec(block)?.[1];
    if (ref) records.push({ ref, trace });
  }
  return records;
}

const spanCache = new Map();
/** Spans of a build's OTLP trace (a stream of JSON objects): name, start and end in ms. */
async function traceSpans(digest) {
  if (spanCache.has(digest)) return spanCache.get(digest);
  const { stdout } = await execFileP(BUILDCTL, ['--addr', HOST, 'debug', 'get', digest], { maxBuffer: 256 * MiB });
  const spans = jsonObjects(stdout).map((s) => ({ name: s.Name, start: timeMs(s.StartTime), end: timeMs(s.EndTime) }));
  spanCache.set(digest, spans);
  return spans;
}

function jsonObjects(text) {
  const out = [];
  let depth = 0;
  let inString = false;
  let escaped = false;
  let start = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') {
      if (depth++ === 0) start = i;
    } else if (c === '}' && --depth === 0) out.push(JSON.parse(text.slice(start, i + 1)));
  }
  return out;
}

/** RFC 3339 with nanoseconds → milliseconds (fractional). */
function timeMs(s) {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(s ?? '');
  if (!m) return NaN;
  return Date.parse(`${m[1]}${m[3]}`) + (m[2] ? Number(`0.${m[2]}`) * 1000 : 0);
}

const seenRefs = new Set();
/**
 * The daemon's timings for one build, found by ref (buildctl) or by the
 * Dockerfile marker in its step names (our action does not print its ref).
 */
async function daemonTimings({ ref, marker }) {
  for (let attempt = 0; attempt < 10; attempt++) {
    const records = await historyRecords();
    const candidates = ref ? records.filter((r) => r.ref === ref) : records.filter((r) => !seenRefs.has(r.ref));
    for (const record of candidates) {
      if (!record.trace) continue;
      const spans = await traceSpans(record.trace);
      if (!ref && !spans.some((s) => s.name?.includes(marker))) continue;
      if (!ref) seenRefs.add(record.ref);
      const duration = (name) => {
        const matching = spans.filter((s) => s.name === name).map((s) => s.end - s.start);
        return matching.length ? Math.max(...matching) : null;
      };
      return {
        ref: record.ref,
        contextMs: duration('[internal] load build context'),
        diffCopyMs: duration('moby.filesync.v1.FileSync/DiffCopy'),
        solveMs: duration('moby.buildkit.v1.Control/Solve'),
      };
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return null;
}

/** The daemon's cache records, from `buildctl du --verbose`. */
async function cacheRecords() {
  const { stdout } = await execFileP(BUILDCTL, ['--addr', HOST, 'du', '--verbose'], { maxBuffer: 256 * MiB });
  const time = (text) => Date.parse(text.replace(/^(\S+) (\S+) .*$/, '$1T$2Z'));
  return stdout.split(/\n\s*\n/).map((block) => {
    const field = (name) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(block)?.[1]?.trim() ?? '';
    return { id: field('ID'), description: field('Description'), size: sizeBytes(field('Size')), created: time(field('Created at')), lastUsed: time(field('Last used')) };
  }).filter((r) => r.id);
}

async function pruneRecords(ids) {
  // By ID: this daemon's prune ignores description filters.
  for (let i = 0; i < ids.length; i += 50) {
    const filters = ids.slice(i, i + 50).flatMap((id) => ['--filter', `id==${id}`]);
    await execFileP(BUILDCTL, ['--addr', HOST, 'prune', ...filters], { maxBuffer: 64 * MiB });
  }
}

/**
 * buildctl keeps its received copy of each local directory in one cache
 * record per local name ("context", "dockerfile"), shared by all its builds
 * (its session has an empty shared key), while our action keys the copy on
 * the directory path, so a fresh directory starts from an empty copy. On this
 * daemon a long-used copy makes buildctl's transfers several times slower
 * (5,000 files: ~3.5 s instead of ~0.9 s after a few hundred builds). For
 * the same starting point, the copies buildctl's previous build used (the
 * records it created or touched, seen by comparing `buildctl du` before and
 * after it) are pruned before each of its first transfers. Returns how many.
 */
async function resetBuildctlCopies() {
  // Both buildctls use the same (empty) shared key: one's copies are the other's too.
  const ids = [...new Set([...buildctlCopies.values()].flat())];
  buildctlCopies.clear();
  await pruneRecords(ids);
  return ids.length;
}

/**
 * Removes the daemon's cache records this run created: the layers of the
 * benchmark's Dockerfile (named after STAGE; the first holds a full copy of
 * the context) and the big copies of our contexts (records of the local
 * "context" created since the run began, 10 MB and up; other clients' build
 * contexts on a shared daemon are small, and losing one only costs them a
 * full transfer next time). Records in use are never pruned.
 */
async function pruneOwnCache(since) {
  try {
    const mine = (await cacheRecords()).filter(
      (r) =>
        r.description.includes(STAGE) ||
        // envd's context is "build-context"; its copy of data/ lands in /opt/data.
        (['local source for context', 'local source for build-context'].includes(r.description) && r.created >= since && r.size >= 10e6) ||
        (ENVD !== null && r.description.includes('/opt/data') && r.created >= since),
    );
    await pruneRecords(mine.map((r) => r.id));
    const gb = mine.reduce((sum, r) => sum + r.size, 0) / 1e9;
    console.log(`pruned ${mine.length} cache records of this run on the daemon (${gb.toFixed(1)} GB)`);
  } catch (err) {
    console.log(`could not prune this run's cache records: ${err.message.split('\n')[0]}`);
  }
}

function sizeBytes(text) {
  const m = /^([\d.]+)\s*(B|kB|KB|MB|GB|TB)$/.exec(text ?? '');
  return m ? Number(m[1]) * { B: 1, kB: 1e3, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 }[m[2]] : 0;
}

// ---------------------------------------------------------------- statistics and report

function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/**
 * Ours against `other` round by round, for one kind of sample (the daemon's
 * span): the ratio within each round (min, median, max) and the rounds ours
 * was faster in. Null without a round that has both.
 */
function roundByRound(samples, kind, other) {
  const spans = new Map();
  for (const s of samples) {
    const ms = s.daemon?.contextMs;
    if (s.kind !== kind || !Number.isFinite(ms) || (s.tool !== 'ours' && s.tool !== other)) continue;
    spans.set(s.round, { ...spans.get(s.round), [s.tool]: ms });
  }
  const ratios = [...spans.values()].filter((r) => r.ours !== undefined && r[other] !== undefined).map((r) => r.ours / r[other]);
  if (!ratios.length) return null;
  return { min: Math.min(...ratios), median: median(ratios), max: Math.max(...ratios), faster: ratios.filter((r) => r < 1).length, rounds: ratios.length };
}

function spread(values, digits = 0) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x));
  return v.length ? `${fmt(Math.min(...v), digits)}–${fmt(Math.max(...v), digits)}` : 'n/a';
}

function fmt(x, digits = 0) {
  if (x === null || x === undefined || !Number.isFinite(x)) return 'n/a';
  return x.toFixed(digits);
}

function pad(s, n, left = false) {
  s = String(s);
  return left ? s.padStart(n) : s.padEnd(n);
}

// ---------------------------------------------------------------- main

async function versions() {
  const run = async (args, bin = BUILDCTL) => {
    try {
      return (await execFileP(bin, args, { timeout: 20_000 })).stdout.trim();
    } catch (err) {
      return `unknown (${err.message.split('\n')[0]})`;
    }
  };
  return {
    node: ACTION_NODE === process.execPath ? process.version : await run(['--version'], ACTION_NODE),
    ...(BEFORE_NODE !== ACTION_NODE ? { nodeBefore: await run(['--version'], BEFORE_NODE) } : {}),
    buildctl: await run(['--version']),
    ...(BUILDCTL_NEWEST ? { buildctlNewest: await run(['--version'], BUILDCTL_NEWEST) } : {}),
    daemon: (await run(['--addr', HOST, 'debug', 'info'])).split('\n')[0].replace(/^BuildKit:\s*/, '').trim(),
    host: HOST,
    cpus: os.availableParallelism?.() ?? os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: +(os.totalmem() / 1024 ** 3).toFixed(1),
    kernel: `${os.type()} ${os.release()}`,
  };
}

/** The tools' names, in the benchmark's base order (rotated per round). */
function toolNames() {
  return ['ours', ...(BEFORE ? ['ours-before'] : []), 'buildctl', ...(BUILDCTL_NEWEST ? ['buildctl-newest'] : [])];
}

/** Round r starts with tool (r - 1) mod n: each tool goes first as often as the others. */
function roundOrder(names, round) {
  const k = (round - 1) % names.length;
  return [...names.slice(k), ...names.slice(0, k)];
}

// ---------------------------------------------------------------- envd

const ENVD_FILES = 20;
const ENVD_FILE_BYTES = Math.max(MiB, Math.round(50 * MiB * SCALE));

/**
 * The envd project: build.envd copying data/ (20 x 50 MiB) into a base image
 * with busybox and bash. The data is a repeated pattern, so the daemon's
 * compression of the resulting layer costs little next to the transfer.
 */
async function generateEnvd(dir, base) {
  const files = ENVD_FILES;
  const fileBytes = ENVD_FILE_BYTES;
  await mkdir(path.join(dir, 'data'), { recursive: true });
  const block = Buffer.alloc(MiB);
  for (let i = 0; i < MiB; i += 64) block.write(`envd-remote-build bench pattern ${String(i).padStart(16, '0')}\n`, i);
  for (let f = 0; f < files; f++) {
    const fh = await open(path.join(dir, 'data', `blob${String(f).padStart(2, '0')}.bin`), 'w');
    try {
      for (let written = 0; written < fileBytes; written += MiB) {
        block.writeUInt32LE(f, 0); // every MiB differs a little
        block.writeUInt32LE(written / MiB, 4);
        await fh.write(block, 0, Math.min(MiB, fileBytes - written));
      }
    } finally {
      await fh.close();
    }
  }
  await writeFile(
    path.join(dir, 'build.envd'),
    ['# syntax=v1', '', 'def build():', `    base(image="${base}", dev=False)`, '    io.copy(source="data", target="/opt/data")', ''].join('\n'),
  );
  return { files, bytes: files * fileBytes };
}

/** Pushes the envd base image (static busybox + bash) to the peers' registry with buildctl. */
async function pushEnvdBase(work) {
  const dir = path.join(work, 'envd-base');
  await mkdir(dir, { recursive: true });
  copyFileSync('/bin/busybox', path.join(dir, 'busybox'));
  copyFileSync('/bin/bash-static', path.join(dir, 'bash'));
  await writeFile(path.join(dir, 'Dockerfile'), 'FROM scratch\nCOPY busybox /bin/busybox\nCOPY bash /bin/bash\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\n');
  const image = `${ENVD.registry}/envd-remote-build-bench/base:${randomBytes(4).toString('hex')}`;
  const args = ['--addr', HOST, 'build', '--frontend', 'dockerfile.v0', '--local', `context=${dir}`, '--local', `dockerfile=${dir}`];
  args.push('--output', `type=image,name=${image},push=true`);
  const r = await measure(BUILDCTL, args, process.env);
  if (r.code !== 0) throw new Error(`pushing the envd base image ${image} failed:\n${tail(r.stdout + r.stderr)}`);
  return image;
}

/** A private HOME with an envd context pointing at `address` (host:port, plain tcp as envd sees it). */
async function envdHome(work, name, address) {
  const home = path.join(work, `envd-${name}-home`);
  await mkdir(home, { recursive: true, mode: 0o700 });
  const env = { ...process.env, HOME: home, ENVD_ANALYTICS: 'false' };
  await execFileP(ENVD.bin, ['context', 'create', '--name', `bench-${name}`, '--builder', 'tcp', '--builder-address', address, '--use'], { env });
  return home;
}

/**
 * The control for the gateway: bench/tls-relay (Go, built here) copies bytes
 * between envd and the mutual-TLS daemon without parsing them. envd has no TLS
 * settings of its own, so this is the cheapest way envd can reach that daemon:
 * what it costs over envd direct is what TLS costs on this machine.
 */
async function startTlsRelay(work) {
  const bin = path.join(work, 'tls-relay');
  const source = path.join(path.dirname(fileURLToPath(import.meta.url)), 'tls-relay');
  try {
    await execFileP('go', ['build', '-o', bin, '.'], { cwd: source, env: { ...process.env, CGO_ENABLED: '0' } });
  } catch (err) {
    die(`BENCH_CONTEXTS=envd builds bench/tls-relay with go, which failed: ${err.message}`);
  }
  const args = ['-upstream', ENVD.tlsHost.replace(/^tcp:\/\//, ''), '-ca', path.join(ENVD.tlsDir, 'ca.pem'), '-cert', path.join(ENVD.tlsDir, 'cert.pem'), '-key', path.join(ENVD.tlsDir, 'key.pem'), '-server-name', ENVD.tlsServerName];
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const address = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`tls-relay exited (${code}) before listening`)));
  });
  return { address, stop: () => child.kill() };
}

async function runEnvdDirect(home, dir, tag, daemonPid) {
  const args = ['build', '--from', 'build.envd:build', '--path', dir, '--output', `type=image,name=${tag},push=false`, '--tag', 'envd-remote-build:envd', '--force'];
  const env = { ...process.env, HOME: home, ENVD_ANALYTICS: 'false', BUILDKIT_PROGRESS: 'plain' };
  const r = await measure(ENVD.bin, args, env, { cwd: dir, daemonPid });
  if (r.code !== 0) throw new Error(`envd (direct) failed (exit ${r.code}) on ${dir}:\n${tail(r.stdout + r.stderr)}`);
  return r;
}

function runOursEnvd(work, dir, tag, action = DIST, node = ACTION_NODE) {
  return runOurs(work, dir, tag, {
    action,
    node,
    noDigest: true,
    daemonPid: process.env.BUILDKITD_TLS_PID,
    env: {
      PATH: `${path.dirname(ENVD.bin)}${path.delimiter}${process.env.PATH}`,
      INPUT_BUILDER: ENVD.tlsHost,
      INPUT_FILE: path.join(dir, 'build.envd'),
      'INPUT_ENVD-VERSION': ENVD.version,
      'INPUT_TLS-CA': path.join(ENVD.tlsDir, 'ca.pem'),
      'INPUT_TLS-CERT': path.join(ENVD.tlsDir, 'cert.pem'),
      'INPUT_TLS-KEY': path.join(ENVD.tlsDir, 'key.pem'),
      'INPUT_TLS-SERVER-NAME': ENVD.tlsServerName,
    },
  });
}

// ---------------------------------------------------------------- main

async function main() {
  const env = await versions();
  console.log(`envd-remote-build bench: ${ROUNDS} round(s)${CONTEXTS.has('tiny') ? `, ${TINY_REPEATS} cached tiny rebuild(s) per tool and round` : ''}, scale ${SCALE}`);
  console.log(`  daemon   ${env.daemon} at ${HOST}`);
  console.log(`  buildctl ${env.buildctl} (${BUILDCTL})`);
  if (BUILDCTL_NEWEST) console.log(`  buildctl ${env.buildctlNewest} (${BUILDCTL_NEWEST}), as "buildctl-newest"`);
  console.log(`  action   node ${env.node} (${ACTION_NODE})${env.nodeBefore ? `; ours-before on node ${env.nodeBefore} (${BEFORE_NODE})` : ''}`);
  console.log(`  machine  ${env.cpus} CPUs (${env.cpuModel}), ${env.memoryGiB} GiB, ${env.kernel}, node ${env.node}`);

  const work = await mkdtemp(path.join(os.tmpdir(), 'envd-bench-'));
  const benchStarted = Date.now();
  const templates = {
    tiny: path.join(work, 'tpl', 'tiny'),
    small: path.join(work, 'tpl', 'small'),
    large: path.join(work, 'tpl', 'large'),
    envd: path.join(work, 'tpl', 'envd'),
  };
  const t0 = performance.now();
  const classic = ['tiny', 'small', 'large'].some((c) => CONTEXTS.has(c));
  const envdBase = ENVD ? await pushEnvdBase(work) : null;
  const sizes = {
    tiny: await generateTiny(templates.tiny),
    small: classic ? await generateSmall(templates.small) : { files: 0, bytes: 0 },
    large: CONTEXTS.has('large') ? await generateLarge(templates.large) : { files: 0, bytes: 0 },
    envd: envdBase ? await generateEnvd(templates.envd, envdBase) : { files: 0, bytes: 0 },
  };
  console.log(
    `  contexts A ${sizes.small.files} files / ${(sizes.small.bytes / 1e6).toFixed(1)} MB, B ${sizes.large.files} files / ${(sizes.large.bytes / 1e6).toFixed(0)} MB` +
      (ENVD ? `, envd ${sizes.envd.files} files / ${(sizes.envd.bytes / 1e6).toFixed(0)} MB` : '') +
      ` (generated in ${((performance.now() - t0) / 1000).toFixed(1)} s in ${work})`,
  );

  const names = toolNames();
  const tools = {
    ours: (dir) => runOurs(work, dir, 'bench/envd-remote-build:ours'),
    'ours-before': (dir) => runOurs(work, dir, 'bench/envd-remote-build:ours-before', { action: BEFORE, node: BEFORE_NODE }),
    buildctl: (dir) => runBuildctl(work, dir, 'bench/envd-remote-build:buildctl', BUILDCTL, 'buildctl'),
    'buildctl-newest': (dir) => runBuildctl(work, dir, 'bench/envd-remote-build:buildctl-newest', BUILDCTL_NEWEST, 'buildctl-newest'),
  };
  /**
   * The process start alone, no build: the floor of any rebuild's wall time
   * (Node.js's own start for the action), measured in the same rounds so a
   * table also shows how fast the machine was. Each in the environment its
   * tool's builds get (runOurs, runBuildctl): a NODE_EXTRA_CA_CERTS in the
   * bench's own, for one, makes Node 20 read the certificates before running
   * anything, which the action's runs never do.
   */
  const bareEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  const bareStart = {
    ours: () => measure(ACTION_NODE, ['-e', '0'], bareEnv),
    'ours-before': () => measure(BEFORE_NODE, ['-e', '0'], bareEnv),
    buildctl: () => measure(BUILDCTL, ['--version'], process.env),
    'buildctl-newest': () => measure(BUILDCTL_NEWEST, ['--version'], process.env),
  };
  const samples = [];
  /** bench/tls-relay, while the envd rounds need it. */
  let relay;
  const record = async (sample) => {
    samples.push(sample);
    const t = sample.daemon?.contextMs;
    console.log(
      `  round ${sample.round} ${pad(sample.tool, 15)} ${pad(sample.kind, 15)} wall ${pad(fmt(sample.wallMs), 6, true)} ms` +
        ` cpu ${pad(fmt(sample.cpuMs), 6, true)} ms` +
        (sample.daemonCpuMs !== null && sample.daemonCpuMs !== undefined ? ` daemon cpu ${pad(fmt(sample.daemonCpuMs), 6, true)} ms` : '') +
        (t !== undefined && t !== null ? `  transfer ${pad(fmt(t), 6, true)} ms` : '') +
        `  rss ${fmt(sample.peakRssMb)} MB`,
    );
  };
  const basics = (r) => ({ wallMs: r.wallMs, cpuMs: r.cpuMs, daemonCpuMs: r.daemonCpuMs, peakRssMb: r.peakRssMb });

  try {
    // Warm-up (not measured): page cache for every program, frontend state on the daemon.
    for (const tool of names) {
      const c = await freshCopy(work, templates.tiny, `warmup-${tool}`);
      await tools[tool](c.dir);
    }
    // The daemon's first many-file transfer after a prune is slow, whichever
    // tool sends it (measured on A: buildctl 1.9 s wall right after a prune,
    // ~1.1 s later; ours 2.4 s and ~1.4 s), and round 1 always starts with
    // ours: one unmeasured A transfer per tool first.
    if (CONTEXTS.has('small') || CONTEXTS.has('large')) {
      for (const tool of names) {
        const c = await freshCopy(work, templates.small, `warmup-small-${tool}`);
        await tools[tool](c.dir);
        await rm(c.dir, { recursive: true, force: true });
      }
    }
    const envdHomes = {};
    if (ENVD) {
      relay = await startTlsRelay(work);
      envdHomes.envd = await envdHome(work, 'direct', HOST.replace(/^tcp:\/\//, ''));
      envdHomes['envd-tls'] = await envdHome(work, 'tls-relay', relay.address);
      // Not measured: one full envd build per tool. In round 1, envd direct
      // (the plain daemon, which the Dockerfile runs use and prune) took
      // 12-22 s against 4-8 s later, in every run, even after a warm-up build
      // of a one-file project.
      for (const tool of BEFORE ? ['ours', 'ours-before', 'envd', 'envd-tls'] : ['ours', 'envd', 'envd-tls']) {
        const c = await freshCopy(work, templates.envd, `envd-warmup-${tool}`);
        const out = `${ENVD.registry}/envd-remote-build-bench/warmup:${tool}`;
        if (envdHomes[tool]) await runEnvdDirect(envdHomes[tool], c.dir, out);
        else await runOursEnvd(work, c.dir, out, ...(tool === 'ours' ? [DIST, ACTION_NODE] : [BEFORE, BEFORE_NODE]));
        await rm(c.dir, { recursive: true, force: true });
        await execFileP('sync');
      }
    }
    if (classic) for (const r of await historyRecords()) seenRefs.add(r.ref);

    for (let round = 1; round <= ROUNDS; round++) {
      const order = roundOrder(names, round);
      const copies = {};
      if (classic) {
        // Not measured: every program back in the page cache after the big
        // transfers of the previous round.
        for (const tool of order) {
          const c = await freshCopy(work, templates.tiny, `warmup-${tool}`);
          await tools[tool](c.dir);
        }
      }

      // A first build of a fresh copy: buildctl starts from empty daemon-side
      // copies too (see resetBuildctlCopies).
      const first = async (tool, dir) => {
        const reset = tool.startsWith('buildctl') ? await resetBuildctlCopies() : undefined;
        return { ...(await tools[tool](dir)), ...(reset === undefined ? {} : { buildctlCopiesReset: reset }) };
      };

      // Tiny context: first build, then the fully cached rebuild of the same directory.
      if (CONTEXTS.has('tiny')) {
        // Each tool's cached rebuild right after its own first build: the two
        // buildctls share one daemon-side copy, so the other's build in
        // between would turn a "cached" rebuild into a full sync.
        for (const tool of order) copies[tool] = await freshCopy(work, templates.tiny, `tiny-${tool}`);
        for (const tool of order) {
          const r = await first(tool, copies[tool].dir);
          await record({ round, tool, kind: 'tiny-first', ...basics(r), buildctlCopiesReset: r.buildctlCopiesReset });
          for (let repeat = 1; repeat <= TINY_REPEATS; repeat++) {
            const c = await tools[tool](copies[tool].dir);
            await record({ round, repeat, tool, kind: 'tiny-cached', ...basics(c), cachedSteps: cachedSteps(c.stdout + c.stderr) });
          }
          for (let repeat = 1; repeat <= TINY_REPEATS; repeat++) await record({ round, repeat, tool, kind: 'bare-start', ...basics(await bareStart[tool]()) });
        }
      }

      // A: 5,000 small files; then the fully cached rebuild.
      if (CONTEXTS.has('small')) {
        for (const tool of order) copies[tool] = await freshCopy(work, templates.small, `small-${tool}`);
        for (const tool of order) {
          const r = await first(tool, copies[tool].dir);
          const daemon = await daemonTimings({ ref: r.ref, marker: copies[tool].marker });
          const sentBytes = transferredBytes(r.stdout + r.stderr);
          await record({ round, tool, kind: 'small-first', ...basics(r), daemon, sentBytes, buildctlCopiesReset: r.buildctlCopiesReset });
          const c = await tools[tool](copies[tool].dir);
          const cachedDaemon = await daemonTimings({ ref: c.ref, marker: copies[tool].marker });
          await record({ round, tool, kind: 'small-cached', ...basics(c), daemon: cachedDaemon, cachedSteps: cachedSteps(c.stdout + c.stderr) });
        }
        for (const tool of order) await rm(copies[tool].dir, { recursive: true, force: true });
      }

      // B: 20 x 50 MiB, with peak RSS.
      if (CONTEXTS.has('large')) {
        for (const tool of order) copies[tool] = await freshCopy(work, templates.large, `large-${tool}`);
        for (const tool of order) {
          const r = await first(tool, copies[tool].dir);
          const daemon = await daemonTimings({ ref: r.ref, marker: copies[tool].marker });
          const sentBytes = transferredBytes(r.stdout + r.stderr);
          await record({ round, tool, kind: 'large-first', ...basics(r), daemon, sentBytes, buildctlCopiesReset: r.buildctlCopiesReset });
          // Start the next measurement without a gigabyte of dirty pages still being written back.
          await execFileP('sync');
        }
        for (const tool of order) await rm(copies[tool].dir, { recursive: true, force: true });
      }

      // envd: the action's gateway (mutual TLS upstream) against envd straight to the plain daemon.
      if (ENVD) {
        const envdOrder = roundOrder(BEFORE ? ['ours', 'ours-before', 'envd', 'envd-tls'] : ['ours', 'envd', 'envd-tls'], round);
        for (const tool of envdOrder) copies[tool] = await freshCopy(work, templates.envd, `envd-${tool}`);
        for (const tool of envdOrder) {
          const dir = copies[tool].dir;
          const out = `${ENVD.registry}/envd-remote-build-bench/out:${tool}`;
          // envd direct builds on the plain daemon; the relay and the action on the mutual-TLS one.
          const pid = tool === 'envd' ? process.env.BUILDKITD_PID : process.env.BUILDKITD_TLS_PID;
          const r = envdHomes[tool] ? await runEnvdDirect(envdHomes[tool], dir, out, pid) : await runOursEnvd(work, dir, out, ...(tool === 'ours' ? [DIST, ACTION_NODE] : [BEFORE, BEFORE_NODE]));
          await record({ round, tool, kind: 'envd-first', ...basics(r) });
          await execFileP('sync');
        }
        for (const tool of envdOrder) await rm(copies[tool].dir, { recursive: true, force: true });
      }
    }
  } finally {
    relay?.stop();
    if (process.env.BENCH_KEEP !== '1') await rm(work, { recursive: true, force: true });
    if (process.env.BENCH_KEEP_CACHE !== '1') await pruneOwnCache(benchStarted);
  }

  // ------------------------------------------------------------ summary
  const pick = (tool, kind, f) => samples.filter((s) => s.tool === tool && s.kind === kind).map(f);
  const others = names.filter((n) => n !== 'ours');
  const rows = [];
  const row = (label, kind, f, unit, digits = 0, against = others) => {
    const ours = pick('ours', kind, f);
    const mo = median(ours);
    const r = { label, unit, kind, ours: mo, oursRange: spread(ours, digits), digits, others: {} };
    for (const other of against) {
      const v = pick(other, kind, f);
      const m = median(v);
      r.others[other] = { median: m, range: spread(v, digits), ratio: mo !== null && m ? mo / m : null };
    }
    // Kept for older readers of latest.json: the version's own buildctl.
    if (r.others.buildctl) Object.assign(r, { buildctl: r.others.buildctl.median, ratio: r.others.buildctl.ratio, buildctlRange: r.others.buildctl.range });
    if (mo !== null || Object.values(r.others).some((o) => o.median !== null)) rows.push(r);
  };
  const mbps = (bytes) => (s) => (s.daemon?.contextMs ? bytes / 1e6 / (s.daemon.contextMs / 1000) : null);
  row('A transfer (daemon span)', 'small-first', (s) => s.daemon?.contextMs, 'ms');
  row('A transfer throughput', 'small-first', mbps(sizes.small.bytes), 'MB/s', 1);
  row('A first build, process wall', 'small-first', (s) => s.wallMs, 'ms');
  row('A first build, process CPU', 'small-first', (s) => s.cpuMs, 'ms');
  row('A first build, daemon CPU', 'small-first', (s) => s.daemonCpuMs, 'ms');
  row('B transfer (daemon span)', 'large-first', (s) => s.daemon?.contextMs, 'ms');
  row('B transfer throughput', 'large-first', mbps(sizes.large.bytes), 'MB/s', 1);
  row('B first build, process wall', 'large-first', (s) => s.wallMs, 'ms');
  row('B first build, process CPU', 'large-first', (s) => s.cpuMs, 'ms');
  row('B first build, daemon CPU', 'large-first', (s) => s.daemonCpuMs, 'ms');
  row('cached rebuild, tiny ctx, wall', 'tiny-cached', (s) => s.wallMs, 'ms');
  row('cached rebuild, tiny ctx, CPU', 'tiny-cached', (s) => s.cpuMs, 'ms');
  row('process start alone (node -e 0; buildctl --version), wall', 'bare-start', (s) => s.wallMs, 'ms');
  row('cached rebuild, A, wall', 'small-cached', (s) => s.wallMs, 'ms');
  row('cached rebuild, A, ctx sync span', 'small-cached', (s) => s.daemon?.contextMs, 'ms');
  row('peak RSS, tiny first build', 'tiny-first', (s) => s.peakRssMb, 'MB');
  row('peak RSS while sending B', 'large-first', (s) => s.peakRssMb, 'MB');
  const envdOthers = BEFORE ? ['ours-before', 'envd', 'envd-tls'] : ['envd', 'envd-tls'];
  row('envd ~1 GB, process wall (ours: gateway+mTLS)', 'envd-first', (s) => s.wallMs, 'ms', 0, envdOthers);
  row('envd ~1 GB, process CPU', 'envd-first', (s) => s.cpuMs, 'ms', 0, envdOthers);
  row('envd ~1 GB, daemon CPU', 'envd-first', (s) => s.daemonCpuMs, 'ms', 0, envdOthers);

  console.log('');
  const heads = [...new Set(rows.flatMap((r) => Object.keys(r.others)))];
  if (CONTEXTS.has('tiny') && TINY_REPEATS > 1) console.log(`  (cached rebuild, tiny, and process start: median of ${ROUNDS * TINY_REPEATS} samples, ${TINY_REPEATS} per round)`);
  console.log(`${pad('metric (median of ' + ROUNDS + ')', 46)} ${pad('ours', 9, true)} ${heads.map((h) => `${pad(h, 16, true)} ${pad('ratio', 6, true)}`).join(' ')}`);
  for (const r of rows) {
    const cells = heads.map((h) => (r.others[h] ? `${pad(fmt(r.others[h].median, r.digits), 16, true)} ${pad(fmt(r.others[h].ratio, 2), 6, true)}` : pad('', 23)));
    console.log(`${pad(`${r.label} [${r.unit}]`, 46)} ${pad(fmt(r.ours, r.digits), 9, true)} ${cells.join(' ')}`);
  }

  // Issue 12's targets, against this daemon version's own buildctl (envd: against envd direct).
  const get = (label) => rows.find((r) => r.label === label);
  const vs = (label, other) => {
    const r = get(label);
    return r && r.ours !== null && r.others[other]?.median ? { ours: r.ours, other: r.others[other].median } : null;
  };
  const holds = (pair, ok) => (pair ? ok(pair.ours, pair.other) : null);
  const worst = (kind) => {
    const v = pick('ours', kind, (s) => s.peakRssMb).filter((x) => x !== null);
    return v.length ? Math.max(...v) : null;
  };
  const rssB = worst('large-first');
  const rssTiny = worst('tiny-first');
  const targets = [
    { target: 'A transfer <= 1.0x buildctl (medians)', holds: holds(vs('A transfer (daemon span)', 'buildctl'), (o, b) => o <= b) },
    { target: 'B transfer <= 1.0x buildctl (medians)', holds: holds(vs('B transfer (daemon span)', 'buildctl'), (o, b) => o <= b) },
    { target: 'cached rebuild (tiny) <= buildctl + 100 ms', holds: holds(vs('cached rebuild, tiny ctx, wall', 'buildctl'), (o, b) => o <= b + 100) },
    { target: `peak RSS sending ~1 GB <= 100 MB (worst round ${fmt(rssB)} MB)`, holds: rssB === null ? null : rssB <= 100 },
    { target: `peak RSS tiny build <= 70 MB (worst round ${fmt(rssTiny)} MB)`, holds: rssTiny === null ? null : rssTiny <= 70 },
    { target: 'envd ~1 GB through the gateway <= 1.05x envd direct', holds: holds(vs('envd ~1 GB, process wall (ours: gateway+mTLS)', 'envd'), (o, d) => o <= d * 1.05) },
  ].filter((t) => t.holds !== null);
  console.log('');
  for (const t of targets) console.log(`  ${t.holds ? 'HOLDS ' : 'MISSED'}  ${t.target}`);
  // Not a target: how much of envd's cost is TLS (the control), how much the gateway.
  const tlsFloor = vs('envd ~1 GB, process wall (ours: gateway+mTLS)', 'envd-tls');
  const direct = vs('envd ~1 GB, process wall (ours: gateway+mTLS)', 'envd');
  const control = tlsFloor && direct ? { relayVsDirect: tlsFloor.other / direct.other, gatewayVsRelay: tlsFloor.ours / tlsFloor.other } : null;
  if (control) {
    console.log(`  control: envd via a compiled TLS relay ${fmt(control.relayVsDirect, 2)}x envd direct; ours (gateway) ${fmt(control.gatewayVsRelay, 2)}x the relay`);
  }
  // Not a target: A round by round, which the medians alone do not show.
  const aRounds = roundByRound(samples, 'small-first', 'buildctl');
  if (aRounds) {
    console.log(`  A transfer round by round, ours / buildctl: ${fmt(aRounds.min, 2)}–${fmt(aRounds.median, 2)}–${fmt(aRounds.max, 2)} (min–median–max), ours faster in ${aRounds.faster} of ${aRounds.rounds}`);
  }

  const notCached = samples.filter((s) => s.kind.endsWith('-cached') && s.cachedSteps < 2);
  if (notCached.length) console.log(`  warning: ${notCached.length} "cached" rebuild(s) did not report both steps CACHED`);
  const notReset = samples.filter((s) => s.tool.startsWith('buildctl') && s.kind.endsWith('-first') && s.buildctlCopiesReset === 0);
  if (notReset.length) console.log(`  warning: buildctl's daemon-side copies were not found (so not reset) before ${notReset.length} first build(s)`);
  const missing = samples.filter((s) => ['small-first', 'large-first'].includes(s.kind) && !s.daemon);
  if (missing.length) console.log(`  warning: no daemon timings for ${missing.length} build(s) (history or traces unavailable?)`);

  const outFile = process.env.BENCH_OUT?.trim() || path.join(os.tmpdir(), 'envd-remote-build-bench', 'latest.json');
  mkdirSync(path.dirname(outFile), { recursive: true });
  writeFileSync(outFile, JSON.stringify({ date: new Date().toISOString(), rounds: ROUNDS, tinyRepeats: CONTEXTS.has('tiny') ? TINY_REPEATS : undefined, scale: SCALE, environment: env, contexts: sizes, tools: names, rows, targets, control, aRounds, samples }, null, 2));
  console.log(`\nraw results: ${outFile}`);
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
