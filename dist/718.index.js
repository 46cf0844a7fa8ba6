export const id = 718;
export const ids = [718];
export const modules = {

/***/ 7718:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   isOwnTempDir: () => (/* binding */ isOwnTempDir),
/* harmony export */   post: () => (/* binding */ post)
/* harmony export */ });
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(1455);
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_fs_promises__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var node_os__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(8161);
/* harmony import */ var node_os__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__webpack_require__.n(node_os__WEBPACK_IMPORTED_MODULE_1__);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(6760);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_2___default = /*#__PURE__*/__webpack_require__.n(node_path__WEBPACK_IMPORTED_MODULE_2__);
/* harmony import */ var _github_runner_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(9373);
/* harmony import */ var _builder_local_daemon_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(5019);
/* harmony import */ var _envd_context_js__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(7230);
/* harmony import */ var _state_js__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(3175);
// The post step: undoes what main started, whatever state main ended in.
// Each cleanup is independent, so one failing does not skip the others.
//
// The state is input, not gospel: before anything is stopped or deleted, each
// path must be one main makes (its own name prefix, directly in RUNNER_TEMP
// or the OS temp directory main falls back to, a real directory of ours), and
// post runs no program a state value names.







/** The prefix of the local daemon's state directory (daemon.ts makeStateDir). */
const DAEMON_DIR_PREFIX = 'envd-buildkitd-';
/** The daemon's log inside its state directory (daemon.ts startLocalDaemon). */
const DAEMON_LOG = 'buildkitd.log';
async function post(env = process.env) {
    const state = (0,_state_js__WEBPACK_IMPORTED_MODULE_6__/* .loadState */ .C7)(env);
    const tasks = [];
    const context = state.envdContext;
    if (context) {
        tasks.push([
            'remove the envd context',
            async () => {
                if (!(await isOwnTempDir(context.home, _envd_context_js__WEBPACK_IMPORTED_MODULE_5__.ENVD_HOME_PREFIX, env))) {
                    _github_runner_js__WEBPACK_IMPORTED_MODULE_3__.warning(`post: not removing "${String(context.home)}": it is not a directory this action creates in RUNNER_TEMP`);
                    return;
                }
                // Without envdPath it only deletes the home, which holds envd's whole
                // context; the envd binary the state names is not run.
                await (0,_envd_context_js__WEBPACK_IMPORTED_MODULE_5__.removeEnvdContext)({ name: context.name, home: context.home });
            },
        ]);
    }
    const handle = state.localBuilder;
    if (handle) {
        tasks.push([
            'stop the local buildkitd',
            async () => {
                if (!(await isOwnTempDir(handle.stateDir, DAEMON_DIR_PREFIX, env))) {
                    _github_runner_js__WEBPACK_IMPORTED_MODULE_3__.warning(`post: not stopping the local buildkitd of "${String(handle.stateDir)}": it is not a directory this action creates in RUNNER_TEMP`);
                    return;
                }
                // The log lives in the state directory that stopping removes: show it
                // first. It is the daemon's text, and only its own log is read.
                const tail = handle.logFile === node_path__WEBPACK_IMPORTED_MODULE_2__.join(handle.stateDir, DAEMON_LOG) ? await (0,_builder_local_daemon_js__WEBPACK_IMPORTED_MODULE_4__/* .readLogTail */ .Ty)(handle.logFile, 30).catch(() => '') : '';
                if (tail) {
                    _github_runner_js__WEBPACK_IMPORTED_MODULE_3__.startGroup('Local buildkitd log (last lines)');
                    _github_runner_js__WEBPACK_IMPORTED_MODULE_3__.untrusted(tail);
                    _github_runner_js__WEBPACK_IMPORTED_MODULE_3__.endGroup();
                }
                const result = await (0,_builder_local_daemon_js__WEBPACK_IMPORTED_MODULE_4__/* .stopLocalDaemon */ .ee)(handle, { log: (m) => _github_runner_js__WEBPACK_IMPORTED_MODULE_3__.untrusted(m) });
                _github_runner_js__WEBPACK_IMPORTED_MODULE_3__.info(`local buildkitd: ${result.killed ? 'killed' : result.signalled ? 'stopped' : 'already stopped'}${result.removed ? ', state removed' : ''}`);
            },
        ]);
    }
    for (const [what, task] of tasks) {
        try {
            await task();
        }
        catch (err) {
            _github_runner_js__WEBPACK_IMPORTED_MODULE_3__.warning(`post: could not ${what}: ${err instanceof Error ? err.message : String(err)}`);
        }
    }
    _github_runner_js__WEBPACK_IMPORTED_MODULE_3__.resumeCommands();
}
/**
 * Whether `dir` can be a directory main made: named with `prefix`, directly
 * in RUNNER_TEMP or the OS temp directory (where main goes without
 * RUNNER_TEMP, or when a socket path there would be too long), and, if it
 * still exists, a real directory (no symlink) owned by this user.
 */
