// A cancelled job at every stage of main: the bundled action is run as the
// runner runs it, and cancelled as the runner cancels a job: SIGINT, SIGTERM
// 7.5 s later, SIGKILL 2.5 s after that. Main must end by itself (once
// SIGKILLed it can clean up nothing), and the post step must then leave no
// process and no state directory behind.
//
// Each stage is made to hang where a real one can: a builder that accepts
// connections and never answers (probe), downloads through a proxy that
// never answers (buildkit and envd downloads), a local buildkitd that never
// becomes ready (start), and a build that never finishes (solve, on a remote
// and on a local daemon). The cancel is sent when the test sees the stage
// begin (a connection, a proxy request, a spawned daemon, a Solve call).
//
// Self-contained: no real daemon or network needed. The local-daemon stages
// need root (the action then runs buildkitd directly; as another user it
// picks rootless or sudo modes that the fake does not imitate).
import { jest } from '@jest/globals';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync as mkdtempSyncFs, readdirSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAction, type ActionRun } from '../helpers/run-action.js';
import { startFakeBuilder, type FakeBuilder } from '../helpers/fake-builder.js';
import { FAKE_BUILDKITD_VERSION, writeFakeBuildkitd } from '../helpers/fake-buildkitd.js';

jest.setTimeout(120_000);

/** Temporary directories of this file, removed after it. */
const made: string[] = [];
function mkdtempSync(prefix: string): string {
  const dir = mkdtempSyncFs(prefix);
  made.push(dir);
  return dir;
}

const isRoot = process.getuid?.() === 0;
if (!isRoot) {
  process.stderr.write('\n!!! CANCEL TESTS OF THE LOCAL-DAEMON STAGES SKIPPED: they need root (rootful buildkitd)\n\n');
}

/** A system PATH without any buildkitd or envd of the test machine. */
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
  .split(':')
  .filter((d) => !existsSync(join(d, 'buildkitd')) && !existsSync(join(d, 'envd')))
  .join(':');
const NODE_DIR = process.execPath.slice(0, process.execPath.lastIndexOf('/'));

/** A TCP server that accepts connections and never sends a byte: a hung builder, or a proxy that never answers. */
class Silent {
  readonly sockets = new Set<Socket>();
  private readonly waiters: (() => void)[] = [];
  private constructor(private readonly server: Server) {}

  static async start(): Promise<Silent & { port: number }> {
    let silent!: Silent;
    const server = createServer((socket) => {
      silent.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => silent.sockets.delete(socket));
      // The first bytes (a TLS or HTTP/2 preface, a CONNECT request) mark the stage as begun.
      socket.once('data', () => {
        for (const w of silent.waiters.splice(0)) w();
      });
    });
    silent = new Silent(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return Object.assign(silent, { port: (server.address() as { port: number }).port });
  }

  /** Resolves when a client has sent something. */
  request(): Promise<void> {
    return new Promise((r) => this.waiters.push(r));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
}

/** Resolves when `file` (appended to by the fake buildkitd) contains `line`. */
function fileLine(file: string, line: string): Promise<void> {
  const has = () => existsSync(file) && readFileSync(file, 'utf8').split('\n').includes(line);
  return new Promise((resolve) => {
    if (has()) return resolve();
    const watcher = watch(file.slice(0, file.lastIndexOf('/')), () => {
      if (has()) {
        watcher.close();
        resolve();
      }
    });
  });
}

interface Cancelled {
  /** The runner had to SIGKILL main: it did not end by itself. */
  readonly killed: boolean;
  /** Signals sent, in order. */
  readonly sent: readonly NodeJS.Signals[];
}

/** Cancels like the runner: SIGINT, SIGTERM after 7.5 s, SIGKILL after 2.5 s more; stops at main's exit. */
function cancelLikeRunner(child: ChildProcess): Promise<Cancelled> {
  const sent: NodeJS.Signals[] = [];
  return new Promise((resolve) => {
    let killed = false;
    const timers: NodeJS.Timeout[] = [];
    child.once('exit', () => {
      for (const t of timers) clearTimeout(t);
      resolve({ killed, sent });
    });
    const send = (sig: NodeJS.Signals) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      sent.push(sig);
      if (sig === 'SIGKILL') killed = true;
      child.kill(sig);
    };
    send('SIGINT');
    timers.push(setTimeout(() => send('SIGTERM'), 7500));
    timers.push(setTimeout(() => send('SIGKILL'), 10_000));
  });
}

