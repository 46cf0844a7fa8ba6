// Puts a verified envd binary on the runner and returns its path.
//
// Order of preference (cheapest first): the runner's tool cache, an `envd` on
// PATH that reports the wanted version, the Actions cache (a previous run's
// download), and finally a download from the GitHub release, checked against
// the release's checksums.txt. Nothing is added to PATH: callers run the
// returned absolute path, so another envd on PATH can never be picked up by
// accident.
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as cache from '@actions/cache';
import * as io from '@actions/io';
import * as tc from '@actions/tool-cache';
import * as runner from '../action/runner.js';
import { runCommand, describeExit } from './proc.js';
import { sha256File } from '../common/files.js';
import { abortable, anySignal, sleep as cancellableSleep, throwIfCancelled } from '../common/cancel.js';

/** The envd release used when the `envd-version` input is empty. */
export const DEFAULT_ENVD_VERSION = 'v1.3.4';
export const DEFAULT_ENVD_DOWNLOAD_BASE_URL = 'https://github.com/tensorchord/envd/releases/download';
export const DEFAULT_ENVD_LATEST_RELEASE_API = 'https://api.github.com/repos/tensorchord/envd/releases/latest';

/**
 * Oldest release we can install. Before v0.3.33 the release asset names were
 * broken or version-less (goreleaser template bugs); from v0.3.33 on, every
 * flag and env var this action uses exists (checked in envd's git history).
 */
const MIN_VERSION: SemVer = { major: 0, minor: 3, patch: 33, pre: '' };
/** envd v1.3.1 switched asset names from `envd_1.2.6_Linux_x86_64` to `envd_1.3.1_linux_amd64`. */
const LOWERCASE_ASSETS_SINCE: SemVer = { major: 1, minor: 3, patch: 1, pre: '' };

const TOOL_NAME = 'envd';
/** Bump to invalidate every Actions-cache entry written by older code. */
const CACHE_KEY_PREFIX = 'envd-remote-build-envd-bin-v1';
const VERSION_PROBE_TIMEOUT_MS = 30_000;

export interface InstallEnvdOptions {
  /** Release download base; `<base>/<tag>/<asset>` and `<base>/<tag>/checksums.txt`. */
  readonly downloadBaseUrl?: string;
  /** GitHub API endpoint answering with the latest release (for `latest`). */
  readonly latestReleaseApiUrl?: string;
  /** Token for the releases API only (rate limits); defaults to $GITHUB_TOKEN. Never sent to downloadBaseUrl. */
  readonly githubToken?: string;
  /** Accept an `envd` found on PATH when it reports the wanted version (default true). */
  readonly usePath?: boolean;
  /** Save/restore the binary with the Actions cache (default true). */
  readonly useActionsCache?: boolean;
  /** For tests: pretend to be another OS/CPU (Node names: linux|darwin, x64|arm64). */
  readonly platform?: NodeJS.Platform;
  readonly arch?: string;
  /** The job's cancel: API calls, cache restores and downloads end at once (CancelledError). */
  readonly signal?: AbortSignal;
}

interface SemVer {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  readonly pre: string;
}

function parseSemVer(v: string): SemVer | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?$/.exec(v.trim());
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), pre: m[4] ?? '' };
}

/** Semver order, good enough for envd's tags (a pre-release sorts before its release). */
function compareSemVer(a: SemVer, b: SemVer): number {
  for (const k of ['major', 'minor', 'patch'] as const) {
    if (a[k] !== b[k]) return a[k] - b[k];
  }
  if (a.pre === b.pre) return 0;
  if (a.pre === '') return 1;
  if (b.pre === '') return -1;
  return a.pre < b.pre ? -1 : 1;
}

/**
 * `1.3.4` / `v1.3.4` → `v1.3.4` (envd's git tags carry the `v`). Rejects
 * anything else, including ranges: the version decides the asset name and the
 * checksum we trust, so it must be exact.
 */
export function normalizeEnvdVersion(version: string): string {
  const v = parseSemVer(version);
  if (!v) {
    throw new Error(`envd-version "${version}" is not a release version like ${DEFAULT_ENVD_VERSION} (or "latest")`);
  }
  if (compareSemVer(v, MIN_VERSION) < 0) {
    throw new Error(`envd-version "${version}" is too old: this action supports envd v0.3.33 and later`);
  }
  return `v${v.major}.${v.minor}.${v.patch}${v.pre ? `-${v.pre}` : ''}`;
}