async function isOwnTempDir(dir, prefix, env = process.env) {
    if (typeof dir !== 'string' || !node_path__WEBPACK_IMPORTED_MODULE_2__.isAbsolute(dir) || node_path__WEBPACK_IMPORTED_MODULE_2__.normalize(dir) !== dir)
        return false;
    const name = node_path__WEBPACK_IMPORTED_MODULE_2__.basename(dir);
    if (!name.startsWith(prefix) || name.length === prefix.length)
        return false;
    const parents = [env['RUNNER_TEMP'], node_os__WEBPACK_IMPORTED_MODULE_1__.tmpdir()].filter((p) => !!p).map((p) => node_path__WEBPACK_IMPORTED_MODULE_2__.resolve(p));
    if (!parents.includes(node_path__WEBPACK_IMPORTED_MODULE_2__.dirname(dir)))
        return false;
    let stat;
    try {
        stat = await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.lstat)(dir);
    }
    catch (err) {
        // Gone already: nothing to delete, and a daemon is only signalled when its command line names this path.
        return err.code === 'ENOENT';
    }
    return stat.isDirectory() && !stat.isSymbolicLink() && (process.getuid === undefined || stat.uid === process.getuid());
}


/***/ }),

/***/ 7230:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   ENVD_CONNECT_TIMEOUT_ENV: () => (/* binding */ ENVD_CONNECT_TIMEOUT_ENV),
/* harmony export */   ENVD_HOME_PREFIX: () => (/* binding */ ENVD_HOME_PREFIX),
/* harmony export */   GATEWAY_SOCKET_NAME: () => (/* binding */ GATEWAY_SOCKET_NAME),
/* harmony export */   createEnvdContext: () => (/* binding */ createEnvdContext),
/* harmony export */   createEnvdHome: () => (/* binding */ createEnvdHome),
/* harmony export */   envdConnectTimeoutValue: () => (/* binding */ envdConnectTimeoutValue),
/* harmony export */   envdContextCreateArgs: () => (/* binding */ envdContextCreateArgs),
/* harmony export */   envdEnv: () => (/* binding */ envdEnv),
/* harmony export */   gatewaySocketPath: () => (/* binding */ gatewaySocketPath),
/* harmony export */   planEnvdContext: () => (/* binding */ planEnvdContext),
/* harmony export */   realDockerConfigDir: () => (/* binding */ realDockerConfigDir),
/* harmony export */   removeEnvdContext: () => (/* binding */ removeEnvdContext),
/* harmony export */   uniqueContextName: () => (/* binding */ uniqueContextName)
/* harmony export */ });
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(7598);
/* harmony import */ var node_crypto__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_crypto__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(1455);
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__webpack_require__.n(node_fs_promises__WEBPACK_IMPORTED_MODULE_1__);
/* harmony import */ var node_os__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(8161);
/* harmony import */ var node_os__WEBPACK_IMPORTED_MODULE_2___default = /*#__PURE__*/__webpack_require__.n(node_os__WEBPACK_IMPORTED_MODULE_2__);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(6760);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_3___default = /*#__PURE__*/__webpack_require__.n(node_path__WEBPACK_IMPORTED_MODULE_3__);
/* harmony import */ var _github_runner_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(9373);
/* harmony import */ var _proc_js__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(9909);
/* harmony import */ var _common_files_js__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(8994);
/* harmony import */ var _gateway_socket_js__WEBPACK_IMPORTED_MODULE_7__ = __webpack_require__(3055);
/* harmony import */ var _common_cancel_js__WEBPACK_IMPORTED_MODULE_8__ = __webpack_require__(551);
// One private, throwaway envd context per job.
//
// envd keeps its contexts, config, caches and an SSH key pair under
// $HOME/.config/envd and $HOME/.cache/envd (envd pkg/util/fileutil: derived
// from os.UserHomeDir(), i.e. $HOME; XDG variables are not consulted). On a
// self-hosted runner several jobs share one HOME, so a shared context file
// would let jobs switch each other's builder mid-build. Every envd command
// therefore runs with HOME pointing at a fresh 0700 directory of its own,
// while DOCKER_CONFIG keeps pointing at the runner's real registry logins.









