// Puts a verified envd binary on the runner and returns its path.
//
// Order of preference (cheapest first): an `envd` on PATH that reports the
// wanted version, the runner's tool cache, the Actions cache (a previous run's
// download), and finally a download from the GitHub release. Whatever comes out
// of a cache or the network is copied into a private directory and hashed
// against a trusted digest (pinned in src/common/pins.ts, else the one GitHub's
// releases API reports for the asset) before it runs: a cache entry can be
// written by other workflows, so nothing stored next to the binary is trusted.
// Nothing is added to PATH: callers run the returned absolute path, so another
// envd on PATH can never be picked up by accident.
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import compareVersions from 'semver/functions/compare.js';
import parseVersion from 'semver/functions/parse.js';
import type { SemVer } from 'semver';
import * as runner from '../github/runner.js';
import { runCommand, describeExit } from './proc.js';
import { sha256File } from '../common/files.js';
import { DEFAULT_ENVD_VERSION, ENVD_MIN_VERSION, pinnedSha256For } from '../common/pins.js';
import { assetSha256, fetchGithubRelease, type ReleaseApiOptions } from '../common/releases.js';
import { abortable, throwIfCancelled } from '../common/cancel.js';
import { ALLOW_UNVERIFIED_INPUT, copyVerified, privateDir, requireSecureUrl } from '../common/verify.js';

// The installers' packages are most of the bundle (the Actions cache client
// brings an Azure SDK; loading them cost about 0.1 s before envd could start);
// an envd already on PATH needs none of them, so each loads when an install
// gets that far.
const toolCache = () => import('@actions/tool-cache');
const actionsCache = () => import('@actions/cache');

export { DEFAULT_ENVD_VERSION } from '../common/pins.js';
export const DEFAULT_ENVD_DOWNLOAD_BASE_URL = 'https://github.com/tensorchord/envd/releases/download';
const ENVD_REPO = 'tensorchord/envd';

/** envd v1.3.1 switched asset names from `envd_1.2.6_Linux_x86_64` to `envd_1.3.1_linux_amd64`. */
const LOWERCASE_ASSETS_SINCE = '1.3.1';

const TOOL_NAME = 'envd';
/** Bump to invalidate every Actions-cache entry written by older code. */
const CACHE_KEY_PREFIX = 'envd-remote-build-envd-bin-v1';
const VERSION_PROBE_TIMEOUT_MS = 30_000;

export interface InstallEnvdOptions {
  /** Release download base; `<base>/<tag>/<asset>` and `<base>/<tag>/checksums.txt`. */
  readonly downloadBaseUrl?: string;
  /** Token for the releases API only (rate limits); defaults to $GITHUB_TOKEN. Never sent to downloadBaseUrl. */
  readonly githubToken?: string;
  /** GitHub REST API root asked for the asset digest of a version without a pinned one; default https://api.github.com. */
  readonly apiBaseUrl?: string;
  /** Waits between releases API attempts; its length is the number of retries. */
  readonly apiRetryDelaysMs?: readonly number[];
  /**
   * `allow-unverified-downloads`: when neither a pinned digest nor the releases
   * API vouches for the binary, install it anyway (checked against the
   * release's own checksums.txt when that lists it) instead of failing.
   */
  readonly allowUnverified?: boolean;
  /** Accept an `envd` found on PATH when it reports the wanted version (default true). */
  readonly usePath?: boolean;
  /**
   * The private HOME the build will use (an existing 0700 directory), to run
   * the version probe of an envd on PATH in, instead of a throwaway one:
   * envd's first command in a fresh HOME creates a 4096-bit RSA key pair,
   * 0.03 to 1 s of CPU (measured with envd v1.3.4), and probing in the home
   * the build uses makes that happen once per build instead of twice.
   */
  readonly probeHome?: string;
  /** Save/restore the binary with the Actions cache (default true). */
  readonly useActionsCache?: boolean;
  /** For tests: pretend to be another OS/CPU (Node names: linux|darwin, x64|arm64). */
  readonly platform?: NodeJS.Platform;
  readonly arch?: string;
  /** The job's cancel: API calls, cache restores and downloads end at once (CancelledError). */
  readonly signal?: AbortSignal;
}

