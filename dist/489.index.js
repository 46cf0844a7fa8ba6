export const id = 489;
export const ids = [489];
export const modules = {

/***/ 7489:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   readPushedDigests: () => (/* binding */ readPushedDigests)
/* harmony export */ });
/* harmony import */ var _github_runner_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(9373);
/* harmony import */ var _registry_media_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(6571);
/* harmony import */ var _merge_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(5654);
/* harmony import */ var _registry_image_reference_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(7362);
// The `digests` output of a pushed image, read back from its registry:
// BuildKit's exporter response names only the top-level digest (the index,
// for several platforms). Its own module because it brings the registry
// client, which a build that pushes nothing never loads.




const MAX_CONFIG_BYTES = 8 * 1024 * 1024;
/** Each platform's manifest digest of the image pushed as `digest` to the repository of `tag`; {} (with a warning) if unreadable. */
async function readPushedDigests(digest, tag, inputs, signal) {
    const ref = (0,_merge_js__WEBPACK_IMPORTED_MODULE_2__.mustParse)(`${(0,_registry_image_reference_js__WEBPACK_IMPORTED_MODULE_3__/* .repositoryOf */ ._)(tag)}@${digest}`);
    try {
        const client = await (0,_merge_js__WEBPACK_IMPORTED_MODULE_2__.registryClient)(inputs, signal);
        const got = await client.getManifest(ref);
        const out = {};
        if (got.manifest.kind === 'index') {
            for (const d of got.manifest.manifests) {
                if (d.platform && !(0,_registry_media_js__WEBPACK_IMPORTED_MODULE_1__/* .isAttestation */ .H3)(d) && (0,_registry_media_js__WEBPACK_IMPORTED_MODULE_1__/* .isImageManifestType */ .tr)(d.mediaType))
                    out[(0,_registry_media_js__WEBPACK_IMPORTED_MODULE_1__/* .formatPlatform */ .Bq)(d.platform)] = d.digest;
            }
        }
        else {
            out[(0,_registry_media_js__WEBPACK_IMPORTED_MODULE_1__/* .formatPlatform */ .Bq)((0,_registry_media_js__WEBPACK_IMPORTED_MODULE_1__/* .platformFromConfig */ .M3)(await client.getBlob(ref, got.manifest.config.digest, MAX_CONFIG_BYTES)))] = digest;
        }
        return out;
    }
    catch (err) {
        // The image is pushed; only this output is missing. Registry text: commands stay stopped.
        _github_runner_js__WEBPACK_IMPORTED_MODULE_0__.untrusted(`Could not read ${ref.name}@${digest} back for the digests output: ${err instanceof Error ? err.message : String(err)}`);
        _github_runner_js__WEBPACK_IMPORTED_MODULE_0__.warning('The digests output is empty: the pushed image could not be read back from its registry (see the log)');
        return {};
    }
}


/***/ })

};

//# sourceMappingURL=489.index.js.map