/** Every private home's directory name starts with this; removal refuses other paths. */
const ENVD_HOME_PREFIX = 'envd-home-';
/**
 * The envd gateway's socket, inside the private home: that directory is 0700,
 * so no other local user can reach the builder through the gateway.
 */
const GATEWAY_SOCKET_NAME = 'gateway.sock';
/** envd's name for the builder-timeout variable (envd pkg/buildkitd/buildkitd.go). */
const ENVD_CONNECT_TIMEOUT_ENV = 'BUILDKIT_CONNECTING_TIMEOUT';
/**
 * envd polls the builder once per second and only after the first second, so
 * a timeout at or below ~1s can never succeed (pkg/buildkitd waitUntilConnected).
 */
const MIN_CONNECT_TIMEOUT_MS = 3000;
const CONTEXT_COMMAND_TIMEOUT_MS = 60_000;
/** Per envd call during cleanup; post may run while the job is being cancelled. */
const CLEANUP_COMMAND_TIMEOUT_MS = 15_000;
const WITHHELD_FROM_ENVD = ['ACTIONS_RUNTIME_TOKEN', 'ACTIONS_ID_TOKEN_REQUEST_TOKEN', 'ACTIONS_ID_TOKEN_REQUEST_URL'];
/**
 * The registry-login directory the runner's own docker/login steps wrote to.
 * Must be resolved from the real HOME: under the private HOME the docker
 * config library envd uses would look for <private>/.docker and find nothing.
 */
function realDockerConfigDir(env = process.env) {
    const explicit = env['DOCKER_CONFIG'];
    if (explicit)
        return node_path__WEBPACK_IMPORTED_MODULE_3__.resolve(explicit);
    return node_path__WEBPACK_IMPORTED_MODULE_3__.join(env['HOME'] || node_os__WEBPACK_IMPORTED_MODULE_2__.homedir(), '.docker');
}
/** Go duration string for BUILDKIT_CONNECTING_TIMEOUT (envd panics on anything time.ParseDuration rejects). */
function envdConnectTimeoutValue(connectTimeoutMs) {
    const ms = Number.isFinite(connectTimeoutMs) ? Math.round(connectTimeoutMs) : 0;
    return `${Math.max(ms, MIN_CONNECT_TIMEOUT_MS)}ms`;
}
/**
 * Environment for every envd command of this context: the runner's env
 * (PATH, proxies, CA settings, GITHUB_TOKEN for envd's gh-release helpers)
 * with our overrides on top.
 */
