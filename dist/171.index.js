export const id = 171;
export const ids = [171];
export const modules = {

/***/ 1171:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  startGateway: () => (/* binding */ startGateway)
});

// EXTERNAL MODULE: external "node:http2"
var external_node_http2_ = __webpack_require__(2467);
// EXTERNAL MODULE: ./src/common/grpc-status.ts
var grpc_status = __webpack_require__(752);
// EXTERNAL MODULE: ./src/buildkit/channel.ts
var channel = __webpack_require__(6211);
// EXTERNAL MODULE: ./src/buildkit/connection.ts + 2 modules
var connection = __webpack_require__(2398);
// EXTERNAL MODULE: ./src/common/h2/frames.ts
var h2_frames = __webpack_require__(2060);
// EXTERNAL MODULE: ./src/common/grpc-frames.ts
var grpc_frames = __webpack_require__(6956);
;// CONCATENATED MODULE: ./src/envd/gateway/wire.ts


/** A call the gateway cannot forward; it ends with `code` and the message. */
class CallError extends Error {
    code;
    constructor(code, message) {
        super(message);
        this.code = code;
        this.name = 'CallError';
    }
}
/** How the gateway ends a call whose request stream the frame decoder refused. */
function frameCallError(err) {
    switch (err.kind) {
        case 'compressed':
            // We never negotiate compression with the builder, so a compressed
            // message could not be passed on.
            return new CallError(grpc_status/* Status */.nW.UNIMPLEMENTED, 'envd gateway: compressed gRPC request messages are not supported; disable compression in the client');
        case 'invalid-flag':
            return new CallError(grpc_status/* Status */.nW.INTERNAL, `envd gateway: invalid gRPC message flag ${err.flag}`);
        case 'too-large':
            return new CallError(grpc_status/* Status */.nW.RESOURCE_EXHAUSTED, `envd gateway: request message of ${err.length} bytes exceeds the limit of ${err.limit} bytes`);
    }
}
/**
 * Request headers that belong to one hop: the gateway sets te, content-type,
 * user-agent and grpc-timeout upstream itself, and encodings are not
 * negotiated through it (identity only). Forwarding them as metadata would
 * duplicate or contradict them.
 */
const REQUEST_HEADERS_NOT_FORWARDED = new Set([
    'te',
    'content-type',
    'content-length',
    'user-agent',
    'grpc-timeout',
    'grpc-encoding',
    'grpc-accept-encoding',
    'accept-encoding',
    'grpc-status',
    'grpc-message',
    'host',
    'connection',
    'keep-alive',
    'proxy-connection',
    'transfer-encoding',
    'upgrade',
]);
/**
 * Response headers/trailers we set ourselves (status, framing) or that Node
 * refuses on HTTP/2 (connection-specific headers); the rest of the builder's
 * metadata passes through.
 */
const RESPONSE_HEADERS_NOT_FORWARDED = new Set([
    'content-type',
    'content-length',
    'grpc-status',
    'grpc-message',
    'grpc-encoding',
    'grpc-accept-encoding',
    'te',
    'trailer',
    'connection',
    'keep-alive',
    'proxy-connection',
    'transfer-encoding',
    'upgrade',
]);
const TIMEOUT_UNIT_MS = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };
/** `grpc-timeout` ("<1-8 digits><H|M|S|m|u|n>") in milliseconds, or undefined if malformed. */
function parseGrpcTimeout(value) {
    const m = /^(\d{1,8})([HMSmun])$/.exec(value.trim());
    if (!m)
        return undefined;
    return Number(m[1]) * TIMEOUT_UNIT_MS[m[2]];
}
/** gRPC's rule for metadata keys (after lower-casing). */
const METADATA_KEY = /^[0-9a-z_.-]+$/;
/** And for the values of keys not ending in -bin: printable ASCII. */
const METADATA_VALUE = /^[ -~]*$/;
/**
 * Custom metadata of a call, checked as gRPC requires (key characters;
 * printable ASCII values, or binary ones under keys ending in -bin), every
 * repeated value kept separately.
 */
