export const id = 654;
export const ids = [654];
export const modules = {

/***/ 5654:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

__webpack_require__.r(__webpack_exports__);
/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   indexAnnotations: () => (/* binding */ indexAnnotations),
/* harmony export */   mergeResult: () => (/* binding */ mergeResult),
/* harmony export */   mustParse: () => (/* binding */ mustParse),
/* harmony export */   registryClient: () => (/* binding */ registryClient),
/* harmony export */   runMerge: () => (/* binding */ runMerge)
/* harmony export */ });
/* harmony import */ var _github_runner_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(9373);
/* harmony import */ var _registry_assemble_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(7511);
/* harmony import */ var _registry_client_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(8963);
/* harmony import */ var _registry_media_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(6571);
/* harmony import */ var _registry_reference_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(9310);
/* harmony import */ var _credentials_provider_js__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(2393);
/* harmony import */ var _outputs_js__WEBPACK_IMPORTED_MODULE_6__ = __webpack_require__(8948);
/* harmony import */ var _registry_image_reference_js__WEBPACK_IMPORTED_MODULE_8__ = __webpack_require__(7362);
/* harmony import */ var _summary_js__WEBPACK_IMPORTED_MODULE_7__ = __webpack_require__(3367);
// Merge mode (`merge:` given): no builder, no build. The images that matrix
// jobs pushed by digest become one index, pushed under every tag; the outputs
// are the index's digest and each platform's manifest digest.









/** A reference readInputs has already validated. */
function mustParse(text) {
    const parsed = (0,_registry_reference_js__WEBPACK_IMPORTED_MODULE_4__/* .parseReference */ .F2)(text);
    if (typeof parsed === 'string')
        throw new Error(`invalid image reference "${text}": ${parsed}`);
    return parsed;
}
/** `annotations` (key=value or index:key=value) as the index's annotation map. */
function indexAnnotations(lines) {
    const out = {};
    for (const line of lines) {
        const eq = line.indexOf('=');
        out[line.slice(0, eq).replace(/^index:/, '')] = line.slice(eq + 1);
    }
    return out;
}
/** A registry client with the runner's docker credentials; every secret it reads is masked first. */
async function registryClient(inputs, signal) {
    const credentials = await (0,_credentials_provider_js__WEBPACK_IMPORTED_MODULE_5__/* .createDockerCredentialProvider */ .Ro)({ onSecret: (s) => _github_runner_js__WEBPACK_IMPORTED_MODULE_0__.setSecret(s) });
    return new _registry_client_js__WEBPACK_IMPORTED_MODULE_2__/* .RegistryClient */ .bP({ credentials, insecure: inputs.registryInsecure, signal, log: (m) => _github_runner_js__WEBPACK_IMPORTED_MODULE_0__.debug(m) });
}
async function runMerge(inputs, signal) {
    const started = Date.now();
    const client = await registryClient(inputs, signal);
    const sources = inputs.merge.map(mustParse);
    const tags = inputs.tags.map(mustParse);
    _github_runner_js__WEBPACK_IMPORTED_MODULE_0__.info(`Merging ${sources.length} image(s) into one index for ${inputs.tags.join(', ')}`);
    let pushed;
    try {
        pushed = await (0,_registry_assemble_js__WEBPACK_IMPORTED_MODULE_1__/* .assembleIndex */ .Hw)(client, sources, tags, indexAnnotations(inputs.annotations));
    }
    catch (err) {
        if (err instanceof _registry_assemble_js__WEBPACK_IMPORTED_MODULE_1__/* .MergeSourceError */ .mW)
            throw new Error(`Input "merge": ${err.message}`);
        throw err;
    }
    for (const e of pushed.entries) {
        // Platforms and digests come from the registry: print them with commands stopped.
        _github_runner_js__WEBPACK_IMPORTED_MODULE_0__.untrusted(`${e.descriptor.platform ? (0,_registry_media_js__WEBPACK_IMPORTED_MODULE_3__/* .formatPlatform */ .Bq)(e.descriptor.platform) : 'attestation'}: ${e.source.name}@${e.descriptor.digest}`);
    }
    const { mounted, copied, manifests } = pushed.report;
    if (mounted + copied + manifests > 0)
        _github_runner_js__WEBPACK_IMPORTED_MODULE_0__.info(`Into the target repositories: ${mounted} blob(s) mounted, ${copied} copied, ${manifests} manifest(s) put`);
    const result = mergeResult(pushed.digest, pushed.mediaType, pushed.size, inputs.tags, (0,_registry_assemble_js__WEBPACK_IMPORTED_MODULE_1__/* .platformDigests */ .Hm)(pushed.entries));
    (0,_outputs_js__WEBPACK_IMPORTED_MODULE_6__/* .setOutputs */ .n)(result);
    _github_runner_js__WEBPACK_IMPORTED_MODULE_0__.untrusted(`digest: ${result.digest}`);
    for (const image of result.images)
        _github_runner_js__WEBPACK_IMPORTED_MODULE_0__.untrusted(`image: ${image}`);
    await (0,_summary_js__WEBPACK_IMPORTED_MODULE_7__/* .writeSummary */ .Sy)({
        builderEndpoint: 'none (merge)',
        frontend: inputs.frontend,
        platforms: Object.keys(result.digests ?? {}),
        tags: inputs.tags,
        pushed: true,
        digest: result.digest,
        images: result.images,
        durationMs: Date.now() - started,
    });
}
/** The outputs of an index we pushed ourselves, in the shape of a build's. */
function mergeResult(digest, mediaType, size, tags, digests) {
    const images = [];
    for (const tag of tags) {
        const image = `${(0,_registry_image_reference_js__WEBPACK_IMPORTED_MODULE_8__/* .repositoryOf */ ._)(tag)}@${digest}`;
        if (!images.includes(image))
            images.push(image);
    }
    const descriptor = { mediaType, digest, size };
    return { digest, descriptor, metadata: { 'containerimage.digest': digest, 'containerimage.descriptor': descriptor }, images, digests };
}


