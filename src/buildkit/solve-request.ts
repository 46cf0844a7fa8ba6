// Turns validated inputs into the Solve request for the Dockerfile frontend:
// frontend attributes, the image exporter and cache options.
import { sha256 } from '../common/sha256.js';
import { basename, dirname } from 'node:path';
import type { BuildSettings, CacheEntry } from './settings.js';
import type { CacheOptionsEntry, ExporterEntry, SolveRequest } from '../protocol/index.js';

export type BuildRequest = Omit<SolveRequest, 'Ref' | 'Session'>;

/** Local directory names the Dockerfile frontend asks the session for. */
export interface LocalDirs {
  readonly context: string;
  readonly dockerfile: string;
}

export function localDirs(inputs: Pick<BuildSettings, 'context' | 'file'>): LocalDirs {
  return { context: inputs.context, dockerfile: dirname(inputs.file) };
}

/**
 * A stable shared key per directory: the daemon keeps its copy of our files
 * under it, so the next build sends only what changed. Hashed because the
 * header must be printable ASCII.
 */
export function sharedKeyFor(dir: string): string {
  return sha256(`envd-remote-build:${dir}`).toString('hex').slice(0, 32);
}

export function imageExporter(
  inputs: Pick<BuildSettings, 'tags' | 'push' | 'registryInsecure' | 'annotations'> & Partial<Pick<BuildSettings, 'pushByDigest' | 'sourceDateEpoch'>>,
): ExporterEntry {
  const attrs: Record<string, string> = {};
  // All names go into one exporter, comma-separated: one image, several tags.
  if (inputs.tags.length) attrs.name = inputs.tags.join(',');
  attrs.push = String(inputs.push && inputs.tags.length > 0);
  // The names are repositories: the daemon pushes the manifest by its digest only.
  if (inputs.pushByDigest) attrs['push-by-digest'] = 'true';
  // Clamp file times in the layers to SOURCE_DATE_EPOCH too, not only the config's (BuildKit v0.13+).
  if (inputs.sourceDateEpoch) attrs['rewrite-timestamp'] = 'true';
  if (inputs.registryInsecure) attrs['registry.insecure'] = 'true';
  for (const [key, value] of annotationAttrs(inputs.annotations)) attrs[key] = value;
  return { Type: 'image', Attrs: attrs };
}

/**
 * `key=value` annotates the manifest; `index:key=value`, `manifest-descriptor:…`
 * and friends pick the level, as docker buildx does.
 */
export function annotationAttrs(annotations: readonly string[]): [string, string][] {
  return annotations.map((line) => {
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`Input "annotations": expected key=value, got "${line}"`);
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    const colon = key.indexOf(':');
    if (colon > 0 && /^(manifest|index|manifest-descriptor|index-descriptor)(\[[^\]]*\])?$/.test(key.slice(0, colon))) {
      return [`annotation-${key.slice(0, colon)}.${key.slice(colon + 1)}`, value];
    }
    return [`annotation.${key}`, value];
  });
}

/**
 * Cache entries as the daemon wants them. The caller fills in what a cache
 * backend needs from its environment (for gha: src/github/cache-service.ts).
 */
export function cacheEntries(entries: readonly CacheEntry[]): CacheOptionsEntry[] {
  return entries.map((e) => {
    // The session serves no content store, which type=local would need.
    if (e.type === 'local') throw new Error('cache type=local needs a content store in the session, which this client does not provide');
    return { Type: e.type, Attrs: { ...e.attrs } };
  });
}

export function dockerfileRequest(inputs: BuildSettings): BuildRequest {
  const attrs: Record<string, string> = { filename: basename(inputs.file) };
  if (inputs.target) attrs.target = inputs.target;
  for (const [name, value] of inputs.buildArgs) attrs[`build-arg:${name}`] = value;
  if (inputs.sourceDateEpoch) attrs['build-arg:SOURCE_DATE_EPOCH'] = inputs.sourceDateEpoch;
  for (const [name, value] of inputs.labels) attrs[`label:${name}`] = value;
  if (inputs.platforms.length) attrs.platform = inputs.platforms.join(',');
  if (inputs.noCache) attrs['no-cache'] = '';
  if (inputs.provenance) attrs['attest:provenance'] = inputs.provenance;
  if (inputs.sbom) attrs['attest:sbom'] = inputs.sbom;

  const imports = cacheEntries(inputs.cacheFrom);
  const exports = cacheEntries(inputs.cacheTo);
  // The Dockerfile frontend resolves cache sources itself and reads only this attribute.
  if (imports.length) attrs['cache-imports'] = JSON.stringify(imports.map((i) => ({ Type: i.Type, Attrs: i.Attrs ?? {} })));

  const exporter = imageExporter(inputs);
  return {
    Frontend: 'dockerfile.v0',
    FrontendAttrs: attrs,
    // New daemons read Exporters; daemons before v0.13 only the deprecated pair.
    Exporters: [exporter],
    ExporterDeprecated: exporter.Type,
    ExporterAttrsDeprecated: exporter.Attrs ?? {},
    Cache: { Imports: imports, Exports: exports },
  };
}