/**
 * Name of the envd binary asset of a release, as goreleaser names it:
 * `{{.Binary}}_{{.Version}}_...` where .Version is the tag without `v`.
 * - since v1.3.1: `envd_1.3.4_linux_amd64`, `envd_1.3.4_linux_arm64`
 * - before:       `envd_1.2.6_Linux_x86_64`, `envd_1.2.6_Linux_arm64`
 */
export function envdAssetName(version: string, platform: NodeJS.Platform = process.platform, arch: string = process.arch): string {
  const tag = normalizeEnvdVersion(version);
  const v = parseSemVer(tag) as SemVer;
  const lower = compareSemVer(v, LOWERCASE_ASSETS_SINCE) >= 0;
  let osName: string;
  switch (platform) {
    case 'linux':
      osName = lower ? 'linux' : 'Linux';
      break;
    case 'darwin':
      osName = lower ? 'darwin' : 'Darwin';
      break;
    default:
      throw new Error(`envd publishes binaries for Linux and macOS only, not for ${platform}`);
  }
  let archName: string;
  switch (arch) {
    case 'x64':
      archName = lower ? 'amd64' : 'x86_64';
      break;
    case 'arm64':
      archName = 'arm64';
      break;
    default:
      throw new Error(`envd publishes binaries for x64 and arm64 only, not for ${arch}`);
  }
  return `envd_${tag.slice(1)}_${osName}_${archName}`;
}

/**
 * Parses goreleaser's checksums.txt (`<sha256>  <file>` per line, as written
 * by sha256sum; a `*` before the name marks binary mode and is ignored).
 */
export function parseChecksums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const m = /^([0-9a-fA-F]{64})\s+\*?(.+?)\s*$/.exec(raw.trim());
    if (m?.[1] && m[2]) sums.set(m[2], m[1].toLowerCase());
  }
  return sums;
}

/** `envd version --short` prints `envd: v1.3.4` (envd pkg/app/formatter/table/version.go). */
export function parseEnvdVersionOutput(stdout: string): string | undefined {
  const m = /^envd:\s*(\S+)\s*$/m.exec(stdout);
  return m?.[1];
}

/** Resolves `latest` through the GitHub releases API; other values are normalised. */
export async function resolveEnvdVersion(version: string, opts: InstallEnvdOptions = {}): Promise<string> {
  const wanted = version.trim();
  if (wanted === '') return DEFAULT_ENVD_VERSION;
  if (wanted.toLowerCase() !== 'latest') return normalizeEnvdVersion(wanted);

  const url = opts.latestReleaseApiUrl ?? DEFAULT_ENVD_LATEST_RELEASE_API;
  const token = opts.githubToken ?? process.env['GITHUB_TOKEN'] ?? '';
  const headers: Record<string, string> = {
    Accept: 'application/vnd.github+json',
    'X-GitHub-Api-Version': '2022-11-28',
    'User-Agent': 'envd-remote-build',
  };
  // Unauthenticated calls share a 60/hour limit per runner IP, which hosted
  // runners exhaust quickly; the token only goes to the API, never elsewhere.
  if (token) headers['Authorization'] = `Bearer ${token}`;

  let lastError = '';
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      const res = await fetch(url, { headers, signal: anySignal(AbortSignal.timeout(30_000), opts.signal) });
      if (res.ok) {
        const body = (await res.json()) as { tag_name?: unknown };
        const tag = typeof body.tag_name === 'string' ? body.tag_name : '';
        runner.info(`envd-version latest resolves to ${tag || '(nothing)'}`);
        return normalizeEnvdVersion(tag);
      }
      lastError = `HTTP ${res.status}`;
      // 403/429 are rate limits: retrying within seconds will not help.
      if (res.status < 500) break;
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('envd-version')) throw err;
      throwIfCancelled(opts.signal, 'resolving envd-version latest');
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (attempt < 3) await cancellableSleep(1000 * attempt, opts.signal, 'resolving envd-version latest');
  }
  throw new Error(
    `could not resolve envd-version "latest" from ${url}: ${lastError}` +
      (token ? '' : ' (no GITHUB_TOKEN set; pin envd-version or pass a token to avoid API rate limits)'),
  );
}

/**
 * Installs envd and returns the absolute path of the `envd` binary.
 * `version` is the `envd-version` input: `v1.3.4`, `1.3.4`, `latest` or '' (default).
 */
