// Translating between HTTP/2 header blocks (the envd side) and grpc-js
// Metadata (the builder side), plus the small gRPC header encodings and the
// statuses the gateway ends refused calls with.
import type * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { encodeGrpcMessage, type FrameError } from '../../common/grpc-frames.js';

/** A call the gateway cannot forward; it ends with `code` and the message. */
export class CallError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
    this.name = 'CallError';
  }
}

/** How the gateway ends a call whose request stream the frame decoder refused. */
export function frameCallError(err: FrameError): CallError {
  switch (err.kind) {
    case 'compressed':
      // grpc-js (our upstream side) only accepts messages to serialize, not
      // pre-compressed bytes, so a compressed message cannot be passed on.
      return new CallError(
        grpc.status.UNIMPLEMENTED,
        'envd gateway: compressed gRPC request messages are not supported; disable compression in the client',
      );
    case 'invalid-flag':
      return new CallError(grpc.status.INTERNAL, `envd gateway: invalid gRPC message flag ${err.flag}`);
    case 'too-large':
      return new CallError(
        grpc.status.RESOURCE_EXHAUSTED,
        `envd gateway: request message of ${err.length} bytes exceeds the limit of ${err.limit} bytes`,
      );
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

const TIMEOUT_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/** `grpc-timeout` ("<1-8 digits><H|M|S|m|u|n>") in milliseconds, or undefined if malformed. */
export function parseGrpcTimeout(value: string): number | undefined {
  const m = /^(\d{1,8})([HMSmun])$/.exec(value.trim());
  if (!m) return undefined;
  return Number(m[1]) * TIMEOUT_UNIT_MS[m[2]!]!;
}

export interface ForwardedRequestHeaders {
  /** Custom metadata for the upstream call, every repeated value kept separately. */
  readonly metadata: grpc.Metadata;
  /** From grpc-timeout; the upstream deadline. */
  readonly timeoutMs?: number;
}

/**
 * Builds upstream metadata from the flat `[name, value, ...]` list of the
 * 'stream' event. The parsed headers object would join repeated values with
 * ", ", which is ambiguous; the raw list keeps them apart. Throws CallError.
 */
export function requestMetadata(rawHeaders: readonly string[]): ForwardedRequestHeaders {
  const metadata = new grpc.Metadata();
  let timeoutMs: number | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const value = rawHeaders[i + 1]!;
    if (name.startsWith(':')) continue;
    if (name === 'grpc-timeout') {
      timeoutMs = parseGrpcTimeout(value);
      if (timeoutMs === undefined) throw new CallError(grpc.status.INTERNAL, `envd gateway: malformed grpc-timeout "${value}"`);
      continue;
    }
    if (REQUEST_HEADERS_NOT_FORWARDED.has(name)) continue;
    try {
      if (name.endsWith('-bin')) {
        // Binary values are base64 on the wire; several may share one field,
        // comma-separated (base64 has no commas, so the split is exact).
        for (const part of value.split(',')) metadata.add(name, Buffer.from(part.trim(), 'base64'));
      } else {
        metadata.add(name, value);
      }
    } catch (err) {
      throw new CallError(
        grpc.status.INTERNAL,
        `envd gateway: cannot forward request header "${name}": ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
  return timeoutMs === undefined ? { metadata } : { metadata, timeoutMs };
}

/** The builder's metadata as HTTP/2 header fields (binary values base64, repeated values as arrays). */
export function metadataHeaders(metadata: grpc.Metadata | undefined): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = {};
  if (!metadata) return out;
  for (const [key, raw] of Object.entries(metadata.toHttp2Headers())) {
    if (key.startsWith(':') || RESPONSE_HEADERS_NOT_FORWARDED.has(key)) continue;
    const values = raw === undefined ? [] : Array.isArray(raw) ? raw.map(String) : [String(raw)];
    if (values.length === 0) continue;
    // A one-element array is fine for most names, but Node rejects arrays for
    // its single-value headers, so use a plain string when there is one value.
    out[key] = values.length === 1 ? values[0] : values;
  }
  return out;
}

/** Trailer fields ending a call: the builder's trailing metadata plus grpc-status/grpc-message. */
export function statusTrailers(code: number, details: string, metadata?: grpc.Metadata): http2.OutgoingHttpHeaders {
  const trailers = metadataHeaders(metadata);
  trailers['grpc-status'] = String(code);
  if (details) trailers['grpc-message'] = encodeGrpcMessage(details);
  return trailers;
}
