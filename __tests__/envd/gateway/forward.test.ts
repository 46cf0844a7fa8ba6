// The gateway in front of a real grpc-js builder behind mTLS, driven by a real
// grpc-js client over h2c on the gateway's unix socket, as envd would drive it.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { parseEndpoint } from '../../../src/buildkit/endpoint.js';
import { startGateway, type Gateway } from '../../../src/envd/gateway/server.js';
import { codec, Messages, Services, type BytesMessage, type ListWorkersResponse, type SolveResponse, type StatusResponse } from '../../../src/protocol/index.js';
import {
  clientOptions,
  errorBin,
  errorDetails,
  socketTarget,
  identity,
  M,
  makeCerts,
  MiB,
  privateSocketPath,
  sleep,
  until,
  startBackend,
  statusDetailsBin,
  statusOf,
  tempDir,
  tryConnect,
  unary,
  type Backend,
  type Certs,
} from './helpers.js';

const bytesMessage = codec<BytesMessage>(Messages.BytesMessage);
const statusResponse = codec<StatusResponse>(Messages.StatusResponse);
const statusRequest = codec<{ Ref: string }>('moby.buildkit.v1.StatusRequest');
const C = (m: string) => `/${Services.Control}/${m}`;

let dir: string;
let certs: Certs;
let backend: Backend;
let gateway: Gateway;
let client: grpc.Client;
const logs: string[] = [];

beforeAll(async () => {
  dir = tempDir('gw-forward-');
  certs = makeCerts(dir);
  backend = await startBackend({ certs });
  const endpoint = parseEndpoint(backend.target, { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey });
  gateway = await startGateway(endpoint, { socketPath: privateSocketPath(dir), log: (m) => logs.push(m) });
  client = new grpc.Client(socketTarget(gateway), grpc.credentials.createInsecure(), clientOptions);
});

