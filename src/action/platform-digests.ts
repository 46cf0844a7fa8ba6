// The `digests` output of a build: each platform's manifest digest. BuildKit's
// exporter response names only the top-level digest (the index, for several
// platforms), so for a pushed image we read what the registry holds; for an
// image that stayed in the builder only a single manifest can be described.
import * as runner from '../github/runner.js';
import { defaultPlatform, type BuilderInfo } from '../buildkit/probe.js';
import { formatPlatform, isAttestation, isImageManifestType, platformFromConfig } from '../registry/media.js';
import type { ActionInputs } from './inputs-types.js';
import { mustParse, registryClient } from './merge.js';
import type { BuildResult } from './outputs.js';
import { repositoryOf } from '../registry/image-reference.js';

const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

export async function readPlatformDigests(
  result: BuildResult,
  inputs: Pick<ActionInputs, 'push' | 'tags' | 'platforms' | 'registryInsecure'>,
  builder: BuilderInfo | undefined,
  signal: AbortSignal,
): Promise<Record<string, string>> {
  if (!result.digest) return {};
  if (inputs.push && inputs.tags.length > 0) {
    const ref = mustParse(`${repositoryOf(inputs.tags[0]!)}@${result.digest}`);
    try {
      const client = await registryClient(inputs, signal);
      const got = await client.getManifest(ref);
      const out: Record<string, string> = {};
      if (got.manifest.kind === 'index') {
        for (const d of got.manifest.manifests) {
          if (d.platform && !isAttestation(d) && isImageManifestType(d.mediaType)) out[formatPlatform(d.platform)] = d.digest;
        }
      } else {
        out[formatPlatform(platformFromConfig(await client.getBlob(ref, got.manifest.config.digest, MAX_CONFIG_BYTES)))] = result.digest;
      }
      return out;
    } catch (err) {
      // The image is pushed; only this output is missing. Registry text: commands stay stopped.
      runner.untrusted(`Could not read ${ref.name}@${result.digest} back for the digests output: ${err instanceof Error ? err.message : String(err)}`);
      runner.warning('The digests output is empty: the pushed image could not be read back from its registry (see the log)');
      return {};
    }
  }
  // Not pushed: a single manifest's platform is the one asked for, or the builder's own.
  if (result.descriptor && isImageManifestType(result.descriptor.mediaType)) {
    const platform = inputs.platforms[0] ?? (builder ? defaultPlatform(builder) : undefined);
    if (platform) return { [platform]: result.digest };
  }
  return {};
}
