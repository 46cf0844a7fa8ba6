// Test fixtures for the envd gateway: throwaway certificates, a real grpc-js
// "builder" implementing parts of moby.buildkit.v1.Control (its Session as a
// raw-byte echo/download/sink, since the gateway only forwards the methods
// envd uses) plus methods envd must never reach, a raw HTTP/2 TLS backend
// that reports the exact header fields it received, private socket paths
// for the gateway, and small promise wrappers for client calls.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  codec,
  Messages,
  Services,
  type InfoResponse,
  type ListWorkersResponse,
  type SolveRequest,
  type SolveResponse,
  type StatusResponse,
} from '../../../src/protocol/index.js';
import { serviceDefinition } from '../../helpers/service-definition.js';
import { FrameDecoder, frameHeader } from '../../../src/common/grpc-frames.js';

export const MiB = 1024 * 1024;
export const identity = (b: Buffer): Buffer => b;
export const clientOptions: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': 16 * MiB,
  'grpc.max_send_message_length': 16 * MiB,
};

// ---------------------------------------------------------------- certificates

export interface Certs {
  readonly ca: Buffer;
  readonly serverCert: Buffer;
  readonly serverKey: Buffer;
  readonly clientCert: Buffer;
  readonly clientKey: Buffer;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A CA, a server cert for 127.0.0.1/localhost and a client cert, all EC P-256, valid 2 days. */
export function makeCerts(dir: string): Certs {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  fs.writeFileSync(
    path.join(dir, 'ca.cnf'),
    [
      '[req]',
      'distinguished_name=dn',
      'prompt=no',
      'x509_extensions=v3_ca',
      '[dn]',
      'CN=envd-gateway-test-ca',
      '[v3_ca]',
      'basicConstraints=critical,CA:TRUE',
      'keyUsage=critical,keyCertSign,cRLSign',
      'subjectKeyIdentifier=hash',
      '',
    ].join('\n'),
  );
  openssl(dir, ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-config', 'ca.cnf']);
  const leaf = (name: string, cn: string, ext: string[]) => {
    fs.writeFileSync(path.join(dir, `${name}.cnf`), ['[req]', 'distinguished_name=dn', 'prompt=no', '[dn]', `CN=${cn}`, ''].join('\n'));
    fs.writeFileSync(path.join(dir, `${name}.ext`), ext.join('\n') + '\n');
    openssl(dir, ['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-config', `${name}.cnf`]);
    openssl(dir, [
      'x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
      '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`,
    ]);
  };
  leaf('server', 'localhost', [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=serverAuth',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ]);
  leaf('client', 'envd-gateway-test-client', ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=clientAuth']);
  const read = (f: string) => fs.readFileSync(path.join(dir, f));
  return {
    ca: read('ca.pem'),
    serverCert: read('server.pem'),
    serverKey: read('server.key'),
    clientCert: read('client.pem'),
    clientKey: read('client.key'),
  };
}

// ---------------------------------------------------------------- grpc-js builder

/** What the test builder observed; tests assert on it. */
export class BackendRecord {
  /** Method path of every call that reached the builder, in order. */
  readonly calls: string[] = [];
  /** Request metadata of each call, by method path (last call wins). */
  readonly metadata = new Map<string, grpc.Metadata>();
  readonly deadlines = new Map<string, grpc.Deadline>();
  /** Resolvers fired when a call of that path is cancelled by the client side. */
  readonly cancelled = new Map<string, Promise<void>>();
  private readonly cancelResolvers = new Map<string, () => void>();
  /** Client cert CN seen by the server for the last call (mTLS check). */
  peers: string[] = [];
  /** Bytes the Download handler has written / Sink handler has read so far. */
  downloaded = 0;
  sunk = 0;
  /** Sink does not read until this is called. */
  releaseSink: () => void = () => undefined;

  expectCancel(p: string): Promise<void> {
    const promise = new Promise<void>((resolve) => this.cancelResolvers.set(p, resolve));
    this.cancelled.set(p, promise);
    return promise;
  }

  noteCancel(p: string): void {
    this.cancelResolvers.get(p)?.();
  }

  note(p: string, call: { metadata: grpc.Metadata; getDeadline(): grpc.Deadline; getPeer(): string }): void {
    this.calls.push(p);
    this.metadata.set(p, call.metadata);
    this.deadlines.set(p, call.getDeadline());
    this.peers.push(call.getPeer());
  }
}

const C = (m: string) => `/${Services.Control}/${m}`;

/** Trailing metadata of the NOT_FOUND error, including binary values. */
export const errorBin = Buffer.from([0, 1, 2, 0xfe, 0xff, 0x2c]);
export const statusDetailsBin = Buffer.from('0805120e6e6f2073756368206275696c64', 'hex');
export const errorDetails = 'no such build "fail-1": ü 100%\nsecond line';

function rawMethod(p: string, requestStream: boolean, responseStream: boolean): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path: p,
    requestStream,
    responseStream,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
    originalName: p.slice(p.lastIndexOf('/') + 1),
  };
}

/** Control with its Session taking raw bytes, so tests can send anything through the tunnel. */
function controlDefinition(): grpc.ServiceDefinition {
  return { ...serviceDefinition(Services.Control), Session: rawMethod(C('Session'), true, true) };
}

/**
 * Control methods a real daemon has and envd never calls. The builder
 * answers them (so a gateway that forwarded them would be caught by a
 * successful call) and records them.
 */
export const NOT_FOR_ENVD = {
  Prune: C('Prune'),
  DiskUsage: C('DiskUsage'),
  ListenBuildHistory: C('ListenBuildHistory'),
  UpdateBuildHistory: C('UpdateBuildHistory'),
} as const;

function adminDefinition(): grpc.ServiceDefinition {
  return {
    Prune: rawMethod(NOT_FOR_ENVD.Prune, false, true),
    DiskUsage: rawMethod(NOT_FOR_ENVD.DiskUsage, false, false),
    ListenBuildHistory: rawMethod(NOT_FOR_ENVD.ListenBuildHistory, false, true),
    UpdateBuildHistory: rawMethod(NOT_FOR_ENVD.UpdateBuildHistory, false, false),
  };
}

function adminImplementation(rec: BackendRecord): grpc.UntypedServiceImplementation {
  const stream = (p: string) => (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
    rec.note(p, call);
    call.write(Buffer.from('record'));
    call.end();
  };
  const unaryCall = (p: string) => (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
    rec.note(p, call);
    cb(null, Buffer.alloc(0));
  };
  return {
    Prune: stream(NOT_FOR_ENVD.Prune),
    DiskUsage: unaryCall(NOT_FOR_ENVD.DiskUsage),
    ListenBuildHistory: stream(NOT_FOR_ENVD.ListenBuildHistory),
    UpdateBuildHistory: unaryCall(NOT_FOR_ENVD.UpdateBuildHistory),
  };
}

function controlImplementation(rec: BackendRecord): grpc.UntypedServiceImplementation {
  return {
    ListWorkers(call: grpc.ServerUnaryCall<unknown, ListWorkersResponse>, cb: grpc.sendUnaryData<ListWorkersResponse>) {
      rec.note(C('ListWorkers'), call);
      const headers = new grpc.Metadata();
      headers.add('x-workers-header', 'h1');
      call.sendMetadata(headers);
      const trailer = new grpc.Metadata();
      trailer.add('x-workers-trailer', 't1');
      trailer.add('x-workers-trailer-bin', Buffer.from([9, 8, 7]));
      cb(null, { record: [{ ID: 'worker-1', Labels: { 'org.mobyproject.buildkit.worker.executor': 'oci' } }] }, trailer);
    },
    // A real daemon answers Info; envd never asks, so the gateway must not forward it.
    Info(call: grpc.ServerUnaryCall<unknown, InfoResponse>, cb: grpc.sendUnaryData<InfoResponse>) {
      rec.note(C('Info'), call);
      const headers = new grpc.Metadata();
      headers.add('x-info-header', 'h1');
      call.sendMetadata(headers);
      const trailer = new grpc.Metadata();
      trailer.add('x-info-trailer', 't1');
      trailer.add('x-info-trailer-bin', Buffer.from([9, 8, 7]));
      cb(null, { buildkitVersion: { package: 'github.com/moby/buildkit', version: 'v0.24.0', revision: 'test' } }, trailer);
    },
    Status(call: grpc.ServerWritableStream<{ Ref: string }, StatusResponse>) {
      rec.note(C('Status'), call);
      const headers = new grpc.Metadata();
      headers.add('buildkit-current-timestamp', '2026-01-02T03:04:05.123456789Z');
      call.sendMetadata(headers);
      call.on('cancelled', () => rec.noteCancel(C('Status')));
      const ref = call.request.Ref;
      if (ref === 'forever') return; // until cancelled or the deadline passes
      if (ref === 'cancel-me') {
        call.write({ vertexes: [{ digest: 'sha256:aa', name: 'one' }] });
        call.emit('error', { code: grpc.status.CANCELLED, details: 'stopped by the daemon' });
        return;
      }
      for (let i = 0; i < 3; i++) call.write({ vertexes: [{ digest: `sha256:${i}`, name: `[${i + 1}/3] RUN step` }] });
      call.end();
    },
    // Raw bytes; x-mode picks the behaviour: echo (default), hold (never
    // answers), download (pushes 512 MiB), sink (reads only once released).
    Session(call: grpc.ServerDuplexStream<Buffer, Buffer>) {
      rec.note(C('Session'), call);
      call.on('cancelled', () => rec.noteCancel(C('Session')));
      const mode = call.metadata.get('x-mode')[0];
      if (mode === 'hold') return;
      if (mode === 'download') return download(rec, call);
      if (mode === 'sink') return sink(rec, call);
      call.on('data', (m: Buffer) => {
        if (!call.write(m)) {
          call.pause();
          call.once('drain', () => call.resume());
        }
      });
      call.on('end', () => call.end());
    },
    Solve(call: grpc.ServerUnaryCall<SolveRequest, SolveResponse>, cb: grpc.sendUnaryData<SolveResponse>) {
      rec.note(C('Solve'), call);
      const ref = call.request.Ref;
      if (ref.startsWith('fail')) {
        const md = new grpc.Metadata();
        md.add('x-error-info', 'e1');
        md.add('x-error-info', 'e2');
        md.add('x-error-bin', errorBin);
        md.add('grpc-status-details-bin', statusDetailsBin);
        cb({ code: grpc.status.NOT_FOUND, details: errorDetails.replace('fail-1', ref), metadata: md });
        return;
      }
      cb(null, {
        ExporterResponse: {
          'containerimage.digest': `sha256:${'d'.repeat(64)}`,
          'containerimage.config.digest': `sha256:${'c'.repeat(64)}`,
          'image.name': `registry.test/${ref}:latest`,
        },
      });
    },
  };
}

/** Writes 64 KiB chunks (up to 512 MiB) as fast as flow control lets it, counting them. */
function download(rec: BackendRecord, call: grpc.ServerDuplexStream<Buffer, Buffer>): void {
  const chunk = Buffer.alloc(64 * 1024, 7);
  let stopped = false;
  call.on('cancelled', () => {
    stopped = true;
  });
  const pump = () => {
    while (!stopped && rec.downloaded < 512 * MiB) {
      rec.downloaded += chunk.length;
      if (!call.write(chunk)) {
        call.once('drain', pump);
        return;
      }
    }
    if (!stopped) call.end();
  };
  pump();
}

/** Reads nothing until rec.releaseSink(); then counts, and answers the byte count as 8 bytes when the client is done. */
function sink(rec: BackendRecord, call: grpc.ServerDuplexStream<Buffer, Buffer>): void {
  call.pause();
  rec.releaseSink = () => call.resume();
  call.on('data', (m: Buffer) => {
    rec.sunk += m.length;
  });
  call.on('end', () => {
    const out = Buffer.alloc(8);
    out.writeBigUInt64BE(BigInt(rec.sunk));
    call.write(out);
    call.end();
  });
}

export interface Backend {
  readonly server: grpc.Server;
  readonly record: BackendRecord;
  /** tcp port or unix socket address the server is bound to. */
  readonly target: string;
  stop(): Promise<void>;
}

/** A grpc-js builder stand-in, mTLS on tcp (client cert required) or plain on a unix socket. */
export async function startBackend(bind: { certs: Certs } | { socketPath: string }): Promise<Backend> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': 16 * MiB,
    'grpc.max_send_message_length': 16 * MiB,
  });
  const record = new BackendRecord();
  server.addService(controlDefinition(), controlImplementation(record));
  server.addService(adminDefinition(), adminImplementation(record));
  let address: string;
  let creds: grpc.ServerCredentials;
  if ('certs' in bind) {
    address = '127.0.0.1:0';
    creds = grpc.ServerCredentials.createSsl(bind.certs.ca, [{ private_key: bind.certs.serverKey, cert_chain: bind.certs.serverCert }], true);
  } else {
    address = `unix://${bind.socketPath}`;
    creds = grpc.ServerCredentials.createInsecure();
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(address, creds, (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    server,
    record,
    target: 'certs' in bind ? `tcp://127.0.0.1:${port}` : `unix://${bind.socketPath}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.forceShutdown();
        resolve();
      }),
  };
}

// ---------------------------------------------------------------- raw HTTP/2 TLS backend

export interface RawBackend {
  readonly port: number;
  /** :path of every stream that reached it, in order. */
  readonly paths: string[];
  stop(): Promise<void>;
}

/**
 * An mTLS HTTP/2 server that answers any gRPC call with one message: JSON of
 * the exact header fields it received (rawHeaders keeps repeated fields apart,
 * which a grpc-js server cannot show) and the request bytes.
 */
export async function startRawBackend(certs: Certs): Promise<RawBackend> {
  const server = http2.createSecureServer({
    key: certs.serverKey,
    cert: certs.serverCert,
    ca: certs.ca,
    requestCert: true,
    rejectUnauthorized: true,
    // Like grpc-go's 16 MiB header list limit; Node's default is 128 fields.
    maxHeaderListPairs: 100_000,
    settings: { maxHeaderListSize: 16 * MiB },
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s: http2.ServerHttp2Session) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  const paths: string[] = [];
  server.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, rawHeaders?: string[]) => {
    paths.push(String(headers[':path']));
    const decoder = new FrameDecoder(16 * MiB);
    const messages: string[] = [];
    stream.on('data', (chunk: Buffer) => {
      for (const m of decoder.push(chunk)) messages.push(m.toString('hex'));
    });
    stream.on('end', () => {
      const body = Buffer.from(JSON.stringify({ rawHeaders, messages }));
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'x-raw-header': 'r1' }, { waitForTrailers: true });
      stream.on('wantTrailers', () =>
        stream.sendTrailers({ 'grpc-status': '0', 'x-raw-trailer-bin': [Buffer.from([1, 2]).toString('base64'), Buffer.from([3]).toString('base64')] }),
      );
      stream.write(frameHeader(body.length));
      stream.end(body);
    });
    stream.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    paths,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // The gateway's channel keeps its connection open; close() would wait for it.
        for (const s of sessions) s.destroy();
      }),
  };
}

// ---------------------------------------------------------------- the gateway's socket

/** A socket path in a fresh 0700 directory under `parent`, as the action gives the gateway. */
export function privateSocketPath(parent: string, name = 'gateway.sock'): string {
  const dir = fs.mkdtempSync(path.join(parent, 'sock-'));
  fs.chmodSync(dir, 0o700);
  return path.join(dir, name);
}

/** A fresh temp dir under os.tmpdir() (short enough for socket paths). */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Opens a byte stream to a gateway address: `unix://<path>`, or `tcp://host:port`. */
export function connectTo(url: string): net.Socket {
  if (url.startsWith('unix://')) return net.connect({ path: url.slice('unix://'.length) });
  const u = new URL(url.replace(/^tcp:/, 'http:'));
  return net.connect(Number(u.port), u.hostname);
}

/** An HTTP/2 (h2c) session to a gateway address, as envd's client opens one. */
export function h2Connect(url: string): http2.ClientHttp2Session {
  return http2.connect('http://localhost', { createConnection: () => connectTo(url) });
}

/** How connecting to `url` ends: 'connected' or the error code (ENOENT, EACCES, ECONNREFUSED...). */
export function tryConnect(url: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connectTo(url);
    s.on('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
}

/** What envd dials: the gateway's socket path, as a grpc-js target. */
export function socketTarget(gateway: { readonly socketPath: string }): string {
  return `unix://${gateway.socketPath}`;
}

// ---------------------------------------------------------------- client helpers

export interface UnaryResult<T> {
  readonly response?: T;
  readonly error?: grpc.ServiceError;
  readonly headers?: grpc.Metadata;
  readonly status: grpc.StatusObject;
}

/** A unary call through a generic client, collecting headers, response/error and the final status. */
export function unary<Req, Res>(
  client: grpc.Client,
  method: string,
  requestName: string,
  responseName: string,
  request: Req,
  metadata = new grpc.Metadata(),
  options: grpc.CallOptions = {},
): Promise<UnaryResult<Res>> {
  const req = codec<Req>(requestName);
  const res = codec<Res>(responseName);
  return new Promise((resolve) => {
    let response: Res | undefined;
    let error: grpc.ServiceError | undefined;
    let headers: grpc.Metadata | undefined;
    const call = client.makeUnaryRequest<Req, Res>(
      method,
      (m) => req.encode(m),
      (b) => res.decode(b),
      request,
      metadata,
      options,
      (err, value) => {
        if (err) error = err;
        else response = value;
      },
    );
    call.on('metadata', (md) => (headers = md));
    call.on('status', (status) =>
      // The callback runs before 'status'; resolve after both.
      setImmediate(() => resolve({ status, ...(response !== undefined ? { response } : {}), ...(error ? { error } : {}), ...(headers ? { headers } : {}) })),
    );
  });
}

export const M = {
  ListWorkers: [C('ListWorkers'), 'moby.buildkit.v1.ListWorkersRequest', 'moby.buildkit.v1.ListWorkersResponse'],
  Info: [C('Info'), 'moby.buildkit.v1.InfoRequest', 'moby.buildkit.v1.InfoResponse'],
  Solve: [C('Solve'), Messages.SolveRequest, Messages.SolveResponse],
} as const;

/** Waits for a stream's final status. */
export function statusOf(call: { on(event: 'status', cb: (s: grpc.StatusObject) => void): unknown }): Promise<grpc.StatusObject> {
  return new Promise((resolve) => call.on('status', resolve));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits for `cond` to hold (checked every 10 ms); throws naming `what` after 10 s, a bound only a broken gateway reaches. */
export async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (cond()) return;
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

// ---------------------------------------------------------------- scripted HTTP/2 builder

export interface ScriptedBuilder {
  /** The endpoint address to give the gateway. */
  readonly target: string;
  stop(): Promise<void>;
}

/**
 * A bare HTTP/2 "builder" whose streams the test handles itself (to reset
 * them, drop the connection, read slowly...): h2c on a unix socket, or mTLS
 * on loopback tcp.
 */
export async function startScriptedBuilder(
  bind: { socketPath: string } | { certs: Certs },
  onStream: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void,
): Promise<ScriptedBuilder> {
  const server =
    'certs' in bind
      ? http2.createSecureServer({ key: bind.certs.serverKey, cert: bind.certs.serverCert, ca: bind.certs.ca, requestCert: true, rejectUnauthorized: true })
      : http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s: http2.ServerHttp2Session) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
    s.on('error', () => undefined);
  });
  server.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    stream.on('error', () => undefined);
    onStream(stream, headers);
  });
  let target: string;
  if ('certs' in bind) {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    target = `tcp://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  } else {
    await new Promise<void>((resolve) => server.listen(bind.socketPath, resolve));
    target = `unix://${bind.socketPath}`;
  }
  return {
    target,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sessions) s.destroy();
      }),
  };
}

// ---------------------------------------------------------------- a link that can go silent

export interface FreezableLink {
  /** Loopback port that leads to the target socket. */
  readonly port: number;
  /** Existing connections stop passing bytes either way (a builder host gone silent). */
  freeze(): void;
  stop(): Promise<void>;
}

/** A loopback tcp → unix socket relay whose existing connections can be frozen; new connections pass. */
export async function startFreezableLink(targetSocketPath: string): Promise<FreezableLink> {
  const live = new Set<[net.Socket, net.Socket]>();
  const all = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect({ path: targetSocketPath });
    const pair: [net.Socket, net.Socket] = [inbound, outbound];
    live.add(pair);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
    for (const s of pair) {
      all.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        all.delete(s);
        if (!live.has(pair)) return; // a frozen connection stays silent, not closed
        live.delete(pair);
        for (const o of pair) o.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    freeze: () => {
      for (const [a, b] of live) {
        a.unpipe(b);
        b.unpipe(a);
        a.pause();
        b.pause();
      }
      live.clear();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of all) s.destroy();
      }),
  };
}
