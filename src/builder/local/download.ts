// Getting buildkitd (and rootlesskit) onto the runner: a matching buildkitd
// already on PATH, else the runner's tool cache, else our @actions/cache entry,
// else a download from the release page, checked against a sha256 before use.
import * as cache from '@actions/cache';
import * as tc from '@actions/tool-cache';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as runner from '../../action/runner.js';
import { findExecutable } from './preflight.js';
import { sha256File } from '../../common/files.js';
import { abortable, anySignal, sleep as cancellableSleep, throwIfCancelled } from '../../common/cancel.js';

export const DEFAULT_BUILDKIT_VERSION = 'v0.24.0';
export const DEFAULT_BUILDKIT_DOWNLOAD_URL = 'https://github.com/moby/buildkit/releases/download';
export const DEFAULT_ROOTLESSKIT_VERSION = 'v2.3.5';
export const DEFAULT_ROOTLESSKIT_DOWNLOAD_URL = 'https://github.com/rootless-containers/rootlesskit/releases/download';
export const DEFAULT_GITHUB_API_URL = 'https://api.github.com';

/**
 * Known-good sha256 of release assets, keyed `<tool>/<tag>/<asset>`. The only
 * place digests live. The default versions must always have entries here, so the
 * default path never depends on the releases API.
 *
 * Sources (we could not reach GitHub from the development machine):
 * - buildkit v0.24.0: containerd/nerdctl Dockerfile.d/SHA256SUMS.d/buildkit-v0.24.0
 *   (nerdctl's build checks downloads against it); amd64 also matches an independent script.
 * - rootlesskit v2.3.5: identical in a Bazel http_archive (which enforces it) and a Homebrew formula.
 * TODO(release): when bumping a default version, add its digests from the release's
 * SHA256SUMS / the releases API `digest` field, and re-verify these on a machine with internet.
 */
export const PINNED_SHA256: Readonly<Record<string, string>> = {
  'buildkit/v0.24.0/buildkit-v0.24.0.linux-amd64.tar.gz': 'af8064eca16077b4d6937745988ba2d2dfa439540874cdcd918318315f3ba1d3',
  'buildkit/v0.24.0/buildkit-v0.24.0.linux-arm64.tar.gz': '38dc4433d220bb43c198df2070e49d5dde5ed44ee31fb80d6b13722eec21d4ea',
  'rootlesskit/v2.3.5/rootlesskit-x86_64.tar.gz': '118208e25becd144ee7317c172fc9decce7b16174d5c1bbf80f1d1d0eacc6b5f',
  'rootlesskit/v2.3.5/rootlesskit-aarch64.tar.gz': '478c14c3195bf989cd9a8e6bd129d227d5d88f1c11418967ffdc84a0072cc7a2',
};

export type Tool = 'buildkit' | 'rootlesskit';

const REPOS: Readonly<Record<Tool, string>> = {
  buildkit: 'moby/buildkit',
  rootlesskit: 'rootless-containers/rootlesskit',
};

export interface RunnerArch {
  /** As Node and the tool cache spell it. */
  readonly node: 'x64' | 'arm64';
  /** As BuildKit release assets spell it. */
  readonly buildkit: 'amd64' | 'arm64';
  /** As RootlessKit release assets spell it. */
  readonly rootlesskit: 'x86_64' | 'aarch64';
}

export function runnerArch(arch: string = process.arch): RunnerArch {
  if (arch === 'x64') return { node: 'x64', buildkit: 'amd64', rootlesskit: 'x86_64' };
  if (arch === 'arm64') return { node: 'arm64', buildkit: 'arm64', rootlesskit: 'aarch64' };
  throw new Error(`a local BuildKit daemon needs an x64 or arm64 Linux runner; this one is ${process.platform}/${arch}`);
}

export interface ReleaseAsset {
  readonly tool: Tool;
  /** Release tag, with the leading v. */
  readonly tag: string;
  readonly name: string;
  readonly url: string;
}

/** `0.24.0` and `v0.24.0` both mean the tag `v0.24.0`; `latest` stays as is. */
export function normalizeTag(version: string): string {
  const v = version.trim();
  if (!v || v === 'latest') return 'latest';
  return v.startsWith('v') ? v : `v${v}`;
}

function joinUrl(base: string, ...parts: string[]): string {
  return [base.replace(/\/+$/, ''), ...parts.map((p) => encodeURIComponent(p))].join('/');
}

/** `<base>/<tag>/buildkit-<tag>.linux-<arch>.tar.gz` */
export function buildkitAsset(tag: string, baseUrl: string = DEFAULT_BUILDKIT_DOWNLOAD_URL, arch: RunnerArch = runnerArch()): ReleaseAsset {
  const name = `buildkit-${tag}.linux-${arch.buildkit}.tar.gz`;
  return { tool: 'buildkit', tag, name, url: joinUrl(baseUrl || DEFAULT_BUILDKIT_DOWNLOAD_URL, tag, name) };
}