/** Processes whose command line mentions `dir` (the run's RUNNER_TEMP holds every state directory). */
function processesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (/^\d+ \(.*\) [ZX]/.test(stat)) continue;
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(dir)) found.push(`${pid}: ${cmdline}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

interface Stage {
  readonly inputs: Record<string, string>;
  readonly env?: Record<string, string>;
  /** Resolves when the stage has begun; the cancel goes out then. */
  readonly begun: () => Promise<void>;
}

interface Outcome {
  readonly run: ActionRun & { post?: { code: number; stdout: string; stderr: string } };
  readonly cancelled: Cancelled;
  readonly runnerTemp: string;
}

async function cancelDuring(stage: Stage): Promise<Outcome> {
  const runnerTemp = mkdtempSync(join(tmpdir(), 'cancel-rt-'));
  let cancelled: Promise<Cancelled> | undefined;
  const run = await runAction(stage.inputs, {
    env: { RUNNER_TEMP: runnerTemp, PATH: SYSTEM_PATH ? `${NODE_DIR}:${SYSTEM_PATH}` : NODE_DIR, ...stage.env },
    timeoutMs: 60_000,
    onMain: (child) => {
      cancelled = stage.begun().then(() => cancelLikeRunner(child));
    },
  });
  return { run, cancelled: await cancelled!, runnerTemp };
}

/** What every stage must end with. */
function expectCleanCancel(o: Outcome, stageWords: RegExp): void {
  // Main ended by itself, before the runner's SIGKILL, with one error line saying what was interrupted.
  expect(o.cancelled.killed).toBe(false);
  expect(o.run.code).toBe(1);
  const errors = o.run.stdout.split('\n').filter((l) => l.startsWith('::error::'));
  expect(errors.join('\n')).toMatch(stageWords);
  // Post ran cleanly and left nothing: no process, no state directory.
  expect(o.run.post?.code).toBe(0);
  expect(processesUnder(o.runnerTemp)).toEqual([]);
  const leftovers = existsSync(o.runnerTemp) ? readdirSync(o.runnerTemp).filter((n) => n.startsWith('envd-buildkitd-')) : [];
  expect(leftovers).toEqual([]);
  if (o.run.state.localBuilder) expect(existsSync((JSON.parse(o.run.state.localBuilder) as { stateDir: string }).stateDir)).toBe(false);
}

let silent: Silent & { port: number };
let builder: FakeBuilder;
let context: string;
let envdContext: string;

beforeAll(async () => {
  silent = await Silent.start();
  builder = await startFakeBuilder();
  context = mkdtempSync(join(tmpdir(), 'cancel-ctx-'));
  writeFileSync(join(context, 'Dockerfile'), 'FROM scratch\nCOPY Dockerfile /\n');
  envdContext = mkdtempSync(join(tmpdir(), 'cancel-envd-'));
  writeFileSync(join(envdContext, 'build.envd'), 'def build():\n    base(dev=True)\n');
});

afterAll(async () => {
  await silent.close();
  await builder.close();
  // A run that failed its test may have leaked a fake daemon: it is the test's own, stop it.
  for (const dir of made) {
    for (const p of processesUnder(dir)) process.kill(Number(p.slice(0, p.indexOf(':'))), 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('probe: a builder that never answers', async () => {
  const o = await cancelDuring({
    inputs: { builder: `tcp://127.0.0.1:${silent.port}`, 'connect-timeout': '10m', fallback: 'never', context },
    begun: () => silent.request(),
  });
  expectCleanCancel(o, /cancelled while probing builder tcp:\/\/127\.0\.0\.1:\d+/);
});

test('download: buildkitd downloads through a proxy that never answers', async () => {
  const o = await cancelDuring({
    inputs: { fallback: 'only', 'buildkit-version': 'v0.24.0', context },
    env: { https_proxy: `http://127.0.0.1:${silent.port}`, RUNNER_TOOL_CACHE: mkdtempSync(join(tmpdir(), 'cancel-tc-')) },
    begun: () => silent.request(),
  });
  expectCleanCancel(o, /cancelled while downloading https:\/\/github\.com\/moby\/buildkit\//);
});

test('envd install: envd downloads through a proxy that never answers', async () => {
  const o = await cancelDuring({
    // No envd digest is pinned: offline, the releases API gives none, and only
    // the opt-in lets the install go on to its download (on a machine with
    // internet the API's digest is used and the opt-in changes nothing).
    inputs: { builder: builder.address, context: envdContext, 'allow-unverified-downloads': 'true' },
    // grpc-js honours https_proxy too: the builder itself is reached directly.
    env: { https_proxy: `http://127.0.0.1:${silent.port}`, no_proxy: '127.0.0.1', RUNNER_TOOL_CACHE: mkdtempSync(join(tmpdir(), 'cancel-tc-')) },
    begun: () => silent.request(),
  });
  expectCleanCancel(o, /cancelled while downloading (checksums\.txt of )?envd/);
});

test('solve: a build on a remote builder that never finishes', async () => {
  const o = await cancelDuring({
    inputs: { builder: builder.address, context },
    begun: () => new Promise((r) => builder.events.once('solve', () => r())),
  });
  expectCleanCancel(o, /build cancelled/);
});

(isRoot ? describe : describe.skip)('local daemon stages (rootful)', () => {
  let bin: string;
  beforeAll(() => {
    bin = mkdtempSync(join(tmpdir(), 'cancel-bin-'));
    writeFakeBuildkitd(bin);
  });

  test('start: a local buildkitd that never becomes ready', async () => {
    const events = join(mkdtempSync(join(tmpdir(), 'cancel-ev-')), 'events');
    const o = await cancelDuring({
      inputs: { fallback: 'only', 'buildkit-version': FAKE_BUILDKITD_VERSION, context },
      env: { PATH: `${bin}:${NODE_DIR}:${SYSTEM_PATH}`, FAKE_BUILDKITD_EVENTS: events },
      begun: () => fileLine(events, 'spawned'),
    });
    // The daemon was recorded for post the moment it ran, before it could answer.
    expect(o.run.state.localBuilder).toBeTruthy();
    expectCleanCancel(o, /cancelled while starting buildkitd/);
  });

  test('solve: a build on the local buildkitd that never finishes', async () => {
    const events = join(mkdtempSync(join(tmpdir(), 'cancel-ev-')), 'events');
    const o = await cancelDuring({
      inputs: { fallback: 'only', 'buildkit-version': FAKE_BUILDKITD_VERSION, context },
      env: { PATH: `${bin}:${NODE_DIR}:${SYSTEM_PATH}`, FAKE_BUILDKITD_EVENTS: events, FAKE_BUILDKITD_SERVE: '1' },
      begun: () => fileLine(events, 'solve'),
    });
    expect(o.run.state.localBuilder).toBeTruthy();
    // Post stopped the daemon main had left running.
    expect(o.run.post?.stdout).toMatch(/local buildkitd: stopped, state removed/);
    expectCleanCancel(o, /build cancelled/);
  });
});
