// How build cache survives between runs when the builder is local.
//
// A daemon we start lives for one job; its state directory is deleted in the
// post step and is never archived: it holds root- or sub-UID-owned files, live
// bolt databases and snapshots that are large, host-specific and unsafe to
// restore into a different daemon. Cache crosses runs only through BuildKit's
// own cache export:
//   - cache-to/cache-from `type=gha`: BuildKit talks to the Actions cache itself;
//   - `type=local,dest=<dir>` / `type=local,src=<dir>`: a directory the workflow
//     saves and restores with actions/cache (the tool's usual recipe).
// When neither is configured we add nothing: each run builds cold, as asked.
import type { CacheEntry } from '../action/inputs-types.js';

export const LOCAL_BUILDER_CACHE_NOTE =
  'A local BuildKit daemon lives for one job; to reuse build cache across runs set cache-to/cache-from ' +
  '(type=gha, or type=local with a directory saved by actions/cache). The daemon state directory is never cached.';

/**
 * One info line about cache persistence for a local builder, or undefined when
 * there is nothing useful to say (no cache configured: we do not nag).
 */
export function describeLocalCache(cacheFrom: readonly CacheEntry[], cacheTo: readonly CacheEntry[]): string | undefined {
  if (cacheFrom.length === 0 && cacheTo.length === 0) return undefined;
  const types = [...new Set([...cacheFrom, ...cacheTo].map((c) => c.type))].join(', ');
  return `Build cache crosses runs through the configured cache export (${types}); the local daemon's own state is discarded after the job.`;
}