export async function installEnvd(version: string, opts: InstallEnvdOptions = {}): Promise<string> {
  const platform = opts.platform ?? process.platform;
  const arch = opts.arch ?? process.arch;
  const tag = await resolveEnvdVersion(version, opts);
  const asset = envdAssetName(tag, platform, arch);
  const toolVersion = tag.slice(1);
  const { signal } = opts;
  const what = `installing envd ${tag}`;
  throwIfCancelled(signal, what);

  // 1. This runner already has it (earlier step or job on a self-hosted runner).
  if (process.env['RUNNER_TOOL_CACHE']) {
    const dir = tc.find(TOOL_NAME, toolVersion, arch);
    const bin = dir ? path.join(dir, 'envd') : '';
    if (bin && (await isExecutableFile(bin))) {
      runner.info(`Using envd ${tag} from the tool cache: ${bin}`);
      return bin;
    }
  }

  // 2. A preinstalled envd of exactly this version.
  if (opts.usePath !== false) {
    const onPath = await io.which('envd', false);
    if (onPath) {
      const found = await probeEnvdVersion(onPath, signal);
      throwIfCancelled(signal, what);
      if (found === tag) {
        runner.info(`Using envd ${tag} found on PATH: ${onPath}`);
        return onPath;
      }
      runner.info(`envd on PATH (${onPath}) reports ${found ?? 'an unknown version'}, not ${tag}; installing ${tag}`);
    }
  }

  // 3./4. Actions cache, else download and verify. The staging directory path
  // is the Actions cache "path", so it must be the same string on every run.
  const staging = path.join(tempBase(), 'envd-remote-build', `envd-${tag}-${platform}-${arch}`);
  const key = `${CACHE_KEY_PREFIX}-${tag}-${platform}-${arch}`;
  const useCache = opts.useActionsCache !== false;
  await fs.rm(staging, { recursive: true, force: true });
  await fs.mkdir(staging, { recursive: true });

  const restored = useCache && (await restoreFromActionsCache(staging, key, asset, signal));
  throwIfCancelled(signal, what);
  if (!restored) {
    await fs.rm(staging, { recursive: true, force: true });
    await fs.mkdir(staging, { recursive: true });
    await downloadVerified(tag, asset, staging, opts.downloadBaseUrl ?? DEFAULT_ENVD_DOWNLOAD_BASE_URL, signal);
  }
  const stagedBin = path.join(staging, 'envd');
  await fs.chmod(stagedBin, 0o755);

  let bin = stagedBin;
  if (process.env['RUNNER_TOOL_CACHE']) {
    const dir = await tc.cacheFile(stagedBin, 'envd', TOOL_NAME, toolVersion, arch);
    bin = path.join(dir, 'envd');
    // io.cp keeps the mode on Linux, but say it explicitly: a non-executable
    // cached copy would poison every later lookup on a self-hosted runner.
    await fs.chmod(bin, 0o755);
  }

  if (useCache && !restored) await saveToActionsCache(staging, key);
  runner.info(`Installed envd ${tag} at ${bin}`);
  return bin;
}

