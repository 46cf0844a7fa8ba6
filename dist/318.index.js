export const id = 318;
export const ids = [318];
export const modules = {

/***/ 9318:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   DEFAULT_ENVD_DOWNLOAD_BASE_URL: () => (/* binding */ DEFAULT_ENVD_DOWNLOAD_BASE_URL),
/* harmony export */   DEFAULT_ENVD_LATEST_RELEASE_API: () => (/* binding */ DEFAULT_ENVD_LATEST_RELEASE_API),
/* harmony export */   DEFAULT_ENVD_VERSION: () => (/* binding */ DEFAULT_ENVD_VERSION),
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
/* harmony import */ var _actions_cache__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(1691);
/* harmony import */ var _actions_io__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(8701);
/* harmony import */ var _actions_tool_cache__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(9805);
/* harmony import */ var _action_runner_js__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(5242);
/* harmony import */ var _proc_js__WEBPACK_IMPORTED_MODULE_7__ = __webpack_require__(9909);
/* harmony import */ var _common_files_js__WEBPACK_IMPORTED_MODULE_8__ = __webpack_require__(8994);
// Puts a verified envd binary on the runner and returns its path.
//
// Order of preference (cheapest first): the runner's tool cache, an `envd` on
// PATH that reports the wanted version, the Actions cache (a previous run's
// download), and finally a download from the GitHub release, checked against
// the release's checksums.txt. Nothing is added to PATH: callers run the
// returned absolute path, so another envd on PATH can never be picked up by
// accident.









/** The envd release used when the `envd-version` input is empty. */
const DEFAULT_ENVD_VERSION = 'v1.3.4';
const DEFAULT_ENVD_DOWNLOAD_BASE_URL = 'https://github.com/tensorchord/envd/releases/download';
const DEFAULT_ENVD_LATEST_RELEASE_API = 'https://api.github.com/repos/tensorchord/envd/releases/latest';
/**
 * Oldest release we can install. Before v0.3.33 the release asset names were
 * broken or version-less (goreleaser template bugs); from v0.3.33 on, every
 * flag and env var this action uses exists (checked in envd's git history).
 */
const MIN_VERSION = { major: 0, minor: 3, patch: 33, pre: '' };
/** envd v1.3.1 switched asset names from `envd_1.2.6_Linux_x86_64` to `envd_1.3.1_linux_amd64`. */
const LOWERCASE_ASSETS_SINCE = { major: 1, minor: 3, patch: 1, pre: '' };
const TOOL_NAME = 'envd';
/** Bump to invalidate every Actions-cache entry written by older code. */
const CACHE_KEY_PREFIX = 'envd-remote-build-envd-bin-v1';
const VERSION_PROBE_TIMEOUT_MS = 30_000;
function parseSemVer(v) {
    const m = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?$/.exec(v.trim());
    if (!m)
        return undefined;
    return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), pre: m[4] ?? '' };
}
/** Semver order, good enough for envd's tags (a pre-release sorts before its release). */
function compareSemVer(a, b) {
    for (const k of ['major', 'minor', 'patch']) {
        if (a[k] !== b[k])
            return a[k] - b[k];
    }
    if (a.pre === b.pre)
        return 0;
    if (a.pre === '')
        return 1;
    if (b.pre === '')
        return -1;
    return a.pre < b.pre ? -1 : 1;
}
/**
 * `1.3.4` / `v1.3.4` → `v1.3.4` (envd's git tags carry the `v`). Rejects
 * anything else, including ranges: the version decides the asset name and the
 * checksum we trust, so it must be exact.
 */
