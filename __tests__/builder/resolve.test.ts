import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import type { Fallback } from '../../src/action/inputs-types.js';
import type { BuilderEndpoint } from '../../src/buildkit/endpoint.js';
import { parseEndpoint } from '../../src/buildkit/endpoint.js';
import type { BuilderInfo, ProbeOptions } from '../../src/buildkit/probe.js';
import type { LocalDaemon, LocalDaemonHandle } from '../../src/builder/local/daemon.js';
import { stopLocalDaemon } from '../../src/builder/local/daemon.js';
import { BuilderResolver, resolveBuilder, type ResolveInputs, type ResolveLogger } from '../../src/builder/resolve.js';
import { CancelledError } from '../../src/common/cancel.js';

function recorder(): ResolveLogger & { events: string[] } {
  const events: string[] = [];
  return {
    events,
    info: (m) => events.push(`info ${m}`),
    untrusted: (m) => events.push(`untrusted ${m}`),
    warning: (m, p) => events.push(`warning ${p?.title ? `[${p.title}] ` : ''}${m}`),
    startGroup: (n) => events.push(`group ${n}`),
    endGroup: () => events.push('endgroup'),
  };
}

const infoFor = (endpoint: BuilderEndpoint, version = 'v0.24.0'): BuilderInfo => ({
  endpoint,
  version: { package: 'github.com/moby/buildkit', version, revision: 'abc123' },
  workers: [
    {
      ID: 'w1',
      platforms: [
        { OS: 'linux', Architecture: 'amd64' },
        { OS: 'linux', Architecture: 'arm', Variant: 'v7' },
      ],
      Labels: { 'org.mobyproject.buildkit.worker.executor': 'oci', 'org.mobyproject.buildkit.worker.snapshotter': 'overlayfs' },
    },
  ],
});

/** Probe answering per address: an Error message means unreachable. Workers only when asked for, as probeBuilder does. */
function probeTable(table: Record<string, string | 'ok'>) {
  const calls: [string, number][] = [];
  const probe = async (endpoint: BuilderEndpoint, timeoutMs: number, _signal?: AbortSignal, options?: ProbeOptions): Promise<BuilderInfo> => {
    calls.push([endpoint.address, timeoutMs]);
    const r = table[endpoint.address];
    if (r === 'ok') {
      const { workers, ...versionOnly } = infoFor(endpoint);
      return options?.workers === false ? versionOnly : { ...versionOnly, ...(workers ? { workers } : {}) };
    }
    throw new Error(`builder ${endpoint.address} is not usable: ${r ?? 'unexpected probe'}`);
  };
  return { probe, calls };
}

const localHandle: LocalDaemonHandle = {
  pid: 4242,
  pgid: 4242,
  stateDir: '/tmp/envd-buildkitd-x',
  socket: 'unix:///tmp/envd-buildkitd-x/buildkitd.sock',
  mode: 'rootless',
  startedAt: '2024-01-01T00:00:00.000Z',
  logFile: '/tmp/envd-buildkitd-x/buildkitd.log',
};

function fakeLocal(fail?: string) {
  const started: ResolveInputs[] = [];
  const startLocal = async (inputs: ResolveInputs): Promise<LocalDaemon> => {
    started.push(inputs);
    if (fail) throw new Error(fail);
    const endpoint = parseEndpoint(localHandle.socket);
    return { handle: localHandle, endpoint, info: infoFor(endpoint, 'v0.24.0') };
  };
  return { startLocal, started };
}

const inputs = (builders: string[], fallback: Fallback): ResolveInputs => ({
  builders,
  fallback,
  connectTimeoutMs: 3000,
  buildkitVersion: 'v0.24.0',
  buildkitDownloadUrl: '',
  buildkitdConfigInline: '',
  allowUnverifiedDownloads: false,
});

const A = 'tcp://a.example:1234';
const B = 'tcp://b.example:1234';

