#!/usr/bin/env node
// Where a cached tiny rebuild's time goes, ours against buildctl on one
// daemon, phase by phase. bench/run.mjs gives the totals; this gives the
// profile behind them (BENCHMARKS.md, "Twenty-second session").
//
//   BUILDKIT_HOST=tcp://127.0.0.1:12360 BUILDCTL=/path/to/buildctl \
//   BENCH_NODE=/path/to/node npm run bench:phases
//
// Needs `perf` (Debian: linux-perf) and the right to trace its own children
// (root, or kernel.perf_event_paranoid <= 1). Not run in CI.
//
// Each round, in alternating order:
//   wall      ours, buildctl and `node -e 0` (the action's Node), spawn to
//             exit, nothing attached.
//   phases    ours, buildctl and `node -e 0` under
//             `perf trace -e arch_prctl,connect,exit_group`: from the C
//             library's thread set-up (its arch_prctl, once, right after the
//             dynamic loader: both binaries link glibc) to the first connect
//             to the daemon, and from there to exit_group. Three kinds of
//             system call traced, a handful of each: perf adds little.
//   repeat    ours with its whole run done PHASES_REPEAT times in one process
//             (a copy of dist/ whose entry loops), timed by a preloaded
//             script at its first connect and its own output lines: "Using BuildKit" (the probe
//             answered), "Building" and the digest. The first build runs
//             every function for the first time; the later ones run the same
//             code warm. The difference is what that first execution costs.
//   profile   ours under `--cpu-prof` (PHASES_PROFILES runs, 100 µs
//             samples), self time by where it ran: compiling the bundle,
//             loading Node's own modules, the rest of Node, our modules
//             (through the source map, by folder), the garbage collector,
//             and idle (waiting for the daemon). The profiler slows what it
//             samples; the shares are what it shows.
//
// Environment: BUILDKIT_HOST, BUILDCTL, BENCH_NODE (default: this Node),
// BENCH_ACTION (default dist/index.js), PHASES_ROUNDS (default 10),
// PHASES_REPEAT (default 4), PHASES_PROFILES (default 5). Prints one markdown
// table per measurement.
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { decode } from '@jridgewell/sourcemap-codec';
import { repeatEntry as repeatEntrySource } from './repeat-entry.mjs';
import { positiveInt } from './settings.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DIST = path.resolve(process.env.BENCH_ACTION || path.join(HERE, '../dist/index.js'));
const NODE = process.env.BENCH_NODE?.trim() || process.execPath;
const HOST = process.env.BUILDKIT_HOST?.trim();
const BUILDCTL = process.env.BUILDCTL?.trim();
const ROUNDS = positiveInt('PHASES_ROUNDS', 10, die);
const REPEAT = positiveInt('PHASES_REPEAT', 4, die);
const PROFILES = positiveInt('PHASES_PROFILES', 5, die);

function die(message) {
  process.stderr.write(`bench:phases: ${message}\n`);
  process.exit(2);
}

if (!HOST) die('BUILDKIT_HOST is not set (scripts/peers.sh env VERSION prints it)');
if (!BUILDCTL || !existsSync(BUILDCTL)) die('BUILDCTL must name the buildctl binary (scripts/peers.sh env VERSION prints it)');
if (!existsSync(DIST)) die(`${DIST} does not exist: run \`npm run build\` first`);
try {
  execFileSync('perf', ['trace', '-e', 'exit_group', '--', 'true'], { stdio: 'ignore' });
} catch {
  die('`perf trace` does not run here (install linux-perf; tracing needs root or kernel.perf_event_paranoid <= 1)');
}

