export const id = 318;
export const ids = [318];
export const modules = {

/***/ 6353:
/***/ ((module, __unused_webpack_exports, __webpack_require__) => {



const SemVer = __webpack_require__(7163)
const parse = (version, options, throwErrors = false) => {
  if (version instanceof SemVer) {
    return version
  }
  try {
    return new SemVer(version, options)
  } catch (er) {
    if (!throwErrors) {
      return null
    }
    throw er
  }
}

module.exports = parse


/***/ }),

/***/ 8994:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   Q: () => (/* binding */ sha256File),
/* harmony export */   s: () => (/* binding */ pathExists)
/* harmony export */ });
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(7598);
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_crypto__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(3024);
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__webpack_require__.n(node_fs__WEBPACK_IMPORTED_MODULE_1__);
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(1455);
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_2___default = /*#__PURE__*/__webpack_require__.n(node_fs_promises__WEBPACK_IMPORTED_MODULE_2__);
// Small file helpers shared by the tool installers and cleanups.



/** Hex sha256 of a file, streamed (release archives can be large). */
async function sha256File(file) {
    const hash = (0,node_crypto__WEBPACK_IMPORTED_MODULE_0__.createHash)('sha256');
    for await (const chunk of (0,node_fs__WEBPACK_IMPORTED_MODULE_1__.createReadStream)(file))
        hash.update(chunk);
    return hash.digest('hex');
}
/** Whether anything (a dangling symlink included) is at the path. */
async function pathExists(p) {
    try {
        await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_2__.lstat)(p);
        return true;
    }
    catch {
        return false;
    }
}


/***/ }),

/***/ 7471:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   $V: () => (/* binding */ fetchGithubRelease),
/* harmony export */   kh: () => (/* binding */ assetSha256)
/* harmony export */ });
/* unused harmony export DEFAULT_GITHUB_API_URL */
/* harmony import */ var _cancel_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(551);
/* harmony import */ var _verify_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(7160);
// The GitHub releases API, for the two things the installers need from it:
// which tag `latest` is, and the sha256 GitHub computed for each asset when it
// was uploaded. That digest is served by api.github.com, not by the download
// host (a mirror, or GitHub's release storage), so it can vouch for a file
// that came from somewhere else.


const DEFAULT_GITHUB_API_URL = 'https://api.github.com';
/** GET /repos/<repo>/releases/latest or /releases/tags/<tag>, with retries on network errors, 5xx and 429. */
async function fetchGithubRelease(repo, tag, options = {}) {
    const base = (options.apiBaseUrl ?? DEFAULT_GITHUB_API_URL).replace(/\/+$/, '');
    const url = tag === 'latest' ? `${base}/repos/${repo}/releases/latest` : `${base}/repos/${repo}/releases/tags/${encodeURIComponent(tag)}`;
    // The answer decides which digest is trusted: never over plain http.
    (0,_verify_js__WEBPACK_IMPORTED_MODULE_1__/* .requireSecureUrl */ .qp)(url, 'the GitHub releases API');
    const headers = {
        accept: 'application/vnd.github+json',
        'x-github-api-version': '2022-11-28',
        'user-agent': 'envd-remote-build',
    };
    if (options.githubToken)
        headers['authorization'] = `Bearer ${options.githubToken}`;
    const delays = options.apiRetryDelaysMs ?? [1000, 4000];
    const { signal } = options;
    const what = `asking ${url}`;
    let lastError = '';
    for (let attempt = 0; attempt <= delays.length; attempt++) {
        if (attempt > 0)
            await (0,_cancel_js__WEBPACK_IMPORTED_MODULE_0__/* .sleep */ .yy)(delays[attempt - 1], signal, what);
        let res;
        try {
            res = await fetch(url, { headers, signal: (0,_cancel_js__WEBPACK_IMPORTED_MODULE_0__/* .anySignal */ .JG)(AbortSignal.timeout(30_000), signal) });
        }
        catch (err) {
            (0,_cancel_js__WEBPACK_IMPORTED_MODULE_0__/* .throwIfCancelled */ .dZ)(signal, what);
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
        if (!res.ok)
            throw new Error(`${url} answered HTTP ${res.status}`);
        return parseRelease(await (0,_cancel_js__WEBPACK_IMPORTED_MODULE_0__/* .abortable */ .ZC)(res.json(), signal, what), url);
    }
    throw new Error(`${url} failed after ${delays.length + 1} attempts: ${lastError}`);
}
function parseRelease(body, url) {
    const obj = body;
    if (typeof obj?.tag_name !== 'string')
        throw new Error(`${url} returned no tag_name`);
    const assets = Array.isArray(obj.assets) ? obj.assets : [];
    return {
        tag: obj.tag_name,
        assets: assets
            .filter((a) => typeof a?.name === 'string')
            .map((a) => (typeof a.digest === 'string' ? { name: a.name, digest: a.digest } : { name: a.name })),
    };
}
/**
 * The hex sha256 the release reports for `asset`, or why there is none (GitHub
 * reports no digest for assets uploaded before June 2025).
 */
function assetSha256(release, asset) {
    const entry = release.assets.find((a) => a.name === asset);
    if (!entry)
        return { missing: `release ${release.tag} has no asset ${asset}` };
    const m = entry.digest ? /^sha256:([0-9a-f]{64})$/i.exec(entry.digest) : null;
    if (!m)
        return { missing: `release ${release.tag} reports no sha256 digest for ${asset}` };
    return { sha256: m[1].toLowerCase() };
}
function errorText(err) {
    const text = err instanceof Error ? err.message : String(err);
    return text.split('\n')[0].trim();
}


/***/ }),