describe('resolveBuilder decision table', () => {
  it('first reachable remote wins; later ones are not probed; local never started', async () => {
    const { probe, calls } = probeTable({ [A]: 'ok', [B]: 'ok' });
    const local = fakeLocal();
    const log = recorder();
    const r = await resolveBuilder(inputs([A, B], 'auto'), { probe, startLocal: local.startLocal, log });
    expect(r.endpoint.address).toBe(A);
    expect(r.local).toBeUndefined();
    expect(calls).toEqual([[A, 3000]]);
    expect(local.started).toEqual([]);
    // The version only: the workers were not asked for.
    expect(log.events).toEqual([`group Using BuildKit v0.24.0 at ${A} (remote)`, 'untrusted Version: github.com/moby/buildkit v0.24.0 (abc123)', 'endgroup']);
  });

  it('asks for the workers when told to, and logs their platforms', async () => {
    const { probe } = probeTable({ [A]: 'ok' });
    const log = recorder();
    await resolveBuilder(inputs([A], 'never'), { probe, startLocal: fakeLocal().startLocal, log }, { workers: true });
    expect(log.events).toEqual([
      `group Using BuildKit v0.24.0 at ${A} (remote)`,
      'untrusted Version: github.com/moby/buildkit v0.24.0 (abc123)',
      'untrusted Worker w1: linux/amd64, linux/arm/v7 (executor oci, snapshotter overlayfs)',
      'endgroup',
    ]);
  });

  it('fails over to the next endpoint, logging each failure as one line', async () => {
    const { probe, calls } = probeTable({ [A]: 'connection refused (is buildkitd listening there?)', [B]: 'ok' });
    const log = recorder();
    const r = await resolveBuilder(inputs([A, B], 'never'), { probe, startLocal: fakeLocal().startLocal, log });
    expect(r.endpoint.address).toBe(B);
    expect(calls.map((c) => c[0])).toEqual([A, B]);
    expect(log.events[0]).toBe(`untrusted Builder ${A} is not usable: connection refused (is buildkitd listening there?)`);
    expect(log.events.filter((e) => e.startsWith('warning'))).toEqual([]);
  });

  it('auto with none reachable: warning annotation naming each endpoint and cause, then local', async () => {
    const { probe } = probeTable({ [A]: 'connection refused (is buildkitd listening there?)', [B]: 'no answer within 3s (connect-timeout)' });
    const local = fakeLocal();
    const log = recorder();
    const r = await resolveBuilder(inputs([A, B], 'auto'), { probe, startLocal: local.startLocal, log });
    expect(r.local).toEqual(localHandle);
    expect(r.endpoint.address).toBe(localHandle.socket);
    expect(local.started).toHaveLength(1);
    expect(log.events).toContain(
      `warning [Falling back to a local BuildKit daemon] No builder reachable (${A}: connection refused (is buildkitd listening there?); ${B}: no answer within 3s (connect-timeout)); starting BuildKit on the runner instead`,
    );
    expect(log.events).toContain(`group Using BuildKit v0.24.0 at ${localHandle.socket} (local, rootless)`);
  });

  it('auto with no builders given starts local without a warning', async () => {
    const log = recorder();
    const local = fakeLocal();
    const r = await resolveBuilder(inputs([], 'auto'), { probe: probeTable({}).probe, startLocal: local.startLocal, log });
    expect(r.local).toBeDefined();
    expect(log.events.filter((e) => e.startsWith('warning'))).toEqual([]);
    expect(log.events[0]).toBe('info No builder given; starting BuildKit on the runner');
  });

  it('only skips remotes entirely', async () => {
    const { probe, calls } = probeTable({ [A]: 'ok' });
    const local = fakeLocal();
    const r = await resolveBuilder(inputs([A], 'only'), { probe, startLocal: local.startLocal, log: recorder() });
    expect(calls).toEqual([]);
    expect(r.local).toEqual(localHandle);
  });

  it('never with none reachable throws one line listing each endpoint and cause', async () => {
    const { probe } = probeTable({ [A]: 'connection refused (is buildkitd listening there?)', [B]: 'TLS handshake failed (check tls-ca): bad cert' });
    const local = fakeLocal();
    const err = await resolveBuilder(inputs([A, B], 'never'), { probe, startLocal: local.startLocal, log: recorder() }).catch((e: Error) => e);
    expect((err as Error).message).toBe(
      `no usable builder (fallback: never): ${A}: connection refused (is buildkitd listening there?); ${B}: TLS handshake failed (check tls-ca): bad cert`,
    );
    expect(local.started).toEqual([]);
  });

  it('never with no builders says what to set', async () => {
    await expect(resolveBuilder(inputs([], 'never'), { probe: probeTable({}).probe, startLocal: fakeLocal().startLocal, log: recorder() })).rejects.toThrow(
      'no builder given and fallback is "never": set the builder input, or fallback: auto to start BuildKit on the runner',
    );
  });

  it('auto: when local also fails, one error carries both stories', async () => {
    const { probe } = probeTable({ [A]: 'socket not found' });
    const local = fakeLocal('cannot start a local BuildKit daemon on this runner; missing: newuidmap (install the uidmap package)');
    await expect(resolveBuilder(inputs([A], 'auto'), { probe, startLocal: local.startLocal, log: recorder() })).rejects.toThrow(
      `no usable builder: ${A}: socket not found; and the local fallback failed: cannot start a local BuildKit daemon on this runner; missing: newuidmap (install the uidmap package)`,
    );
  });

  it('an unparsable address is a config error, not a reason to fall back', async () => {
    const local = fakeLocal();
    await expect(resolveBuilder(inputs(['http://nope'], 'auto'), { probe: probeTable({}).probe, startLocal: local.startLocal, log: recorder() })).rejects.toThrow(
      'builder "http://nope": unsupported address',
    );
    expect(local.started).toEqual([]);
  });

  it('passes TLS material through to the endpoint', async () => {
    const seen: BuilderEndpoint[] = [];
    const probe = async (e: BuilderEndpoint) => {
      seen.push(e);
      return infoFor(e);
    };
    await resolveBuilder({ ...inputs([A], 'never'), tls: { ca: 'CA', serverName: 'bk.internal' } }, { probe, startLocal: fakeLocal().startLocal, log: recorder() });
    expect(seen[0]!.tls?.ca?.toString()).toBe('CA');
    expect(seen[0]!.tls?.serverName).toBe('bk.internal');
  });
});