afterAll(async () => {
  client?.close();
  await gateway?.close();
  await backend?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('envd gateway over mTLS', () => {
  it('listens on a 0600 unix socket in its private directory', () => {
    expect(gateway.url).toBe(`unix://${gateway.socketPath}`);
    const st = fs.statSync(gateway.socketPath);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
  });

  it('forwards a unary call with request metadata, response headers and trailers', async () => {
    const md = new grpc.Metadata();
    md.add('x-docker-expose-session-grpc-method', '/moby.filesync.v1.FileSync/DiffCopy');
    md.add('x-docker-expose-session-grpc-method', '/grpc.health.v1.Health/Check');
    md.add('x-token-bin', Buffer.from([0, 0xff, 0x2c, 0x10]));
    md.add('x-token-bin', Buffer.from('second'));
    md.add('buildkit-controlapi-buildid', 'ref123');
    const r = await unary<Record<string, never>, ListWorkersResponse>(client, ...M.ListWorkers, {}, md);
    expect(r.error).toBeUndefined();
    expect(r.response?.record).toMatchObject([{ ID: 'worker-1', Labels: { 'org.mobyproject.buildkit.worker.executor': 'oci' } }]);
    expect(r.headers?.get('x-workers-header')).toEqual(['h1']);
    expect(r.status.metadata.get('x-workers-trailer')).toEqual(['t1']);
    expect(r.status.metadata.get('x-workers-trailer-bin')).toEqual([Buffer.from([9, 8, 7])]);

    const seen = backend.record.metadata.get(C('ListWorkers'))!;
    // A grpc-js server joins repeated text fields with ", " (Node does); the
    // raw backend test shows they travel as separate fields.
    expect(seen.get('x-docker-expose-session-grpc-method').join(', ')).toBe('/moby.filesync.v1.FileSync/DiffCopy, /grpc.health.v1.Health/Check');
    expect(seen.get('x-token-bin')).toEqual([Buffer.from([0, 0xff, 0x2c, 0x10]), Buffer.from('second')]);
    expect(seen.get('buildkit-controlapi-buildid')).toEqual(['ref123']);
    // Hop headers are the gateway's own, not copies of envd's.
    expect(seen.get('user-agent')).toEqual(['envd-remote-build-gateway']);
    expect(seen.get('grpc-timeout')).toEqual([]);
    expect(backend.record.deadlines.get(C('ListWorkers'))).toBe(Infinity);
  });

  it('forwards a server stream with its response header', async () => {
    const call = client.makeServerStreamRequest<{ Ref: string }, StatusResponse>(
      C('Status'),
      (m) => statusRequest.encode(m),
      (b) => statusResponse.decode(b),
      { Ref: 'build-1' },
      new grpc.Metadata(),
      {},
    );
    const headers = new Promise<grpc.Metadata>((resolve) => call.on('metadata', resolve));
    const got: StatusResponse[] = [];
    call.on('data', (m: StatusResponse) => got.push(m));
    const status = await statusOf(call);
    expect(status.code).toBe(grpc.status.OK);
    expect((await headers).get('buildkit-current-timestamp')).toEqual(['2026-01-02T03:04:05.123456789Z']);
    expect(got.map((m) => m.vertexes?.[0]?.name)).toEqual(['[1/3] RUN step', '[2/3] RUN step', '[3/3] RUN step']);
  });

  it('echoes a multi-MB message and many small ones byte for byte on the Session bidi stream', async () => {
    const md = new grpc.Metadata();
    md.add('x-docker-expose-session-uuid', 'sess1');
    const call = client.makeBidiStreamRequest<BytesMessage, BytesMessage>(
      C('Session'),
      (m) => bytesMessage.encode(m),
      (b) => bytesMessage.decode(b),
      md,
      {},
    );
    const sent = [randomBytes(6 * MiB), ...Array.from({ length: 2000 }, (_, i) => randomBytes(i % 97)), randomBytes(3 * MiB + 7)];
    const received: Buffer[] = [];
    call.on('data', (m: BytesMessage) => received.push(m.data ?? Buffer.alloc(0)));
    const done = statusOf(call);
    for (const data of sent) {
      if (!call.write({ data })) await new Promise((r) => call.once('drain', r));
    }
    call.end();
    expect((await done).code).toBe(grpc.status.OK);
    expect(received.length).toBe(sent.length);
    for (let i = 0; i < sent.length; i++) {
      if (!received[i]!.equals(sent[i]!)) throw new Error(`message ${i} differs`);
    }
    expect(backend.record.metadata.get(C('Session'))!.get('x-docker-expose-session-uuid')).toEqual(['sess1']);
  });

  it('forwards raw bytes unchanged (not even protobuf), including empty messages', async () => {
    const call = client.makeBidiStreamRequest<Buffer, Buffer>(C('Session'), identity, identity, new grpc.Metadata(), {});
    const sent = [Buffer.alloc(0), Buffer.from([0xff, 0, 0, 0, 0, 5]), randomBytes(4 * MiB), Buffer.alloc(0), randomBytes(1)];
    const received: Buffer[] = [];
    call.on('data', (m: Buffer) => received.push(m));
    const done = statusOf(call);
    for (const m of sent) call.write(m);
    call.end();
    expect((await done).code).toBe(grpc.status.OK);
    // Buffer.equals: jest's deep equality crawls a 4 MiB buffer byte by byte.
    expect(received.length).toBe(sent.length);
    received.forEach((m, i) => expect(m.equals(sent[i]!)).toBe(true));
  });

  it('moves 48 MiB each way through pause/resume intact', async () => {
    const call = client.makeBidiStreamRequest<Buffer, Buffer>(C('Session'), identity, identity, new grpc.Metadata(), {});
    const inHash = createHash('sha256');
    const outHash = createHash('sha256');
    let receivedBytes = 0;
    let n = 0;
    call.on('data', (m: Buffer) => {
      outHash.update(m);
      receivedBytes += m.length;
      // A slow reader now and then, so the gateway has to hold the builder back.
      if (++n % 40 === 0) {
        call.pause();
        setTimeout(() => call.resume(), 5);
      }
    });
    const done = statusOf(call);
    const chunk = randomBytes(256 * 1024);
    for (let i = 0; i < 192; i++) {
      chunk[0] = i;
      inHash.update(chunk);
      if (!call.write(Buffer.from(chunk))) await new Promise((r) => call.once('drain', r));
    }
    call.end();
    expect((await done).code).toBe(grpc.status.OK);
    expect(receivedBytes).toBe(48 * MiB);
    expect(outHash.digest('hex')).toBe(inHash.digest('hex'));
  });

  it('holds back a fast builder while envd does not read (flow control builder → envd)', async () => {
    backend.record.downloaded = 0;
    const cancelled = backend.record.expectCancel(C('Session'));
    const md = new grpc.Metadata();
    md.add('x-mode', 'download');
    const call = client.makeBidiStreamRequest<Buffer, Buffer>(C('Session'), identity, identity, md, {});
    call.on('error', () => undefined);
    try {
      // Read one message, then stop reading. (A grpc-js client that never
      // starts reading does not apply backpressure at all, so start first.)
      let read = 0;
      let holding = true;
      const first = new Promise<void>((resolve) =>
        call.on('data', (m: Buffer) => {
          read += m.length;
          if (holding) call.pause();
          resolve();
        }),
      );
      await first;
      await sleep(1500);
      // Without backpressure the builder would push the whole 512 MiB into the gateway.
      const buffered = backend.record.downloaded;
      expect(buffered).toBeLessThan(64 * MiB);
      holding = false; // from now on read freely
      call.resume();
      // It moves again (however long a loaded machine takes to show it).
      await until(() => backend.record.downloaded > buffered, 'the download to move again');
      expect(read).toBeGreaterThan(0);
    } finally {
      call.cancel();
    }
    await cancelled;
  });

  it('holds back envd while the builder does not read (flow control envd → builder)', async () => {
    backend.record.sunk = 0;
    const md = new grpc.Metadata();
    md.add('x-mode', 'sink');
    const call = client.makeBidiStreamRequest<Buffer, Buffer>(C('Session'), identity, identity, md, {});
    const answer = new Promise<Buffer>((resolve) => call.on('data', resolve));
    const done = statusOf(call);
    const chunk = Buffer.alloc(64 * 1024, 3);
    let written = 0;
    let blocked = false;
    while (written < 256 * MiB) {
      written += chunk.length;
      if (!call.write(chunk)) {
        const drained = await Promise.race([new Promise<boolean>((r) => call.once('drain', () => r(true))), sleep(500).then(() => false)]);
        if (!drained) {
          blocked = true;
          break;
        }
      }
    }
    // Without backpressure the gateway would read all 256 MiB into memory.
    expect(blocked).toBe(true);
    expect(written).toBeLessThan(64 * MiB);
    backend.record.releaseSink();
    await new Promise((r) => call.once('drain', r));
    call.end();
    const status = await done;
    expect(status.code).toBe(grpc.status.OK);
    expect(backend.record.sunk).toBe(written);
    expect(Number((await answer).readBigUInt64BE())).toBe(written);
  });

  it('captures the exporter response of Solve', async () => {
    const before = gateway.solves().length;
    const r = await unary<object, SolveResponse>(client, ...M.Solve, {
      Ref: 'build-42',
      Session: 'sess1',
      Frontend: '',
      Exporters: [{ Type: 'image', Attrs: { name: 'registry.test/x:latest', push: 'true' } }],
    });
    expect(r.error).toBeUndefined();
    expect(r.response?.ExporterResponse?.['containerimage.digest']).toBe(`sha256:${'d'.repeat(64)}`);
    const solves = gateway.solves();
    expect(solves.length).toBe(before + 1);
    expect(solves.at(-1)).toEqual({
      ref: 'build-42',
      session: 'sess1',
      frontend: '',
      exporters: [{ type: 'image', attrs: { name: 'registry.test/x:latest', push: 'true' } }],
      exporterResponse: {
        'containerimage.digest': `sha256:${'d'.repeat(64)}`,
        'containerimage.config.digest': `sha256:${'c'.repeat(64)}`,
        'image.name': 'registry.test/build-42:latest',
      },
      status: { code: 0, details: 'OK' },
    });
    // A second build is appended, newest last.
    await unary<object, SolveResponse>(client, ...M.Solve, { Ref: 'build-43', ExporterDeprecated: 'image', ExporterAttrsDeprecated: { name: 'a' } });
    expect(gateway.solves().at(-1)).toMatchObject({ ref: 'build-43', exporters: [{ type: 'image', attrs: { name: 'a' } }] });
    expect(gateway.solves().at(-2)?.ref).toBe('build-42');
  });

  it('forwards an error status with its message, trailing metadata and binary details', async () => {
    const r = await unary<object, SolveResponse>(client, ...M.Solve, { Ref: 'fail-1' });
    expect(r.error?.code).toBe(grpc.status.NOT_FOUND);
    expect(r.error?.details).toBe(errorDetails);
    const md = r.status.metadata;
    expect(md.get('x-error-info').join(', ')).toBe('e1, e2');
    expect(md.get('x-error-bin')).toEqual([errorBin]);
    expect(md.get('grpc-status-details-bin')).toEqual([statusDetailsBin]);
    expect(gateway.solves().at(-1)).toMatchObject({ ref: 'fail-1', exporterResponse: {}, status: { code: grpc.status.NOT_FOUND, details: errorDetails } });
  });

  it('passes UNIMPLEMENTED through for allowed methods the builder lacks', async () => {
    const r = await unary<object, object>(client, '/moby.buildkit.v1.frontend.LLBBridge/Ping', 'moby.buildkit.v1.InfoRequest', 'moby.buildkit.v1.InfoRequest', {});
    expect(r.error?.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(r.error?.details).not.toMatch(/envd gateway/);
  });

  it('cancels the builder call when envd cancels', async () => {
    const cancelled = backend.record.expectCancel(C('Session'));
    const seen = backend.record.calls.length;
    const md = new grpc.Metadata();
    md.add('x-mode', 'hold');
    const call = client.makeBidiStreamRequest<BytesMessage, BytesMessage>(C('Session'), (m) => bytesMessage.encode(m), (b) => bytesMessage.decode(b), md, {});
    call.on('error', () => undefined);
    const status = statusOf(call);
    call.write({ data: Buffer.from('hello') });
    // Cancel once the call is open on the builder (else there is nothing there to cancel).
    await until(() => backend.record.calls.slice(seen).includes(C('Session')), 'the call to reach the builder');
    call.cancel();
    await cancelled; // resolves only if the builder saw the cancellation
    expect((await status).code).toBe(grpc.status.CANCELLED);
  });

  it('delivers a cancellation from the builder, after the messages sent before it', async () => {
    const call = client.makeServerStreamRequest<{ Ref: string }, StatusResponse>(
      C('Status'),
      (m) => statusRequest.encode(m),
      (b) => statusResponse.decode(b),
      { Ref: 'cancel-me' },
      new grpc.Metadata(),
      {},
    );
    const got: StatusResponse[] = [];
    call.on('data', (m: StatusResponse) => got.push(m));
    call.on('error', () => undefined);
    const status = await statusOf(call);
    expect(status.code).toBe(grpc.status.CANCELLED);
    expect(status.details).toBe('stopped by the daemon');
    expect(got.length).toBe(1);
  });

  it('turns grpc-timeout into an upstream deadline', async () => {
    const cancelled = backend.record.expectCancel(C('Status'));
    const call = client.makeServerStreamRequest<{ Ref: string }, StatusResponse>(
      C('Status'),
      (m) => statusRequest.encode(m),
      (b) => statusResponse.decode(b),
      { Ref: 'forever' },
      new grpc.Metadata(),
      { deadline: Date.now() + 400 },
    );
    call.on('error', () => undefined);
    const status = await statusOf(call);
    expect(status.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    await cancelled;
    const deadline = backend.record.deadlines.get(C('Status'));
    expect(typeof deadline === 'number' || deadline instanceof Date).toBe(true);
    expect(Number(deadline)).toBeLessThan(Date.now() + 1000);
  });

  it('answers UNAVAILABLE when the builder cannot be reached', async () => {
    const unused = await new Promise<number>((resolve) => {
      const s = net.createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const gw = await startGateway(parseEndpoint(`tcp://127.0.0.1:${unused}`, { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey }), {
      socketPath: privateSocketPath(dir),
    });
    const c = new grpc.Client(socketTarget(gw), grpc.credentials.createInsecure());
    try {
      const r = await unary<Record<string, never>, ListWorkersResponse>(c, ...M.ListWorkers, {});
      expect(r.error?.code).toBe(grpc.status.UNAVAILABLE);
      // Nothing was built there: main may move the build to another builder.
      expect(gw.lostBeforeStart()).toMatch(/ECONNREFUSED/);
    } finally {
      c.close();
      await gw.close();
    }
  });

  describe('a builder lost after answering', () => {
    /** A gateway to a builder of its own, which `run` uses, then loses (forced shutdown) before one more ListWorkers. */
    async function lostAfter(run: (c: grpc.Client) => Promise<void>): Promise<string | undefined> {
      const own = await startBackend({ certs });
      const gw = await startGateway(parseEndpoint(own.target, { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey }), { socketPath: privateSocketPath(dir) });
      const c = new grpc.Client(socketTarget(gw), grpc.credentials.createInsecure(), clientOptions);
      try {
        await run(c);
        expect(gw.lostBeforeStart()).toBeUndefined();
        await own.stop();
        const r = await unary<Record<string, never>, ListWorkersResponse>(c, ...M.ListWorkers, {});
        expect(r.error?.code).toBe(grpc.status.UNAVAILABLE);
        return gw.lostBeforeStart();
      } finally {
        c.close();
        await gw.close();
      }
    }

    it('only the worker list: lost before the build started', async () => {
      const cause = await lostAfter(async (c) => {
        expect((await unary<Record<string, never>, ListWorkersResponse>(c, ...M.ListWorkers, {})).error).toBeUndefined();
      });
      expect(cause).toEqual(expect.any(String));
    });

    it('progress of a build: lost during the build, so no other builder takes it over', async () => {
      const cause = await lostAfter(async (c) => {
        const call = c.makeServerStreamRequest<{ Ref: string }, StatusResponse>(C('Status'), (m) => statusRequest.encode(m), (b) => statusResponse.decode(b), { Ref: 'build-1' }, new grpc.Metadata(), {});
        call.on('data', () => undefined);
        expect((await statusOf(call)).code).toBe(grpc.status.OK);
      });
      expect(cause).toBeUndefined();
    });
  });

  it('close() ends in-flight calls, cancels them upstream, removes the socket and is idempotent', async () => {
    const endpoint = parseEndpoint(backend.target, { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey });
    const gw = await startGateway(endpoint, { socketPath: privateSocketPath(dir) });
    const c = new grpc.Client(socketTarget(gw), grpc.credentials.createInsecure());
    const cancelled = backend.record.expectCancel(C('Session'));
    const seen = backend.record.calls.length;
    const md = new grpc.Metadata();
    md.add('x-mode', 'hold');
    const call = c.makeBidiStreamRequest<BytesMessage, BytesMessage>(C('Session'), (m) => bytesMessage.encode(m), (b) => bytesMessage.decode(b), md, {});
    call.on('error', () => undefined);
    const status = statusOf(call);
    call.write({ data: Buffer.from('x') });
    await until(() => backend.record.calls.slice(seen).includes(C('Session')), 'the call to reach the builder');
    await Promise.all([gw.close(), gw.close()]);
    await cancelled;
    expect([grpc.status.CANCELLED, grpc.status.UNAVAILABLE]).toContain((await status).code);
    await gw.close();
    c.close();
    expect(fs.existsSync(gw.socketPath)).toBe(false);
    expect(await tryConnect(gw.url)).toBe('ENOENT');
  });

  it('logged no unexpected problems', () => {
    expect(logs.filter((l) => /error|refused|could not/i.test(l) && !/Solve .* failed/.test(l))).toEqual([]);
  });
});
