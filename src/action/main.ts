// The main step: inputs → builder → build → outputs. Everything main starts
// that outlives it (a local buildkitd, the envd context) is recorded in the
// state first, so post can clean it up even if main fails or is cancelled.
import * as core from '@actions/core';
import { BuildFailedError, runDockerfileBuild, type BuildReport } from '../buildkit/build.js';
import { ControlClient } from '../buildkit/control.js';
import { defaultResolveDeps, resolveBuilder, type ResolvedBuilder } from '../builder/resolve.js';
import { runEnvdBuild } from '../envd/build.js';
import { createEnvdContext } from '../envd/context.js';
import { startGateway } from '../envd/gateway.js';
import { installEnvd } from '../envd/install.js';
import { createDockerCredentialProvider } from '../session/auth/provider.js';
import type { ActionInputs } from './inputs-types.js';
import { readInputs } from './inputs.js';
import { parseExporterResponse, setOutputs } from './outputs.js';
import { saveState } from './state.js';
import { writeSummary } from './summary.js';

export interface BuildOutcome {
  readonly exporterResponse: Readonly<Record<string, string>>;
  readonly steps?: { readonly cached: number; readonly run: number };
  readonly contextBytes?: number;
}

export async function main(signal: AbortSignal): Promise<void> {
  saveState({ isPost: true });
  const started = Date.now();
  const inputs = readInputs();

  const builder = await resolveBuilder(inputs, {
    // Record a local daemon the moment it runs, before anything else can fail.
    startLocal: async (i) => {
      const local = await defaultResolveDeps.startLocal(i);
      saveState({ localBuilder: local.handle });
      return local;
    },
  });

  const outcome = inputs.frontend === 'envd' ? await buildWithEnvd(inputs, builder, signal) : await buildDockerfile(inputs, builder, signal);

  const result = parseExporterResponse(outcome.exporterResponse, inputs.tags);
  setOutputs(result);
  if (result.digest) core.info(`digest: ${result.digest}`);
  for (const image of result.images) core.info(`image: ${image}`);

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

async function buildDockerfile(inputs: ActionInputs, builder: ResolvedBuilder, signal: AbortSignal): Promise<BuildOutcome> {
  const credentials = await createDockerCredentialProvider({ onSecret: (s) => core.setSecret(s) });
  const client = new ControlClient(builder.endpoint);
  let report: BuildReport;
  core.startGroup(`Building ${inputs.tags.join(', ') || 'image'} on ${builder.endpoint.address}`);
  try {
    report = await runDockerfileBuild(client, inputs, credentials, (line) => core.info(line), signal);
  } catch (err) {
    if (err instanceof BuildFailedError) reportFailure(err);
    throw err;
  } finally {
    core.endGroup();
    client.close();
  }
  for (const w of report.progress.warnings) {
    core.warning(w.detail ? `${w.message}\n${w.detail}` : w.message, {
      title: 'Dockerfile warning',
      ...(w.file ? { file: w.file } : {}),
      ...(w.line ? { startLine: w.line } : {}),
    });
  }
  return {
    exporterResponse: report.exporterResponse,
    steps: { cached: report.progress.cached, run: report.progress.steps - report.progress.cached },
    contextBytes: report.transfer.bytesSent,
  };
}

/** The failing step, with its last lines, as an error annotation on the job. */
function reportFailure(err: BuildFailedError): void {
  const failed = err.progress.failed;
  if (err.cancelled || !failed) return;
  const tail = failed.logTail.length ? `\n${failed.logTail.join('\n')}` : '';
  core.error(`${failed.error}${tail}`, { title: `Build step failed: ${failed.name}` });
}

async function buildWithEnvd(inputs: ActionInputs, builder: ResolvedBuilder, signal: AbortSignal): Promise<BuildOutcome> {
  const envdPath = await installEnvd(inputs.envdVersion);
  const gateway = await startGateway(builder.endpoint, { log: (m) => core.debug(`gateway: ${m}`) });
  try {
    const record = await createEnvdContext({
      envdPath,
      gatewayPort: gateway.port,
      connectTimeoutMs: inputs.connectTimeoutMs,
      onRecord: (r) => saveState({ envdContext: r }),
    });
    core.startGroup(`envd build ${inputs.tags.join(', ') || ''} on ${builder.endpoint.address}`);
    try {
      await runEnvdBuild(record, inputs, { signal });
    } finally {
      core.endGroup();
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
