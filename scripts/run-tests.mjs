// Runs every suite and says what really ran.
//
//   node scripts/run-tests.mjs            unit tests, then e2e on every peer
//   node scripts/run-tests.mjs unit       unit tests only
//   node scripts/run-tests.mjs e2e [VER]  e2e only (all versions, or one)
//
// The unit tests run without a daemon (the peers are installed first, for the
// real-registry cases, but not started). The end-to-end suite runs once per
// BuildKit version that scripts/peers.sh provisions (plain tcp and mTLS
// daemons, the local-fallback binary, a registry), and the real-envd suite
// once, against the daemon of the BuildKit line envd itself uses. At the end
// one line per suite says what ran, and the run fails when a suite that
// should have run was skipped in part or ran no test at all.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const peersScript = join(root, 'scripts/peers.sh');
// The envd CLI's own BuildKit line (envd v1.3.x is built against v0.25).
const ENVD_DAEMON_LINE = 'v0.25.';
const E2E_DIR = '<rootDir>/__tests__/e2e/';
const ENVD_SUITE = '__tests__/e2e/envd/';
// Slow tests that need one real daemon, not every version (a builder that
// goes silent is given up only after the production keepalive, ~5.5 min):
// they run with the newest version only.
const ONCE_SUITE = '__tests__/e2e/once/';
// The builder tests start real buildkitd processes when BUILDKITD_BIN is set.
const REAL_DAEMON_UNIT_FILES = ['__tests__/builder/daemon.test.ts', '__tests__/builder/resolve.test.ts'];
// The real rootless test needs a non-root user: it runs as the user
// scripts/peers.sh creates, in a jest run of its own.
const ROOTLESS_FILE = '__tests__/builder/rootless.test.ts';

const scratch = mkdtempSync(join(tmpdir(), 'run-tests-'));
const lines = [];
let failed = false;

function peers(...args) {
  const r = spawnSync('bash', [peersScript, ...args], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`scripts/peers.sh ${args.join(' ')} failed (exit ${r.status})`);
  return r.stdout;
}

