// The session's gRPC server, driven by a real grpc-js client over a real
// socket: the same HTTP/2 + gRPC framing the daemon's Go client produces.
import * as grpc from '@grpc/grpc-js';
import { jest } from '@jest/globals';
import { EventEmitter } from 'node:events';
import * as http2 from 'node:http2';
import { createServer, type Server } from 'node:net';
import { Services, Messages, type Packet } from '../../src/protocol/index.js';
import { serviceDefinition } from '../helpers/service-definition.js';
import { encodePacket } from '../../src/session/filesync/packet.js';
import { SessionServer, type EncodedWriter } from '../../src/session/server.js';
import { bidiMethod, healthService, secretsService } from '../../src/session/services.js';
import type { BidiCall } from '../../src/session/rpc.js';

type AnyClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

let net: Server;
let session: SessionServer;
let port: number;
const seenMetadata: Map<string, readonly string[]>[] = [];

beforeAll(async () => {
  const echo = bidiMethod<Packet, Packet>(Services.FileSync, 'DiffCopy', Messages.Packet, Messages.Packet, async (call: BidiCall<Packet, Packet>) => {
    seenMetadata.push(new Map(call.metadata));
    const encoded = Number(call.metadata.get('encoded')?.[0] ?? 0);
    if (encoded) {
      // Batches of pre-encoded messages, as the DiffCopy sender writes them:
      // small packets copied together, big payloads as parts of their own.
      const writer = call as unknown as EncodedWriter;
      for (let i = 0; i < encoded; i += 10) {
        const batch: Buffer[][] = [];
        for (let j = i; j < Math.min(i + 10, encoded); j++) batch.push(encodePacket(encodedPacket(j))!);
        if (!writer.writeEncoded(batch)) await writer.drained();
      }
      return;
    }
    const burst = Number(call.metadata.get('burst')?.[0] ?? 0);
    if (burst) {
      // Many writes without awaiting each: the stream fills up and every writer waits for 'drain'.
      const writes: Promise<void>[] = [];
      for (let i = 0; i < burst; i++) writes.push(call.write({ type: 2, ID: i, data: Buffer.alloc(20_000, i % 256) }));
      await Promise.all(writes);
      return;
    }
    for await (const p of call.messages) {
      await call.write({ type: 2, ID: p.ID ?? 0, data: Buffer.concat([Buffer.from('echo:'), p.data ?? Buffer.alloc(0)]) });
    }
  });
  session = new SessionServer([
    healthService(),
    secretsService(async (id) => (id === 'known' ? Buffer.from('s3cr3t\nline2') : undefined)),
    echo,
  ]);
  net = createServer((socket) => session.serve(socket));
  await new Promise<void>((r) => net.listen(0, '127.0.0.1', r));
  port = (net.address() as { port: number }).port;
});

afterAll(async () => {
  await session.close();
  await new Promise((r) => net.close(r));
});

function client(service: string): AnyClient {
  const Ctor = grpc.makeGenericClientConstructor(serviceDefinition(service), service);
  return new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as AnyClient;
}

/** Opens DiffCopy with one metadata entry, sends nothing, and collects every reply until the end. */
async function diffCopyReplies(key: string, value: string): Promise<Packet[]> {
  const c = client(Services.FileSync);
  const md = new grpc.Metadata();
  md.set(key, value);
  const call = (c.DiffCopy as (m: grpc.Metadata) => grpc.ClientDuplexStream<Packet, Packet>).call(c, md);
  const got: Packet[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      call.on('data', (p: Packet) => got.push(p));
      call.on('end', resolve);
      call.on('error', reject);
      call.end();
    });
  } finally {
    c.close();
  }
  return got;
}

function unary<T>(c: AnyClient, method: string, req: unknown): Promise<T> {
  return new Promise((resolve, reject) =>
    (c[method] as (r: unknown, cb: (e: grpc.ServiceError | null, v: T) => void) => void).call(c, req, (e, v) => (e ? reject(e) : resolve(v))),
  );
}

test('health check answers SERVING', async () => {
  const c = client(Services.Health);
  await expect(unary(c, 'Check', { service: '' })).resolves.toEqual({ status: 1 });
  c.close();
});

