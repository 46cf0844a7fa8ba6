// The handler-side view of a gRPC call served inside the session tunnel.
// The daemon is the gRPC client there; we implement just enough of gRPC on a
// raw HTTP/2 server to keep every repeated header value (see server.ts).

import { Status, type StatusCode } from '../common/grpc-status.js';

/** gRPC status codes we answer with. */
export const Code = Status;
export type CodeValue = StatusCode;

/** Throw this from a handler to end the call with a specific status. */
export class RpcError extends Error {
  constructor(
    readonly code: CodeValue,
    message: string,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

/** Request metadata with every repeated value kept separately, keys lower-case. */
export type Metadata = ReadonlyMap<string, readonly string[]>;

export interface CallContext {
  readonly path: string;
  readonly metadata: Metadata;
  /** Aborted when the peer cancels (RST_STREAM) or the session closes. */
  readonly signal: AbortSignal;
}

/** A bidirectional stream: read the peer's messages, write ours. */
export interface BidiCall<Req, Res> extends CallContext {
  /** The peer's messages in order; ends when the peer half-closes. */
  readonly messages: AsyncIterable<Req>;
  /** Resolves once the message is handed to HTTP/2 (waits for flow control). */
  write(message: Res): Promise<void>;
}

export type UnaryHandler<Req, Res> = (request: Req, call: CallContext) => Promise<Res>;
export type BidiHandler<Req, Res> = (call: BidiCall<Req, Res>) => Promise<void>;

/** One method served in the session, with the codecs of its messages. */
export type MethodHandler =
  | { kind: 'unary'; path: string; handle: UnaryHandler<unknown, unknown>; decode(b: Uint8Array): unknown; encode(m: unknown): Buffer }
  | { kind: 'bidi'; path: string; handle: BidiHandler<unknown, unknown>; decode(b: Uint8Array): unknown; encode(m: unknown): Buffer };

/** First value of a metadata key, or undefined. */
export function first(metadata: Metadata, key: string): string | undefined {
  return metadata.get(key)?.[0];
}
