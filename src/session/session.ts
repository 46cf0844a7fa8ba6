// Opens a session on the daemon: a Control.Session call whose bytes carry an
// HTTP/2 connection on which the daemon calls *our* services.
import { randomBytes } from '../common/random.js';
import { Status } from '../common/grpc-status.js';
import type { MethodHandler } from './rpc.js';
import { SessionServer, type SessionStats } from './server.js';
import { TunnelLink, type SessionCall } from './tunnel.js';

export interface SessionOptions {
  /** Printable ASCII; the daemon keys its copy of our directories on it (incremental transfers). */
  readonly sharedKey: string;
  readonly log?: (message: string) => void;
  /** Called with the path of every call the daemon opens in the session. */
  readonly onCall?: (path: string) => void;
}

export interface Session {
  readonly id: string;
  /** What the session holds for the daemon now (see SessionServer's limits). */
  stats(): SessionStats;
  /** Resolves when the daemon ends the session or it fails. */
  readonly done: Promise<void>;
  /** Closes our HTTP/2 side (GOAWAY), then cancels the call. Idempotent. */
  close(): Promise<void>;
}

/** 25 lowercase base-36 characters, like BuildKit's own IDs; never contains ':'. */
export function randomId(): string {
  const bytes = randomBytes(25);
  return Array.from(bytes, (b) => (b % 36).toString(36)).join('');
}

/**
 * The one call of the daemon's Control service a session needs: the stream
 * the tunnel runs over. The BuildKit client (src/buildkit/control.ts)
 * provides it; the session layer does not depend on that client.
 */
export interface SessionOpener {
  /** The builder's address, for log lines about the session. */
  readonly endpoint: { readonly address: string };
  /** Opens the call; each message it receives goes to `onMessage`, still encoded. */
  session(metadata: Readonly<Record<string, string | readonly string[]>>, onMessage: (message: Buffer) => void): SessionCall;
}

export function openSession(client: SessionOpener, handlers: readonly MethodHandler[], options: SessionOptions): Session {
  const id = randomId();
  const server = new SessionServer(handlers, {
    ...(options.log ? { log: options.log } : {}),
    ...(options.onCall ? { onCall: options.onCall } : {}),
  });
  const metadata = {
    'x-docker-expose-session-uuid': id,
    'x-docker-expose-session-sharedkey': options.sharedKey,
    'x-docker-expose-session-name': 'envd-remote-build',
    // One value per method: the daemon checks FileSync and FileSend support by path.
    'x-docker-expose-session-grpc-method': server.paths,
  };

  const link = new TunnelLink();
  const call = client.session(metadata, (m) => link.receive(m));
  let closing = false;
  const done = call.done.then((failure) => {
    if (failure && !closing && failure.code !== Status.CANCELLED) {
      options.log?.(`session with builder ${client.endpoint.address} ended: ${failure.details || failure.message}`);
    }
  });
  // Attached before serving: our connection writes its SETTINGS as it starts.
  link.attach(call);
  const served = server.serve(link);
  link.deliverTo(served.receive, (failure) => served.destroy(failure));

  let closed: Promise<void> | undefined;
  return {
    id,
    stats: () => server.stats(),
    done,
    close() {
      closed ??= (async () => {
        closing = true;
        await server.close();
        call.cancel();
      })();
      return closed;
    },
  };
}
