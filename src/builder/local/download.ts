// Getting buildkitd (and rootlesskit) onto the runner: a matching buildkitd
// already on PATH, else the release archive from the runner's tool cache, our
// @actions/cache entry or the release page. Whatever its origin, the archive is
// copied into a private directory and hashed against a trusted digest (pinned in
// src/common/pins.ts, else the GitHub releases API's) before it is unpacked
// there and run: cache entries can be written by other workflows, so a cached
// copy is never trusted for having been verified once.
import * as cache from '@actions/cache';
import * as tc from '@actions/tool-cache';
import { execSimple } from '../../common/exec.js';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as runner from '../../github/runner.js';
import { findExecutable } from './preflight.js';
import { sha256File } from '../../common/files.js';
import { DEFAULT_BUILDKIT_VERSION, DEFAULT_ROOTLESSKIT_VERSION, pinnedSha256For } from '../../common/pins.js';
import { assetSha256, fetchGithubRelease, type ReleaseApiOptions, type ReleaseInfo } from '../../common/releases.js';
import { abortable, throwIfCancelled } from '../../common/cancel.js';
import { ALLOW_UNVERIFIED_INPUT, copyVerified, privateDir, requireSecureUrl } from '../../common/verify.js';

export { DEFAULT_BUILDKIT_VERSION, DEFAULT_ROOTLESSKIT_VERSION, PINNED_SHA256 } from '../../common/pins.js';
export { DEFAULT_GITHUB_API_URL, type ReleaseInfo } from '../../common/releases.js';
export const DEFAULT_BUILDKIT_DOWNLOAD_URL = 'https://github.com/moby/buildkit/releases/download';
export const DEFAULT_ROOTLESSKIT_DOWNLOAD_URL = 'https://github.com/rootless-containers/rootlesskit/releases/download';

export type Tool = 'buildkit' | 'rootlesskit';

const REPOS: Readonly<Record<Tool, string>> = {
  buildkit: 'moby/buildkit',
  rootlesskit: 'rootless-containers/rootlesskit',
};

const DEFAULT_VERSIONS: Readonly<Record<Tool, string>> = {
  buildkit: DEFAULT_BUILDKIT_VERSION,
  rootlesskit: DEFAULT_ROOTLESSKIT_VERSION,
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
  return pinnedSha256For(asset.tool, asset.tag, asset.name);
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
  /** A cached copy failed its hash check: worth an annotation even though the job goes on. */
  error(message: string): void;
  debug(message: string): void;
}

export interface DownloadOptions extends ReleaseApiOptions {
  /** @actions/cache, or a stand-in; `null` disables cross-run caching. */
  readonly actionsCache?: ActionsCacheLike | null;
  readonly log?: Logger;
  /** Directories searched for an existing buildkitd; default: PATH. */
  readonly searchPath?: readonly string[];
  readonly arch?: RunnerArch;
  /**
   * `allow-unverified-downloads`: when neither a pinned digest nor the releases
   * API vouches for the archive, download and run it anyway (with a warning)
   * instead of failing. Caches are then neither read nor written.
   */
  readonly allowUnverified?: boolean;
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

const defaultLog: Logger = { info: runner.info, warning: (m) => runner.warning(m), error: (m) => runner.error(m), debug: runner.debug };

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
  requireSecureUrl(asset.url, `${asset.tool} download URL`);
  throwIfCancelled(signal, what);
  // Every path ends here: unpack the checked archive privately, drop its directory.
  const done = async (archive: string, source: InstalledTool['source']): Promise<InstalledTool> => {
    try {
      return { binDir: await unpackArchive(asset, archive, mainBinary, binDirOf), tag: asset.tag, source };
    } finally {
      await fs.rm(path.dirname(archive), { recursive: true, force: true });
    }
  };

  const trusted = await trustedSha256(asset, release, options);
  if ('missing' in trusted) {
    if (!options.allowUnverified) {
      throw new Error(
        `no trusted sha256 for ${asset.name} (${asset.tool} ${asset.tag}): ${trusted.missing}; ` +
          `use ${asset.tool} ${DEFAULT_VERSIONS[asset.tool]} (pinned), or set ${ALLOW_UNVERIFIED_INPUT}: true to run it unverified`,
      );
    }
    log.warning(`Running ${asset.name} (${asset.tool} ${asset.tag}) unverified because ${ALLOW_UNVERIFIED_INPUT} is true: ${trusted.missing}`);
    log.info(`Downloading ${asset.url}`);
    // Nothing unverified goes into (or comes out of) a cache another job would trust.
    return done(await downloadVerified(asset, null, log, signal), 'download');
  }
  const sha256 = trusted.sha256;

