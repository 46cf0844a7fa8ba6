import type { CacheEntry } from '../../src/buildkit/settings.js';
import { forPlatforms, platformTag, usesPlatformPlaceholder, withDaemonCache, withPlatformCache } from '../../src/action/cache-entries.js';

const registryCache = { type: 'registry', attrs: { ref: 'reg.example/app:cache-{platform}', mode: 'max' } };

describe('platformTag', () => {
  it('turns platforms into one tag-safe word, in the order given', () => {
    expect(platformTag(['linux/amd64'])).toBe('linux-amd64');
    expect(platformTag(['linux/arm/v7'])).toBe('linux-arm-v7');
    expect(platformTag(['linux/arm64', 'linux/amd64'])).toBe('linux-arm64_linux-amd64');
  });
});

describe('forPlatforms', () => {
  it('fills {platform} in every attribute, every time it occurs, and keeps the rest', () => {
    const entries: CacheEntry[] = [registryCache, { type: 'gha', attrs: { scope: '{platform}/{platform}', mode: 'min' } }, { type: 'inline', attrs: {} }];
    expect(forPlatforms(entries, ['linux/arm64'])).toEqual([
      { type: 'registry', attrs: { ref: 'reg.example/app:cache-linux-arm64', mode: 'max' } },
      { type: 'gha', attrs: { scope: 'linux-arm64/linux-arm64', mode: 'min' } },
      { type: 'inline', attrs: {} },
    ]);
  });

  it('leaves other braces alone and does not change the entries it was given', () => {
    const entry = { type: 'registry', attrs: { ref: 'reg.example/app:{arch}' } };
    expect(forPlatforms([entry], ['linux/amd64'])).toEqual([entry]);
    forPlatforms([registryCache], ['linux/amd64']);
    expect(registryCache.attrs.ref).toBe('reg.example/app:cache-{platform}');
  });
});

describe('usesPlatformPlaceholder', () => {
  it('is true only when an attribute value holds {platform}', () => {
    expect(usesPlatformPlaceholder([registryCache])).toBe(true);
    expect(usesPlatformPlaceholder([{ type: 'registry', attrs: { ref: 'reg.example/app:cache' } }])).toBe(false);
    expect(usesPlatformPlaceholder([])).toBe(false);
  });
});

describe('withDaemonCache / withPlatformCache', () => {
  const env = { ACTIONS_CACHE_URL: 'https://cache.example/', ACTIONS_RESULTS_URL: 'https://results.example/', ACTIONS_RUNTIME_TOKEN: 'tok' };
  const settings = { platforms: ['linux/amd64'], cacheFrom: [{ type: 'gha', attrs: { scope: 'app-{platform}' } }], cacheTo: [registryCache], tags: ['t'] };

  it('fills the placeholder and gives gha entries the runner cache service, keeping the other settings', () => {
    expect(withDaemonCache(settings, env)).toEqual({
      platforms: ['linux/amd64'],
      cacheFrom: [{ type: 'gha', attrs: { scope: 'app-linux-amd64', url: 'https://cache.example/', url_v2: 'https://results.example/', token: 'tok' } }],
      cacheTo: [{ type: 'registry', attrs: { ref: 'reg.example/app:cache-linux-amd64', mode: 'max' } }],
      tags: ['t'],
    });
  });

  it('without the cache service, only fills the placeholder', () => {
    const filled = withPlatformCache(settings);
    expect(filled.cacheFrom).toEqual([{ type: 'gha', attrs: { scope: 'app-linux-amd64' } }]);
    expect(filled.tags).toEqual(['t']);
  });
});
