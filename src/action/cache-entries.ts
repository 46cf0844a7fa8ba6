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

/** What a daemon building `platforms` gets: placeholders filled, the runner's cache service added. */
export function daemonCacheEntries(entries: readonly CacheEntry[], platforms: readonly string[], env: NodeJS.ProcessEnv = process.env): CacheEntry[] {
  return withRunnerCacheService(forPlatforms(entries, platforms), env);
}