  // An earlier job on this runner kept the archive in the tool cache.
  const fromToolCache = await verifiedFromToolCache(asset, arch, sha256, 'the tool cache', log);
  if (fromToolCache) {
    log.info(`Using ${asset.tool} ${asset.tag} from the tool cache (sha256 verified)`);
    return done(fromToolCache, 'tool-cache');
  }

  // The key carries the digest so a bump of the pin never meets an old entry;
  // it proves nothing (anyone who can write the cache can pick any key).
  const cacheKey = `envd-remote-build-${asset.tool}-archive-${asset.tag}-linux-${arch.node}-${sha256.slice(0, 16)}`;
  const cachePaths = toolCachePaths(asset.tool, asset.tag, arch.node);
  const actionsCache = options.actionsCache === undefined ? cache : options.actionsCache;
  if (actionsCache && safeAvailable(actionsCache)) {
    let restored: string | undefined;
    try {
      // The entry lands in the tool cache paths and goes through the same check as a tool-cache hit.
      if (await abortable(actionsCache.restoreCache([...cachePaths], cacheKey), signal, what)) {
        restored = await verifiedFromToolCache(asset, arch, sha256, `the Actions cache (${cacheKey})`, log);
      }
    } catch (err) {
      throwIfCancelled(signal, what);
      log.warning(`Could not restore ${asset.tool} from the Actions cache (downloading instead): ${errorText(err)}`);
    }
    if (restored) {
      log.info(`Restored ${asset.tool} ${asset.tag} from the Actions cache (sha256 verified)`);
      return done(restored, 'actions-cache');
    }
  }

  log.info(`Downloading ${asset.url}`);
  const archive = await downloadVerified(asset, sha256, log, signal);
  throwIfCancelled(signal, what);
  try {
    // Replaces whatever the tool cache held (tc.cacheFile clears the version's directory first).
    await tc.cacheFile(archive, asset.name, asset.tool, asset.tag, arch.node);
  } catch (err) {
    log.warning(`Could not keep ${asset.name} in the tool cache: ${errorText(err)}`);
    return done(archive, 'download');
  }
  if (actionsCache && safeAvailable(actionsCache)) {
    try {
      await actionsCache.saveCache([...cachePaths], cacheKey);
    } catch (err) {
      // Another job saving the same key first is normal; nothing here should fail the build.
      log.warning(`Could not save ${asset.tool} to the Actions cache: ${errorText(err)}`);
    }
  }
  return done(archive, 'download');
}

/**
 * The pinned digest, else the one GitHub's releases API reports for the asset
 * (from api.github.com, never from the download URL or a cache).
 */
async function trustedSha256(asset: ReleaseAsset, release: ReleaseInfo | undefined, options: DownloadOptions): Promise<{ sha256: string } | { missing: string }> {
  const pinned = pinnedSha256(asset);
  if (pinned) return { sha256: pinned };
  let info = release;
  if (!info) {
    try {
      info = await fetchRelease(asset.tool, asset.tag, options);
    } catch (err) {
      throwIfCancelled(options.signal, `looking up the sha256 of ${asset.name}`);
      return { missing: `it is not pinned in this action and the GitHub releases API gave no answer (${errorText(err)})` };
    }
  }
  const found = assetSha256(info, asset.name);
  return 'sha256' in found ? found : { missing: `it is not pinned in this action and the GitHub releases API of ${REPOS[asset.tool]}: ${found.missing}` };
}

/**
 * The archive kept in the tool cache, copied into a private directory and
 * verified there; undefined (and one line saying why) when it is absent or fails.
 */