// --- against real daemons --------------------------------------------------------

const BUILDKITD_BIN = process.env['BUILDKITD_BIN'];
if (!BUILDKITD_BIN) process.stderr.write('\n!!! SKIPPING real resolveBuilder tests: set BUILDKITD_BIN=/path/to/buildkitd to run them\n\n');
describe('BuilderResolver: a builder lost before the build started', () => {
  it('moves on to the next endpoint, probing it only then', async () => {
    const { probe, calls } = probeTable({ [A]: 'ok', [B]: 'ok' });
    const resolver = new BuilderResolver(inputs([A, B], 'never'), { probe, startLocal: fakeLocal().startLocal, log: recorder() });
    const first = await resolver.next();
    expect(first.endpoint.address).toBe(A);
    expect(calls.map((c) => c[0])).toEqual([A]);
    resolver.reject(first, 'lost before the build started (Connection dropped)');
    expect((await resolver.next()).endpoint.address).toBe(B);
    expect(calls.map((c) => c[0])).toEqual([A, B]);
  });

  it('with none left, one line lists every builder and why it was not used', async () => {
    const { probe } = probeTable({ [A]: 'ok', [B]: 'connection refused' });
    const resolver = new BuilderResolver(inputs([A, B], 'never'), { probe, startLocal: fakeLocal().startLocal, log: recorder() });
    resolver.reject(await resolver.next(), 'lost before the build started (Connection dropped)');
    await expect(resolver.next()).rejects.toThrow(
      `no usable builder (fallback: never): ${A}: lost before the build started (Connection dropped); ${B}: connection refused`,
    );
  });

  it('falls back to the local daemon (fallback: auto), and after that to nothing', async () => {
    const { probe } = probeTable({ [A]: 'ok' });
    const local = fakeLocal();
    const resolver = new BuilderResolver(inputs([A], 'auto'), { probe, startLocal: local.startLocal, log: recorder() });
    resolver.reject(await resolver.next(), 'lost before the build started (Connection dropped)');
    const second = await resolver.next();
    expect(second.local).toBeDefined();
    expect(local.started).toHaveLength(1);
    resolver.reject(second, 'lost before the build started (Connection dropped)');
    await expect(resolver.next()).rejects.toThrow(/^no usable builder: tcp:\/\/a\.example:1234: lost .*; unix:\/\/\/tmp\/envd-buildkitd-x\/buildkitd\.sock: lost /);
    expect(local.started).toHaveLength(1);
  });
});