/** A release version, with or without its `v`; ranges and loose forms are no version. */
function parseSemVer(v: string): SemVer | undefined {
  return parseVersion(v.trim().replace(/^v/, '')) ?? undefined;
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
  if (compareVersions(v, ENVD_MIN_VERSION) < 0) {
    throw new Error(`envd-version "${version}" is too old: this action supports envd v0.3.33 and later`);
  }
  return `v${v.version}`;
}

/**
 * Name of the envd binary asset of a release, as goreleaser names it:
 * `{{.Binary}}_{{.Version}}_...` where .Version is the tag without `v`.
 * - since v1.3.1: `envd_1.3.4_linux_amd64`, `envd_1.3.4_linux_arm64`
 * - before:       `envd_1.2.6_Linux_x86_64`, `envd_1.2.6_Linux_arm64`
 */
export function envdAssetName(version: string, platform: NodeJS.Platform = process.platform, arch: string = process.arch): string {
  const tag = normalizeEnvdVersion(version);
  const lower = compareVersions(tag.slice(1), LOWERCASE_ASSETS_SINCE) >= 0;
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

  const token = opts.githubToken ?? process.env['GITHUB_TOKEN'] ?? '';
  let tag: string;
  try {
    // Unauthenticated calls share a 60/hour limit per runner IP, which hosted
    // runners exhaust quickly; the token only goes to the API, never elsewhere.
    ({ tag } = await fetchGithubRelease(ENVD_REPO, 'latest', releaseApiOptions(opts, token)));
  } catch (err) {
    throwIfCancelled(opts.signal, 'resolving envd-version latest');
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(
      `could not resolve envd-version "latest" from the GitHub releases API: ${reason}` + (token ? '' : ' (no GITHUB_TOKEN set; pin envd-version or pass a token to avoid API rate limits)'),
    );
  }
  runner.info(`envd-version latest resolves to ${tag || '(nothing)'}`);
  return normalizeEnvdVersion(tag);
}

/**
 * Installs envd and returns the absolute path of the `envd` binary.
 * `version` is the `envd-version` input: `v1.3.4`, `1.3.4`, `latest` or '' (default).
 */
export async function installEnvd(version: string, opts: InstallEnvdOptions = {}): Promise<string> {
  const platform = opts.platform ?? process.platform;
  const arch = opts.arch ?? process.arch;
  const baseUrl = opts.downloadBaseUrl ?? DEFAULT_ENVD_DOWNLOAD_BASE_URL;
  requireSecureUrl(baseUrl, 'envd download URL');
  const tag = await resolveEnvdVersion(version, opts);
  const asset = envdAssetName(tag, platform, arch);
  const toolVersion = tag.slice(1);
  const { signal } = opts;
  const what = `installing envd ${tag}`;
  throwIfCancelled(signal, what);

  // 1. A preinstalled envd of exactly this version (part of the runner's own
  //    setup, like every other tool on PATH).
  if (opts.usePath !== false) {
    const onPath = await (await import('@actions/io')).which('envd', false);
    if (onPath) {
      const found = await probeEnvdVersion(onPath, signal, opts.probeHome);
      throwIfCancelled(signal, what);
      if (found === tag) {
        runner.info(`Using envd ${tag} found on PATH: ${onPath}`);
        return onPath;
      }
      runner.info(`envd on PATH (${onPath}) reports ${found ?? 'an unknown version'}, not ${tag}; installing ${tag}`);
    }
  }

  const trusted = await trustedSha256(tag, asset, opts);
  if ('missing' in trusted) {
    if (!opts.allowUnverified) {
      throw new Error(
        `no trusted sha256 for envd ${tag} (${asset}): ${trusted.missing}; ` +
          `set ${ALLOW_UNVERIFIED_INPUT}: true to install it checked only against the release's own checksums.txt`,
      );
    }
    runner.warning(`Installing envd ${tag} (${asset}) without a trusted sha256 because ${ALLOW_UNVERIFIED_INPUT} is true: ${trusted.missing}`);
    // Neither read from nor written to a cache another job would trust.
    const bin = await downloadUnverified(tag, asset, baseUrl, signal);
    runner.info(`Installed envd ${tag} at ${bin}`);
    return bin;
  }
  const sha256 = trusted.sha256;

  // 2. This runner kept it in its tool cache (an earlier step or job).
  if (process.env['RUNNER_TOOL_CACHE']) {
    const dir = (await toolCache()).find(TOOL_NAME, toolVersion, arch);
    const bin = dir ? await verifiedCopy(path.join(dir, 'envd'), sha256, `envd ${tag} from the tool cache`) : undefined;
    if (bin) {
      runner.info(`Using envd ${tag} from the tool cache (sha256 verified): ${bin}`);
      return bin;
    }
  }

  // 3./4. Actions cache, else download. The staging directory path is the
  // Actions cache "path", so it must be the same string on every run.
  const staging = path.join(tempBase(), 'envd-remote-build', `envd-${tag}-${platform}-${arch}`);
  const key = `${CACHE_KEY_PREFIX}-${tag}-${platform}-${arch}`;
  const useCache = opts.useActionsCache !== false;
  let bin = useCache ? await restoreFromActionsCache(staging, key, sha256, tag, signal) : undefined;
  throwIfCancelled(signal, what);
  const restored = bin !== undefined;
  bin ??= await downloadChecked(tag, asset, baseUrl, { sha256, source: 'trusted' }, signal);

  if (process.env['RUNNER_TOOL_CACHE']) {
    try {
      // For later jobs on this runner; they verify it again before use.
      await (await toolCache()).cacheFile(bin, 'envd', TOOL_NAME, toolVersion, arch);
    } catch (err) {
      runner.warning(`Could not keep envd in the tool cache (the build goes on): ${errorText(err)}`);
    }
  }
  if (useCache && !restored) await saveToActionsCache(bin, staging, key);
  runner.info(`Installed envd ${tag} at ${bin}`);
  return bin;
}

