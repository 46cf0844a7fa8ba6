// One envd call passed on to the builder as bytes: an HTTP/2 stream from envd
// joined to an HTTP/2 stream to the builder. DATA goes through chunk by chunk
// as it comes, with no message reassembly and no copies; each side is paused
// while the other cannot take more, so HTTP/2 flow control holds the sender
// back instead of the gateway buffering. envd's bytes are checked on the way
// (gRPC framing, no compression, size limit); the builder's are passed on as
// they are, for envd's own client to judge.
import * as http2 from 'node:http2';
import type { ClientStream, IncomingHeaders } from '../../common/h2/client.js';
import { ErrorCode, Flag } from '../../common/h2/frames.js';
import { Status, type StatusCode } from '../../common/grpc-status.js';
import { FrameError, FrameScanner } from '../../common/grpc-frames.js';
import type { SolveCapture } from './solve-capture.js';
import { CallError, frameCallError, passThroughHeaders, statusOf, statusTrailers } from './wire.js';

/** What the per-call proxy needs from the gateway. */
export interface CallContext {
  /** The builder's address, for messages. */
  readonly builder: string;
  readonly maxMessageBytes: number;
  readonly log: (message: string) => void;
  /** In-flight calls; close() ends each of them. */
  readonly active: Set<{ abort(code: StatusCode, details: string): void }>;
  /** Why a builder stream was cut off when its connection went down (BuilderConnection.connectionFailure). */
  readonly connectionFailure: (upstream: ClientStream) => string | undefined;
  /** Called once with how the call ended (the builder's status or the gateway's). */
  readonly ended?: (code: number, details: string) => void;
  /** Told what the builder does: that it answered a call with data, and that its connection went down. */
  readonly watch?: BuilderWatch;
}

/** What the gateway learns about the builder from the calls it passes on. */
export interface BuilderWatch {
  /** The builder sent response DATA on a call to `path`. */
  answered(path: string): void;
  /** A call was cut off because the connection to the builder failed (`cause` says how). */
  connectionLost(cause: string): void;
}

/** Ends a stream before any upstream call exists. */
export function respondTrailersOnly(stream: http2.ServerHttp2Stream, code: StatusCode, details: string, extra: http2.OutgoingHttpHeaders = {}): void {
  if (stream.destroyed || stream.closed || stream.headersSent) return;
  try {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...extra, ...statusTrailers(code, details) }, { endStream: true });
  } catch {
    stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
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
function full(sink: { writableLength: number }): boolean {
  return sink.writableLength >= STREAM_BUFFER_BYTES;
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
 * The flat `[name, value, ...]` header list Node passes with header events
 * (repeated fields apart); rebuilt from the parsed object where it is missing
 * (repeated values then stay joined).
 */
export function rawList(headers: http2.IncomingHttpHeaders | IncomingHeaders, raw: unknown): readonly string[] {
  if (Array.isArray(raw)) return raw as string[];
  const flat: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) flat.push(name, String(v));
  }
  return flat;
}

/**
 * Joins envd's `stream` to the builder's `upstream` until one side ends the
 * call. `capture` (Control/Solve only) sees both directions' bytes.
 */