class Metadata {
    entries = new Map();
    /** Adds a value; throws for a key or value gRPC does not allow. */
    add(key, value) {
        const k = key.toLowerCase();
        if (!METADATA_KEY.test(k))
            throw new Error(`metadata key "${key}" contains illegal characters`);
        const binary = k.endsWith('-bin');
        if (binary !== Buffer.isBuffer(value))
            throw new Error(`metadata key "${key}" ${binary ? 'takes binary values' : 'takes text values'}`);
        if (typeof value === 'string' && !METADATA_VALUE.test(value))
            throw new Error(`metadata value of "${key}" contains illegal characters`);
        const list = this.entries.get(k);
        if (list)
            list.push(value);
        else
            this.entries.set(k, [value]);
    }
    get(key) {
        return this.entries.get(key.toLowerCase()) ?? [];
    }
    keys() {
        return [...this.entries.keys()];
    }
    /** As HTTP/2 header fields: binary values base64, repeated values as arrays. */
    toHttp2Headers() {
        const out = {};
        for (const [key, values] of this.entries) {
            const wire = values.map((v) => (typeof v === 'string' ? v : v.toString('base64')));
            out[key] = wire.length === 1 ? wire[0] : wire;
        }
        return out;
    }
}
/**
 * Builds upstream metadata from the flat `[name, value, ...]` list of the
 * 'stream' event. The parsed headers object would join repeated values with
 * ", ", which is ambiguous; the raw list keeps them apart. Throws CallError.
 */
function requestMetadata(rawHeaders) {
    const metadata = new Metadata();
    let timeoutMs;
    let timeout;
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
        const name = rawHeaders[i].toLowerCase();
        const value = rawHeaders[i + 1];
        if (name.startsWith(':'))
            continue;
        if (name === 'grpc-timeout') {
            timeoutMs = parseGrpcTimeout(value);
            if (timeoutMs === undefined)
                throw new CallError(grpc_status/* Status */.nW.INTERNAL, `envd gateway: malformed grpc-timeout "${value}"`);
            timeout = value.trim();
            continue;
        }
        if (REQUEST_HEADERS_NOT_FORWARDED.has(name))
            continue;
        try {
            if (name.endsWith('-bin')) {
                // Binary values are base64 on the wire; several may share one field,
                // comma-separated (base64 has no commas, so the split is exact).
                for (const part of value.split(','))
                    metadata.add(name, Buffer.from(part.trim(), 'base64'));
            }
            else {
                metadata.add(name, value);
            }
        }
        catch (err) {
            throw new CallError(grpc_status/* Status */.nW.INTERNAL, `envd gateway: cannot forward request header "${name}": ${err instanceof Error ? err.message : String(err)}`);
        }
    }
    return timeoutMs === undefined || timeout === undefined ? { metadata } : { metadata, timeoutMs, timeout };
}
/** Checked request metadata as header fields for the upstream stream (binary values base64, repeated values apart). */
function requestHeaders(metadata) {
    return metadata.toHttp2Headers();
}
/** The builder's metadata as HTTP/2 header fields (binary values base64, repeated values as arrays). */
function metadataHeaders(metadata) {
    const out = {};
    if (!metadata)
        return out;
    for (const [key, raw] of Object.entries(metadata.toHttp2Headers())) {
        if (key.startsWith(':') || RESPONSE_HEADERS_NOT_FORWARDED.has(key))
            continue;
        const values = raw === undefined ? [] : Array.isArray(raw) ? raw.map(String) : [String(raw)];
        if (values.length === 0)
            continue;
        // A one-element array is fine for most names, but Node rejects arrays for
        // its single-value headers, so use a plain string when there is one value.
        out[key] = values.length === 1 ? values[0] : values;
    }
    return out;
}
/** Trailer fields ending a call: the builder's trailing metadata plus grpc-status/grpc-message. */
function statusTrailers(code, details, metadata) {
    const trailers = metadataHeaders(metadata);
    trailers['grpc-status'] = String(code);
    if (details)
        trailers['grpc-message'] = (0,grpc_frames/* encodeGrpcMessage */.KV)(details);
    return trailers;
}
/**
 * Fields of the builder's header blocks that never go to envd: connection
 * specific ones (Node refuses them on HTTP/2 anyway), content-length, and
 * grpc-accept-encoding, since the gateway takes identity requests only. The
 * rest, grpc-encoding included, describes the bytes that pass unchanged.
 */
const PASS_THROUGH_DROPPED = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'content-length', 'grpc-accept-encoding']);
/**
 * The builder's response headers (`withStatus`) or trailers as fields for
 * envd, from the flat `[name, value, ...]` list Node passes with them, so
 * repeated fields stay apart. Pseudo-headers are dropped except :status.
 * The status travels as the builder sent it, even a non-200 one: envd's
 * client maps that to a gRPC status itself.
 */
