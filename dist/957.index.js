export const id = 957;
export const ids = [957];
export const modules = {

/***/ 7957:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  startGateway: () => (/* binding */ startGateway)
});

// EXTERNAL MODULE: external "node:http2"
var external_node_http2_ = __webpack_require__(2467);
// EXTERNAL MODULE: ./node_modules/@grpc/grpc-js/build/src/index.js
var src = __webpack_require__(3033);
// EXTERNAL MODULE: ./src/buildkit/channel.ts
var channel = __webpack_require__(6211);
// EXTERNAL MODULE: ./src/protocol/index.ts + 2 modules
var protocol = __webpack_require__(4946);
// EXTERNAL MODULE: ./src/common/grpc-frames.ts
var grpc_frames = __webpack_require__(6956);
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
/** Exact match only: the path is used as given for the upstream call. */
function isEnvdBuildMethod(path) {
    return ENVD_BUILD_METHODS.has(path);
}

// EXTERNAL MODULE: ./src/envd/gateway/socket.ts
var socket = __webpack_require__(3055);
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
            // grpc-js (our upstream side) only accepts messages to serialize, not
            // pre-compressed bytes, so a compressed message cannot be passed on.
            return new CallError(src/* status */.h5.UNIMPLEMENTED, 'envd gateway: compressed gRPC request messages are not supported; disable compression in the client');
        case 'invalid-flag':
            return new CallError(src/* status */.h5.INTERNAL, `envd gateway: invalid gRPC message flag ${err.flag}`);
        case 'too-large':
            return new CallError(src/* status */.h5.RESOURCE_EXHAUSTED, `envd gateway: request message of ${err.length} bytes exceeds the limit of ${err.limit} bytes`);
    }
}
/**
 * Request headers that belong to one hop: grpc-js sets its own te,
 * content-type, user-agent and encodings upstream, and grpc-timeout becomes a
 * call deadline. Forwarding them as metadata would duplicate or contradict them.
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
/**
 * Builds upstream metadata from the flat `[name, value, ...]` list of the
 * 'stream' event. The parsed headers object would join repeated values with
 * ", ", which is ambiguous; the raw list keeps them apart. Throws CallError.
 */
function requestMetadata(rawHeaders) {
    const metadata = new src/* Metadata */.OS();
    let timeoutMs;
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
        const name = rawHeaders[i].toLowerCase();
        const value = rawHeaders[i + 1];
        if (name.startsWith(':'))
            continue;
        if (name === 'grpc-timeout') {
            timeoutMs = parseGrpcTimeout(value);
            if (timeoutMs === undefined)
                throw new CallError(src/* status */.h5.INTERNAL, `envd gateway: malformed grpc-timeout "${value}"`);
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
            throw new CallError(src/* status */.h5.INTERNAL, `envd gateway: cannot forward request header "${name}": ${err instanceof Error ? err.message : String(err)}`);
        }
    }
    return timeoutMs === undefined ? { metadata } : { metadata, timeoutMs };
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

;// CONCATENATED MODULE: ./src/envd/gateway/server.ts
// The private gateway between the envd CLI and the remote builder.
//
// envd's own BuildKit client cannot use our connection to the builder (mTLS
// settings, the builder the action resolved). So envd talks h2c to a unix
// socket of ours that only the job's user can open, and every call envd's
// builds make (Control.ListWorkers/Solve/Status/Session, LLBBridge.Ping/
// Solve/Return) is passed on over our grpc-js channel, message by message,
// untouched; every other method is refused (gateway/methods.ts). On the way
// the gateway reads Control.Solve's response to learn the exporter response
// (image digest) that envd itself would only print.








