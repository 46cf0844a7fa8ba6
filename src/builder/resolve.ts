// Which builder does this run use? The given endpoints in order, then (if the
// `fallback` input allows) a buildkitd started on the runner. The decision
// table lives here; probing and starting are injected so it is unit-testable.
import * as runner from '../github/runner.js';
import { parseEndpoint, type BuilderEndpoint, type TlsConfig } from '../buildkit/endpoint.js';
import type { TlsFiles } from '../buildkit/settings.js';
import { probeBuilder, type BuilderInfo, type ProbeOptions } from '../buildkit/probe.js';
import type { LocalDaemon, LocalDaemonHandle } from './local/daemon.js';
import { CancelledError, throwIfCancelled } from '../common/cancel.js';

export interface ResolvedBuilder {
  readonly endpoint: BuilderEndpoint;
  readonly info: BuilderInfo;
  /** Set when we started the daemon; the post step stops it with stopLocalDaemon. */
  readonly local?: LocalDaemonHandle;
}

/** What to do without a reachable builder (the `fallback` input). */
export type Fallback = 'auto' | 'never' | 'only';

export interface ResolveInputs {
  /** Endpoints in order of preference; empty = none given. */
  readonly builders: readonly string[];
  readonly tls?: TlsFiles;
  readonly connectTimeoutMs: number;
  readonly fallback: Fallback;
  /** The local fallback's BuildKit release, where to download it, its config. */
  readonly buildkitVersion: string;
  readonly buildkitDownloadUrl: string;
  readonly buildkitdConfigInline: string;
  /** Run a downloaded tool that no trusted sha256 vouches for. */
  readonly allowUnverifiedDownloads: boolean;
}

export interface ResolveLogger {
  info(message: string): void;
  /** Lines holding what a daemon or the network said (runner.untrusted: commands stopped). */
  untrusted(message: string): void;
  warning(message: string, properties?: { title?: string }): void;
  startGroup(name: string): void;
  endGroup(): void;
}

export interface ResolveDeps {
  readonly probe: (endpoint: BuilderEndpoint, timeoutMs: number, signal?: AbortSignal, options?: ProbeOptions) => Promise<BuilderInfo>;
  readonly startLocal: (inputs: ResolveInputs, control: StartLocalControl) => Promise<LocalDaemon>;
  readonly log: ResolveLogger;
}

/** What the caller of a local start needs to hear and be able to say. */
export interface StartLocalControl {
  readonly signal?: AbortSignal;
  /**
   * Called with the daemon's handle right after it is spawned, before it
   * answers: from then on it is running, and a cancelled job's post step
   * must be able to find and stop it.
   */
  readonly onSpawn?: (handle: LocalDaemonHandle) => void;
}

export const defaultResolveDeps: ResolveDeps = {
  probe: probeBuilder,
  // Loaded on demand: the installers (tool-cache, actions/cache and its Azure
  // SDK) are most of the bundle, and a remote build never needs them.
  startLocal: async (inputs, control) =>
    (await import('./local/start.js')).startLocalBuilder({
      buildkitVersion: inputs.buildkitVersion,
      buildkitDownloadUrl: inputs.buildkitDownloadUrl,
      configToml: inputs.buildkitdConfigInline,
      allowUnverifiedDownloads: inputs.allowUnverifiedDownloads,
      ...(control.signal ? { signal: control.signal } : {}),
      ...(control.onSpawn ? { onSpawn: control.onSpawn } : {}),
    }),
  log: runner,
};

interface Failure {
  readonly address: string;
  readonly cause: string;
}

export interface ResolveOptions {
  /** The job's cancel: ends probing and starting at once (CancelledError). */
  readonly signal?: AbortSignal;
  /** See StartLocalControl.onSpawn. */
  readonly onLocalSpawn?: (handle: LocalDaemonHandle) => void;
  /**
   * Ask a remote builder for its workers too, to log their platforms (see
   * probe.ts for what that costs the daemon). Default: the version only.
   */
  readonly workers?: boolean;
}

/** The first usable builder; see BuilderResolver. */
export async function resolveBuilder(inputs: ResolveInputs, overrides: Partial<ResolveDeps> = {}, options: ResolveOptions = {}): Promise<ResolvedBuilder> {
  return new BuilderResolver(inputs, overrides, options).next();
}

/**
 * The builders of a run, in order of preference: the given endpoints that
 * answer a probe, then (as the `fallback` input allows) a buildkitd started
 * on the runner. `next()` gives the next usable one; a builder the build then
 * loses before it started (`reject`) is reported like one that failed its
 * probe, and the build moves on to the next. When none is left, `next()`
 * throws one line listing every builder and why it was not used.
 */
export class BuilderResolver {
  private readonly deps: ResolveDeps;
  private readonly failures: Failure[] = [];
  private endpoints: BuilderEndpoint[] | undefined;
  private index = 0;
  private localTried = false;

  constructor(
    private readonly inputs: ResolveInputs,
    overrides: Partial<ResolveDeps> = {},
    private readonly options: ResolveOptions = {},
  ) {
    this.deps = { ...defaultResolveDeps, ...overrides };
  }

