// A real buildkitd that dies or stops answering in the middle of a build.
// Each test starts its own throwaway daemon (private socket and --root), so
// it can kill or SIGSTOP it; the shared daemons are never touched.
//
// The build is held at its first step: the daemon asks our session for the
// Dockerfile, and the test's FileSync handler does not answer. That call is
// the event the test waits for before it kills or stops the daemon.
//
// The SIGSTOP test runs with the production keepalive (a ping 5 min 15 s
// after the last answer, 20 s to answer), so it takes about 5.5 minutes.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, watch } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { DEFAULT_KEEPALIVE } from '../../../src/buildkit/channel.js';
import { ControlClient } from '../../../src/buildkit/control.js';
import { parseEndpoint, type BuilderEndpoint } from '../../../src/buildkit/endpoint.js';
import { probeBuilder } from '../../../src/buildkit/probe.js';
import { solve, SolveError } from '../../../src/buildkit/solve.js';
import { Messages, Services, type Packet } from '../../../src/protocol/index.js';
import { bidiMethod, healthService } from '../../../src/session/services.js';
import { next } from '../../helpers/fake-builder.js';

const BUILDKITD_BIN = process.env.BUILDKITD_BIN ?? '';
if (!BUILDKITD_BIN) {
  process.stderr.write('\n!!! BUILDER-LOSS END-TO-END SKIPPED: set BUILDKITD_BIN to a buildkitd binary to run it\n\n');
}

interface Daemon {
  readonly proc: ChildProcess;
  readonly endpoint: BuilderEndpoint;
  readonly dir: string;
  readonly exited: Promise<void>;
}

let daemon: Daemon | undefined;
let client: ControlClient | undefined;

/** Starts buildkitd on a private socket and waits until it answers. */
async function startDaemon(): Promise<Daemon> {
  const dir = mkdtempSync(join(tmpdir(), 'bk-loss-'));
  const socket = join(dir, 'buildkitd.sock');
  const log = openSync(join(dir, 'buildkitd.log'), 'a');
  const proc = spawn(BUILDKITD_BIN, ['--root', join(dir, 'root'), '--addr', `unix://${socket}`, '--oci-worker=true', '--containerd-worker=false'], {
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const d: Daemon = { proc, endpoint: parseEndpoint(`unix://${socket}`), dir, exited };
  daemon = d;
  // The socket file appears at bind(), a moment before listen(): a probe in
  // that gap is refused. buildkitd logs "running server on" once it listens,
  // so that log line is the event; the probe then waits until it answers.
  const logPath = join(dir, 'buildkitd.log');
  const listening = (): boolean => existsSync(socket) && readFileSync(logPath, 'utf8').includes('running server on');
  await new Promise<void>((resolve, reject) => {
    const watcher = watch(dir, () => {
      if (listening()) {
        watcher.close();
        resolve();
      }
    });
    if (listening()) {
      watcher.close();
      resolve();
    }
    proc.once('exit', (code) => {
      watcher.close();
      reject(new Error(`buildkitd exited with ${code}: ${readFileSync(logPath, 'utf8').slice(-2000)}`));
    });
  });
  await probeBuilder(d.endpoint, 60_000);
  return d;
}

afterEach(async () => {
  client?.close();
  client = undefined;
  const d = daemon;
  daemon = undefined;
  if (!d) return;
  if (d.proc.exitCode === null && d.proc.signalCode === null) {
    d.proc.kill('SIGCONT');
    d.proc.kill('SIGKILL');
    await d.exited;
  }
  // A daemon killed mid-build may leave mounts below its root.
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => !!m && m.startsWith(`${d.dir}/`));
  for (const m of mounts.sort((a, b) => b.length - a.length)) {
    try {
      execFileSync('umount', ['-l', m]);
    } catch {
      // not ours to unmount, or gone already
    }
  }
  await rm(d.dir, { recursive: true, force: true });
});

/** Starts a Dockerfile build whose first read of our session never gets an answer; resolves once the daemon is waiting on it. */
async function buildStuckOnSession(d: Daemon): Promise<{ outcome: Promise<unknown> }> {
  const events = new EventEmitter();
  const stuck = bidiMethod<Packet, Packet>(Services.FileSync, 'DiffCopy', Messages.Packet, Messages.Packet, async (call) => {
    events.emit('diffcopy');
    await new Promise<void>((resolve) => call.signal.addEventListener('abort', () => resolve(), { once: true }));
  });
  client = new ControlClient(d.endpoint);
  const solving = solve({ client, request: { Frontend: 'dockerfile.v0' }, handlers: [healthService(), stuck], sharedKey: 'builder-loss' });
  solving.catch(() => undefined);
  await Promise.race([
    next(events, 'diffcopy'),
    solving.then((r) => {
      throw new Error(`the build ended before it read the session: ${JSON.stringify(r)}`);
    }),
  ]);
  // Wrapped: an async function returning the promise itself would wait for it.
  return {
    outcome: solving.then(
      () => undefined,
      (e: unknown) => e,
    ),
  };
}

(BUILDKITD_BIN ? describe : describe.skip)('a real buildkitd lost during a build', () => {
  test('killed: the build fails promptly with one line naming the builder', async () => {
    const d = await startDaemon();
    const { outcome } = await buildStuckOnSession(d);
    d.proc.kill('SIGKILL');
    const err = (await outcome) as SolveError;
    expect(err).toBeInstanceOf(SolveError);
    expect(err.message).toMatch(new RegExp(`^lost the connection to builder unix://${d.endpoint.socketPath!.replace(/[.]/g, '\\.')} during the build \\(`));
    expect(err.message.split('\n')).toHaveLength(1);
    // The daemon had asked for the Dockerfile: the build had started, no failover.
    expect(err.connectionLost).toMatchObject({ beforeStart: false });
  }, 60_000);

  test('stopped (SIGSTOP): the keepalive gives up on it within 6 minutes, naming the builder', async () => {
    const d = await startDaemon();
    const { outcome } = await buildStuckOnSession(d);
    d.proc.kill('SIGSTOP');
    const err = (await outcome) as SolveError;
    expect(err).toBeInstanceOf(SolveError);
    expect(err.message).toContain(`lost the connection to builder unix://${d.endpoint.socketPath}`);
    expect(err.message).toContain('keepalive');
    expect(err.connectionLost).toMatchObject({ beforeStart: false });
  }, DEFAULT_KEEPALIVE.timeMs + DEFAULT_KEEPALIVE.timeoutMs + 60_000);
});
