export const id = 851;
export const ids = [851];
export const modules = {

/***/ 9851:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   buildOnPlatformBuilders: () => (/* binding */ buildOnPlatformBuilders)
/* harmony export */ });
/* harmony import */ var _github_runner_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(9373);
/* harmony import */ var _buildkit_build_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(9740);
/* harmony import */ var _buildkit_solve_request_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(7053);
/* harmony import */ var _cache_entries_js__WEBPACK_IMPORTED_MODULE_15__ = __webpack_require__(2288);
/* harmony import */ var _build_errors_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(7004);
/* harmony import */ var _annotations_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(7376);
/* harmony import */ var _buildkit_control_js__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(3793);
/* harmony import */ var _action_builder_features_js__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(6993);
/* harmony import */ var _builder_platforms_js__WEBPACK_IMPORTED_MODULE_7__ = __webpack_require__(3211);
/* harmony import */ var _registry_assemble_js__WEBPACK_IMPORTED_MODULE_8__ = __webpack_require__(7511);
/* harmony import */ var _credentials_provider_js__WEBPACK_IMPORTED_MODULE_9__ = __webpack_require__(2393);
/* harmony import */ var _mask_js__WEBPACK_IMPORTED_MODULE_10__ = __webpack_require__(1368);
/* harmony import */ var _merge_js__WEBPACK_IMPORTED_MODULE_11__ = __webpack_require__(5654);
/* harmony import */ var _outputs_js__WEBPACK_IMPORTED_MODULE_12__ = __webpack_require__(8948);
/* harmony import */ var _registry_image_reference_js__WEBPACK_IMPORTED_MODULE_14__ = __webpack_require__(7362);
/* harmony import */ var _summary_js__WEBPACK_IMPORTED_MODULE_13__ = __webpack_require__(3367);
// Several builders and several platforms: each builder builds the platforms
// it runs natively (see builder/platforms.ts), all at once, each result
// pushed by digest; then one index over all of them is pushed under every
// tag, as a merge run would (registry/assemble.ts).
















