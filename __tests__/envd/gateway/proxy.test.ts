// The gateway as a byte-level HTTP/2 proxy: its own connection to the builder
// (TLS verification, server name, h2c over tcp, keepalive, re-connecting),
// flow control that holds envd back instead of buffering, cancellation in
// both directions, the builder's failures turned into statuses naming it,
// and the Solve capture that reads the passing bytes on the side.
import * as fs from 'node:fs';
import * as http2 from 'node:http2';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { parseEndpoint } from '../../../src/buildkit/endpoint.js';
import { startGateway, type Gateway } from '../../../src/envd/gateway/server.js';
import { FrameDecoder, frameHeader, frameMessage } from '../../../src/common/grpc-frames.js';
import { codec, Messages, Services, type ListWorkersResponse, type SolveRequest, type SolveResponse } from '../../../src/protocol/index.js';
import {
  h2Connect,
  identity,
  M,
  makeCerts,
  MiB,
  privateSocketPath,
  socketTarget,
  startBackend,
  startFreezableLink,
  startRawBackend,
  startScriptedBuilder,
  statusOf,
  tempDir,
  unary,
  type Backend,
  type Certs,
  type RawBackend,
} from './helpers.js';

const ECHO = `/${Services.Control}/Session`;
const SOLVE = `/${Services.Control}/Solve`;

let dir: string;
let certs: Certs;
/** A second, unrelated CA (and certificates), for the wrong-CA checks. */
let otherCerts: Certs;
let backend: Backend;
let unixBackend: Backend;
let rawBackend: RawBackend;
const gateways: Gateway[] = [];

interface GatewayExtras {
  readonly keepalive?: { timeMs: number; timeoutMs: number };
  readonly log?: (message: string) => void;
}

async function gatewayFor(address: string, tls?: Parameters<typeof parseEndpoint>[1], extras: GatewayExtras = {}): Promise<Gateway> {
  const gw = await startGateway(parseEndpoint(address, tls), { socketPath: privateSocketPath(dir), ...extras });
  gateways.push(gw);
  return gw;
}

beforeAll(async () => {
  dir = tempDir('gw-proxy-');
  certs = makeCerts(dir);
  const other = path.join(dir, 'other');
  fs.mkdirSync(other);
  otherCerts = makeCerts(other);
  backend = await startBackend({ certs });
  unixBackend = await startBackend({ socketPath: path.join(dir, 'buildkitd.sock') });
  rawBackend = await startRawBackend(certs);
});

afterAll(async () => {
  for (const gw of gateways) await gw.close();
  await backend?.stop();
  await unixBackend?.stop();
  await rawBackend?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

interface RawResult {
  readonly headers: http2.IncomingHttpHeaders;
  readonly trailers?: http2.IncomingHttpHeaders;
  readonly messages: Buffer[];
}

/** A gRPC call with a plain HTTP/2 client, as envd's client makes it; `chunks` go out as separate writes. */
function rawCall(gateway: Gateway, p: string, chunks: Buffer[], extra: http2.OutgoingHttpHeaders = {}): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const session = h2Connect(socketTarget(gateway));
    session.on('error', reject);
    const req = session.request({ ':method': 'POST', ':path': p, 'content-type': 'application/grpc', te: 'trailers', ...extra });
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | undefined;
    const decoder = new FrameDecoder(64 * MiB);
    const messages: Buffer[] = [];
    req.on('response', (h) => (headers = h));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (d: Buffer) => messages.push(...decoder.push(d)));
    req.on('error', reject);
    req.on('close', () => {
      session.close();
      resolve({ headers, messages, ...(trailers ? { trailers } : {}) });
    });
    (async () => {
      for (const c of chunks) {
        req.write(c);
        await new Promise((r) => setImmediate(r)); // separate DATA frames
      }
      req.end();
    })().catch(reject);
  });
}

