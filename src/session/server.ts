// A minimal gRPC server on our own HTTP/2 server connection (h2/), fed the
// tunnelled connection. Why not grpc-js's server: it joins repeated metadata
// values with ", " (ambiguous for exclude patterns) and rejects requests with
// more than 128 header fields (a long .dockerignore), both fatal for FileSync.
// Why not node:http2: see h2/connection.ts.
import { setMaxListeners } from 'node:events';
import type { Duplex } from 'node:stream';
import { FRAME_HEADER_BYTES, FrameDecoder, FrameError, encodeGrpcMessage, frameMessage, writeFrameHeader } from '../common/grpc-frames.js';
import { ByteBudget } from './budget.js';
import { ServerConnection, type ByteLink, type ServerStream } from './h2/connection.js';
import { ErrorCode } from '../common/h2/frames.js';
import type { HeaderField } from '../common/h2/hpack.js';
import { Code, RpcError, type BidiCall, type CodeValue, type Metadata, type MethodHandler } from './rpc.js';

// --- Limits -------------------------------------------------------------------
// The daemon is the client here: it decides how many calls it opens, what it
// sends on them and how fast it reads our answers. None of that may make the
// session hold memory without bound, so each is capped.

/**
 * Calls (streams) the daemon may have open at once. RFC 9113 recommends no
 * less than 100 so as not to limit parallelism; the daemon's gRPC client
 * waits for a free stream beyond it, so a build is never refused for it.
 * Streams beyond it are reset (REFUSED_STREAM), which its client retries.
 */
export const MAX_CONCURRENT_STREAMS = 100;

/**
 * Largest request message. grpc-go's default receive limit, which BuildKit's
 * own session server (in buildx) keeps, so no daemon sends more; real
 * requests (a file ID, a registry host, a secret ID) are tens of bytes.
 * A larger one ends its call with RESOURCE_EXHAUSTED before it is buffered.
 */
export const MAX_REQUEST_MESSAGE_BYTES = 4 * 1024 * 1024;

/**
 * Request bytes (metadata, and messages not handled yet) all calls of a
 * session may hold together. Room for one header list of the largest size the
 * daemon's client sends (16 MiB, grpc-go's default: a huge .dockerignore)
 * plus four messages at the limit; real requests hold a few KiB. A call that
 * would go beyond is reset with ENHANCE_YOUR_CALM (RESOURCE_EXHAUSTED to the
 * daemon's client).
 */
export const MAX_SESSION_REQUEST_BYTES = 32 * 1024 * 1024;

/**
 * Response bytes (file content read for the daemon, and everything written
 * to its streams but not yet passed on to the connection) all calls of a
 * session may hold together; readers of more content wait beyond it. Twice
 * what one transfer keeps in flight at full speed (its stream buffer and
 * its concurrent small-file reads), so a build does not wait on it, while a
 * daemon that requests files on many streams and reads none holds the
 * session here instead of at the size of the build context.
 */
export const MAX_SESSION_SEND_BYTES = 32 * 1024 * 1024;

/**
 * HTTP/2 receive window of each stream: what we take for a call whose
 * handler has stopped reading. The daemon only sends small requests, so the
 * protocol's default is plenty (our uploads are bounded by the daemon's
 * window, not this one).
 */
const STREAM_WINDOW_BYTES = 65_535;

/** Largest header list the daemon's client may send (grpc-go's default: a huge .dockerignore). */
const MAX_HEADER_LIST_BYTES = 16 * 1024 * 1024;

/** What a session holds now and has held at most; for logs and tests. */
export interface SessionStats {
  /** Calls open now, the most open at once, and those refused (over a limit). */
  readonly calls: number;
  readonly callsPeak: number;
  readonly callsRefused: number;
  /** Request bytes held (see MAX_SESSION_REQUEST_BYTES). */
  readonly requestBytes: number;
  readonly requestBytesPeak: number;
  /** Response bytes held (see MAX_SESSION_SEND_BYTES). */
  readonly sendBytes: number;
  readonly sendBytesPeak: number;
  /** Readers of content waiting for the response budget to have room. */
  readonly sendWaiting: number;
}

