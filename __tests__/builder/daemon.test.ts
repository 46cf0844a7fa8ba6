// Lifecycle against real processes: fake daemons written as shell scripts, and
// (when BUILDKITD_BIN is set) the real buildkitd.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BuilderEndpoint } from '../../src/buildkit/endpoint.js';
import { probeBuilder, type BuilderInfo } from '../../src/buildkit/probe.js';
import {
  isOurDaemon,
  readLogTail,
  startLocalDaemon,
  stopLocalDaemon,
  traceSocketArgs,
  type LocalDaemonHandle,
} from '../../src/builder/local/daemon.js';
import { CancelledError } from '../../src/common/cancel.js';
import { appArmorProfileText } from '../../src/builder/local/apparmor.js';

let work: string;
let bin: string;

const alive = async (pid: number): Promise<boolean> => {
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
};
const exists = (p: string) => fs.access(p).then(() => true, () => false);

/** A probe that answers once the socket path exists, like a daemon would. */
const fakeProbe = async (endpoint: BuilderEndpoint): Promise<BuilderInfo> => {
  await fs.access(endpoint.socketPath!);
  return { endpoint, version: { package: 'github.com/moby/buildkit', version: 'v0.0.0-fake' }, workers: [] };
};

/** Writes an executable script named `name` into its own directory (the name is what the ownership check looks for). */
async function script(dirName: string, name: string, body: string): Promise<string> {
  const dir = path.join(bin, dirName);
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, name);
  await fs.writeFile(file, `#!/bin/bash\n${body}\n`, { mode: 0o755 });
  return file;
}

// Creates the --addr socket path (a plain file is enough for the fake probe), then idles.
const touchAddr = 'prev=; for a in "$@"; do if [ "$prev" = --addr ]; then touch "${a#unix://}"; fi; prev=$a; done';

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'bk-daemon-'));
  bin = path.join(work, 'bin');
});
afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