async function verifiedFromToolCache(asset: ReleaseAsset, arch: RunnerArch, sha256: string, where: string, log: Logger): Promise<string | undefined> {
  const dir = tc.find(asset.tool, asset.tag, arch.node);
  if (!dir) return undefined;
  const work = await privateDir(`${asset.tool}-archive-`);
  const copy = path.join(work, asset.name);
  const check = await copyVerified(path.join(dir, asset.name), copy, sha256);
  if (check.ok) return copy;
  await fs.rm(work, { recursive: true, force: true });
  const line = `${asset.name} (${asset.tool} ${asset.tag}) from ${where} is not used: ${check.reason}; downloading it again`;
  if (check.tampered) log.error(line);
  else log.info(line);
  return undefined;
}

/** Extracts into a fresh private directory and returns the directory holding the binaries. */
async function unpackArchive(asset: ReleaseAsset, archive: string, mainBinary: string, binDirOf: (extracted: string) => string): Promise<string> {
  const dest = await privateDir(`${asset.tool}-${asset.tag}-`);
  try {
    await tc.extractTar(archive, dest);
  } catch (err) {
    await fs.rm(dest, { recursive: true, force: true });
    throw new Error(`extracting ${asset.name} failed: ${errorText(err)}`);
  }
  const binDir = binDirOf(dest);
  if (!(await exists(path.join(binDir, mainBinary)))) {
    await fs.rm(dest, { recursive: true, force: true });
    throw new Error(`${asset.name} from ${asset.url} has no ${path.relative(dest, path.join(binDir, mainBinary))}; is it a ${asset.tool} release archive?`);
  }
  return binDir;
}

function safeAvailable(c: ActionsCacheLike): boolean {
  try {
    return c.isFeatureAvailable();
  } catch {
    return false;
  }
}

/** The tool-cache directory (holding the release archive) and its `.complete` marker: tc.find needs both, so both are cached. */
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
 * Downloads into a fresh private directory with tool-cache (which retries 5xx,
 * 408, 429 and network errors three times) and checks the sha256. `null` means
 * the caller chose to run it unverified. A mismatching file is deleted, with
 * its directory, before we throw. The caller removes the returned file's directory.
 */
export async function downloadVerified(asset: ReleaseAsset, expectedSha256: string | null, log: Logger = defaultLog, signal?: AbortSignal): Promise<string> {
  requireSecureUrl(asset.url, `${asset.tool} download URL`);
  const dir = await privateDir(`${asset.tool}-download-`);
  const dest = path.join(dir, asset.name);
  try {
    // tool-cache takes no signal: a cancel stops the wait, and the half file's private directory is removed.
    await abortable(tc.downloadTool(asset.url, dest), signal, `downloading ${asset.url}`);
  } catch (err) {
    await fs.rm(dir, { recursive: true, force: true });
    throwIfCancelled(signal, `downloading ${asset.url}`);
    const status = httpStatus(err);
    if (status === 404) {
      throw new Error(`${asset.tool} ${asset.tag}: ${asset.name} not found at ${asset.url} (HTTP 404); check the version and the download URL`);
    }
    throw new Error(`downloading ${asset.url} failed${status ? ` (HTTP ${status})` : ''}: ${errorText(err)}`);
  }
  if (expectedSha256 === null) return dest;
  const actual = await sha256File(dest);
  if (actual !== expectedSha256.toLowerCase()) {
    await fs.rm(dir, { recursive: true, force: true });
    throw new Error(`sha256 mismatch for ${asset.name} from ${asset.url}: expected ${expectedSha256}, got ${actual}; the download was deleted`);
  }
  log.debug(`sha256 of ${asset.name} verified: ${actual}`);
  return dest;
}

function httpStatus(err: unknown): number | undefined {
  if (err instanceof tc.HTTPError) return err.httpStatusCode;
  const code = (err as { httpStatusCode?: unknown } | null)?.httpStatusCode;
  return typeof code === 'number' ? code : undefined;
}

/** GET /repos/<repo>/releases/latest or /releases/tags/<tag> of the tool's GitHub repository. */
export function fetchRelease(tool: Tool, tag: string, options: ReleaseApiOptions = {}): Promise<ReleaseInfo> {
  return fetchGithubRelease(REPOS[tool], tag, options);
}

/** A buildkitd on PATH and the version it reports, if any. */
export async function buildkitdOnPath(searchPath?: readonly string[]): Promise<{ path: string; tag?: string } | undefined> {
  const found = await findExecutable('buildkitd', searchPath ?? pathDirs());
  if (!found) return undefined;
  const output = await execSimple(found, ['--version'], { timeoutMs: 10_000 }).catch(() => '');
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