/***/ 7160:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   XK: () => (/* binding */ privateDir),
/* harmony export */   kj: () => (/* binding */ copyVerified),
/* harmony export */   nW: () => (/* binding */ ALLOW_UNVERIFIED_INPUT),
/* harmony export */   qp: () => (/* binding */ requireSecureUrl)
/* harmony export */ });
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(3024);
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_fs__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var node_os__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(8161);
/* harmony import */ var node_os__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__webpack_require__.n(node_os__WEBPACK_IMPORTED_MODULE_1__);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(6760);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_2___default = /*#__PURE__*/__webpack_require__.n(node_path__WEBPACK_IMPORTED_MODULE_2__);
/* harmony import */ var _files_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(8994);
// What every installer does before it runs a file it did not build: check the
// URL is https, and hash a private copy of the file against a digest that came
// from somewhere else (pinned in the code, or the GitHub releases API), never
// from the cache or mirror the file came from.




/** The input that lets a download no trusted digest vouches for run anyway. */
const ALLOW_UNVERIFIED_INPUT = 'allow-unverified-downloads';
// Plain http stays possible for servers on this machine only: the tests' and a
// runner-local mirror. Anything on the network could be altered in transit.
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);
/** Throws one line naming `what` unless `url` is https (or http to a loopback address). */
function requireSecureUrl(url, what) {
    let parsed;
    try {
        parsed = new URL(url);
    }
    catch {
        throw new Error(`${what}: "${url}" is not a URL`);
    }
    if (parsed.protocol === 'https:')
        return;
    if (parsed.protocol === 'http:' && LOOPBACK_HOSTS.has(parsed.hostname))
        return;
    throw new Error(`${what}: refusing ${url}; downloads must use https`);
}
/**
 * A fresh directory (mode 0700) under RUNNER_TEMP for files about to be run:
 * nobody else can swap them between the hash check and the exec.
 */
async function privateDir(prefix) {
    const base = process.env['RUNNER_TEMP'] || node_os__WEBPACK_IMPORTED_MODULE_1__.tmpdir();
    await node_fs__WEBPACK_IMPORTED_MODULE_0__.promises.mkdir(base, { recursive: true });
    return node_fs__WEBPACK_IMPORTED_MODULE_0__.promises.mkdtemp(node_path__WEBPACK_IMPORTED_MODULE_2__.join(base, `envd-remote-build-${prefix}`));
}
/**
 * Copies `src` to `dest` (in a private directory) and hashes the copy, so what
 * was checked is exactly what runs even if `src` is rewritten meanwhile.
 * A mismatching copy is deleted.
 */
async function copyVerified(src, dest, expectedSha256) {
    let st;
    try {
        st = await node_fs__WEBPACK_IMPORTED_MODULE_0__.promises.lstat(src);
    }
    catch {
        return { ok: false, tampered: false, reason: 'it is missing' };
    }
    // Never follow a link or read a FIFO/device someone planted in a cache.
    if (!st.isFile())
        return { ok: false, tampered: true, reason: 'it is not a regular file' };
    await node_fs__WEBPACK_IMPORTED_MODULE_0__.promises.copyFile(src, dest);
    const actual = await (0,_files_js__WEBPACK_IMPORTED_MODULE_3__/* .sha256File */ .Q)(dest);
    if (actual !== expectedSha256.toLowerCase()) {
        await node_fs__WEBPACK_IMPORTED_MODULE_0__.promises.rm(dest, { force: true });
        return { ok: false, tampered: true, reason: `its sha256 is ${actual}, not the trusted ${expectedSha256.toLowerCase()}` };
    }
    return { ok: true };
}


/***/ }),

