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
import * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { channelOptions, createGenericClient } from '../../buildkit/channel.js';
import type { BuilderEndpoint } from '../../buildkit/endpoint.js';
import { codec, Messages, type SolveRequest, type SolveResponse } from '../../protocol/index.js';
import { FrameDecoder, FrameError, frameHeader, frameMessage } from '../../common/grpc-frames.js';
import { isEnvdBuildMethod } from './methods.js';
import { listenPrivate } from './socket.js';
import { CallError, frameCallError, metadataHeaders, requestMetadata, statusTrailers } from './wire.js';

export interface GatewayOptions {
  /**
   * Absolute path of the unix socket to listen on. Its directory must exist,
   * belong to this user and be closed to everyone else (0700); the socket is
   * made 0600.
   */
  readonly socketPath: string;
  /** Diagnostics (refused methods, undecodable Solve messages, captured results). */
  readonly log?: (message: string) => void;
}

export interface CapturedExporter {
  readonly type: string;
  readonly attrs: Readonly<Record<string, string>>;
}

/** One finished `Control/Solve` call that went through the gateway. */
export interface CapturedSolve {
  /** `SolveRequest.Ref` (the build ID); '' if the request could not be decoded. */
  readonly ref: string;
  /** `SolveRequest.Session`, the session the build reads local files through. */
  readonly session: string;
  /** '' for client-driven (LLBBridge) builds, which is what envd does. */
  readonly frontend: string;
  /** Requested exporters: `Exporters`, or the legacy single exporter for old clients. */
  readonly exporters: readonly CapturedExporter[];
  /** The daemon's merged exporter response, e.g. `containerimage.digest`; `{}` when Solve failed. */
  readonly exporterResponse: Readonly<Record<string, string>>;
  /** How the call ended (code 0 = OK), as the builder (or the gateway) reported it. */
  readonly status: { readonly code: number; readonly details: string };
}

export interface Gateway {
  /** The unix socket envd connects to (envd: `--builder unix --builder-address <socketPath>`). */
  readonly socketPath: string;
  /** `unix://<socketPath>`, the address as gRPC clients (envd included) dial it. */
  readonly url: string;
  /** Every Solve that has finished so far, oldest first. */
  solves(): readonly CapturedSolve[];
  /** Stops accepting, ends in-flight calls (cancelling them upstream), closes the builder channel. Idempotent. */
  close(): Promise<void>;
}

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

const identity = (b: Buffer): Buffer => b;
const solveRequestCodec = codec<SolveRequest>(Messages.SolveRequest);
const solveResponseCodec = codec<SolveResponse>(Messages.SolveResponse);

interface GatewayState {
  readonly client: grpc.Client;
  readonly maxMessageBytes: number;
  readonly log: (message: string) => void;
  readonly solves: CapturedSolve[];
  /** In-flight calls; close() ends each of them. */
  readonly active: Set<{ abort(code: grpc.status, details: string): void }>;
  closing: boolean;
}

/** Starts the gateway on `opts.socketPath`; resolves once it is listening. */
export async function startGateway(endpoint: BuilderEndpoint, opts: GatewayOptions): Promise<Gateway> {
  const log = opts.log ?? (() => undefined);
  const maxSend = channelOptions(endpoint)['grpc.max_send_message_length'];
  const state: GatewayState = {
    client: createGenericClient(endpoint),
    // The upstream channel cannot send more than this anyway; refusing early
    // avoids buffering an oversized message first.
    maxMessageBytes: typeof maxSend === 'number' && maxSend > 0 ? maxSend : 16 * 1024 * 1024,
    log,
    solves: [],
    active: new Set(),
    closing: false,
  };

  const server = http2.createServer({
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
  const sessions = new Set<http2.ServerHttp2Session>();

  server.on('session', (session: http2.ServerHttp2Session) => {
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
    } catch (err) {
      log(`envd gateway: could not raise the connection window: ${(err as Error).message}`);
    }
  });
  server.on('sessionError', (err) => log(`envd gateway: connection error: ${err.message}`));
  // @types/node omits the 4th argument; Node passes the flat raw header list.
  server.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, rawHeaders?: readonly string[]) => {
    forwardStream(state, stream, headers, rawHeaders ?? flattenHeaders(headers));
  });

  await listenPrivate(server, opts.socketPath).catch((err: unknown) => {
    state.client.close();
    throw err;
  });
  server.on('error', (err) => log(`envd gateway: server error: ${err.message}`));

  let closed: Promise<void> | undefined;

  const close = async (): Promise<void> => {
    state.closing = true;
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const call of [...state.active]) call.abort(grpc.status.CANCELLED, 'envd gateway: closed while the call was in flight');
    // GOAWAY first so the final statuses just written still reach envd...
    for (const session of sessions) if (!session.closed && !session.destroyed) session.close();
    const grace = new Promise<void>((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref());
    await Promise.race([stopped, grace]);
    // ...then make sure nothing keeps the socket or the process alive.
    // (Closing the server also removes the socket file.)
    for (const session of sessions) session.destroy();
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
function flattenHeaders(headers: http2.IncomingHttpHeaders): string[] {
  const flat: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) flat.push(name, String(v));
  }
  return flat;
}