function envdEnv(record, connectTimeoutMs, base = process.env) {
    const inherited = { ...base };
    // The runner hands node actions credentials for its own services (cache,
    // artifacts, OIDC). envd uses none of them, so it does not get them.
    for (const k of WITHHELD_FROM_ENVD)
        delete inherited[k];
    return {
        ...inherited,
        HOME: record.home,
        DOCKER_CONFIG: realDockerConfigDir(base),
        // Off in CI: no telemetry from users' build jobs (global flag --analytics, env ENVD_ANALYTICS).
        ENVD_ANALYTICS: 'false',
        [ENVD_CONNECT_TIMEOUT_ENV]: envdConnectTimeoutValue(connectTimeoutMs),
        // envd's progress printer honours BUILDKIT_PROGRESS and errors on values
        // it does not know (e.g. rawjson); plain is right for a log anyway.
        BUILDKIT_PROGRESS: 'plain',
    };
}
/** A name envd can store and the log can show: job id + run + attempt + random. */
function uniqueContextName(env = process.env, random = (0,node_crypto__WEBPACK_IMPORTED_MODULE_0__.randomBytes)(4).toString('hex')) {
    const clean = (s, max) => (s ?? '').replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '').slice(0, max);
    const parts = [
        'erb',
        clean(env['GITHUB_JOB'], 40) || 'job',
        clean(env['GITHUB_RUN_ID'], 20) || 'local',
        clean(env['GITHUB_RUN_ATTEMPT'], 5) || '1',
        // Random part: two invocations in one job (matrix reuse, composite
        // actions calling us twice) must not collide.
        random,
    ];
    return parts.join('-');
}
/**
 * Computes the record without touching the disk. The home is named by the
 * random part only (the context name can be ~80 characters), so that the
 * socket path inside it stays within the unix socket limit.
 */
function planEnvdContext(envdPath, env = process.env) {
    const random = (0,node_crypto__WEBPACK_IMPORTED_MODULE_0__.randomBytes)(4).toString('hex');
    const name = uniqueContextName(env, random);
    const base = env['RUNNER_TEMP'] || node_os__WEBPACK_IMPORTED_MODULE_2__.tmpdir();
    return { name, home: node_path__WEBPACK_IMPORTED_MODULE_3__.join(node_path__WEBPACK_IMPORTED_MODULE_3__.resolve(base), `${ENVD_HOME_PREFIX}${random}`), envdPath: envdPath ? node_path__WEBPACK_IMPORTED_MODULE_3__.resolve(envdPath) : '' };
}
/** Where the gateway listens for this context: `<home>/gateway.sock`. */
function gatewaySocketPath(record) {
    return node_path__WEBPACK_IMPORTED_MODULE_3__.join(record.home, GATEWAY_SOCKET_NAME);
}
/**
 * Plans the context and creates its private 0700 HOME (which will also hold
 * the gateway's socket). Throws before touching the disk if the socket path
 * would be too long for a unix socket.
 */
async function createEnvdHome(opts) {
    const record = planEnvdContext(opts.envdPath);
    const socket = gatewaySocketPath(record);
    const bytes = Buffer.byteLength(socket);
    if (bytes > _gateway_socket_js__WEBPACK_IMPORTED_MODULE_7__/* .MAX_SOCKET_PATH_BYTES */ .$8) {
        throw new Error(`RUNNER_TEMP (${node_path__WEBPACK_IMPORTED_MODULE_3__.dirname(record.home)}) is too long for envd's builder socket: ${socket} is ${bytes} bytes, ` +
            `unix sockets allow ${_gateway_socket_js__WEBPACK_IMPORTED_MODULE_7__/* .MAX_SOCKET_PATH_BYTES */ .$8}`);
    }
    await opts.onRecord?.(record);
    try {
        await node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.mkdir(node_path__WEBPACK_IMPORTED_MODULE_3__.dirname(record.home), { recursive: true });
        // Not recursive for the leaf: an existing directory of that name would
        // mean a collision, and we must neither adopt nor remove someone else's
        // directory.
        await node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.mkdir(record.home, { mode: 0o700 });
    }
    catch (err) {
        throw new Error(`Could not create envd's private home ${record.home}: ${err.message}`);
    }
    try {
        // mkdir's mode is filtered by the umask; state 0700 explicitly.
        await node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.chmod(record.home, 0o700);
    }
    catch (err) {
        await removeEnvdContext(record);
        throw new Error(`Could not make envd's private home ${record.home} private: ${err.message}`);
    }
    return record;
}
/**
 * Runs `envd context create --name <name> --builder unix --builder-address <socket> --use`
 * in the record's home (made by createEnvdHome). envd prefixes the address
 * with `unix://` itself, so it gets the bare path. On failure the context
 * and its home are removed before the error is thrown.
 */
