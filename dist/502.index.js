export const id = 502;
export const ids = [502];
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

/***/ 2606:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  startLocalBuilder: () => (/* binding */ startLocalBuilder)
});

// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(6760);
// EXTERNAL MODULE: ./src/github/runner.ts
var runner = __webpack_require__(9373);
// EXTERNAL MODULE: ./src/buildkit/probe.ts
var probe = __webpack_require__(8718);
// EXTERNAL MODULE: ./src/common/cancel.ts
var cancel = __webpack_require__(551);
// EXTERNAL MODULE: ./src/builder/local/apparmor.ts
var apparmor = __webpack_require__(5133);
// EXTERNAL MODULE: ./src/builder/local/daemon.ts
var daemon = __webpack_require__(5019);
// EXTERNAL MODULE: ./node_modules/@actions/cache/lib/cache.js + 340 modules
var cache = __webpack_require__(1691);
// EXTERNAL MODULE: ./node_modules/@actions/tool-cache/lib/tool-cache.js + 2 modules
var tool_cache = __webpack_require__(9805);
// EXTERNAL MODULE: ./src/common/exec.ts
var exec = __webpack_require__(3644);
// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(3024);
// EXTERNAL MODULE: external "node:os"
var external_node_os_ = __webpack_require__(8161);
;// CONCATENATED MODULE: ./src/builder/local/preflight.ts
// Can this runner start a local buildkitd, and how? decideLocalMode() is a pure
// function of the facts probeHostFacts() gathers, so every combination of
// runner setup is a row in a unit-test table instead of a machine we need.




