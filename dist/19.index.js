export const id = 19;
export const ids = [19];
export const modules = {

/***/ 5133:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   TK: () => (/* binding */ installAppArmorProfile),
/* harmony export */   m: () => (/* binding */ stopAppArmorProfile)
/* harmony export */ });
/* unused harmony export appArmorProfileText */
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(3024);
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_fs__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(6760);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__webpack_require__.n(node_path__WEBPACK_IMPORTED_MODULE_1__);
/* harmony import */ var _common_exec_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(3644);
/* harmony import */ var _common_verify_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(7160);
// The AppArmor profile that lets rootlesskit create user namespaces on
// kernels that restrict them (Ubuntu 24.04), installed and removed with sudo.




const APPARMOR_PROFILE_NAME = 'envd-remote-build-rootlesskit';
/**
 * An AppArmor profile that lets exactly one binary (our rootlesskit) create
 * user namespaces, for Ubuntu's kernel.apparmor_restrict_unprivileged_userns=1.
 * Unconfined otherwise: the point is to lift the one restriction, nothing more.
 */
function appArmorProfileText(rootlesskitPath) {
    if (!node_path__WEBPACK_IMPORTED_MODULE_1__.isAbsolute(rootlesskitPath) || /["\n\0]/.test(rootlesskitPath)) {
        throw new Error(`cannot write an AppArmor profile for "${rootlesskitPath}": need an absolute path without quotes or newlines`);
    }
    return [
        'abi <abi/4.0>,',
        'include <tunables/global>',
        '',
        `profile ${APPARMOR_PROFILE_NAME} "${rootlesskitPath}" flags=(unconfined) {`,
        '  userns,',
        '}',
        '',
    ].join('\n');
}
/** Writes and loads the profile with sudo; returns the profile file path (for the handle). */
async function installAppArmorProfile(rootlesskitPath) {
    // AppArmor matches the resolved path; the tool cache has no symlinks but PATH entries might.
    const real = await node_fs__WEBPACK_IMPORTED_MODULE_0__.promises.realpath(rootlesskitPath);
    const file = `/etc/apparmor.d/${APPARMOR_PROFILE_NAME}`;
    // Written in a fresh 0700 directory, never at a predictable path in a shared
    // temp dir: root installs whatever this file holds when sudo copies it.
    const dir = await (0,_common_verify_js__WEBPACK_IMPORTED_MODULE_2__/* .privateDir */ .XK)('apparmor-');
    const tmp = node_path__WEBPACK_IMPORTED_MODULE_1__.join(dir, APPARMOR_PROFILE_NAME);
    try {
        await node_fs__WEBPACK_IMPORTED_MODULE_0__.promises.writeFile(tmp, appArmorProfileText(real), { mode: 0o600, flag: 'wx' });
        await (0,_common_exec_js__WEBPACK_IMPORTED_MODULE_3__/* .execSimple */ .k)('sudo', ['-n', 'install', '-m', '0644', tmp, file]);
        await (0,_common_exec_js__WEBPACK_IMPORTED_MODULE_3__/* .execSimple */ .k)('sudo', ['-n', 'apparmor_parser', '-r', file]);
    }
    catch (err) {
        throw new Error(`could not load an AppArmor profile for ${real}: ${err instanceof Error ? err.message : String(err)}`);
    }
    finally {
        await node_fs__WEBPACK_IMPORTED_MODULE_0__.promises.rm(dir, { recursive: true, force: true });
    }
    return file;
}
/** Unloads and deletes a profile installAppArmorProfile wrote; ignores any other path. */
async function stopAppArmorProfile(file) {
    if (file !== `/etc/apparmor.d/${APPARMOR_PROFILE_NAME}`)
        return; // only ever our own file
    await (0,_common_exec_js__WEBPACK_IMPORTED_MODULE_3__/* .execSimple */ .k)('sudo', ['-n', 'apparmor_parser', '-R', file]).catch(() => undefined);
    await (0,_common_exec_js__WEBPACK_IMPORTED_MODULE_3__/* .execSimple */ .k)('sudo', ['-n', 'rm', '-f', '--', file]);
}


/***/ }),

