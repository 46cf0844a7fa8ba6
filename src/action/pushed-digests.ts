// The `digests` output of a pushed image, read back from its registry:
// BuildKit's exporter response names only the top-level digest (the index,
// for several platforms). Its own module because it brings the registry
// client, which a build that pushes nothing never loads.
import * as runner from '../github/runner.js';
import { formatPlatform, isAttestation, isImageManifestType, platformFromConfig } from '../registry/media.js';
import type { ActionInputs } from './inputs-types.js';
import { mustParse, registryClient } from './merge.js';
import { repositoryOf } from '../registry/image-reference.js';

const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

/** Each platform's manifest digest of the image pushed as `digest` to the repository of `tag`; {} (with a warning) if unreadable. */
export async function readPushedDigests(digest: string, tag: string, inputs: Pick<ActionInputs, 'registryInsecure'>, signal: AbortSignal): Promise<Record<string, string>> {
  const ref = mustParse(`${repositoryOf(tag)}@${digest}`);
  try {
    const client = await registryClient(inputs, signal);
    const got = await client.getManifest(ref);
    const out: Record<string, string> = {};
    if (got.manifest.kind === 'index') {
      for (const d of got.manifest.manifests) {
        if (d.platform && !isAttestation(d) && isImageManifestType(d.mediaType)) out[formatPlatform(d.platform)] = d.digest;
      }
    } else {
      out[formatPlatform(platformFromConfig(await client.getBlob(ref, got.manifest.config.digest, MAX_CONFIG_BYTES)))] = digest;
    }
    return out;
  } catch (err) {
    // The image is pushed; only this output is missing. Registry text: commands stay stopped.
    runner.untrusted(`Could not read ${ref.name}@${digest} back for the digests output: ${err instanceof Error ? err.message : String(err)}`);
    runner.warning('The digests output is empty: the pushed image could not be read back from its registry (see the log)');
    return {};
  }
}
