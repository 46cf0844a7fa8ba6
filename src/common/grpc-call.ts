// One gRPC call as a client, on an HTTP/2 stream we open ourselves: the
// request framed by hand, the response's messages cut out of its DATA, and
// the status read from its trailers (or from the headers of a trailers-only
// answer). We make five kinds of call to a builder (Info, ListWorkers, Solve,
// Status, Session), so a general gRPC client would be mostly start-up cost:
// loading and setting one up took longer than all the calls of a cached build.
import type { ClientStream, IncomingHeaders, OutgoingHeaders } from './h2/client.js';
import { ErrorCode } from './h2/frames.js';
import { FrameDecoder, FrameError, frameMessage, decodeGrpcMessage } from './grpc-frames.js';
import { Status, parseStatus, statusName, type StatusCode } from './grpc-status.js';

/** A call's failure: the status the server (or we, for the connection) ended it with. */
export class GrpcError extends Error {
  constructor(
    readonly code: StatusCode,
    /** The status message alone, as the server sent it (decoded). */
    readonly details: string,
  ) {
    super(`${code} ${statusName(code)}: ${details}`);
    this.name = 'GrpcError';
  }
}

/** True for a call's failure, with the given status when one is named. */
export function isGrpcError(err: unknown, code?: StatusCode): err is GrpcError {
  return err instanceof GrpcError && (code === undefined || err.code === code);
}

/** Where calls open their streams: a connection to one server. */
export interface StreamOpener {
  /** Sent as :authority. */
  readonly authority: string;
  /** Opens a stream; connection failures arrive later on it as 'error' and 'close'. */
  request(headers: OutgoingHeaders): ClientStream;
  /** Why `stream` was cut off if its connection went down, else undefined. */
  connectionFailure(stream: ClientStream): string | undefined;
}

export interface CallOptions {
  /** Ends the call with DEADLINE_EXCEEDED if it has not ended by then. */
  readonly deadline?: Date;
  /** Cancels the call (CANCELLED) when aborted. */
  readonly signal?: AbortSignal;
  /** Request metadata; a list is sent as one header field per value. */
  readonly metadata?: Readonly<Record<string, string | readonly string[]>>;
  /** Largest response message taken; a larger one fails the call (RESOURCE_EXHAUSTED). */
  readonly maxMessageBytes: number;
}

/** HTTP statuses other than 200, as gRPC's HTTP/2 mapping turns them into codes. */
function statusForHttp(status: number): StatusCode {
  if (status === 400) return Status.INTERNAL;
  if (status === 401) return Status.UNAUTHENTICATED;
  if (status === 403) return Status.PERMISSION_DENIED;
  if (status === 404) return Status.UNIMPLEMENTED;
  if (status === 429 || status === 502 || status === 503 || status === 504) return Status.UNAVAILABLE;
  return Status.UNKNOWN;
}

/** A grpc-timeout value: at most 8 digits, in the finest unit that fits. */
export function grpcTimeout(ms: number): string {
  const m = Math.max(1, Math.ceil(ms));
  if (m <= 99_999_999) return `${m}m`;
  const seconds = Math.ceil(m / 1000);
  if (seconds <= 99_999_999) return `${seconds}S`;
  return `${Math.min(99_999_999, Math.ceil(seconds / 3600))}H`;
}

function firstValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/**
 * A call in flight. Its requests are written to `stream` already framed;
 * response messages go to `onMessage` as they arrive (still encoded); `done`
 * settles once with the call's outcome: undefined for OK, a GrpcError
 * otherwise. It never rejects. `stream` is undefined when the call could
 * not even be opened (a closed connection); `done` says why.
 */
export class ClientCall {
  readonly stream: ClientStream | undefined;
  readonly done: Promise<GrpcError | undefined>;
  private outcome: GrpcError | null | undefined;
  private settle!: (outcome: GrpcError | undefined) => void;
  private readonly decoder: FrameDecoder;
  private timer: NodeJS.Timeout | undefined;
  private readonly onAbort: () => void;

