// The `digests` output of a build: each platform's manifest digest. For a
// pushed image it is read back from the registry (pushed-digests.ts, loaded
// only then); for an image that stayed in the builder only a single manifest
// can be described.
import { defaultPlatform, type BuilderInfo } from '../buildkit/probe.js';
import { isImageManifestType } from '../registry/media.js';
import type { ActionInputs } from './inputs-types.js';
import type { BuildResult } from './outputs.js';

export async function readPlatformDigests(
  result: BuildResult,
  inputs: Pick<ActionInputs, 'push' | 'tags' | 'platforms' | 'registryInsecure'>,
  builder: BuilderInfo | undefined,
  signal: AbortSignal,
): Promise<Record<string, string>> {
  if (!result.digest) return {};
  const tag = inputs.tags[0];
  if (inputs.push && tag !== undefined) return (await import('./pushed-digests.js')).readPushedDigests(result.digest, tag, inputs, signal);
  // Not pushed: a single manifest's platform is the one asked for, or the one
  // the exporter recorded, or (from a daemon that recorded none) the builder's own.
  if (result.descriptor && isImageManifestType(result.descriptor.mediaType)) {
    const platform = inputs.platforms[0] ?? result.descriptor.platform ?? (builder ? defaultPlatform(builder) : undefined);
    if (platform) return { [platform]: result.digest };
  }
  return {};
}
