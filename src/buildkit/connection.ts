// The HTTP/2 connection to a builder: one session of our own HTTP/2 client
// (common/h2/client.ts), opened on first use and opened again after it
// closed or failed, with TLS (always verified), the :authority and a
// keepalive while calls are open. Our gRPC calls (grpc-call.ts) run on it,
// and the envd gateway passes envd's streams on over one of its own byte for
// byte.
import * as net from 'node:net';
import type * as tls from 'node:tls';
import { ClientSession, type ClientSocket, type ClientStream, type OutgoingHeaders } from '../common/h2/client.js';
import { ErrorCode } from '../common/h2/frames.js';
import { DEFAULT_KEEPALIVE, type KeepaliveSettings } from './channel.js';
import { builderAuthority, clientTls, type BuilderEndpoint, type TlsConfig } from './endpoint.js';
import { proxyFor, ProxyTunnel } from './proxy.js';

/** Large enough for big payloads on the Session tunnel without stalling on 64 KiB windows. */
export const STREAM_WINDOW_BYTES = 4 * 1024 * 1024;
export const CONNECTION_WINDOW_BYTES = 16 * 1024 * 1024;
/** Header limits matching grpc-go's 16 MiB default; Node's defaults (128 fields, 64 KiB) are far lower. */
export const MAX_HEADER_LIST_BYTES = 16 * 1024 * 1024;
export const MAX_HEADER_FIELDS = 100_000;
/** What our client advertises and holds per connection. */
const CLIENT_LIMITS = { streamWindow: STREAM_WINDOW_BYTES, connectionWindow: CONNECTION_WINDOW_BYTES, maxHeaderListBytes: MAX_HEADER_LIST_BYTES } as const;
/** How long close() lets the session end gracefully before destroying it. */
const CLOSE_GRACE_MS = 1000;

/** node:http2 session options of the gateway's side facing envd. */
export const SESSION_OPTIONS = {
  maxHeaderListPairs: MAX_HEADER_FIELDS,
  maxSendHeaderBlockLength: Number.MAX_SAFE_INTEGER,
  // Node's 10 MB credit limit makes it refuse new streams under load (a
  // Session stream holding a megabyte is normal), so it is lifted.
  maxSessionMemory: Number.MAX_SAFE_INTEGER,
} as const;

export interface BuilderConnectionOptions {
  readonly keepalive?: KeepaliveSettings;
  readonly log?: (message: string) => void;
  /** Who is talking, at the start of log lines ("envd gateway"). */
  readonly label?: string;
}

/** One session plus what its keepalive needs to know. */
interface Connection {
  readonly session: ClientSession;
  /** Streams opened on it that have not closed yet. */
  open: number;
  /** The next ping, while streams are open and no ping is out. */
  pingTimer?: NodeJS.Timeout;
  /** Running while a ping waits for its answer. */
  answerTimer?: NodeJS.Timeout;
  /** The builder's SETTINGS arrived: HTTP/2 (and TLS before it) was set up. */
  started: boolean;
  /** Why the session failed (refused, TLS, keepalive), once it has. */
  error?: Error;
}

export class BuilderConnection {
  /** Sent as :authority on every stream. */
  readonly authority: string;
  private readonly tls: TlsConfig | undefined;
  private readonly keepalive: KeepaliveSettings;
  private readonly log: (message: string) => void;
  private readonly label: string;
  private current: Connection | undefined;
  private closed = false;
  /** Which connection each open stream belongs to, to explain its failure. */
  private readonly streams = new WeakMap<ClientStream, Connection>();

  constructor(
    private readonly endpoint: BuilderEndpoint,
    opts: BuilderConnectionOptions,
  ) {
    // Throws at start for a cert without a key (or the reverse).
    this.tls = clientTls(endpoint);
    this.authority = builderAuthority(endpoint);
    this.keepalive = opts.keepalive ?? DEFAULT_KEEPALIVE;
    this.log = opts.log ?? (() => undefined);
    this.label = opts.label ? `${opts.label}: ` : '';
  }

  /** The builder's address as the user gave it, for messages. */
  get address(): string {
    return this.endpoint.address;
  }

  /**
   * Opens a stream to the builder (connecting first if needed). Throws when
   * this connection is closed or a header cannot be sent; connection
   * failures arrive later as the stream's 'error' and 'close'.
   */
  request(headers: OutgoingHeaders): ClientStream {
    if (this.closed) throw new Error(`the connection to builder ${this.address} is closed`);
    const conn = this.connection();
    const stream = conn.session.request(headers);
    if (conn.open++ === 0) conn.session.ref();
    this.streams.set(stream, conn);
    if (!conn.pingTimer && !conn.answerTimer) this.schedulePing(conn);
    stream.once('close', () => {
      if (--conn.open > 0) return;
      // An idle connection does not keep the process alive.
      if (!conn.session.destroyed) conn.session.unref();
      if (conn.pingTimer) {
        // grpc-go counts pings on an idle connection as abuse: ping only during calls.
        clearTimeout(conn.pingTimer);
        conn.pingTimer = undefined;
      }
    });
    return stream;
  }