const statusIn = (r: RawResult) => ({
  code: Number((r.trailers ?? r.headers)['grpc-status']),
  message: decodeURIComponent(String((r.trailers ?? r.headers)['grpc-message'] ?? '')),
});

describe('the connection to the builder', () => {
  it('verifies the builder against the given CA and presents the client certificate', async () => {
    const gw = await gatewayFor(backend.target, { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey });
    const r = await rawCall(gw, M.ListWorkers[0], [frameMessage(Buffer.alloc(0))]);
    expect(statusIn(r).code).toBe(grpc.status.OK);
    expect(r.messages.length).toBe(1);
  });

  it('refuses a builder whose certificate another CA signed, naming the builder', async () => {
    const before = backend.record.calls.length;
    const gw = await gatewayFor(backend.target, { ca: otherCerts.ca, cert: certs.clientCert, key: certs.clientKey });
    const r = await rawCall(gw, M.ListWorkers[0], [frameMessage(Buffer.alloc(0))]);
    expect(statusIn(r).code).toBe(grpc.status.UNAVAILABLE);
    expect(statusIn(r).message).toContain(`envd gateway: builder ${backend.target}:`);
    expect(statusIn(r).message).toMatch(/certificate/i);
    expect(backend.record.calls.length).toBe(before);
  });

  it('is refused by an mTLS builder when its client certificate is not one the builder trusts', async () => {
    const before = backend.record.calls.length;
    const gw = await gatewayFor(backend.target, { ca: certs.ca, cert: otherCerts.clientCert, key: otherCerts.clientKey });
    const r = await rawCall(gw, M.ListWorkers[0], [frameMessage(Buffer.alloc(0))]);
    expect(statusIn(r)).toEqual({ code: grpc.status.UNAVAILABLE, message: `envd gateway: builder ${backend.target}: the builder closed the connection before HTTP/2 started (did it refuse our TLS client certificate?)` });
    expect(backend.record.calls.length).toBe(before);
  });

  it('checks the certificate against tls server name and sends it as :authority', async () => {
    const tls = { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey };
    const address = `tcp://127.0.0.1:${rawBackend.port}`;
    const gw = await gatewayFor(address, { ...tls, serverName: 'localhost' });
    const r = await rawCall(gw, '/moby.buildkit.v1.frontend.LLBBridge/Ping', [frameMessage(Buffer.from('hi'))]);
    expect(statusIn(r).code).toBe(grpc.status.OK);
    const seen = JSON.parse(r.messages[0]!.toString()) as { rawHeaders: string[]; messages: string[] };
    const field = (name: string) => seen.rawHeaders.filter((_, i) => i % 2 === 1 && seen.rawHeaders[i - 1] === name);
    expect(field(':authority')).toEqual(['localhost']);
    expect(field(':scheme')).toEqual(['https']);
    expect(seen.messages).toEqual([Buffer.from('hi').toString('hex')]);

    // A name the certificate does not carry is refused.
    const paths = rawBackend.paths.length;
    const wrong = await gatewayFor(address, { ...tls, serverName: 'builder.invalid' });
    const refused = await rawCall(wrong, '/moby.buildkit.v1.frontend.LLBBridge/Ping', [frameMessage(Buffer.from('hi'))]);
    expect(statusIn(refused)).toEqual({ code: grpc.status.UNAVAILABLE, message: expect.stringContaining(`builder ${address}:`) });
    expect(rawBackend.paths.length).toBe(paths);
  });

  it('speaks h2c to a plain tcp builder, pings it during calls, and gives up on one that goes silent', async () => {
    const link = await startFreezableLink(path.join(dir, 'buildkitd.sock'));
    try {
      const address = `tcp://127.0.0.1:${link.port}`;
      // Pings every few ms: the echoes below span many of them.
      const gw = await gatewayFor(address, undefined, { keepalive: { timeMs: 5, timeoutMs: 1500 } });
      const client = new grpc.Client(socketTarget(gw), grpc.credentials.createInsecure());
      try {
        const call = client.makeBidiStreamRequest<Buffer, Buffer>(ECHO, identity, identity, new grpc.Metadata(), {});
        call.on('error', () => undefined);
        const done = statusOf(call);
        for (let i = 0; i < 40; i++) {
          const echoed = new Promise<Buffer>((resolve) => call.once('data', resolve));
          call.write(Buffer.from([i]));
          expect([...(await echoed)]).toEqual([i]);
        }
        // The builder's host goes silent: no answer to the next ping.
        link.freeze();
        const status = await done;
        expect(status.code).toBe(grpc.status.UNAVAILABLE);
        expect(status.details).toBe(`envd gateway: builder ${address}: no answer to a keepalive ping within 1500 ms`);
        // The next call opens a new connection.
        const r = await unary<Record<string, never>, ListWorkersResponse>(client, ...M.ListWorkers, {});
        expect(r.response?.record?.[0]?.ID).toBe('worker-1');
      } finally {
        client.close();
      }
    } finally {
      await link.stop();
    }
  }, 20_000);
});

