// What a build asks of BuildKit, in BuildKit's terms: the image to export,
// caches, secrets and how to reach the daemon over TLS. The action's inputs
// (src/action/inputs-types.ts) extend these; layers below the action take
// only these types, so they never depend on the action's own.

export interface CacheEntry {
  readonly type: string;
  readonly attrs: Readonly<Record<string, string>>;
}

/** Where a secret's bytes come from; read only when the daemon asks for it. */
export type SecretSource =
  | { readonly id: string; readonly kind: 'value'; readonly value: string }
  | { readonly id: string; readonly kind: 'file'; readonly path: string }
  | { readonly id: string; readonly kind: 'env'; readonly name: string };

/** mTLS material, each a file path or inline PEM. */
export interface TlsFiles {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly serverName?: string;
}

/** One image build: the definition, what it exports, and where. */
export interface BuildSettings {
  /** Build context directory, absolute. */
  readonly context: string;
  /** Dockerfile or build.envd path, absolute. */
  readonly file: string;
  readonly target: string;
  /** Ordered [name, value] pairs. */
  readonly buildArgs: readonly (readonly [string, string])[];
  readonly labels: readonly (readonly [string, string])[];
  readonly annotations: readonly string[];
  readonly tags: readonly string[];
  readonly push: boolean;
  /**
   * `push-by-digest`: push the image by digest only, under the repositories
   * of `tags` (which then carry no tag); implies push. For matrix jobs whose
   * digests a later `merge` run assembles into one index.
   */
  readonly pushByDigest: boolean;
  readonly platforms: readonly string[];
  readonly noCache: boolean;
  readonly cacheFrom: readonly CacheEntry[];
  readonly cacheTo: readonly CacheEntry[];
  readonly secrets: readonly SecretSource[];
  /** `provenance` / `sbom` as frontend attr values; '' = off. */
  readonly provenance: string;
  readonly sbom: string;
  /**
   * `source-date-epoch` as decimal seconds ('' = off): the SOURCE_DATE_EPOCH
   * build arg, with layer timestamps rewritten by the image exporter.
   */
  readonly sourceDateEpoch: string;
  /** Allow plain-HTTP registries for push (registry.insecure). */
  readonly registryInsecure: boolean;
}