const work = mkdtempSync(path.join(os.tmpdir(), 'erb-phases-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

// The tiny context: one file, the Dockerfile copies it. Built once before
// round 1 by each tool, so every measured build is fully cached.
const context = path.join(work, 'tiny');
mkdirSync(context);
writeFileSync(path.join(context, 'Dockerfile'), 'FROM scratch\nCOPY hello.txt /h\n');
writeFileSync(path.join(context, 'hello.txt'), 'hello\n');

// The repeating copy of dist/: the entry's single `await run()` in a loop.
const repeatDir = path.join(work, 'dist-repeat');
cpSync(path.dirname(DIST), repeatDir, { recursive: true });
const repeatEntry = path.join(repeatDir, path.basename(DIST));
try {
  writeFileSync(repeatEntry, repeatEntrySource(readFileSync(repeatEntry, 'utf8'), REPEAT));
} catch (err) {
  die(`${DIST}: ${err.message}`);
}
// Preloaded into the repeating run: the time of its first connect and of each line it watches.
const marksFile = path.join(work, 'marks.json');
const preload = path.join(work, 'marks.cjs');
writeFileSync(
  preload,
  `const marks = [];
const net = require('node:net');
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  if (!marks.some(([k]) => k === 'connect')) marks.push(['connect', performance.now()]);
  return connect.apply(this, args);
};
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = function (chunk, ...rest) {
  const text = String(chunk);
  const kind = text.startsWith('::group::Using') ? 'using' : text.startsWith('::group::Building') ? 'building' : text.startsWith('digest: ') ? 'digest' : null;
  if (kind) marks.push([kind, performance.now()]);
  return write(chunk, ...rest);
};
process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(marksFile)}, JSON.stringify(marks)));
`,
);

let runs = 0;
function actionEnv() {
  const files = path.join(work, 'gh', String(++runs));
  mkdirSync(files, { recursive: true });
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    RUNNER_TEMP: path.join(files, 'runner-temp'),
    RUNNER_TOOL_CACHE: path.join(files, 'tool-cache'),
    GITHUB_WORKSPACE: context,
    GITHUB_ACTIONS: 'true',
    GITHUB_JOB: 'phases',
    GITHUB_RUN_ID: String(process.pid),
    GITHUB_RUN_ATTEMPT: '1',
    INPUT_BUILDER: HOST,
    INPUT_CONTEXT: context,
    INPUT_TAGS: 'bench/phases:ours',
    INPUT_PUSH: 'false',
    INPUT_FALLBACK: 'never',
  };
  for (const [key, name] of [['GITHUB_OUTPUT', 'output'], ['GITHUB_STATE', 'state'], ['GITHUB_STEP_SUMMARY', 'summary'], ['GITHUB_ENV', 'env'], ['GITHUB_PATH', 'path']]) {
    env[key] = path.join(files, name);
    writeFileSync(env[key], '');
  }
  return env;
}

const commands = {
  ours: (entry = DIST, args = []) => ({ file: NODE, args: [...args, entry], env: actionEnv() }),
  buildctl: () => ({
    file: BUILDCTL,
    args: ['--addr', HOST, 'build', '--frontend', 'dockerfile.v0', '--local', `context=${context}`, '--local', `dockerfile=${context}`, '--output', 'type=image,name=bench/phases:buildctl', '--progress', 'plain'],
    env: process.env,
  }),
  node: () => ({ file: NODE, args: ['-e', '0'], env: process.env }),
};

/** Runs a command to its exit; resolves with its wall time (spawn to exit) and output. */
function run({ file, args, env }) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    let wallMs;
    child.on('exit', () => (wallMs = performance.now() - started));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve({ wallMs, output }) : reject(new Error(`${file} exited ${code}:\n${output.slice(-2000)}`))));
  });
}

/** The same command under `perf trace`: arch_prctl (the process's start) → first connect → exit_group, in ms. */
async function traced(command) {
  const out = path.join(work, 'perf.txt');
  await run({ file: 'perf', args: ['trace', '-o', out, '-e', 'arch_prctl,connect,exit_group', '--', command.file, ...command.args], env: command.env });
  let start, connect, exit;
  for (const line of readFileSync(out, 'utf8').split('\n')) {
    const m = /^\s*([\d.]+) .*?\b(arch_prctl|connect|exit_group)\(/.exec(line);
    if (!m) continue;
    const t = Number(m[1]);
    if (m[2] === 'arch_prctl') start ??= t;
    else if (m[2] === 'connect') connect ??= t;
    else exit ??= t;
  }
  if (start === undefined || exit === undefined) throw new Error(`perf trace recorded no arch_prctl or exit_group for ${command.file}`);
  return { toConnect: connect === undefined ? null : connect - start, connectToExit: connect === undefined ? null : exit - connect, toExit: exit - start };
}

/** The repeating run: for each build, probe (connect or the previous digest → "Using"), "Using" → "Building", "Building" → digest. */
async function repeated() {
  await run(commands.ours(repeatEntry, ['-r', preload]));
  const marks = JSON.parse(readFileSync(marksFile, 'utf8'));
  const builds = [];
  let previous = marks.find(([k]) => k === 'connect')?.[1] ?? null;
  for (const kind of ['using', 'building', 'digest']) if (marks.filter(([k]) => k === kind).length !== REPEAT) throw new Error(`the repeating run printed ${kind} ${marks.filter(([k]) => k === kind).length} times, not ${REPEAT}`);
  for (let i = 0; i < REPEAT; i++) {
    const at = (kind) => marks.filter(([k]) => k === kind)[i][1];
    builds.push({ probe: previous === null ? null : at('using') - previous, setup: at('building') - at('using'), build: at('digest') - at('building') });
    previous = at('digest');
  }
  return { builds };
}

/** For a position in the bundle, the file of the source it came from (source map, v3). */
function sourceLookup(bundle) {
  const map = JSON.parse(readFileSync(`${bundle}.map`, 'utf8'));
  const lines = decode(map.mappings);
  return (line, column) => {
    const segments = lines[line] ?? [];
    let found;
    for (const seg of segments) {
      if (seg[0] > column) break;
      found = seg;
    }
    return found && found.length >= 4 ? map.sources[found[1]] : undefined;
  };
}

/** Where a profiled sample's own code lives: a few fixed kinds, or our source's folder. */
function sampleKind(frame, lookup) {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : "Node's native functions (writev, open, ...)";
  if (url === 'node:internal/modules/esm/utils' && functionName === 'compileSourceTextModule') return 'compiling the bundle';
  if (url === 'node:internal/bootstrap/realm') return "loading Node's own modules";
  if (url.startsWith('node:')) return 'Node, the rest';
  if (url === pathToFileURL(DIST).href) {
    const source = lookup(frame.lineNumber, frame.columnNumber) ?? '';
    const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(source);
    if (nm) return `ours: ${nm[1]}`;
    const own = /(?:^|\/)src\/([^/]+)/.exec(source);
    return own ? `ours: src/${own[1]}` : 'ours: bundle runtime';
  }
  return `other: ${path.basename(url)}`;
}

/** Self time per kind (ms), summed over the profiles in `dir`. */
function profileKinds(dir) {
  const lookup = sourceLookup(DIST);
  const totals = new Map();
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.cpuprofile'))) {
    const profile = JSON.parse(readFileSync(path.join(dir, name), 'utf8'));
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    for (let i = 0; i < profile.samples.length; i++) {
      // A sample's time runs until the next sample.
      const us = profile.timeDeltas[i + 1] ?? 0;
      const kind = sampleKind(byId.get(profile.samples[i]).callFrame, lookup);
      totals.set(kind, (totals.get(kind) ?? 0) + us / 1000);
    }
  }
  return totals;
}