function passThroughHeaders(rawHeaders, withStatus) {
    const out = {};
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
        const name = rawHeaders[i].toLowerCase();
        const value = rawHeaders[i + 1];
        if (name.startsWith(':') ? !(withStatus && name === ':status') : PASS_THROUGH_DROPPED.has(name))
            continue;
        if (name === 'content-type' && /^application\/grpc([+;]|$)/.test(value)) {
            // One gRPC content type towards envd, whatever codec suffix the builder's
            // server library adds; anything else passes on for envd to refuse.
            out[name] = 'application/grpc';
            continue;
        }
        const seen = out[name];
        if (seen === undefined)
            out[name] = value;
        else if (Array.isArray(seen))
            seen.push(value);
        else
            out[name] = [seen, value];
    }
    return out;
}
/** The status a header block carries (trailers, or a trailers-only response); UNKNOWN without a valid grpc-status. */
function statusOf(headers) {
    const first = (v) => (Array.isArray(v) ? String(v[0]) : v === undefined ? undefined : String(v));
    const raw = first(headers['grpc-status']);
    const code = raw !== undefined && /^\d{1,2}$/.test(raw) ? Number(raw) : grpc_status/* Status */.nW.UNKNOWN;
    return { code, details: (0,grpc_frames/* decodeGrpcMessage */.wy)(first(headers['grpc-message']) ?? '') };
}

;// CONCATENATED MODULE: ./src/envd/gateway/forward.ts
// One envd call passed on to the builder as bytes: an HTTP/2 stream from envd
// joined to an HTTP/2 stream to the builder. DATA goes through chunk by chunk
// as it comes, with no message reassembly and no copies; each side is paused
// while the other cannot take more, so HTTP/2 flow control holds the sender
// back instead of the gateway buffering. envd's bytes are checked on the way
// (gRPC framing, no compression, size limit); the builder's are passed on as
// they are, for envd's own client to judge.





/** Ends a stream before any upstream call exists. */
function respondTrailersOnly(stream, code, details, extra = {}) {
    if (stream.destroyed || stream.closed || stream.headersSent)
        return;
    try {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...extra, ...statusTrailers(code, details) }, { endStream: true });
    }
    catch {
        stream.close(external_node_http2_.constants.NGHTTP2_INTERNAL_ERROR);
    }
}
/**
 * Bytes a stream may hold before the other side is paused. Node's own
 * high-water mark is 16 KiB, one DATA frame: with it nearly every frame
 * paused the other side until 'drain', a trip through the event loop each.
 * Still bounded, so a slow reader pushes back.
 */
const STREAM_BUFFER_BYTES = 1024 * 1024;
/** write() said the buffer is past Node's mark; wait only once it holds STREAM_BUFFER_BYTES. */
function full(sink) {
    return sink.writableLength >= STREAM_BUFFER_BYTES;
}
/**
 * Returns a function that stops reading `source` until `sink` drains. Calls
 * while it is paused do nothing, so one 'drain' listener at most is pending.
 */
function pauseUntilDrained(source, sink) {
    let paused = false;
    return () => {
        if (paused)
            return;
        paused = true;
        source.pause();
        sink.once('drain', () => {
            paused = false;
            source.resume();
        });
    };
}
/**
 * The flat `[name, value, ...]` header list Node passes with header events
 * (repeated fields apart); rebuilt from the parsed object where it is missing
 * (repeated values then stay joined).
 */
function rawList(headers, raw) {
    if (Array.isArray(raw))
        return raw;
    const flat = [];
    for (const [name, value] of Object.entries(headers)) {
        if (value === undefined)
            continue;
        for (const v of Array.isArray(value) ? value : [value])
            flat.push(name, String(v));
    }
    return flat;
}
/**
 * Joins envd's `stream` to the builder's `upstream` until one side ends the
 * call. `capture` (Control/Solve only) sees both directions' bytes.
 */