/** `<base>/<tag>/rootlesskit-<arch>.tar.gz` */
export function rootlesskitAsset(tag: string, baseUrl: string = DEFAULT_ROOTLESSKIT_DOWNLOAD_URL, arch: RunnerArch = runnerArch()): ReleaseAsset {
  const name = `rootlesskit-${arch.rootlesskit}.tar.gz`;
  return { tool: 'rootlesskit', tag, name, url: joinUrl(baseUrl || DEFAULT_ROOTLESSKIT_DOWNLOAD_URL, tag, name) };
}

export function pinnedSha256(asset: ReleaseAsset): string | undefined {
  return PINNED_SHA256[`${asset.tool}/${asset.tag}/${asset.name}`];
}

/** The parts of a GitHub release we use. */
export interface ReleaseInfo {
  readonly tag: string;
  readonly assets: ReadonlyArray<{ readonly name: string; readonly digest?: string }>;
}

/** Output of `buildkitd --version`: `buildkitd github.com/moby/buildkit v0.11.6 <rev>` → `v0.11.6`. */
export function parseBuildkitdVersion(output: string): string | undefined {
  const m = /^buildkitd\s+\S+\s+(v?\d+\.\d+\.\d+\S*)/m.exec(output.trim());
  return m ? normalizeTag(m[1]!) : undefined;
}

export interface ActionsCacheLike {
  isFeatureAvailable(): boolean;
  restoreCache(paths: string[], primaryKey: string): Promise<string | undefined>;
  saveCache(paths: string[], key: string): Promise<number>;
}

export interface Logger {
  info(message: string): void;
  warning(message: string): void;
  debug(message: string): void;
}

export interface DownloadOptions {
  /** GitHub REST API root for `latest` and for digests of unpinned versions. */
  readonly apiBaseUrl?: string;
  /** Token for the releases API (raises the rate limit). Never sent to download URLs. */
  readonly githubToken?: string;
  /** Waits between API attempts; its length is the number of retries. */
  readonly apiRetryDelaysMs?: readonly number[];
  /** @actions/cache, or a stand-in; `null` disables cross-run caching. */
  readonly actionsCache?: ActionsCacheLike | null;
  readonly log?: Logger;
  /** Directories searched for an existing buildkitd; default: PATH. */
  readonly searchPath?: readonly string[];
  readonly arch?: RunnerArch;
  /** The job's cancel: API calls, cache restores and downloads end at once (CancelledError). */
  readonly signal?: AbortSignal;
}

export interface InstallBuildkitOptions extends DownloadOptions {
  /** `v0.24.0`, `0.24.0` or `latest`. */
  readonly version?: string;
  /** Base URL holding `<tag>/<asset>`; default GitHub releases of moby/buildkit. */
  readonly downloadUrl?: string;
}

export interface InstallRootlesskitOptions extends DownloadOptions {
  readonly version?: string;
  readonly downloadUrl?: string;
}

export interface InstalledTool {
  /** Directory holding the binaries (buildkitd, buildctl, buildkit-runc / rootlesskit). */
  readonly binDir: string;
  readonly tag: string;
  readonly source: 'path' | 'tool-cache' | 'actions-cache' | 'download';
}

const defaultLog: Logger = { info: runner.info, warning: (m) => runner.warning(m), debug: runner.debug };

/** Finds or downloads buildkitd at the requested version. */
export async function installBuildkit(options: InstallBuildkitOptions = {}): Promise<InstalledTool> {
  const log = options.log ?? defaultLog;
  let tag = normalizeTag(options.version ?? DEFAULT_BUILDKIT_VERSION);
  let release: ReleaseInfo | undefined;
  if (tag === 'latest') {
    release = await fetchRelease('buildkit', 'latest', options);
    tag = release.tag;
    log.info(`BuildKit latest is ${tag}`);
  }

  const onPath = await buildkitdOnPath(options.searchPath);
  if (onPath && onPath.tag === tag) {
    log.info(`Using ${onPath.path} (${tag}) from PATH`);
    return { binDir: path.dirname(onPath.path), tag, source: 'path' };
  }
  if (onPath) log.debug(`${onPath.path} is ${onPath.tag ?? 'of unknown version'}, not ${tag}; not using it`);

  const arch = options.arch ?? runnerArch();
  const asset = buildkitAsset(tag, options.downloadUrl, arch);
  return installTool(asset, arch, 'buildkitd', (dir) => path.join(dir, 'bin'), release, options);
}