export function proxyCall(ctx: CallContext, path: string, stream: http2.ServerHttp2Stream, upstream: ClientStream, capture?: SolveCapture): void {
  const scanner = new FrameScanner(ctx.maxMessageBytes);
  const builderFailed = (why: string) => `envd gateway: builder ${ctx.builder}: ${why}`;

  /** Response HEADERS sent to envd. */
  let responded = false;
  /** The final status has been sent to envd, or envd is gone; nothing more is forwarded. */
  let finished = false;
  /** The builder's stream has ended or been cancelled by us. */
  let upstreamDone = false;
  /** The builder's trailers, held until all DATA before them is passed on. */
  let upstreamTrailers: http2.OutgoingHttpHeaders | undefined;
  let upstreamError: string | undefined;
  let trailers: http2.OutgoingHttpHeaders = {};
  // envd reads slower than the builder sends: stop reading upstream so
  // HTTP/2 flow control pushes back on the builder instead of us buffering.
  const holdUpstream = pauseUntilDrained(upstream, stream);
  // The builder (or the link to it) is slower than envd: stop reading the
  // envd stream so its window closes and envd waits.
  const holdDownstream = pauseUntilDrained(stream, upstream);

  const entry = { abort: (code: StatusCode, details: string) => finish(code, details) };
  ctx.active.add(entry);

  stream.on('wantTrailers', () => {
    try {
      stream.sendTrailers(trailers);
    } catch (err) {
      try {
        stream.sendTrailers(statusTrailers(Status.INTERNAL, `envd gateway: cannot forward response trailers: ${(err as Error).message}`));
      } catch {
        stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      }
    }
  });

  /** Stops forwarding; a builder stream still open is cancelled. False if already stopped. */
  function stop(code: number, details: string): boolean {
    if (finished) return false;
    finished = true;
    ctx.active.delete(entry);
    ctx.ended?.(code, details);
    if (!upstreamDone) {
      upstreamDone = true;
      // RST_STREAM(CANCEL): the builder cancels the call's context.
      if (!upstream.destroyed) upstream.close(ErrorCode.CANCEL);
    }
    // Let further request bytes drain into the void instead of stalling the connection.
    if (!stream.destroyed) stream.resume();
    return true;
  }

  /** Ends envd's call with `headers` as the final status block (trailers, or a trailers-only response). */
  function end(headers: http2.OutgoingHttpHeaders, trailersOnly: http2.OutgoingHttpHeaders): void {
    if (stream.destroyed || stream.closed) return;
    if (!responded) {
      responded = true;
      try {
        stream.respond(trailersOnly, { endStream: true });
      } catch {
        respondTrailersOnly(stream, Status.INTERNAL, 'envd gateway: cannot forward the response status');
      }
      return;
    }
    trailers = headers;
    stream.end(); // emits 'wantTrailers' once all DATA is out
  }

  /** The gateway's own reason to end the call (bad frame, lost builder, close()). */
  function finish(code: StatusCode, details: string): void {
    if (!stop(code, details)) return;
    const status = statusTrailers(code, details);
    end(status, { ':status': 200, 'content-type': 'application/grpc', ...status });
  }

  /** The builder's status, passed on as it sent it. */
  function passStatus(headers: http2.OutgoingHttpHeaders, trailersOnly: boolean): void {
    upstreamDone = true;
    const { code, details } = statusOf(headers);
    if (!stop(code, details)) return;
    end(headers, trailersOnly ? headers : {});
  }

  // --- builder → envd
  // The builder's DATA is read only once its response HEADERS have been
  // passed on: Node emits 'response' on the next tick, but DATA that came in
  // the same read from the socket can be emitted before it (seen with
  // buildkitd over TLS: the first bytes of LLBBridge/Ping and of the Session
  // tunnel were dropped). Until a 'data' listener exists the stream buffers.
  const onData = (chunk: Buffer): void => {
    if (finished) return;
    ctx.watch?.answered(path);
    capture?.response(chunk);
    if (!stream.write(chunk) && full(stream)) holdUpstream();
  };
  upstream.on('response', (headers: IncomingHeaders, flags: number, raw?: unknown) => {
    if (finished) return;
    const fields = passThroughHeaders(rawList(headers, raw), true);
    if (flags & Flag.END_STREAM) {
      // Trailers-only: the status is in this one HEADERS frame.
      passStatus(fields, true);
      return;
    }
    if (stream.destroyed || stream.closed) return;
    try {
      stream.respond(fields, { waitForTrailers: true });
      responded = true;
    } catch (err) {
      // Only reachable with header fields Node refuses to encode.
      finish(Status.INTERNAL, `envd gateway: cannot forward response headers: ${(err as Error).message}`);
      return;
    }
    upstream.on('data', onData);
  });
  upstream.on('trailers', (headers: IncomingHeaders, _flags: number, raw?: unknown) => {
    upstreamTrailers = passThroughHeaders(rawList(headers, raw), false);
  });
  // 'trailers' comes before 'end', but DATA read before them may still be
  // waiting in a paused stream: the status follows once all of it is passed on.
  upstream.on('end', () => {
    if (!finished && upstreamTrailers) passStatus(upstreamTrailers, false);
  });
  upstream.on('error', (err: Error) => {
    upstreamError ??= err.message;
  });
  // Always last. A reset stream ends its readable side too, so only here is
  // it clear whether the call ended without a status or was cut off.
  upstream.on('close', () => {
    if (finished) return;
    upstreamDone = true;
    const code = upstream.rstCode ?? ErrorCode.NO_ERROR;
    if (upstreamError === undefined && code === ErrorCode.NO_ERROR) {
      finish(Status.INTERNAL, builderFailed('the call ended without a gRPC status'));
      return;
    }
    // Reset by the builder, its connection lost or never made, or keepalive gave up.
    const lost = ctx.connectionFailure(upstream);
    if (lost !== undefined) ctx.watch?.connectionLost(upstreamError ?? lost);
    finish(Status.UNAVAILABLE, builderFailed(upstreamError ?? lost ?? `the call was reset (HTTP/2 error ${code})`));
  });

  // --- envd → builder
  stream.on('data', (chunk: Buffer) => {
    if (finished) return;
    try {
      scanner.push(chunk);
    } catch (err) {
      const failure = err instanceof FrameError ? frameCallError(err) : new CallError(Status.INTERNAL, (err as Error).message);
      ctx.log(`envd gateway: ${path}: ${failure.message}`);
      finish(failure.code, failure.message);
      return;
    }
    capture?.request(chunk);
    if (!upstream.write(chunk) && full(upstream)) holdDownstream();
  });
  stream.on('end', () => {
    if (finished) return;
    // A reset or a lost connection ends the readable side too; that is no
    // half-close to pass on: 'close' follows and cancels the builder's stream.
    if (stream.aborted || (stream.rstCode ?? http2.constants.NGHTTP2_NO_ERROR) !== http2.constants.NGHTTP2_NO_ERROR) return;
    if (scanner.hasPartial()) {
      finish(Status.INTERNAL, 'envd gateway: request ended in the middle of a gRPC message');
      return;
    }
    upstream.end(); // half-close: envd has sent all its messages
  });
  stream.on('close', () => {
    // RST_STREAM from envd, its connection dropped, or the normal end after
    // our trailers. Only the first two leave the builder's stream open.
    stop(Status.CANCELLED, 'envd gateway: envd cancelled the call');
  });
}