const median = (xs) => {
  const s = xs.filter((x) => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const ms = (x) => (x === null ? '–' : `${x.toFixed(1)} ms`);

console.error(`bench:phases: ${ROUNDS} rounds on ${HOST}; ours on ${execFileSync(NODE, ['--version'], { encoding: 'utf8' }).trim()}; ${execFileSync(BUILDCTL, ['--version'], { encoding: 'utf8' }).trim()}`);
// Unmeasured: the first build of the context by each tool, and one of each kind.
await run(commands.ours());
await run(commands.buildctl());
await repeated();

const samples = { wall: { ours: [], buildctl: [], node: [] }, phases: { ours: [], buildctl: [], node: [] }, repeat: [] };
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? ['ours', 'buildctl', 'node'] : ['node', 'buildctl', 'ours'];
  for (const tool of order) samples.wall[tool].push((await run(commands[tool]())).wallMs);
  for (const tool of order) samples.phases[tool].push(await traced(commands[tool]()));
  samples.repeat.push(await repeated());
  console.error(`bench:phases: round ${round + 1}/${ROUNDS} done`);
}

const profiles = path.join(work, 'profiles');
for (let i = 0; i < PROFILES; i++) await run(commands.ours(DIST, ['--cpu-prof', `--cpu-prof-dir=${profiles}`, '--cpu-prof-interval=100']));
const kinds = [...profileKinds(profiles)].sort((a, b) => b[1] - a[1]);

const col = (tool, f) => ms(median(samples.phases[tool].map(f)));
console.log(`| ${ROUNDS} rounds, medians | ours | buildctl | \`node -e 0\` |`);
console.log('|---|---:|---:|---:|');
console.log(`| wall, spawn to exit (no perf) | ${ms(median(samples.wall.ours))} | ${ms(median(samples.wall.buildctl))} | ${ms(median(samples.wall.node))} |`);
console.log(`| exec to the first connect (perf) | ${col('ours', (p) => p.toConnect)} | ${col('buildctl', (p) => p.toConnect)} | – |`);
console.log(`| first connect to exit_group (perf) | ${col('ours', (p) => p.connectToExit)} | ${col('buildctl', (p) => p.connectToExit)} | – |`);
console.log(`| exec to exit_group (perf) | ${col('ours', (p) => p.toExit)} | ${col('buildctl', (p) => p.toExit)} | ${col('node', (p) => p.toExit)} |`);
console.log('');
console.log(`| build in one process (${REPEAT} per process, ${ROUNDS} processes, medians) | probe (first connect, or the previous digest, to "Using BuildKit") | "Using" to "Building" | "Building" to the digest |`);
console.log('|---|---:|---:|---:|');
for (let i = 0; i < REPEAT; i++) {
  const b = (f) => ms(median(samples.repeat.map((r) => f(r.builds[i]))));
  console.log(`| build ${i + 1}${i === 0 ? ' (cold)' : ''} | ${b((x) => x.probe)} | ${b((x) => x.setup)} | ${b((x) => x.build)} |`);
}
console.log('');
console.log(`| ours under --cpu-prof (${PROFILES} runs), self time | per run | share |`);
console.log('|---|---:|---:|');
const total = kinds.reduce((sum, [, t]) => sum + t, 0);
for (const [kind, t] of kinds) if (t / total >= 0.005) console.log(`| ${kind} | ${ms(t / PROFILES)} | ${((100 * t) / total).toFixed(1)} % |`);
const ours = kinds.filter(([kind]) => kind.startsWith('ours: ')).reduce((sum, [, t]) => sum + t, 0);
console.log(`| ours, all modules | ${ms(ours / PROFILES)} | ${((100 * ours) / total).toFixed(1)} % |`);
console.log(`| all samples | ${ms(total / PROFILES)} | |`);
