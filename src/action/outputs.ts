// Turns BuildKit's exporter response (SolveResponse.ExporterResponse, a flat
// string map) into the action's outputs: the exact digest pushed and the
// `name@digest` references later steps should deploy, instead of mutable tags.

import * as runner from '../github/runner.js';

import { repositoryOf } from '../registry/image-reference.js';

/** An OCI content descriptor, as BuildKit returns it in containerimage.descriptor. */
export interface ImageDescriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Readonly<Record<string, string>>;
  /** `os/arch[/variant]` of a single-platform manifest, as the exporter recorded it. */
  readonly platform?: string;
}

export interface BuildResult {
  /** Manifest (or index, for multi-platform) digest; '' when nothing was exported. */
  readonly digest: string;
  /** Image config digest (docker's "image ID"); absent for multi-platform indexes. */
  readonly imageId?: string;
  /** The exported manifest/index descriptor, when BuildKit reported it. */
  readonly descriptor?: ImageDescriptor;
  /** The whole exporter response; base64-encoded JSON objects decoded. */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** One `repository@digest` per distinct repository among the tags. */
  readonly images: readonly string[];
  /** `os/arch[/variant]` → manifest digest of each platform's image, when known. */
  readonly digests?: Readonly<Record<string, string>>;
}

const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * BuildKit base64-encodes structured values (containerimage.descriptor,
 * buildx/provenance blobs). Decode those that are a JSON object; anything
 * else, including digests and plain words that happen to be valid base64,
 * stays a string.
 */
function decodeValue(value: string): unknown {
  if (value.length < 4 || !BASE64.test(value)) return value;
  const text = Buffer.from(value, 'base64').toString('utf8');
  if (!text.trimStart().startsWith('{')) return value;
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? parsed : value;
  } catch {
    return value;
  }
}

function asDescriptor(value: unknown): ImageDescriptor | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v['mediaType'] !== 'string' || typeof v['digest'] !== 'string' || typeof v['size'] !== 'number') return undefined;
  const annotations = v['annotations'];
  const platform = asPlatform(v['platform']);
  return {
    mediaType: v['mediaType'],
    digest: v['digest'],
    size: v['size'],
    ...(typeof annotations === 'object' && annotations !== null ? { annotations: annotations as Record<string, string> } : {}),
    ...(platform ? { platform } : {}),
  };
}

// What an OS, architecture or variant name can be; the daemon's text becomes a key of the `digests` output.
const PLATFORM_PART = /^[a-z0-9][a-z0-9._-]{0,31}$/i;

/** `{os, architecture, variant}` as `os/arch[/variant]`; undefined unless every part is a plain name. */
function asPlatform(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { os, architecture, variant } = value as Record<string, unknown>;
  if (typeof os !== 'string' || typeof architecture !== 'string' || !PLATFORM_PART.test(os) || !PLATFORM_PART.test(architecture)) return undefined;
  if (variant === undefined || variant === '') return `${os}/${architecture}`;
  return typeof variant === 'string' && PLATFORM_PART.test(variant) ? `${os}/${architecture}/${variant}` : undefined;
}

export function parseExporterResponse(resp: Readonly<Record<string, string>>, tags: readonly string[]): BuildResult {
  const metadata: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(resp)) metadata[key] = decodeValue(value);

  const rawDigest = resp['containerimage.digest'] ?? '';
  const digest = DIGEST.test(rawDigest) ? rawDigest : '';
  const rawConfig = resp['containerimage.config.digest'] ?? '';
  const descriptor = asDescriptor(metadata['containerimage.descriptor']);

  const images: string[] = [];
  if (digest !== '') {
    for (const tag of tags) {
      const image = `${repositoryOf(tag)}@${digest}`;
      // Two tags of one repository name the same image: list it once.
      if (!images.includes(image)) images.push(image);
    }
  }
  return {
    digest,
    ...(DIGEST.test(rawConfig) ? { imageId: rawConfig } : {}),
    ...(descriptor ? { descriptor } : {}),
    metadata,
    images,
  };
}

/** Sets the action outputs `digest`, `digests` (JSON), `imageid`, `metadata` (JSON) and `images` (one a line). */
export function setOutputs(result: BuildResult): void {
  runner.setOutput('digest', result.digest);
  runner.setOutput('digests', JSON.stringify(result.digests ?? {}));
  runner.setOutput('imageid', result.imageId ?? '');
  runner.setOutput('metadata', JSON.stringify(result.metadata));
  runner.setOutput('images', result.images.join('\n'));
}