describe('flow control', () => {
  it('holds envd back while the builder reads slowly instead of buffering what envd sends', async () => {
    // The builder reads one DATA chunk per event-loop turn; envd writes as
    // fast as the gateway takes it. What the gateway holds at any moment is
    // what envd has handed over minus what the builder has read: it must stay
    // within the HTTP/2 windows (4 MiB towards envd plus small buffers).
    let read = 0;
    const builder = await startScriptedBuilder({ socketPath: path.join(dir, 'slow.sock') }, (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.on('data', (chunk: Buffer) => {
        read += chunk.length;
        stream.pause();
        setImmediate(() => stream.resume());
      });
      stream.on('end', () => {
        const count = Buffer.alloc(8);
        count.writeBigUInt64BE(BigInt(read));
        stream.end(frameMessage(count));
      });
    });
    try {
      const gw = await gatewayFor(builder.target);
      const session = h2Connect(socketTarget(gw));
      const req = session.request({ ':method': 'POST', ':path': ECHO, 'content-type': 'application/grpc', te: 'trailers' });
      const trailers = new Promise<http2.IncomingHttpHeaders>((resolve) => req.on('trailers', resolve));
      const answer: Buffer[] = [];
      req.on('data', (d: Buffer) => answer.push(d));
      const total = 64 * MiB;
      const chunk = frameMessage(Buffer.alloc(64 * 1024 - 5, 1));
      let handedOver = 0;
      let mostHeld = 0;
      for (let sent = 0; sent < total; sent += chunk.length) {
        const more = req.write(chunk, () => {
          handedOver += chunk.length;
          mostHeld = Math.max(mostHeld, handedOver - read);
        });
        if (!more) await new Promise((r) => req.once('drain', r));
      }
      req.end();
      expect(Number((await trailers)['grpc-status'])).toBe(0);
      session.close();
      expect(handedOver).toBe(total);
      expect(Number(Buffer.concat(answer).subarray(5).readBigUInt64BE())).toBe(total);
      expect(mostHeld).toBeLessThan(8 * MiB);
    } finally {
      await builder.stop();
    }
  });
});

