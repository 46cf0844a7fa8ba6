// The header blocks the gateway passes between envd and the builder: which
// request fields go upstream (validated as gRPC metadata), which response
// header and trailer fields come back, plus the small gRPC header encodings
// and the statuses the gateway ends refused calls with.
import type * as http2 from 'node:http2';
import { Status, type StatusCode } from '../../common/grpc-status.js';
import { decodeGrpcMessage, encodeGrpcMessage, type FrameError } from '../../common/grpc-frames.js';

/** A call the gateway cannot forward; it ends with `code` and the message. */
export class CallError extends Error {
  constructor(
    readonly code: StatusCode,
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
      // We never negotiate compression with the builder, so a compressed
      // message could not be passed on.
      return new CallError(
        Status.UNIMPLEMENTED,
        'envd gateway: compressed gRPC request messages are not supported; disable compression in the client',
      );
    case 'invalid-flag':
      return new CallError(Status.INTERNAL, `envd gateway: invalid gRPC message flag ${err.flag}`);
    case 'too-large':
      return new CallError(
        Status.RESOURCE_EXHAUSTED,
        `envd gateway: request message of ${err.length} bytes exceeds the limit of ${err.limit} bytes`,
      );
  }
}

/**
 * Request headers that belong to one hop: the gateway sets te, content-type,
 * user-agent and grpc-timeout upstream itself, and encodings are not
 * negotiated through it (identity only). Forwarding them as metadata would
 * duplicate or contradict them.
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

/** gRPC's rule for metadata keys (after lower-casing). */
const METADATA_KEY = /^[0-9a-z_.-]+$/;
/** And for the values of keys not ending in -bin: printable ASCII. */
const METADATA_VALUE = /^[ -~]*$/;

/**
 * Custom metadata of a call, checked as gRPC requires (key characters;
 * printable ASCII values, or binary ones under keys ending in -bin), every
 * repeated value kept separately.
 */
export class Metadata {
  private readonly entries = new Map<string, (string | Buffer)[]>();

  /** Adds a value; throws for a key or value gRPC does not allow. */
  add(key: string, value: string | Buffer): void {
    const k = key.toLowerCase();
    if (!METADATA_KEY.test(k)) throw new Error(`metadata key "${key}" contains illegal characters`);
    const binary = k.endsWith('-bin');
    if (binary !== Buffer.isBuffer(value)) throw new Error(`metadata key "${key}" ${binary ? 'takes binary values' : 'takes text values'}`);
    if (typeof value === 'string' && !METADATA_VALUE.test(value)) throw new Error(`metadata value of "${key}" contains illegal characters`);
    const list = this.entries.get(k);
    if (list) list.push(value);
    else this.entries.set(k, [value]);
  }

  get(key: string): readonly (string | Buffer)[] {
    return this.entries.get(key.toLowerCase()) ?? [];
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  /** As HTTP/2 header fields: binary values base64, repeated values as arrays. */
  toHttp2Headers(): http2.OutgoingHttpHeaders {
    const out: http2.OutgoingHttpHeaders = {};
    for (const [key, values] of this.entries) {
      const wire = values.map((v) => (typeof v === 'string' ? v : v.toString('base64')));
      out[key] = wire.length === 1 ? wire[0] : wire;
    }
    return out;
  }
}

export interface ForwardedRequestHeaders {
  /** Custom metadata for the upstream call, every repeated value kept separately. */
  readonly metadata: Metadata;
  /** From grpc-timeout; the upstream deadline. */
  readonly timeoutMs?: number;
  /** The grpc-timeout value itself, checked, to send upstream unchanged. */
  readonly timeout?: string;
}

/**
 * Builds upstream metadata from the flat `[name, value, ...]` list of the
 * 'stream' event. The parsed headers object would join repeated values with
 * ", ", which is ambiguous; the raw list keeps them apart. Throws CallError.
 */
export function requestMetadata(rawHeaders: readonly string[]): ForwardedRequestHeaders {
  const metadata = new Metadata();
  let timeoutMs: number | undefined;
  let timeout: string | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const value = rawHeaders[i + 1]!;
    if (name.startsWith(':')) continue;
    if (name === 'grpc-timeout') {
      timeoutMs = parseGrpcTimeout(value);
      if (timeoutMs === undefined) throw new CallError(Status.INTERNAL, `envd gateway: malformed grpc-timeout "${value}"`);
      timeout = value.trim();
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
        Status.INTERNAL,
        `envd gateway: cannot forward request header "${name}": ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
  return timeoutMs === undefined || timeout === undefined ? { metadata } : { metadata, timeoutMs, timeout };
}

/** Checked request metadata as header fields for the upstream stream (binary values base64, repeated values apart). */
export function requestHeaders(metadata: Metadata): http2.OutgoingHttpHeaders {
  return metadata.toHttp2Headers();
}

/** The builder's metadata as HTTP/2 header fields (binary values base64, repeated values as arrays). */
export function metadataHeaders(metadata: Metadata | undefined): http2.OutgoingHttpHeaders {
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
export function statusTrailers(code: number, details: string, metadata?: Metadata): http2.OutgoingHttpHeaders {
  const trailers = metadataHeaders(metadata);
  trailers['grpc-status'] = String(code);
  if (details) trailers['grpc-message'] = encodeGrpcMessage(details);
  return trailers;
}

/**
 * Fields of the builder's header blocks that never go to envd: connection
 * specific ones (Node refuses them on HTTP/2 anyway), content-length, and
 * grpc-accept-encoding, since the gateway takes identity requests only. The
 * rest, grpc-encoding included, describes the bytes that pass unchanged.
 */
const PASS_THROUGH_DROPPED = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'content-length', 'grpc-accept-encoding']);

/**
 * The builder's response headers (`withStatus`) or trailers as fields for
 * envd, from the flat `[name, value, ...]` list Node passes with them, so
 * repeated fields stay apart. Pseudo-headers are dropped except :status.
 * The status travels as the builder sent it, even a non-200 one: envd's
 * client maps that to a gRPC status itself.
 */
export function passThroughHeaders(rawHeaders: readonly string[], withStatus: boolean): http2.OutgoingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const value = rawHeaders[i + 1]!;
    if (name.startsWith(':') ? !(withStatus && name === ':status') : PASS_THROUGH_DROPPED.has(name)) continue;
    if (name === 'content-type' && /^application\/grpc([+;]|$)/.test(value)) {
      // One gRPC content type towards envd, whatever codec suffix the builder's
      // server library adds; anything else passes on for envd to refuse.
      out[name] = 'application/grpc';
      continue;
    }
    const seen = out[name];
    if (seen === undefined) out[name] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else out[name] = [seen, value];
  }
  return out;
}

/** The status a header block carries (trailers, or a trailers-only response); UNKNOWN without a valid grpc-status. */
export function statusOf(headers: http2.OutgoingHttpHeaders): { code: number; details: string } {
  const first = (v: unknown): string | undefined => (Array.isArray(v) ? String(v[0]) : v === undefined ? undefined : String(v));
  const raw = first(headers['grpc-status']);
  const code = raw !== undefined && /^\d{1,2}$/.test(raw) ? Number(raw) : Status.UNKNOWN;
  return { code, details: decodeGrpcMessage(first(headers['grpc-message']) ?? '') };
}
