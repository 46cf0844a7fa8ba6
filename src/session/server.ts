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
   */
  writeEncoded(messages: readonly (readonly Buffer[])[]): boolean;
  /** Resolves when the stream takes more (at once if it does); rejects if it closes first. */
  drained(): Promise<void>;
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
            return writeMessages(stream, [[handler.encode(m)]]) ? WRITTEN : whenDrained(stream);
          },
          writeEncoded: (messages) => {
            start();
            return writeMessages(stream, messages);
          },
          drained: () => (hasRoom(stream) ? WRITTEN : whenDrained(stream)),
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
    // A request stream cut inside a message is broken, not finished.
    if (!failure && decoder.hasPartial()) failure = new Error('request stream ended inside a gRPC message');
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

/**
 * Bytes we let wait in an HTTP/2 stream's buffer before a writer has to wait.
 * The stream's own high-water mark is 16 KiB, and the session sends at most
 * what is buffered per write to the tunnel, which costs a round trip through
 * JavaScript (our tunnel socket, grpc-js) each: with 16 KiB per trip, 5,000
 * small files took twice as long as with a deeper buffer. Bounded, so a
 * slow receiver still pushes back.
 */
const STREAM_BUFFER = 1024 * 1024;

/** The stream takes more without the writer waiting (see STREAM_BUFFER). */
function hasRoom(stream: http2.ServerHttp2Stream): boolean {
  return stream.writableLength < STREAM_BUFFER;
}

const WRITTEN = Promise.resolve();

/**
 * Writes messages, each given as consecutive parts, behind their gRPC frame
 * headers. Small parts are copied into one buffer per run, so a batch of
 * small packets is a single HTTP/2 write; big parts (file content) are
 * written as they are. Returns false when the writer should wait for
 * 'drain' (see STREAM_BUFFER). Throws when the stream is closed.
 */
function writeMessages(stream: http2.ServerHttp2Stream, messages: readonly (readonly Buffer[])[]): boolean {
  if (stream.destroyed || stream.closed) throw new RpcError(Code.CANCELLED, 'stream closed');
  // Everything written in this tick reaches HTTP/2 as one batch: one native
  // write for runs of small packets from different writers.
  if (!stream.writableCorked) {
    stream.cork();
    process.nextTick(uncork, stream);
  }
  const run: Buffer[] = [];
  let runBytes = 0;
  const flush = (): void => {
    if (run.length === 0) return;
    stream.write(run.length === 1 ? run[0]! : Buffer.concat(run, runBytes));
    run.length = 0;
    runBytes = 0;
  };
  for (const parts of messages) {
    let length = 0;
    for (const part of parts) length += part.length;
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
        stream.write(part);
      }
    }
  }
  flush();
  return hasRoom(stream);
}

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