describe('cancellation and failures', () => {
  /**
   * A builder that answers the first message and then holds the call open
   * until it is reset; `resets` yields the RST_STREAM code of each call.
   */
  async function holdingBuilder(name: string) {
    const resets: number[] = [];
    const waiters: Array<(code: number) => void> = [];
    const builder = await startScriptedBuilder({ socketPath: path.join(dir, name) }, (stream) => {
      stream.once('data', () => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
        stream.write(frameMessage(Buffer.from('started')));
      });
      stream.resume();
      stream.on('close', () => {
        const code = stream.rstCode ?? -1;
        const waiter = waiters.shift();
        if (waiter) waiter(code);
        else resets.push(code);
      });
    });
    const nextClose = () => (resets.length ? Promise.resolve(resets.shift()!) : new Promise<number>((resolve) => waiters.push(resolve)));
    return { builder, nextClose };
  }

  /** Opens a call with a raw client and waits until the builder has answered once. */
  async function openCall(gw: Gateway) {
    const session = h2Connect(socketTarget(gw));
    session.on('error', () => undefined);
    const req = session.request({ ':method': 'POST', ':path': ECHO, 'content-type': 'application/grpc', te: 'trailers' });
    req.on('error', () => undefined);
    const answered = new Promise<void>((resolve) => req.once('data', () => resolve()));
    req.write(frameMessage(Buffer.from('ping')));
    await answered;
    return { session, req };
  }

  it('cancels the builder stream (RST_STREAM CANCEL) when envd resets its stream or disconnects', async () => {
    const { builder, nextClose } = await holdingBuilder('hold.sock');
    try {
      const gw = await gatewayFor(builder.target);
      // Node's close(): END_STREAM, then RST_STREAM(CANCEL).
      const a = await openCall(gw);
      a.req.close(http2.constants.NGHTTP2_CANCEL);
      expect(await nextClose()).toBe(http2.constants.NGHTTP2_CANCEL);
      a.session.close();
      // destroy(): a bare RST_STREAM.
      const b = await openCall(gw);
      b.req.destroy();
      expect(await nextClose()).toBe(http2.constants.NGHTTP2_CANCEL);
      b.session.close();
      // The whole connection dropped.
      const c = await openCall(gw);
      c.session.destroy();
      expect(await nextClose()).toBe(http2.constants.NGHTTP2_CANCEL);
    } finally {
      await builder.stop();
    }
  });

  it('ends the call UNAVAILABLE, naming the builder, when the builder resets its stream', async () => {
    const builder = await startScriptedBuilder({ socketPath: path.join(dir, 'reset.sock') }, (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      // destroy() with an error sends RST_STREAM(INTERNAL_ERROR).
      stream.once('data', () => stream.destroy(new Error('builder gave up')));
    });
    try {
      const gw = await gatewayFor(builder.target);
      const r = await rawCall(gw, ECHO, [frameMessage(Buffer.from('x'))]);
      expect(statusIn(r)).toEqual({ code: grpc.status.UNAVAILABLE, message: `envd gateway: builder ${builder.target}: the call was reset (HTTP/2 error 2)` });
      expect(r.headers[':status']).toBe(200);
      expect(r.trailers).toBeDefined(); // headers had gone out already: the status comes as trailers
    } finally {
      await builder.stop();
    }
  });

  it('ends a call the builder finishes without a gRPC status with INTERNAL, naming the builder', async () => {
    const builder = await startScriptedBuilder({ socketPath: path.join(dir, 'nostatus.sock') }, (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      stream.once('data', () => stream.end(frameMessage(Buffer.from('half'))));
    });
    try {
      const gw = await gatewayFor(builder.target);
      const r = await rawCall(gw, ECHO, [frameMessage(Buffer.from('x'))]);
      expect(r.messages.map(String)).toEqual(['half']);
      expect(statusIn(r)).toEqual({ code: grpc.status.INTERNAL, message: `envd gateway: builder ${builder.target}: the call ended without a gRPC status` });
    } finally {
      await builder.stop();
    }
  });

  it('ends the call UNAVAILABLE, naming the builder, when the builder connection drops mid-call', async () => {
    const builder = await startScriptedBuilder({ socketPath: path.join(dir, 'drop.sock') }, (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      stream.once('data', () => stream.session?.destroy());
    });
    try {
      const gw = await gatewayFor(builder.target);
      const r = await rawCall(gw, ECHO, [frameMessage(Buffer.from('x'))]);
      expect(statusIn(r)).toEqual({ code: grpc.status.UNAVAILABLE, message: expect.stringContaining(`envd gateway: builder ${builder.target}:`) });
    } finally {
      await builder.stop();
    }
  });

  it('passes a trailers-only answer on as a trailers-only response', async () => {
    const builder = await startScriptedBuilder({ socketPath: path.join(dir, 'tonly.sock') }, (stream) => {
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5', 'grpc-message': 'gone%20100%25', 'x-why-bin': Buffer.from([1, 2]).toString('base64') },
        { endStream: true },
      );
    });
    try {
      const gw = await gatewayFor(builder.target);
      const r = await rawCall(gw, ECHO, [frameMessage(Buffer.from('x'))]);
      expect(r.trailers).toBeUndefined();
      expect(r.headers['grpc-status']).toBe('5');
      expect(r.headers['grpc-message']).toBe('gone%20100%25');
      expect(r.headers['x-why-bin']).toBe(Buffer.from([1, 2]).toString('base64'));
      expect(r.messages).toEqual([]);
    } finally {
      await builder.stop();
    }
  });
});