describe('start failures', () => {
  it('(a) a daemon that exits before it is ready fails with its log tail, and leaves no directory', async () => {
    const daemon = await script('crash', 'buildkitd', [
      'for i in $(seq 1 40); do echo "starting line $i"; done',
      'echo "buildkitd: permission denied on /var/lib/buildkit" >&2',
      'exit 3',
    ].join('\n'));
    const before = await fs.readdir(work);
    const err = await startLocalDaemon({ mode: 'rootful', buildkitd: daemon, parentDir: work, probe: fakeProbe, readyTimeoutMs: 10_000 }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    const msg = (err as Error).message;
    expect(msg.split('\n')[0]).toMatch(/^buildkitd \(rootful\) exited with code 3 before it became ready; last lines of .*buildkitd\.log:$/);
    expect(msg).toContain('buildkitd: permission denied on /var/lib/buildkit');
    expect(msg).toContain('starting line 40');
    expect(msg).not.toContain('starting line 10\n'); // only the last 30 lines
    expect(msg.split('\n')).toHaveLength(31);
    expect(await fs.readdir(work)).toEqual(before);
  });

  it('a daemon that never becomes ready is stopped after the timeout', async () => {
    // exec: the process stops looking like buildkitd, yet it is still our child and must go.
    const daemon = await script('hang', 'buildkitd', 'echo "waiting forever"\nexec sleep 601');
    const t0 = Date.now();
    const err = await startLocalDaemon({ mode: 'rootful', buildkitd: daemon, parentDir: work, probe: fakeProbe, readyTimeoutMs: 1500 }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/^buildkitd did not become ready within 2s \(the socket never appeared\); last lines of .*:\nwaiting forever$/);
    expect(Date.now() - t0).toBeLessThan(10_000);
    const leftovers = (await fs.readdir(work)).filter((n) => n.startsWith('envd-buildkitd-'));
    expect(leftovers).toEqual([]);
    // No process with our script's command line survives.
    const ps = execFileSync('ps', ['-eo', 'args']).toString();
    expect(ps).not.toContain('sleep 601');
  });

  it('a missing binary fails with a clear line', async () => {
    await expect(
      startLocalDaemon({ mode: 'rootful', buildkitd: path.join(work, 'nope', 'buildkitd'), parentDir: work, probe: fakeProbe, readyTimeoutMs: 2000 }),
    ).rejects.toThrow(/could not be started: spawn .* ENOENT/);
  });

  it('writes buildkitd-config-inline to buildkitd.toml and passes it', async () => {
    // The fake records its arguments and the config, then exits so we can read them from the log.
    const daemon = await script('args', 'buildkitd', 'echo "ARGS $*"\nprev=; for a in "$@"; do [ "$prev" = --config ] && cat "$a"; prev=$a; done\nexit 1');
    const err = (await startLocalDaemon({
      mode: 'rootful',
      buildkitd: daemon,
      parentDir: work,
      probe: fakeProbe,
      configToml: 'debug = true\n[worker.oci]\n  gc = false',
    }).catch((e: Error) => e)) as Error;
    expect(err.message).toMatch(/ARGS --root \S+\/envd-buildkitd-\w+\/root --addr unix:\/\/\S+\/buildkitd\.sock --config \S+\/buildkitd\.toml\n/);
    // The config chooses workers itself, so we do not force --oci-worker / --containerd-worker.
    expect(err.message).not.toContain('--containerd-worker');
    expect(err.message).toContain('debug = true\n[worker.oci]\n  gc = false');
  });
});

describe('start, recorded and cancellable', () => {
  it('hands over the handle right after the spawn, before the daemon answers; a cancel then stops it and removes its directory', async () => {
    // Never creates its socket: the start would wait for the whole ready timeout.
    const daemon = await script('mute', 'buildkitd', 'echo "never ready"\nwhile true; do sleep 0.1; done');
    const controller = new AbortController();
    const spawned: LocalDaemonHandle[] = [];
    const starting = startLocalDaemon({
      mode: 'rootful',
      buildkitd: daemon,
      parentDir: work,
      probe: fakeProbe,
      readyTimeoutMs: 600_000,
      signal: controller.signal,
      onSpawn: (h) => {
        spawned.push(h);
        // The record must be complete at once: post may be all that is left to use it.
        controller.abort();
      },
    });
    const err = await starting.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledError);
    expect(spawned).toHaveLength(1);
    const h = spawned[0]!;
    expect(h.pid).toBeGreaterThan(1);
    expect(h.pgid).toBe(h.pid);
    expect(path.basename(h.stateDir)).toMatch(/^envd-buildkitd-/);
    expect(h.socket).toBe(`unix://${h.stateDir}/buildkitd.sock`);
    expect(await alive(h.pid)).toBe(false);
    expect(await exists(h.stateDir)).toBe(false);
    // What post does with the recorded handle afterwards is a no-op.
    expect(await stopLocalDaemon(h)).toEqual({ signalled: false, killed: false, removed: false });
  });

  it('a cancel before the spawn starts nothing and leaves no directory', async () => {
    const daemon = await script('unused', 'buildkitd', 'echo "must not run" >&2; exit 1');
    const controller = new AbortController();
    controller.abort();
    const before = (await fs.readdir(work)).filter((n) => n.startsWith('envd-buildkitd-'));
    const spawned: LocalDaemonHandle[] = [];
    const err = await startLocalDaemon({ mode: 'rootful', buildkitd: daemon, parentDir: work, probe: fakeProbe, signal: controller.signal, onSpawn: (h) => spawned.push(h) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledError);
    expect(spawned).toEqual([]);
    expect((await fs.readdir(work)).filter((n) => n.startsWith('envd-buildkitd-'))).toEqual(before);
  });
});

describe('stop', () => {
  it('(b)(c) SIGTERM stops a daemon; its state dir is removed; a second stop is a no-op', async () => {
    // The trap goes in before the socket appears: the probe says "ready" as soon as it exists.
    const daemon = await script('polite', 'buildkitd', `trap 'echo "got TERM"; exit 0' TERM\n${touchAddr}\necho ready\nwhile true; do sleep 0.1; done`);
    const { handle, info, endpoint } = await startLocalDaemon({ mode: 'rootful', buildkitd: daemon, parentDir: work, probe: fakeProbe });
    expect(info.version?.version).toBe('v0.0.0-fake');
    expect(endpoint.socketPath).toBe(path.join(handle.stateDir, 'buildkitd.sock'));
    expect(handle).toMatchObject({ mode: 'rootful', pgid: handle.pid, socket: `unix://${handle.stateDir}/buildkitd.sock`, logFile: path.join(handle.stateDir, 'buildkitd.log') });
    expect(path.basename(handle.stateDir)).toMatch(/^envd-buildkitd-/);
    expect((await fs.stat(handle.stateDir)).mode & 0o777).toBe(0o700);
    // The handle goes through action state as JSON.
    const restored = JSON.parse(JSON.stringify(handle)) as LocalDaemonHandle;
    expect(restored).toEqual(handle);
    expect(await alive(handle.pid)).toBe(true);

    const result = await stopLocalDaemon(restored, { termTimeoutMs: 5000 });
    expect(result).toEqual({ signalled: true, killed: false, removed: true });
    expect(await alive(handle.pid)).toBe(false);
    expect(await exists(handle.stateDir)).toBe(false);

    expect(await stopLocalDaemon(restored)).toEqual({ signalled: false, killed: false, removed: false });
  });

  it('(b) escalates to SIGKILL when the daemon traps TERM', async () => {
    const daemon = await script('stubborn', 'buildkitd', `trap 'echo "ignoring TERM"' TERM\n${touchAddr}\nwhile true; do sleep 0.1; done`);
    const { handle } = await startLocalDaemon({ mode: 'rootful', buildkitd: daemon, parentDir: work, probe: fakeProbe });
    const lines: string[] = [];
    const t0 = Date.now();
    const result = await stopLocalDaemon(handle, { termTimeoutMs: 1000, log: (l) => lines.push(l) });
    expect(result).toEqual({ signalled: true, killed: true, removed: true });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(lines).toEqual([`buildkitd (pid ${handle.pid}) ignored SIGTERM for 1s; sending SIGKILL`]);
    expect(await alive(handle.pid)).toBe(false);
    expect(await exists(handle.stateDir)).toBe(false);
  });

  it('(c) removes the state dir even when the daemon is already gone', async () => {
    const daemon = await script('gone', 'buildkitd', `${touchAddr}\nwhile true; do sleep 0.1; done`);
    const { handle } = await startLocalDaemon({ mode: 'rootful', buildkitd: daemon, parentDir: work, probe: fakeProbe });
    process.kill(-handle.pid, 'SIGKILL');
    for (let i = 0; i < 50 && (await alive(handle.pid)); i++) await new Promise((r) => setTimeout(r, 50));
    await fs.mkdir(path.join(handle.stateDir, 'root', 'deep', 'er'), { recursive: true });
    expect(await stopLocalDaemon(handle)).toEqual({ signalled: false, killed: false, removed: true });
    expect(await exists(handle.stateDir)).toBe(false);
  });

  describe('(d) never touches a process that is not ours', () => {
    let sleeper: ChildProcess;
    let stateDir: string;
    beforeEach(async () => {
      sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
      stateDir = await fs.mkdtemp(path.join(work, 'envd-buildkitd-'));
    });
    afterEach(async () => {
      sleeper.kill('SIGKILL');
      await fs.rm(stateDir, { recursive: true, force: true });
    });

    it('refuses a pid whose command line is not buildkitd/rootlesskit', async () => {
      const handle: LocalDaemonHandle = {
        pid: sleeper.pid!,
        pgid: sleeper.pid!,
        stateDir,
        socket: `unix://${stateDir}/buildkitd.sock`,
        mode: 'rootful',
        startedAt: new Date().toISOString(),
        logFile: path.join(stateDir, 'buildkitd.log'),
      };
      await expect(stopLocalDaemon(handle, { termTimeoutMs: 500 })).rejects.toThrow(
        `refusing to stop pid ${sleeper.pid}: it is not the buildkitd started for ${stateDir} (its command line is "sleep 600")`,
      );
      expect(await alive(sleeper.pid!)).toBe(true);
      expect(await exists(stateDir)).toBe(true); // nothing removed either
    });

    it('refuses a buildkitd that belongs to another state directory', async () => {
      const other = await script('other', 'buildkitd', 'while true; do sleep 0.1; done');
      const foreign = spawn(other, ['--root', '/somewhere/else'], { stdio: 'ignore' });
      try {
        await new Promise((r) => setTimeout(r, 200));
        const handle: LocalDaemonHandle = {
          pid: foreign.pid!,
          stateDir,
          socket: `unix://${stateDir}/buildkitd.sock`,
          mode: 'rootful',
          startedAt: new Date().toISOString(),
          logFile: '',
        };
        await expect(stopLocalDaemon(handle)).rejects.toThrow(/^refusing to stop pid \d+/);
        expect(await alive(foreign.pid!)).toBe(true);
      } finally {
        foreign.kill('SIGKILL');
      }
    });

    it('rejects handles that point outside our directories', async () => {
      const base = { pid: sleeper.pid!, socket: 'unix:///x', mode: 'rootful' as const, startedAt: '', logFile: '' };
      await expect(stopLocalDaemon({ ...base, stateDir: '/' })).rejects.toThrow('invalid local builder handle: state directory "/"');
      await expect(stopLocalDaemon({ ...base, stateDir: 'relative/envd-buildkitd-x' })).rejects.toThrow('invalid local builder handle');
      await expect(stopLocalDaemon({ ...base, stateDir: '/tmp/../envd-buildkitd-x' })).rejects.toThrow('invalid local builder handle');
      await expect(stopLocalDaemon({ ...base, pid: 1, stateDir })).rejects.toThrow('invalid local builder handle: pid 1');
      expect(await alive(sleeper.pid!)).toBe(true);
    });
  });

  it('isOurDaemon needs both the binary name and the state dir', () => {
    const h = { stateDir: '/t/envd-buildkitd-abc' };
    const cl = (...a: string[]) => a.join('\0');
    expect(isOurDaemon(cl('/opt/bk/bin/buildkitd', '--root', '/t/envd-buildkitd-abc/root'), h)).toBe(true);
    expect(isOurDaemon(cl('rootlesskit', '--state-dir=/t/envd-buildkitd-abc/rootlesskit', '--net=host', 'buildkitd'), h)).toBe(true);
    expect(isOurDaemon(cl('/bin/bash', '/x/buildkitd', '--addr', 'unix:///t/envd-buildkitd-abc/buildkitd.sock'), h)).toBe(true);
    expect(isOurDaemon(cl('/opt/bk/bin/buildkitd', '--root', '/opt/bk/state'), h)).toBe(false);
    expect(isOurDaemon(cl('/opt/bk/bin/buildkitd', '--root', '/t/envd-buildkitd-abcdef/root'), h)).toBe(false);
    expect(isOurDaemon(cl('sleep', '/t/envd-buildkitd-abc/root'), h)).toBe(false);
    expect(isOurDaemon(cl('/usr/bin/notbuildkitd', '/t/envd-buildkitd-abc/root'), h)).toBe(false);
  });
});

it('readLogTail returns the last lines', async () => {
  const f = path.join(work, 'tail.log');
  await fs.writeFile(f, Array.from({ length: 50 }, (_, i) => `l${i}`).join('\n') + '\n');
  expect(await readLogTail(f, 3)).toBe('l47\nl48\nl49');
  expect(await readLogTail(path.join(work, 'missing.log'))).toBe('');
});

it('appArmorProfileText grants userns to exactly the rootlesskit path', () => {
  const text = appArmorProfileText('/opt/hostedtoolcache/rootlesskit/2.3.5/x64/rootlesskit');
  expect(text).toContain('profile envd-remote-build-rootlesskit "/opt/hostedtoolcache/rootlesskit/2.3.5/x64/rootlesskit" flags=(unconfined) {');
  expect(text).toContain('  userns,\n}');
  expect(() => appArmorProfileText('rootlesskit')).toThrow('absolute path');
  expect(() => appArmorProfileText('/a"b')).toThrow('without quotes');
});

// --- the real buildkitd ---------------------------------------------------------

const BUILDKITD_BIN = process.env['BUILDKITD_BIN'];
const isRoot = process.getuid?.() === 0;
if (!BUILDKITD_BIN) {
  // Straight to stderr: a console.warn block with its code frame would push a failure's details out of a short CI excerpt.
  process.stderr.write('\n!!! SKIPPING real buildkitd lifecycle tests: set BUILDKITD_BIN=/path/to/buildkitd to run them\n\n');
}
const realIt = BUILDKITD_BIN ? it : it.skip;
const sudoWorks = (() => {
  try {
    execFileSync('sudo', ['-n', 'true'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
})();

/**
 * A RUN step proves runc works in this mode; chown to a high UID leaves files that,
 * in rootless mode, belong to a sub-UID, so stop has to remove them from inside the
 * user namespace. Needs buildctl next to buildkitd and a static busybox; skipped otherwise.
 */
async function buildWithRunStep(handle: LocalDaemonHandle): Promise<void> {
  const buildctl = path.join(path.dirname(BUILDKITD_BIN!), 'buildctl');
  if (!(await exists(buildctl)) || !(await exists('/usr/bin/busybox'))) {
    process.stderr.write('\n!!! SKIPPING the RUN-step build: needs buildctl next to BUILDKITD_BIN and /usr/bin/busybox\n\n');
    return;
  }
  const ctx = await fs.mkdtemp(path.join(work, 'ctx-'));
  await fs.copyFile('/usr/bin/busybox', path.join(ctx, 'busybox'));
  await fs.writeFile(
    path.join(ctx, 'Dockerfile'),
    'FROM scratch\nCOPY busybox /bin/busybox\n' +
      'RUN ["/bin/busybox", "sh", "-c", "/bin/busybox mkdir -p /d/e && /bin/busybox touch /d/e/f && /bin/busybox chown -R 4321:4321 /d && /bin/busybox chmod -R 0700 /d && /bin/busybox echo run-step-ok"]\n',
  );
  const out = execFileSync(
    buildctl,
    ['--addr', handle.socket, 'build', '--frontend', 'dockerfile.v0', '--local', `context=${ctx}`, '--local', `dockerfile=${ctx}`, '--progress', 'plain'],
    { stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 },
  );
  void out;
  await fs.rm(ctx, { recursive: true, force: true });
}

async function checkReal(mode: 'rootful' | 'sudo'): Promise<void> {
  const expected = execFileSync(BUILDKITD_BIN!, ['--version']).toString().split(' ')[2]!;
  const { handle, info } = await startLocalDaemon({
    mode,
    buildkitd: BUILDKITD_BIN!,
    version: expected,
    parentDir: work,
    probe: probeBuilder,
    readyTimeoutMs: 60_000,
    configToml: 'debug = false',
  });
  try {
    expect(info.version?.version).toBe(expected);
    expect(info.workers!.length).toBeGreaterThan(0);
    expect(info.workers![0]!.platforms?.length).toBeGreaterThan(0);
    // Our own daemon, not the shared one.
    expect(info.endpoint.address).toBe(`unix://${handle.stateDir}/buildkitd.sock`);
    expect(handle.mode).toBe(mode);
    expect(await exists(path.join(handle.stateDir, 'root'))).toBe(true);
    // From v0.13 its trace socket is in our directory, not at the host's
    // /run/buildkit/otel-grpc.sock; the flag is the one the daemon accepts.
    const help = execFileSync(BUILDKITD_BIN!, ['--help']).toString();
    expect(traceSocketArgs(expected, handle.stateDir).length > 0).toBe(help.includes('--otel-socket-path'));
    if (help.includes('--otel-socket-path')) expect(await isSocket(path.join(handle.stateDir, 'otel.sock'))).toBe(true);
    // A second probe through a fresh connection answers too.
    const again = await probeBuilder(info.endpoint, 5000);
    expect(again.version?.version).toBe(expected);
    await buildWithRunStep(handle);
  } finally {
    const result = await stopLocalDaemon(handle, { termTimeoutMs: 10_000 });
    expect(result).toEqual({ signalled: true, killed: false, removed: true });
  }
  expect(await alive(handle.pid)).toBe(false);
  expect(await exists(handle.stateDir)).toBe(false);
}

describe('(e) real buildkitd', () => {
  (isRoot ? realIt : it.skip)('rootful as root: start, Info, stop, state cleaned', async () => {
    await checkReal('rootful');
  });

  (sudoWorks ? realIt : it.skip)('through sudo (pid file, sudo kill, sudo rm): start, Info, stop, state cleaned', async () => {
    await checkReal('sudo');
  });
});

async function isSocket(file: string): Promise<boolean> {
  return (await fs.lstat(file).catch(() => undefined))?.isSocket() ?? false;
}

describe('traceSocketArgs', () => {
  it('moves the trace socket into the state dir from v0.13 on, the release that added the flag', () => {
    for (const v of ['v0.13.0', '0.13.0', 'v0.25.2', 'v0.34.2', 'v1.0.0']) {
      expect(traceSocketArgs(v, '/state/dir')).toEqual(['--otel-socket-path', '/state/dir/otel.sock']);
    }
  });

  it('gives older daemons (their socket is under --root already) and unknown versions nothing', () => {
    for (const v of ['v0.11.6', 'v0.12.5', '0.9.0', undefined, '', 'latest', 'main']) {
      expect(traceSocketArgs(v, '/state/dir')).toEqual([]);
    }
  });
});
