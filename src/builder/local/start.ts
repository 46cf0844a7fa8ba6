// The local fallback end to end: get buildkitd, look at the runner, pick a
// mode (rootless first), start the daemon. Each step is injectable so the
// wiring is testable without downloads or sudo.
import * as path from 'node:path';
import * as runner from '../../github/runner.js';
import { probeBuilder } from '../../buildkit/probe.js';
import { CancelledError, throwIfCancelled } from '../../common/cancel.js';
import { installAppArmorProfile, stopAppArmorProfile } from './apparmor.js';
import { startLocalDaemon, type LocalDaemon, type LocalDaemonHandle, type ProbeFn, type StartLocalDaemonOptions } from './daemon.js';
import { installBuildkit, installRootlesskit, type InstallBuildkitOptions, type InstallRootlesskitOptions, type InstalledTool } from './download.js';
import { decideLocalMode, preflightError, probeHostFacts, type HostFacts, type ProbeHostOptions } from './preflight.js';

export interface StartLocalBuilderOptions {
  /** `buildkit-version`: `v0.24.0`, `0.24.0` or `latest`. */
  readonly buildkitVersion?: string;
  /** `buildkit-download-url`. */
  readonly buildkitDownloadUrl?: string;
  /** `buildkitd-config-inline`. */
  readonly configToml?: string;
  readonly rootlesskitVersion?: string;
  readonly rootlesskitDownloadUrl?: string;
  /** Token for the GitHub releases API (rate limits); never sent to download URLs. */
  readonly githubToken?: string;
  /** `allow-unverified-downloads`: run buildkitd/rootlesskit that no trusted sha256 vouches for. */
  readonly allowUnverifiedDownloads?: boolean;
  readonly readyTimeoutMs?: number;
  /** The job's cancel: downloads and the wait for the daemon end at once. */
  readonly signal?: AbortSignal;
  /** Called with the daemon's handle as soon as it is spawned (see StartLocalDaemonOptions.onSpawn). */
  readonly onSpawn?: (handle: LocalDaemonHandle) => void;
}

export interface StartLocalBuilderDeps {
  readonly installBuildkit: (o: InstallBuildkitOptions) => Promise<InstalledTool>;
  readonly installRootlesskit: (o: InstallRootlesskitOptions) => Promise<InstalledTool>;
  readonly probeHost: (o: ProbeHostOptions) => Promise<HostFacts>;
  readonly startDaemon: (o: StartLocalDaemonOptions) => Promise<LocalDaemon>;
  readonly installAppArmorProfile: (rootlesskit: string) => Promise<string>;
  readonly removeAppArmorProfile: (file: string) => Promise<void>;
  readonly probe: ProbeFn;
  readonly info: (line: string) => void;
  readonly warning: (line: string) => void;
}

const defaultDeps: StartLocalBuilderDeps = {
  installBuildkit,
  installRootlesskit,
  probeHost: probeHostFacts,
  startDaemon: startLocalDaemon,
  installAppArmorProfile,
  removeAppArmorProfile: stopAppArmorProfile,
  probe: probeBuilder,
  info: runner.info,
  warning: (m) => runner.warning(m),
};

export async function startLocalBuilder(options: StartLocalBuilderOptions = {}, overrides: Partial<StartLocalBuilderDeps> = {}): Promise<LocalDaemon> {
  const deps = { ...defaultDeps, ...overrides };
  // The same API token, trust choice and cancel for both installers.
  const { signal } = options;
  const shared = {
    ...(options.githubToken ? { githubToken: options.githubToken } : {}),
    ...(options.allowUnverifiedDownloads ? { allowUnverified: true } : {}),
    ...(signal ? { signal } : {}),
  };
  const buildkit = await deps.installBuildkit({
    ...(options.buildkitVersion ? { version: options.buildkitVersion } : {}),
    ...(options.buildkitDownloadUrl ? { downloadUrl: options.buildkitDownloadUrl } : {}),
    ...shared,
  });
  throwIfCancelled(signal, 'getting buildkitd');
  const facts = await deps.probeHost({ extraPath: [buildkit.binDir] });
  throwIfCancelled(signal, 'checking the runner for a local buildkitd');
  const decision = decideLocalMode(facts);
  if (decision.mode === 'none') throw preflightError(decision);
  deps.info(`Local BuildKit ${buildkit.tag}: ${decision.mode} (${decision.reason})`);

  const common = {
    buildkitd: path.join(buildkit.binDir, 'buildkitd'),
    version: buildkit.tag,
    extraPath: [buildkit.binDir],
    probe: deps.probe,
    log: deps.info,
    ...(options.configToml ? { configToml: options.configToml } : {}),
    ...(options.readyTimeoutMs ? { readyTimeoutMs: options.readyTimeoutMs } : {}),
    ...(options.onSpawn ? { onSpawn: options.onSpawn } : {}),
    ...(signal ? { signal } : {}),
  };

  if (decision.mode !== 'rootless') return deps.startDaemon({ ...common, mode: decision.mode });

  let profile: string | undefined;
  try {
    const rk = await deps.installRootlesskit({
      ...(options.rootlesskitVersion ? { version: options.rootlesskitVersion } : {}),
      ...(options.rootlesskitDownloadUrl ? { downloadUrl: options.rootlesskitDownloadUrl } : {}),
      ...shared,
    });
    throwIfCancelled(signal, 'getting rootlesskit');
    const rootlesskit = path.join(rk.binDir, 'rootlesskit');
    if (decision.installAppArmorProfile) profile = await deps.installAppArmorProfile(rootlesskit);
    return await deps.startDaemon({ ...common, mode: 'rootless', rootlesskit, ...(profile ? { apparmorProfile: profile } : {}) });
  } catch (err) {
    if (profile) await deps.removeAppArmorProfile(profile).catch(() => undefined);
    if (err instanceof CancelledError || signal?.aborted) throw err;
    // Rootless can fail in ways no probe predicts (seccomp, nested containers); root via sudo still works there.
    if (!facts.passwordlessSudo) throw err;
    deps.warning(`Rootless buildkitd failed, falling back to a rootful daemon via sudo: ${firstLine(err)}`);
    return deps.startDaemon({ ...common, mode: 'sudo' });
  }
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}
