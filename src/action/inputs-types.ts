// The validated, typed inputs of one run. readInputs() (inputs.ts) produces
// this from the action's `with:` values; everything downstream consumes it and
// never reads the runner's inputs itself.

export type Frontend = 'dockerfile' | 'envd';
export type Fallback = 'auto' | 'never' | 'only';

/** One `type=...,k=v` cache entry (cache-from / cache-to). */
export interface CacheEntry {
  readonly type: string;
  readonly attrs: Readonly<Record<string, string>>;
}

/** Where a build secret's value comes from. Values are read lazily at solve time. */
export type SecretSource =
  | { readonly id: string; readonly kind: 'value'; readonly value: string }
  | { readonly id: string; readonly kind: 'file'; readonly path: string }
  | { readonly id: string; readonly kind: 'env'; readonly name: string };

export interface TlsInputs {
  /** PEM content (file paths are already read). */
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly serverName?: string;
}

export interface ActionInputs {
  /** Builder endpoints in order of preference; empty = none given. */
  readonly builders: readonly string[];
  /**
   * Platforms pinned on a builder's line (`tcp://arm:1234 platforms=linux/arm64`),
   * by address as in `builders`; a builder without an entry runs what its workers say.
   */
  readonly builderPlatforms: Readonly<Record<string, readonly string[]>>;
  readonly tls?: TlsInputs;
  readonly connectTimeoutMs: number;
  readonly fallback: Fallback;
  readonly buildkitVersion: string;
  readonly buildkitDownloadUrl: string;
  readonly buildkitdConfigInline: string;
  /** `allow-unverified-downloads`: run a downloaded tool no trusted sha256 vouches for. */
  readonly allowUnverifiedDownloads: boolean;

  /** Resolved from `frontend: auto|dockerfile|envd` and the file name. */
  readonly frontend: Frontend;
  /** Build context directory, absolute. */
  readonly context: string;
  /** Dockerfile or build.envd path, absolute. */
  readonly file: string;
  /** envd build function (envd only). */
  readonly envdFunction: string;
  readonly envdVersion: string;

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
  /**
   * `merge`: `name@digest` references of images (or indexes) to assemble
   * into one index pushed under `tags`. Non-empty = merge mode: nothing is
   * built and no builder is used.
   */
  readonly merge: readonly string[];
  readonly platforms: readonly string[];
  readonly noCache: boolean;
  readonly cacheFrom: readonly CacheEntry[];
  readonly cacheTo: readonly CacheEntry[];
  readonly secrets: readonly SecretSource[];
  /** `provenance` / `sbom` inputs as frontend attr values; '' = off. */
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