/***/ 5019:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   Ty: () => (/* binding */ readLogTail),
/* harmony export */   ee: () => (/* binding */ stopLocalDaemon),
/* harmony export */   ex: () => (/* binding */ startLocalDaemon)
/* harmony export */ });
/* unused harmony exports traceSocketArgs, isOurDaemon */
/* harmony import */ var node_child_process__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(1421);
/* harmony import */ var node_child_process__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_child_process__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(3024);
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__webpack_require__.n(node_fs__WEBPACK_IMPORTED_MODULE_1__);
/* harmony import */ var node_os__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(8161);
/* harmony import */ var node_os__WEBPACK_IMPORTED_MODULE_2___default = /*#__PURE__*/__webpack_require__.n(node_os__WEBPACK_IMPORTED_MODULE_2__);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(6760);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_3___default = /*#__PURE__*/__webpack_require__.n(node_path__WEBPACK_IMPORTED_MODULE_3__);
/* harmony import */ var _buildkit_endpoint_js__WEBPACK_IMPORTED_MODULE_7__ = __webpack_require__(8559);
/* harmony import */ var _common_files_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(8994);
/* harmony import */ var _common_cancel_js__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(551);
/* harmony import */ var _common_exec_js__WEBPACK_IMPORTED_MODULE_8__ = __webpack_require__(3644);
/* harmony import */ var _apparmor_js__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(5133);
// Starting and stopping our own buildkitd. The main step starts it detached and
// records a serialisable handle; the post step (a different Node process) stops
// it from that handle alone, so everything stop needs is in the handle or in
// /proc, and stop never signals a PID it cannot prove is ours.









/** sun_path is 108 bytes including the NUL. */
const MAX_SOCKET_PATH = 107;
const LOG_TAIL_LINES = 30;
/**
 * From v0.13 on, buildkitd running as root serves its trace collector at the
 * fixed /run/buildkit/otel-grpc.sock, mode 0666, after removing whatever is
 * there: it would take that path from a buildkitd already running on the
 * host, and any local user could reach the socket. `--otel-socket-path`
 * (added in the same release) puts it in our private directory instead.
 * Decided from the version we installed, not by running the binary first: a
 * run before the spawn is recorded could not be cancelled or cleaned up.
 * Before v0.13 the socket lives under `--root`, which is ours already.
 */
