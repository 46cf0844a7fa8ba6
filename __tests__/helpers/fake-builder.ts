// A stand-in BuildKit daemon for tests of what happens around a build rather
// than the build itself: a real grpc-js server with the Control service that
// answers the probe (Info, ListWorkers), takes Solve, Status and Session calls
// and holds them open, reporting each as an event. Put a FreezableProxy in
// front of it to make it go silent (as a SIGSTOPped daemon) or drop the
// connection (as a killed one).
import * as grpc from '@grpc/grpc-js';
import { EventEmitter, once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Services, type InfoResponse, type ListWorkersResponse, type SolveRequest, type SolveResponse } from '../../src/protocol/index.js';
import { serviceDefinition } from './service-definition.js';

export interface FakeBuilder {
  readonly address: string;
  /** Emits 'solve' (SolveRequest), 'status', 'session' and 'probe' as calls arrive. */
  readonly events: EventEmitter;
  close(): Promise<void>;
}

export interface FakeBuilderOptions {
  readonly host?: string;
  /** Answers Solve with this response (and ends the Status streams) instead of holding it. */
  readonly solveResponse?: SolveResponse;
}

export async function startFakeBuilder(options: FakeBuilderOptions = {}): Promise<FakeBuilder> {
  const events = new EventEmitter();
  const server = new grpc.Server();
  const held: { cancel?: () => void; end?: () => void }[] = [];
  server.addService(serviceDefinition(Services.Control), {
    Info: (_call: grpc.ServerUnaryCall<unknown, InfoResponse>, cb: grpc.sendUnaryData<InfoResponse>) => {
      events.emit('probe');
      cb(null, { buildkitVersion: { package: 'github.com/moby/buildkit', version: 'v0.0.0-fake', revision: 'fake' } });
    },
    ListWorkers: (_call: grpc.ServerUnaryCall<unknown, ListWorkersResponse>, cb: grpc.sendUnaryData<ListWorkersResponse>) => {
      cb(null, { record: [{ ID: 'fake', platforms: [{ OS: 'linux', Architecture: 'amd64' }] }] });
    },
    // Held open unless told how to answer: the build never finishes by itself.
    Solve: (call: grpc.ServerUnaryCall<SolveRequest, unknown>, cb: grpc.sendUnaryData<SolveResponse>) => {
      events.emit('solve', call.request);
      if (options.solveResponse) {
        for (const h of held.splice(0)) h.end?.();
        cb(null, options.solveResponse);
      }
    },
    Status: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      held.push({ end: () => call.end() });
      events.emit('status');
    },
    Session: (call: grpc.ServerDuplexStream<unknown, unknown>) => {
      call.on('data', () => undefined);
      call.on('error', () => undefined);
      held.push({ end: () => call.end() });
      events.emit('session');
    },
  });
  const host = options.host ?? '127.0.0.1';
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:0`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    address: `tcp://${host}:${port}`,
    events,
    close: async () => {
      for (const h of held) h.end?.();
      server.forceShutdown();
    },
  };
}

/** Resolves with the first emission of `event`. */
export async function next<T = unknown>(emitter: EventEmitter, event: string): Promise<T> {
  const [value] = (await once(emitter, event)) as [T];
  return value;
}

/**
 * A TCP proxy on loopback in front of `target` (host:port). `freeze()` stops
 * reading both sides, so the client's writes, HTTP/2 pings included, get no
 * answer while its connection stays open, as with a stopped process;
 * `drop()` destroys every connection, as when the process dies.
 */
export class FreezableProxy {
  private readonly server: Server;
  private readonly pairs: [Socket, Socket][] = [];
  readonly connections = new EventEmitter();

  private constructor(target: { host: string; port: number }) {
    this.server = createServer((client) => {
      const upstream = connect(target.port, target.host);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      this.pairs.push([client, upstream]);
      this.connections.emit('connection');
    });
  }

  static async start(targetAddress: string): Promise<FreezableProxy & { address: string }> {
    const url = new URL(targetAddress.replace(/^tcp:/, 'http:'));
    const proxy = new FreezableProxy({ host: url.hostname, port: Number(url.port) });
    await new Promise<void>((r) => proxy.server.listen(0, '127.0.0.1', r));
    const { port } = proxy.server.address() as { port: number };
    return Object.assign(proxy, { address: `tcp://127.0.0.1:${port}` });
  }

  freeze(): void {
    for (const [a, b] of this.pairs) {
      a.unpipe(b);
      b.unpipe(a);
      a.pause();
      b.pause();
    }
  }

  drop(): void {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
  }

  async close(): Promise<void> {
    this.drop();
    await new Promise((r) => this.server.close(r));
  }
}