function proxyCall(ctx, path, stream, upstream, capture) {
    const scanner = new grpc_frames/* FrameScanner */.yQ(ctx.maxMessageBytes);
    const builderFailed = (why) => `envd gateway: builder ${ctx.builder}: ${why}`;
    /** Response HEADERS sent to envd. */
    let responded = false;
    /** The final status has been sent to envd, or envd is gone; nothing more is forwarded. */
    let finished = false;
    /** The builder's stream has ended or been cancelled by us. */
    let upstreamDone = false;
    /** The builder's trailers, held until all DATA before them is passed on. */
    let upstreamTrailers;
    let upstreamError;
    let trailers = {};
    // envd reads slower than the builder sends: stop reading upstream so
    // HTTP/2 flow control pushes back on the builder instead of us buffering.
    const holdUpstream = pauseUntilDrained(upstream, stream);
    // The builder (or the link to it) is slower than envd: stop reading the
    // envd stream so its window closes and envd waits.
    const holdDownstream = pauseUntilDrained(stream, upstream);
    const entry = { abort: (code, details) => finish(code, details) };
    ctx.active.add(entry);
    stream.on('wantTrailers', () => {
        try {
            stream.sendTrailers(trailers);
        }
        catch (err) {
            try {
                stream.sendTrailers(statusTrailers(grpc_status/* Status */.nW.INTERNAL, `envd gateway: cannot forward response trailers: ${err.message}`));
            }
            catch {
                stream.close(external_node_http2_.constants.NGHTTP2_INTERNAL_ERROR);
            }
        }
    });
    /** Stops forwarding; a builder stream still open is cancelled. False if already stopped. */
    function stop(code, details) {
        if (finished)
            return false;
        finished = true;
        ctx.active.delete(entry);
        ctx.ended?.(code, details);
        if (!upstreamDone) {
            upstreamDone = true;
            // RST_STREAM(CANCEL): the builder cancels the call's context.
            if (!upstream.destroyed)
                upstream.close(h2_frames/* ErrorCode */.O4.CANCEL);
        }
        // Let further request bytes drain into the void instead of stalling the connection.
        if (!stream.destroyed)
            stream.resume();
        return true;
    }
    /** Ends envd's call with `headers` as the final status block (trailers, or a trailers-only response). */
    function end(headers, trailersOnly) {
        if (stream.destroyed || stream.closed)
            return;
        if (!responded) {
            responded = true;
            try {
                stream.respond(trailersOnly, { endStream: true });
            }
            catch {
                respondTrailersOnly(stream, grpc_status/* Status */.nW.INTERNAL, 'envd gateway: cannot forward the response status');
            }
            return;
        }
        trailers = headers;
        stream.end(); // emits 'wantTrailers' once all DATA is out
    }
    /** The gateway's own reason to end the call (bad frame, lost builder, close()). */
    function finish(code, details) {
        if (!stop(code, details))
            return;
        const status = statusTrailers(code, details);
        end(status, { ':status': 200, 'content-type': 'application/grpc', ...status });
    }
    /** The builder's status, passed on as it sent it. */
    function passStatus(headers, trailersOnly) {
        upstreamDone = true;
        const { code, details } = statusOf(headers);
        if (!stop(code, details))
            return;
        end(headers, trailersOnly ? headers : {});
    }
    // --- builder → envd
    // The builder's DATA is read only once its response HEADERS have been
    // passed on: Node emits 'response' on the next tick, but DATA that came in
    // the same read from the socket can be emitted before it (seen with
    // buildkitd over TLS: the first bytes of LLBBridge/Ping and of the Session
    // tunnel were dropped). Until a 'data' listener exists the stream buffers.
    const onData = (chunk) => {
        if (finished)
            return;
        ctx.watch?.answered(path);
        capture?.response(chunk);
        if (!stream.write(chunk) && full(stream))
            holdUpstream();
    };
    upstream.on('response', (headers, flags, raw) => {
        if (finished)
            return;
        const fields = passThroughHeaders(rawList(headers, raw), true);
        if (flags & h2_frames/* Flag */.lN.END_STREAM) {
            // Trailers-only: the status is in this one HEADERS frame.
            passStatus(fields, true);
            return;
        }
        if (stream.destroyed || stream.closed)
            return;
        try {
            stream.respond(fields, { waitForTrailers: true });
            responded = true;
        }
        catch (err) {
            // Only reachable with header fields Node refuses to encode.
            finish(grpc_status/* Status */.nW.INTERNAL, `envd gateway: cannot forward response headers: ${err.message}`);
            return;
        }
        upstream.on('data', onData);
    });
    upstream.on('trailers', (headers, _flags, raw) => {
        upstreamTrailers = passThroughHeaders(rawList(headers, raw), false);
    });
    // 'trailers' comes before 'end', but DATA read before them may still be
    // waiting in a paused stream: the status follows once all of it is passed on.
    upstream.on('end', () => {
        if (!finished && upstreamTrailers)
            passStatus(upstreamTrailers, false);
    });
    upstream.on('error', (err) => {
        upstreamError ??= err.message;
    });
    // Always last. A reset stream ends its readable side too, so only here is
    // it clear whether the call ended without a status or was cut off.
    upstream.on('close', () => {
        if (finished)
            return;
        upstreamDone = true;
        const code = upstream.rstCode ?? h2_frames/* ErrorCode */.O4.NO_ERROR;
        if (upstreamError === undefined && code === h2_frames/* ErrorCode */.O4.NO_ERROR) {
            finish(grpc_status/* Status */.nW.INTERNAL, builderFailed('the call ended without a gRPC status'));
            return;
        }
        // Reset by the builder, its connection lost or never made, or keepalive gave up.
        const lost = ctx.connectionFailure(upstream);
        if (lost !== undefined)
            ctx.watch?.connectionLost(upstreamError ?? lost);
        finish(grpc_status/* Status */.nW.UNAVAILABLE, builderFailed(upstreamError ?? lost ?? `the call was reset (HTTP/2 error ${code})`));
    });
    // --- envd → builder
    stream.on('data', (chunk) => {
        if (finished)
            return;
        try {
            scanner.push(chunk);
        }
        catch (err) {
            const failure = err instanceof grpc_frames/* FrameError */.qy ? frameCallError(err) : new CallError(grpc_status/* Status */.nW.INTERNAL, err.message);
            ctx.log(`envd gateway: ${path}: ${failure.message}`);
            finish(failure.code, failure.message);
            return;
        }
        capture?.request(chunk);
        if (!upstream.write(chunk) && full(upstream))
            holdDownstream();
    });
    stream.on('end', () => {
        if (finished)
            return;
        // A reset or a lost connection ends the readable side too; that is no
        // half-close to pass on: 'close' follows and cancels the builder's stream.
        if (stream.aborted || (stream.rstCode ?? external_node_http2_.constants.NGHTTP2_NO_ERROR) !== external_node_http2_.constants.NGHTTP2_NO_ERROR)
            return;
        if (scanner.hasPartial()) {
            finish(grpc_status/* Status */.nW.INTERNAL, 'envd gateway: request ended in the middle of a gRPC message');
            return;
        }
        upstream.end(); // half-close: envd has sent all its messages
    });
    stream.on('close', () => {
        // RST_STREAM from envd, its connection dropped, or the normal end after
        // our trailers. Only the first two leave the builder's stream open.
        stop(grpc_status/* Status */.nW.CANCELLED, 'envd gateway: envd cancelled the call');
    });
}