export interface SessionServerOptions {
  readonly log?: (msg: string) => void;
  /** Called with the path of every call the daemon opens, before it is served. */
  readonly onCall?: (path: string) => void;
}

/**
 * What the bidi calls of this server offer beyond BidiCall: writing messages
 * that the handler encoded itself, many at once and synchronously. Each
 * message is given as consecutive parts (their concatenation is the message),
 * so a big payload need not be copied into one buffer. The DiffCopy sender
 * uses it when present and falls back to `write` otherwise: a transfer of
 * many small files writes a few packets per file, and a promise (or an
 * HTTP/2 write) per packet costs more than the packet.
 */
export interface EncodedWriter {
  /**
   * Writes the messages now, in order. Returns false when the stream is full:
   * write more only after `drained()`. Throws RpcError when the stream is closed.
   * `reserved`: bytes of a reservation (see `reserve`) this write uses up.
   * `onReleased` runs once nothing of the session holds the messages' buffers
   * any more (written on to the daemon, or dropped with the stream), so the
   * caller may fill them again; not at all if the connection failed first.
   */
  writeEncoded(messages: readonly (readonly Buffer[])[], reserved?: number, onReleased?: () => void): boolean;
  /** Resolves when the stream takes more (at once if it does); rejects if it closes first. */
  drained(): Promise<void>;
  /**
   * Waits until the session's response budget (MAX_SESSION_SEND_BYTES) has
   * room, then holds `bytes` of it for content about to be read; the write
   * of that content names the reservation it uses up. Rejects if the call
   * ends (or `signal` aborts) first.
   */
  reserve(bytes: number, signal?: AbortSignal): Promise<void>;
  /** Gives back a reservation that will not be written. */
  unreserve(bytes: number): void;
}

/** A link being served: the peer's bytes go to `receive`; `destroy` when the link is gone. */
export interface ServedLink {
  receive(bytes: Buffer): void;
  destroy(err?: Error): void;
}

/** How many decoded messages a bidi handler may lag behind before we stop reading. */
const READ_AHEAD = 16;
/** The same in bytes of complete messages waiting for the handler. */
const READ_AHEAD_BYTES = 64 * 1024;

export class SessionServer {
  private readonly handlers: Map<string, MethodHandler>;
  private readonly connections = new Set<ServerConnection>();
  private readonly controllers = new Set<AbortController>();
  private readonly log: (msg: string) => void;
  private readonly onCall: ((path: string) => void) | undefined;
  private readonly requestBudget = new ByteBudget(MAX_SESSION_REQUEST_BYTES);
  private readonly sendBudget = new ByteBudget(MAX_SESSION_SEND_BYTES);
  private calls = 0;
  private callsPeak = 0;
  private callsRefused = 0;

  constructor(handlers: readonly MethodHandler[], options: SessionServerOptions = {}) {
    this.log = options.log ?? (() => {});
    this.onCall = options.onCall;
    this.handlers = new Map(handlers.map((h) => [h.path.toLowerCase(), h]));
  }

  /** The gRPC paths we serve, for the session's advertisement headers. */
  get paths(): string[] {
    return [...this.handlers.values()].map((h) => h.path);
  }

  /** What the session holds now; see the limits above. */
  stats(): SessionStats {
    return {
      calls: this.calls,
      callsPeak: this.callsPeak,
      callsRefused: this.callsRefused,
      requestBytes: this.requestBudget.held,
      requestBytesPeak: this.requestBudget.peak,
      sendBytes: this.sendBudget.held,
      sendBytesPeak: this.sendBudget.peak,
      sendWaiting: this.sendBudget.waiting,
    };
  }

