// The main step: inputs → builder → build → outputs. Everything main starts
// that outlives it (a local buildkitd, the envd context) is recorded in the
// state first, so post can clean it up even if main fails or is cancelled.
import * as runner from './runner.js';
import { BuildFailedError, MAX_SECRET_BYTES, SecretError, explainBuildError, readSecretFile, runDockerfileBuild, type BuildReport } from '../buildkit/build.js';
import { ControlClient } from '../buildkit/control.js';
import { dockerfileRequest, type BuildRequest } from '../buildkit/request.js';
import { BuilderResolver, type ResolvedBuilder } from '../builder/resolve.js';
import { throwIfCancelled } from '../common/cancel.js';
import { createEnvdContext } from '../envd/context.js';
import { createDockerCredentialProvider } from '../session/auth/provider.js';
import { failureAnnotation, warningAnnotation } from './annotations.js';
import type { ActionInputs, SecretSource } from './inputs-types.js';
import { readInputs } from './inputs.js';
import { parseExporterResponse, setOutputs } from './outputs.js';
import { saveState } from './state.js';
import { writeSummary } from './summary.js';
import { maskSecret } from './mask.js';

export interface BuildOutcome {
  readonly exporterResponse: Readonly<Record<string, string>>;
  readonly steps?: { readonly cached: number; readonly run: number };
  readonly contextBytes?: number;
}

export async function main(signal: AbortSignal): Promise<void> {
  saveState({ isPost: true });
  const started = Date.now();
  const inputs = readInputs();
  // Before anything else prints: the runner masks a value only in lines after its ::add-mask::.
  const masker = createSecretMasker();
  await prepareSecrets(inputs.secrets, masker);
  // Build the request now: a bad cache or annotation entry is a config error
  // to report before spending time on connecting to (or starting) a builder.
  const request = inputs.frontend === 'dockerfile' ? dockerfileRequest(inputs) : undefined;

  const resolver = new BuilderResolver(
    inputs,
    {},
    {
      signal,
      // Recorded the moment it is spawned, before it answers: a cancel (or a
      // kill) from then on must leave post a daemon to stop.
      onLocalSpawn: (handle) => saveState({ localBuilder: handle }),
    },
  );
  let builder: ResolvedBuilder;
  let outcome: BuildOutcome;
  for (;;) {
    builder = await resolver.next();
    throwIfCancelled(signal, 'starting the build');
    try {
      outcome = request ? await buildDockerfile(inputs, request, builder, masker, signal) : await buildWithEnvd(inputs, builder, signal);
      break;
    } catch (err) {
      // A builder lost before it started on the build did nothing for it: the next one may.
      if (!(err instanceof BuildFailedError && err.connectionLost?.beforeStart) || signal.aborted) throw err;
      runner.warning(`${err.message}; trying the next builder`, { title: 'Builder lost before the build started' });
      resolver.reject(builder, `lost before the build started (${err.connectionLost.cause})`);
    }
  }

  const result = parseExporterResponse(outcome.exporterResponse, inputs.tags);
  setOutputs(result);
  if (result.digest) runner.info(`digest: ${result.digest}`);
  for (const image of result.images) runner.info(`image: ${image}`);

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
    report = await runDockerfileBuild({
      client,
      inputs,
      request,
      credentials,
      write: (line) => runner.info(line),
      // Everything was masked up front; this only catches a secret file rewritten since.
      onSecret: (source, value) => {
        if (source.kind === 'file') masker(value.toString('utf8'));
      },
      signal,
    });
  } catch (err) {
    if (err instanceof BuildFailedError) {
      // main decides: another builder, or the end of the run.
      if (err.connectionLost?.beforeStart) throw err;
      if (!err.cancelled && err.progress.failed) {
        const a = failureAnnotation(err.progress.failed);
        runner.error(a.message, { title: a.title });
      }
      throw new Error(explainBuildError(err.message, inputs));
    }
    throw err;
  } finally {
    runner.endGroup();
    client.close();
  }
  const paths = { dockerfile: inputs.file, workspace: process.env['GITHUB_WORKSPACE'] || process.cwd() };
  for (const w of report.progress.warnings) {
    const a = warningAnnotation(w, paths);
    runner.warning(a.message, { title: a.title, ...(a.file ? { file: a.file } : {}), ...(a.startLine ? { startLine: a.startLine } : {}) });
  }
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
 * Checks every secret against BuildKit's size limit and masks the contents
 * of secret files. `secrets` and `secret-envs` values were masked when the
 * inputs were read; files are only named there, so their content is read
 * (and masked) here, before any build output can show it.
 */
async function prepareSecrets(secrets: readonly SecretSource[], mask: SecretMasker): Promise<void> {
  for (const s of secrets) {
    if (s.kind === 'file') {
      let data: Buffer;
      try {
        data = await readSecretFile(s);
      } catch (err) {
        if (err instanceof SecretError) throw err;
        const code = (err as NodeJS.ErrnoException).code ?? String(err);
        throw new SecretError(`Input "secret-files": file "${s.path}" for secret "${s.id}" could not be read (${code})`);
      }
      mask(data.toString('utf8'));
      continue;
    }
    const value = s.kind === 'value' ? s.value : process.env[s.name];
    if (value !== undefined && Buffer.byteLength(value) > MAX_SECRET_BYTES) {
      const input = s.kind === 'value' ? 'secrets' : 'secret-envs';
      throw new SecretError(`Input "${input}": secret "${s.id}" is ${Math.ceil(Buffer.byteLength(value) / 1024)} KiB; BuildKit accepts secrets up to ${MAX_SECRET_BYTES / 1024} KiB`);
    }
  }
}

async function buildWithEnvd(inputs: ActionInputs, builder: ResolvedBuilder, signal: AbortSignal): Promise<BuildOutcome> {
  // Loaded on demand, like the local builder: the installers are most of the
  // bundle, and Dockerfile builds need neither them nor the gateway.
  const [{ installEnvd }, { startGateway }, { runEnvdBuild }] = await Promise.all([import('../envd/install.js'), import('../envd/gateway.js'), import('../envd/build.js')]);
  const envdPath = await installEnvd(inputs.envdVersion, { signal });
  throwIfCancelled(signal, 'installing envd');
  const gateway = await startGateway(builder.endpoint, { log: (m) => runner.debug(`gateway: ${m}`) });
  try {
    const record = await createEnvdContext({
      envdPath,
      gatewayPort: gateway.port,
      connectTimeoutMs: inputs.connectTimeoutMs,
      onRecord: (r) => saveState({ envdContext: r }),
      signal,
    });
    runner.startGroup(`envd build ${inputs.tags.join(', ') || ''} on ${builder.endpoint.address}`);
    try {
      await runEnvdBuild(record, inputs, { signal });
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
