// The validated, typed inputs of one run. readInputs() (inputs.ts) produces
// this from the action's `with:` values; everything downstream consumes it and
// never reads the runner's inputs itself. The build's own settings are
// BuildKit's types (src/buildkit/settings.ts): the layers below take those.
import type { Fallback, ResolveInputs } from '../builder/resolve.js';
import type { BuildSettings, CacheEntry, SecretSource, TlsFiles } from '../buildkit/settings.js';

export type { CacheEntry, Fallback, SecretSource };
export type TlsInputs = TlsFiles;

export type Frontend = 'dockerfile' | 'envd';

/** The builder settings (ResolveInputs) and the build's (BuildSettings), plus the action's own. */
export interface ActionInputs extends ResolveInputs, BuildSettings {
  /**
   * Platforms pinned on a builder's line (`tcp://arm:1234 platforms=linux/arm64`),
   * by address as in `builders`; a builder without an entry runs what its workers say.
   */
  readonly builderPlatforms: Readonly<Record<string, readonly string[]>>;

  /** Resolved from `frontend: auto|dockerfile|envd` and the file name. */
  readonly frontend: Frontend;
  /** envd build function (envd only). */
  readonly envdFunction: string;
  readonly envdVersion: string;
  /**
   * `merge`: `name@digest` references of images (or indexes) to assemble
   * into one index pushed under `tags`. Non-empty = merge mode: nothing is
   * built and no builder is used.
   */
  readonly merge: readonly string[];
}