;// CONCATENATED MODULE: ./src/envd/gateway/methods.ts
// The only gRPC methods the gateway passes on to the builder.
//
// The gateway carries the job's identity (mTLS client certificate, or the
// runner's access to a local daemon socket). Anything that reaches it could
// otherwise prune the builder's cache, read or rewrite its build history or
// start builds of its own. So it forwards exactly what `envd build` calls and
// refuses the rest before any upstream call exists.
//
// Where each method comes from (envd v1.3.4, whose BuildKit client is
// v0.25.1; read in their sources, and seen on the wire with the real envd):
//   Control/ListWorkers  envd pkg/buildkitd: the readiness poll behind
//                        BUILDKIT_CONNECTING_TIMEOUT; BuildKit client.Build
//                        also lists the workers before every build.
//   Control/Solve        client.Build -> client solve: the build itself, with
//                        no frontend, so the client drives it over LLBBridge.
//   Control/Status       client solve: the progress stream envd prints.
//   Control/Session      client solve: the session tunnel (local context
//                        files, registry credentials) via the hijack dialer.
//   LLBBridge/Ping       gateway grpcclient.New: capabilities before the build
//                        function runs.
//   LLBBridge/Solve      envd's build function (pkg/builder/build_func.go)
//                        solving its LLB definition.
//   LLBBridge/Return     grpcclient Run: hands the result (or error) back so
//                        the daemon exports it.
// Not used by envd's build path and therefore refused: Control/Prune,
// DiskUsage, Info, ListenBuildHistory, UpdateBuildHistory, and the other
// LLBBridge calls (ReadFile, ReadDir, StatFile, Evaluate, Inputs, Warn,
// ResolveImageConfig, ResolveSourceMeta, NewContainer, ReleaseContainer,
// ExecProcess), as well as every other service.
const CONTROL = 'moby.buildkit.v1.Control';
const LLB_BRIDGE = 'moby.buildkit.v1.frontend.LLBBridge';
/** Full gRPC paths (`/<service>/<method>`) envd's builds use. */
const ENVD_BUILD_METHODS = new Set([
    `/${CONTROL}/ListWorkers`,
    `/${CONTROL}/Solve`,
    `/${CONTROL}/Status`,
    `/${CONTROL}/Session`,
    `/${LLB_BRIDGE}/Ping`,
    `/${LLB_BRIDGE}/Solve`,
    `/${LLB_BRIDGE}/Return`,
]);
/**
 * Of those, the calls whose answers do not mean a build has started: the
 * worker list envd polls first, and the Session tunnel, whose bytes from the
 * builder begin with its HTTP/2 preface and health checks as soon as the
 * session is attached. Any other answer (progress on Status, a Solve's
 * result, a frontend's LLBBridge call) does; progress arrives as soon as the
 * builder has a step, long before anything is exported.
 */