describe('resolveBuilder when the job is cancelled', () => {
  it('a cancel during a probe ends it with CancelledError and starts nothing else', async () => {
    const controller = new AbortController();
    const probed: string[] = [];
    // The first probe hangs until cancelled, like an endpoint that never answers.
    const probe = (endpoint: BuilderEndpoint, _t: number, signal?: AbortSignal): Promise<BuilderInfo> => {
      probed.push(endpoint.address);
      const hung = new Promise<BuilderInfo>((_, reject) => signal?.addEventListener('abort', () => reject(new Error('grpc: cancelled')), { once: true }));
      controller.abort();
      return hung;
    };
    const local = fakeLocal();
    const err = await resolveBuilder(inputs([A, B], 'auto'), { probe, startLocal: local.startLocal, log: recorder() }, { signal: controller.signal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledError);
    expect(probed).toEqual([A]);
    expect(local.started).toEqual([]);
  });

  it('passes the signal and the spawn callback on to the local start', async () => {
    const controller = new AbortController();
    const seen: { signal?: AbortSignal; onSpawn?: unknown }[] = [];
    const spawned: LocalDaemonHandle[] = [];
    const startLocal = async (_i: ResolveInputs, control: { signal?: AbortSignal; onSpawn?: (h: LocalDaemonHandle) => void }): Promise<LocalDaemon> => {
      seen.push(control);
      control.onSpawn?.(localHandle);
      const endpoint = parseEndpoint(localHandle.socket);
      return { handle: localHandle, endpoint, info: infoFor(endpoint) };
    };
    await resolveBuilder(inputs([], 'only'), { startLocal, log: recorder() }, { signal: controller.signal, onLocalSpawn: (h) => spawned.push(h) });
    expect(seen[0]!.signal).toBe(controller.signal);
    expect(spawned).toEqual([localHandle]);
  });
});

const realIt = BUILDKITD_BIN ? it : it.skip;

describe('resolveBuilder with real processes', () => {
  realIt('auto: an unreachable remote falls back to a real local daemon (buildkitd from PATH), which stops cleanly', async () => {
    const version = execFileSync(BUILDKITD_BIN!, ['--version']).toString().split(' ')[2]!;
    const savedPath = process.env['PATH'];
    process.env['PATH'] = `${path.dirname(BUILDKITD_BIN!)}${path.delimiter}${savedPath}`;
    const log = recorder();
    try {
      // Port 9 (discard) on loopback: nothing listens there.
      const r = await resolveBuilder({ ...inputs(['tcp://127.0.0.1:9'], 'auto'), buildkitVersion: version, connectTimeoutMs: 2000 }, { log });
      try {
        expect(r.local).toBeDefined();
        expect(r.info.version?.version).toBe(version);
        expect(log.events.find((e) => e.startsWith('warning'))).toMatch(/tcp:\/\/127\.0\.0\.1:9: connection refused/);
        expect(log.events).toContain(`group Using BuildKit ${version} at ${r.local!.socket} (local, ${r.local!.mode})`);
        expect(r.local!.mode).toBe(process.getuid?.() === 0 ? 'rootful' : r.local!.mode);
      } finally {
        if (r.local) expect((await stopLocalDaemon(r.local)).removed).toBe(true);
      }
    } finally {
      process.env['PATH'] = savedPath;
    }
  });
});
