// Several builders and several platforms: each builder builds the platforms
// it runs natively (see builder/platforms.ts), all at once, each result
// pushed by digest; then one index over all of them is pushed under every
// tag, as a merge run would (registry/assemble.ts).
import * as runner from '../github/runner.js';
import { runDockerfileBuild, type BuildReport } from '../buildkit/build.js';
import { dockerfileRequest } from '../buildkit/solve-request.js';
import { withDaemonCache } from './cache-entries.js';
import { rethrowBuildError, retryingPushRace } from './build-errors.js';
import { annotationPaths, warningAnnotations } from './annotations.js';
import { ControlClient } from '../buildkit/control.js';
import { checkBuilderFeatures } from '../action/builder-features.js';
import { planPlatforms, type PlatformGroup } from '../builder/platforms.js';
import type { ResolveDeps } from '../builder/resolve.js';
import { assembleIndex, platformDigests } from '../registry/assemble.js';
import { createDockerCredentialProvider } from '../credentials/provider.js';
import type { ActionInputs } from './inputs-types.js';
import { maskSecret } from './mask.js';
import { indexAnnotations, mergeResult, mustParse, registryClient } from './merge.js';
import { parseExporterResponse, setOutputs } from './outputs.js';
import { repositoryOf } from '../registry/image-reference.js';
import { writeSummary } from './summary.js';

export type PlatformBuildOutcome =
  | { readonly done: true }
  /** Build as before, on these builders; `probe` answers from the probes already made. */
  | { readonly done: false; readonly builders: readonly string[]; readonly probe: ResolveDeps['probe'] };

const INDEX_LEVEL = /^index(\[[^\]]*\])?:/;
const INDEX_DESCRIPTOR_LEVEL = /^index-descriptor(\[[^\]]*\])?:/;

export async function buildOnPlatformBuilders(inputs: ActionInputs, signal: AbortSignal): Promise<PlatformBuildOutcome> {
  const plan = await planPlatforms(inputs);
  if (plan.kind === 'single') return { done: false, builders: plan.builders, probe: plan.probe };
  for (const g of plan.groups) checkBuilderFeatures(inputs, g.info);
  if (signal.aborted) throw new Error('build cancelled before it started');

  const started = Date.now();
  const credentials = await createDockerCredentialProvider({ onSecret: (s) => runner.setSecret(s) });
  // Every platform lands in the first tag's repository by digest; the index copies them where the other tags need them.
  const repository = repositoryOf(inputs.tags[0]!);
  const forIndex = inputs.annotations.filter((a) => INDEX_LEVEL.test(a));
  if (inputs.annotations.some((a) => INDEX_DESCRIPTOR_LEVEL.test(a))) {
    runner.warning('Input "annotations": index-descriptor annotations are dropped when several builders build the platforms (the index is assembled from their pushes)');
  }
  const forImages = inputs.annotations.filter((a) => !INDEX_LEVEL.test(a) && !INDEX_DESCRIPTOR_LEVEL.test(a));

  // One failure stops the other builds: the index could not be made anyway.
  const stopAll = new AbortController();
  const onAbort = (): void => stopAll.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  const seen = new Set<string>();
  runner.startGroup(`Building ${plan.groups.map((g) => `${g.platforms.join(', ')} on ${g.endpoint.address}`).join('; ')}`);
  let reports: BuildReport[];
  try {
    reports = await Promise.all(plan.groups.map((g) => buildGroup(g, { ...inputs, tags: [repository], push: true, pushByDigest: true, annotations: forImages }, credentials, seen, stopAll)));
  } catch (err) {
    rethrowBuildError(err, inputs);
  } finally {
    signal.removeEventListener('abort', onAbort);
    runner.endGroup();
  }

  // The Dockerfile's warnings, as a single builder's would be (the builders repeat each other's).
  for (const a of warningAnnotations(reports.flatMap((r) => r.progress.warnings), annotationPaths(inputs.file))) runner.warning(a.message, a);

  const sources = reports.map((r, i) => {
    const digest = parseExporterResponse(r.exporterResponse, [repository]).digest;
    if (!digest) throw new Error(`builder ${plan.groups[i]!.endpoint.address} reported no digest for ${plan.groups[i]!.platforms.join(', ')}; cannot assemble the index`);
    return mustParse(`${repository}@${digest}`);
  });
  const client = await registryClient(inputs, signal);
  const pushed = await assembleIndex(client, sources, inputs.tags.map(mustParse), indexAnnotations(forIndex), inputs.pushByDigest);
  for (const a of plan.assignments) {
    const digest = platformDigests(pushed.entries)[a.platform];
    runner.untrusted(`${a.platform}: built on ${a.address}${a.native ? '' : ' (emulated)'}${digest ? ` as ${digest}` : ''}`);
  }
  const result = mergeResult(pushed.digest, pushed.mediaType, pushed.size, inputs.tags, platformDigests(pushed.entries));
  setOutputs({
    ...result,
    metadata: { ...result.metadata, builds: Object.fromEntries(reports.map((r, i) => [plan.groups[i]!.endpoint.address, parseExporterResponse(r.exporterResponse, []).metadata])) },
  });
  runner.untrusted(`digest: ${result.digest}`);
  for (const image of result.images) runner.untrusted(`image: ${image}`);
  const steps = reports.reduce((s, r) => ({ cached: s.cached + r.progress.cached, run: s.run + r.progress.steps - r.progress.cached }), { cached: 0, run: 0 });
  const versions = [...new Set(plan.groups.map((g) => g.info.version?.version).filter((v) => !!v))];
  await writeSummary({
    builderEndpoint: plan.groups.map((g) => g.endpoint.address).join(', '),
    builderKind: 'remote',
    ...(versions.length ? { builderVersion: versions.join(', ') } : {}),
    frontend: inputs.frontend,
    platforms: inputs.platforms,
    tags: inputs.tags,
    pushed: true,
    digest: result.digest,
    images: result.images,
    durationMs: Date.now() - started,
    steps,
    contextBytes: reports.reduce((n, r) => n + r.transfer.bytesSent, 0),
  });
  return { done: true };
}

async function buildGroup(
  g: PlatformGroup,
  inputs: ActionInputs,
  credentials: Awaited<ReturnType<typeof createDockerCredentialProvider>>,
  seen: Set<string>,
  stopAll: AbortController,
): Promise<BuildReport> {
  const client = new ControlClient(g.endpoint);
  const prefix = `[${g.platforms.join(',')}] `;
  // Each builder's own platforms, also in its cache refs ({platform}).
  const settings = { ...inputs, platforms: g.platforms };
  const build = (): Promise<BuildReport> =>
    runDockerfileBuild({
      client,
      inputs: settings,
      request: dockerfileRequest(withDaemonCache(settings)),
      credentials,
      // The daemons' output, interleaved: each line says whose it is; commands stay stopped.
      write: (line) => runner.untrusted(`${prefix}${line}`),
      onSecret: (source, value) => {
        if (source.kind === 'file') maskSecret(value.toString('utf8'), seen);
      },
      signal: stopAll.signal,
    });
  try {
    return await retryingPushRace(build, `${g.platforms.join(', ')} on ${g.endpoint.address}`, stopAll.signal);
  } catch (err) {
    stopAll.abort();
    throw err;
  } finally {
    client.close();
  }
}