const ANSWERED_BEFORE_START = new Set([`/${CONTROL}/ListWorkers`, `/${CONTROL}/Session`]);
/** Exact match only: the path is used as given for the upstream call. */
function isEnvdBuildMethod(path) {
    return ENVD_BUILD_METHODS.has(path);
}

// EXTERNAL MODULE: ./src/protocol/index.ts + 3 modules
var protocol = __webpack_require__(8117);
;// CONCATENATED MODULE: ./src/envd/gateway/solve-capture.ts
// Reading Control/Solve's request and response as they pass through the
// gateway, to learn the exporter response (image digest) that envd itself
// would only print. The forwarded bytes are not touched: the capture decodes
// copies of this one method's chunks on the side. Solve messages are small;
// decoding problems are logged and never disturb forwarding.



const SOLVE_PATH = '/moby.buildkit.v1.Control/Solve';
/** Far above any real SolveRequest/SolveResponse, and what the builder accepts anyway. */
const MAX_CAPTURED_MESSAGE_BYTES = 16 * 1024 * 1024;
const solveRequestCodec = (0,protocol/* codec */.rL)(protocol/* Messages */.B2.SolveRequest);
const solveResponseCodec = (0,protocol/* codec */.rL)(protocol/* Messages */.B2.SolveResponse);
/** One direction of the call, reassembled from copies of its chunks. */
class Side {
    what;
    log;
    decoder = new grpc_frames/* FrameDecoder */.wI(MAX_CAPTURED_MESSAGE_BYTES);
    broken = false;
    constructor(what, log) {
        this.what = what;
        this.log = log;
    }
    /** The messages `chunk` completes; none once the framing was refused. */
    push(chunk) {
        if (this.broken)
            return [];
        try {
            // A copy: the chunk itself is on its way to the other side.
            return this.decoder.push(Buffer.from(chunk));
        }
        catch (err) {
            this.broken = true;
            this.log(`envd gateway: could not read the ${this.what} framing: ${err.message}`);
            return [];
        }
    }
}
class SolveCapture {
    log;
    req;
    res;
    requests;
    responses;
    done = false;
    constructor(log) {
        this.log = log;
        this.requests = new Side('SolveRequest', log);
        this.responses = new Side('SolveResponse', log);
    }
    /** Bytes envd sent (already checked and forwarded). */
    request(chunk) {
        for (const message of this.requests.push(chunk)) {
            if (this.req)
                continue;
            try {
                this.req = solveRequestCodec.decode(message);
            }
            catch (err) {
                this.log(`envd gateway: could not decode a SolveRequest: ${err.message}`);
            }
        }
    }
    /** Bytes the builder answered (already forwarded). */
    response(chunk) {
        for (const message of this.responses.push(chunk)) {
            try {
                this.res = solveResponseCodec.decode(message);
            }
            catch (err) {
                this.log(`envd gateway: could not decode a SolveResponse: ${err.message}`);
            }
        }
    }
    /** The captured call, the first time the call's end is reported; undefined after that. */
    finish(code, details) {
        if (this.done)
            return undefined;
        this.done = true;
        const req = this.req;
        const exporters = (req?.Exporters ?? []).map((e) => ({ type: e.Type ?? '', attrs: { ...(e.Attrs ?? {}) } }));
        if (exporters.length === 0 && req?.ExporterDeprecated) {
            exporters.push({ type: req.ExporterDeprecated, attrs: { ...(req.ExporterAttrsDeprecated ?? {}) } });
        }
        const ok = code === grpc_status/* Status */.nW.OK;
        const captured = {
            ref: req?.Ref ?? '',
            session: req?.Session ?? '',
            frontend: req?.Frontend ?? '',
            exporters,
            exporterResponse: ok ? { ...(this.res?.ExporterResponse ?? {}) } : {},
            status: { code, details },
        };
        this.log(ok
            ? `envd gateway: Solve ${captured.ref} finished: ${JSON.stringify(captured.exporterResponse)}`
            : `envd gateway: Solve ${captured.ref} failed with ${(0,grpc_status/* statusName */.Er)(code)}: ${details}`);
        return captured;
    }
}

