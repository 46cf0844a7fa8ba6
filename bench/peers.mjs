#!/usr/bin/env node
// The benchmark (bench/run.mjs) against every provisioned daemon version of
// the real peers (scripts/peers.sh), each with its own buildctl and with the
// newest buildctl, one after the other; then one table per version into
// BENCHMARKS.md.
//
//   npm run bench:peers                      all versions, tiny,small,large
//   BENCH_VERSIONS=v0.25.2 BENCH_CONTEXTS=envd npm run bench:peers
//
// Environment (besides what run.mjs reads: BENCH_ROUNDS, BENCH_SCALE,
// BENCH_CONTEXTS, BENCH_ACTION, ...):
//   BENCH_VERSIONS  comma-separated daemon versions (default: all of
//                   `scripts/peers.sh versions`)
//   BENCH_MD        file to write the tables into (default BENCHMARKS.md);
//                   `-` prints them only
//   BENCH_NODE      (run.mjs) the Node.js that runs the action; its tables
//                   get their own markers (e.g. `v0.34.2 small node24`)
//   BENCH_OUT_DIR   keep each version's raw results (run.mjs's JSON, every
//                   sample) as VERSION.json in this directory; by default
//                   they go to a temporary directory removed at the end
//
// Each table sits between markers naming its version and contexts, so a
// later run of the same version and contexts replaces it and other tables
// stay.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const PEERS = path.join(ROOT, 'scripts', 'peers.sh');

function die(message) {
  process.stderr.write(`bench:peers: ${message}\n`);
  process.exit(2);
}

