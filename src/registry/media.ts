// Manifests and indexes as registries serve them, OCI and Docker media types.
// Everything here parses bytes from a registry, so it checks every field it
// uses and keeps the original bytes (digests are over bytes, not over JSON).

export const MediaTypes = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
} as const;

/** The Accept header for manifest requests: every type this client understands. */
export const MANIFEST_ACCEPT = [MediaTypes.ociIndex, MediaTypes.dockerList, MediaTypes.ociManifest, MediaTypes.dockerManifest].join(', ');

const INDEX_TYPES: ReadonlySet<string> = new Set([MediaTypes.ociIndex, MediaTypes.dockerList]);
const IMAGE_TYPES: ReadonlySet<string> = new Set([MediaTypes.ociManifest, MediaTypes.dockerManifest]);

export const isIndexType = (mediaType: string): boolean => INDEX_TYPES.has(mediaType);
export const isImageManifestType = (mediaType: string): boolean => IMAGE_TYPES.has(mediaType);

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
  readonly 'os.version'?: string;
  readonly 'os.features'?: readonly string[];
}

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly platform?: Platform;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly artifactType?: string;
}

export interface ImageManifest {
  readonly kind: 'manifest';
  readonly mediaType: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface ImageIndex {
  readonly kind: 'index';
  readonly mediaType: string;
  readonly manifests: readonly Descriptor[];
  readonly annotations?: Readonly<Record<string, string>>;
}

export type Manifest = ImageManifest | ImageIndex;

/** `sha256:<64 hex>` and friends, as the distribution spec writes digests. */
export const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
export const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;

/** A malformed document from a registry; the message says what, never quotes the bytes. */
export class ManifestFormatError extends Error {
  override readonly name = 'ManifestFormatError';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringMap(v: unknown, what: string): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw new ManifestFormatError(`${what} is not an object`);
  const out: Record<string, string> = {};
  for (const [k, value] of Object.entries(v)) {
    if (typeof value !== 'string') throw new ManifestFormatError(`${what}["${k.slice(0, 64)}"] is not a string`);
    out[k] = value;
  }
  return out;
}

export function parsePlatform(v: unknown, what: string): Platform | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw new ManifestFormatError(`${what} is not an object`);
  const { os, architecture, variant } = v;
  if (typeof os !== 'string' || typeof architecture !== 'string') throw new ManifestFormatError(`${what} has no os/architecture`);
  const osVersion = v['os.version'];
  const osFeatures = v['os.features'];
  return {
    os,
    architecture,
    ...(typeof variant === 'string' && variant !== '' ? { variant } : {}),
    ...(typeof osVersion === 'string' && osVersion !== '' ? { 'os.version': osVersion } : {}),
    ...(Array.isArray(osFeatures) && osFeatures.every((f) => typeof f === 'string') && osFeatures.length ? { 'os.features': osFeatures as string[] } : {}),
  };
}

export function parseDescriptor(v: unknown, what: string): Descriptor {
  if (!isObject(v)) throw new ManifestFormatError(`${what} is not an object`);
  const { mediaType, digest, size, artifactType } = v;
  if (typeof mediaType !== 'string' || mediaType === '') throw new ManifestFormatError(`${what} has no mediaType`);
  if (typeof digest !== 'string' || !DIGEST.test(digest)) throw new ManifestFormatError(`${what} has no valid digest`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw new ManifestFormatError(`${what} has no valid size`);
  const platform = parsePlatform(v['platform'], `${what}.platform`);
  const annotations = stringMap(v['annotations'], `${what}.annotations`);
  return {
    mediaType,
    digest,
    size,
    ...(platform ? { platform } : {}),
    ...(annotations ? { annotations } : {}),
    ...(typeof artifactType === 'string' && artifactType !== '' ? { artifactType } : {}),
  };
}

/**
 * Parses a manifest or index. `contentType` is the registry's Content-Type,
 * used when the document itself has no mediaType (allowed for OCI).
 */
export function parseManifest(bytes: Uint8Array, contentType: string): Manifest {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new ManifestFormatError('manifest is not valid JSON');
  }
  if (!isObject(doc)) throw new ManifestFormatError('manifest is not a JSON object');
  if (doc['schemaVersion'] !== 2) throw new ManifestFormatError(`manifest schemaVersion is ${JSON.stringify(doc['schemaVersion'])?.slice(0, 20)}, not 2`);
  const declared = typeof doc['mediaType'] === 'string' ? doc['mediaType'] : '';
  const header = contentType.split(';')[0]!.trim();
  // An OCI document may omit mediaType; then its shape decides, not a header a proxy may have rewritten.
  const mediaType = declared || (Array.isArray(doc['manifests']) ? MediaTypes.ociIndex : isImageManifestType(header) || isIndexType(header) ? header : MediaTypes.ociManifest);
  const annotations = stringMap(doc['annotations'], 'manifest annotations');
  if (isIndexType(mediaType)) {
    if (!Array.isArray(doc['manifests'])) throw new ManifestFormatError('index has no manifests list');
    const manifests = doc['manifests'].map((m, i) => parseDescriptor(m, `manifests[${i}]`));
    return { kind: 'index', mediaType, manifests, ...(annotations ? { annotations } : {}) };
  }
  if (isImageManifestType(mediaType)) {
    const config = parseDescriptor(doc['config'], 'config');
    if (!Array.isArray(doc['layers'])) throw new ManifestFormatError('manifest has no layers list');
    const layers = doc['layers'].map((l, i) => parseDescriptor(l, `layers[${i}]`));
    return { kind: 'manifest', mediaType, config, layers, ...(annotations ? { annotations } : {}) };
  }
  throw new ManifestFormatError(`unsupported manifest media type ${JSON.stringify(mediaType.slice(0, 100))}`);
}

/** The platform an image config declares (its os/architecture/variant fields). */
export function platformFromConfig(bytes: Uint8Array): Platform {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new ManifestFormatError('image config is not valid JSON');
  }
  const platform = parsePlatform(doc, 'image config');
  if (!platform) throw new ManifestFormatError('image config is not an object');
  return platform;
}

/** `os/arch[/variant]`, the form of the `platforms` input. */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/**
 * BuildKit's attestation manifests sit in the index as `unknown/unknown`
 * entries pointing at the image they describe; they are not a platform.
 */
export function isAttestation(d: Descriptor): boolean {
  return d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' || (d.platform?.os === 'unknown' && d.platform.architecture === 'unknown');
}
