// Wire-level checks: a raw HTTP/2 client in front of the gateway (framing,
// refusals) and a raw HTTP/2 mTLS backend behind it that reports the exact
// header fields it received (repeated values, hop headers).
import * as fs from 'node:fs';
import * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { parseEndpoint } from '../../../src/buildkit/endpoint.js';
import { startGateway, type Gateway } from '../../../src/envd/gateway/server.js';
import { FrameDecoder, frameHeader } from '../../../src/common/grpc-frames.js';
import { Services } from '../../../src/protocol/index.js';
import {
  socketTarget,
  h2Connect,
  identity,
  makeCerts,
  MiB,
  privateSocketPath,
  startBackend,
  startRawBackend,
  statusOf,
  tempDir,
  type Backend,
  type Certs,
  type RawBackend,
} from './helpers.js';

/** Raw-byte echo on the fake builder (envd's session tunnel, so the gateway forwards it). */
const ECHO = `/${Services.Control}/Session`;

let dir: string;
let certs: Certs;
let rawBackend: RawBackend;
let grpcBackend: Backend;
let gwRaw: Gateway;
let gwGrpc: Gateway;

beforeAll(async () => {
  dir = tempDir('gw-raw-');
  certs = makeCerts(dir);
  rawBackend = await startRawBackend(certs);
  grpcBackend = await startBackend({ certs });
  const tls = { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey };
  gwRaw = await startGateway(parseEndpoint(`tcp://127.0.0.1:${rawBackend.port}`, tls), { socketPath: privateSocketPath(dir) });
  gwGrpc = await startGateway(parseEndpoint(grpcBackend.target, tls), { socketPath: privateSocketPath(dir) });
});

afterAll(async () => {
  await gwRaw?.close();
  await gwGrpc?.close();
  await rawBackend?.stop();
  await grpcBackend?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

interface RawResult {
  readonly headers: http2.IncomingHttpHeaders;
  readonly trailers?: http2.IncomingHttpHeaders;
  readonly messages: Buffer[];
}

/** One request with a plain node:http2 client; `chunks` are written as separate writes. */
function rawCall(gateway: Gateway, headers: http2.OutgoingHttpHeaders, chunks: Buffer[], end = true): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const session = h2Connect(socketTarget(gateway));
    session.on('error', reject);
    const req = session.request({ ':method': 'POST', 'content-type': 'application/grpc', te: 'trailers', ...headers });
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | undefined;
    const decoder = new FrameDecoder(64 * MiB);
    const messages: Buffer[] = [];
    req.on('response', (h) => (responseHeaders = h));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (d: Buffer) => messages.push(...decoder.push(d)));
    // Like gRPC clients, stop the request side once the response is complete,
    // even if we had not finished sending.
    req.on('end', () => req.close(http2.constants.NGHTTP2_NO_ERROR));
    req.on('error', reject);
    req.on('close', () => {
      session.close();
      resolve({ headers: responseHeaders, messages, ...(trailers ? { trailers } : {}) });
    });
    (async () => {
      for (const c of chunks) {
        req.write(c);
        await new Promise((r) => setImmediate(r)); // separate DATA frames
      }
      if (end) req.end();
    })().catch(reject);
  });
}

const frame = (m: Buffer) => Buffer.concat([frameHeader(m.length), m]);
/** The status of a response, trailers-only or not. */
const statusIn = (r: RawResult) => ({
  code: Number((r.trailers ?? r.headers)['grpc-status']),
  message: decodeURIComponent(String((r.trailers ?? r.headers)['grpc-message'] ?? '')),
});

describe('what the builder receives', () => {
  it('gets repeated header fields separately, each hop header once, and the request bytes', async () => {
    const client = new grpc.Client(socketTarget(gwRaw), grpc.credentials.createInsecure());
    try {
      const md = new grpc.Metadata();
      md.add('x-repeat', 'a');
      md.add('x-repeat', 'b, c');
      for (let i = 0; i < 300; i++) md.add('exclude-patterns', `dir${i}/**`);
      md.add('x-data-bin', Buffer.from([1, 2, 3]));
      md.add('x-data-bin', Buffer.from([0xff]));
      const request = Buffer.from('0a0568656c6c6f', 'hex');
      let headers: grpc.Metadata | undefined;
      const result = await new Promise<{ err: grpc.ServiceError | null; value?: Buffer; status: grpc.StatusObject }>((resolve) => {
        let err: grpc.ServiceError | null = null;
        let value: Buffer | undefined;
        const call = client.makeUnaryRequest<Buffer, Buffer>(
          '/moby.buildkit.v1.frontend.LLBBridge/Solve',
          identity,
          identity,
          request,
          md,
          { deadline: Date.now() + 30_000 },
          (e, v) => {
            err = e;
            value = v;
          },
        );
        call.on('metadata', (m) => (headers = m));
        call.on('status', (status) => setImmediate(() => resolve({ err, status, ...(value ? { value } : {}) })));
      });
      expect(result.err).toBeNull();
      const seen = JSON.parse(result.value!.toString()) as { rawHeaders: string[]; messages: string[] };
      const fields = (name: string) => seen.rawHeaders.filter((_, i) => i % 2 === 1 && seen.rawHeaders[i - 1] === name);
      expect(fields('x-repeat')).toEqual(['a', 'b, c']);
      expect(fields('exclude-patterns')).toEqual(Array.from({ length: 300 }, (_, i) => `dir${i}/**`));
      expect(fields('x-data-bin').flatMap((v) => v.split(',')).map((v) => Buffer.from(v, 'base64').toString('hex'))).toEqual(['010203', 'ff']);
      expect(fields(':path')).toEqual(['/moby.buildkit.v1.frontend.LLBBridge/Solve']);
      for (const hop of ['te', 'content-type', 'user-agent', 'grpc-timeout']) expect(fields(hop).length).toBe(1);
      expect(Number(fields('grpc-timeout')[0]!.replace(/\D$/, ''))).toBeGreaterThan(0);
      expect(seen.messages).toEqual([request.toString('hex')]);
      // And back: a response header and binary trailers from the builder.
      expect(headers?.get('x-raw-header')).toEqual(['r1']);
      expect(result.status.metadata.get('x-raw-trailer-bin')).toEqual([Buffer.from([1, 2]), Buffer.from([3])]);
    } finally {
      client.close();
    }
  });
});