test('secrets: known id returns its bytes, unknown id is NOT_FOUND', async () => {
  const c = client(Services.Secrets);
  const res = await unary<{ data: Buffer }>(c, 'GetSecret', { ID: 'known' });
  expect(res.data.toString()).toBe('s3cr3t\nline2');
  await expect(unary(c, 'GetSecret', { ID: 'GIT_AUTH_TOKEN' })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  c.close();
});

test('bidi stream echoes in order and keeps every repeated metadata value separately', async () => {
  const c = client(Services.FileSync);
  const md = new grpc.Metadata();
  md.set('dir-name', 'context');
  const patterns = Array.from({ length: 300 }, (_, i) => `dir${i}/**, with comma`);
  for (const p of patterns) md.add('exclude-patterns', p);
  const call = (c.DiffCopy as (m: grpc.Metadata) => grpc.ClientDuplexStream<Packet, Packet>).call(c, md);
  const got: Packet[] = [];
  const done = new Promise<void>((resolve, reject) => {
    call.on('data', (p: Packet) => got.push(p));
    call.on('end', resolve);
    call.on('error', reject);
  });
  for (let i = 1; i <= 50; i++) call.write({ type: 2, ID: i, data: Buffer.alloc(i * 1000, i) });
  call.end();
  await done;
  expect(got.map((p) => p.ID)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  expect(got[49]!.data!.subarray(5)).toEqual(Buffer.alloc(50_000, 50));
  const md0 = seenMetadata.at(-1)!;
  expect(md0.get('dir-name')).toEqual(['context']);
  expect(md0.get('exclude-patterns')).toEqual(patterns);
  c.close();
});

test('writes that are not awaited one by one all arrive, in order, sharing one drain wait', async () => {
  // Most drain listeners seen at once on a server stream: one shared wait, not one per writer.
  let maxDrainListeners = 0;
  const once = EventEmitter.prototype.once;
  const spy = jest.spyOn(EventEmitter.prototype, 'once').mockImplementation(function (this: EventEmitter, event, listener) {
    const result = once.call(this, event, listener);
    if (event === 'drain' && this.constructor.name === 'ServerStream') maxDrainListeners = Math.max(maxDrainListeners, this.listenerCount('drain'));
    return result;
  });
  try {
    const got = await diffCopyReplies('burst', '300');
    expect(got.map((p) => p.ID ?? 0)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(got.every((p, i) => p.data!.equals(Buffer.alloc(20_000, i % 256)))).toBe(true);
  } finally {
    spy.mockRestore();
  }
  expect(maxDrainListeners).toBe(1);
});

/** Packet j of the 'encoded' stream: every 7th carries 40 KB (a separate part), the rest a few bytes. */
function encodedPacket(j: number): Packet {
  return { type: 2, ID: j, data: Buffer.alloc(j % 7 === 0 ? 40_000 : 1 + (j % 50), j % 251) };
}

test('messages written as encoded batches arrive whole and in order, past the stream buffer', async () => {
  const got = await diffCopyReplies('encoded', '2000'); // ~12 MB: the writer has to wait for drained() several times
  expect(got).toHaveLength(2000);
  got.forEach((p, j) => {
    const want = encodedPacket(j);
    expect(p.ID ?? 0).toBe(j);
    expect(p.data!.equals(want.data!)).toBe(true);
  });
});

test('unknown methods are UNIMPLEMENTED', async () => {
  const c = client(Services.Auth);
  await expect(unary(c, 'Credentials', { Host: 'x' })).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });
  c.close();
});

/** One raw HTTP/2 request whose body is `chunks`, written as separate writes; resolves with the status it ends with. */
function rawStatus(path: string, chunks: Buffer[]): Promise<{ code: number; message: string }> {
  return new Promise((resolve, reject) => {
    const h2 = http2.connect(`http://127.0.0.1:${port}`);
    h2.on('error', reject);
    const req = h2.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
    let fields: http2.IncomingHttpHeaders = {};
    req.on('response', (h) => (fields = h));
    req.on('trailers', (t) => (fields = t));
    req.on('data', () => undefined);
    req.on('end', () => req.close(http2.constants.NGHTTP2_NO_ERROR));
    req.on('error', () => undefined); // the server may reset once it has answered
    req.on('close', () => {
      h2.close();
      resolve({ code: Number(fields['grpc-status']), message: decodeURIComponent(String(fields['grpc-message'] ?? '')) });
    });
    (async () => {
      for (const c of chunks) {
        if (req.closed) return;
        req.write(c);
        await new Promise((r) => setImmediate(r));
      }
      if (!req.closed) req.end();
    })().catch(reject);
  });
}

test('refused request frames end the call with INVALID_ARGUMENT, or RESOURCE_EXHAUSTED for a message over the limit', async () => {
  const check = `/${Services.Health}/Check`;
  const compressed = { code: grpc.status.INVALID_ARGUMENT, message: 'compressed gRPC messages are not supported' };
  // The rest of the compressed message and a valid one after it change nothing.
  await expect(rawStatus(check, [Buffer.from([1, 0, 0, 0, 3]), Buffer.from('zip'), Buffer.from([0, 0, 0, 0, 0])])).resolves.toEqual(compressed);
  await expect(rawStatus(check, [Buffer.from([2, 0, 0, 0, 0])])).resolves.toEqual(compressed);
  await expect(rawStatus(check, [Buffer.from([0, 1, 0, 0, 1])])).resolves.toEqual({
    code: grpc.status.RESOURCE_EXHAUSTED,
    message: `gRPC message of ${16 * 1024 * 1024 + 1} bytes exceeds the limit of ${4 * 1024 * 1024} bytes`,
  });
});

test('a request stream that ends inside a message is refused, not taken as complete', async () => {
  const check = `/${Services.Health}/Check`;
  // A prefix announcing 10 bytes, then only 3, then the end of the stream.
  await expect(rawStatus(check, [Buffer.from([0, 0, 0, 0, 10]), Buffer.from([1, 2, 3])])).resolves.toEqual({
    code: grpc.status.INVALID_ARGUMENT,
    message: 'request stream ended inside a gRPC message',
  });
  // The same without the cut: an empty request is answered.
  await expect(rawStatus(check, [Buffer.from([0, 0, 0, 0, 0])])).resolves.toEqual({ code: grpc.status.OK, message: '' });
});