  async next(): Promise<ResolvedBuilder> {
    const { inputs, deps, options } = this;
    const { log } = deps;
    throwIfCancelled(options.signal, 'choosing a builder');

    if (inputs.fallback !== 'only') {
      // Parse everything first: a typo in the list is a config error, never a reason to fall back.
      const tls = toTlsConfig(inputs.tls);
      this.endpoints ??= inputs.builders.map((b) => parseEndpoint(b, tls));
      while (this.index < this.endpoints.length) {
        const endpoint = this.endpoints[this.index++]!;
        try {
          const info = await deps.probe(endpoint, inputs.connectTimeoutMs, options.signal, { workers: options.workers ?? false });
          logBuilder(log, info, 'remote');
          return { endpoint, info };
        } catch (err) {
          // A cancelled probe says nothing about the builder: stop, do not fall back.
          if (err instanceof CancelledError || options.signal?.aborted) throw err instanceof CancelledError ? err : new CancelledError('choosing a builder');
          const cause = causeOf(err, endpoint.address);
          this.failures.push({ address: endpoint.address, cause });
          // The cause may quote the daemon (a gRPC status's details).
          log.untrusted(`Builder ${endpoint.address} is not usable: ${cause}`);
        }
      }
    }

    const failures = this.failures;
    if (inputs.fallback === 'never') {
      if (failures.length === 0) {
        throw new Error('no builder given and fallback is "never": set the builder input, or fallback: auto to start BuildKit on the runner');
      }
      throw new Error(`no usable builder (fallback: never): ${listFailures(failures)}`);
    }
    if (this.localTried) throw new Error(`no usable builder: ${listFailures(failures)}`);
    this.localTried = true;

    if (failures.length > 0) {
      log.warning(`No builder reachable (${listFailures(failures)}); starting BuildKit on the runner instead`, {
        title: 'Falling back to a local BuildKit daemon',
      });
    } else {
      log.info(inputs.fallback === 'only' ? 'fallback: only; starting BuildKit on the runner' : 'No builder given; starting BuildKit on the runner');
    }

    let local: LocalDaemon;
    try {
      local = await deps.startLocal(inputs, {
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.onLocalSpawn ? { onSpawn: options.onLocalSpawn } : {}),
      });
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (failures.length === 0 || err instanceof CancelledError) throw err;
      throw new Error(`no usable builder: ${listFailures(failures)}; and the local fallback failed: ${msg}`);
    }
    logBuilder(log, local.info, `local, ${local.handle.mode}`);
    return { endpoint: local.endpoint, info: local.info, local: local.handle };
  }

  /**
   * The build lost `builder` before the build started (see SolveError's
   * connectionLost): it counts as a failed builder in the final message,
   * and the next call of `next()` moves on.
   */
  reject(builder: ResolvedBuilder, cause: string): void {
    this.failures.push({ address: builder.endpoint.address, cause });
  }
}

export function toTlsConfig(tls: TlsFiles | undefined): TlsConfig | undefined {
  if (!tls) return undefined;
  const out: { ca?: Buffer; cert?: Buffer; key?: Buffer; serverName?: string } = {};
  if (tls.ca) out.ca = Buffer.from(tls.ca);
  if (tls.cert) out.cert = Buffer.from(tls.cert);
  if (tls.key) out.key = Buffer.from(tls.key);
  if (tls.serverName) out.serverName = tls.serverName;
  return Object.keys(out).length ? out : undefined;
}

/** probeBuilder says "builder X is not usable: cause"; keep just the cause. */
function causeOf(err: unknown, address: string): string {
  const text = (err instanceof Error ? err.message : String(err)).split('\n')[0]!.trim();
  const prefix = `builder ${address} is not usable: `;
  return text.startsWith(prefix) ? text.slice(prefix.length) : text;
}

function listFailures(failures: readonly Failure[]): string {
  return failures.map((f) => `${f.address}: ${f.cause}`).join('; ');
}

/**
 * Version, workers and platforms in a collapsed group; the heading alone says
 * which builder won. The heading is a command, so its text is escaped, and
 * it is written before the daemon's lines stop commands.
 */
export function logBuilder(log: ResolveLogger, info: BuilderInfo, kind: string): void {
  const v = info.version;
  const version = v?.version ?? 'unknown version';
  log.startGroup(`Using BuildKit ${version} at ${info.endpoint.address} (${kind})`);
  try {
    // Everything below is what the daemon says about itself.
    log.untrusted(`Version: ${v?.package ?? 'github.com/moby/buildkit'} ${version}${v?.revision ? ` (${v.revision})` : ''}`);
    // No workers at all when the probe did not ask for them (no line either).
    if (info.workers?.length === 0) log.info('Workers: none reported');
    for (const w of info.workers ?? []) {
      const platforms = (w.platforms ?? []).map((p) => [p.OS, p.Architecture, p.Variant].filter(Boolean).join('/')).join(', ');
      const labels = w.Labels ?? {};
      const executor = labels['org.mobyproject.buildkit.worker.executor'];
      const snapshotter = labels['org.mobyproject.buildkit.worker.snapshotter'];
      const extra = [executor && `executor ${executor}`, snapshotter && `snapshotter ${snapshotter}`].filter(Boolean).join(', ');
      log.untrusted(`Worker ${w.ID ?? '?'}: ${platforms || 'no platforms'}${extra ? ` (${extra})` : ''}`);
    }
  } finally {
    log.endGroup();
  }
}