/***/ 9318:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   DEFAULT_ENVD_DOWNLOAD_BASE_URL: () => (/* binding */ DEFAULT_ENVD_DOWNLOAD_BASE_URL),
/* harmony export */   DEFAULT_ENVD_VERSION: () => (/* reexport safe */ _common_pins_js__WEBPACK_IMPORTED_MODULE_8__.ds),
/* harmony export */   envdAssetName: () => (/* binding */ envdAssetName),
/* harmony export */   installEnvd: () => (/* binding */ installEnvd),
/* harmony export */   normalizeEnvdVersion: () => (/* binding */ normalizeEnvdVersion),
/* harmony export */   parseChecksums: () => (/* binding */ parseChecksums),
/* harmony export */   parseEnvdVersionOutput: () => (/* binding */ parseEnvdVersionOutput),
/* harmony export */   resolveEnvdVersion: () => (/* binding */ resolveEnvdVersion)
/* harmony export */ });
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(1455);
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_fs_promises__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var node_os__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(8161);
/* harmony import */ var node_os__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__webpack_require__.n(node_os__WEBPACK_IMPORTED_MODULE_1__);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(6760);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_2___default = /*#__PURE__*/__webpack_require__.n(node_path__WEBPACK_IMPORTED_MODULE_2__);
/* harmony import */ var semver_functions_compare_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(8469);
/* harmony import */ var semver_functions_compare_js__WEBPACK_IMPORTED_MODULE_3___default = /*#__PURE__*/__webpack_require__.n(semver_functions_compare_js__WEBPACK_IMPORTED_MODULE_3__);
/* harmony import */ var semver_functions_parse_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(6353);
/* harmony import */ var semver_functions_parse_js__WEBPACK_IMPORTED_MODULE_4___default = /*#__PURE__*/__webpack_require__.n(semver_functions_parse_js__WEBPACK_IMPORTED_MODULE_4__);
/* harmony import */ var _github_runner_js__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(9373);
/* harmony import */ var _proc_js__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(9909);
/* harmony import */ var _common_files_js__WEBPACK_IMPORTED_MODULE_7__ = __webpack_require__(8994);
/* harmony import */ var _common_pins_js__WEBPACK_IMPORTED_MODULE_8__ = __webpack_require__(9273);
/* harmony import */ var _common_releases_js__WEBPACK_IMPORTED_MODULE_9__ = __webpack_require__(7471);
/* harmony import */ var _common_cancel_js__WEBPACK_IMPORTED_MODULE_10__ = __webpack_require__(551);
/* harmony import */ var _common_verify_js__WEBPACK_IMPORTED_MODULE_11__ = __webpack_require__(7160);
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












// The installers' packages are most of the bundle (the Actions cache client
// brings an Azure SDK; loading them cost about 0.1 s before envd could start);
// an envd already on PATH needs none of them, so each loads when an install
// gets that far.
const toolCache = () => Promise.all(/* import() */[__webpack_require__.e(507), __webpack_require__.e(805)]).then(__webpack_require__.bind(__webpack_require__, 9805));
const actionsCache = () => Promise.all(/* import() */[__webpack_require__.e(507), __webpack_require__.e(691)]).then(__webpack_require__.bind(__webpack_require__, 1691));

const DEFAULT_ENVD_DOWNLOAD_BASE_URL = 'https://github.com/tensorchord/envd/releases/download';
const ENVD_REPO = 'tensorchord/envd';
/** envd v1.3.1 switched asset names from `envd_1.2.6_Linux_x86_64` to `envd_1.3.1_linux_amd64`. */
const LOWERCASE_ASSETS_SINCE = '1.3.1';
const TOOL_NAME = 'envd';
/** Bump to invalidate every Actions-cache entry written by older code. */
const CACHE_KEY_PREFIX = 'envd-remote-build-envd-bin-v1';
const VERSION_PROBE_TIMEOUT_MS = 30_000;
/** A release version, with or without its `v`; ranges and loose forms are no version. */
function parseSemVer(v) {
    return semver_functions_parse_js__WEBPACK_IMPORTED_MODULE_4___default()(v.trim().replace(/^v/, '')) ?? undefined;
}
/**
 * `1.3.4` / `v1.3.4` → `v1.3.4` (envd's git tags carry the `v`). Rejects
 * anything else, including ranges: the version decides the asset name and the
 * checksum we trust, so it must be exact.
 */
