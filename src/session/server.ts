// A minimal gRPC server on a raw node:http2 server, fed the tunnelled
// connection. Why not grpc-js's server: it joins repeated metadata values
// with ", " (ambiguous for exclude patterns) and rejects requests with more
// than 128 header fields (a long .dockerignore), both fatal for FileSync.
import * as http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import { FRAME_HEADER_BYTES, FrameDecoder, FrameError, encodeGrpcMessage, frameMessage, writeFrameHeader } from '../common/grpc-frames.js';
import { Code, RpcError, type BidiCall, type CodeValue, type Metadata, type MethodHandler } from './rpc.js';

const { HTTP2_HEADER_STATUS, HTTP2_HEADER_CONTENT_TYPE } = http2.constants;

/**
 * What the bidi calls of this server offer beyond BidiCall: writing a message
 * that the handler encoded itself (as consecutive parts, so a big payload
 * need not be copied into one buffer). The DiffCopy sender uses it when
 * present and falls back to `write` otherwise.
 */
export interface EncodedWriter {
  writeEncoded(parts: readonly Buffer[]): Promise<void>;
}

/** How many decoded messages a bidi handler may lag behind before we stop reading. */
const READ_AHEAD = 16;

/** Largest request message we buffer: a bound against a corrupt length prefix, far above what the daemon sends. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export class SessionServer {
  private readonly server: http2.Http2Server;
  private readonly handlers: Map<string, MethodHandler>;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly controllers = new Set<AbortController>();

  constructor(handlers: readonly MethodHandler[], private readonly log: (msg: string) => void = () => {}) {
    this.handlers = new Map(handlers.map((h) => [h.path.toLowerCase(), h]));
    this.server = http2.createServer({
      maxHeaderListPairs: 100_000,
      // Node's default 10 MB credit makes big transfers crawl; grpc-js raises it too.
      maxSessionMemory: 1024,
      settings: { maxHeaderListSize: 16 * 1024 * 1024, initialWindowSize: 4 * 1024 * 1024 },
    });
    this.server.on('session', (s) => {
      this.sessions.add(s);
      s.on('close', () => this.sessions.delete(s));
      s.on('error', (err) => this.log(`session connection error: ${err.message}`));
    });
    this.server.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => {
      void this.dispatch(stream, headers, rawHeaders);
    });
  }

  /** The gRPC paths we serve, for the session's advertisement headers. */
  get paths(): string[] {
    return [...this.handlers.values()].map((h) => h.path);
  }

  /** Starts serving HTTP/2 on a connection (the daemon speaks first). */
  serve(connection: Duplex): void {
    this.server.emit('connection', connection);
  }

  /** Cancels running calls and closes connections (GOAWAY). */
  async close(): Promise<void> {
    for (const c of this.controllers) c.abort(new Error('session closed'));
    await Promise.all(
      [...this.sessions].map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.closed || s.destroyed) return resolve();
            const timer = setTimeout(() => {
              s.destroy();
              resolve();
            }, 1000);
            s.close(() => {
              clearTimeout(timer);
              resolve();
            });
          }),
      ),
    );
  }

  private async dispatch(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, rawHeaders: string[]): Promise<void> {
    const path = String(headers[':path'] ?? '');
    const handler = this.handlers.get(path.toLowerCase());
    stream.on('error', () => {}); // peer resets are reported through 'close'
    if (!handler) {
      trailersOnly(stream, Code.UNIMPLEMENTED, `unknown method ${path}`);
      return;
    }
    const controller = new AbortController();
    this.controllers.add(controller);
    stream.on('close', () => {
      this.controllers.delete(controller);
      if (!controller.signal.aborted) controller.abort(new Error('call closed'));
    });
    const context = { path, metadata: readMetadata(rawHeaders), signal: controller.signal };
    const messages = incomingMessages(stream, handler.decode);
    try {
      if (handler.kind === 'unary') {
        let request: unknown;
        for await (const m of messages) {
          if (request === undefined) request = m;
        }
        if (request === undefined) throw new RpcError(Code.INVALID_ARGUMENT, 'missing request message');
        const response = await handler.handle(request, context);
        sendResponse(stream, [handler.encode(response)]);
      } else {
        let started = false;
        const start = () => {
          if (started) return;
          started = true;
          stream.respond({ [HTTP2_HEADER_STATUS]: 200, [HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc' }, { waitForTrailers: true });
        };
        const call: BidiCall<unknown, unknown> & EncodedWriter = {
          ...context,
          messages,
          write: (m) => {
            start();
            return writeMessage(stream, [handler.encode(m)]);
          },
          writeEncoded: (parts) => {
            start();
            return writeMessage(stream, parts);
          },
        };
        await handler.handle(call);
        if (!started) {
          sendResponse(stream, []);
        } else {
          endWithStatus(stream, Code.OK, '');
        }
      }
    } catch (err) {
      if (stream.destroyed || stream.closed) return;
      const code: CodeValue = err instanceof RpcError ? err.code : controller.signal.aborted ? Code.CANCELLED : Code.UNKNOWN;
      const message = err instanceof Error ? err.message : String(err);
      if (stream.headersSent) endWithStatus(stream, code, message);
      else trailersOnly(stream, code, message);
    }
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

/** The request messages as an async iterable, pausing the stream when the handler lags. */
async function* incomingMessages(stream: http2.ServerHttp2Stream, decode: (b: Uint8Array) => unknown): AsyncGenerator<unknown> {
  const decoder = new FrameDecoder(MAX_MESSAGE_BYTES);
  const queue: unknown[] = [];
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  stream.on('data', (chunk: Buffer) => {
    try {
      for (const m of decoder.push(chunk)) queue.push(decode(m));
    } catch (err) {
      failure = err instanceof FrameError ? new Error(frameErrorMessage(err)) : err instanceof Error ? err : new Error(String(err));
    }
    if (queue.length >= READ_AHEAD) stream.pause();
    notify();
  });
  stream.on('end', () => {
    ended = true;
    notify();
  });
  stream.on('close', () => {
    ended = true;
    notify();
  });
  while (true) {
    if (failure) throw new RpcError(Code.INVALID_ARGUMENT, failure.message);
    if (queue.length) {
      const m = queue.shift();
      if (queue.length < READ_AHEAD / 2 && stream.isPaused()) stream.resume();
      yield m;
      continue;
    }
    if (ended) return;
    await new Promise<void>((resolve) => (wake = resolve));
  }
}

/**
 * This server's wording for a refused request stream, which ends the call
 * with INVALID_ARGUMENT. A flag other than 0 or 1 gets the compression wording
 * too, as it always has; the daemon's Go client sends neither.
 */
function frameErrorMessage(err: FrameError): string {
  return err.kind === 'too-large' ? `gRPC message of ${err.length} bytes exceeds the limit` : 'compressed gRPC messages are not supported';
}

/** Above this size a message part is written after the frame header instead of being copied behind it. */
const COPY_LIMIT = 16 * 1024;

const WRITTEN = Promise.resolve();

/**
 * Writes one message, given as consecutive parts (their concatenation is the
 * message), behind its gRPC frame header. Resolves at once while the stream
 * accepts more (no listeners, no new promise: a transfer writes hundreds of
 * thousands of packets), otherwise on 'drain'; rejects when the stream
 * closes first.
 */
function writeMessage(stream: http2.ServerHttp2Stream, parts: readonly Buffer[]): Promise<void> {
  if (stream.destroyed || stream.closed) return Promise.reject(new RpcError(Code.CANCELLED, 'stream closed'));
  // Everything written in this tick reaches HTTP/2 as one batch: one native
  // write for a run of small packets (STATs, the DATA of small files).
  if (!stream.writableCorked) {
    stream.cork();
    process.nextTick(uncork, stream);
  }
  let length = 0;
  for (const part of parts) length += part.length;
  // A small first part (a whole STAT, a packet header) goes behind the frame
  // header in one buffer; big parts (file content) are written as they are.
  const first = parts[0] ?? EMPTY;
  const inline = first.length < COPY_LIMIT;
  const head = Buffer.allocUnsafe(FRAME_HEADER_BYTES + (inline ? first.length : 0));
  writeFrameHeader(head, length);
  if (inline) first.copy(head, FRAME_HEADER_BYTES);
  let ok = stream.write(head);
  for (let i = inline ? 1 : 0; i < parts.length; i++) ok = stream.write(parts[i]!);
  return ok ? WRITTEN : whenDrained(stream);
}

const EMPTY = Buffer.alloc(0);

function uncork(stream: http2.ServerHttp2Stream): void {
  stream.uncork();
}

/** One pending 'drain' wait per stream, shared by every writer that found it full. */
const drainWaits = new WeakMap<http2.ServerHttp2Stream, Promise<void>>();

function whenDrained(stream: http2.ServerHttp2Stream): Promise<void> {
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

function sendResponse(stream: http2.ServerHttp2Stream, messages: Buffer[]): void {
  if (stream.destroyed || stream.closed) return;
  stream.respond({ [HTTP2_HEADER_STATUS]: 200, [HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc' }, { waitForTrailers: true });
  for (const m of messages) stream.write(frameMessage(m));
  endWithStatus(stream, Code.OK, '');
}

function endWithStatus(stream: http2.ServerHttp2Stream, code: CodeValue, message: string): void {
  if (stream.destroyed || stream.closed) return;
  stream.once('wantTrailers', () => {
    stream.sendTrailers({ 'grpc-status': String(code), ...(message ? { 'grpc-message': encodeGrpcMessage(message) } : {}) });
  });
  stream.end();
}

function trailersOnly(stream: http2.ServerHttp2Stream, code: CodeValue, message: string): void {
  if (stream.destroyed || stream.closed) return;
  stream.respond(
    {
      [HTTP2_HEADER_STATUS]: 200,
      [HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
      'grpc-status': String(code),
      'grpc-message': encodeGrpcMessage(message),
    },
    { endStream: true },
  );
}