async function createEnvdContext(record, opts) {
    if (!node_path__WEBPACK_IMPORTED_MODULE_3__.isAbsolute(opts.builderSocket)) {
        throw new Error(`envd builder socket ${opts.builderSocket} is not an absolute path`);
    }
    try {
        const args = envdContextCreateArgs(record.name, opts.builderSocket);
        const r = await (0,_proc_js__WEBPACK_IMPORTED_MODULE_5__/* .runCommand */ .d)(record.envdPath, args, {
            env: envdEnv(record, opts.connectTimeoutMs),
            out: opts.out ?? _github_runner_js__WEBPACK_IMPORTED_MODULE_4__.untrustedStream,
            timeoutMs: CONTEXT_COMMAND_TIMEOUT_MS,
            tailLines: 20,
            ...(opts.signal ? { signal: opts.signal } : {}),
        });
        (0,_common_cancel_js__WEBPACK_IMPORTED_MODULE_8__/* .throwIfCancelled */ .dZ)(opts.signal, 'creating the envd context');
        if (r.code !== 0) {
            throw new Error(`envd context create failed (${(0,_proc_js__WEBPACK_IMPORTED_MODULE_5__/* .describeExit */ .K)(r, CONTEXT_COMMAND_TIMEOUT_MS)})` +
                (r.tail.length ? `; envd said:\n${r.tail.join('\n')}` : ''));
        }
        _github_runner_js__WEBPACK_IMPORTED_MODULE_4__.info(`envd context ${record.name} uses the builder gateway at ${opts.builderSocket}`);
    }
    catch (err) {
        await removeEnvdContext(record);
        throw err;
    }
}
function envdContextCreateArgs(name, builderSocket) {
    return ['context', 'create', '--name', name, '--builder', 'unix', '--builder-address', builderSocket, '--use'];
}
/**
 * Best-effort, idempotent cleanup, safe from the post step with a record of a
 * context that was only partly created (or never: then nothing happens).
 * Never throws: cleanup problems are reported as warnings.
 *
 * envd refuses to remove the current context, so the default one is selected
 * first. Strictly the `rm` is redundant (the whole private HOME goes next) but
 * it keeps envd's own view consistent should the directory outlive us.
 */
async function removeEnvdContext(record) {
    if (!record?.home || !record.name)
        return;
    const home = record.home;
    if (!isOurHome(home)) {
        _github_runner_js__WEBPACK_IMPORTED_MODULE_4__.warning(`Not removing ${home}: it does not look like an envd home created by this action`);
        return;
    }
    if (!(await (0,_common_files_js__WEBPACK_IMPORTED_MODULE_6__/* .pathExists */ .s)(home)))
        return;
    if (record.envdPath && (await (0,_common_files_js__WEBPACK_IMPORTED_MODULE_6__/* .pathExists */ .s)(node_path__WEBPACK_IMPORTED_MODULE_3__.join(home, '.config', 'envd')))) {
        const env = envdEnv({ home }, 0);
        for (const args of [
            ['context', 'use', '--name', 'default'],
            ['context', 'rm', '--name', record.name],
        ]) {
            const r = await (0,_proc_js__WEBPACK_IMPORTED_MODULE_5__/* .runCommand */ .d)(record.envdPath, args, { env, timeoutMs: CLEANUP_COMMAND_TIMEOUT_MS, tailLines: 5 });
            if (r.code !== 0) {
                _github_runner_js__WEBPACK_IMPORTED_MODULE_4__.debug(`envd ${args.join(' ')}: ${(0,_proc_js__WEBPACK_IMPORTED_MODULE_5__/* .describeExit */ .K)(r, CLEANUP_COMMAND_TIMEOUT_MS)}: ${r.tail.join(' | ')}`);
                break;
            }
        }
    }
    try {
        await node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.rm(home, { recursive: true, force: true, maxRetries: 3 });
    }
    catch (err) {
        _github_runner_js__WEBPACK_IMPORTED_MODULE_4__.warning(`Could not remove envd's private home ${home}: ${err instanceof Error ? err.message : String(err)}`);
    }
}
/**
 * The record may come back from saved state; before `rm -rf` make sure it is
 * one of ours: absolute, normalised, and named with our prefix.
 */