/** Finds or downloads rootlesskit (a rootlesskit already on PATH is used at any version). */
export async function installRootlesskit(options: InstallRootlesskitOptions = {}): Promise<InstalledTool> {
  const log = options.log ?? defaultLog;
  const existing = await findExecutable('rootlesskit', options.searchPath ?? pathDirs());
  if (existing) {
    log.info(`Using ${existing} from PATH`);
    return { binDir: path.dirname(existing), tag: 'unknown', source: 'path' };
  }
  let tag = normalizeTag(options.version ?? DEFAULT_ROOTLESSKIT_VERSION);
  let release: ReleaseInfo | undefined;
  if (tag === 'latest') {
    release = await fetchRelease('rootlesskit', 'latest', options);
    tag = release.tag;
  }
  const arch = options.arch ?? runnerArch();
  const asset = rootlesskitAsset(tag, options.downloadUrl, arch);
  return installTool(asset, arch, 'rootlesskit', (dir) => dir, release, options);
}

async function installTool(
  asset: ReleaseAsset,
  arch: RunnerArch,
  mainBinary: string,
  binDirOf: (extracted: string) => string,
  release: ReleaseInfo | undefined,
  options: DownloadOptions,
): Promise<InstalledTool> {
  const log = options.log ?? defaultLog;
  const { signal } = options;
  const what = `getting ${asset.tool} ${asset.tag}`;
  requireRunnerDirs();
  throwIfCancelled(signal, what);
  const cached = tc.find(asset.tool, asset.tag, arch.node);
  if (cached) {
    log.info(`Using ${asset.tool} ${asset.tag} from the tool cache`);
    return { binDir: cached, tag: asset.tag, source: 'tool-cache' };
  }

  const expected = pinnedSha256(asset) ?? (await digestFromApi(asset, release, options));
  const cacheKey = `envd-remote-build-${asset.tool}-${asset.tag}-linux-${arch.node}-${(expected ?? 'unverified').slice(0, 16)}`;
  const cachePaths = toolCachePaths(asset.tool, asset.tag, arch.node);
  const actionsCache = options.actionsCache === undefined ? cache : options.actionsCache;

  if (actionsCache && safeAvailable(actionsCache)) {
    try {
      if (await abortable(actionsCache.restoreCache([...cachePaths], cacheKey), signal, what)) {
        const restored = tc.find(asset.tool, asset.tag, arch.node);
        if (restored && (await exists(path.join(restored, mainBinary)))) {
          log.info(`Restored ${asset.tool} ${asset.tag} from the Actions cache`);
          return { binDir: restored, tag: asset.tag, source: 'actions-cache' };
        }
      }
    } catch (err) {
      throwIfCancelled(signal, what);
      log.warning(`Could not restore ${asset.tool} from the Actions cache (downloading instead): ${errorText(err)}`);
    }
  }

  log.info(`Downloading ${asset.url}`);
  const archive = await downloadVerified(asset, expected, log, signal);
  throwIfCancelled(signal, what);
  let extracted: string;
  try {
    extracted = await tc.extractTar(archive);
  } catch (err) {
    throw new Error(`extracting ${asset.name} failed: ${errorText(err)}`);
  } finally {
    await fs.rm(archive, { force: true });
  }
  const binDir = binDirOf(extracted);
  if (!(await exists(path.join(binDir, mainBinary)))) {
    throw new Error(`${asset.name} from ${asset.url} has no ${path.relative(extracted, path.join(binDir, mainBinary))}; is it a ${asset.tool} release archive?`);
  }
  const toolDir = await tc.cacheDir(binDir, asset.tool, asset.tag, arch.node);
  await fs.rm(extracted, { recursive: true, force: true });

  if (actionsCache && safeAvailable(actionsCache)) {
    try {
      await actionsCache.saveCache([...cachePaths], cacheKey);
    } catch (err) {
      // Another job saving the same key first is normal; nothing here should fail the build.
      log.warning(`Could not save ${asset.tool} to the Actions cache: ${errorText(err)}`);
    }
  }
  return { binDir: toolDir, tag: asset.tag, source: 'download' };
}

function safeAvailable(c: ActionsCacheLike): boolean {
  try {
    return c.isFeatureAvailable();
  } catch {
    return false;
  }
}

/** The tool-cache directory and its `.complete` marker: tc.find needs both, so both are cached. */
export function toolCachePaths(tool: Tool, tag: string, nodeArch: string): readonly [string, string] {
  const dir = path.join(process.env['RUNNER_TOOL_CACHE'] ?? '', tool, tag.replace(/^v/, ''), nodeArch);
  return [dir, `${dir}.complete`];
}

function requireRunnerDirs(): void {
  for (const name of ['RUNNER_TEMP', 'RUNNER_TOOL_CACHE']) {
    if (!process.env[name]) throw new Error(`${name} is not set; downloading BuildKit needs a GitHub Actions runner environment`);
  }
}

