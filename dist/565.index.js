export const id = 565;
export const ids = [565];
export const modules = {

/***/ 565:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   cacheEntryCsv: () => (/* binding */ cacheEntryCsv),
/* harmony export */   envdBuildArgs: () => (/* binding */ envdBuildArgs),
/* harmony export */   envdFromValue: () => (/* binding */ envdFromValue),
/* harmony export */   envdOutputValue: () => (/* binding */ envdOutputValue),
/* harmony export */   runEnvdBuild: () => (/* binding */ runEnvdBuild)
/* harmony export */ });
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(1455);
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_0___default = /*#__PURE__*/__webpack_require__.n(node_fs_promises__WEBPACK_IMPORTED_MODULE_0__);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(6760);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_1___default = /*#__PURE__*/__webpack_require__.n(node_path__WEBPACK_IMPORTED_MODULE_1__);
/* harmony import */ var _github_command_guard_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(8538);
/* harmony import */ var _github_runner_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(9373);
/* harmony import */ var _context_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(7230);
/* harmony import */ var _proc_js__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(9909);
/* harmony import */ var _common_csv_js__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(4388);
// `envd build` against the job's private envd context.
//
// Flag semantics verified in envd's source (pkg/app/build.go,
// pkg/app/build/build.go, pkg/builder/util.go):
// - --from <file>:<func>: the file is joined to --path (filepath.Join), and
//   only if that does not exist is it tried relative to the working
//   directory; the value is split on ':' into exactly two parts.
// - --output, --import-cache, --export-cache: one value each, parsed as ONE
//   CSV record by Go's encoding/csv, `key=value` per field.
// - --force: without it envd asks the local Docker daemon for an image with
//   the same tag and cache-hash label and, if found, skips the build (and so
//   the push) with only an info line.







/**
 * envd's --tag is only a fallback image name (used when there is no
 * --output), a log field and the key of the local-Docker "skip build" check
 * that --force disables. Left out, envd derives `<context dir name>:dev` and
 * fails outright on directory names that are no valid image reference (say
 * `.github`), so we always pass this fixed, valid one.
 */
const PLACEHOLDER_TAG = 'envd-remote-build:envd';
/**
 * `type=image,"name=a,b",push=true`: BuildKit's image exporter takes several
 * names comma-separated in one `name` attribute, so that field must be quoted
 * for envd's CSV parser, or `b` would become a field without `=` and envd
 * would reject the whole --output.
 */
function envdOutputValue(tags, push, registryInsecure = false) {
    const fields = ['type=image'];
    if (tags.length > 0)
        fields.push(`name=${tags.join(',')}`);
    fields.push(`push=${push}`);
    if (registryInsecure)
        fields.push('registry.insecure=true');
    return (0,_common_csv_js__WEBPACK_IMPORTED_MODULE_6__/* .csvRecord */ .e)(fields);
}
/** A cache-from/cache-to entry as the CSV value of --import-cache/--export-cache. */
function cacheEntryCsv(entry) {
    if (!entry.type)
        throw new Error('cache entry without type');
    return (0,_common_csv_js__WEBPACK_IMPORTED_MODULE_6__/* .csvRecord */ .e)([`type=${entry.type}`, ...Object.entries(entry.attrs).map(([k, v]) => `${k}=${v}`)]);
}
/**
 * `--from` value: the file relative to --path (that is how envd resolves it)
 * and the function. envd splits it at every ':', so the path must have none;
 * readInputs refuses such a file, and a function that is no identifier.
 */
function envdFromValue(context, file, fn) {
    return `${node_path__WEBPACK_IMPORTED_MODULE_1__.relative(node_path__WEBPACK_IMPORTED_MODULE_1__.resolve(context), node_path__WEBPACK_IMPORTED_MODULE_1__.resolve(file))}:${fn || 'build'}`;
}
/**
 * argv for `envd build` (without the `envd` itself). What envd cannot express
 * (several cache entries or platforms, a platform or path it cannot parse)
 * was refused by readInputs, before anything started.
 */
function envdBuildArgs(inputs) {
    const platforms = inputs.platforms ?? [];
    const args = [
        'build',
        '--from',
        envdFromValue(inputs.context, inputs.file, inputs.envdFunction),
        '--path',
        node_path__WEBPACK_IMPORTED_MODULE_1__.resolve(inputs.context),
        '--output',
        envdOutputValue(inputs.tags, inputs.push, inputs.registryInsecure ?? false),
        '--tag',
        PLACEHOLDER_TAG,
        // Always: see the header comment (silent skip of build and push).
        '--force',
    ];
    const platform = platforms[0];
    if (platform)
        args.push('--platform', platform);
    const from = inputs.cacheFrom[0];
    if (from)
        args.push('--import-cache', cacheEntryCsv(from));
    const to = inputs.cacheTo[0];
    if (to)
        args.push('--export-cache', cacheEntryCsv(to));
    return args;
}
/**
 * Runs `envd build` in the given context, streaming its output live. Throws
 * one line saying what failed, followed by envd's last lines of output.
 */
async function runEnvdBuild(record, inputs, opts = {}) {
    const args = envdBuildArgs(inputs);
    try {
        if (!(await node_fs_promises__WEBPACK_IMPORTED_MODULE_0__.stat(inputs.file)).isFile())
            throw new Error('not a file');
    }
    catch {
        // envd would silently fall back to a path relative to its working
        // directory; say plainly what is missing instead.
        throw new Error(`envd file ${inputs.file} does not exist or is not a file`);
    }
    _github_runner_js__WEBPACK_IMPORTED_MODULE_3__.info(`Running: ${displayCommand(record.envdPath, args)}`);
    // The job log's own guard, so our commands in between (a gateway debug
    // line) resume and re-stop it; a separate one for another destination.
    const guard = opts.out ? new _github_command_guard_js__WEBPACK_IMPORTED_MODULE_2__/* .CommandGuard */ .LI(opts.out) : undefined;
    const result = await (0,_proc_js__WEBPACK_IMPORTED_MODULE_5__/* .runCommand */ .d)(record.envdPath, args, {
        env: (0,_context_js__WEBPACK_IMPORTED_MODULE_4__/* .envdEnv */ .bQ)(record, inputs.connectTimeoutMs),
        cwd: node_path__WEBPACK_IMPORTED_MODULE_1__.resolve(inputs.context),
        out: guard ? { write: (chunk) => guard.chunk(chunk) } : _github_runner_js__WEBPACK_IMPORTED_MODULE_3__.untrustedStream,
        tailLines: opts.tailLines ?? 50,
        ...(opts.signal ? { signal: opts.signal } : {}),
    }).finally(() => (guard ? guard.resume() : _github_runner_js__WEBPACK_IMPORTED_MODULE_3__.resumeCommands()));
    if (result.code !== 0) {
        const tail = [...result.tail];
        while (tail.length > 0 && tail[tail.length - 1]?.trim() === '')
            tail.pop();
        throw new Error(`envd build failed (${(0,_proc_js__WEBPACK_IMPORTED_MODULE_5__/* .describeExit */ .K)(result)})` +
            (tail.length ? `. Last ${tail.length} lines of envd output:\n${tail.join('\n')}` : ' without any output'));
    }
}
/** For the log only: shell-style quoting so the line can be copied and rerun. */
function displayCommand(file, args) {
    return [file, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}


/***/ })

};

//# sourceMappingURL=565.index.js.map