function normalizeEnvdVersion(version) {
    const v = parseSemVer(version);
    if (!v) {
        throw new Error(`envd-version "${version}" is not a release version like ${_common_pins_js__WEBPACK_IMPORTED_MODULE_8__/* .DEFAULT_ENVD_VERSION */ .ds} (or "latest")`);
    }
    if (semver_functions_compare_js__WEBPACK_IMPORTED_MODULE_3___default()(v, _common_pins_js__WEBPACK_IMPORTED_MODULE_8__/* .ENVD_MIN_VERSION */ .OQ) < 0) {
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
function envdAssetName(version, platform = process.platform, arch = process.arch) {
    const tag = normalizeEnvdVersion(version);
    const lower = semver_functions_compare_js__WEBPACK_IMPORTED_MODULE_3___default()(tag.slice(1), LOWERCASE_ASSETS_SINCE) >= 0;
    let osName;
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
    let archName;
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
function parseChecksums(text) {
    const sums = new Map();
    for (const raw of text.split(/\r?\n/)) {
        const m = /^([0-9a-fA-F]{64})\s+\*?(.+?)\s*$/.exec(raw.trim());
        if (m?.[1] && m[2])
            sums.set(m[2], m[1].toLowerCase());
    }
    return sums;
}
/** `envd version --short` prints `envd: v1.3.4` (envd pkg/app/formatter/table/version.go). */
function parseEnvdVersionOutput(stdout) {
    const m = /^envd:\s*(\S+)\s*$/m.exec(stdout);
    return m?.[1];
}
/** Resolves `latest` through the GitHub releases API; other values are normalised. */
async function resolveEnvdVersion(version, opts = {}) {
    const wanted = version.trim();
    if (wanted === '')
        return _common_pins_js__WEBPACK_IMPORTED_MODULE_8__/* .DEFAULT_ENVD_VERSION */ .ds;
    if (wanted.toLowerCase() !== 'latest')
        return normalizeEnvdVersion(wanted);
    const token = opts.githubToken ?? process.env['GITHUB_TOKEN'] ?? '';
    let tag;
    try {
        // Unauthenticated calls share a 60/hour limit per runner IP, which hosted
        // runners exhaust quickly; the token only goes to the API, never elsewhere.
        ({ tag } = await (0,_common_releases_js__WEBPACK_IMPORTED_MODULE_9__/* .fetchGithubRelease */ .$V)(ENVD_REPO, 'latest', releaseApiOptions(opts, token)));
    }
    catch (err) {
        (0,_common_cancel_js__WEBPACK_IMPORTED_MODULE_10__/* .throwIfCancelled */ .dZ)(opts.signal, 'resolving envd-version latest');
        const reason = err instanceof Error ? err.message : String(err);
        throw new Error(`could not resolve envd-version "latest" from the GitHub releases API: ${reason}` + (token ? '' : ' (no GITHUB_TOKEN set; pin envd-version or pass a token to avoid API rate limits)'));
    }
    _github_runner_js__WEBPACK_IMPORTED_MODULE_5__.info(`envd-version latest resolves to ${tag || '(nothing)'}`);
    return normalizeEnvdVersion(tag);
}
/**
 * Installs envd and returns the absolute path of the `envd` binary.
 * `version` is the `envd-version` input: `v1.3.4`, `1.3.4`, `latest` or '' (default).
 */
async function installEnvd(version, opts = {}) {
    const platform = opts.platform ?? process.platform;
    const arch = opts.arch ?? process.arch;
    const baseUrl = opts.downloadBaseUrl ?? DEFAULT_ENVD_DOWNLOAD_BASE_URL;
    (0,_common_verify_js__WEBPACK_IMPORTED_MODULE_11__/* .requireSecureUrl */ .qp)(baseUrl, 'envd download URL');
    const tag = await resolveEnvdVersion(version, opts);
    const asset = envdAssetName(tag, platform, arch);
    const toolVersion = tag.slice(1);
    const { signal } = opts;
    const what = `installing envd ${tag}`;
    (0,_common_cancel_js__WEBPACK_IMPORTED_MODULE_10__/* .throwIfCancelled */ .dZ)(signal, what);
    // 1. A preinstalled envd of exactly this version (part of the runner's own
    //    setup, like every other tool on PATH).
    if (opts.usePath !== false) {
        const onPath = await (await __webpack_require__.e(/* import() */ 701).then(__webpack_require__.bind(__webpack_require__, 8701))).which('envd', false);
        if (onPath) {
            const found = await probeEnvdVersion(onPath, signal, opts.probeHome);
            (0,_common_cancel_js__WEBPACK_IMPORTED_MODULE_10__/* .throwIfCancelled */ .dZ)(signal, what);
            if (found === tag) {
                _github_runner_js__WEBPACK_IMPORTED_MODULE_5__.info(`Using envd ${tag} found on PATH: ${onPath}`);
                return onPath;
            }
            _github_runner_js__WEBPACK_IMPORTED_MODULE_5__.info(`envd on PATH (${onPath}) reports ${found ?? 'an unknown version'}, not ${tag}; installing ${tag}`);
        }
    }
    const trusted = await trustedSha256(tag, asset, opts);
    if ('missing' in trusted) {
        if (!opts.allowUnverified) {
            throw new Error(`no trusted sha256 for envd ${tag} (${asset}): ${trusted.missing}; ` +
                `set ${_common_verify_js__WEBPACK_IMPORTED_MODULE_11__/* .ALLOW_UNVERIFIED_INPUT */ .nW}: true to install it checked only against the release's own checksums.txt`);
        }
        _github_runner_js__WEBPACK_IMPORTED_MODULE_5__.warning(`Installing envd ${tag} (${asset}) without a trusted sha256 because ${_common_verify_js__WEBPACK_IMPORTED_MODULE_11__/* .ALLOW_UNVERIFIED_INPUT */ .nW} is true: ${trusted.missing}`);
        // Neither read from nor written to a cache another job would trust.
        const bin = await downloadUnverified(tag, asset, baseUrl, signal);
        _github_runner_js__WEBPACK_IMPORTED_MODULE_5__.info(`Installed envd ${tag} at ${bin}`);
        return bin;
    }
    const sha256 = trusted.sha256;
    // 2. This runner kept it in its tool cache (an earlier step or job).
    if (process.env['RUNNER_TOOL_CACHE']) {
        const dir = (await toolCache()).find(TOOL_NAME, toolVersion, arch);
        const bin = dir ? await verifiedCopy(node_path__WEBPACK_IMPORTED_MODULE_2__.join(dir, 'envd'), sha256, `envd ${tag} from the tool cache`) : undefined;
        if (bin) {
            _github_runner_js__WEBPACK_IMPORTED_MODULE_5__.info(`Using envd ${tag} from the tool cache (sha256 verified): ${bin}`);
            return bin;
        }
    }
    // 3./4. Actions cache, else download. The staging directory path is the
    // Actions cache "path", so it must be the same string on every run.
    const staging = node_path__WEBPACK_IMPORTED_MODULE_2__.join(tempBase(), 'envd-remote-build', `envd-${tag}-${platform}-${arch}`);
    const key = `${CACHE_KEY_PREFIX}-${tag}-${platform}-${arch}`;
    const useCache = opts.useActionsCache !== false;
    let bin = useCache ? await restoreFromActionsCache(staging, key, sha256, tag, signal) : undefined;
    (0,_common_cancel_js__WEBPACK_IMPORTED_MODULE_10__/* .throwIfCancelled */ .dZ)(signal, what);
    const restored = bin !== undefined;
    bin ??= await downloadChecked(tag, asset, baseUrl, { sha256, source: 'trusted' }, signal);
    if (process.env['RUNNER_TOOL_CACHE']) {
        try {
            // For later jobs on this runner; they verify it again before use.
            await (await toolCache()).cacheFile(bin, 'envd', TOOL_NAME, toolVersion, arch);
        }
        catch (err) {
            _github_runner_js__WEBPACK_IMPORTED_MODULE_5__.warning(`Could not keep envd in the tool cache (the build goes on): ${errorText(err)}`);
        }
    }
    if (useCache && !restored)
        await saveToActionsCache(bin, staging, key);
    _github_runner_js__WEBPACK_IMPORTED_MODULE_5__.info(`Installed envd ${tag} at ${bin}`);
    return bin;
}
/**
 * The pinned digest of the asset, else the one GitHub's releases API reports
 * for it (api.github.com, not the download host, and never a cache entry).
 */
async function trustedSha256(tag, asset, opts) {
    const pinned = (0,_common_pins_js__WEBPACK_IMPORTED_MODULE_8__/* .pinnedSha256For */ .JF)('envd', tag, asset);
    if (pinned)
        return { sha256: pinned };
    const token = opts.githubToken ?? process.env['GITHUB_TOKEN'] ?? '';
    let release;
    try {
        release = await (0,_common_releases_js__WEBPACK_IMPORTED_MODULE_9__/* .fetchGithubRelease */ .$V)(ENVD_REPO, tag, releaseApiOptions(opts, token));
    }
    catch (err) {
        (0,_common_cancel_js__WEBPACK_IMPORTED_MODULE_10__/* .throwIfCancelled */ .dZ)(opts.signal, `looking up the sha256 of ${asset}`);
        return { missing: `it is not pinned in this action and the GitHub releases API gave no answer (${errorText(err)})` };
    }
    const found = (0,_common_releases_js__WEBPACK_IMPORTED_MODULE_9__/* .assetSha256 */ .kh)(release, asset);
    return 'sha256' in found ? found : { missing: `it is not pinned in this action and the GitHub releases API of ${ENVD_REPO}: ${found.missing}` };
}
/**
 * Copies `src` into a fresh private directory and checks the copy; returns the
 * executable copy, or undefined after one line saying why it is not used.
 */
async function verifiedCopy(src, sha256, what) {
    const dir = await (0,_common_verify_js__WEBPACK_IMPORTED_MODULE_11__/* .privateDir */ .XK)('envd-');
    const bin = node_path__WEBPACK_IMPORTED_MODULE_2__.join(dir, 'envd');
    const check = await (0,_common_verify_js__WEBPACK_IMPORTED_MODULE_11__/* .copyVerified */ .kj)(src, bin, sha256);
    if (check.ok) {
        await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.chmod(bin, 0o755);
        return bin;
    }
    await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.rm(dir, { recursive: true, force: true });
    const line = `${what} is not used: ${check.reason}; downloading it again`;
    if (check.tampered)
        _github_runner_js__WEBPACK_IMPORTED_MODULE_5__.error(line);
    else
        _github_runner_js__WEBPACK_IMPORTED_MODULE_5__.info(line);
    return undefined;
}
/** The releases API options from ours: the token (the API only), retries, and the job's cancel. */
function releaseApiOptions(opts, token) {
    return {
        ...(opts.apiBaseUrl ? { apiBaseUrl: opts.apiBaseUrl } : {}),
        ...(token ? { githubToken: token } : {}),
        ...(opts.apiRetryDelaysMs ? { apiRetryDelaysMs: opts.apiRetryDelaysMs } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
    };
}
function tempBase() {
    return process.env['RUNNER_TEMP'] || node_os__WEBPACK_IMPORTED_MODULE_1__.tmpdir();
}
/**
 * Runs `envd version --short` under a throwaway HOME, or the build's private
 * one (probeHome): every envd command first initialises ~/.config/envd (and
 * generates an SSH key pair there), which must not land in the runner user's
 * real home.
 */
async function probeEnvdVersion(bin, signal, probeHome) {
    let home = probeHome;
    if (home === undefined) {
        // RUNNER_TEMP may not exist yet when this is the job's first use of it.
        await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.mkdir(tempBase(), { recursive: true });
        home = await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.mkdtemp(node_path__WEBPACK_IMPORTED_MODULE_2__.join(tempBase(), 'envd-version-probe-'));
    }
    try {
        const r = await (0,_proc_js__WEBPACK_IMPORTED_MODULE_6__/* .runCommand */ .d)(bin, ['version', '--short'], {
            env: { ...process.env, HOME: home, ENVD_ANALYTICS: 'false' },
            timeoutMs: VERSION_PROBE_TIMEOUT_MS,
            captureStdout: true,
            tailLines: 5,
            ...(signal ? { signal } : {}),
        });
        if (r.code !== 0) {
            _github_runner_js__WEBPACK_IMPORTED_MODULE_5__.debug(`${bin} version --short: ${(0,_proc_js__WEBPACK_IMPORTED_MODULE_6__/* .describeExit */ .K)(r, VERSION_PROBE_TIMEOUT_MS)}: ${r.tail.join(' | ')}`);
            return undefined;
        }
        const reported = parseEnvdVersionOutput(r.stdout);
        // Compared verbatim with the tag: dev builds report e.g. v1.3.4+abc1234,
        // which is deliberately no match.
        return reported && !reported.startsWith('v') ? `v${reported}` : reported;
    }
    finally {
        // The caller's home stays: the build goes on in it.
        if (probeHome === undefined)
            await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.rm(home, { recursive: true, force: true });
    }
}
async function restoreFromActionsCache(staging, key, sha256, tag, signal) {
    const cache = await actionsCache();
    if (!cache.isFeatureAvailable()) {
        _github_runner_js__WEBPACK_IMPORTED_MODULE_5__.debug('Actions cache service not available; not restoring envd from it');
        return undefined;
    }
    try {
        await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.rm(staging, { recursive: true, force: true });
        await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.mkdir(staging, { recursive: true });
        if (!(await (0,_common_cancel_js__WEBPACK_IMPORTED_MODULE_10__/* .abortable */ .ZC)(cache.restoreCache([staging], key), signal, 'restoring envd from the Actions cache')))
            return undefined;
    }
    catch (err) {
        (0,_common_cancel_js__WEBPACK_IMPORTED_MODULE_10__/* .throwIfCancelled */ .dZ)(signal, 'restoring envd from the Actions cache');
        _github_runner_js__WEBPACK_IMPORTED_MODULE_5__.warning(`Could not restore envd from the Actions cache, downloading instead: ${errorText(err)}`);
        return undefined;
    }
    // Checked against the trusted digest, never against anything in the entry:
    // whoever wrote the entry wrote everything in it.
    const bin = await verifiedCopy(node_path__WEBPACK_IMPORTED_MODULE_2__.join(staging, 'envd'), sha256, `envd ${tag} from the Actions cache (${key})`);
    if (bin)
        _github_runner_js__WEBPACK_IMPORTED_MODULE_5__.info(`Restored envd from the Actions cache (${key}, sha256 verified)`);
    return bin;
}
async function saveToActionsCache(bin, staging, key) {
    const cache = await actionsCache();
    if (!cache.isFeatureAvailable())
        return;
    try {
        await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.rm(staging, { recursive: true, force: true });
        await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.mkdir(staging, { recursive: true });
        await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.copyFile(bin, node_path__WEBPACK_IMPORTED_MODULE_2__.join(staging, 'envd'));
        await cache.saveCache([staging], key);
    }
    catch (err) {
        // Another job saving the same key at once is normal, not worth a warning.
        if (err instanceof cache.ReserveCacheError) {
            _github_runner_js__WEBPACK_IMPORTED_MODULE_5__.info(`envd is already being cached by another job: ${errorText(err)}`);
            return;
        }
        _github_runner_js__WEBPACK_IMPORTED_MODULE_5__.warning(`Could not save envd to the Actions cache (the build goes on): ${errorText(err)}`);
    }
}
function releaseUrls(tag, asset, baseUrl) {
    const base = `${baseUrl.replace(/\/+$/, '')}/${encodeURIComponent(tag)}`;
    return { sums: `${base}/checksums.txt`, bin: `${base}/${encodeURIComponent(asset)}` };
}
/**
 * Downloads the binary into a fresh private directory and, when `expected` is
 * given, checks it (`source` names where the digest came from, for the error).
 */
async function downloadChecked(tag, asset, baseUrl, expected, signal) {
    const url = releaseUrls(tag, asset, baseUrl).bin;
    const dir = await (0,_common_verify_js__WEBPACK_IMPORTED_MODULE_11__/* .privateDir */ .XK)('envd-');
    try {
        const downloaded = await download(url, node_path__WEBPACK_IMPORTED_MODULE_2__.join(dir, 'envd.download'), `envd ${tag} (${asset})`, signal);
        const actual = await (0,_common_files_js__WEBPACK_IMPORTED_MODULE_7__/* .sha256File */ .Q)(downloaded);
        if (expected && actual !== expected.sha256) {
            throw new Error(`sha256 mismatch for ${asset} downloaded from ${url}: expected ${expected.sha256} (${expected.source}), got ${actual}; ` +
                'the download is corrupt or was tampered with');
        }
        const bin = node_path__WEBPACK_IMPORTED_MODULE_2__.join(dir, 'envd');
        await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.rename(downloaded, bin);
        await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.chmod(bin, 0o755);
        return bin;
    }
    catch (err) {
        await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.rm(dir, { recursive: true, force: true });
        throw err;
    }
}
/**
 * The opted-in path without a trusted digest: the release's checksums.txt
 * comes from the same server as the binary, so it only catches corruption;
 * it is still checked when it lists the asset.
 */
async function downloadUnverified(tag, asset, baseUrl, signal) {
    const dir = await (0,_common_verify_js__WEBPACK_IMPORTED_MODULE_11__/* .privateDir */ .XK)('envd-sums-');
    let listed;
    try {
        const sums = await download(releaseUrls(tag, asset, baseUrl).sums, node_path__WEBPACK_IMPORTED_MODULE_2__.join(dir, 'checksums.txt'), `checksums.txt of envd ${tag}`, signal);
        listed = parseChecksums(await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.readFile(sums, 'utf8')).get(asset);
    }
    catch (err) {
        (0,_common_cancel_js__WEBPACK_IMPORTED_MODULE_10__/* .throwIfCancelled */ .dZ)(signal, `downloading checksums.txt of envd ${tag}`);
        _github_runner_js__WEBPACK_IMPORTED_MODULE_5__.warning(`No checksums.txt for envd ${tag} either: ${errorText(err)}`);
    }
    finally {
        await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.rm(dir, { recursive: true, force: true });
    }
    if (!listed)
        _github_runner_js__WEBPACK_IMPORTED_MODULE_5__.warning(`envd ${tag} (${asset}) is installed without any checksum`);
    return downloadChecked(tag, asset, baseUrl, listed ? { sha256: listed, source: 'checksums.txt' } : undefined, signal);
}
/** tc.downloadTool retries 5xx, 408 and 429 (3 attempts); we only add a readable error. */
async function download(url, dest, what, signal) {
    const tc = await toolCache();
    try {
        // tool-cache takes no signal: a cancel stops the wait; the half file is in RUNNER_TEMP, which the runner removes.
        return await (0,_common_cancel_js__WEBPACK_IMPORTED_MODULE_10__/* .abortable */ .ZC)(tc.downloadTool(url, dest), signal, `downloading ${what}`);
    }
    catch (err) {
        (0,_common_cancel_js__WEBPACK_IMPORTED_MODULE_10__/* .throwIfCancelled */ .dZ)(signal, `downloading ${what}`);
        if (err instanceof tc.HTTPError) {
            const hint = err.httpStatusCode === 404 ? ' (not found: is this an envd release that has this file?)' : '';
            throw new Error(`could not download ${what} from ${url}: HTTP ${err.httpStatusCode ?? '?'}${hint}`);
        }
        throw new Error(`could not download ${what} from ${url}: ${errorText(err)}`);
    }
}
function errorText(err) {
    return err instanceof Error ? err.message : String(err);
}


/***/ }),

/***/ 9909:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   K: () => (/* binding */ describeExit),
/* harmony export */   d: () => (/* binding */ runCommand)
/* harmony export */ });
/* harmony import */ var node_child_process__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(1421);
/* harmony import */ var node_child_process__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_child_process__WEBPACK_IMPORTED_MODULE_0__);
// Runs the envd CLI: no shell (arguments go to execve as an array, so tags,
// paths and cache attributes are never re-parsed), output streamed live into
// the job log, and the last lines kept so a failure can quote them.

