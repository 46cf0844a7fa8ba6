// The gRPC connection to a builder. Native builds and the probe dial through
// here; the envd gateway's own HTTP/2 connection (envd/gateway/upstream.ts)
// shares the TLS and :authority decisions from endpoint.ts and the keepalive
// settings below.
import * as grpc from '@grpc/grpc-js';
import { builderAuthority, clientTls, type BuilderEndpoint } from './endpoint.js';

/** BuildKit's own client raises both limits to 16 MiB; grpc-js receives 4 MiB by default. */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/**
 * HTTP/2 keepalive of a builder connection: a PING `timeMs` after the last
 * one was answered (only while a call is open), and the connection is given
 * up, failing every call on it, when an answer takes longer than `timeoutMs`.
 * Without it a builder that stops answering (a stopped process, a host gone
 * from the network) leaves Solve pending until the job times out.
 */
export interface KeepaliveSettings {
  readonly timeMs: number;
  readonly timeoutMs: number;
}

/**
 * buildkitd sets no keepalive policy of its own, so grpc-go's default applies:
 * a client whose pings come less than 5 minutes apart earns a strike, and the
 * third strike closes the connection with GOAWAY "too_many_pings", failing
 * the running build. 5 min 15 s keeps clear of that even when timers drift;
 * with a 20 s timeout (grpc's default) a builder that goes silent is given up
 * within 5 min 35 s. A connection that is closed (a daemon killed, restarted)
 * needs no ping: it fails the calls at once.
 */
export const DEFAULT_KEEPALIVE: KeepaliveSettings = { timeMs: 315_000, timeoutMs: 20_000 };

/** Per-connection settings a caller may override (tests shorten the keepalive). */
export interface ConnectionOptions {
  readonly keepalive?: KeepaliveSettings;
}

export function channelCredentials(endpoint: BuilderEndpoint): grpc.ChannelCredentials {
  const t = clientTls(endpoint);
  if (!t) return grpc.credentials.createInsecure();
  // Verification stays on: without a CA the system roots are used.
  return grpc.credentials.createSsl(t.ca ?? null, t.key ?? null, t.cert ?? null);
}

export function channelOptions(endpoint: BuilderEndpoint, connection: ConnectionOptions = {}): grpc.ChannelOptions {
  const keepalive = connection.keepalive ?? DEFAULT_KEEPALIVE;
  const options: grpc.ChannelOptions = {
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    'grpc.keepalive_time_ms': keepalive.timeMs,
    'grpc.keepalive_timeout_ms': keepalive.timeoutMs,
    // grpc-go counts every ping on a connection without calls as a strike
    // (unless it allows them, which buildkitd does not): ping only during calls.
    'grpc.keepalive_permit_without_calls': 0,
    // A larger window keeps big session transfers from stalling on 64 KiB.
    'grpc-node.flow_control_window': 4 * 1024 * 1024,
    // channelz keeps per-message counters and timestamps for a debugging
    // service nobody can query here; it shows in the session's send path.
    'grpc.enable_channelz': 0,
  };
  if (endpoint.scheme === 'tcp' && endpoint.tls?.serverName) {
    options['grpc.ssl_target_name_override'] = endpoint.tls.serverName;
  }
  // Only where it differs from the target grpc-js would send anyway.
  if (endpoint.scheme === 'unix' || endpoint.tls?.serverName) options['grpc.default_authority'] = builderAuthority(endpoint);
  return options;
}