function tempBase(): string {
  return process.env['RUNNER_TEMP'] || os.tmpdir();
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    const st = await fs.stat(file);
    if (!st.isFile()) return false;
    await fs.access(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `envd version --short` under a throwaway HOME: every envd command first
 * initialises ~/.config/envd (and generates an SSH key pair there), which must
 * not land in the runner user's real home.
 */
async function probeEnvdVersion(bin: string, signal?: AbortSignal): Promise<string | undefined> {
  const home = await fs.mkdtemp(path.join(tempBase(), 'envd-version-probe-'));
  try {
    const r = await runCommand(bin, ['version', '--short'], {
      env: { ...process.env, HOME: home, ENVD_ANALYTICS: 'false' },
      timeoutMs: VERSION_PROBE_TIMEOUT_MS,
      captureStdout: true,
      tailLines: 5,
      ...(signal ? { signal } : {}),
    });
    if (r.code !== 0) {
      runner.debug(`${bin} version --short: ${describeExit(r, VERSION_PROBE_TIMEOUT_MS)}: ${r.tail.join(' | ')}`);
      return undefined;
    }
    const reported = parseEnvdVersionOutput(r.stdout);
    // Compared verbatim with the tag: dev builds report e.g. v1.3.4+abc1234,
    // which is deliberately no match.
    return reported && !reported.startsWith('v') ? `v${reported}` : reported;
  } finally {
    await fs.rm(home, { recursive: true, force: true });
  }
}

async function restoreFromActionsCache(staging: string, key: string, asset: string, signal?: AbortSignal): Promise<boolean> {
  if (!cache.isFeatureAvailable()) {
    runner.debug('Actions cache service not available; not restoring envd from it');
    return false;
  }
  try {
    const hit = await abortable(cache.restoreCache([staging], key), signal, 'restoring envd from the Actions cache');
    if (!hit) return false;
    // The entry carries the digest we verified against checksums.txt when it
    // was saved; re-check it so a truncated or altered restore is not run.
    const recorded = parseChecksums(await fs.readFile(path.join(staging, 'envd.sha256'), 'utf8')).get(asset);
    const actual = await sha256File(path.join(staging, 'envd'));
    if (!recorded || recorded !== actual) {
      runner.warning(`envd restored from the Actions cache (${key}) does not match its recorded sha256; downloading instead`);
      return false;
    }
    runner.info(`Restored envd from the Actions cache (${key})`);
    return true;
  } catch (err) {
    throwIfCancelled(signal, 'restoring envd from the Actions cache');
    runner.warning(`Could not restore envd from the Actions cache, downloading instead: ${errorText(err)}`);
    return false;
  }
}

async function saveToActionsCache(staging: string, key: string): Promise<void> {
  if (!cache.isFeatureAvailable()) return;
  try {
    await cache.saveCache([staging], key);
  } catch (err) {
    // Another job saving the same key at once is normal, not worth a warning.
    if (err instanceof cache.ReserveCacheError) {
      runner.info(`envd is already being cached by another job: ${errorText(err)}`);
      return;
    }
    runner.warning(`Could not save envd to the Actions cache (the build goes on): ${errorText(err)}`);
  }
}

/** Downloads checksums.txt and the binary into `dir`, leaving `dir/envd` and `dir/envd.sha256`. */
async function downloadVerified(tag: string, asset: string, dir: string, baseUrl: string, signal?: AbortSignal): Promise<void> {
  const base = `${baseUrl.replace(/\/+$/, '')}/${encodeURIComponent(tag)}`;
  const sumsUrl = `${base}/checksums.txt`;
  const binUrl = `${base}/${encodeURIComponent(asset)}`;

  // checksums.txt first: it is small, and a wrong version fails here quickly.
  const sumsFile = await download(sumsUrl, path.join(dir, 'checksums.txt'), `checksums.txt of envd ${tag}`, signal);
  const expected = parseChecksums(await fs.readFile(sumsFile, 'utf8')).get(asset);
  if (!expected) {
    throw new Error(`checksums.txt of envd ${tag} (${sumsUrl}) has no entry for ${asset}; refusing to install an unverified binary`);
  }

  const downloaded = await download(binUrl, path.join(dir, 'envd.download'), `envd ${tag} (${asset})`, signal);
  const actual = await sha256File(downloaded);
  if (actual !== expected) {
    await fs.rm(downloaded, { force: true });
    throw new Error(
      `sha256 mismatch for ${asset} downloaded from ${binUrl}: expected ${expected} (checksums.txt), got ${actual}; ` +
        'the download is corrupt or was tampered with',
    );
  }
  await fs.rename(downloaded, path.join(dir, 'envd'));
  await fs.writeFile(path.join(dir, 'envd.sha256'), `${actual}  ${asset}\n`);
  await fs.rm(sumsFile, { force: true });
}

/** tc.downloadTool retries 5xx, 408 and 429 (3 attempts); we only add a readable error. */
async function download(url: string, dest: string, what: string, signal?: AbortSignal): Promise<string> {
  try {
    // tool-cache takes no signal: a cancel stops the wait; the half file is in RUNNER_TEMP, which the runner removes.
    return await abortable(tc.downloadTool(url, dest), signal, `downloading ${what}`);
  } catch (err) {
    throwIfCancelled(signal, `downloading ${what}`);
    if (err instanceof tc.HTTPError) {
      const hint = err.httpStatusCode === 404 ? ' (not found: is this an envd release that has this file?)' : '';
      throw new Error(`could not download ${what} from ${url}: HTTP ${err.httpStatusCode ?? '?'}${hint}`);
    }
    throw new Error(`could not download ${what} from ${url}: ${errorText(err)}`);
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
