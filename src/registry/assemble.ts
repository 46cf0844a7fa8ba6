// One image index from per-platform images already in a registry: the merge
// of matrix jobs' push-by-digest results, and the last step of a build spread
// over several builders. Sources may be single-platform manifests (their
// platform read from the image config when the reference carries none) or
// indexes (their entries, attestations included, are taken over as they are).
// Where the target repository differs from a source's, the blobs are mounted
// (same registry) or copied, and the manifests put by digest, before the
// index that names them.
import { digestOf, type RegistryClient, type FetchedManifest } from './client.js';
import { formatPlatform, isAttestation, isImageManifestType, MediaTypes, platformFromConfig, type Descriptor, type ImageManifest } from './media.js';
import { formatReference, type Reference, type Repository } from './reference.js';

/** Image configs are small JSON; refuse anything that is not. */
const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

/** One entry of the index to be, and where its content lives now. */
export interface IndexEntry {
  readonly descriptor: Descriptor;
  readonly source: Repository;
  /** The manifest's own bytes and parsed form (to copy it and its blobs). */
  readonly bytes: Buffer;
  readonly manifest: FetchedManifest['manifest'];
}

/** A source the user named wrongly (two images for one platform, say); one line. */
export class MergeSourceError extends Error {
  override readonly name = 'MergeSourceError';
}

/** Reads the sources and lists the index entries, in the order given. */
export async function collectEntries(client: RegistryClient, sources: readonly Reference[]): Promise<IndexEntry[]> {
  const fetched = await Promise.all(sources.map((ref) => client.getManifest(ref)));
  const entries: IndexEntry[] = [];
  for (const [i, got] of fetched.entries()) {
    const ref = sources[i]!;
    if (got.manifest.kind === 'manifest') {
      const platform = platformFromConfig(await client.getBlob(ref, got.manifest.config.digest, MAX_CONFIG_BYTES));
      entries.push({ descriptor: { ...got.descriptor, platform }, source: ref, bytes: got.bytes, manifest: got.manifest });
      continue;
    }
    // An index (several platforms, or one plus its attestation): its entries, each fetched to copy it.
    const children = await Promise.all(got.manifest.manifests.map((d) => client.getManifest({ ...ref, digest: d.digest })));
    got.manifest.manifests.forEach((d, k) => {
      const child = children[k]!;
      if (child.manifest.kind !== 'manifest') throw new MergeSourceError(`${formatReference(ref)} nests an index (${d.digest}); only images and one level of index can be merged`);
      entries.push({ descriptor: d, source: ref, bytes: child.bytes, manifest: child.manifest });
    });
  }
  // The same image named twice (two jobs that built the same thing) is one entry.
  const unique = entries.filter((e, i) => entries.findIndex((o) => o.descriptor.digest === e.descriptor.digest) === i);
  const seen = new Map<string, IndexEntry>();
  for (const e of unique) {
    if (isAttestation(e.descriptor)) continue;
    if (!e.descriptor.platform) throw new MergeSourceError(`${e.source.name}@${e.descriptor.digest} has no platform`);
    const key = platformKey(e.descriptor);
    const other = seen.get(key);
    if (other) {
      throw new MergeSourceError(
        `two images for ${formatPlatform(e.descriptor.platform)}: ${other.source.name}@${other.descriptor.digest} and ${e.source.name}@${e.descriptor.digest}; give each platform once`,
      );
    }
    seen.set(key, e);
  }
  return unique;
}

function platformKey(d: Descriptor): string {
  const p = d.platform!;
  return `${formatPlatform(p)}|${p['os.version'] ?? ''}`;
}

export interface IndexDocument {
  readonly mediaType: string;
  readonly bytes: Buffer;
}

/**
 * The index's bytes. OCI unless every entry is a Docker manifest without
 * annotations (then a Docker manifest list, as docker would make); the same
 * entries in the same order always give the same bytes, so the same digest.
 */
export function indexDocument(entries: readonly IndexEntry[], annotations: Readonly<Record<string, string>> = {}): IndexDocument {
  const docker = entries.every((e) => e.descriptor.mediaType === MediaTypes.dockerManifest && !e.descriptor.annotations) && Object.keys(annotations).length === 0;
  const mediaType = docker ? MediaTypes.dockerList : MediaTypes.ociIndex;
  const manifests = entries.map((e) => {
    const d = e.descriptor;
    return {
      mediaType: d.mediaType,
      digest: d.digest,
      size: d.size,
      ...(d.platform ? { platform: d.platform } : {}),
      ...(d.annotations && !docker ? { annotations: d.annotations } : {}),
      ...(d.artifactType && !docker ? { artifactType: d.artifactType } : {}),
    };
  });
  const doc = { schemaVersion: 2, mediaType, manifests, ...(Object.keys(annotations).length ? { annotations } : {}) };
  return { mediaType, bytes: Buffer.from(JSON.stringify(doc)) };
}

/** `os/arch[/variant]` → manifest digest of each image entry (attestations left out). */
export function platformDigests(entries: readonly IndexEntry[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of entries) if (!isAttestation(e.descriptor) && e.descriptor.platform && isImageManifestType(e.descriptor.mediaType)) out[formatPlatform(e.descriptor.platform)] = e.descriptor.digest;
  return out;
}

const sameRepository = (a: Repository, b: Repository): boolean => a.host === b.host && a.path === b.path;

export interface CopyReport {
  mounted: number;
  copied: number;
  manifests: number;
}

/** Makes every entry (its blobs, then its manifest) exist in `target`. */
export async function copyEntries(client: RegistryClient, entries: readonly IndexEntry[], target: Repository, report: CopyReport = { mounted: 0, copied: 0, manifests: 0 }): Promise<CopyReport> {
  for (const e of entries) {
    if (sameRepository(e.source, target)) continue;
    const manifest = e.manifest as ImageManifest;
    for (const blob of [manifest.config, ...manifest.layers]) {
      const how = await client.copyBlob(e.source, target, blob);
      if (how === 'mounted') report.mounted++;
      if (how === 'copied') report.copied++;
    }
    if (!(await client.headManifest(target, e.descriptor.digest))) {
      await client.putManifest(target, e.descriptor.digest, e.bytes, e.descriptor.mediaType);
      report.manifests++;
    }
  }
  return report;
}

export interface PushedIndex {
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  readonly entries: readonly IndexEntry[];
  readonly report: CopyReport;
}

/**
 * Reads `sources`, makes their content available in each tag's repository,
 * and pushes one index under every tag. Returns the index digest (checked
 * against what each registry stored).
 */
export async function assembleIndex(
  client: RegistryClient,
  sources: readonly Reference[],
  tags: readonly Reference[],
  annotations: Readonly<Record<string, string>> = {},
  /** Put the index under its digest where a tag names no tag (push-by-digest). */
  byDigest = false,
): Promise<PushedIndex> {
  const entries = await collectEntries(client, sources);
  const index = indexDocument(entries, annotations);
  const report: CopyReport = { mounted: 0, copied: 0, manifests: 0 };
  const done: Repository[] = [];
  let digest = '';
  for (const tag of tags) {
    if (!done.some((r) => sameRepository(r, tag))) {
      await copyEntries(client, entries, tag, report);
      done.push(tag);
    }
    const reference = tag.tag ?? (byDigest ? digestOf(index.bytes) : 'latest');
    digest = await client.putManifest(tag, reference, index.bytes, index.mediaType);
  }
  return { digest, mediaType: index.mediaType, size: index.bytes.length, entries, report };
}