  /**
   * Why `stream` was cut off if its connection went down, else undefined.
   * A session destroyed with an error passes it to its streams; this covers
   * a connection closed without one (a builder refusing our TLS client
   * certificate just hangs up).
   */
  connectionFailure(stream: ClientStream): string | undefined {
    const conn = this.streams.get(stream);
    if (!conn || !(conn.session.closed || conn.session.destroyed)) return undefined;
    if (conn.error) return conn.error.message;
    if (conn.started) return 'connection closed';
    return this.tls
      ? 'the builder closed the connection before HTTP/2 started (did it refuse our TLS client certificate?)'
      : 'the builder closed the connection before HTTP/2 started';
  }

  /** Closes the session: gracefully first, destroyed after a grace period. */
  async close(): Promise<void> {
    this.closed = true;
    const conn = this.current;
    this.current = undefined;
    if (!conn || conn.session.destroyed) return;
    stopTimers(conn);
    // An idle session is unref'd; closing it must keep the process up until it is closed.
    conn.session.ref();
    const ended = new Promise<void>((resolve) => conn.session.once('close', () => resolve()));
    if (!conn.session.closed) conn.session.close();
    const grace = new Promise<void>((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref());
    await Promise.race([ended, grace]);
    conn.session.destroy();
  }

  private connection(): Connection {
    const c = this.current;
    // A session that got GOAWAY is closed for new streams; one that failed is destroyed.
    if (c && !c.session.closed && !c.session.destroyed) return c;
    const session = this.connect();
    const conn: Connection = { session, open: 0, started: false };
    session.once('remoteSettings', () => (conn.started = true));
    this.current = conn;
    session.on('error', (err) => {
      conn.error ??= err;
      this.log(`${this.label}connection to builder ${this.address}: ${err.message}`);
    });
    session.on('goaway', (code: number) => {
      if (code !== ErrorCode.NO_ERROR) this.log(`${this.label}builder ${this.address} sent GOAWAY (HTTP/2 error ${code})`);
    });
    session.once('close', () => {
      stopTimers(conn);
      if (this.current === conn) this.current = undefined;
    });
    return conn;
  }

  private connect(): ClientSession {
    const e = this.endpoint;
    if (e.scheme === 'unix') return new ClientSession(net.connect({ path: e.socketPath! }), 'http', CLIENT_LIMITS);
    const host = e.host!;
    const port = e.port!;
    const proxy = proxyFor(host);
    const t = this.tls;
    if (!t) return new ClientSession(proxy ? new ProxyTunnel(proxy, host, port) : net.connect({ host, port }), 'http', CLIENT_LIMITS);
    // Loaded only for a TLS builder: node:tls (and node:crypto under it) cost
    // every other run its start-up.
    const { connect, checkServerIdentity } = process.getBuiltinModule('node:tls');
    const options: tls.ConnectionOptions = {
      host,
      port,
      ...(proxy ? { socket: new ProxyTunnel(proxy, host, port) } : {}),
      ...(net.isIP(host) ? {} : { servername: host }),
      // Only HTTP/2 is offered. Verification stays on (Node's default):
      // without a CA the system roots are used.
      ALPNProtocols: ['h2'],
      ...(t.ca ? { ca: t.ca } : {}),
      ...(t.cert && t.key ? { cert: t.cert, key: t.key } : {}),
      ...(t.serverName ? serverNameOptions(t.serverName, checkServerIdentity) : {}),
    };
    const socket = connect(options);
    socket.once('secureConnect', () => {
      // Older daemons (v0.11) negotiate no protocol at all and speak HTTP/2
      // anyway; only another protocol agreed on is a refusal.
      const agreed = socket.alpnProtocol;
      if (typeof agreed === 'string' && agreed !== 'h2') socket.destroy(new Error(`the builder agreed to ${agreed} over TLS, not HTTP/2`));
    });
    return new ClientSession(socket as ClientSocket, 'https', CLIENT_LIMITS, 'secureConnect');
  }

  /** A ping `timeMs` from now; given up on (failing every stream) without an answer in `timeoutMs`. */
  private schedulePing(conn: Connection): void {
    if (conn.open === 0 || conn.session.destroyed) return;
    const { timeMs, timeoutMs } = this.keepalive;
    conn.pingTimer = setTimeout(() => {
      conn.pingTimer = undefined;
      if (conn.open === 0 || conn.session.destroyed) return;
      conn.answerTimer = setTimeout(() => {
        conn.answerTimer = undefined;
        conn.session.destroy(new Error(`no answer to a keepalive ping within ${timeoutMs} ms`));
      }, timeoutMs).unref();
      const answered = (err: Error | null): void => {
        if (conn.answerTimer) clearTimeout(conn.answerTimer);
        conn.answerTimer = undefined;
        if (!err) this.schedulePing(conn);
      };
      try {
        if (conn.session.ping(answered) === false) answered(new Error('too many pings outstanding'));
      } catch (err) {
        answered(err as Error);
      }
    }, timeMs).unref();
  }
}

function stopTimers(conn: Connection): void {
  if (conn.pingTimer) clearTimeout(conn.pingTimer);
  if (conn.answerTimer) clearTimeout(conn.answerTimer);
  conn.pingTimer = undefined;
  conn.answerTimer = undefined;
}

/**
 * Verifies the builder's certificate against `serverName`. Node refuses an IP
 * address as SNI (RFC 6066), so for an IP the name is only used to check the
 * certificate.
 */
function serverNameOptions(serverName: string, check: typeof tls.checkServerIdentity): Pick<tls.ConnectionOptions, 'servername' | 'checkServerIdentity'> {
  if (!net.isIP(serverName)) return { servername: serverName };
  return { checkServerIdentity: (_host, cert) => check(serverName, cert) };
}
