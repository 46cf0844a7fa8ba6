// The GitHub releases API, for the two things the installers need from it:
// which tag `latest` is, and the sha256 GitHub computed for each asset when it
// was uploaded. That digest is served by api.github.com, not by the download
// host (a mirror, or GitHub's release storage), so it can vouch for a file
// that came from somewhere else.
import { abortable, anySignal, sleep, throwIfCancelled } from './cancel.js';
import { requireSecureUrl } from './verify.js';

export const DEFAULT_GITHUB_API_URL = 'https://api.github.com';

/** The parts of a GitHub release we use. */
export interface ReleaseInfo {
  readonly tag: string;
  readonly assets: ReadonlyArray<{ readonly name: string; readonly digest?: string }>;
}

export interface ReleaseApiOptions {
  /** GitHub REST API root; default https://api.github.com. */
  readonly apiBaseUrl?: string;
  /** Token for the releases API (raises the rate limit). Sent to the API only. */
  readonly githubToken?: string;
  /** Waits between attempts; its length is the number of retries. */
  readonly apiRetryDelaysMs?: readonly number[];
  /** The job's cancel: the call and the waits between attempts end at once (CancelledError). */
  readonly signal?: AbortSignal;
}

/** GET /repos/<repo>/releases/latest or /releases/tags/<tag>, with retries on network errors, 5xx and 429. */
export async function fetchGithubRelease(repo: string, tag: string, options: ReleaseApiOptions = {}): Promise<ReleaseInfo> {
  const base = (options.apiBaseUrl ?? DEFAULT_GITHUB_API_URL).replace(/\/+$/, '');
  const url = tag === 'latest' ? `${base}/repos/${repo}/releases/latest` : `${base}/repos/${repo}/releases/tags/${encodeURIComponent(tag)}`;
  // The answer decides which digest is trusted: never over plain http.
  requireSecureUrl(url, 'the GitHub releases API');
  const headers: Record<string, string> = {
    accept: 'application/vnd.github+json',
    'x-github-api-version': '2022-11-28',
    'user-agent': 'envd-remote-build',
  };
  if (options.githubToken) headers['authorization'] = `Bearer ${options.githubToken}`;

  const delays = options.apiRetryDelaysMs ?? [1000, 4000];
  const { signal } = options;
  const what = `asking ${url}`;
  let lastError = '';
  for (let attempt = 0; attempt <= delays.length; attempt++) {
    if (attempt > 0) await sleep(delays[attempt - 1]!, signal, what);
    let res: Response;
    try {
      res = await fetch(url, { headers, signal: anySignal(AbortSignal.timeout(30_000), signal) });
    } catch (err) {
      throwIfCancelled(signal, what);
      lastError = errorText(err);
      continue;
    }
    if (res.status === 404) {
      throw new Error(`${repo} has no release ${tag === 'latest' ? 'marked latest' : tag} (${url} answered 404)`);
    }
    if (res.status >= 500 || res.status === 429 || (res.status === 403 && res.headers.get('x-ratelimit-remaining') === '0')) {
      lastError = `HTTP ${res.status}`;
      continue;
    }
    if (!res.ok) throw new Error(`${url} answered HTTP ${res.status}`);
    return parseRelease(await abortable(res.json(), signal, what), url);
  }
  throw new Error(`${url} failed after ${delays.length + 1} attempts: ${lastError}`);
}

function parseRelease(body: unknown, url: string): ReleaseInfo {
  const obj = body as { tag_name?: unknown; assets?: unknown };
  if (typeof obj?.tag_name !== 'string') throw new Error(`${url} returned no tag_name`);
  const assets = Array.isArray(obj.assets) ? obj.assets : [];
  return {
    tag: obj.tag_name,
    assets: assets
      .filter((a): a is { name: string; digest?: unknown } => typeof (a as { name?: unknown })?.name === 'string')
      .map((a) => (typeof a.digest === 'string' ? { name: a.name, digest: a.digest } : { name: a.name })),
  };
}

/**
 * The hex sha256 the release reports for `asset`, or why there is none (GitHub
 * reports no digest for assets uploaded before June 2025).
 */
export function assetSha256(release: ReleaseInfo, asset: string): { readonly sha256: string } | { readonly missing: string } {
  const entry = release.assets.find((a) => a.name === asset);
  if (!entry) return { missing: `release ${release.tag} has no asset ${asset}` };
  const m = entry.digest ? /^sha256:([0-9a-f]{64})$/i.exec(entry.digest) : null;
  if (!m) return { missing: `release ${release.tag} reports no sha256 digest for ${asset}` };
  return { sha256: m[1]!.toLowerCase() };
}

function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]!.trim();
}