function isOurHome(home) {
    return (node_path__WEBPACK_IMPORTED_MODULE_3__.isAbsolute(home) &&
        node_path__WEBPACK_IMPORTED_MODULE_3__.resolve(home) === home &&
        node_path__WEBPACK_IMPORTED_MODULE_3__.basename(home).startsWith(ENVD_HOME_PREFIX) &&
        node_path__WEBPACK_IMPORTED_MODULE_3__.basename(home).length > ENVD_HOME_PREFIX.length);
}


/***/ }),

/***/ 3055:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   $8: () => (/* binding */ MAX_SOCKET_PATH_BYTES),
/* harmony export */   BE: () => (/* binding */ listenPrivate)
/* harmony export */ });
/* unused harmony exports checkSocketPath, checkPrivateDir */
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(1455);
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_fs_promises__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(6760);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__webpack_require__.n(node_path__WEBPACK_IMPORTED_MODULE_1__);
// Listening on a unix socket that only this user can connect to.
//
// A loopback TCP port is open to every local user; a unix socket is guarded
// by file permissions. Two layers: the socket lives in a directory only we
// can enter (0700, owned by us), and the socket itself is 0600. Root can
// still connect; nothing on the machine can keep root out.


/**
 * sun_path is 108 bytes on Linux and 104 on macOS, NUL included. Node does
 * not refuse longer paths: the socket silently appears under a truncated
 * name, possibly somewhere else, so the length is checked here.
 */
const MAX_SOCKET_PATH_BYTES = process.platform === 'darwin' ? 103 : 107;
/** Throws unless `socketPath` is absolute and short enough for a unix socket. */
function checkSocketPath(socketPath) {
    if (!node_path__WEBPACK_IMPORTED_MODULE_1__.isAbsolute(socketPath)) {
        throw new Error(`envd gateway: socket path ${socketPath} is not absolute`);
    }
    const bytes = Buffer.byteLength(socketPath);
    if (bytes > MAX_SOCKET_PATH_BYTES) {
        throw new Error(`envd gateway: socket path ${socketPath} is ${bytes} bytes; unix sockets allow at most ${MAX_SOCKET_PATH_BYTES}`);
    }
}
/** Throws unless `dir` is a real directory (no symlink) owned by this process's user with no group/other access. */
async function checkPrivateDir(dir) {
    let st;
    try {
        st = await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.lstat(dir);
    }
    catch (err) {
        throw new Error(`envd gateway: socket directory ${dir} cannot be used: ${err.code ?? String(err)}`);
    }
    const uid = process.getuid?.();
    const mode = st.mode & 0o777;
    if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (mode & 0o077) !== 0) {
        const found = st.isDirectory() ? `mode ${mode.toString(8).padStart(4, '0')}, owner uid ${st.uid}` : 'not a directory';
        throw new Error(`envd gateway: socket directory ${dir} must be a directory only this user can enter (mode 0700, owner uid ${uid ?? 'self'}); found ${found}`);
    }
}
/**
 * Starts `server` on `socketPath` (checked as above) and makes the socket
 * 0600. The mode is set after listen(), which is safe only because the
 * directory already keeps everyone else out.
 */
async function listenPrivate(server, socketPath) {
    checkSocketPath(socketPath);
    await checkPrivateDir(node_path__WEBPACK_IMPORTED_MODULE_1__.dirname(socketPath));
    await new Promise((resolve, reject) => {
        const onError = (err) => {
            const why = err.code === 'EADDRINUSE' ? 'something already exists at that path' : err.message;
            reject(new Error(`envd gateway: cannot listen on ${socketPath}: ${why}`));
        };
        server.once('error', onError);
        server.listen({ path: socketPath }, () => {
            server.off('error', onError);
            resolve();
        });
    });
    try {
        await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.chmod(socketPath, 0o600);
    }
    catch (err) {
        await new Promise((resolve) => server.close(() => resolve()));
        throw new Error(`envd gateway: cannot restrict ${socketPath} to this user: ${err.message}`);
    }
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

//# sourceMappingURL=718.index.js.map