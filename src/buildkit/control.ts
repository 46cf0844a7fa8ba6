// Typed calls of the daemon's Control service, on our own HTTP/2 connection
// to it (connection.ts) with hand-framed gRPC (common/grpc-call.ts).
import { EventEmitter } from 'node:events';
import { ClientCall, unaryCall, type CallOptions } from '../common/grpc-call.js';
import { frameMessage } from '../common/grpc-frames.js';
import {
  codec,
  Messages,
  type InfoResponse,
  type ListWorkersResponse,
  type SolveRequest,
  type SolveResponse,
  type StatusResponse,
} from '../protocol/index.js';
import { MAX_MESSAGE_BYTES, type ConnectionOptions } from './channel.js';
import { BuilderConnection } from './connection.js';
import type { BuilderEndpoint } from './endpoint.js';

export { GrpcError, isGrpcError } from '../common/grpc-call.js';

const CONTROL = '/moby.buildkit.v1.Control';

const codecs = {
  infoRequest: codec<Record<string, never>>(Messages.InfoRequest),
  infoResponse: codec<InfoResponse>(Messages.InfoResponse),
  listWorkersRequest: codec<{ filter?: string[] }>(Messages.ListWorkersRequest),
  listWorkersResponse: codec<ListWorkersResponse>(Messages.ListWorkersResponse),
  solveRequest: codec<SolveRequest>(Messages.SolveRequest),
  solveResponse: codec<SolveResponse>(Messages.SolveResponse),
  statusRequest: codec<{ Ref: string }>(Messages.StatusRequest),
  statusResponse: codec<StatusResponse>(Messages.StatusResponse),
};

/**
 * How long a connection nobody uses stays open. The probe's client closes
 * right before the build's client opens, so the build takes the probe's
 * connection over instead of dialling again (and, for a remote builder,
 * repeating the TCP and TLS handshakes). An idle connection does not keep
 * the process alive.
 */
const LINGER_MS = 5000;

interface SharedConnection {
  readonly connection: BuilderConnection;
  users: number;
  linger?: NodeJS.Timeout;
}

/** Open connections by endpoint and connection settings; see LINGER_MS. */
const shared = new Map<string, SharedConnection>();

function connectionKey(endpoint: BuilderEndpoint, options: ConnectionOptions): string {
  const t = endpoint.tls;
  return JSON.stringify([
    endpoint.address,
    t?.serverName,
    t?.ca?.toString('base64'),
    t?.cert?.toString('base64'),
    t?.key?.toString('base64'),
    options.keepalive?.timeMs,
    options.keepalive?.timeoutMs,
  ]);
}

function acquire(endpoint: BuilderEndpoint, options: ConnectionOptions): { connection: BuilderConnection; release: () => void } {
  const key = connectionKey(endpoint, options);
  let entry = shared.get(key);
  if (!entry) {
    const created: SharedConnection = {
      connection: new BuilderConnection(endpoint, options.keepalive ? { keepalive: options.keepalive } : {}),
      users: 0,
    };
    shared.set(key, created);
    entry = created;
  }
  const e = entry;
  if (e.linger) clearTimeout(e.linger);
  e.linger = undefined;
  e.users++;
  let released = false;
  return {
    connection: e.connection,
    release: () => {
      if (released) return;
      released = true;
      if (--e.users > 0) return;
      e.linger = setTimeout(() => {
        if (e.users > 0) return;
        shared.delete(key);
        void e.connection.close();
      }, LINGER_MS).unref();
    },
  };
}

/** A Status call's progress: 'data' (StatusResponse), then 'end' or 'error' (GrpcError), then 'close'. */
export class StatusStream extends EventEmitter {
  constructor(private readonly call: ClientCall) {
    super();
  }

  cancel(): void {
    this.call.cancel();
  }
}

export class ControlClient {
  private readonly connection: BuilderConnection;
  private readonly release: () => void;

  constructor(
    readonly endpoint: BuilderEndpoint,
    connection: ConnectionOptions = {},
  ) {
    // Throws at once for unusable TLS settings (a cert without its key).
    ({ connection: this.connection, release: this.release } = acquire(endpoint, connection));
  }

  info(deadline?: Date, signal?: AbortSignal): Promise<InfoResponse> {
    return this.unary('Info', codecs.infoRequest.encode({}), codecs.infoResponse.decode, deadline, signal);
  }

  listWorkers(deadline?: Date, signal?: AbortSignal): Promise<ListWorkersResponse> {
    return this.unary('ListWorkers', codecs.listWorkersRequest.encode({}), codecs.listWorkersResponse.decode, deadline, signal);
  }

  /** Runs the build. No deadline: builds take as long as they take; abort via signal. */
  solve(request: SolveRequest, signal?: AbortSignal): Promise<SolveResponse> {
    return this.unary('Solve', codecs.solveRequest.encode(request), codecs.solveResponse.decode, undefined, signal);
  }

  /** Follows the build's progress; best effort, the Solve call carries the verdict. */
  status(ref: string): StatusStream {
    let stream: StatusStream | undefined;
    const call = new ClientCall(this.connection, `${CONTROL}/Status`, { maxMessageBytes: MAX_MESSAGE_BYTES }, (m) =>
      stream!.emit('data', codecs.statusResponse.decode(m)),
    );
    stream = new StatusStream(call);
    const s = stream;
    call.stream?.end(frameMessage(codecs.statusRequest.encode({ Ref: ref })));
    void call.done.then((failure) => {
      if (failure) s.emit('error', failure);
      else s.emit('end');
      s.emit('close');
    });
    return s;
  }

  /**
   * Opens the Session call the daemon tunnels its calls to us through. The
   * caller reads and writes its messages itself (session/tunnel.ts).
   */
  session(metadata: Readonly<Record<string, string | readonly string[]>>, onMessage: (message: Buffer) => void): ClientCall {
    return new ClientCall(this.connection, `${CONTROL}/Session`, { maxMessageBytes: MAX_MESSAGE_BYTES, metadata }, onMessage);
  }

  /** Gives the connection back; it closes once no client has used it for a few seconds. */
  close(): void {
    this.release();
  }

  private async unary<Res>(method: string, request: Buffer, decode: (b: Uint8Array) => Res, deadline?: Date, signal?: AbortSignal): Promise<Res> {
    if (signal?.aborted) throw signal.reason ?? new Error('aborted');
    const options: CallOptions = {
      maxMessageBytes: MAX_MESSAGE_BYTES,
      ...(deadline ? { deadline } : {}),
      ...(signal ? { signal } : {}),
    };
    return decode(await unaryCall(this.connection, `${CONTROL}/${method}`, request, options));
  }
}