function peerEnv(version) {
  const env = {};
  for (const line of peers('env', version).split('\n')) {
    const m = /^export ([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) env[m[1]] = m[2];
  }
  return env;
}

/** Runs jest (as `user` when given), returns its counts (from its JSON report, not its text). */
function jest(label, args, env, { user, cwd = root } = {}) {
  const out = join(scratch, `${label.replace(/[^a-z0-9]+/gi, '-')}.json`);
  process.stderr.write(`\n=== ${label}\n`);
  const fullEnv = { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --experimental-vm-modules`.trim(), ...env };
  const argv = [join(cwd, 'node_modules/.bin/jest'), '--json', `--outputFile=${out}`, ...args];
  const [cmd, cmdArgs] = user
    ? ['runuser', ['-u', user, '--', 'env', ...Object.entries({ ...fullEnv, HOME: `/home/${user}`, USER: user }).map(([k, v]) => `${k}=${v}`), ...argv]]
    : [argv[0], argv.slice(1)];
  const r = spawnSync(cmd, cmdArgs, { cwd, stdio: 'inherit', env: fullEnv });
  let report;
  try {
    report = JSON.parse(readFileSync(out, 'utf8'));
  } catch {
    return { passed: 0, failed: 1, skipped: 0, suitesFailed: 1, exit: r.status ?? 1 };
  }
  return {
    passed: report.numPassedTests,
    failed: report.numFailedTests,
    skipped: report.numPendingTests + report.numTodoTests,
    // A file that fails to load counts no test but fails the suite.
    suitesFailed: report.numFailedTestSuites,
    exit: r.status ?? 1,
  };
}

function add(a, b) {
  return { passed: a.passed + b.passed, failed: a.failed + b.failed, skipped: a.skipped + b.skipped, suitesFailed: a.suitesFailed + b.suitesFailed, exit: a.exit || b.exit };
}

/**
 * The rootless test as the non-root user. When that user cannot read this
 * checkout (a clone under /root), it runs from a readable copy.
 */
function runRootless(version, env) {
  const user = env.PEERS_ROOTLESS_USER;
  const readable = spawnSync('runuser', ['-u', user, '--', 'test', '-r', join(root, 'package.json'), '-a', '-x', join(root, 'node_modules/.bin/jest')]).status === 0;
  let cwd = root;
  if (!readable) {
    cwd = mkdtempSync(join(tmpdir(), 'rootless-tests-'));
    chmodSync(cwd, 0o755);
    for (const part of ['package.json', 'jest.config.js', 'tsconfig.json', 'src', '__tests__', 'node_modules']) cpSync(join(root, part), join(cwd, part), { recursive: true });
  }
  chmodSync(scratch, 0o777); // its JSON report
  try {
    return jest(`rootless on buildkit ${version} as ${user}`, ['--runInBand', ROOTLESS_FILE], env, { user, cwd });
  } finally {
    if (cwd !== root) rmSync(cwd, { recursive: true, force: true });
  }
}

function record(name, counts, { mustRunAll }) {
  lines.push(`${name}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
  if (counts.failed > 0 || counts.suitesFailed > 0 || counts.exit !== 0) failed = true;
  if (mustRunAll && (counts.passed === 0 || counts.skipped > 0)) {
    lines.push(`${name}: FAILED: a suite that should have run ${counts.passed === 0 ? 'ran no test' : `skipped ${counts.skipped} test(s)`}`);
    failed = true;
  }
  return counts;
}

function runUnit() {
  // No peer variables: the e2e directory is not part of this run at all.
  const env = {};
  for (const k of Object.keys(process.env)) if (/^(BUILDKIT_|E2E_|ENVD_BIN|BUILDKITD_BIN)/.test(k)) env[k] = '';
  return record('unit', jest('unit tests', ['--testPathIgnorePatterns', E2E_DIR], env), { mustRunAll: false });
}

/** The Node.js action.yml declares (scripts/action-node.sh installs it): the e2e suite runs the action on it. */
function actionNode() {
  const r = spawnSync('bash', [join(root, 'scripts/action-node.sh')], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`scripts/action-node.sh failed (exit ${r.status})`);
  const bin = r.stdout.trim();
  const version = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();
  lines.push(`e2e: the action runs on node ${version} (${bin}), as action.yml declares; jest on node ${process.version}`);
  return bin;
}

function runE2E(only) {
  peers('up');
  const node = actionNode();
  const versions = peers('versions').split('\n').filter(Boolean).filter((v) => !only || v === only);
  if (versions.length === 0) throw new Error(`no provisioned BuildKit version matches ${only}`);
  const totals = [];
  const newest = peers('versions').split('\n').filter(Boolean).at(-1);
  for (const version of versions) {
    const env = { ...peerEnv(version), E2E_ACTION_NODE: node };
    const ignore = [ENVD_SUITE, ...(version === newest ? [] : [ONCE_SUITE])];
    const asRoot = process.getuid?.() === 0;
    let counts = jest(
      `e2e on buildkit ${version}`,
      ['--runInBand', '--testPathIgnorePatterns', ...ignore, '--', '__tests__/e2e/', ...REAL_DAEMON_UNIT_FILES, ...(asRoot ? [] : [ROOTLESS_FILE])],
      env,
    );
    if (asRoot) counts = add(counts, runRootless(version, env));
    totals.push(record(`peers: buildkit ${version} e2e`, counts, { mustRunAll: true }));
  }
  const envdVersion = peers('versions').split('\n').find((v) => v.startsWith(ENVD_DAEMON_LINE));
  if (!only || only === envdVersion) {
    const env = { ...peerEnv(envdVersion), E2E_ACTION_NODE: node };
    totals.push(record(`peers: envd ${env.ENVD_VERSION} e2e`, jest(`real envd ${env.ENVD_VERSION} on buildkit ${envdVersion}`, ['--runInBand', ENVD_SUITE], env), { mustRunAll: true }));
  }
  return totals;
}

const [mode = 'all', version] = process.argv.slice(2);
const counted = [];
try {
  // The unit tests' real-registry cases need the apt packages (docker-registry,
  // htpasswd): on a fresh machine they are installed before the unit tests,
  // not only before the e2e suite (with CI=true those cases must not skip).
  if (mode === 'all' || (mode === 'unit' && process.env.CI === 'true')) peers('install');
  if (mode === 'all' || mode === 'unit') counted.push(runUnit());
  if (mode === 'all' || mode === 'e2e') counted.push(...runE2E(version));
  if (!['all', 'unit', 'e2e'].includes(mode)) throw new Error(`unknown mode ${mode}: use all, unit or e2e [VERSION]`);
} catch (err) {
  lines.push(`error: ${err.message}`);
  failed = true;
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

const sum = (k) => counted.reduce((n, c) => n + c[k], 0);
process.stdout.write(`\n${lines.join('\n')}\n`);
process.stdout.write(`total: ${sum('passed')} passed, ${sum('failed')} failed, ${sum('skipped')} skipped\n`);
process.exit(failed ? 1 : 0);