// EXTERNAL MODULE: ./src/envd/gateway/socket.ts
var socket = __webpack_require__(3055);
;// CONCATENATED MODULE: ./src/envd/gateway/server.ts
// The private gateway between the envd CLI and the remote builder.
//
// envd's own BuildKit client cannot use our connection to the builder (mTLS
// settings, the builder the action resolved). So envd talks h2c to a unix
// socket of ours that only the job's user can open, and every call envd's
// builds make (Control.ListWorkers/Solve/Status/Session, LLBBridge.Ping/
// Solve/Return) is passed on as an HTTP/2 stream over one connection of our
// own to the builder, byte for byte (gateway/forward.ts); every other method
// is refused (gateway/methods.ts). On the way the gateway reads
// Control.Solve's response to learn the exporter response (image digest)
// that envd itself would only print.









/** Sent upstream instead of envd's own user-agent (a hop header). */
const USER_AGENT = 'envd-remote-build-gateway';
/** How long close() lets sessions deliver final statuses before destroying them. */
const CLOSE_GRACE_MS = 1000;
/** Starts the gateway on `opts.socketPath`; resolves once it is listening. */
async function startGateway(endpoint, opts) {
    const log = opts.log ?? (() => undefined);
    // Throws here for unusable TLS settings; nothing connects before envd's first call.
    const upstream = new connection/* BuilderConnection */.Yz(endpoint, { log, label: 'envd gateway', ...(opts.keepalive ? { keepalive: opts.keepalive } : {}) });
    const state = {
        upstream,
        call: {
            builder: endpoint.address,
            // What the builder accepts anyway; refusing early stops an oversized
            // message before it is passed on.
            maxMessageBytes: channel/* MAX_MESSAGE_BYTES */.f,
            log,
            active: new Set(),
            connectionFailure: (stream) => upstream.connectionFailure(stream),
            watch: {
                answered: (path) => {
                    if (!ANSWERED_BEFORE_START.has(path))
                        state.started = true;
                },
                connectionLost: (cause) => {
                    state.lost ??= cause;
                },
            },
        },
        solves: [],
        closing: false,
        started: false,
        lost: undefined,
    };
    const server = external_node_http2_.createServer({
        ...connection/* SESSION_OPTIONS */.AC,
        settings: {
            maxHeaderListSize: connection/* MAX_HEADER_LIST_BYTES */.IH,
            initialWindowSize: connection/* STREAM_WINDOW_BYTES */.ud,
        },
    });
    const sessions = new Set();
    server.on('session', (session) => {
        // Who may connect at all is settled by the socket's permissions.
        if (state.closing) {
            session.destroy();
            return;
        }
        sessions.add(session);
        session.on('close', () => sessions.delete(session));
        session.on('error', (err) => log(`envd gateway: connection error: ${err.message}`));
        try {
            // initialWindowSize only covers streams; the connection window stays at
            // 64 KiB unless raised here.
            session.setLocalWindowSize(connection/* CONNECTION_WINDOW_BYTES */.cq);
        }
        catch (err) {
            log(`envd gateway: could not raise the connection window: ${err.message}`);
        }
    });
    server.on('sessionError', (err) => log(`envd gateway: connection error: ${err.message}`));
    // @types/node omits the 4th argument; Node passes the flat raw header list.
    server.on('stream', (stream, headers, _flags, rawHeaders) => {
        forwardStream(state, stream, headers, rawList(headers, rawHeaders));
    });
    await (0,socket/* listenPrivate */.BE)(server, opts.socketPath);
    server.on('error', (err) => log(`envd gateway: server error: ${err.message}`));
    let closed;
    const close = async () => {
        state.closing = true;
        const stopped = new Promise((resolve) => server.close(() => resolve()));
        // Each ends envd's call and resets the builder's stream (CANCEL).
        for (const call of [...state.call.active])
            call.abort(grpc_status/* Status */.nW.CANCELLED, 'envd gateway: closed while the call was in flight');
        // GOAWAY first so the final statuses just written still reach envd...
        for (const session of sessions)
            if (!session.closed && !session.destroyed)
                session.close();
        const grace = new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref());
        await Promise.all([Promise.race([stopped, grace]), state.upstream.close()]);
        // ...then make sure nothing keeps the socket or the process alive.
        // (Closing the server also removes the socket file.)
        for (const session of sessions)
            session.destroy();
        await stopped;
    };
    return {
        socketPath: opts.socketPath,
        url: `unix://${opts.socketPath}`,
        solves: () => [...state.solves],
        lostBeforeStart: () => (state.started ? undefined : state.lost),
        close: () => (closed ??= close()),
    };
}
/**
 * Checks one HTTP/2 stream from envd and opens its stream to the builder.
 * Unary and streaming calls look the same on the wire, and the bytes need no
 * knowledge of the method.
 */