/**
 * The pinned digest of the asset, else the one GitHub's releases API reports
 * for it (api.github.com, not the download host, and never a cache entry).
 */
async function trustedSha256(tag: string, asset: string, opts: InstallEnvdOptions): Promise<{ sha256: string } | { missing: string }> {
  const pinned = pinnedSha256For('envd', tag, asset);
  if (pinned) return { sha256: pinned };
  const token = opts.githubToken ?? process.env['GITHUB_TOKEN'] ?? '';
  let release;
  try {
    release = await fetchGithubRelease(ENVD_REPO, tag, releaseApiOptions(opts, token));
  } catch (err) {
    throwIfCancelled(opts.signal, `looking up the sha256 of ${asset}`);
    return { missing: `it is not pinned in this action and the GitHub releases API gave no answer (${errorText(err)})` };
  }
  const found = assetSha256(release, asset);
  return 'sha256' in found ? found : { missing: `it is not pinned in this action and the GitHub releases API of ${ENVD_REPO}: ${found.missing}` };
}

/**
 * Copies `src` into a fresh private directory and checks the copy; returns the
 * executable copy, or undefined after one line saying why it is not used.
 */
async function verifiedCopy(src: string, sha256: string, what: string): Promise<string | undefined> {
  const dir = await privateDir('envd-');
  const bin = path.join(dir, 'envd');
  const check = await copyVerified(src, bin, sha256);
  if (check.ok) {
    await fs.chmod(bin, 0o755);
    return bin;
  }
  await fs.rm(dir, { recursive: true, force: true });
  const line = `${what} is not used: ${check.reason}; downloading it again`;
  if (check.tampered) runner.error(line);
  else runner.info(line);
  return undefined;
}