const INDEX_LEVEL = /^index(\[[^\]]*\])?:/;
const INDEX_DESCRIPTOR_LEVEL = /^index-descriptor(\[[^\]]*\])?:/;
async function buildOnPlatformBuilders(inputs, signal) {
    const plan = await (0,_builder_platforms_js__WEBPACK_IMPORTED_MODULE_7__/* .planPlatforms */ .CT)(inputs);
    if (plan.kind === 'single')
        return { done: false, builders: plan.builders, probe: plan.probe };
    for (const g of plan.groups)
        (0,_action_builder_features_js__WEBPACK_IMPORTED_MODULE_6__/* .checkBuilderFeatures */ .Dn)(inputs, g.info);
    if (signal.aborted)
        throw new Error('build cancelled before it started');
    const started = Date.now();
    const credentials = await (0,_credentials_provider_js__WEBPACK_IMPORTED_MODULE_9__/* .createDockerCredentialProvider */ .Ro)({ onSecret: (s) => _github_runner_js__WEBPACK_IMPORTED_MODULE_0__.setSecret(s) });
    // Every platform lands in the first tag's repository by digest; the index copies them where the other tags need them.
    const repository = (0,_registry_image_reference_js__WEBPACK_IMPORTED_MODULE_14__/* .repositoryOf */ ._)(inputs.tags[0]);
    const forIndex = inputs.annotations.filter((a) => INDEX_LEVEL.test(a));
    if (inputs.annotations.some((a) => INDEX_DESCRIPTOR_LEVEL.test(a))) {
        _github_runner_js__WEBPACK_IMPORTED_MODULE_0__.warning('Input "annotations": index-descriptor annotations are dropped when several builders build the platforms (the index is assembled from their pushes)');
    }
    const forImages = inputs.annotations.filter((a) => !INDEX_LEVEL.test(a) && !INDEX_DESCRIPTOR_LEVEL.test(a));
    // One failure stops the other builds: the index could not be made anyway.
    const stopAll = new AbortController();
    const onAbort = () => stopAll.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    const seen = new Set();
    _github_runner_js__WEBPACK_IMPORTED_MODULE_0__.startGroup(`Building ${plan.groups.map((g) => `${g.platforms.join(', ')} on ${g.endpoint.address}`).join('; ')}`);
    let reports;
    try {
        reports = await Promise.all(plan.groups.map((g) => buildGroup(g, { ...inputs, tags: [repository], push: true, pushByDigest: true, annotations: forImages }, credentials, seen, stopAll)));
    }
    catch (err) {
        (0,_build_errors_js__WEBPACK_IMPORTED_MODULE_3__/* .rethrowBuildError */ .EY)(err, inputs);
    }
    finally {
        signal.removeEventListener('abort', onAbort);
        _github_runner_js__WEBPACK_IMPORTED_MODULE_0__.endGroup();
    }
    // The Dockerfile's warnings, as a single builder's would be (the builders repeat each other's).
    for (const a of (0,_annotations_js__WEBPACK_IMPORTED_MODULE_4__/* .warningAnnotations */ .HQ)(reports.flatMap((r) => r.progress.warnings), (0,_annotations_js__WEBPACK_IMPORTED_MODULE_4__/* .annotationPaths */ .e0)(inputs.file)))
        _github_runner_js__WEBPACK_IMPORTED_MODULE_0__.warning(a.message, a);
    const sources = reports.map((r, i) => {
        const digest = (0,_outputs_js__WEBPACK_IMPORTED_MODULE_12__/* .parseExporterResponse */ .E)(r.exporterResponse, [repository]).digest;
        if (!digest)
            throw new Error(`builder ${plan.groups[i].endpoint.address} reported no digest for ${plan.groups[i].platforms.join(', ')}; cannot assemble the index`);
        return (0,_merge_js__WEBPACK_IMPORTED_MODULE_11__.mustParse)(`${repository}@${digest}`);
    });
    const client = await (0,_merge_js__WEBPACK_IMPORTED_MODULE_11__.registryClient)(inputs, signal);
    const pushed = await (0,_registry_assemble_js__WEBPACK_IMPORTED_MODULE_8__/* .assembleIndex */ .Hw)(client, sources, inputs.tags.map(_merge_js__WEBPACK_IMPORTED_MODULE_11__.mustParse), (0,_merge_js__WEBPACK_IMPORTED_MODULE_11__.indexAnnotations)(forIndex), inputs.pushByDigest);
    for (const a of plan.assignments) {
        const digest = (0,_registry_assemble_js__WEBPACK_IMPORTED_MODULE_8__/* .platformDigests */ .Hm)(pushed.entries)[a.platform];
        _github_runner_js__WEBPACK_IMPORTED_MODULE_0__.untrusted(`${a.platform}: built on ${a.address}${a.native ? '' : ' (emulated)'}${digest ? ` as ${digest}` : ''}`);
    }
    const result = (0,_merge_js__WEBPACK_IMPORTED_MODULE_11__.mergeResult)(pushed.digest, pushed.mediaType, pushed.size, inputs.tags, (0,_registry_assemble_js__WEBPACK_IMPORTED_MODULE_8__/* .platformDigests */ .Hm)(pushed.entries));
    (0,_outputs_js__WEBPACK_IMPORTED_MODULE_12__/* .setOutputs */ .n)({
        ...result,
        metadata: { ...result.metadata, builds: Object.fromEntries(reports.map((r, i) => [plan.groups[i].endpoint.address, (0,_outputs_js__WEBPACK_IMPORTED_MODULE_12__/* .parseExporterResponse */ .E)(r.exporterResponse, []).metadata])) },
    });
    _github_runner_js__WEBPACK_IMPORTED_MODULE_0__.untrusted(`digest: ${result.digest}`);
    for (const image of result.images)
        _github_runner_js__WEBPACK_IMPORTED_MODULE_0__.untrusted(`image: ${image}`);
    const steps = reports.reduce((s, r) => ({ cached: s.cached + r.progress.cached, run: s.run + r.progress.steps - r.progress.cached }), { cached: 0, run: 0 });
    const versions = [...new Set(plan.groups.map((g) => g.info.version?.version).filter((v) => !!v))];
    await (0,_summary_js__WEBPACK_IMPORTED_MODULE_13__/* .writeSummary */ .Sy)({
        builderEndpoint: plan.groups.map((g) => g.endpoint.address).join(', '),
        builderKind: 'remote',
        ...(versions.length ? { builderVersion: versions.join(', ') } : {}),
        frontend: inputs.frontend,
        platforms: inputs.platforms,
        tags: inputs.tags,
        pushed: true,
        digest: result.digest,
        images: result.images,
        durationMs: Date.now() - started,
        steps,
        contextBytes: reports.reduce((n, r) => n + r.transfer.bytesSent, 0),
    });
    return { done: true };
}
async function buildGroup(g, inputs, credentials, seen, stopAll) {
    const client = new _buildkit_control_js__WEBPACK_IMPORTED_MODULE_5__/* .ControlClient */ .rz(g.endpoint);
    const prefix = `[${g.platforms.join(',')}] `;
    // Each builder's own platforms, also in its cache refs ({platform}).
    const settings = { ...inputs, platforms: g.platforms };
    const build = () => (0,_buildkit_build_js__WEBPACK_IMPORTED_MODULE_1__/* .runDockerfileBuild */ .ew)({
        client,
        inputs: settings,
        request: (0,_buildkit_solve_request_js__WEBPACK_IMPORTED_MODULE_2__/* .dockerfileRequest */ .gz)((0,_cache_entries_js__WEBPACK_IMPORTED_MODULE_15__/* .withDaemonCache */ .pw)(settings)),
        credentials,
        // The daemons' output, interleaved: each line says whose it is; commands stay stopped.
        write: (line) => _github_runner_js__WEBPACK_IMPORTED_MODULE_0__.untrusted(`${prefix}${line}`),
        onSecret: (source, value) => {
            if (source.kind === 'file')
                (0,_mask_js__WEBPACK_IMPORTED_MODULE_10__/* .maskSecret */ .$)(value.toString('utf8'), seen);
        },
        signal: stopAll.signal,
    });
    try {
        return await (0,_build_errors_js__WEBPACK_IMPORTED_MODULE_3__/* .retryingPushRace */ .Wh)(build, `${g.platforms.join(', ')} on ${g.endpoint.address}`, stopAll.signal);
    }
    catch (err) {
        stopAll.abort();
        throw err;
    }
    finally {
        client.close();
    }
}


/***/ })

};

//# sourceMappingURL=851.index.js.map