  /**
   * Starts serving HTTP/2 on a link; returns what takes the peer's bytes.
   * A Duplex (a socket, in tests) is linked here.
   */
  serve(link: Duplex): void;
  serve(link: ByteLink): ServedLink;
  serve(link: Duplex | ByteLink): ServedLink | void {
    if (!isDuplex(link)) {
      const connection = this.connect(link);
      return { receive: (bytes) => connection.receive(bytes), destroy: (err) => connection.destroy(err) };
    }
    const socket = link;
    const connection = this.connect({
      write(chunks, onWritten) {
        if (socket.destroyed) {
          onWritten?.();
          return true;
        }
        socket.cork();
        const last = chunks.length - 1;
        for (let i = 0; i < last; i++) socket.write(chunks[i]!);
        socket.write(chunks[last] ?? Buffer.alloc(0), (err) => err || onWritten?.());
        socket.uncork();
        return !socket.writableNeedDrain;
      },
      onDrain: (listener) => socket.on('drain', listener),
      end: () => socket.end(),
      destroy: () => socket.destroy(),
    });
    socket.on('data', (bytes: Buffer) => connection.receive(bytes));
    socket.on('error', (err) => this.log(`session connection error: ${err.message}`));
    socket.on('close', () => connection.destroy());
  }

  private connect(link: ByteLink): ServerConnection {
    const connection = new ServerConnection(
      link,
      {
        maxConcurrentStreams: MAX_CONCURRENT_STREAMS,
        maxHeaderListBytes: MAX_HEADER_LIST_BYTES,
        streamWindow: STREAM_WINDOW_BYTES,
        streamBuffer: STREAM_BUFFER,
      },
      {
        onStream: (stream, fields) => void this.dispatch(stream, fields),
        onError: (err) => this.log(`session connection error: ${err.message}`),
      },
    );
    this.connections.add(connection);
    connection.onClose(() => this.connections.delete(connection));
    return connection;
  }

  /** Cancels running calls and closes connections (GOAWAY). */
  async close(): Promise<void> {
    for (const c of this.controllers) c.abort(new Error('session closed'));
    await Promise.all(
      [...this.connections].map(
        (c) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => c.destroy(), 1000);
            c.onClose(() => {
              clearTimeout(timer);
              resolve();
            });
            c.shutdown();
          }),
      ),
    );
  }

  private async dispatch(stream: ServerStream, fields: HeaderField[]): Promise<void> {
    const path = fields.find(([name]) => name === ':path')?.[1] ?? '';
    const rawHeaders = fields.flat();
    this.onCall?.(path);
    // Node refuses streams over the advertised limit once the daemon has
    // acknowledged our settings; this also covers the streams before that.
    if (this.calls >= MAX_CONCURRENT_STREAMS) {
      this.refuse(stream, ErrorCode.REFUSED_STREAM, `more than ${MAX_CONCURRENT_STREAMS} concurrent calls`);
      return;
    }
    const headerBytes = headerListBytes(rawHeaders);
    if (!this.requestBudget.tryTake(headerBytes)) {
      this.refuse(stream, ErrorCode.ENHANCE_YOUR_CALM, `request metadata of ${headerBytes} bytes exceeds the session's request budget`);
      return;
    }
    this.calls++;
    if (this.calls > this.callsPeak) this.callsPeak = this.calls;
    const send = new SendAccount(this.sendBudget);
    const controller = new AbortController();
    // Every reader waiting for the send budget listens to it (a transfer runs 64).
    setMaxListeners(0, controller.signal);
    this.controllers.add(controller);
    stream.on('close', () => {
      this.calls--;
      this.requestBudget.release(headerBytes);
      send.close();
      this.controllers.delete(controller);
      if (!controller.signal.aborted) controller.abort(new Error('call closed'));
    });
    const handler = this.handlers.get(path.toLowerCase());
    if (!handler) {
      finishCall(stream, Code.UNIMPLEMENTED, `unknown method ${path}`);
      return;
    }
    const context = { path, metadata: readMetadata(rawHeaders), signal: controller.signal };
    // A request the session refuses ends the call at once, whether or not its
    // handler is reading: over the session's budget with a reset, a bad
    // message with a status.
    const messages = incomingMessages(stream, handler.decode, this.requestBudget, (err, overBudget) => {
      if (!controller.signal.aborted) controller.abort(err);
      if (overBudget) this.refuse(stream, ErrorCode.ENHANCE_YOUR_CALM, `${path}: ${err.message}`);
      else finishCall(stream, err.code, err.message);
    });
    try {
      if (handler.kind === 'unary') {
        let request: unknown;
        for await (const m of messages) {
          if (request === undefined) request = m;
        }
        if (request === undefined) throw new RpcError(Code.INVALID_ARGUMENT, 'missing request message');
        const response = await handler.handle(request, context);
        sendResponse(stream, [handler.encode(response)], send);
      } else {
        let started = false;
        const start = () => {
          if (started) return;
          started = true;
          stream.respond();
        };
        const call: BidiCall<unknown, unknown> & EncodedWriter = {
          ...context,
          messages,
          write: (m) => {
            start();
            return writeMessages(stream, [[handler.encode(m)]], send, 0) ? WRITTEN : whenDrained(stream);
          },
          writeEncoded: (messages, reserved = 0, onReleased) => {
            start();
            return writeMessages(stream, messages, send, reserved, onReleased);
          },
          drained: () => (stream.hasRoom() ? WRITTEN : whenDrained(stream)),
          reserve: async (bytes, signal) => {
            if (!(await send.budget.take(bytes, [controller.signal, signal]))) throw new RpcError(Code.CANCELLED, 'stream closed');
          },
          unreserve: (bytes) => send.budget.release(bytes),
        };
        await handler.handle(call);
        if (!started) {
          sendResponse(stream, [], send);
        } else {
          finishCall(stream, Code.OK, '');
        }
      }
    } catch (err) {
      const code: CodeValue = err instanceof RpcError ? err.code : controller.signal.aborted ? Code.CANCELLED : Code.UNKNOWN;
      finishCall(stream, code, err instanceof Error ? err.message : String(err));
    }
  }

  /**
   * Resets a call the session will not hold: REFUSED_STREAM (the daemon's
   * client retries it later) or ENHANCE_YOUR_CALM (RESOURCE_EXHAUSTED to it).
   * A reset frees the stream at once, unlike a status the daemon could leave
   * unanswered while it keeps the stream open.
   */
  private refuse(stream: ServerStream, code: number, reason: string): void {
    this.callsRefused++;
    stream.reset(code);
    if (code !== ErrorCode.REFUSED_STREAM) this.log(`session call refused: ${reason}`);
  }
}