/** The releases API options from ours: the token (the API only), retries, and the job's cancel. */
function releaseApiOptions(opts: InstallEnvdOptions, token: string): ReleaseApiOptions {
  return {
    ...(opts.apiBaseUrl ? { apiBaseUrl: opts.apiBaseUrl } : {}),
    ...(token ? { githubToken: token } : {}),
    ...(opts.apiRetryDelaysMs ? { apiRetryDelaysMs: opts.apiRetryDelaysMs } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
}

function tempBase(): string {
  return process.env['RUNNER_TEMP'] || os.tmpdir();
}

/**
 * Runs `envd version --short` under a throwaway HOME, or the build's private
 * one (probeHome): every envd command first initialises ~/.config/envd (and
 * generates an SSH key pair there), which must not land in the runner user's
 * real home.
 */
async function probeEnvdVersion(bin: string, signal?: AbortSignal, probeHome?: string): Promise<string | undefined> {
  let home = probeHome;
  if (home === undefined) {
    // RUNNER_TEMP may not exist yet when this is the job's first use of it.
    await fs.mkdir(tempBase(), { recursive: true });
    home = await fs.mkdtemp(path.join(tempBase(), 'envd-version-probe-'));
  }
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
    // The caller's home stays: the build goes on in it.
    if (probeHome === undefined) await fs.rm(home, { recursive: true, force: true });
  }
}

async function restoreFromActionsCache(staging: string, key: string, sha256: string, tag: string, signal?: AbortSignal): Promise<string | undefined> {
  const cache = await actionsCache();
  if (!cache.isFeatureAvailable()) {
    runner.debug('Actions cache service not available; not restoring envd from it');
    return undefined;
  }
  try {
    await fs.rm(staging, { recursive: true, force: true });
    await fs.mkdir(staging, { recursive: true });
    if (!(await abortable(cache.restoreCache([staging], key), signal, 'restoring envd from the Actions cache'))) return undefined;
  } catch (err) {
    throwIfCancelled(signal, 'restoring envd from the Actions cache');
    runner.warning(`Could not restore envd from the Actions cache, downloading instead: ${errorText(err)}`);
    return undefined;
  }
  // Checked against the trusted digest, never against anything in the entry:
  // whoever wrote the entry wrote everything in it.
  const bin = await verifiedCopy(path.join(staging, 'envd'), sha256, `envd ${tag} from the Actions cache (${key})`);
  if (bin) runner.info(`Restored envd from the Actions cache (${key}, sha256 verified)`);
  return bin;
}

async function saveToActionsCache(bin: string, staging: string, key: string): Promise<void> {
  const cache = await actionsCache();
  if (!cache.isFeatureAvailable()) return;
  try {
    await fs.rm(staging, { recursive: true, force: true });
    await fs.mkdir(staging, { recursive: true });
    await fs.copyFile(bin, path.join(staging, 'envd'));
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

function releaseUrls(tag: string, asset: string, baseUrl: string): { sums: string; bin: string } {
  const base = `${baseUrl.replace(/\/+$/, '')}/${encodeURIComponent(tag)}`;
  return { sums: `${base}/checksums.txt`, bin: `${base}/${encodeURIComponent(asset)}` };
}

/**
 * Downloads the binary into a fresh private directory and, when `expected` is
 * given, checks it (`source` names where the digest came from, for the error).
 */
async function downloadChecked(
  tag: string,
  asset: string,
  baseUrl: string,
  expected: { sha256: string; source: string } | undefined,
  signal?: AbortSignal,
): Promise<string> {
  const url = releaseUrls(tag, asset, baseUrl).bin;
  const dir = await privateDir('envd-');
  try {
    const downloaded = await download(url, path.join(dir, 'envd.download'), `envd ${tag} (${asset})`, signal);
    const actual = await sha256File(downloaded);
    if (expected && actual !== expected.sha256) {
      throw new Error(
        `sha256 mismatch for ${asset} downloaded from ${url}: expected ${expected.sha256} (${expected.source}), got ${actual}; ` +
          'the download is corrupt or was tampered with',
      );
    }
    const bin = path.join(dir, 'envd');
    await fs.rename(downloaded, bin);
    await fs.chmod(bin, 0o755);
    return bin;
  } catch (err) {
    await fs.rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * The opted-in path without a trusted digest: the release's checksums.txt
 * comes from the same server as the binary, so it only catches corruption;
 * it is still checked when it lists the asset.
 */
async function downloadUnverified(tag: string, asset: string, baseUrl: string, signal?: AbortSignal): Promise<string> {
  const dir = await privateDir('envd-sums-');
  let listed: string | undefined;
  try {
    const sums = await download(releaseUrls(tag, asset, baseUrl).sums, path.join(dir, 'checksums.txt'), `checksums.txt of envd ${tag}`, signal);
    listed = parseChecksums(await fs.readFile(sums, 'utf8')).get(asset);
  } catch (err) {
    throwIfCancelled(signal, `downloading checksums.txt of envd ${tag}`);
    runner.warning(`No checksums.txt for envd ${tag} either: ${errorText(err)}`);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
  if (!listed) runner.warning(`envd ${tag} (${asset}) is installed without any checksum`);
  return downloadChecked(tag, asset, baseUrl, listed ? { sha256: listed, source: 'checksums.txt' } : undefined, signal);
}

/** tc.downloadTool retries 5xx, 408 and 429 (3 attempts); we only add a readable error. */
async function download(url: string, dest: string, what: string, signal?: AbortSignal): Promise<string> {
  const tc = await toolCache();
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
