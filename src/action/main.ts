// The main step: inputs → builder → build → outputs. Everything main starts
// that outlives it (a local buildkitd, the envd context) is recorded in the
// state first, so post can clean it up even if main fails or is cancelled.
import * as path from 'node:path';
import * as runner from '../github/runner.js';
import { BuildFailedError, runDockerfileBuild, type BuildReport } from '../buildkit/build.js';
import { rethrowBuildError, retryingPushRace } from './build-errors.js';
import { ControlClient } from '../buildkit/control.js';
import { connectionLossMessage } from '../buildkit/solve.js';
import { dockerfileRequest, type BuildRequest } from '../buildkit/solve-request.js';
import { checkBuilderFeatures } from './builder-features.js';
import { wantsPlatformPlan } from '../builder/platforms.js';
import { BuilderResolver, type ResolveDeps, type ResolvedBuilder } from '../builder/resolve.js';
import { throwIfCancelled } from '../common/cancel.js';
import { createDockerCredentialProvider } from '../credentials/provider.js';
import { annotationPaths, warningAnnotations } from './annotations.js';
import type { ActionInputs } from './inputs-types.js';
import { readInputs } from './inputs.js';
import { parseExporterResponse, setOutputs } from './outputs.js';
import { readPlatformDigests } from './platform-digests.js';
import { saveState } from './state.js';
import { writeSummary } from './summary.js';
import { maskSecret } from './mask.js';
import { withDaemonCache, withPlatformCache } from './cache-entries.js';

export interface BuildOutcome {
  readonly exporterResponse: Readonly<Record<string, string>>;
  readonly steps?: { readonly cached: number; readonly run: number };
  readonly contextBytes?: number;
}

export async function main(signal: AbortSignal): Promise<void> {
  saveState({ isPost: true });
  const started = Date.now();
  const inputs = readInputs();
  // Merge mode builds nothing: no builder, no session, only registry calls.
  if (inputs.merge.length > 0) {
    await (await import('./merge.js')).runMerge(inputs, signal);
    return;
  }
  // readInputs masked every secret value (files included) before printing
  // anything; this catches a secret file rewritten since.
  const masker = createSecretMasker();
  // Built before connecting: it needs nothing from the builder (readInputs
  // has already refused whatever the request could not express).
  const request =
    inputs.frontend === 'dockerfile'
      ? dockerfileRequest(withDaemonCache(inputs))
      : undefined;

  // Several builders and platforms: each platform on a builder that runs it natively.
  let planned: { builders: readonly string[]; probe: ResolveDeps['probe'] } | undefined;
  if (wantsPlatformPlan(inputs)) {
    const outcome = await (await import('./native.js')).buildOnPlatformBuilders(inputs, signal);
    if (outcome.done) return;
    planned = outcome;
  }

  const resolver = new BuilderResolver(planned ? { ...inputs, builders: [...planned.builders] } : inputs, planned ? { probe: planned.probe } : {}, {
    signal,
    // Recorded the moment it is spawned, before it answers: a cancel (or a
    // kill) from then on must leave post a daemon to stop.
    onLocalSpawn: (handle) => saveState({ localBuilder: handle }),
    // The workers' platforms are worth a log line when the build names platforms.
    workers: inputs.platforms.length > 0,
  });
  // envd is installed and its context made once, whichever builder it ends up on.
  const envd = request ? undefined : envdBuilder(inputs, signal);
  let builder: ResolvedBuilder;
  let outcome: BuildOutcome;
  for (;;) {
    builder = await resolver.next();
    throwIfCancelled(signal, 'starting the build');
    checkBuilderFeatures(inputs, builder.info);
    try {
      outcome = request ? await buildDockerfile(inputs, request, builder, masker, signal) : await envd!.build(builder);
      break;
    } catch (err) {
      // A builder lost before it started on the build did nothing for it: the next one may.
      if (!(err instanceof BuildFailedError && err.connectionLost?.beforeStart) || signal.aborted) throw err;
      runner.warning(`${err.message}; trying the next builder`, { title: 'Builder lost before the build started' });
      resolver.reject(builder, `lost before the build started (${err.connectionLost.cause})`);
    }
  }

  const exported = parseExporterResponse(outcome.exporterResponse, inputs.tags);
  const result = { ...exported, digests: await readPlatformDigests(exported, inputs, builder.info, signal) };
  setOutputs(result);
  // Both come from the daemon's exporter response.
  if (result.digest) runner.untrusted(`digest: ${result.digest}`);
  for (const image of result.images) runner.untrusted(`image: ${image}`);

  await writeSummary({
    builderEndpoint: builder.endpoint.address,
    builderKind: builder.local ? 'local' : 'remote',
    ...(builder.info.version?.version ? { builderVersion: builder.info.version.version } : {}),
    frontend: inputs.frontend,
    platforms: inputs.platforms,
    tags: inputs.tags,
    pushed: inputs.push,
    ...(result.digest ? { digest: result.digest } : {}),
    images: result.images,
    durationMs: Date.now() - started,
    ...(outcome.steps ? { steps: outcome.steps } : {}),
    ...(outcome.contextBytes !== undefined ? { contextBytes: outcome.contextBytes } : {}),
  });
}