/** Header list size as HTTP/2 counts it (RFC 9113 §6.5.2): name and value bytes plus 32 per field. */
function headerListBytes(rawHeaders: readonly string[]): number {
  let bytes = 0;
  for (const h of rawHeaders) bytes += h.length;
  return bytes + 16 * rawHeaders.length;
}

/**
 * A call's share of the response budget: what it has written and the session
 * still holds (queued on its connection, or in the tunnel's buffers). Given back as writes complete, and all at
 * once when the call closes (a reset drops its unsent writes).
 */
class SendAccount {
  private charged = 0;
  private closed = false;

  constructor(readonly budget: ByteBudget) {}

  /** `bytes` written now, of which `reserved` were reserved (read) before. */
  charge(bytes: number, reserved: number): void {
    if (bytes > reserved) this.budget.force(bytes - reserved);
    else this.budget.release(reserved - bytes);
    if (this.closed) {
      this.budget.release(bytes);
      return;
    }
    this.charged += bytes;
  }

  /** A write of `bytes` left the session's buffers. */
  settle(bytes: number): void {
    if (this.closed) return;
    this.charged -= bytes;
    this.budget.release(bytes);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.budget.release(this.charged);
    this.charged = 0;
  }
}

/** Metadata from raw headers, so every repeated value arrives on its own. */
function readMetadata(rawHeaders: string[]): Metadata {
  const md = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const key = rawHeaders[i]!.toLowerCase();
    if (key.startsWith(':')) continue;
    const list = md.get(key);
    if (list) list.push(rawHeaders[i + 1]!);
    else md.set(key, [rawHeaders[i + 1]!]);
  }
  return md;
}