const MIN_SUBIDS = 65536;
/** Chooses how to run buildkitd. Pure: same facts, same answer. */
function decideLocalMode(facts) {
    // Without a runtime no mode can run a RUN step; say so before anything else.
    const runtimeMissing = facts.ociRuntime ? [] : ['runc (neither buildkit-runc nor runc is on PATH)'];
    if (facts.uid === 0) {
        // Root gains nothing from a user namespace and rootlesskit only adds failure modes.
        if (runtimeMissing.length)
            return { mode: 'none', missing: runtimeMissing };
        return { mode: 'rootful', reason: 'running as root' };
    }
    const blockers = rootlessBlockers(facts);
    const onlyAppArmor = blockers.length === 1 && blockers[0] === APPARMOR_BLOCKER;
    if (runtimeMissing.length) {
        return { mode: 'none', missing: [...runtimeMissing, ...blockers] };
    }
    if (blockers.length === 0) {
        return { mode: 'rootless', reason: 'user namespaces and subordinate IDs are available', installAppArmorProfile: false };
    }
    if (onlyAppArmor && facts.passwordlessSudo && facts.apparmorParser) {
        // Narrower than going rootful: only rootlesskit may create user namespaces.
        return {
            mode: 'rootless',
            reason: 'AppArmor restricts unprivileged user namespaces; allowing them for rootlesskit only via an AppArmor profile',
            installAppArmorProfile: true,
        };
    }
    if (facts.passwordlessSudo) {
        return { mode: 'sudo', reason: `rootless is not possible (${blockers.join('; ')}); running buildkitd as root via sudo`, rootlessBlockedBy: blockers };
    }
    return { mode: 'none', missing: [...blockers, 'passwordless sudo for a rootful daemon (`sudo -n true` failed)'] };
}
const APPARMOR_BLOCKER = 'kernel.apparmor_restrict_unprivileged_userns is 1 (AppArmor blocks unprivileged user namespaces; Ubuntu 24.04 default)';
function rootlessBlockers(f) {
    const out = [];
    if (!f.newuidmap)
        out.push('newuidmap (install the uidmap package)');
    if (!f.newgidmap)
        out.push('newgidmap (install the uidmap package)');
    if (!f.subuid)
        out.push(`a range of at least ${MIN_SUBIDS} IDs for ${f.user} in /etc/subuid`);
    if (!f.subgid)
        out.push(`a range of at least ${MIN_SUBIDS} IDs for ${f.user} in /etc/subgid`);
    if (f.maxUserNamespaces === undefined)
        out.push('user namespaces (the kernel has no /proc/sys/user/max_user_namespaces)');
    else if (f.maxUserNamespaces <= 0)
        out.push('user namespaces (/proc/sys/user/max_user_namespaces is 0)');
    if (f.unprivilegedUsernsClone !== undefined && f.unprivilegedUsernsClone === 0) {
        out.push('kernel.unprivileged_userns_clone=1 (it is 0)');
    }
    if (f.apparmorRestrictUnprivilegedUserns !== undefined && f.apparmorRestrictUnprivilegedUserns !== 0) {
        out.push(APPARMOR_BLOCKER);
    }
    return out;
}
/** One-line error for a `none` decision. */
function preflightError(decision) {
    return new Error(`cannot start a local BuildKit daemon on this runner; missing: ${decision.missing.join('; ')}`);
}
/** True when `content` (an /etc/subuid or /etc/subgid file) gives `user` or `uid` at least 65536 IDs. */
function hasSubIdRange(content, user, uid) {
    for (const raw of content.split('\n')) {
        const line = raw.trim();
        if (!line || line.startsWith('#'))
            continue;
        const [owner, start, count] = line.split(':');
        if (owner !== user && owner !== String(uid))
            continue;
        if (start === undefined || count === undefined || !/^\d+$/.test(start))
            continue;
        if (/^\d+$/.test(count) && Number(count) >= MIN_SUBIDS)
            return true;
    }
    return false;
}
/** Parses the ID and VERSION_ID fields of /etc/os-release. */
function parseOsRelease(content) {
    const get = (key) => {
        const m = new RegExp(`^${key}=(.*)$`, 'm').exec(content);
        return m ? m[1].trim().replace(/^["']|["']$/g, '') : undefined;
    };
    return { id: get('ID'), versionId: get('VERSION_ID') };
}
/** Gathers HostFacts: reads /proc and /etc, looks for binaries, tries `sudo -n true`. Never throws. */
async function probeHostFacts(options = {}) {
    const root = options.root ?? '/';
    const at = (p) => external_node_path_.join(root, p);
    const uid = process.getuid?.() ?? -1;
    const gid = process.getgid?.() ?? -1;
    const user = userName();
    // sbin directories are often missing from a non-root PATH but hold newuidmap and apparmor_parser.
    const searchPath = [...(options.extraPath ?? []), ...(process.env['PATH'] ?? '').split(external_node_path_.delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
    const onPath = (name) => findExecutable(name, searchPath);
    const [newuidmap, newgidmap, subuidText, subgidText, maxNs, clone, apparmor, osText, sudo, parser, apparmorDir, bkRunc, runc] = await Promise.all([
        onPath('newuidmap'),
        onPath('newgidmap'),
        readText(at('etc/subuid')),
        readText(at('etc/subgid')),
        readNumber(at('proc/sys/user/max_user_namespaces')),
        readNumber(at('proc/sys/kernel/unprivileged_userns_clone')),
        readNumber(at('proc/sys/kernel/apparmor_restrict_unprivileged_userns')),
        readText(at('etc/os-release')),
        uid === 0 ? Promise.resolve(false) : (options.sudoCheck ?? passwordlessSudo)(),
        onPath('apparmor_parser'),
        isDir(at('etc/apparmor.d')),
        onPath('buildkit-runc'),
        onPath('runc'),
    ]);
    return {
        uid,
        gid,
        user,
        newuidmap: !!newuidmap,
        newgidmap: !!newgidmap,
        subuid: hasSubIdRange(subuidText ?? '', user, uid),
        subgid: hasSubIdRange(subgidText ?? '', user, uid),
        maxUserNamespaces: maxNs,
        unprivilegedUsernsClone: clone,
        apparmorRestrictUnprivilegedUserns: apparmor,
        passwordlessSudo: sudo,
        apparmorParser: !!parser && apparmorDir,
        ociRuntime: !!(bkRunc || runc),
        ...(osText ? { os: parseOsRelease(osText) } : {}),
    };
}
function userName() {
    try {
        return external_node_os_.userInfo().username;
    }
    catch {
        return process.env['USER'] ?? String(process.getuid?.() ?? '');
    }
}
/** First executable `name` in `dirs`, or undefined. */
async function findExecutable(name, dirs) {
    for (const dir of dirs) {
        if (!dir)
            continue;
        const candidate = external_node_path_.join(dir, name);
        try {
            const st = await external_node_fs_.promises.stat(candidate);
            if (!st.isFile())
                continue;
            await external_node_fs_.promises.access(candidate, external_node_fs_.constants.X_OK);
            return candidate;
        }
        catch {
            // not here; keep looking
        }
    }
    return undefined;
}
async function readText(file) {
    try {
        return await external_node_fs_.promises.readFile(file, 'utf8');
    }
    catch {
        return undefined;
    }
}
async function readNumber(file) {
    const text = await readText(file);
    if (text === undefined)
        return undefined;
    const n = Number.parseInt(text.trim(), 10);
    return Number.isFinite(n) ? n : undefined;
}
async function isDir(p) {
    try {
        return (await external_node_fs_.promises.stat(p)).isDirectory();
    }
    catch {
        return false;
    }
}
/** `sudo -n true` within 10 s: never prompts, so a runner without NOPASSWD answers false quickly. */
function passwordlessSudo() {
    return (0,exec/* execSucceeds */.b)('sudo', ['-n', 'true'], { timeoutMs: 10_000 });
}

// EXTERNAL MODULE: ./src/common/files.ts
var files = __webpack_require__(8994);
// EXTERNAL MODULE: ./src/common/pins.ts
var pins = __webpack_require__(9273);
// EXTERNAL MODULE: ./src/common/releases.ts
var releases = __webpack_require__(7471);
// EXTERNAL MODULE: ./src/common/verify.ts
var verify = __webpack_require__(7160);
;// CONCATENATED MODULE: ./src/builder/local/download.ts
// Getting buildkitd (and rootlesskit) onto the runner: a matching buildkitd
// already on PATH, else the release archive from the runner's tool cache, our
// @actions/cache entry or the release page. Whatever its origin, the archive is
// copied into a private directory and hashed against a trusted digest (pinned in
// src/common/pins.ts, else the GitHub releases API's) before it is unpacked
// there and run: cache entries can be written by other workflows, so a cached
// copy is never trusted for having been verified once.














const DEFAULT_BUILDKIT_DOWNLOAD_URL = 'https://github.com/moby/buildkit/releases/download';
const DEFAULT_ROOTLESSKIT_DOWNLOAD_URL = 'https://github.com/rootless-containers/rootlesskit/releases/download';
const REPOS = {
    buildkit: 'moby/buildkit',
    rootlesskit: 'rootless-containers/rootlesskit',
};
const DEFAULT_VERSIONS = {
    buildkit: pins/* DEFAULT_BUILDKIT_VERSION */.ec,
    rootlesskit: pins/* DEFAULT_ROOTLESSKIT_VERSION */.XD,
};
function runnerArch(arch = process.arch) {
    if (arch === 'x64')
        return { node: 'x64', buildkit: 'amd64', rootlesskit: 'x86_64' };
    if (arch === 'arm64')
        return { node: 'arm64', buildkit: 'arm64', rootlesskit: 'aarch64' };
    throw new Error(`a local BuildKit daemon needs an x64 or arm64 Linux runner; this one is ${process.platform}/${arch}`);
}
/** `0.24.0` and `v0.24.0` both mean the tag `v0.24.0`; `latest` stays as is. */
function normalizeTag(version) {
    const v = version.trim();
    if (!v || v === 'latest')
        return 'latest';
    return v.startsWith('v') ? v : `v${v}`;
}
function joinUrl(base, ...parts) {
    return [base.replace(/\/+$/, ''), ...parts.map((p) => encodeURIComponent(p))].join('/');
}
/** `<base>/<tag>/buildkit-<tag>.linux-<arch>.tar.gz` */
function buildkitAsset(tag, baseUrl = DEFAULT_BUILDKIT_DOWNLOAD_URL, arch = runnerArch()) {
    const name = `buildkit-${tag}.linux-${arch.buildkit}.tar.gz`;
    return { tool: 'buildkit', tag, name, url: joinUrl(baseUrl || DEFAULT_BUILDKIT_DOWNLOAD_URL, tag, name) };
}
/** `<base>/<tag>/rootlesskit-<arch>.tar.gz` */
function rootlesskitAsset(tag, baseUrl = DEFAULT_ROOTLESSKIT_DOWNLOAD_URL, arch = runnerArch()) {
    const name = `rootlesskit-${arch.rootlesskit}.tar.gz`;
    return { tool: 'rootlesskit', tag, name, url: joinUrl(baseUrl || DEFAULT_ROOTLESSKIT_DOWNLOAD_URL, tag, name) };
}
function pinnedSha256(asset) {
    return (0,pins/* pinnedSha256For */.JF)(asset.tool, asset.tag, asset.name);
}
/** Output of `buildkitd --version`: `buildkitd github.com/moby/buildkit v0.11.6 <rev>` → `v0.11.6`. */
function parseBuildkitdVersion(output) {
    const m = /^buildkitd\s+\S+\s+(v?\d+\.\d+\.\d+\S*)/m.exec(output.trim());
    return m ? normalizeTag(m[1]) : undefined;
}
const defaultLog = { info: runner.info, warning: (m) => runner.warning(m), error: (m) => runner.error(m), debug: runner.debug };
/** Finds or downloads buildkitd at the requested version. */
async function installBuildkit(options = {}) {
    const log = options.log ?? defaultLog;
    let tag = normalizeTag(options.version ?? pins/* DEFAULT_BUILDKIT_VERSION */.ec);
    let release;
    if (tag === 'latest') {
        release = await fetchRelease('buildkit', 'latest', options);
        tag = release.tag;
        log.info(`BuildKit latest is ${tag}`);
    }
    const onPath = await buildkitdOnPath(options.searchPath);
    if (onPath && onPath.tag === tag) {
        log.info(`Using ${onPath.path} (${tag}) from PATH`);
        return { binDir: external_node_path_.dirname(onPath.path), tag, source: 'path' };
    }
    if (onPath)
        log.debug(`${onPath.path} is ${onPath.tag ?? 'of unknown version'}, not ${tag}; not using it`);
    const arch = options.arch ?? runnerArch();
    const asset = buildkitAsset(tag, options.downloadUrl, arch);
    return installTool(asset, arch, 'buildkitd', (dir) => external_node_path_.join(dir, 'bin'), release, options);
}
/** Finds or downloads rootlesskit (a rootlesskit already on PATH is used at any version). */
async function installRootlesskit(options = {}) {
    const log = options.log ?? defaultLog;
    const existing = await findExecutable('rootlesskit', options.searchPath ?? pathDirs());
    if (existing) {
        log.info(`Using ${existing} from PATH`);
        return { binDir: external_node_path_.dirname(existing), tag: 'unknown', source: 'path' };
    }
    let tag = normalizeTag(options.version ?? pins/* DEFAULT_ROOTLESSKIT_VERSION */.XD);
    let release;
    if (tag === 'latest') {
        release = await fetchRelease('rootlesskit', 'latest', options);
        tag = release.tag;
    }
    const arch = options.arch ?? runnerArch();
    const asset = rootlesskitAsset(tag, options.downloadUrl, arch);
    return installTool(asset, arch, 'rootlesskit', (dir) => dir, release, options);
}
async function installTool(asset, arch, mainBinary, binDirOf, release, options) {
    const log = options.log ?? defaultLog;
    const { signal } = options;
    const what = `getting ${asset.tool} ${asset.tag}`;
    requireRunnerDirs();
    (0,verify/* requireSecureUrl */.qp)(asset.url, `${asset.tool} download URL`);
    (0,cancel/* throwIfCancelled */.dZ)(signal, what);
    // Every path ends here: unpack the checked archive privately, drop its directory.
    const done = async (archive, source) => {
        try {
            return { binDir: await unpackArchive(asset, archive, mainBinary, binDirOf), tag: asset.tag, source };
        }
        finally {
            await external_node_fs_.promises.rm(external_node_path_.dirname(archive), { recursive: true, force: true });
        }
    };
    const trusted = await trustedSha256(asset, release, options);
    if ('missing' in trusted) {
        if (!options.allowUnverified) {
            throw new Error(`no trusted sha256 for ${asset.name} (${asset.tool} ${asset.tag}): ${trusted.missing}; ` +
                `use ${asset.tool} ${DEFAULT_VERSIONS[asset.tool]} (pinned), or set ${verify/* ALLOW_UNVERIFIED_INPUT */.nW}: true to run it unverified`);
        }
        log.warning(`Running ${asset.name} (${asset.tool} ${asset.tag}) unverified because ${verify/* ALLOW_UNVERIFIED_INPUT */.nW} is true: ${trusted.missing}`);
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
        let restored;
        try {
            // The entry lands in the tool cache paths and goes through the same check as a tool-cache hit.
            if (await (0,cancel/* abortable */.ZC)(actionsCache.restoreCache([...cachePaths], cacheKey), signal, what)) {
                restored = await verifiedFromToolCache(asset, arch, sha256, `the Actions cache (${cacheKey})`, log);
            }
        }
        catch (err) {
            (0,cancel/* throwIfCancelled */.dZ)(signal, what);
            log.warning(`Could not restore ${asset.tool} from the Actions cache (downloading instead): ${errorText(err)}`);
        }
        if (restored) {
            log.info(`Restored ${asset.tool} ${asset.tag} from the Actions cache (sha256 verified)`);
            return done(restored, 'actions-cache');
        }
    }
    log.info(`Downloading ${asset.url}`);
    const archive = await downloadVerified(asset, sha256, log, signal);
    (0,cancel/* throwIfCancelled */.dZ)(signal, what);
    try {
        // Replaces whatever the tool cache held (tc.cacheFile clears the version's directory first).
        await tool_cache.cacheFile(archive, asset.name, asset.tool, asset.tag, arch.node);
    }
    catch (err) {
        log.warning(`Could not keep ${asset.name} in the tool cache: ${errorText(err)}`);
        return done(archive, 'download');
    }
    if (actionsCache && safeAvailable(actionsCache)) {
        try {
            await actionsCache.saveCache([...cachePaths], cacheKey);
        }
        catch (err) {
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
async function trustedSha256(asset, release, options) {
    const pinned = pinnedSha256(asset);
    if (pinned)
        return { sha256: pinned };
    let info = release;
    if (!info) {
        try {
            info = await fetchRelease(asset.tool, asset.tag, options);
        }
        catch (err) {
            (0,cancel/* throwIfCancelled */.dZ)(options.signal, `looking up the sha256 of ${asset.name}`);
            return { missing: `it is not pinned in this action and the GitHub releases API gave no answer (${errorText(err)})` };
        }
    }
    const found = (0,releases/* assetSha256 */.kh)(info, asset.name);
    return 'sha256' in found ? found : { missing: `it is not pinned in this action and the GitHub releases API of ${REPOS[asset.tool]}: ${found.missing}` };
}
/**
 * The archive kept in the tool cache, copied into a private directory and
 * verified there; undefined (and one line saying why) when it is absent or fails.
 */
async function verifiedFromToolCache(asset, arch, sha256, where, log) {
    const dir = tool_cache.find(asset.tool, asset.tag, arch.node);
    if (!dir)
        return undefined;
    const work = await (0,verify/* privateDir */.XK)(`${asset.tool}-archive-`);
    const copy = external_node_path_.join(work, asset.name);
    const check = await (0,verify/* copyVerified */.kj)(external_node_path_.join(dir, asset.name), copy, sha256);
    if (check.ok)
        return copy;
    await external_node_fs_.promises.rm(work, { recursive: true, force: true });
    const line = `${asset.name} (${asset.tool} ${asset.tag}) from ${where} is not used: ${check.reason}; downloading it again`;
    if (check.tampered)
        log.error(line);
    else
        log.info(line);
    return undefined;
}
/** Extracts into a fresh private directory and returns the directory holding the binaries. */
async function unpackArchive(asset, archive, mainBinary, binDirOf) {
    const dest = await (0,verify/* privateDir */.XK)(`${asset.tool}-${asset.tag}-`);
    try {
        await tool_cache.extractTar(archive, dest);
    }
    catch (err) {
        await external_node_fs_.promises.rm(dest, { recursive: true, force: true });
        throw new Error(`extracting ${asset.name} failed: ${errorText(err)}`);
    }
    const binDir = binDirOf(dest);
    if (!(await exists(external_node_path_.join(binDir, mainBinary)))) {
        await external_node_fs_.promises.rm(dest, { recursive: true, force: true });
        throw new Error(`${asset.name} from ${asset.url} has no ${external_node_path_.relative(dest, external_node_path_.join(binDir, mainBinary))}; is it a ${asset.tool} release archive?`);
    }
    return binDir;
}
function safeAvailable(c) {
    try {
        return c.isFeatureAvailable();
    }
    catch {
        return false;
    }
}
/** The tool-cache directory (holding the release archive) and its `.complete` marker: tc.find needs both, so both are cached. */
function toolCachePaths(tool, tag, nodeArch) {
    const dir = external_node_path_.join(process.env['RUNNER_TOOL_CACHE'] ?? '', tool, tag.replace(/^v/, ''), nodeArch);
    return [dir, `${dir}.complete`];
}
function requireRunnerDirs() {
    for (const name of ['RUNNER_TEMP', 'RUNNER_TOOL_CACHE']) {
        if (!process.env[name])
            throw new Error(`${name} is not set; downloading BuildKit needs a GitHub Actions runner environment`);
    }
}
/**
 * Downloads into a fresh private directory with tool-cache (which retries 5xx,
 * 408, 429 and network errors three times) and checks the sha256. `null` means
 * the caller chose to run it unverified. A mismatching file is deleted, with
 * its directory, before we throw. The caller removes the returned file's directory.
 */
async function downloadVerified(asset, expectedSha256, log = defaultLog, signal) {
    (0,verify/* requireSecureUrl */.qp)(asset.url, `${asset.tool} download URL`);
    const dir = await (0,verify/* privateDir */.XK)(`${asset.tool}-download-`);
    const dest = external_node_path_.join(dir, asset.name);
    try {
        // tool-cache takes no signal: a cancel stops the wait, and the half file's private directory is removed.
        await (0,cancel/* abortable */.ZC)(tool_cache.downloadTool(asset.url, dest), signal, `downloading ${asset.url}`);
    }
    catch (err) {
        await external_node_fs_.promises.rm(dir, { recursive: true, force: true });
        (0,cancel/* throwIfCancelled */.dZ)(signal, `downloading ${asset.url}`);
        const status = httpStatus(err);
        if (status === 404) {
            throw new Error(`${asset.tool} ${asset.tag}: ${asset.name} not found at ${asset.url} (HTTP 404); check the version and the download URL`);
        }
        throw new Error(`downloading ${asset.url} failed${status ? ` (HTTP ${status})` : ''}: ${errorText(err)}`);
    }
    if (expectedSha256 === null)
        return dest;
    const actual = await (0,files/* sha256File */.Q)(dest);
    if (actual !== expectedSha256.toLowerCase()) {
        await external_node_fs_.promises.rm(dir, { recursive: true, force: true });
        throw new Error(`sha256 mismatch for ${asset.name} from ${asset.url}: expected ${expectedSha256}, got ${actual}; the download was deleted`);
    }
    log.debug(`sha256 of ${asset.name} verified: ${actual}`);
    return dest;
}
function httpStatus(err) {
    if (err instanceof tool_cache.HTTPError)
        return err.httpStatusCode;
    const code = err?.httpStatusCode;
    return typeof code === 'number' ? code : undefined;
}
/** GET /repos/<repo>/releases/latest or /releases/tags/<tag> of the tool's GitHub repository. */
function fetchRelease(tool, tag, options = {}) {
    return (0,releases/* fetchGithubRelease */.$V)(REPOS[tool], tag, options);
}
/** A buildkitd on PATH and the version it reports, if any. */
async function buildkitdOnPath(searchPath) {
    const found = await findExecutable('buildkitd', searchPath ?? pathDirs());
    if (!found)
        return undefined;
    const output = await (0,exec/* execSimple */.k)(found, ['--version'], { timeoutMs: 10_000 }).catch(() => '');
    const tag = parseBuildkitdVersion(output);
    return tag ? { path: found, tag } : { path: found };
}
function pathDirs() {
    return (process.env['PATH'] ?? '').split(external_node_path_.delimiter).filter(Boolean);
}
async function exists(p) {
    try {
        await external_node_fs_.promises.access(p);
        return true;
    }
    catch {
        return false;
    }
}
function errorText(err) {
    const text = err instanceof Error ? err.message : String(err);
    return text.split('\n')[0].trim();
}

;// CONCATENATED MODULE: ./src/builder/local/start.ts
// The local fallback end to end: get buildkitd, look at the runner, pick a
// mode (rootless first), start the daemon. Each step is injectable so the
// wiring is testable without downloads or sudo.








const defaultDeps = {
    installBuildkit: installBuildkit,
    installRootlesskit: installRootlesskit,
    probeHost: probeHostFacts,
    startDaemon: daemon/* startLocalDaemon */.ex,
    installAppArmorProfile: apparmor/* installAppArmorProfile */.TK,
    removeAppArmorProfile: apparmor/* stopAppArmorProfile */.m,
    probe: probe/* probeBuilder */.gH,
    info: runner.info,
    warning: (m) => runner.warning(m),
};
async function startLocalBuilder(options = {}, overrides = {}) {
    const deps = { ...defaultDeps, ...overrides };
    // The same API token, trust choice and cancel for both installers.
    const { signal } = options;
    const shared = {
        ...(options.githubToken ? { githubToken: options.githubToken } : {}),
        ...(options.allowUnverifiedDownloads ? { allowUnverified: true } : {}),
        ...(signal ? { signal } : {}),
    };
    const buildkit = await deps.installBuildkit({
        ...(options.buildkitVersion ? { version: options.buildkitVersion } : {}),
        ...(options.buildkitDownloadUrl ? { downloadUrl: options.buildkitDownloadUrl } : {}),
        ...shared,
    });
    (0,cancel/* throwIfCancelled */.dZ)(signal, 'getting buildkitd');
    const facts = await deps.probeHost({ extraPath: [buildkit.binDir] });
    (0,cancel/* throwIfCancelled */.dZ)(signal, 'checking the runner for a local buildkitd');
    const decision = decideLocalMode(facts);
    if (decision.mode === 'none')
        throw preflightError(decision);
    deps.info(`Local BuildKit ${buildkit.tag}: ${decision.mode} (${decision.reason})`);
    const common = {
        buildkitd: external_node_path_.join(buildkit.binDir, 'buildkitd'),
        version: buildkit.tag,
        extraPath: [buildkit.binDir],
        probe: deps.probe,
        log: deps.info,
        ...(options.configToml ? { configToml: options.configToml } : {}),
        ...(options.readyTimeoutMs ? { readyTimeoutMs: options.readyTimeoutMs } : {}),
        ...(options.onSpawn ? { onSpawn: options.onSpawn } : {}),
        ...(signal ? { signal } : {}),
    };
    if (decision.mode !== 'rootless')
        return deps.startDaemon({ ...common, mode: decision.mode });
    let profile;
    try {
        const rk = await deps.installRootlesskit({
            ...(options.rootlesskitVersion ? { version: options.rootlesskitVersion } : {}),
            ...(options.rootlesskitDownloadUrl ? { downloadUrl: options.rootlesskitDownloadUrl } : {}),
            ...shared,
        });
        (0,cancel/* throwIfCancelled */.dZ)(signal, 'getting rootlesskit');
        const rootlesskit = external_node_path_.join(rk.binDir, 'rootlesskit');
        if (decision.installAppArmorProfile)
            profile = await deps.installAppArmorProfile(rootlesskit);
        return await deps.startDaemon({ ...common, mode: 'rootless', rootlesskit, ...(profile ? { apparmorProfile: profile } : {}) });
    }
    catch (err) {
        if (profile)
            await deps.removeAppArmorProfile(profile).catch(() => undefined);
        if (err instanceof cancel/* CancelledError */.cc || signal?.aborted)
            throw err;
        // Rootless can fail in ways no probe predicts (seccomp, nested containers); root via sudo still works there.
        if (!facts.passwordlessSudo)
            throw err;
        deps.warning(`Rootless buildkitd failed, falling back to a rootful daemon via sudo: ${firstLine(err)}`);
        return deps.startDaemon({ ...common, mode: 'sudo' });
    }
}
function firstLine(err) {
    return (err instanceof Error ? err.message : String(err)).split('\n')[0];
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


/***/ })

};

//# sourceMappingURL=502.index.js.map