function traceSocketArgs(version, stateDir) {
    const m = /^v?(\d+)\.(\d+)\./.exec(version ?? '');
    if (!m)
        return [];
    const [major, minor] = [Number(m[1]), Number(m[2])];
    return major > 0 || minor >= 13 ? ['--otel-socket-path', node_path__WEBPACK_IMPORTED_MODULE_3__.join(stateDir, 'otel.sock')] : [];
}
/** Starts buildkitd detached and waits until it answers Info/ListWorkers. */
async function startLocalDaemon(options) {
    if (options.mode === 'rootless' && !options.rootlesskit)
        throw new Error('rootless mode needs the path of rootlesskit');
    const cancelled = () => new _common_cancel_js__WEBPACK_IMPORTED_MODULE_5__/* .CancelledError */ .cc(`starting buildkitd (${options.mode})`);
    if (options.signal?.aborted)
        throw cancelled();
    const stateDir = await makeStateDir(options.parentDir);
    const socketPath = node_path__WEBPACK_IMPORTED_MODULE_3__.join(stateDir, 'buildkitd.sock');
    const socket = `unix://${socketPath}`;
    const logFile = node_path__WEBPACK_IMPORTED_MODULE_3__.join(stateDir, 'buildkitd.log');
    const endpoint = (0,_buildkit_endpoint_js__WEBPACK_IMPORTED_MODULE_7__/* .parseEndpoint */ .Bk)(socket);
    const daemonArgs = ['--root', node_path__WEBPACK_IMPORTED_MODULE_3__.join(stateDir, 'root'), '--addr', socket, ...traceSocketArgs(options.version, stateDir)];
    const config = options.configToml?.trim();
    if (config) {
        const configFile = node_path__WEBPACK_IMPORTED_MODULE_3__.join(stateDir, 'buildkitd.toml');
        await node_fs__WEBPACK_IMPORTED_MODULE_1__.promises.writeFile(configFile, `${config}\n`, { mode: 0o600 });
        daemonArgs.push('--config', configFile);
    }
    // Runners with Docker have /run/containerd/containerd.sock; buildkitd would
    // also start a containerd worker against the host's containerd. Only the OCI
    // worker is ours, unless the user's config chooses workers itself.
    if (!config || !/\[\s*worker\./.test(config))
        daemonArgs.push('--oci-worker=true', '--containerd-worker=false');
    const envPath = [...(options.extraPath ?? []), node_path__WEBPACK_IMPORTED_MODULE_3__.dirname(options.buildkitd), process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin', '/usr/local/sbin:/usr/sbin:/sbin'].join(node_path__WEBPACK_IMPORTED_MODULE_3__.delimiter);
    const env = { ...process.env, PATH: envPath };
    let command;
    let args;
    const pidFile = node_path__WEBPACK_IMPORTED_MODULE_3__.join(stateDir, 'daemon.pid');
    switch (options.mode) {
        case 'rootful':
            command = options.buildkitd;
            args = daemonArgs;
            break;
        case 'rootless': {
            // runc inside the namespace believes it is root and would use /run/runc;
            // a private XDG_RUNTIME_DIR gives it (and rootlesskit) a directory we own.
            const xdg = node_path__WEBPACK_IMPORTED_MODULE_3__.join(stateDir, 'xdg');
            await node_fs__WEBPACK_IMPORTED_MODULE_1__.promises.mkdir(xdg, { mode: 0o700 });
            env['XDG_RUNTIME_DIR'] = xdg;
            command = options.rootlesskit;
            args = [
                `--state-dir=${node_path__WEBPACK_IMPORTED_MODULE_3__.join(stateDir, 'rootlesskit')}`,
                '--net=host',
                '--copy-up=/etc',
                '--disable-host-loopback',
                options.buildkitd,
                ...(options.noProcessSandbox ? ['--oci-worker-no-process-sandbox'] : []),
                ...daemonArgs,
            ];
            break;
        }
        case 'sudo': {
            // sudo resets PATH (secure_path), so `env` puts ours back for buildkit-runc.
            // The shell records its own PID and execs buildkitd, so the PID file names
            // the daemon itself, not sudo; stop signals it through `sudo kill`.
            const gid = options.socketGid ?? process.getgid?.() ?? 0;
            command = 'sudo';
            args = ['-n', '--', 'env', `PATH=${envPath}`, 'sh', '-c', 'echo $$ > "$0" && exec "$@"', pidFile, options.buildkitd, '--group', String(gid), ...daemonArgs];
            break;
        }
    }
    if (options.signal?.aborted) {
        // Nothing runs yet: only the directory to remove.
        await node_fs__WEBPACK_IMPORTED_MODULE_1__.promises.rm(stateDir, { recursive: true, force: true });
        throw cancelled();
    }
    const out = (0,node_fs__WEBPACK_IMPORTED_MODULE_1__.openSync)(logFile, 'a', 0o600);
    let child;
    try {
        child = (0,node_child_process__WEBPACK_IMPORTED_MODULE_0__.spawn)(command, args, { detached: true, stdio: ['ignore', out, out], env, cwd: stateDir });
    }
    finally {
        (0,node_fs__WEBPACK_IMPORTED_MODULE_1__.closeSync)(out);
    }
    const exited = new Promise((resolve) => {
        child.once('exit', (code, signal) => resolve(signal ? `was killed by ${signal}` : `exited with code ${code}`));
        child.once('error', (err) => resolve(`could not be started: ${err.message}`));
    });
    child.unref();
    const startedAt = new Date().toISOString();
    const spawnedPid = child.pid;
    const describe = `buildkitd (${options.mode})`;
    const partial = (pid) => ({
        pid,
        ...(options.mode === 'sudo' ? {} : { pgid: pid }),
        stateDir,
        socket,
        mode: options.mode,
        startedAt,
        logFile,
        ...(options.mode === 'rootless' ? { rootlesskit: options.rootlesskit } : {}),
        ...(options.apparmorProfile ? { apparmorProfile: options.apparmorProfile } : {}),
    });
    // Recorded before anything else can happen (for sudo, sudo's PID until the daemon's own is known).
    if (spawnedPid !== undefined)
        options.onSpawn?.(partial(spawnedPid));
    const timeoutMs = options.readyTimeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    let exitReason;
    void exited.then((r) => (exitReason = r));
    const { signal } = options;
    try {
        if (spawnedPid === undefined) {
            throw new Error(`${describe} ${await exited}${await logTailSuffix(logFile)}`);
        }
        let pid = spawnedPid;
        if (options.mode === 'sudo') {
            pid = await waitForPidFile(pidFile, deadline, () => exitReason, signal);
            options.onSpawn?.(partial(pid));
        }
        const info = await waitUntilReady({ endpoint, socketPath, deadline, probe: options.probe, exitReason: () => exitReason, timeoutMs, signal });
        const handle = partial(pid);
        options.log?.(`${describe} is ready at ${socket} (pid ${pid})`);
        return { handle, endpoint, info };
    }
    catch (err) {
        const wasCancelled = err instanceof _common_cancel_js__WEBPACK_IMPORTED_MODULE_5__/* .CancelledError */ .cc || !!signal?.aborted;
        const reason = exitReason ? `${describe} ${exitReason} before it became ready` : err instanceof Error ? err.message : String(err);
        // Read the log before anything deletes it, then clear away the attempt.
        const tail = await logTailSuffix(logFile);
        if (!exitReason && spawnedPid !== undefined) {
            if (options.mode === 'sudo') {
                // Root's process: only via sudo kill, and only after the ownership check.
                const pid = await readPidFile(pidFile);
                if (pid !== undefined)
                    await stopLocalDaemon(partial(pid), { termTimeoutMs: 5000 }).catch(() => undefined);
            }
            else {
                // Our own child that has not exited: its group is ours whatever it exec'd into.
                await killGroup(spawnedPid, () => exitReason !== undefined);
            }
        }
        await removeStateDir(partial(spawnedPid ?? 2)).catch(() => undefined);
        if (wasCancelled)
            throw cancelled();
        throw new Error(`${reason}${tail}`);
    }
}
/** SIGTERM to the group, SIGKILL after 5 s; `gone` reports the child's exit event. */
async function killGroup(pgid, gone) {
    const send = (sig) => {
        try {
            process.kill(-pgid, sig);
        }
        catch {
            // already gone
        }
    };
    send('SIGTERM');
    for (let i = 0; i < 50 && !gone(); i++)
        await sleep(100);
    // Once the leader is reaped its PID may be handed out again; never signal it then.
    if (gone())
        return;
    send('SIGKILL');
    for (let i = 0; i < 20 && !gone(); i++)
        await sleep(100);
}
async function makeStateDir(parentDir) {
    let parent = parentDir ?? process.env['RUNNER_TEMP'] ?? node_os__WEBPACK_IMPORTED_MODULE_2__.tmpdir();
    // mkdtemp adds 6 characters; the socket name is 15 more.
    if (Buffer.byteLength(node_path__WEBPACK_IMPORTED_MODULE_3__.join(parent, 'envd-buildkitd-XXXXXX', 'buildkitd.sock')) > MAX_SOCKET_PATH)
        parent = node_os__WEBPACK_IMPORTED_MODULE_2__.tmpdir();
    await node_fs__WEBPACK_IMPORTED_MODULE_1__.promises.mkdir(parent, { recursive: true });
    const dir = await node_fs__WEBPACK_IMPORTED_MODULE_1__.promises.mkdtemp(node_path__WEBPACK_IMPORTED_MODULE_3__.join(parent, 'envd-buildkitd-'));
    await node_fs__WEBPACK_IMPORTED_MODULE_1__.promises.chmod(dir, 0o700);
    return dir;
}
async function waitForPidFile(pidFile, deadline, exitReason, signal) {
    for (let delay = 20;; delay = Math.min(delay * 2, 500)) {
        const pid = await readPidFile(pidFile);
        if (pid !== undefined)
            return pid;
        const reason = exitReason();
        if (reason)
            throw new Error(`sudo ${reason}`);
        if (Date.now() > deadline)
            throw new Error('sudo did not start buildkitd in time');
        await (0,_common_cancel_js__WEBPACK_IMPORTED_MODULE_5__/* .sleep */ .yy)(delay, signal, 'starting buildkitd');
    }
}
async function readPidFile(pidFile) {
    try {
        const n = Number.parseInt((await node_fs__WEBPACK_IMPORTED_MODULE_1__.promises.readFile(pidFile, 'utf8')).trim(), 10);
        return Number.isInteger(n) && n > 1 ? n : undefined;
    }
    catch {
        return undefined;
    }
}
async function waitUntilReady(p) {
    let delay = 50;
    let lastError = 'the socket never appeared';
    for (;;) {
        if (p.exitReason())
            throw new Error('exited');
        if (p.signal?.aborted)
            throw new _common_cancel_js__WEBPACK_IMPORTED_MODULE_5__/* .CancelledError */ .cc('waiting for buildkitd to answer');
        const remaining = p.deadline - Date.now();
        if (remaining <= 0)
            break;
        // Dialling a socket that does not exist yet only burns the probe's deadline.
        if (await (0,_common_files_js__WEBPACK_IMPORTED_MODULE_4__/* .pathExists */ .s)(p.socketPath)) {
            try {
                return await p.probe(p.endpoint, Math.max(250, Math.min(remaining, 5000)), p.signal);
            }
            catch (err) {
                if (err instanceof _common_cancel_js__WEBPACK_IMPORTED_MODULE_5__/* .CancelledError */ .cc)
                    throw err;
                lastError = err instanceof Error ? err.message : String(err);
            }
        }
        if (p.exitReason())
            throw new Error('exited');
        await (0,_common_cancel_js__WEBPACK_IMPORTED_MODULE_5__/* .sleep */ .yy)(Math.min(delay, Math.max(0, p.deadline - Date.now())), p.signal, 'waiting for buildkitd to answer');
        delay = Math.min(delay * 2, 2000);
    }
    throw new Error(`buildkitd did not become ready within ${Math.round(p.timeoutMs / 1000)}s (${lastError})`);
}
async function logTailSuffix(logFile) {
    const tail = await readLogTail(logFile, LOG_TAIL_LINES);
    return tail ? `; last lines of ${logFile}:\n${tail}` : `; ${logFile} is empty`;
}
/** Last `lines` lines of a log file ('' when missing or empty). */
async function readLogTail(file, lines = LOG_TAIL_LINES) {
    try {
        const text = await node_fs__WEBPACK_IMPORTED_MODULE_1__.promises.readFile(file, 'utf8');
        return text.trimEnd().split('\n').slice(-lines).join('\n');
    }
    catch {
        return '';
    }
}
/**
 * Stops the daemon the handle describes and removes its directory. Idempotent.
 * Throws (without signalling anything) when the PID is alive but its command
 * line is not our buildkitd/rootlesskit for this state directory.
 */
async function stopLocalDaemon(handle, options = {}) {
    validateHandle(handle);
    let signalled = false;
    let killed = false;
    if (await isAlive(handle.pid)) {
        const cmdline = await readCmdline(handle.pid);
        if (!isOurDaemon(cmdline, handle)) {
            throw new Error(`refusing to stop pid ${handle.pid}: it is not the buildkitd started for ${handle.stateDir} (its command line is "${cmdline.replace(/\0/g, ' ').slice(0, 200) || 'unreadable'}")`);
        }
        signalled = true;
        await signalDaemon(handle, 'SIGTERM');
        if (!(await waitForExit(handle.pid, options.termTimeoutMs ?? 10_000))) {
            options.log?.(`buildkitd (pid ${handle.pid}) ignored SIGTERM for ${Math.round((options.termTimeoutMs ?? 10_000) / 1000)}s; sending SIGKILL`);
            killed = true;
            // Check again: between the wait and now the PID may have been freed and reused.
            if (isOurDaemon(await readCmdline(handle.pid), handle))
                await signalDaemon(handle, 'SIGKILL');
            await waitForExit(handle.pid, 5000);
        }
    }
    const removed = await removeStateDir(handle);
    if (handle.apparmorProfile)
        await (0,_apparmor_js__WEBPACK_IMPORTED_MODULE_6__/* .stopAppArmorProfile */ .m)(handle.apparmorProfile).catch((err) => options.log?.(`could not remove ${handle.apparmorProfile}: ${String(err)}`));
    return { signalled, killed, removed };
}
function validateHandle(h) {
    // A handle comes back from action state; a corrupt one must not aim rm -rf or kill anywhere odd.
    if (!Number.isInteger(h.pid) || h.pid <= 1)
        throw new Error(`invalid local builder handle: pid ${String(h.pid)}`);
    if (h.pgid !== undefined && (!Number.isInteger(h.pgid) || h.pgid <= 1))
        throw new Error(`invalid local builder handle: pgid ${String(h.pgid)}`);
    if (!node_path__WEBPACK_IMPORTED_MODULE_3__.isAbsolute(h.stateDir) || node_path__WEBPACK_IMPORTED_MODULE_3__.normalize(h.stateDir) !== h.stateDir || !node_path__WEBPACK_IMPORTED_MODULE_3__.basename(h.stateDir).startsWith('envd-buildkitd-')) {
        throw new Error(`invalid local builder handle: state directory "${h.stateDir}" is not one this action creates`);
    }
}
/** The command line names buildkitd or rootlesskit and our state directory. */
function isOurDaemon(cmdline, handle) {
    const args = cmdline.split('\0');
    const names = args.some((a) => /(^|\/)(buildkitd|rootlesskit)$/.test(a));
    const dirArg = args.some((a) => a === handle.stateDir || a.startsWith(`${handle.stateDir}/`) || a.includes(`=${handle.stateDir}/`) || a.includes(`//${handle.stateDir}/`));
    return names && dirArg;
}
async function readCmdline(pid) {
    try {
        return (await node_fs__WEBPACK_IMPORTED_MODULE_1__.promises.readFile(`/proc/${pid}/cmdline`, 'utf8')).replace(/\0+$/, '');
    }
    catch {
        return '';
    }
}
/** Alive = /proc entry exists and is not a zombie (zombies hold the PID but run nothing). */
async function isAlive(pid) {
    try {
        const stat = await node_fs__WEBPACK_IMPORTED_MODULE_1__.promises.readFile(`/proc/${pid}/stat`, 'utf8');
        const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
        return state !== 'Z' && state !== 'X';
    }
    catch {
        return false;
    }
}
async function waitForExit(pid, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    while (await isAlive(pid)) {
        if (Date.now() >= deadline)
            return false;
        await sleep(100);
    }
    return true;
}
async function signalDaemon(handle, signal) {
    if (handle.mode === 'sudo') {
        await (0,_common_exec_js__WEBPACK_IMPORTED_MODULE_8__/* .execSimple */ .k)('sudo', ['-n', 'kill', `-${signal.slice(3)}`, String(handle.pid)]).catch(() => undefined);
        return;
    }
    // The group takes runc and rootlesskit's children along; we only own it when the leader is ours.
    const target = handle.pgid === handle.pid ? -handle.pid : handle.pid;
    try {
        process.kill(target, signal);
    }
    catch (err) {
        if (err.code !== 'ESRCH')
            throw err;
    }
}
/** Unmounts leftovers below the directory, then deletes it with the rights its files need. */
async function removeStateDir(handle) {
    if (!(await (0,_common_files_js__WEBPACK_IMPORTED_MODULE_4__/* .pathExists */ .s)(handle.stateDir)))
        return false;
    const asRoot = handle.mode === 'sudo';
    if (handle.mode !== 'rootless') {
        // A daemon killed mid-build can leave overlay mounts; rm would fail with EBUSY.
        for (const mount of await mountsBelow(handle.stateDir)) {
            await (asRoot ? (0,_common_exec_js__WEBPACK_IMPORTED_MODULE_8__/* .execSimple */ .k)('sudo', ['-n', 'umount', '-l', mount]) : (0,_common_exec_js__WEBPACK_IMPORTED_MODULE_8__/* .execSimple */ .k)('umount', ['-l', mount])).catch(() => undefined);
        }
    }
    if (asRoot) {
        await (0,_common_exec_js__WEBPACK_IMPORTED_MODULE_8__/* .execSimple */ .k)('sudo', ['-n', 'rm', '-rf', '--', handle.stateDir]);
    }
    else {
        try {
            await node_fs__WEBPACK_IMPORTED_MODULE_1__.promises.rm(handle.stateDir, { recursive: true, force: true });
        }
        catch (err) {
            // Rootless snapshots hold files owned by sub-UIDs; only inside the user namespace can we delete them.
            if (handle.mode !== 'rootless' || !handle.rootlesskit)
                throw err;
            const scratch = await node_fs__WEBPACK_IMPORTED_MODULE_1__.promises.mkdtemp(node_path__WEBPACK_IMPORTED_MODULE_3__.join(node_os__WEBPACK_IMPORTED_MODULE_2__.tmpdir(), 'envd-rk-rm-'));
            try {
                await (0,_common_exec_js__WEBPACK_IMPORTED_MODULE_8__/* .execSimple */ .k)(handle.rootlesskit, [`--state-dir=${node_path__WEBPACK_IMPORTED_MODULE_3__.join(scratch, 'rk')}`, '--net=host', 'rm', '-rf', '--', handle.stateDir], {
                    env: { XDG_RUNTIME_DIR: scratch },
                });
            }
            finally {
                await node_fs__WEBPACK_IMPORTED_MODULE_1__.promises.rm(scratch, { recursive: true, force: true });
            }
        }
    }
    if (await (0,_common_files_js__WEBPACK_IMPORTED_MODULE_4__/* .pathExists */ .s)(handle.stateDir))
        throw new Error(`could not remove ${handle.stateDir}`);
    return true;
}
async function mountsBelow(dir) {
    try {
        const text = await node_fs__WEBPACK_IMPORTED_MODULE_1__.promises.readFile('/proc/self/mountinfo', 'utf8');
        return text
            .split('\n')
            .map((l) => l.split(' ')[4])
            .filter((m) => !!m && (m === dir || m.startsWith(`${dir}/`)))
            .map((m) => m.replace(/\\(\d{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8))))
            .sort((a, b) => b.length - a.length);
    }
    catch {
        return [];
    }
}
// --- helpers ------------------------------------------------------------------
function sleep(ms) {
    return new Promise((r) => setTimeout(r, ms));
}


/***/ }),