describe('Solve capture', () => {
  const solveRequest = codec<SolveRequest>(Messages.SolveRequest);
  const solveResponse = codec<SolveResponse>(Messages.SolveResponse);

  it('reads the request and response from the passing bytes, however envd splits them', async () => {
    const gw = await gatewayFor(unixBackend.target);
    const body = frameMessage(
      solveRequest.encode({
        Ref: 'split-build',
        Session: 'sess-split',
        Frontend: '',
        Exporters: [{ Type: 'image', Attrs: { name: 'registry.test/split:latest', push: 'true' } }],
      } as SolveRequest),
    );
    // The prefix itself split, then the body in odd pieces.
    const chunks = [body.subarray(0, 2), body.subarray(2, 5), body.subarray(5, 9), body.subarray(9, 30), body.subarray(30)];
    const r = await rawCall(gw, SOLVE, chunks);
    expect(statusIn(r).code).toBe(grpc.status.OK);
    // envd gets the builder's bytes unchanged.
    expect(solveResponse.decode(r.messages[0]!).ExporterResponse?.['image.name']).toBe('registry.test/split-build:latest');
    expect(gw.solves()).toEqual([
      {
        ref: 'split-build',
        session: 'sess-split',
        frontend: '',
        exporters: [{ type: 'image', attrs: { name: 'registry.test/split:latest', push: 'true' } }],
        exporterResponse: {
          'containerimage.digest': `sha256:${'d'.repeat(64)}`,
          'containerimage.config.digest': `sha256:${'c'.repeat(64)}`,
          'image.name': 'registry.test/split-build:latest',
        },
        status: { code: 0, details: 'OK' },
      },
    ]);
  });

  it('records a Solve that envd cancelled', async () => {
    const builder = await startScriptedBuilder({ socketPath: path.join(dir, 'solve-hold.sock') }, (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      stream.write(frameHeader(0));
    });
    try {
      let recorded!: () => void;
      const logged = new Promise<void>((resolve) => (recorded = resolve));
      const gw = await gatewayFor(builder.target, undefined, { log: (m) => m.startsWith('envd gateway: Solve cancelled-build ') && recorded() });
      const session = h2Connect(socketTarget(gw));
      const req = session.request({ ':method': 'POST', ':path': SOLVE, 'content-type': 'application/grpc', te: 'trailers' });
      req.on('error', () => undefined);
      const started = new Promise<void>((resolve) => req.once('data', () => resolve()));
      req.write(frameMessage(solveRequest.encode({ Ref: 'cancelled-build' } as SolveRequest)));
      await started;
      req.close(http2.constants.NGHTTP2_CANCEL);
      await logged;
      session.close();
      expect(gw.solves()[0]).toMatchObject({ ref: 'cancelled-build', exporterResponse: {}, status: { code: grpc.status.CANCELLED } });
    } finally {
      await builder.stop();
    }
  });
});
