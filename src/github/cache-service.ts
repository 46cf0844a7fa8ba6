// The runner's cache service, for `type=gha` cache entries: BuildKit's gha
// cache talks to it with the URLs and token the runner gives the job's
// processes (ACTIONS_CACHE_URL, ACTIONS_RESULTS_URL, ACTIONS_RUNTIME_TOKEN).
// Attributes the user set explicitly win. Only the request sent to the daemon
// carries the token, never the validated inputs, which may be logged.

/** A cache entry as BuildKit takes it (`type` plus attributes). */
export interface CacheEntryLike {
  readonly type: string;
  readonly attrs: Readonly<Record<string, string>>;
}

export function withRunnerCacheService(entries: readonly CacheEntryLike[], env: NodeJS.ProcessEnv = process.env): CacheEntryLike[] {
  return entries.map((e) => {
    if (e.type !== 'gha') return e;
    const attrs: Record<string, string> = { ...e.attrs };
    if (!attrs.url && env.ACTIONS_CACHE_URL) attrs.url = env.ACTIONS_CACHE_URL;
    if (!attrs.url_v2 && env.ACTIONS_RESULTS_URL) attrs.url_v2 = env.ACTIONS_RESULTS_URL;
    if (!attrs.token && env.ACTIONS_RUNTIME_TOKEN) attrs.token = env.ACTIONS_RUNTIME_TOKEN;
    return { type: e.type, attrs };
  });
}