/***/ 3644:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   b: () => (/* binding */ execSucceeds),
/* harmony export */   k: () => (/* binding */ execSimple)
/* harmony export */ });
/* harmony import */ var _child_process_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(4067);
// One way to run a short command and wait for it: sudo probes and calls,
// umount, `--version`. The long-running and streaming cases (the daemon
// itself, envd, credential helpers) have their own spawning code, since they
// need detached process groups, streamed output or bounded stdin/stdout.
// Not @actions/exec: it has no timeout, and a hung `sudo` must not hang the job.

/** Runs `cmd args`; resolves with its stdout, rejects with one line naming the command and its first stderr line. */
function execSimple(cmd, args, options = {}) {
    return new Promise((resolve, reject) => {
        (0,_child_process_js__WEBPACK_IMPORTED_MODULE_0__/* .childProcess */ .Q)().execFile(cmd, [...args], { timeout: options.timeoutMs ?? 60_000, env: { ...process.env, ...options.env } }, (err, stdout, stderr) => {
            if (!err)
                return resolve(String(stdout));
            const detail = String(stderr).trim().split('\n')[0] || err.message.split('\n')[0];
            reject(new Error(`${[cmd, ...args].join(' ')} failed: ${detail}`));
        });
    });
}
/** True when `cmd args` exits 0 within the timeout. */
function execSucceeds(cmd, args, options = {}) {
    return execSimple(cmd, args, options).then(() => true, () => false);
}


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


/***/ })

};

//# sourceMappingURL=19.index.js.map