function forwardStream(state, stream, headers, rawHeaders) {
    stream.on('error', (err) => state.call.log(`envd gateway: stream error on ${String(headers[':path'])}: ${err.message}`));
    const path = headers[':path'];
    if (headers[':method'] !== 'POST' || typeof path !== 'string' || !path.startsWith('/')) {
        if (!stream.destroyed)
            stream.respond({ ':status': 405 }, { endStream: true });
        return;
    }
    const contentType = headers['content-type'];
    if (typeof contentType !== 'string' || !/^application\/grpc([+;]|$)/.test(contentType)) {
        if (!stream.destroyed)
            stream.respond({ ':status': 415 }, { endStream: true });
        return;
    }
    if (!isEnvdBuildMethod(path)) {
        // Refused here, before any upstream call exists: the builder never sees it.
        state.call.log(`envd gateway: refused ${JSON.stringify(path)}: not a method envd builds use`);
        respondTrailersOnly(stream, grpc_status/* Status */.nW.PERMISSION_DENIED, `envd gateway: ${path} is not one of the methods envd builds use; refused`);
        return;
    }
    if (state.closing) {
        respondTrailersOnly(stream, grpc_status/* Status */.nW.UNAVAILABLE, 'envd gateway: closed');
        return;
    }
    const encoding = headers['grpc-encoding'];
    if (encoding !== undefined && encoding !== 'identity') {
        // The frame check refuses compressed messages; listing what we accept lets
        // a negotiating client retry without compression.
        respondTrailersOnly(stream, grpc_status/* Status */.nW.UNIMPLEMENTED, `envd gateway: grpc-encoding "${String(encoding)}" is not supported`, {
            'grpc-accept-encoding': 'identity',
        });
        return;
    }
    let forwarded;
    try {
        forwarded = requestMetadata(rawHeaders);
    }
    catch (err) {
        const code = err instanceof CallError ? err.code : grpc_status/* Status */.nW.INTERNAL;
        respondTrailersOnly(stream, code, err.message);
        return;
    }
    let upstream;
    try {
        upstream = state.upstream.request({
            ':method': 'POST',
            ':path': path,
            ':authority': state.upstream.authority,
            'content-type': contentType,
            te: 'trailers',
            'user-agent': USER_AGENT,
            ...(forwarded.timeout !== undefined ? { 'grpc-timeout': forwarded.timeout } : {}),
            ...requestHeaders(forwarded.metadata),
        });
    }
    catch (err) {
        respondTrailersOnly(stream, grpc_status/* Status */.nW.UNAVAILABLE, `envd gateway: cannot open a call to builder ${state.upstream.address}: ${err.message}`);
        return;
    }
    const capture = path === SOLVE_PATH ? new SolveCapture(state.call.log) : undefined;
    const ctx = capture
        ? {
            ...state.call,
            ended: (code, details) => {
                const solve = capture.finish(code, details);
                if (solve)
                    state.solves.push(solve);
            },
        }
        : state.call;
    proxyCall(ctx, path, stream, upstream, capture);
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


/***/ })

};

//# sourceMappingURL=171.index.js.map