function peers(...args) {
  try {
    return execFileSync('bash', [PEERS, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    return die(`scripts/peers.sh ${args.join(' ')} failed: ${(err.stderr || err.message).toString().trim().split('\n').pop()}`);
  }
}

/** `export K=V` lines of `scripts/peers.sh env VERSION` as an object (values are plain, unquoted). */
function versionEnv(version) {
  const env = {};
  for (const line of peers('env', version).split('\n')) {
    const m = /^export ([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) env[m[1]] = m[2].replace(/^'(.*)'$/, '$1').replace(/^"(.*)"$/, '$1');
  }
  if (!env.BUILDKIT_HOST || !env.BUILDCTL) die(`scripts/peers.sh env ${version} printed no BUILDKIT_HOST/BUILDCTL (are the peers started?)`);
  return env;
}

const semverKey = (v) => v.replace(/^v/, '').split('.').map(Number);
const byVersion = (a, b) => {
  const [x, y] = [semverKey(a), semverKey(b)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
};

const all = peers('versions').split('\n').map((v) => v.trim()).filter(Boolean).sort(byVersion);
const wanted = (process.env.BENCH_VERSIONS || '').split(',').map((v) => v.trim()).filter(Boolean);
for (const v of wanted) if (!all.includes(v)) die(`BENCH_VERSIONS: unknown version ${v} (provisioned: ${all.join(', ')})`);
const versions = wanted.length ? all.filter((v) => wanted.includes(v)) : all;
const newest = all[all.length - 1];
const newestBuildctl = versionEnv(newest).BUILDCTL;
const contexts = process.env.BENCH_CONTEXTS || 'tiny,small,large';
const keptOut = process.env.BENCH_OUT_DIR?.trim() ? path.resolve(process.env.BENCH_OUT_DIR.trim()) : null;
if (keptOut) mkdirSync(keptOut, { recursive: true });
const outDir = keptOut ?? mkdtempSync(path.join(os.tmpdir(), 'envd-bench-peers-'));

function runVersion(version) {
  const env = { ...process.env, ...versionEnv(version), BUILDCTL_NEWEST: newestBuildctl, BENCH_OUT: path.join(outDir, `${version}.json`) };
  // The caller's BUILDCTL must not win over the version's own.
  return new Promise((resolve) => {
    process.stdout.write(`\n==== daemon ${version} (${env.BUILDKIT_HOST}) ====\n`);
    const child = spawn(process.execPath, [path.join(HERE, 'run.mjs')], { env, stdio: 'inherit' });
    child.on('close', (code) => resolve(code === 0 && existsSync(env.BENCH_OUT) ? JSON.parse(readFileSync(env.BENCH_OUT, 'utf8')) : null));
  });
}

const fmt = (x, digits = 0) => (x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }));
const shortVersion = (text) => /v\d+\.\d+\.\d+/.exec(text ?? '')?.[0] ?? text;

/** One markdown table (and the targets) for one version's results. */
function table(version, result) {
  const e = result.environment;
  const heads = [...new Set(result.rows.flatMap((r) => Object.keys(r.others ?? {})))];
  const name = (h) => (h === 'buildctl' ? `buildctl ${shortVersion(e.buildctl)}` : h === 'buildctl-newest' ? `buildctl ${shortVersion(e.buildctlNewest)}` : h === 'envd' ? 'envd direct' : h === 'envd-tls' ? 'envd via TLS relay' : h === 'ours-before' && e.nodeBefore ? `ours on node ${shortVersion(e.nodeBefore)}` : h);
  const lines = [
    `### daemon ${version}: ${contexts} (${result.date.slice(0, 16).replace('T', ' ')} UTC, ${result.rounds} rounds, medians)`,
    '',
    `Daemon ${e.daemon} at ${e.host}; ${e.cpus} CPUs, the action on node ${e.node}. Ratios are ours / theirs; ranges are min–max over the rounds${result.tinyRepeats > 1 ? ` (cached tiny rebuild and process start: ${result.rounds * result.tinyRepeats} samples, ${result.tinyRepeats} per round)` : ''}.`,
    '',
    `| metric | ours | ${heads.map((h) => `${name(h)} | ratio`).join(' | ')} | range ours | ${heads.map((h) => `range ${name(h)}`).join(' | ')} |`,
    `|---|---:|${heads.map(() => '---:|---:').join('|')}|---|${heads.map(() => '---').join('|')}|`,
  ];
  for (const r of result.rows) {
    const cells = heads.map((h) => (r.others?.[h] ? `${fmt(r.others[h].median, r.digits)} | ${fmt(r.others[h].ratio, 2)}` : '— | —'));
    const ranges = heads.map((h) => r.others?.[h]?.range ?? '—');
    lines.push(`| ${r.label} [${r.unit}] | ${fmt(r.ours, r.digits)} | ${cells.join(' | ')} | ${r.oursRange} | ${ranges.join(' | ')} |`);
  }
  lines.push('');
  for (const t of result.targets) lines.push(`- ${t.holds ? 'holds' : '**missed**'}: ${t.target}`);
  const perRound = result.aRounds;
  if (perRound) {
    lines.push(
      `- A transfer round by round (ours / buildctl ${shortVersion(e.buildctl)} in the same round, not a target): ${fmt(perRound.min, 2)}–${fmt(perRound.median, 2)}–${fmt(perRound.max, 2)} (min–median–max), ours faster in ${perRound.faster} of ${perRound.rounds} rounds`,
    );
  }
  if (result.control) {
    lines.push(`- control (not a target): envd through a compiled TLS relay (bench/tls-relay) to the mutual-TLS daemon is ${fmt(result.control.relayVsDirect, 2)}x envd direct; ours is ${fmt(result.control.gatewayVsRelay, 2)}x that relay`);
  }
  return lines.join('\n');
}

const results = [];
for (const version of versions) {
  const result = await runVersion(version);
  if (!result) {
    process.stderr.write(`bench:peers: the benchmark against ${version} failed; its table is left as it was\n`);
    continue;
  }
  // A run on another Node.js than the benchmark's (BENCH_NODE) keeps its own tables.
  const runtime = process.env.BENCH_NODE?.trim() ? ` node${/^v(\d+)/.exec(result.environment.node ?? '')?.[1] ?? '?'}` : '';
  results.push({ version, key: `${version} ${contexts}${runtime}`, md: table(version, result) });
}
if (!keptOut) rmSync(outDir, { recursive: true, force: true });

const target = process.env.BENCH_MD ?? path.join(ROOT, 'BENCHMARKS.md');
for (const { key, md } of results) {
  process.stdout.write(`\n${md}\n`);
  if (target === '-') continue;
  const begin = `<!-- bench:peers ${key} -->`;
  const end = `<!-- /bench:peers ${key} -->`;
  let text = existsSync(target) ? readFileSync(target, 'utf8') : '# Benchmarks\n';
  const block = `${begin}\n${md}\n${end}`;
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  text = a >= 0 && b > a ? text.slice(0, a) + block + text.slice(b + end.length) : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(target, text);
}
if (target !== '-' && results.length) process.stdout.write(`\nwrote ${results.length} table(s) into ${target}\n`);
process.exitCode = results.length === versions.length ? 0 : 1;