/**
 * The request messages as an async iterable. Messages are kept encoded until
 * the handler takes them (a few bytes on the wire can decode to a much larger
 * object), the stream is paused while the handler lags, and every byte held
 * is counted against the session's request budget. A chunk over the budget,
 * or one that cannot be decoded, is not kept: `refused` ends the call.
 */
function incomingMessages(
  stream: ServerStream,
  decode: (b: Uint8Array) => unknown,
  budget: ByteBudget,
  refused: (err: RpcError, overBudget: boolean) => void,
): AsyncIterable<unknown> {
  // Reading starts now, not when the handler first asks: a request the
  // session refuses ends the call even if the handler never reads.
  const decoder = new FrameDecoder(MAX_REQUEST_MESSAGE_BYTES);
  const queue: Buffer[] = [];
  let queuedBytes = 0;
  /** Bytes received and not yet handed to the handler (in the decoder or the queue). */
  let held = 0;
  let ended = false;
  let failure: RpcError | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const dropAll = () => {
    budget.release(held);
    held = 0;
    queue.length = 0;
    queuedBytes = 0;
  };
  stream.on('data', (chunk: Buffer) => {
    if (failure || ended) return; // a refused stream's rest is discarded, not buffered
    if (!budget.tryTake(chunk.length)) {
      failure = new RpcError(Code.RESOURCE_EXHAUSTED, `request data exceeds the session's limit of ${MAX_SESSION_REQUEST_BYTES} bytes`);
      dropAll();
      refused(failure, true);
      notify();
      return;
    }
    held += chunk.length;
    try {
      for (const m of decoder.push(chunk)) {
        queue.push(m);
        queuedBytes += m.length;
      }
    } catch (err) {
      failure = err instanceof FrameError ? frameFailure(err) : new RpcError(Code.INVALID_ARGUMENT, err instanceof Error ? err.message : String(err));
      dropAll();
      refused(failure, false);
    }
    if (queue.length >= READ_AHEAD || queuedBytes >= READ_AHEAD_BYTES) stream.pause();
    notify();
  });
  stream.on('end', () => {
    // A request stream cut inside a message is broken, not finished.
    if (!failure && decoder.hasPartial()) failure = new RpcError(Code.INVALID_ARGUMENT, 'request stream ended inside a gRPC message');
    ended = true;
    notify();
  });
  stream.on('close', () => {
    ended = true;
    dropAll();
    notify();
  });
  return (async function* () {
    try {
      while (true) {
        if (failure) throw failure;
        if (queue.length) {
          const m = queue.shift()!;
          queuedBytes -= m.length;
          held -= m.length + FRAME_HEADER_BYTES;
          budget.release(m.length + FRAME_HEADER_BYTES);
          if (queue.length < READ_AHEAD / 2 && queuedBytes < READ_AHEAD_BYTES / 2 && stream.isPaused()) stream.resume();
          yield decode(m);
          continue;
        }
        if (ended) return;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      // The handler stopped reading (returned or threw): nothing more is held for it.
      if (!ended) failure ??= new RpcError(Code.CANCELLED, 'handler stopped reading');
      dropAll();
    }
  })();
}

/**
 * This server's status for a refused request stream. A flag other than 0 or 1
 * gets the compression wording too, as it always has; the daemon's Go client
 * sends neither.
 */
function frameFailure(err: FrameError): RpcError {
  // As grpc-go: a message over the receive limit is RESOURCE_EXHAUSTED.
  if (err.kind === 'too-large') return new RpcError(Code.RESOURCE_EXHAUSTED, `gRPC message of ${err.length} bytes exceeds the limit of ${err.limit} bytes`);
  return new RpcError(Code.INVALID_ARGUMENT, 'compressed gRPC messages are not supported');
}

/** Above this size a message part is written after the frame header instead of being copied behind it. */
const COPY_LIMIT = 16 * 1024;

/**
 * Bytes a stream may hold queued (not yet framed) before a writer has to
 * wait. Deep enough that a transfer always has data ready when the daemon's
 * window opens (with 16 KiB, Node's default mark, 5,000 small files took
 * twice as long); bounded, so a slow receiver still pushes back.
 */
const STREAM_BUFFER = 1024 * 1024;

const WRITTEN = Promise.resolve();

/**
 * Writes messages, each given as consecutive parts, behind their gRPC frame
 * headers. Small parts are copied into one buffer per run, so a batch of
 * small packets is a single HTTP/2 write; big parts (file content) are
 * written as they are. The bytes are charged to the call's SendAccount
 * (`reserved` of them were reserved before the content was read) until the
 * tunnel has written them on. Returns false when the writer should wait for 'drain'
 * (see STREAM_BUFFER). Throws when the stream is closed.
 */
function writeMessages(stream: ServerStream, messages: readonly (readonly Buffer[])[], send: SendAccount, reserved: number, onReleased?: () => void): boolean {
  if (stream.closed || stream.ending) {
    send.budget.release(reserved);
    throw new RpcError(Code.CANCELLED, 'stream closed');
  }
  if (messages.length === 0) {
    send.budget.release(reserved);
    onReleased?.();
    return stream.hasRoom();
  }
  // Everything written in this tick reaches the link as one batch (the
  // connection flushes once per tick).
  const out: Buffer[] = [];
  let total = 0;
  const run: Buffer[] = [];
  let runBytes = 0;
  const flush = (): void => {
    if (run.length === 0) return;
    out.push(run.length === 1 ? run[0]! : Buffer.concat(run, runBytes));
    run.length = 0;
    runBytes = 0;
  };
  for (const parts of messages) {
    let length = 0;
    for (const part of parts) length += part.length;
    total += FRAME_HEADER_BYTES + length;
    const head = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
    writeFrameHeader(head, length);
    run.push(head);
    runBytes += FRAME_HEADER_BYTES;
    for (const part of parts) {
      if (part.length < COPY_LIMIT) {
        run.push(part);
        runBytes += part.length;
      } else {
        flush();
        out.push(part);
      }
    }
  }
  flush();
  send.charge(total, reserved);
  // Writes complete in order: the last one's callback settles the whole batch
  // (once the link has written it on: Node's buffers count as held too).
  const last = out.length - 1;
  for (let i = 0; i < last; i++) stream.write(out[i]!);
  stream.write(out[last]!, () => {
    send.settle(total);
    onReleased?.();
  });
  return stream.hasRoom();
}

/** One pending 'drain' wait per stream, shared by every writer that found it full. */
const drainWaits = new WeakMap<ServerStream, Promise<void>>();

function whenDrained(stream: ServerStream): Promise<void> {
  let wait = drainWaits.get(stream);
  if (!wait) {
    wait = new Promise<void>((resolve, reject) => {
      const settle = () => {
        drainWaits.delete(stream);
        stream.off('drain', onDrain);
        stream.off('close', onClose);
      };
      const onDrain = () => {
        settle();
        resolve();
      };
      const onClose = () => {
        settle();
        reject(new RpcError(Code.CANCELLED, 'stream closed'));
      };
      stream.once('drain', onDrain);
      stream.once('close', onClose);
    });
    drainWaits.set(stream, wait);
  }
  return wait;
}

/**
 * Ends the call with a status, once: the first of the handler's end, its
 * failure and a refused request decides; later ones find it ended.
 */
function finishCall(stream: ServerStream, code: CodeValue, message: string): void {
  stream.finish(code, message, message ? encodeGrpcMessage(message) : '');
}

/** A unary call's answer; its bytes (a secret can be 500 KiB) count against the response budget until sent. */
function sendResponse(stream: ServerStream, messages: Buffer[], send: SendAccount): void {
  if (stream.closed || stream.ending || stream.headersSent) return;
  stream.respond();
  for (const m of messages) {
    const framed = frameMessage(m);
    send.charge(framed.length, 0);
    stream.write(framed, () => send.settle(framed.length));
  }
  finishCall(stream, Code.OK, '');
}

function isDuplex(link: Duplex | ByteLink): link is Duplex {
  return typeof (link as Duplex).pipe === 'function';
}