/***/ }),

/***/ 7511:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   Hm: () => (/* binding */ platformDigests),
/* harmony export */   Hw: () => (/* binding */ assembleIndex),
/* harmony export */   mW: () => (/* binding */ MergeSourceError)
/* harmony export */ });
/* unused harmony exports collectEntries, indexDocument, copyEntries */
/* harmony import */ var _client_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(8963);
/* harmony import */ var _media_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(6571);
/* harmony import */ var _reference_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(9310);
// One image index from per-platform images already in a registry: the merge
// of matrix jobs' push-by-digest results, and the last step of a build spread
// over several builders. Sources may be single-platform manifests (their
// platform read from the image config when the reference carries none) or
// indexes (their entries, attestations included, are taken over as they are).
// Where the target repository differs from a source's, the blobs are mounted
// (same registry) or copied, and the manifests put by digest, before the
// index that names them.



/** Image configs are small JSON; refuse anything that is not. */
const MAX_CONFIG_BYTES = 8 * 1024 * 1024;
/** A source the user named wrongly (two images for one platform, say); one line. */
class MergeSourceError extends Error {
    name = 'MergeSourceError';
}
/** Reads the sources and lists the index entries, in the order given. */
async function collectEntries(client, sources) {
    const fetched = await Promise.all(sources.map((ref) => client.getManifest(ref)));
    const entries = [];
    for (const [i, got] of fetched.entries()) {
        const ref = sources[i];
        if (got.manifest.kind === 'manifest') {
            const platform = (0,_media_js__WEBPACK_IMPORTED_MODULE_1__/* .platformFromConfig */ .M3)(await client.getBlob(ref, got.manifest.config.digest, MAX_CONFIG_BYTES));
            entries.push({ descriptor: { ...got.descriptor, platform }, source: ref, bytes: got.bytes, manifest: got.manifest });
            continue;
        }
        // An index (several platforms, or one plus its attestation): its entries, each fetched to copy it.
        const children = await Promise.all(got.manifest.manifests.map((d) => client.getManifest({ ...ref, digest: d.digest })));
        got.manifest.manifests.forEach((d, k) => {
            const child = children[k];
            if (child.manifest.kind !== 'manifest')
                throw new MergeSourceError(`${(0,_reference_js__WEBPACK_IMPORTED_MODULE_2__/* .formatReference */ .FH)(ref)} nests an index (${d.digest}); only images and one level of index can be merged`);
            entries.push({ descriptor: d, source: ref, bytes: child.bytes, manifest: child.manifest });
        });
    }
    // The same image named twice (two jobs that built the same thing) is one entry.
    const unique = entries.filter((e, i) => entries.findIndex((o) => o.descriptor.digest === e.descriptor.digest) === i);
    const seen = new Map();
    for (const e of unique) {
        if ((0,_media_js__WEBPACK_IMPORTED_MODULE_1__/* .isAttestation */ .H3)(e.descriptor))
            continue;
        if (!e.descriptor.platform)
            throw new MergeSourceError(`${e.source.name}@${e.descriptor.digest} has no platform`);
        const key = platformKey(e.descriptor);
        const other = seen.get(key);
        if (other) {
            throw new MergeSourceError(`two images for ${(0,_media_js__WEBPACK_IMPORTED_MODULE_1__/* .formatPlatform */ .Bq)(e.descriptor.platform)}: ${other.source.name}@${other.descriptor.digest} and ${e.source.name}@${e.descriptor.digest}; give each platform once`);
        }
        seen.set(key, e);
    }
    return unique;
}
function platformKey(d) {
    const p = d.platform;
    return `${(0,_media_js__WEBPACK_IMPORTED_MODULE_1__/* .formatPlatform */ .Bq)(p)}|${p['os.version'] ?? ''}`;
}
/**
 * The index's bytes. OCI unless every entry is a Docker manifest without
 * annotations (then a Docker manifest list, as docker would make); the same
 * entries in the same order always give the same bytes, so the same digest.
 */