  constructor(
    opener: StreamOpener,
    path: string,
    private readonly options: CallOptions,
    private readonly onMessage: (message: Buffer) => void,
  ) {
    this.done = new Promise((resolve) => (this.settle = resolve));
    this.decoder = new FrameDecoder(options.maxMessageBytes);
    const headers: Record<string, string | readonly string[]> = {
      ':method': 'POST',
      ':path': path,
      ':authority': opener.authority,
      'content-type': 'application/grpc',
      te: 'trailers',
      'user-agent': 'envd-remote-build',
      ...options.metadata,
    };
    const { deadline, signal } = options;
    if (deadline) headers['grpc-timeout'] = grpcTimeout(deadline.getTime() - Date.now());
    this.onAbort = () => this.cancel(Status.CANCELLED, 'cancelled');
    let stream: ClientStream;
    try {
      stream = opener.request(headers);
    } catch (err) {
      // A closed connection, or headers HTTP/2 cannot carry: no stream to wait for.
      this.stream = undefined;
      this.finish(new GrpcError(Status.UNAVAILABLE, (err as Error).message));
      return;
    }
    this.stream = stream;
    if (signal?.aborted) {
      this.onAbort();
      return;
    }
    signal?.addEventListener('abort', this.onAbort, { once: true });
    if (deadline) {
      this.timer = setTimeout(() => this.cancel(Status.DEADLINE_EXCEEDED, 'deadline exceeded'), Math.max(0, deadline.getTime() - Date.now()));
    }
    let cause: string | undefined;
    stream.on('response', (h: IncomingHeaders) => {
      const status = Number(h[':status']);
      if (status !== 200) {
        this.fail(new GrpcError(statusForHttp(status), `the builder answered HTTP ${status}`));
      } else if (!String(h['content-type'] ?? '').startsWith('application/grpc')) {
        this.fail(new GrpcError(Status.UNKNOWN, `the builder answered with content-type "${String(h['content-type'] ?? '')}", not gRPC`));
      } else if (h['grpc-status'] !== undefined) {
        this.endWith(h); // trailers-only
      }
    });
    stream.on('data', (chunk: Buffer) => {
      if (this.outcome !== undefined) return;
      let messages: Buffer[];
      try {
        messages = this.decoder.push(chunk);
      } catch (err) {
        const e = err as FrameError;
        this.fail(new GrpcError(e.kind === 'too-large' ? Status.RESOURCE_EXHAUSTED : Status.INTERNAL, `from the builder: ${e.message}`));
        return;
      }
      for (const m of messages) {
        if (this.outcome !== undefined) return;
        try {
          this.onMessage(m);
        } catch (err) {
          this.fail(new GrpcError(Status.INTERNAL, `cannot read the builder's answer: ${(err as Error).message}`));
        }
      }
    });
    stream.on('trailers', (h: IncomingHeaders) => this.endWith(h));
    // A connection that failed takes its streams down with its error, which
    // says why (refused, TLS, no keepalive answer).
    stream.on('error', (err: Error) => (cause ??= err.message));
    stream.on('close', () => {
      if (this.outcome !== undefined) return this.cleanUp();
      const failure = opener.connectionFailure(stream);
      const code = stream.rstCode ?? ErrorCode.NO_ERROR;
      if (failure) this.finish(new GrpcError(Status.UNAVAILABLE, cause ?? failure));
      else if (code === ErrorCode.REFUSED_STREAM) this.finish(new GrpcError(Status.UNAVAILABLE, 'the builder refused the stream'));
      else if (code === ErrorCode.CANCEL) this.finish(new GrpcError(Status.CANCELLED, 'the builder cancelled the call'));
      else if (code !== ErrorCode.NO_ERROR) this.finish(new GrpcError(Status.INTERNAL, `the builder reset the call (HTTP/2 error ${code})`));
      else this.finish(new GrpcError(Status.UNAVAILABLE, cause ?? 'the call ended without a gRPC status'));
    });
  }

  /** No more requests (half-close). */
  end(): void {
    if (this.outcome === undefined && this.stream && !this.stream.writableEnded) this.stream.end();
  }

  /** Ends the call now with `code` (CANCELLED unless given) and resets its stream. */
  cancel(code: StatusCode = Status.CANCELLED, details = 'cancelled'): void {
    this.fail(new GrpcError(code, details));
  }

  /** The status the call ended with (trailers or a trailers-only response). */
  private endWith(h: IncomingHeaders): void {
    if (this.outcome !== undefined) return;
    const code = parseStatus(firstValue(h['grpc-status']));
    const details = decodeGrpcMessage(firstValue(h['grpc-message']) ?? '');
    if (code === Status.OK && this.decoder.hasPartial()) {
      this.finish(new GrpcError(Status.INTERNAL, 'the builder ended the call inside a gRPC message'));
    } else {
      this.finish(code === Status.OK ? undefined : new GrpcError(code, details));
    }
  }

  /** Ends the call with `err` from our side: the stream is reset, whatever it still carries is dropped. */
  private fail(err: GrpcError): void {
    if (this.outcome !== undefined) return;
    this.finish(err);
    if (this.stream && !this.stream.destroyed) this.stream.close(ErrorCode.CANCEL);
  }

  private finish(outcome: GrpcError | undefined): void {
    if (this.outcome !== undefined) return;
    this.outcome = outcome ?? null;
    this.cleanUp();
    this.settle(outcome);
  }

  private cleanUp(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.options.signal?.removeEventListener('abort', this.onAbort);
  }
}

/** A call with one request and one response. */
export async function unaryCall(opener: StreamOpener, path: string, request: Uint8Array, options: CallOptions): Promise<Buffer> {
  let response: Buffer | undefined;
  const call = new ClientCall(opener, path, options, (m) => {
    if (response !== undefined) throw new Error('more than one response message');
    response = m;
  });
  if (call.stream) call.stream.end(frameMessage(request));
  const failure = await call.done;
  if (failure) throw failure;
  if (response === undefined) throw new GrpcError(Status.INTERNAL, 'the builder answered without a response message');
  return response;
}