describe('what envd can send', () => {
  it('reassembles messages split across and packed into DATA frames', async () => {
    const messages = [Buffer.from('one'), Buffer.alloc(0), Buffer.alloc(100_000, 0xab), Buffer.from([0, 0, 0, 0, 0])];
    const bytes = Buffer.concat(messages.map(frame));
    // 1 byte, then the rest of the first prefix, then odd sizes, then everything else in one go.
    const cuts = [1, 5, 9, 20, 4000, 70_001];
    const chunks: Buffer[] = [];
    let at = 0;
    for (const c of cuts) {
      chunks.push(bytes.subarray(at, c));
      at = c;
    }
    chunks.push(bytes.subarray(at));
    const r = await rawCall(gwGrpc, { ':path': ECHO }, chunks);
    expect(r.headers[':status']).toBe(200);
    expect(r.headers['content-type']).toBe('application/grpc');
    expect(statusIn(r).code).toBe(0);
    expect(r.trailers).toBeDefined();
    expect(r.messages.length).toBe(messages.length);
    r.messages.forEach((m, i) => expect(m.equals(messages[i]!)).toBe(true));
  });

  it('refuses a compressed message with UNIMPLEMENTED and cancels the upstream call', async () => {
    const cancelled = grpcBackend.record.expectCancel(ECHO);
    const session = h2Connect(socketTarget(gwGrpc));
    try {
      const req = session.request({ ':method': 'POST', ':path': ECHO, 'content-type': 'application/grpc', te: 'trailers' });
      const trailers = new Promise<http2.IncomingHttpHeaders>((resolve) => req.on('trailers', resolve));
      req.on('end', () => req.close(http2.constants.NGHTTP2_NO_ERROR));
      // First a normal message, echoed once the builder has the call...
      const echoed = new Promise<void>((resolve) => req.once('data', () => resolve()));
      req.write(frame(Buffer.from('ok')));
      await echoed;
      // ...then a compressed one the gateway cannot forward.
      req.write(Buffer.concat([Buffer.from([1, 0, 0, 0, 3]), Buffer.from('zip')]));
      const t = await trailers;
      expect(Number(t['grpc-status'])).toBe(grpc.status.UNIMPLEMENTED);
      expect(decodeURIComponent(String(t['grpc-message']))).toMatch(/compressed/);
      await cancelled;
    } finally {
      session.close();
    }
  });

  it('refuses a grpc-encoding it cannot pass on, naming what it accepts', async () => {
    const r = await rawCall(gwGrpc, { ':path': ECHO, 'grpc-encoding': 'gzip' }, [frame(Buffer.from('x'))]);
    expect(statusIn(r).code).toBe(grpc.status.UNIMPLEMENTED);
    expect(r.headers['grpc-accept-encoding']).toBe('identity');
  });

  it('fails a request that ends inside a message', async () => {
    const r = await rawCall(gwGrpc, { ':path': ECHO }, [frame(Buffer.from('abcdef')).subarray(0, 8)]);
    expect(statusIn(r)).toEqual({ code: grpc.status.INTERNAL, message: expect.stringMatching(/middle of a gRPC message/) });
  });

  it('answers non-gRPC requests with HTTP errors', async () => {
    const get = await rawCall(gwGrpc, { ':path': '/x', ':method': 'GET' }, []);
    expect(get.headers[':status']).toBe(405);
    const text = await rawCall(gwGrpc, { ':path': ECHO, 'content-type': 'text/plain' }, [Buffer.from('hi')]);
    expect(text.headers[':status']).toBe(415);
  });

  it('rejects a malformed grpc-timeout', async () => {
    const r = await rawCall(gwGrpc, { ':path': ECHO, 'grpc-timeout': 'soon' }, [frame(Buffer.from('x'))]);
    expect(statusIn(r)).toEqual({ code: grpc.status.INTERNAL, message: expect.stringMatching(/grpc-timeout/) });
  });

  it('still serves grpc-js clients afterwards', async () => {
    const client = new grpc.Client(socketTarget(gwGrpc), grpc.credentials.createInsecure());
    try {
      const call = client.makeBidiStreamRequest<Buffer, Buffer>(ECHO, identity, identity, new grpc.Metadata(), {});
      const got: Buffer[] = [];
      call.on('data', (m: Buffer) => got.push(m));
      const done = statusOf(call);
      call.write(Buffer.from('still'));
      call.end();
      expect((await done).code).toBe(0);
      expect(got).toEqual([Buffer.from('still')]);
    } finally {
      client.close();
    }
  });
});