function normalizeEnvdVersion(version) {
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
function envdAssetName(version, platform = process.platform, arch = process.arch) {
    const tag = normalizeEnvdVersion(version);
    const v = parseSemVer(tag);
    const lower = compareSemVer(v, LOWERCASE_ASSETS_SINCE) >= 0;
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
        return DEFAULT_ENVD_VERSION;
    if (wanted.toLowerCase() !== 'latest')
        return normalizeEnvdVersion(wanted);
    const url = opts.latestReleaseApiUrl ?? DEFAULT_ENVD_LATEST_RELEASE_API;
    const token = opts.githubToken ?? process.env['GITHUB_TOKEN'] ?? '';
    const headers = {
        Accept: 'application/vnd.github+json',
        'X-GitHub-Api-Version': '2022-11-28',
        'User-Agent': 'envd-remote-build',
    };
    // Unauthenticated calls share a 60/hour limit per runner IP, which hosted
    // runners exhaust quickly; the token only goes to the API, never elsewhere.
    if (token)
        headers['Authorization'] = `Bearer ${token}`;
    let lastError = '';
    for (let attempt = 1; attempt <= 3; attempt++) {
        try {
            const res = await fetch(url, { headers, signal: AbortSignal.timeout(30_000) });
            if (res.ok) {
                const body = (await res.json());
                const tag = typeof body.tag_name === 'string' ? body.tag_name : '';
                _action_runner_js__WEBPACK_IMPORTED_MODULE_6__.info(`envd-version latest resolves to ${tag || '(nothing)'}`);
                return normalizeEnvdVersion(tag);
            }
            lastError = `HTTP ${res.status}`;
            // 403/429 are rate limits: retrying within seconds will not help.
            if (res.status < 500)
                break;
        }
        catch (err) {
            if (err instanceof Error && err.message.startsWith('envd-version'))
                throw err;
            lastError = err instanceof Error ? err.message : String(err);
        }
        if (attempt < 3)
            await new Promise((r) => setTimeout(r, 1000 * attempt));
    }
    throw new Error(`could not resolve envd-version "latest" from ${url}: ${lastError}` +
        (token ? '' : ' (no GITHUB_TOKEN set; pin envd-version or pass a token to avoid API rate limits)'));
}
/**
 * Installs envd and returns the absolute path of the `envd` binary.
 * `version` is the `envd-version` input: `v1.3.4`, `1.3.4`, `latest` or '' (default).
 */
async function installEnvd(version, opts = {}) {
    const platform = opts.platform ?? process.platform;
    const arch = opts.arch ?? process.arch;
    const tag = await resolveEnvdVersion(version, opts);
    const asset = envdAssetName(tag, platform, arch);
    const toolVersion = tag.slice(1);
    // 1. This runner already has it (earlier step or job on a self-hosted runner).
    if (process.env['RUNNER_TOOL_CACHE']) {
        const dir = _actions_tool_cache__WEBPACK_IMPORTED_MODULE_5__/* .find */ .I6(TOOL_NAME, toolVersion, arch);
        const bin = dir ? node_path__WEBPACK_IMPORTED_MODULE_2__.join(dir, 'envd') : '';
        if (bin && (await isExecutableFile(bin))) {
            _action_runner_js__WEBPACK_IMPORTED_MODULE_6__.info(`Using envd ${tag} from the tool cache: ${bin}`);
            return bin;
        }
    }
    // 2. A preinstalled envd of exactly this version.
    if (opts.usePath !== false) {
        const onPath = await _actions_io__WEBPACK_IMPORTED_MODULE_4__/* .which */ .K7('envd', false);
        if (onPath) {
            const found = await probeEnvdVersion(onPath);
            if (found === tag) {
                _action_runner_js__WEBPACK_IMPORTED_MODULE_6__.info(`Using envd ${tag} found on PATH: ${onPath}`);
                return onPath;
            }
            _action_runner_js__WEBPACK_IMPORTED_MODULE_6__.info(`envd on PATH (${onPath}) reports ${found ?? 'an unknown version'}, not ${tag}; installing ${tag}`);
        }
    }
    // 3./4. Actions cache, else download and verify. The staging directory path
    // is the Actions cache "path", so it must be the same string on every run.
    const staging = node_path__WEBPACK_IMPORTED_MODULE_2__.join(tempBase(), 'envd-remote-build', `envd-${tag}-${platform}-${arch}`);
    const key = `${CACHE_KEY_PREFIX}-${tag}-${platform}-${arch}`;
    const useCache = opts.useActionsCache !== false;
    await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.rm(staging, { recursive: true, force: true });
    await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.mkdir(staging, { recursive: true });
    const restored = useCache && (await restoreFromActionsCache(staging, key, asset));
    if (!restored) {
        await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.rm(staging, { recursive: true, force: true });
        await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.mkdir(staging, { recursive: true });
        await downloadVerified(tag, asset, staging, opts.downloadBaseUrl ?? DEFAULT_ENVD_DOWNLOAD_BASE_URL);
    }
    const stagedBin = node_path__WEBPACK_IMPORTED_MODULE_2__.join(staging, 'envd');
    await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.chmod(stagedBin, 0o755);
    let bin = stagedBin;
    if (process.env['RUNNER_TOOL_CACHE']) {
        const dir = await _actions_tool_cache__WEBPACK_IMPORTED_MODULE_5__/* .cacheFile */ .NJ(stagedBin, 'envd', TOOL_NAME, toolVersion, arch);
        bin = node_path__WEBPACK_IMPORTED_MODULE_2__.join(dir, 'envd');
        // io.cp keeps the mode on Linux, but say it explicitly: a non-executable
        // cached copy would poison every later lookup on a self-hosted runner.
        await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.chmod(bin, 0o755);
    }
    if (useCache && !restored)
        await saveToActionsCache(staging, key);
    _action_runner_js__WEBPACK_IMPORTED_MODULE_6__.info(`Installed envd ${tag} at ${bin}`);
    return bin;
}
function tempBase() {
    return process.env['RUNNER_TEMP'] || node_os__WEBPACK_IMPORTED_MODULE_1__.tmpdir();
}
async function isExecutableFile(file) {
    try {
        const st = await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.stat(file);
        if (!st.isFile())
            return false;
        await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.access(file, node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.constants.X_OK);
        return true;
    }
    catch {
        return false;
    }
}
/**
 * Runs `envd version --short` under a throwaway HOME: every envd command first
 * initialises ~/.config/envd (and generates an SSH key pair there), which must
 * not land in the runner user's real home.
 */
async function probeEnvdVersion(bin) {
    // RUNNER_TEMP may not exist yet when this is the job's first use of it.
    await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.mkdir(tempBase(), { recursive: true });
    const home = await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.mkdtemp(node_path__WEBPACK_IMPORTED_MODULE_2__.join(tempBase(), 'envd-version-probe-'));
    try {
        const r = await (0,_proc_js__WEBPACK_IMPORTED_MODULE_7__/* .runCommand */ .d)(bin, ['version', '--short'], {
            env: { ...process.env, HOME: home, ENVD_ANALYTICS: 'false' },
            timeoutMs: VERSION_PROBE_TIMEOUT_MS,
            captureStdout: true,
            tailLines: 5,
        });
        if (r.code !== 0) {
            _action_runner_js__WEBPACK_IMPORTED_MODULE_6__.debug(`${bin} version --short: ${(0,_proc_js__WEBPACK_IMPORTED_MODULE_7__/* .describeExit */ .K)(r, VERSION_PROBE_TIMEOUT_MS)}: ${r.tail.join(' | ')}`);
            return undefined;
        }
        const reported = parseEnvdVersionOutput(r.stdout);
        // Compared verbatim with the tag: dev builds report e.g. v1.3.4+abc1234,
        // which is deliberately no match.
        return reported && !reported.startsWith('v') ? `v${reported}` : reported;
    }
    finally {
        await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.rm(home, { recursive: true, force: true });
    }
}
async function restoreFromActionsCache(staging, key, asset) {
    if (!_actions_cache__WEBPACK_IMPORTED_MODULE_3__.isFeatureAvailable()) {
        _action_runner_js__WEBPACK_IMPORTED_MODULE_6__.debug('Actions cache service not available; not restoring envd from it');
        return false;
    }
    try {
        const hit = await _actions_cache__WEBPACK_IMPORTED_MODULE_3__.restoreCache([staging], key);
        if (!hit)
            return false;
        // The entry carries the digest we verified against checksums.txt when it
        // was saved; re-check it so a truncated or altered restore is not run.
        const recorded = parseChecksums(await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.readFile(node_path__WEBPACK_IMPORTED_MODULE_2__.join(staging, 'envd.sha256'), 'utf8')).get(asset);
        const actual = await (0,_common_files_js__WEBPACK_IMPORTED_MODULE_8__/* .sha256File */ .Q)(node_path__WEBPACK_IMPORTED_MODULE_2__.join(staging, 'envd'));
        if (!recorded || recorded !== actual) {
            _action_runner_js__WEBPACK_IMPORTED_MODULE_6__.warning(`envd restored from the Actions cache (${key}) does not match its recorded sha256; downloading instead`);
            return false;
        }
        _action_runner_js__WEBPACK_IMPORTED_MODULE_6__.info(`Restored envd from the Actions cache (${key})`);
        return true;
    }
    catch (err) {
        _action_runner_js__WEBPACK_IMPORTED_MODULE_6__.warning(`Could not restore envd from the Actions cache, downloading instead: ${errorText(err)}`);
        return false;
    }
}
async function saveToActionsCache(staging, key) {
    if (!_actions_cache__WEBPACK_IMPORTED_MODULE_3__.isFeatureAvailable())
        return;
    try {
        await _actions_cache__WEBPACK_IMPORTED_MODULE_3__.saveCache([staging], key);
    }
    catch (err) {
        // Another job saving the same key at once is normal, not worth a warning.
        if (err instanceof _actions_cache__WEBPACK_IMPORTED_MODULE_3__.ReserveCacheError) {
            _action_runner_js__WEBPACK_IMPORTED_MODULE_6__.info(`envd is already being cached by another job: ${errorText(err)}`);
            return;
        }
        _action_runner_js__WEBPACK_IMPORTED_MODULE_6__.warning(`Could not save envd to the Actions cache (the build goes on): ${errorText(err)}`);
    }
}
/** Downloads checksums.txt and the binary into `dir`, leaving `dir/envd` and `dir/envd.sha256`. */
async function downloadVerified(tag, asset, dir, baseUrl) {
    const base = `${baseUrl.replace(/\/+$/, '')}/${encodeURIComponent(tag)}`;
    const sumsUrl = `${base}/checksums.txt`;
    const binUrl = `${base}/${encodeURIComponent(asset)}`;
    // checksums.txt first: it is small, and a wrong version fails here quickly.
    const sumsFile = await download(sumsUrl, node_path__WEBPACK_IMPORTED_MODULE_2__.join(dir, 'checksums.txt'), `checksums.txt of envd ${tag}`);
    const expected = parseChecksums(await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.readFile(sumsFile, 'utf8')).get(asset);
    if (!expected) {
        throw new Error(`checksums.txt of envd ${tag} (${sumsUrl}) has no entry for ${asset}; refusing to install an unverified binary`);
    }
    const downloaded = await download(binUrl, node_path__WEBPACK_IMPORTED_MODULE_2__.join(dir, 'envd.download'), `envd ${tag} (${asset})`);
    const actual = await (0,_common_files_js__WEBPACK_IMPORTED_MODULE_8__/* .sha256File */ .Q)(downloaded);
    if (actual !== expected) {
        await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.rm(downloaded, { force: true });
        throw new Error(`sha256 mismatch for ${asset} downloaded from ${binUrl}: expected ${expected} (checksums.txt), got ${actual}; ` +
            'the download is corrupt or was tampered with');
    }
    await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.rename(downloaded, node_path__WEBPACK_IMPORTED_MODULE_2__.join(dir, 'envd'));
    await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.writeFile(node_path__WEBPACK_IMPORTED_MODULE_2__.join(dir, 'envd.sha256'), `${actual}  ${asset}\n`);
    await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.rm(sumsFile, { force: true });
}
/** tc.downloadTool retries 5xx, 408 and 429 (3 attempts); we only add a readable error. */
async function download(url, dest, what) {
    try {
        return await _actions_tool_cache__WEBPACK_IMPORTED_MODULE_5__/* .downloadTool */ .bq(url, dest);
    }
    catch (err) {
        if (err instanceof _actions_tool_cache__WEBPACK_IMPORTED_MODULE_5__/* .HTTPError */ .Hl) {
            const hint = err.httpStatusCode === 404 ? ' (not found: is this an envd release that has this file?)' : '';
            throw new Error(`could not download ${what} from ${url}: HTTP ${err.httpStatusCode ?? '?'}${hint}`);
        }
        throw new Error(`could not download ${what} from ${url}: ${errorText(err)}`);
    }
}
function errorText(err) {
    return err instanceof Error ? err.message : String(err);
}


/***/ })

};

//# sourceMappingURL=318.index.js.map