const SOLVE_PATH = '/moby.buildkit.v1.Control/Solve';
/** Large enough for big payloads on the Session tunnel without stalling on 64 KiB windows. */
const STREAM_WINDOW_BYTES = 4 * 1024 * 1024;
const CONNECTION_WINDOW_BYTES = 16 * 1024 * 1024;
/** Header limits matching grpc-go's 16 MiB default; Node's defaults (128 fields, 64 KiB) are far lower. */
const MAX_HEADER_LIST_BYTES = 16 * 1024 * 1024;
const MAX_HEADER_FIELDS = 100_000;
/** How long close() lets sessions deliver final statuses before destroying them. */
const CLOSE_GRACE_MS = 1000;
/** Writes below this size are joined with their 5-byte prefix into one DATA write. */
const COALESCE_BYTES = 64 * 1024;
const identity = (b) => b;
const solveRequestCodec = (0,protocol/* codec */.rL)(protocol/* Messages */.B2.SolveRequest);
const solveResponseCodec = (0,protocol/* codec */.rL)(protocol/* Messages */.B2.SolveResponse);
/** Starts the gateway on `opts.socketPath`; resolves once it is listening. */
async function startGateway(endpoint, opts) {
    const log = opts.log ?? (() => undefined);
    const maxSend = (0,channel/* channelOptions */.w8)(endpoint)['grpc.max_send_message_length'];
    const state = {
        client: (0,channel/* createGenericClient */.Tz)(endpoint),
        // The upstream channel cannot send more than this anyway; refusing early
        // avoids buffering an oversized message first.
        maxMessageBytes: typeof maxSend === 'number' && maxSend > 0 ? maxSend : 16 * 1024 * 1024,
        log,
        solves: [],
        active: new Set(),
        closing: false,
    };
    const server = external_node_http2_.createServer({
        maxHeaderListPairs: MAX_HEADER_FIELDS,
        maxSendHeaderBlockLength: Number.MAX_SAFE_INTEGER,
        // Node's 10 MB credit limit makes it refuse new streams under load; grpc-js
        // lifts it the same way.
        maxSessionMemory: Number.MAX_SAFE_INTEGER,
        settings: {
            maxHeaderListSize: MAX_HEADER_LIST_BYTES,
            initialWindowSize: STREAM_WINDOW_BYTES,
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
            session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
        }
        catch (err) {
            log(`envd gateway: could not raise the connection window: ${err.message}`);
        }
    });
    server.on('sessionError', (err) => log(`envd gateway: connection error: ${err.message}`));
    // @types/node omits the 4th argument; Node passes the flat raw header list.
    server.on('stream', (stream, headers, _flags, rawHeaders) => {
        forwardStream(state, stream, headers, rawHeaders ?? flattenHeaders(headers));
    });
    await (0,socket/* listenPrivate */.BE)(server, opts.socketPath).catch((err) => {
        state.client.close();
        throw err;
    });
    server.on('error', (err) => log(`envd gateway: server error: ${err.message}`));
    let closed;
    const close = async () => {
        state.closing = true;
        const stopped = new Promise((resolve) => server.close(() => resolve()));
        for (const call of [...state.active])
            call.abort(src/* status */.h5.CANCELLED, 'envd gateway: closed while the call was in flight');
        // GOAWAY first so the final statuses just written still reach envd...
        for (const session of sessions)
            if (!session.closed && !session.destroyed)
                session.close();
        const grace = new Promise((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref());
        await Promise.race([stopped, grace]);
        // ...then make sure nothing keeps the socket or the process alive.
        // (Closing the server also removes the socket file.)
        for (const session of sessions)
            session.destroy();
        await stopped;
        state.client.close();
    };
    return {
        socketPath: opts.socketPath,
        url: `unix://${opts.socketPath}`,
        solves: () => [...state.solves],
        close: () => (closed ??= close()),
    };
}
/** Fallback for Node versions that do not pass rawHeaders (repeated values stay joined). */
function flattenHeaders(headers) {
    const flat = [];
    for (const [name, value] of Object.entries(headers)) {
        if (value === undefined)
            continue;
        for (const v of Array.isArray(value) ? value : [value])
            flat.push(name, String(v));
    }
    return flat;
}
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
 * Forwards one HTTP/2 stream from envd as one grpc-js call to the builder.
 * Every method is opened as a bidi call: unary and streaming calls look the
 * same on the wire, and the raw bytes need no knowledge of the method.
 */
function forwardStream(state, stream, headers, rawHeaders) {
    stream.on('error', (err) => state.log(`envd gateway: stream error on ${String(headers[':path'])}: ${err.message}`));
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
        state.log(`envd gateway: refused ${JSON.stringify(path)}: not a method envd builds use`);
        respondTrailersOnly(stream, src/* status */.h5.PERMISSION_DENIED, `envd gateway: ${path} is not one of the methods envd builds use; refused`);
        return;
    }
    if (state.closing) {
        respondTrailersOnly(stream, src/* status */.h5.UNAVAILABLE, 'envd gateway: closed');
        return;
    }
    const encoding = headers['grpc-encoding'];
    if (encoding !== undefined && encoding !== 'identity') {
        // Messages reach grpc-js uncompressed; we cannot pass compressed bytes on.
        // Listing what we accept lets a negotiating client retry without it.
        respondTrailersOnly(stream, src/* status */.h5.UNIMPLEMENTED, `envd gateway: grpc-encoding "${String(encoding)}" is not supported`, {
            'grpc-accept-encoding': 'identity',
        });
        return;
    }
    let forwarded;
    try {
        forwarded = requestMetadata(rawHeaders);
    }
    catch (err) {
        const code = err instanceof CallError ? err.code : src/* status */.h5.INTERNAL;
        respondTrailersOnly(stream, code, err.message);
        return;
    }
    const options = forwarded.timeoutMs !== undefined ? { deadline: Date.now() + forwarded.timeoutMs } : {};
    const call = state.client.makeBidiStreamRequest(path, identity, identity, forwarded.metadata, options);
    const decoder = new grpc_frames/* FrameDecoder */.wI(state.maxMessageBytes);
    const solve = path === SOLVE_PATH ? new SolveCapture(state.log) : undefined;
    /** Response HEADERS sent to envd. */
    let responded = false;
    /** The final status has been sent to envd, or envd is gone; nothing more is forwarded. */
    let finished = false;
    let upstreamStatus;
    /** All upstream messages have been handed to us ('end' of the readable side). */
    let upstreamDrained = false;
    let trailers = {};
    // envd reads slower than the builder sends: stop reading upstream so
    // HTTP/2 flow control pushes back on the builder instead of us buffering.
    const holdUpstream = pauseUntilDrained(call, stream);
    // The builder (or the link to it) is slower than envd: stop reading the
    // h2 stream so its window closes and envd waits.
    const holdDownstream = pauseUntilDrained(stream, call);
    const entry = { abort: (code, details) => finish(code, details) };
    state.active.add(entry);
    const sendHeaders = (metadata) => {
        if (responded)
            return true;
        if (stream.destroyed || stream.closed)
            return false;
        try {
            stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...metadataHeaders(metadata) }, { waitForTrailers: true });
            responded = true;
            return true;
        }
        catch (err) {
            // Only reachable with response metadata Node refuses to encode.
            finish(src/* status */.h5.INTERNAL, `envd gateway: cannot forward response headers: ${err.message}`);
            return false;
        }
    };
    stream.on('wantTrailers', () => {
        try {
            stream.sendTrailers(trailers);
        }
        catch (err) {
            try {
                stream.sendTrailers(statusTrailers(src/* status */.h5.INTERNAL, `envd gateway: cannot forward response trailers: ${err.message}`));
            }
            catch {
                stream.close(external_node_http2_.constants.NGHTTP2_INTERNAL_ERROR);
            }
        }
    });
    /** Stops forwarding; a call the builder has not ended yet is cancelled. False if already stopped. */
    function stopForwarding() {
        if (finished)
            return false;
        finished = true;
        state.active.delete(entry);
        if (!upstreamStatus)
            call.cancel();
        return true;
    }
    function finish(code, details, metadata) {
        // Our own reason to stop (bad frame, close()): the builder must stop too.
        if (!stopForwarding())
            return;
        if (stream.destroyed || stream.closed)
            return;
        // Let further request bytes drain into the void instead of stalling the connection.
        stream.resume();
        if (!responded) {
            // Trailers-only response: status in the one HEADERS frame.
            try {
                stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...statusTrailers(code, details, metadata) }, { endStream: true });
            }
            catch {
                respondTrailersOnly(stream, src/* status */.h5.INTERNAL, `envd gateway: cannot forward response trailers for status ${code}`);
            }
            responded = true;
            return;
        }
        trailers = statusTrailers(code, details, metadata);
        stream.end(); // emits 'wantTrailers' once all DATA is out
    }
    const maybeFinish = () => {
        if (upstreamStatus && upstreamDrained)
            finish(upstreamStatus.code, upstreamStatus.details, upstreamStatus.metadata);
    };
    // --- builder → envd
    call.on('metadata', (metadata) => {
        if (!finished)
            sendHeaders(metadata);
    });
    call.on('data', (message) => {
        if (finished)
            return;
        solve?.response(message);
        if (!sendHeaders())
            return;
        let ok;
        if (message.length < COALESCE_BYTES) {
            ok = stream.write((0,grpc_frames/* frameMessage */.$3)(message));
        }
        else {
            stream.write((0,grpc_frames/* frameHeader */.FH)(message.length));
            ok = stream.write(message);
        }
        if (!ok)
            holdUpstream();
    });
    call.on('end', () => {
        upstreamDrained = true;
        maybeFinish();
    });
    // 'error' duplicates 'status' for non-OK codes; without a listener it would throw.
    call.on('error', () => undefined);
    call.on('status', (status) => {
        upstreamStatus = status;
        if (solve)
            state.solves.push(solve.result(status));
        // grpc-js emits 'status' possibly before buffered messages were read;
        // the trailers must follow the last message, so wait for 'end' as well,
        // unless envd is gone or we already stopped.
        if (finished)
            return;
        maybeFinish();
    });
    // --- envd → builder
    stream.on('data', (chunk) => {
        if (finished)
            return;
        let messages;
        try {
            messages = decoder.push(chunk);
        }
        catch (err) {
            const failure = err instanceof grpc_frames/* FrameError */.qy ? frameCallError(err) : new CallError(src/* status */.h5.INTERNAL, err.message);
            state.log(`envd gateway: ${path}: ${failure.message}`);
            finish(failure.code, failure.message);
            return;
        }
        for (const message of messages) {
            solve?.request(message);
            if (!call.write(message))
                holdDownstream();
        }
    });
    stream.on('end', () => {
        if (finished)
            return;
        if (decoder.hasPartial()) {
            finish(src/* status */.h5.INTERNAL, 'envd gateway: request ended in the middle of a gRPC message');
            return;
        }
        call.end(); // half-close: envd has sent all its messages
    });
    stream.on('close', () => {
        // RST_STREAM from envd, its connection dropped, or the normal end after
        // our trailers. Only the first two leave the call running upstream.
        stopForwarding();
    });
}
/** Reads Control/Solve's request and response as they pass. Decoding problems never disturb forwarding. */
class SolveCapture {
    log;
    req;
    res;
    constructor(log) {
        this.log = log;
    }
    request(bytes) {
        if (this.req)
            return;
        try {
            this.req = solveRequestCodec.decode(bytes);
        }
        catch (err) {
            this.log(`envd gateway: could not decode a SolveRequest: ${err.message}`);
        }
    }
    response(bytes) {
        try {
            this.res = solveResponseCodec.decode(bytes);
        }
        catch (err) {
            this.log(`envd gateway: could not decode a SolveResponse: ${err.message}`);
        }
    }
    result(status) {
        const req = this.req;
        const exporters = (req?.Exporters ?? []).map((e) => ({ type: e.Type ?? '', attrs: { ...(e.Attrs ?? {}) } }));
        if (exporters.length === 0 && req?.ExporterDeprecated) {
            exporters.push({ type: req.ExporterDeprecated, attrs: { ...(req.ExporterAttrsDeprecated ?? {}) } });
        }
        const ok = status.code === src/* status */.h5.OK;
        const captured = {
            ref: req?.Ref ?? '',
            session: req?.Session ?? '',
            frontend: req?.Frontend ?? '',
            exporters,
            exporterResponse: ok ? { ...(this.res?.ExporterResponse ?? {}) } : {},
            status: { code: status.code, details: status.details },
        };
        this.log(ok
            ? `envd gateway: Solve ${captured.ref} finished: ${JSON.stringify(captured.exporterResponse)}`
            : `envd gateway: Solve ${captured.ref} failed with ${src/* status */.h5[status.code] ?? status.code}: ${status.details}`);
        return captured;
    }
}


/***/ })

};

//# sourceMappingURL=957.index.js.map