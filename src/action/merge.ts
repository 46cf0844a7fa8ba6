// Merge mode (`merge:` given): no builder, no build. The images that matrix
// jobs pushed by digest become one index, pushed under every tag; the outputs
// are the index's digest and each platform's manifest digest.
import * as runner from '../github/runner.js';
import { assembleIndex, MergeSourceError, platformDigests } from '../registry/assemble.js';
import { RegistryClient } from '../registry/client.js';
import { formatPlatform } from '../registry/media.js';
import { parseReference, type Reference } from '../registry/reference.js';
import { createDockerCredentialProvider } from '../credentials/provider.js';
import type { ActionInputs } from './inputs-types.js';
import { setOutputs, type BuildResult } from './outputs.js';
import { repositoryOf } from '../registry/image-reference.js';
import { writeSummary } from './summary.js';

/** A reference readInputs has already validated. */
export function mustParse(text: string): Reference {
  const parsed = parseReference(text);
  if (typeof parsed === 'string') throw new Error(`invalid image reference "${text}": ${parsed}`);
  return parsed;
}

/** `annotations` (key=value or index:key=value) as the index's annotation map. */
export function indexAnnotations(lines: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of lines) {
    const eq = line.indexOf('=');
    out[line.slice(0, eq).replace(/^index:/, '')] = line.slice(eq + 1);
  }
  return out;
}

/** A registry client with the runner's docker credentials; every secret it reads is masked first. */
export async function registryClient(inputs: Pick<ActionInputs, 'registryInsecure'>, signal: AbortSignal): Promise<RegistryClient> {
  const credentials = await createDockerCredentialProvider({ onSecret: (s) => runner.setSecret(s) });
  return new RegistryClient({ credentials, insecure: inputs.registryInsecure, signal, log: (m) => runner.debug(m) });
}

export async function runMerge(inputs: ActionInputs, signal: AbortSignal): Promise<void> {
  const started = Date.now();
  const client = await registryClient(inputs, signal);
  const sources = inputs.merge.map(mustParse);
  const tags = inputs.tags.map(mustParse);
  runner.info(`Merging ${sources.length} image(s) into one index for ${inputs.tags.join(', ')}`);
  let pushed;
  try {
    pushed = await assembleIndex(client, sources, tags, indexAnnotations(inputs.annotations));
  } catch (err) {
    if (err instanceof MergeSourceError) throw new Error(`Input "merge": ${err.message}`);
    throw err;
  }
  for (const e of pushed.entries) {
    // Platforms and digests come from the registry: print them with commands stopped.
    runner.untrusted(`${e.descriptor.platform ? formatPlatform(e.descriptor.platform) : 'attestation'}: ${e.source.name}@${e.descriptor.digest}`);
  }
  const { mounted, copied, manifests } = pushed.report;
  if (mounted + copied + manifests > 0) runner.info(`Into the target repositories: ${mounted} blob(s) mounted, ${copied} copied, ${manifests} manifest(s) put`);

  const result = mergeResult(pushed.digest, pushed.mediaType, pushed.size, inputs.tags, platformDigests(pushed.entries));
  setOutputs(result);
  runner.untrusted(`digest: ${result.digest}`);
  for (const image of result.images) runner.untrusted(`image: ${image}`);
  await writeSummary({
    builderEndpoint: 'none (merge)',
    frontend: inputs.frontend,
    platforms: Object.keys(result.digests ?? {}),
    tags: inputs.tags,
    pushed: true,
    digest: result.digest,
    images: result.images,
    durationMs: Date.now() - started,
  });
}

/** The outputs of an index we pushed ourselves, in the shape of a build's. */
export function mergeResult(digest: string, mediaType: string, size: number, tags: readonly string[], digests: Record<string, string>): BuildResult {
  const images: string[] = [];
  for (const tag of tags) {
    const image = `${repositoryOf(tag)}@${digest}`;
    if (!images.includes(image)) images.push(image);
  }
  const descriptor = { mediaType, digest, size };
  return { digest, descriptor, metadata: { 'containerimage.digest': digest, 'containerimage.descriptor': descriptor }, images, digests };
}
