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
import * as http2 from 'node:http2';
import type { ClientStream } from '../../common/h2/client.js';
import { Status } from '../../common/grpc-status.js';
import { MAX_MESSAGE_BYTES, type KeepaliveSettings } from '../../buildkit/channel.js';
import { BuilderConnection, CONNECTION_WINDOW_BYTES, MAX_HEADER_LIST_BYTES, SESSION_OPTIONS, STREAM_WINDOW_BYTES } from '../../buildkit/connection.js';
import type { BuilderEndpoint } from '../../buildkit/endpoint.js';
import { proxyCall, rawList, respondTrailersOnly, type CallContext } from './forward.js';
import { ANSWERED_BEFORE_START, isEnvdBuildMethod } from './methods.js';
import { SOLVE_PATH, SolveCapture, type CapturedSolve } from './solve-capture.js';
import { listenPrivate } from './socket.js';
import { CallError, requestHeaders, requestMetadata } from './wire.js';

export type { CapturedExporter, CapturedSolve } from './solve-capture.js';

export interface GatewayOptions {
  /**
   * Absolute path of the unix socket to listen on. Its directory must exist,
   * belong to this user and be closed to everyone else (0700); the socket is
   * made 0600.
   */
  readonly socketPath: string;
  /** Diagnostics (refused methods, undecodable Solve messages, captured results). */
  readonly log?: (message: string) => void;
  /** Keepalive of the connection to the builder; DEFAULT_KEEPALIVE unless given (tests shorten it). */
  readonly keepalive?: KeepaliveSettings;
}

export interface Gateway {
  /** The unix socket envd connects to (envd: `--builder unix --builder-address <socketPath>`). */
  readonly socketPath: string;
  /** `unix://<socketPath>`, the address as gRPC clients (envd included) dial it. */
  readonly url: string;
  /** Every Solve that has finished so far, oldest first. */
  solves(): readonly CapturedSolve[];
  /**
   * How the connection to the builder failed, if it did before the builder
   * showed any sign of working on a build; undefined otherwise. Such a
   * builder did nothing for envd's build, so another one may take it over.
   */
  lostBeforeStart(): string | undefined;
  /** Stops accepting, ends in-flight calls (cancelling them upstream), closes the builder connection. Idempotent. */
  close(): Promise<void>;
}

/** Sent upstream instead of envd's own user-agent (a hop header). */
const USER_AGENT = 'envd-remote-build-gateway';
/** How long close() lets sessions deliver final statuses before destroying them. */
const CLOSE_GRACE_MS = 1000;

interface GatewayState {
  readonly upstream: BuilderConnection;
  readonly call: CallContext;
  readonly solves: CapturedSolve[];
  closing: boolean;
  /** The builder answered a call that only a build in progress answers. */
  started: boolean;
  /** How the connection to the builder first failed. */
  lost: string | undefined;
}

/** Starts the gateway on `opts.socketPath`; resolves once it is listening. */
export async function startGateway(endpoint: BuilderEndpoint, opts: GatewayOptions): Promise<Gateway> {
  const log = opts.log ?? (() => undefined);
  // Throws here for unusable TLS settings; nothing connects before envd's first call.
  const upstream = new BuilderConnection(endpoint, { log, label: 'envd gateway', ...(opts.keepalive ? { keepalive: opts.keepalive } : {}) });
  const state: GatewayState = {
    upstream,
    call: {
      builder: endpoint.address,
      // What the builder accepts anyway; refusing early stops an oversized
      // message before it is passed on.
      maxMessageBytes: MAX_MESSAGE_BYTES,
      log,
      active: new Set(),
      connectionFailure: (stream) => upstream.connectionFailure(stream),
      watch: {
        answered: (path) => {
          if (!ANSWERED_BEFORE_START.has(path)) state.started = true;
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

  const server = http2.createServer({
    ...SESSION_OPTIONS,
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
    forwardStream(state, stream, headers, rawList(headers, rawHeaders));
  });

  await listenPrivate(server, opts.socketPath);
  server.on('error', (err) => log(`envd gateway: server error: ${err.message}`));

  let closed: Promise<void> | undefined;

  const close = async (): Promise<void> => {
    state.closing = true;
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    // Each ends envd's call and resets the builder's stream (CANCEL).
    for (const call of [...state.call.active]) call.abort(Status.CANCELLED, 'envd gateway: closed while the call was in flight');
    // GOAWAY first so the final statuses just written still reach envd...
    for (const session of sessions) if (!session.closed && !session.destroyed) session.close();
    const grace = new Promise<void>((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref());
    await Promise.all([Promise.race([stopped, grace]), state.upstream.close()]);
    // ...then make sure nothing keeps the socket or the process alive.
    // (Closing the server also removes the socket file.)
    for (const session of sessions) session.destroy();
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
function forwardStream(state: GatewayState, stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, rawHeaders: readonly string[]): void {
  stream.on('error', (err) => state.call.log(`envd gateway: stream error on ${String(headers[':path'])}: ${err.message}`));

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
    state.call.log(`envd gateway: refused ${JSON.stringify(path)}: not a method envd builds use`);
    respondTrailersOnly(stream, Status.PERMISSION_DENIED, `envd gateway: ${path} is not one of the methods envd builds use; refused`);
    return;
  }
  if (state.closing) {
    respondTrailersOnly(stream, Status.UNAVAILABLE, 'envd gateway: closed');
    return;
  }
  const encoding = headers['grpc-encoding'];
  if (encoding !== undefined && encoding !== 'identity') {
    // The frame check refuses compressed messages; listing what we accept lets
    // a negotiating client retry without compression.
    respondTrailersOnly(stream, Status.UNIMPLEMENTED, `envd gateway: grpc-encoding "${String(encoding)}" is not supported`, {
      'grpc-accept-encoding': 'identity',
    });
    return;
  }
  let forwarded: ReturnType<typeof requestMetadata>;
  try {
    forwarded = requestMetadata(rawHeaders);
  } catch (err) {
    const code = err instanceof CallError ? err.code : Status.INTERNAL;
    respondTrailersOnly(stream, code, (err as Error).message);
    return;
  }

  let upstream: ClientStream;
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
  } catch (err) {
    respondTrailersOnly(stream, Status.UNAVAILABLE, `envd gateway: cannot open a call to builder ${state.upstream.address}: ${(err as Error).message}`);
    return;
  }
  const capture = path === SOLVE_PATH ? new SolveCapture(state.call.log) : undefined;
  const ctx: CallContext = capture
    ? {
        ...state.call,
        ended: (code, details) => {
          const solve = capture.finish(code, details);
          if (solve) state.solves.push(solve);
        },
      }
    : state.call;
  proxyCall(ctx, path, stream, upstream, capture);
}