async function buildDockerfile(inputs: ActionInputs, request: BuildRequest, builder: ResolvedBuilder, masker: SecretMasker, signal: AbortSignal): Promise<BuildOutcome> {
  const credentials = await createDockerCredentialProvider({ onSecret: (s) => runner.setSecret(s) });
  const client = new ControlClient(builder.endpoint);
  let report: BuildReport;
  runner.startGroup(`Building ${inputs.tags.join(', ') || 'image'} on ${builder.endpoint.address}`);
  try {
    const build = (): Promise<BuildReport> =>
      runDockerfileBuild({
        client,
        inputs,
        request,
        credentials,
        // Build output and every name in it are the daemon's: commands stay
        // stopped while it streams (our own masks and annotations resume them).
        write: (line) => runner.untrusted(line),
        // Everything was masked up front; this only catches a secret file rewritten since.
        onSecret: (source, value) => {
          if (source.kind === 'file') masker(value.toString('utf8'));
        },
        signal,
      });
    report = await retryingPushRace(build, builder.endpoint.address, signal);
  } catch (err) {
    // main decides on a builder lost before the build started: another builder, or the end of the run.
    if (err instanceof BuildFailedError && err.connectionLost?.beforeStart) throw err;
    rethrowBuildError(err, inputs);
  } finally {
    runner.endGroup();
    client.close();
  }
  for (const a of warningAnnotations(report.progress.warnings, annotationPaths(inputs.file))) runner.warning(a.message, a);
  return {
    exporterResponse: report.exporterResponse,
    steps: { cached: report.progress.cached, run: report.progress.steps - report.progress.cached },
    contextBytes: report.transfer.bytesSent,
  };
}

/** Registers a secret value with the runner's masker (each value once). */
type SecretMasker = (value: string) => void;

function createSecretMasker(): SecretMasker {
  const seen = new Set<string>();
  return (value) => maskSecret(value, seen);
}

/**
 * Builds with envd on one builder after another: envd, its private home and
 * its context are set up on the first build, and each build gets a gateway
 * of its own to its builder, on the socket the context names.
 */
function envdBuilder(inputs: ActionInputs, signal: AbortSignal): { build(builder: ResolvedBuilder): Promise<BuildOutcome> } {
  let prepared: ReturnType<typeof prepareEnvd> | undefined;
  return {
    build: async (builder) => buildWithEnvd(inputs, builder, await (prepared ??= prepareEnvd(inputs, signal)), signal),
  };
}

async function prepareEnvd(inputs: ActionInputs, signal: AbortSignal) {
  // Loaded on demand, like the local builder: the installers are most of the
  // bundle, and Dockerfile builds need neither them nor the gateway.
  const [{ installEnvd }, gatewayModule, { runEnvdBuild }, { writeEnvdKeyPair }, { createEnvdContext, createEnvdHome, gatewaySocketPath }] = await Promise.all([
    import('../envd/install.js'),
    import('../envd/gateway/server.js'),
    import('../envd/build.js'),
    import('../envd/ssh-key.js'),
    import('../envd/context.js'),
  ]);
  // The gateway's socket goes into envd's private 0700 home, so only this
  // job's user can reach the builder through it; post removes the home.
  // The home comes first so that an envd on PATH is probed in it (envd sets
  // up ~/.config/envd in every HOME it runs in)...
  const planned = await createEnvdHome({ onRecord: (r) => saveState({ envdContext: r }) });
  // ...and envd finds a key pair there, so no envd command spends seconds making one.
  await writeEnvdKeyPair(planned.home);
  const envdPath = await installEnvd(inputs.envdVersion, { allowUnverified: inputs.allowUnverifiedDownloads, signal, probeHome: planned.home });
  throwIfCancelled(signal, 'installing envd');
  const record = { ...planned, envdPath: path.resolve(envdPath) };
  saveState({ envdContext: record });
  // envd checks nothing about the socket when the context is made, so the
  // context is made once and each builder's gateway listens where it points.
  const socketPath = gatewaySocketPath(record);
  await createEnvdContext(record, { builderSocket: socketPath, connectTimeoutMs: inputs.connectTimeoutMs, signal });
  return { record, socketPath, startGateway: gatewayModule.startGateway, runEnvdBuild };
}

/** envd installed, its home and context made, and what each build needs loaded (prepareEnvd). */
type PreparedEnvd = Awaited<ReturnType<typeof prepareEnvd>>;

async function buildWithEnvd(inputs: ActionInputs, builder: ResolvedBuilder, envd: PreparedEnvd, signal: AbortSignal): Promise<BuildOutcome> {
  const gateway = await envd.startGateway(builder.endpoint, {
    socketPath: envd.socketPath,
    log: (m) => runner.debug(`gateway: ${m}`),
  });
  try {
    runner.startGroup(`envd build ${inputs.tags.join(', ') || ''} on ${builder.endpoint.address}`);
    try {
      // Not withDaemonCache: inputs.ts refuses type=gha for envd (the token would be on its command line).
      await envd.runEnvdBuild(envd.record, withPlatformCache(inputs), { signal });
    } catch (err) {
      // Lost before the builder did anything for envd: main may move the build to another builder.
      const cause = gateway.lostBeforeStart();
      if (cause === undefined || signal.aborted) throw err;
      throw new BuildFailedError(connectionLossMessage(builder.endpoint.address, cause, false), { steps: 0, cached: 0, warnings: [] }, false, { beforeStart: true, cause });
    } finally {
      runner.endGroup();
    }
  } finally {
    await gateway.close();
  }
  // envd may solve more than once (e.g. a probe); the image export is the last successful one.
  const solves = gateway.solves().filter((s) => s.status.code === 0);
  const exported = [...solves].reverse().find((s) => s.exporterResponse['containerimage.digest']) ?? solves.at(-1);
  if (!exported) throw new Error('envd finished but no build reached the builder through the gateway; no digest to report');
  return { exporterResponse: exported.exporterResponse };
}