function indexDocument(entries, annotations = {}) {
    const docker = entries.every((e) => e.descriptor.mediaType === _media_js__WEBPACK_IMPORTED_MODULE_1__/* .MediaTypes */ .mI.dockerManifest && !e.descriptor.annotations) && Object.keys(annotations).length === 0;
    const mediaType = docker ? _media_js__WEBPACK_IMPORTED_MODULE_1__/* .MediaTypes */ .mI.dockerList : _media_js__WEBPACK_IMPORTED_MODULE_1__/* .MediaTypes */ .mI.ociIndex;
    const manifests = entries.map((e) => {
        const d = e.descriptor;
        return {
            mediaType: d.mediaType,
            digest: d.digest,
            size: d.size,
            ...(d.platform ? { platform: d.platform } : {}),
            ...(d.annotations && !docker ? { annotations: d.annotations } : {}),
            ...(d.artifactType && !docker ? { artifactType: d.artifactType } : {}),
        };
    });
    const doc = { schemaVersion: 2, mediaType, manifests, ...(Object.keys(annotations).length ? { annotations } : {}) };
    return { mediaType, bytes: Buffer.from(JSON.stringify(doc)) };
}
/** `os/arch[/variant]` → manifest digest of each image entry (attestations left out). */
function platformDigests(entries) {
    const out = {};
    for (const e of entries)
        if (!(0,_media_js__WEBPACK_IMPORTED_MODULE_1__/* .isAttestation */ .H3)(e.descriptor) && e.descriptor.platform && (0,_media_js__WEBPACK_IMPORTED_MODULE_1__/* .isImageManifestType */ .tr)(e.descriptor.mediaType))
            out[(0,_media_js__WEBPACK_IMPORTED_MODULE_1__/* .formatPlatform */ .Bq)(e.descriptor.platform)] = e.descriptor.digest;
    return out;
}
const sameRepository = (a, b) => a.host === b.host && a.path === b.path;
/** Makes every entry (its blobs, then its manifest) exist in `target`. */
async function copyEntries(client, entries, target, report = { mounted: 0, copied: 0, manifests: 0 }) {
    for (const e of entries) {
        if (sameRepository(e.source, target))
            continue;
        const manifest = e.manifest;
        for (const blob of [manifest.config, ...manifest.layers]) {
            const how = await client.copyBlob(e.source, target, blob);
            if (how === 'mounted')
                report.mounted++;
            if (how === 'copied')
                report.copied++;
        }
        if (!(await client.headManifest(target, e.descriptor.digest))) {
            await client.putManifest(target, e.descriptor.digest, e.bytes, e.descriptor.mediaType);
            report.manifests++;
        }
    }
    return report;
}
/**
 * Reads `sources`, makes their content available in each tag's repository,
 * and pushes one index under every tag. Returns the index digest (checked
 * against what each registry stored).
 */
async function assembleIndex(client, sources, tags, annotations = {}, 
/** Put the index under its digest where a tag names no tag (push-by-digest). */
byDigest = false) {
    const entries = await collectEntries(client, sources);
    const index = indexDocument(entries, annotations);
    const report = { mounted: 0, copied: 0, manifests: 0 };
    const done = [];
    let digest = '';
    for (const tag of tags) {
        if (!done.some((r) => sameRepository(r, tag))) {
            await copyEntries(client, entries, tag, report);
            done.push(tag);
        }
        const reference = tag.tag ?? (byDigest ? (0,_client_js__WEBPACK_IMPORTED_MODULE_0__/* .digestOf */ .ol)(index.bytes) : 'latest');
        digest = await client.putManifest(tag, reference, index.bytes, index.mediaType);
    }
    return { digest, mediaType: index.mediaType, size: index.bytes.length, entries, report };
}


/***/ }),

/***/ 8963:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  bP: () => (/* binding */ RegistryClient),
  ol: () => (/* binding */ digestOf)
});

// UNUSED EXPORTS: MAX_MANIFEST_BYTES, RegistryError

// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(7598);
// EXTERNAL MODULE: external "node:stream"
var external_node_stream_ = __webpack_require__(7075);
;// CONCATENATED MODULE: ./src/registry/challenge.ts
// WWW-Authenticate challenges (RFC 7235) as registries send them:
//   Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"
//   Basic realm="Registry Realm"
const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y;
const SPACE = /[ \t]*/y;
/** Parses every challenge in one header value; unparseable tails are ignored. */
function parseChallenges(header) {
    const out = [];
    let pos = 0;
    const skip = (re) => {
        re.lastIndex = pos;
        const m = re.exec(header);
        if (!m)
            return undefined;
        pos = re.lastIndex;
        return m[0];
    };
    const skipSpaceAndCommas = () => {
        while (pos < header.length && /[ \t,]/.test(header[pos]))
            pos++;
    };
    skipSpaceAndCommas();
    while (pos < header.length) {
        const scheme = skip(TOKEN);
        if (!scheme)
            break;
        const params = {};
        skip(SPACE);
        for (;;) {
            const save = pos;
            const name = skip(TOKEN);
            skip(SPACE);
            if (!name || header[pos] !== '=') {
                // Not a parameter: the start of the next challenge.
                pos = save;
                break;
            }
            pos++;
            skip(SPACE);
            let value;
            if (header[pos] === '"') {
                pos++;
                let v = '';
                while (pos < header.length && header[pos] !== '"') {
                    if (header[pos] === '\\' && pos + 1 < header.length)
                        pos++;
                    v += header[pos];
                    pos++;
                }
                pos++;
                value = v;
            }
            else {
                value = skip(TOKEN) ?? '';
            }
            params[name.toLowerCase()] = value;
            skip(SPACE);
            if (header[pos] !== ',')
                break;
            pos++;
            skip(SPACE);
        }
        out.push({ scheme: scheme.toLowerCase(), params });
        skipSpaceAndCommas();
    }
    return out;
}

// EXTERNAL MODULE: ./src/registry/media.ts
var media = __webpack_require__(6571);
// EXTERNAL MODULE: ./src/registry/reference.ts
var reference = __webpack_require__(9310);
;// CONCATENATED MODULE: ./src/registry/client.ts
// A small client of the registry HTTP API (OCI distribution spec), for what
// index assembly and merging need: manifests by tag or digest, blob checks,
// cross-repository mounts and copies, and the auth flows registries use
// (anonymous, Basic, and Basic or refresh token → Bearer via WWW-Authenticate).
//
// Why our own: the npm clients we looked at either only read
// (@snyk/docker-registry-v2-client), hide their client behind an attestation
// API and cannot mount or read credential helpers (@sigstore/oci), or predate
// OCI indexes and bring a large callback-era stack (docker-registry-client).
// Node's fetch does the HTTP; credentials come from the session's provider
// (docker config, DOCKER_AUTH_CONFIG, credential helpers), not a second reader.
//
// Everything a registry sends is untrusted: bodies are size-capped, digests
// are recomputed from the bytes, error text is cut to one printable line, and
// no credential or token ever appears in a message.





