// Cache entries as a daemon receives them. `{platform}` in an attribute
// stands for the platforms that daemon builds: with several builders each
// builds only its own platforms, and cache exports to one registry ref do not
// merge (the builder that finishes last overwrites the others), so each
// builder needs a ref of its own. The runner's cache service is added here
// too, so every path to a daemon (one builder or several) gets the same.
import type { CacheEntry } from '../buildkit/settings.js';
import { withRunnerCacheService } from '../github/cache-service.js';

/** Written in any attribute value of `cache-from` and `cache-to`. */
export const PLATFORM_PLACEHOLDER = '{platform}';

/**
 * Platforms in a form that fits a tag or a scope: `linux/arm/v7` becomes
 * `linux-arm-v7`; several, in the order given, joined by `_`.
 */
export function platformTag(platforms: readonly string[]): string {
  return platforms.map((p) => p.replace(/\//g, '-')).join('_');
}

export function usesPlatformPlaceholder(entries: readonly CacheEntry[]): boolean {
  return entries.some((e) => Object.values(e.attrs).some((v) => v.includes(PLATFORM_PLACEHOLDER)));
}

/** `{platform}` replaced by the platforms of this build (inputs.ts refuses it without any). */
export function forPlatforms(entries: readonly CacheEntry[], platforms: readonly string[]): CacheEntry[] {
  const tag = platformTag(platforms);
  return entries.map((e) => ({
    type: e.type,
    attrs: Object.fromEntries(Object.entries(e.attrs).map(([k, v]) => [k, v.split(PLATFORM_PLACEHOLDER).join(tag)])),
  }));
}

/** The part of a build's settings this module fills in. */
interface CacheSettings {
  readonly platforms: readonly string[];
  readonly cacheFrom: readonly CacheEntry[];
  readonly cacheTo: readonly CacheEntry[];
}

/** The settings with `{platform}` filled in for the platforms they build. */
export function withPlatformCache<T extends CacheSettings>(s: T): T {
  return { ...s, cacheFrom: forPlatforms(s.cacheFrom, s.platforms), cacheTo: forPlatforms(s.cacheTo, s.platforms) };
}

/** What a daemon is sent: `{platform}` filled in, and the runner's cache service for gha entries. */
export function withDaemonCache<T extends CacheSettings>(s: T, env: NodeJS.ProcessEnv = process.env): T {
  const filled = withPlatformCache(s);
  return { ...filled, cacheFrom: withRunnerCacheService(filled.cacheFrom, env), cacheTo: withRunnerCacheService(filled.cacheTo, env) };
}
