export const id = 35;
export const ids = [35];
export const modules = {

/***/ 2035:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   readPlatformDigests: () => (/* binding */ readPlatformDigests)
/* harmony export */ });
/* harmony import */ var _github_runner_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(9373);
/* harmony import */ var _buildkit_probe_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(8718);
/* harmony import */ var _registry_media_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(6571);
/* harmony import */ var _merge_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(5654);
/* harmony import */ var _registry_image_reference_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(7362);
// The `digests` output of a build: each platform's manifest digest. BuildKit's
// exporter response names only the top-level digest (the index, for several
// platforms), so for a pushed image we read what the registry holds; for an
// image that stayed in the builder only a single manifest can be described.





const MAX_CONFIG_BYTES = 8 * 1024 * 1024;
async function readPlatformDigests(result, inputs, builder, signal) {
    if (!result.digest)
        return {};
    if (inputs.push && inputs.tags.length > 0) {
        const ref = (0,_merge_js__WEBPACK_IMPORTED_MODULE_3__.mustParse)(`${(0,_registry_image_reference_js__WEBPACK_IMPORTED_MODULE_4__/* .repositoryOf */ ._)(inputs.tags[0])}@${result.digest}`);
        try {
            const client = await (0,_merge_js__WEBPACK_IMPORTED_MODULE_3__.registryClient)(inputs, signal);
            const got = await client.getManifest(ref);
            const out = {};
            if (got.manifest.kind === 'index') {
                for (const d of got.manifest.manifests) {
                    if (d.platform && !(0,_registry_media_js__WEBPACK_IMPORTED_MODULE_2__/* .isAttestation */ .H3)(d) && (0,_registry_media_js__WEBPACK_IMPORTED_MODULE_2__/* .isImageManifestType */ .tr)(d.mediaType))
                        out[(0,_registry_media_js__WEBPACK_IMPORTED_MODULE_2__/* .formatPlatform */ .Bq)(d.platform)] = d.digest;
                }
            }
            else {
                out[(0,_registry_media_js__WEBPACK_IMPORTED_MODULE_2__/* .formatPlatform */ .Bq)((0,_registry_media_js__WEBPACK_IMPORTED_MODULE_2__/* .platformFromConfig */ .M3)(await client.getBlob(ref, got.manifest.config.digest, MAX_CONFIG_BYTES)))] = result.digest;
            }
            return out;
        }
        catch (err) {
            // The image is pushed; only this output is missing. Registry text: commands stay stopped.
            _github_runner_js__WEBPACK_IMPORTED_MODULE_0__.untrusted(`Could not read ${ref.name}@${result.digest} back for the digests output: ${err instanceof Error ? err.message : String(err)}`);
            _github_runner_js__WEBPACK_IMPORTED_MODULE_0__.warning('The digests output is empty: the pushed image could not be read back from its registry (see the log)');
            return {};
        }
    }
    // Not pushed: a single manifest's platform is the one asked for, or the builder's own.
    if (result.descriptor && (0,_registry_media_js__WEBPACK_IMPORTED_MODULE_2__/* .isImageManifestType */ .tr)(result.descriptor.mediaType)) {
        const platform = inputs.platforms[0] ?? (builder ? (0,_buildkit_probe_js__WEBPACK_IMPORTED_MODULE_1__/* .defaultPlatform */ .nx)(builder) : undefined);
        if (platform)
            return { [platform]: result.digest };
    }
    return {};
}


/***/ })

};

//# sourceMappingURL=35.index.js.map