/** Registries refuse manifests above 4 MiB; so do we, before reading more. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024;
const MAX_ERROR_BODY_BYTES = 64 * 1024;
const MAX_REDIRECTS = 5;
const DEFAULT_TIMEOUT_MS = 60_000;
const USER_AGENT = 'envd-remote-build';
/** One failed registry operation; the message is one line naming the registry and the reference. */
class RegistryError extends Error {
    host;
    status;
    name = 'RegistryError';
    constructor(host, message, 
    /** HTTP status, when the registry answered. */
    status) {
        super(message);
        this.host = host;
        this.status = status;
    }
}
class RegistryClient {
    options;
    hosts = new Map();
    constructor(options) {
        this.options = options;
    }
    /** GETs a manifest or index by tag or digest; the digest is computed from the bytes and checked. */
    async getManifest(ref) {
        const target = ref.digest ?? ref.tag ?? 'latest';
        const what = `GET manifest ${(0,reference/* formatReference */.FH)(ref)}`;
        const res = await this.request(ref, { method: 'GET', url: `${ref.path}/manifests/${target}`, scopes: [{ path: ref.path, actions: 'pull' }], what, headers: { accept: media/* MANIFEST_ACCEPT */.dY } });
        await this.expect(res, [200], ref.host, what);
        const bytes = await readCapped(res, MAX_MANIFEST_BYTES, ref.host, what);
        const digest = digestOf(bytes, ref.digest ? algorithmOf(ref.digest) : 'sha256');
        if (ref.digest && digest !== ref.digest)
            throw new RegistryError(ref.host, `registry ${ref.host}: ${what}: the content's digest is ${digest}, not the one asked for`);
        const header = res.headers.get('docker-content-digest');
        if (!ref.digest && header && header.startsWith('sha256:') && header !== digest) {
            throw new RegistryError(ref.host, `registry ${ref.host}: ${what}: the registry says the digest is ${clean(header, 80)} but the content's is ${digest}`);
        }
        let manifest;
        try {
            manifest = (0,media/* parseManifest */.Ng)(bytes, res.headers.get('content-type') ?? '');
        }
        catch (err) {
            if (err instanceof media/* ManifestFormatError */.RV)
                throw new RegistryError(ref.host, `registry ${ref.host}: ${what}: ${err.message}`);
            throw err;
        }
        return { descriptor: { mediaType: manifest.mediaType, digest, size: bytes.length }, bytes, manifest };
    }
    /** HEADs a manifest; undefined when the registry does not have it. */
    async headManifest(repo, reference) {
        const what = `HEAD manifest ${repo.name}${reference.includes(':') ? '@' : ':'}${reference}`;
        const res = await this.request(repo, { method: 'HEAD', url: `${repo.path}/manifests/${reference}`, scopes: [{ path: repo.path, actions: 'pull' }], what, headers: { accept: media/* MANIFEST_ACCEPT */.dY } });
        if (res.status === 404)
            return undefined;
        await this.expect(res, [200], repo.host, what);
        const digest = res.headers.get('docker-content-digest') ?? '';
        const mediaType = (res.headers.get('content-type') ?? '').split(';')[0].trim();
        const size = Number(res.headers.get('content-length') ?? NaN);
        if (!/^sha256:[a-f0-9]{64}$/.test(digest) || !Number.isSafeInteger(size)) {
            throw new RegistryError(repo.host, `registry ${repo.host}: ${what}: no usable Docker-Content-Digest or Content-Length in the answer`);
        }
        return { mediaType, digest, size };
    }
    /** PUTs a manifest under a tag or its digest; returns its digest (checked against the registry's). */
    async putManifest(repo, reference, bytes, mediaType) {
        const digest = digestOf(bytes, 'sha256');
        const what = `PUT manifest ${repo.name}${reference.includes(':') ? '@' : ':'}${reference}`;
        const res = await this.request(repo, {
            method: 'PUT',
            url: `${repo.path}/manifests/${reference}`,
            scopes: [{ path: repo.path, actions: 'pull,push' }],
            what,
            headers: { 'content-type': mediaType },
            body: bytes,
        });
        await this.expect(res, [200, 201, 202], repo.host, what);
        await res.body?.cancel();
        const reported = res.headers.get('docker-content-digest');
        if (reported && reported !== digest) {
            throw new RegistryError(repo.host, `registry ${repo.host}: ${what}: the registry stored digest ${clean(reported, 80)}, not ${digest}`);
        }
        return digest;
    }
    async blobExists(repo, digest) {
        const what = `HEAD blob ${repo.name}@${digest}`;
        const res = await this.request(repo, { method: 'HEAD', url: `${repo.path}/blobs/${digest}`, scopes: [{ path: repo.path, actions: 'pull' }], what });
        if (res.status === 404)
            return false;
        await this.expect(res, [200], repo.host, what);
        return true;
    }
    /** GETs a small blob (an image config) whole, checking its digest. */
    async getBlob(repo, digest, maxBytes) {
        const what = `GET blob ${repo.name}@${digest}`;
        const res = await this.request(repo, { method: 'GET', url: `${repo.path}/blobs/${digest}`, scopes: [{ path: repo.path, actions: 'pull' }], what });
        await this.expect(res, [200], repo.host, what);
        const bytes = await readCapped(res, maxBytes, repo.host, what);
        if (digestOf(bytes, algorithmOf(digest)) !== digest)
            throw new RegistryError(repo.host, `registry ${repo.host}: ${what}: the content does not match its digest`);
        return bytes;
    }
    /** Uploads a small blob in one request (an image config, a test layer); returns its digest. */
    async uploadBlob(repo, bytes) {
        const digest = digestOf(bytes);
        if (await this.blobExists(repo, digest))
            return digest;
        const location = await this.startUpload(repo);
        const state = await this.hostState(repo.host);
        const url = new URL(location, `${state.base}/v2/`);
        url.searchParams.set('digest', digest);
        const what = `upload blob ${digest} to ${repo.name}`;
        const res = await this.request(repo, { method: 'PUT', url: url.toString(), scopes: [{ path: repo.path, actions: 'pull,push' }], what, headers: { 'content-type': 'application/octet-stream' }, body: bytes });
        await this.expect(res, [201], repo.host, what);
        await res.body?.cancel();
        return digest;
    }
    /**
     * Makes a blob of `from` available in `to`: nothing when it is already
     * there, a cross-repository mount on the same registry, else a streamed
     * copy (the receiving registry checks the digest).
     */
    async copyBlob(from, to, blob) {
        if (await this.blobExists(to, blob.digest))
            return 'present';
        let upload;
        if (from.host === to.host) {
            const what = `mount blob ${blob.digest} from ${from.name} into ${to.name}`;
            const res = await this.request(to, {
                method: 'POST',
                url: `${to.path}/blobs/uploads/?mount=${encodeURIComponent(blob.digest)}&from=${encodeURIComponent(from.path)}`,
                scopes: [
                    { path: to.path, actions: 'pull,push' },
                    { path: from.path, actions: 'pull' },
                ],
                what,
                headers: { 'content-length': '0' },
            });
            await this.expect(res, [201, 202], to.host, what);
            await res.body?.cancel();
            if (res.status === 201)
                return 'mounted';
            // 202: the registry would not mount (e.g. no pull access to `from`) and opened an upload instead.
            upload = res.headers.get('location') ?? undefined;
        }
        if (!upload)
            upload = await this.startUpload(to);
        await this.streamBlob(from, to, blob, upload);
        return 'copied';
    }
    async startUpload(to) {
        const what = `start blob upload to ${to.name}`;
        const res = await this.request(to, { method: 'POST', url: `${to.path}/blobs/uploads/`, scopes: [{ path: to.path, actions: 'pull,push' }], what, headers: { 'content-length': '0' } });
        await this.expect(res, [202], to.host, what);
        await res.body?.cancel();
        const location = res.headers.get('location');
        if (!location)
            throw new RegistryError(to.host, `registry ${to.host}: ${what}: no Location in the answer`);
        return location;
    }
    async streamBlob(from, to, blob, location) {
        const getWhat = `GET blob ${from.name}@${blob.digest}`;
        const source = await this.request(from, { method: 'GET', url: `${from.path}/blobs/${blob.digest}`, scopes: [{ path: from.path, actions: 'pull' }], what: getWhat, long: true });
        await this.expect(source, [200], from.host, getWhat);
        if (!source.body)
            throw new RegistryError(from.host, `registry ${from.host}: ${getWhat}: empty answer`);
        const body = source.body;
        const state = await this.hostState(to.host);
        const url = new URL(location, `${state.base}/v2/`);
        url.searchParams.set('digest', blob.digest);
        const what = `upload blob ${blob.digest} to ${to.name}`;
        let used = false;
        const res = await this.request(to, {
            method: 'PUT',
            url: url.toString(),
            scopes: [{ path: to.path, actions: 'pull,push' }],
            what,
            headers: { 'content-type': 'application/octet-stream', 'content-length': String(blob.size) },
            // Handed out once: a streamed body cannot be sent again after a 401.
            stream: () => {
                if (used)
                    throw new RegistryError(to.host, `registry ${to.host}: ${what}: the registry asked for credentials again mid-upload`);
                used = true;
                return body;
            },
            long: true,
        });
        await this.expect(res, [201], to.host, what);
        await res.body?.cancel();
    }
    /** Sends one request with the right Authorization, renewing it once on 401. */
    async request(repo, spec) {
        const state = await this.hostState(repo.host);
        const url = /^https?:\/\//.test(spec.url) ? spec.url : `${state.base}/v2/${spec.url}`;
        let auth = await this.authorization(repo.host, state, spec.scopes, false, spec.what);
        for (let attempt = 0;; attempt++) {
            const res = await this.send(repo.host, url, spec, auth);
            if (res.status !== 401 || attempt > 0 || state.challenge === undefined)
                return res;
            // Expired token or a scope the registry wants spelled differently: ask again once.
            const fresh = pickChallenge(res.headers.get('www-authenticate'));
            if (fresh)
                state.challenge = fresh;
            await res.body?.cancel();
            auth = await this.authorization(repo.host, state, spec.scopes, true, spec.what);
        }
    }
    async send(host, url, spec, auth) {
        const headers = { 'user-agent': USER_AGENT, ...spec.headers };
        if (auth)
            headers['authorization'] = auth;
        let current = new URL(url);
        const origin = current.origin;
        for (let hop = 0;; hop++) {
            let res;
            try {
                const init = { method: spec.method, headers, redirect: 'manual', signal: this.signalFor(spec.long) };
                if (spec.body)
                    init.body = spec.body;
                else if (spec.stream) {
                    init.body = spec.stream();
                    init.duplex = 'half';
                }
                res = await fetch(current, init);
            }
            catch (err) {
                throw new RegistryError(host, `registry ${host}: ${spec.what}: ${networkCause(err, this.options.signal)}`);
            }
            const location = res.headers.get('location');
            if (![301, 302, 303, 307, 308].includes(res.status) || !location || (spec.method !== 'GET' && spec.method !== 'HEAD'))
                return res;
            await res.body?.cancel();
            if (hop >= MAX_REDIRECTS)
                throw new RegistryError(host, `registry ${host}: ${spec.what}: more than ${MAX_REDIRECTS} redirects`);
            const next = new URL(location, current);
            if (next.protocol !== 'https:' && !(next.protocol === 'http:' && ((0,reference/* isLoopbackHost */.cW)(next.host) || (this.options.insecure && next.origin === origin)))) {
                throw new RegistryError(host, `registry ${host}: ${spec.what}: refused a redirect to plain HTTP (${next.host})`);
            }
            // Storage backends get a signed URL; our credentials stay with the registry.
            if (next.origin !== origin)
                delete headers['authorization'];
            current = next;
        }
    }
    signalFor(long) {
        const signals = [];
        if (this.options.signal)
            signals.push(this.options.signal);
        if (!long)
            signals.push(AbortSignal.timeout(this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS));
        return signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
    }
    /** GET /v2/ once per host: which scheme answers, and which auth it asks for. */
    hostState(host) {
        let state = this.hosts.get(host);
        if (!state) {
            state = this.ping(host);
            // A failed ping is not cached: the next operation may find the registry up.
            state.catch(() => this.hosts.delete(host));
            this.hosts.set(host, state);
        }
        return state;
    }
    async ping(host) {
        const plainAllowed = (0,reference/* isLoopbackHost */.cW)(host) || !!this.options.insecure;
        const schemes = plainAllowed ? ['https', 'http'] : ['https'];
        let lastError = '';
        for (const scheme of schemes) {
            const base = `${scheme}://${host}`;
            let res;
            try {
                res = await fetch(`${base}/v2/`, { headers: { 'user-agent': USER_AGENT }, redirect: 'manual', signal: this.signalFor(false) });
            }
            catch (err) {
                lastError = networkCause(err, this.options.signal);
                if (this.options.signal?.aborted)
                    break;
                continue;
            }
            await res.body?.cancel();
            if (res.status === 200)
                return { base, challenge: undefined, tokens: new Map() };
            if (res.status === 401) {
                const challenge = pickChallenge(res.headers.get('www-authenticate'));
                if (!challenge)
                    throw new RegistryError(host, `registry ${host}: GET /v2/ asked for authentication without a Bearer or Basic challenge`, 401);
                return { base, challenge, tokens: new Map() };
            }
            throw new RegistryError(host, `registry ${host}: GET /v2/ answered HTTP ${res.status}; is this a registry (v2 API)?`, res.status);
        }
        const hint = plainAllowed ? '' : ' (plain HTTP is used only for loopback registries or with registry-insecure: true)';
        throw new RegistryError(host, `registry ${host}: cannot connect: ${lastError}${hint}`);
    }
    async authorization(host, state, scopes, renew, what) {
        const challenge = state.challenge;
        if (!challenge)
            return undefined;
        if (challenge.scheme === 'basic') {
            const creds = await this.options.credentials.credentials(host, this.options.signal);
            if (creds.Username === '' || creds.Secret === '')
                return undefined;
            return `Basic ${Buffer.from(`${creds.Username}:${creds.Secret}`).toString('base64')}`;
        }
        const scopeKey = scopes.map((s) => `repository:${s.path}:${s.actions}`).join(' ');
        const cached = state.tokens.get(scopeKey);
        if (cached && !renew)
            return `Bearer ${cached}`;
        const token = await this.fetchToken(host, challenge, scopes, what);
        state.tokens.set(scopeKey, token);
        return `Bearer ${token}`;
    }
    async fetchToken(host, challenge, scopes, what) {
        const realmText = challenge.params['realm'] ?? '';
        let realm;
        try {
            realm = new URL(realmText);
        }
        catch {
            throw new RegistryError(host, `registry ${host}: ${what}: the registry's token realm is not a URL`);
        }
        const realmName = `${realm.origin}${realm.pathname}`;
        const plainOk = realm.protocol === 'http:' && ((0,reference/* isLoopbackHost */.cW)(realm.host) || (this.options.insecure && realm.host === host));
        if (realm.protocol !== 'https:' && !plainOk)
            throw new RegistryError(host, `registry ${host}: ${what}: refused to send credentials to the plain-HTTP token realm ${realmName}`);
        const creds = await this.options.credentials.credentials(host, this.options.signal);
        const service = challenge.params['service'];
        const scopeValues = scopes.map((s) => `repository:${s.path}:${s.actions}`);
        let res;
        try {
            if (creds.Username === '' && creds.Secret !== '') {
                // An identity (refresh) token from `docker login`: the OAuth2 refresh grant.
                const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.Secret, client_id: USER_AGENT });
                if (service)
                    form.set('service', service);
                form.set('scope', scopeValues.join(' '));
                res = await fetch(realm, { method: 'POST', headers: { 'user-agent': USER_AGENT, 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString(), redirect: 'error', signal: this.signalFor(false) });
            }
            else {
                const url = new URL(realm);
                if (service)
                    url.searchParams.set('service', service);
                for (const s of scopeValues)
                    url.searchParams.append('scope', s);
                const headers = { 'user-agent': USER_AGENT };
                if (creds.Username !== '' && creds.Secret !== '')
                    headers['authorization'] = `Basic ${Buffer.from(`${creds.Username}:${creds.Secret}`).toString('base64')}`;
                res = await fetch(url, { headers, redirect: 'error', signal: this.signalFor(false) });
            }
        }
        catch (err) {
            throw new RegistryError(host, `registry ${host}: ${what}: token request to ${realmName} failed: ${networkCause(err, this.options.signal)}`);
        }
        if (res.status !== 200) {
            const detail = await errorDetail(res);
            const hint = res.status === 401 ? (creds.Secret === '' ? ` (no credentials for ${host} in the docker config)` : ` (the credentials for ${host} were refused)`) : '';
            throw new RegistryError(host, `registry ${host}: ${what}: token request to ${realmName} answered HTTP ${res.status}${detail}${hint}`, res.status);
        }
        let doc;
        try {
            doc = JSON.parse((await readCapped(res, MAX_TOKEN_RESPONSE_BYTES, host, `token from ${realmName}`)).toString('utf8'));
        }
        catch (err) {
            if (err instanceof RegistryError)
                throw err;
            throw new RegistryError(host, `registry ${host}: ${what}: the token answer from ${realmName} is not JSON`);
        }
        const record = typeof doc === 'object' && doc !== null ? doc : {};
        const token = typeof record['token'] === 'string' && record['token'] !== '' ? record['token'] : record['access_token'];
        // A header value: anything but visible ASCII would break (or smuggle into) the request.
        if (typeof token !== 'string' || !/^[\x21-\x7e]+$/.test(token))
            throw new RegistryError(host, `registry ${host}: ${what}: the token answer from ${realmName} has no usable token`);
        return token;
    }
    async expect(res, ok, host, what) {
        if (ok.includes(res.status))
            return;
        const detail = await errorDetail(res);
        let hint = '';
        if (res.status === 401 || res.status === 403) {
            const creds = await this.options.credentials.credentials(host, this.options.signal).catch(() => undefined);
            hint = creds && creds.Secret !== '' ? ` (the credentials for ${host} were refused or lack access)` : ` (no credentials for ${host} in the docker config; log in first)`;
        }
        throw new RegistryError(host, `registry ${host}: ${what}: HTTP ${res.status}${detail}${hint}`, res.status);
    }
}
function pickChallenge(header) {
    if (!header)
        return undefined;
    const all = parseChallenges(header);
    return all.find((c) => c.scheme === 'bearer') ?? all.find((c) => c.scheme === 'basic');
}
/** ` CODE: message` from a registry's JSON error body, one printable line. */
async function errorDetail(res) {
    let text;
    try {
        text = (await readCapped(res, MAX_ERROR_BODY_BYTES, '', '')).toString('utf8');
    }
    catch {
        return '';
    }
    try {
        const doc = JSON.parse(text);
        const first = Array.isArray(doc.errors) ? doc.errors[0] : undefined;
        if (first) {
            const code = typeof first.code === 'string' ? clean(first.code, 60) : '';
            const message = typeof first.message === 'string' ? clean(first.message, 200) : '';
            return `${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`;
        }
    }
    catch {
        // Not JSON: an HTML page from a proxy, say. Its text is not worth a line.
    }
    return '';
}
/** Printable ASCII only, one line, bounded: registry text goes into our error lines. */
function clean(text, max) {
    const flat = text.replace(/[^\x20-\x7e]+/g, ' ').trim();
    return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
async function readCapped(res, max, host, what) {
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > max) {
        await res.body?.cancel();
        throw new RegistryError(host, `registry ${host}: ${what}: the answer is ${declared} bytes, more than the ${max} accepted`);
    }
    if (!res.body)
        return Buffer.alloc(0);
    const chunks = [];
    let total = 0;
    for await (const chunk of external_node_stream_.Readable.fromWeb(res.body)) {
        const buf = chunk;
        total += buf.length;
        if (total > max) {
            await res.body.cancel().catch(() => undefined);
            throw new RegistryError(host, `registry ${host}: ${what}: the answer is more than the ${max} bytes accepted`);
        }
        chunks.push(buf);
    }
    return Buffer.concat(chunks);
}
function algorithmOf(digest) {
    const algorithm = digest.slice(0, digest.indexOf(':'));
    if (algorithm !== 'sha256' && algorithm !== 'sha512')
        throw new Error(`digest algorithm "${algorithm.slice(0, 20)}" is not supported (sha256 or sha512)`);
    return algorithm;
}
function digestOf(bytes, algorithm = 'sha256') {
    return `${algorithm}:${(0,external_node_crypto_.createHash)(algorithm).update(bytes).digest('hex')}`;
}
function networkCause(err, signal) {
    if (signal?.aborted)
        return 'cancelled';
    const e = err;
    if (e?.name === 'TimeoutError')
        return 'no answer in time';
    const code = e?.cause?.code;
    if (code === 'ECONNREFUSED')
        return 'connection refused';
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
        return 'host name not found';
    if (code && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code))
        return `TLS certificate not trusted (${code})`;
    if (code)
        return code;
    return clean(e?.cause?.message ?? e?.message ?? String(err), 200);
}


/***/ })

};

//# sourceMappingURL=654.index.js.map