/**
 * Downloads with tool-cache (which retries 5xx, 408, 429 and network errors
 * three times) and checks the sha256. A mismatching file is deleted before we throw.
 */
export async function downloadVerified(asset: ReleaseAsset, expectedSha256: string | undefined, log: Logger = defaultLog, signal?: AbortSignal): Promise<string> {
  let file: string;
  try {
    // tool-cache takes no signal: a cancel stops the wait; the half file is in RUNNER_TEMP, which the runner removes.
    file = await abortable(tc.downloadTool(asset.url), signal, `downloading ${asset.url}`);
  } catch (err) {
    throwIfCancelled(signal, `downloading ${asset.url}`);
    const status = httpStatus(err);
    if (status === 404) {
      throw new Error(`${asset.tool} ${asset.tag}: ${asset.name} not found at ${asset.url} (HTTP 404); check the version and the download URL`);
    }
    throw new Error(`downloading ${asset.url} failed${status ? ` (HTTP ${status})` : ''}: ${errorText(err)}`);
  }
  if (!expectedSha256) {
    log.warning(`No known sha256 for ${asset.name} ${asset.tag}; using it unverified. Pin a version with a published digest to verify downloads.`);
    return file;
  }
  const actual = await sha256File(file);
  if (actual !== expectedSha256.toLowerCase()) {
    await fs.rm(file, { force: true });
    throw new Error(`sha256 mismatch for ${asset.name} from ${asset.url}: expected ${expectedSha256}, got ${actual}; the download was deleted`);
  }
  log.debug(`sha256 of ${asset.name} verified: ${actual}`);
  return file;
}

function httpStatus(err: unknown): number | undefined {
  if (err instanceof tc.HTTPError) return err.httpStatusCode;
  const code = (err as { httpStatusCode?: unknown } | null)?.httpStatusCode;
  return typeof code === 'number' ? code : undefined;
}

async function digestFromApi(asset: ReleaseAsset, release: ReleaseInfo | undefined, options: DownloadOptions): Promise<string | undefined> {
  const log = options.log ?? defaultLog;
  let info = release;
  if (!info) {
    try {
      info = await fetchRelease(asset.tool, asset.tag, options);
    } catch (err) {
      throwIfCancelled(options.signal, `looking up the sha256 of ${asset.name}`);
      log.warning(`Could not look up the sha256 of ${asset.name} ${asset.tag} in the releases API: ${errorText(err)}`);
      return undefined;
    }
  }
  const digest = info.assets.find((a) => a.name === asset.name)?.digest;
  const m = digest ? /^sha256:([0-9a-f]{64})$/i.exec(digest) : null;
  return m ? m[1]!.toLowerCase() : undefined;
}

/** GET /repos/<repo>/releases/latest or /releases/tags/<tag>, with retries on network errors, 5xx and 429. */
export async function fetchRelease(tool: Tool, tag: string, options: DownloadOptions = {}): Promise<ReleaseInfo> {
  const base = (options.apiBaseUrl ?? DEFAULT_GITHUB_API_URL).replace(/\/+$/, '');
  const repo = REPOS[tool];
  const url = tag === 'latest' ? `${base}/repos/${repo}/releases/latest` : `${base}/repos/${repo}/releases/tags/${encodeURIComponent(tag)}`;
  const headers: Record<string, string> = {
    accept: 'application/vnd.github+json',
    'x-github-api-version': '2022-11-28',
    'user-agent': 'envd-remote-build',
  };
  if (options.githubToken) headers['authorization'] = `Bearer ${options.githubToken}`;

  const delays = options.apiRetryDelaysMs ?? [1000, 4000];
  let lastError = '';
  const what = `asking ${url}`;
  for (let attempt = 0; attempt <= delays.length; attempt++) {
    if (attempt > 0) await cancellableSleep(delays[attempt - 1]!, options.signal, what);
    let res: Response;
    try {
      res = await fetch(url, { headers, signal: anySignal(AbortSignal.timeout(30_000), options.signal) });
    } catch (err) {
      throwIfCancelled(options.signal, what);
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
    return parseRelease(await abortable(res.json(), options.signal, what), url);
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

/** A buildkitd on PATH and the version it reports, if any. */
export async function buildkitdOnPath(searchPath?: readonly string[]): Promise<{ path: string; tag?: string } | undefined> {
  const found = await findExecutable('buildkitd', searchPath ?? pathDirs());
  if (!found) return undefined;
  const output = await new Promise<string>((resolve) => {
    execFile(found, ['--version'], { timeout: 10_000 }, (err, stdout) => resolve(err ? '' : String(stdout)));
  });
  const tag = parseBuildkitdVersion(output);
  return tag ? { path: found, tag } : { path: found };
}

function pathDirs(): string[] {
  return (process.env['PATH'] ?? '').split(path.delimiter).filter(Boolean);
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0]!.trim();
}