/** Ends a stream before any upstream call exists. */
function respondTrailersOnly(stream: http2.ServerHttp2Stream, code: grpc.status, details: string, extra: http2.OutgoingHttpHeaders = {}): void {
  if (stream.destroyed || stream.closed || stream.headersSent) return;
  try {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...extra, ...statusTrailers(code, details) }, { endStream: true });
  } catch {
    stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  }
}

/**
 * Returns a function that stops reading `source` until `sink` drains. Calls
 * while it is paused do nothing, so one 'drain' listener at most is pending.
 */
function pauseUntilDrained(source: { pause(): unknown; resume(): unknown }, sink: { once(event: 'drain', listener: () => void): unknown }): () => void {
  let paused = false;
  return () => {
    if (paused) return;
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
function forwardStream(state: GatewayState, stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, rawHeaders: readonly string[]): void {
  stream.on('error', (err) => state.log(`envd gateway: stream error on ${String(headers[':path'])}: ${err.message}`));

  const path = headers[':path'];
  if (headers[':method'] !== 'POST' || typeof path !== 'string' || !path.startsWith('/')) {
    if (!stream.destroyed) stream.respond({ ':status': 405 }, { endStream: true });
    return;
  }
  const contentType = headers['content-type'];
  if (typeof contentType !== 'string' || !/^application\/grpc([+;]|$)/.test(contentType)) {
    if (!stream.destroyed) stream.respond({ ':status': 415 }, { endStream: true });
    return;
  }
  if (!isEnvdBuildMethod(path)) {
    // Refused here, before any upstream call exists: the builder never sees it.
    state.log(`envd gateway: refused ${JSON.stringify(path)}: not a method envd builds use`);
    respondTrailersOnly(stream, grpc.status.PERMISSION_DENIED, `envd gateway: ${path} is not one of the methods envd builds use; refused`);
    return;
  }
  if (state.closing) {
    respondTrailersOnly(stream, grpc.status.UNAVAILABLE, 'envd gateway: closed');
    return;
  }
  const encoding = headers['grpc-encoding'];
  if (encoding !== undefined && encoding !== 'identity') {
    // Messages reach grpc-js uncompressed; we cannot pass compressed bytes on.
    // Listing what we accept lets a negotiating client retry without it.
    respondTrailersOnly(stream, grpc.status.UNIMPLEMENTED, `envd gateway: grpc-encoding "${String(encoding)}" is not supported`, {
      'grpc-accept-encoding': 'identity',
    });
    return;
  }
  let forwarded: ReturnType<typeof requestMetadata>;
  try {
    forwarded = requestMetadata(rawHeaders);
  } catch (err) {
    const code = err instanceof CallError ? err.code : grpc.status.INTERNAL;
    respondTrailersOnly(stream, code, (err as Error).message);
    return;
  }

  const options: grpc.CallOptions = forwarded.timeoutMs !== undefined ? { deadline: Date.now() + forwarded.timeoutMs } : {};
  const call = state.client.makeBidiStreamRequest<Buffer, Buffer>(path, identity, identity, forwarded.metadata, options);
  const decoder = new FrameDecoder(state.maxMessageBytes);
  const solve = path === SOLVE_PATH ? new SolveCapture(state.log) : undefined;

  /** Response HEADERS sent to envd. */
  let responded = false;
  /** The final status has been sent to envd, or envd is gone; nothing more is forwarded. */
  let finished = false;
  let upstreamStatus: grpc.StatusObject | undefined;
  /** All upstream messages have been handed to us ('end' of the readable side). */
  let upstreamDrained = false;
  let trailers: http2.OutgoingHttpHeaders = {};
  // envd reads slower than the builder sends: stop reading upstream so
  // HTTP/2 flow control pushes back on the builder instead of us buffering.
  const holdUpstream = pauseUntilDrained(call, stream);
  // The builder (or the link to it) is slower than envd: stop reading the
  // h2 stream so its window closes and envd waits.
  const holdDownstream = pauseUntilDrained(stream, call);

  const entry = { abort: (code: grpc.status, details: string) => finish(code, details) };
  state.active.add(entry);

  const sendHeaders = (metadata?: grpc.Metadata): boolean => {
    if (responded) return true;
    if (stream.destroyed || stream.closed) return false;
    try {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...metadataHeaders(metadata) }, { waitForTrailers: true });
      responded = true;
      return true;
    } catch (err) {
      // Only reachable with response metadata Node refuses to encode.
      finish(grpc.status.INTERNAL, `envd gateway: cannot forward response headers: ${(err as Error).message}`);
      return false;
    }
  };

  stream.on('wantTrailers', () => {
    try {
      stream.sendTrailers(trailers);
    } catch (err) {
      try {
        stream.sendTrailers(statusTrailers(grpc.status.INTERNAL, `envd gateway: cannot forward response trailers: ${(err as Error).message}`));
      } catch {
        stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      }
    }
  });

  /** Stops forwarding; a call the builder has not ended yet is cancelled. False if already stopped. */
  function stopForwarding(): boolean {
    if (finished) return false;
    finished = true;
    state.active.delete(entry);
    if (!upstreamStatus) call.cancel();
    return true;
  }

  function finish(code: grpc.status, details: string, metadata?: grpc.Metadata): void {
    // Our own reason to stop (bad frame, close()): the builder must stop too.
    if (!stopForwarding()) return;
    if (stream.destroyed || stream.closed) return;
    // Let further request bytes drain into the void instead of stalling the connection.
    stream.resume();
    if (!responded) {
      // Trailers-only response: status in the one HEADERS frame.
      try {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...statusTrailers(code, details, metadata) }, { endStream: true });
      } catch {
        respondTrailersOnly(stream, grpc.status.INTERNAL, `envd gateway: cannot forward response trailers for status ${code}`);
      }
      responded = true;
      return;
    }
    trailers = statusTrailers(code, details, metadata);
    stream.end(); // emits 'wantTrailers' once all DATA is out
  }

  const maybeFinish = (): void => {
    if (upstreamStatus && upstreamDrained) finish(upstreamStatus.code, upstreamStatus.details, upstreamStatus.metadata);
  };

  // --- builder → envd
  call.on('metadata', (metadata: grpc.Metadata) => {
    if (!finished) sendHeaders(metadata);
  });
  call.on('data', (message: Buffer) => {
    if (finished) return;
    solve?.response(message);
    if (!sendHeaders()) return;
    let ok: boolean;
    if (message.length < COALESCE_BYTES) {
      ok = stream.write(frameMessage(message));
    } else {
      stream.write(frameHeader(message.length));
      ok = stream.write(message);
    }
    if (!ok) holdUpstream();
  });
  call.on('end', () => {
    upstreamDrained = true;
    maybeFinish();
  });
  // 'error' duplicates 'status' for non-OK codes; without a listener it would throw.
  call.on('error', () => undefined);
  call.on('status', (status: grpc.StatusObject) => {
    upstreamStatus = status;
    if (solve) state.solves.push(solve.result(status));
    // grpc-js emits 'status' possibly before buffered messages were read;
    // the trailers must follow the last message, so wait for 'end' as well,
    // unless envd is gone or we already stopped.
    if (finished) return;
    maybeFinish();
  });

  // --- envd → builder
  stream.on('data', (chunk: Buffer) => {
    if (finished) return;
    let messages: Buffer[];
    try {
      messages = decoder.push(chunk);
    } catch (err) {
      const failure = err instanceof FrameError ? frameCallError(err) : new CallError(grpc.status.INTERNAL, (err as Error).message);
      state.log(`envd gateway: ${path}: ${failure.message}`);
      finish(failure.code, failure.message);
      return;
    }
    for (const message of messages) {
      solve?.request(message);
      if (!call.write(message)) holdDownstream();
    }
  });
  stream.on('end', () => {
    if (finished) return;
    if (decoder.hasPartial()) {
      finish(grpc.status.INTERNAL, 'envd gateway: request ended in the middle of a gRPC message');
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
  private req?: SolveRequest;
  private res?: SolveResponse;

  constructor(private readonly log: (message: string) => void) {}

  request(bytes: Buffer): void {
    if (this.req) return;
    try {
      this.req = solveRequestCodec.decode(bytes);
    } catch (err) {
      this.log(`envd gateway: could not decode a SolveRequest: ${(err as Error).message}`);
    }
  }

  response(bytes: Buffer): void {
    try {
      this.res = solveResponseCodec.decode(bytes);
    } catch (err) {
      this.log(`envd gateway: could not decode a SolveResponse: ${(err as Error).message}`);
    }
  }

  result(status: grpc.StatusObject): CapturedSolve {
    const req = this.req;
    const exporters: CapturedExporter[] = (req?.Exporters ?? []).map((e) => ({ type: e.Type ?? '', attrs: { ...(e.Attrs ?? {}) } }));
    if (exporters.length === 0 && req?.ExporterDeprecated) {
      exporters.push({ type: req.ExporterDeprecated, attrs: { ...(req.ExporterAttrsDeprecated ?? {}) } });
    }
    const ok = status.code === grpc.status.OK;
    const captured: CapturedSolve = {
      ref: req?.Ref ?? '',
      session: req?.Session ?? '',
      frontend: req?.Frontend ?? '',
      exporters,
      exporterResponse: ok ? { ...(this.res?.ExporterResponse ?? {}) } : {},
      status: { code: status.code, details: status.details },
    };
    this.log(
      ok
        ? `envd gateway: Solve ${captured.ref} finished: ${JSON.stringify(captured.exporterResponse)}`
        : `envd gateway: Solve ${captured.ref} failed with ${grpc.status[status.code] ?? status.code}: ${status.details}`,
    );
    return captured;
  }
}
