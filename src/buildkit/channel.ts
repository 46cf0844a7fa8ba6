// Settings of a connection to a builder (connection.ts), shared by our own
// calls and the envd gateway's.

/** BuildKit's own client raises its send and receive limits to 16 MiB; so do we. */
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