const STDOUT_CAPTURE_LIMIT = 64 * 1024;
/** Splits a stream of text chunks into lines; a line may span chunks. */
class LineSplitter {
    partial = '';
    /** Returns the lines completed by this chunk. */
    push(chunk) {
        const parts = (this.partial + chunk).split(/\r?\n|\r/);
        this.partial = parts.pop() ?? '';
        return parts;
    }
    /** The unterminated rest, if any, at end of stream. */
    finish() {
        const rest = this.partial;
        this.partial = '';
        return rest === '' ? [] : [rest];
    }
}
/** Never rejects: the caller decides what a non-zero exit means. */
function runCommand(file, args, opts) {
    return new Promise((resolve) => {
        // stdout and stderr get separate splitters so a half line on one is not
        // glued to a line of the other; the shared tail keeps arrival order.
        const max = opts.tailLines ?? 50;
        const tail = [];
        const keep = (lines) => {
            if (max <= 0)
                return;
            tail.push(...lines);
            if (tail.length > max)
                tail.splice(0, tail.length - max);
        };
        const splitters = [new LineSplitter(), new LineSplitter()];
        let stdout = '';
        let timedOut = false;
        let settled = false;
        let killTimer;
        let hardKillTimer;
        const child = (0,node_child_process__WEBPACK_IMPORTED_MODULE_0__.spawn)(file, [...args], {
            cwd: opts.cwd,
            env: opts.env,
            stdio: ['ignore', 'pipe', 'pipe'],
            shell: false,
            windowsHide: true,
        });
        const stop = () => {
            if (child.exitCode !== null || child.signalCode !== null)
                return;
            child.kill('SIGTERM');
            hardKillTimer = setTimeout(() => child.kill('SIGKILL'), 5000);
            hardKillTimer.unref();
        };
        if (opts.timeoutMs !== undefined) {
            killTimer = setTimeout(() => {
                timedOut = true;
                stop();
            }, opts.timeoutMs);
        }
        const onAbort = () => stop();
        // An already-aborted signal fires no event: stop right away.
        if (opts.signal?.aborted)
            stop();
        else
            opts.signal?.addEventListener('abort', onAbort, { once: true });
        const attach = (stream, idx) => {
            stream.setEncoding('utf8');
            stream.on('data', (chunk) => {
                opts.out?.write(chunk);
                if (idx === 0 && opts.captureStdout && stdout.length < STDOUT_CAPTURE_LIMIT)
                    stdout += chunk;
                keep(splitters[idx].push(chunk));
            });
        };
        attach(child.stdout, 0);
        attach(child.stderr, 1);
        const finish = (code, signal, spawnError) => {
            if (settled)
                return;
            settled = true;
            if (killTimer)
                clearTimeout(killTimer);
            if (hardKillTimer)
                clearTimeout(hardKillTimer);
            opts.signal?.removeEventListener('abort', onAbort);
            for (const s of splitters)
                keep(s.finish());
            resolve({ code, signal, tail, stdout, timedOut, ...(spawnError ? { spawnError } : {}) });
        };
        child.on('error', (err) => finish(null, null, err));
        // 'close' (not 'exit') so all piped output has been read before we resolve.
        child.on('close', (code, signal) => finish(code, signal));
    });
}
/** "exit code 3" / "killed by SIGTERM" / "timed out after 30s" / "could not start: ..." */
function describeExit(r, timeoutMs) {
    if (r.spawnError)
        return `could not start: ${r.spawnError.message}`;
    if (r.timedOut)
        return `timed out after ${Math.round((timeoutMs ?? 0) / 1000)}s`;
    if (r.signal)
        return `killed by ${r.signal}`;
    return `exit code ${r.code ?? 'unknown'}`;
}


/***/ })

};

//# sourceMappingURL=318.index.js.map