// What a hostile daemon can make the session hold. The daemon is the HTTP/2
// client of our session server; here a test client plays it, breaking the
// rules a real one keeps: too many streams at once, request bytes it never
// completes, file requests it never reads the answers to. Every bound is
// checked with the server's own counters (SessionServer.stats and the
// transfer's TransferStats), not with timing.
import { promises as fsp } from 'node:fs';
import * as http2 from 'node:http2';
import { connect, createServer, type Server, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { codec, Messages, PacketType, Services, type Packet } from '../../src/protocol/index.js';
import {
  MAX_CONCURRENT_STREAMS,
  MAX_SESSION_REQUEST_BYTES,
  MAX_SESSION_SEND_BYTES,
  SessionServer,
} from '../../src/session/server.js';
import { bidiMethod, healthService } from '../../src/session/services.js';
import { createTransferStats, MAX_QUEUED_REQUESTS, serveDiffCopy } from '../../src/session/filesync/diffcopy.js';
import { frame } from '../helpers/h2-frames.js';

const packetCodec = codec<Packet>(Messages.Packet);
const DIFFCOPY = `/${Services.FileSync}/DiffCopy`;
/** A method whose handler holds the call open without reading it, until the call ends. */
const HOLD = '/test.Hold/Hold';

let work: string;
let net: Server;
let port: number;
let session: SessionServer;
const transfer = createTransferStats();
const sockets = new Set<Socket>();
/** Client connections of the running test, closed after it whatever its outcome. */
const clients: { destroy(): void }[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await idle();
});

beforeAll(async () => {
  work = await fsp.mkdtemp(path.join(os.tmpdir(), 'session-limits-'));
  // One file requested over and over (the queue test), and many distinct ones (the bytes test).
  await fsp.mkdir(path.join(work, 'one'));
  await fsp.writeFile(path.join(work, 'one', 'f'), Buffer.alloc(20 * 1024, 1));
  await fsp.mkdir(path.join(work, 'many'));
  for (let i = 0; i < 120; i++) await fsp.writeFile(path.join(work, 'many', `f${String(i).padStart(3, '0')}`), Buffer.alloc(200 * 1024, i));

  const dirs = new Map([
    ['one', path.join(work, 'one')],
    ['many', path.join(work, 'many')],
  ]);
  const hold = bidiMethod<Packet, Packet>('test.Hold', 'Hold', Messages.Packet, Messages.Packet, (call) =>
    new Promise<void>((resolve) => call.signal.addEventListener('abort', () => resolve(), { once: true })),
  );
  session = new SessionServer([
    healthService(),
    hold,
    bidiMethod<Packet, Packet>(Services.FileSync, 'DiffCopy', Messages.Packet, Messages.Packet, (call) => serveDiffCopy(call, dirs, transfer)),
  ]);
  net = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    session.serve(socket);
  });
  await new Promise<void>((r) => net.listen(0, '127.0.0.1', r));
  port = (net.address() as { port: number }).port;
});

afterAll(async () => {
  await session.close();
  for (const s of sockets) s.destroy();
  await new Promise((r) => net.close(r));
  await fsp.rm(work, { recursive: true, force: true });
});

/** Resolves once `cond` holds, checking after every turn of the event loop's I/O. */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
}

/** Waits until the server has no call open (the previous test's streams are gone). */
const idle = () => until(() => session.stats().calls === 0);

/** An HTTP/2 client connection playing the daemon. */
function daemonClient(): http2.ClientHttp2Session {
  const h2 = http2.connect(`http://127.0.0.1:${port}`);
  h2.on('error', () => undefined);
  clients.push(h2);
  return h2;
}

// --- A raw HTTP/2 client: frames written by hand, so nothing on our side
// --- honours the server's settings the way Node's client would.

/** HPACK integer with an n-bit prefix (RFC 7541 §5.1). */
function hpackInt(value: number, prefixBits: number, firstByte = 0): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [firstByte | value];
  const out = [firstByte | max];
  value -= max;
  while (value >= 128) {
    out.push((value % 128) + 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return out;
}

/** Header fields as "literal without indexing, new name", no Huffman coding. */
function hpack(fields: [string, string][]): Buffer {
  const bytes: number[] = [];
  for (const [name, value] of fields) {
    bytes.push(0x00);
    bytes.push(...hpackInt(name.length, 7), ...Buffer.from(name));
    bytes.push(...hpackInt(value.length, 7), ...Buffer.from(value));
  }
  return Buffer.from(bytes);
}

interface RawConnection {
  readonly socket: Socket;
  /** RST_STREAM frames received, by error code. */
  readonly resets: Map<number, number>;
  /** Resolves when `n` resets have arrived in total. */
  resetsReach(n: number): Promise<void>;
}

async function rawConnection(): Promise<RawConnection> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((r) => socket.once('connect', () => r()));
  const resets = new Map<number, number>();
  let total = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  let buffered = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 9) {
      const length = buffered.readUIntBE(0, 3);
      if (buffered.length < 9 + length) break;
      const type = buffered[3]!;
      const flags = buffered[4]!;
      const payload = buffered.subarray(9, 9 + length);
      buffered = buffered.subarray(9 + length);
      if (type === 0x4 && !(flags & 0x1)) socket.write(frame(0x4, 0x1, 0, Buffer.alloc(0))); // ACK the server's SETTINGS
      if (type === 0x3) {
        const code = payload.readUInt32BE(0);
        resets.set(code, (resets.get(code) ?? 0) + 1);
        total++;
        for (const w of waiters.filter((w) => total >= w.n)) w.resolve();
      }
    }
  });
  socket.on('error', () => undefined);
  clients.push(socket);
  socket.write(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
  socket.write(frame(0x4, 0, 0, Buffer.alloc(0)));
  return {
    socket,
    resets,
    resetsReach: (n) => (total >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
  };
}

const REFUSED_STREAM = 0x7;
const ENHANCE_YOUR_CALM = 0xb;

test('streams beyond the limit are reset, however many the daemon opens at once', async () => {
  const c = await rawConnection();
  const opened = 3 * MAX_CONCURRENT_STREAMS;
  const block = hpack([
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', HOLD],
    [':authority', 'localhost'],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
  ]);
  // All in one write, before the server's settings could be honoured.
  const frames: Buffer[] = [];
  for (let i = 0; i < opened; i++) frames.push(frame(0x1, 0x4 /* END_HEADERS */, 1 + 2 * i, block));
  c.socket.write(Buffer.concat(frames));

  await c.resetsReach(opened - MAX_CONCURRENT_STREAMS);
  expect(c.resets.get(REFUSED_STREAM) ?? 0).toBeGreaterThanOrEqual(opened - MAX_CONCURRENT_STREAMS);
  const stats = session.stats();
  expect(stats.calls).toBeLessThanOrEqual(MAX_CONCURRENT_STREAMS);
  expect(stats.callsPeak).toBeLessThanOrEqual(MAX_CONCURRENT_STREAMS);
});

test('a message prefix announcing a huge message is refused before anything is buffered', async () => {
  const before = session.stats().requestBytesPeak;
  const h2 = daemonClient();
  const req = h2.request({ ':method': 'POST', ':path': HOLD, 'content-type': 'application/grpc', te: 'trailers' });
  let trailers: http2.IncomingHttpHeaders = {};
  req.on('response', (h) => (trailers = h));
  req.on('trailers', (t) => (trailers = t));
  req.on('data', () => undefined);
  req.on('error', () => undefined);
  // 1 GiB announced, then 1 MiB of it sent.
  req.write(Buffer.from([0, 0x40, 0, 0, 0]));
  req.end(Buffer.alloc(1024 * 1024));
  await new Promise((r) => req.on('close', r));
  h2.close();
  expect(Number(trailers['grpc-status'])).toBe(8); // RESOURCE_EXHAUSTED
  // Nothing of the message was kept: the prefix was refused as it arrived.
  expect(session.stats().requestBytesPeak).toBeLessThan(Math.max(before, 0) + 64 * 1024);
});

test('request bytes the daemon never completes are bounded per session: calls over the budget are reset', async () => {
  const h2 = daemonClient();
  // Each call sends all but the last byte of a message at the 4 MiB limit:
  // allowed per call, and held until the message completes, which it never does.
  const messageBytes = 4 * 1024 * 1024;
  const calls = 20;
  const outcomes = await Promise.all(
    Array.from({ length: calls }, () => {
      const req = h2.request({ ':method': 'POST', ':path': HOLD, 'content-type': 'application/grpc', te: 'trailers' });
      req.on('error', () => undefined);
      req.on('data', () => undefined);
      return new Promise<'reset' | 'held'>((resolve) => {
        req.on('close', () => resolve(req.rstCode === ENHANCE_YOUR_CALM ? 'reset' : 'held'));
        const prefix = Buffer.from([0, 0, 0, 0, 0]);
        prefix.writeUInt32BE(messageBytes, 1);
        req.write(prefix);
        // The write completes once the server has taken every byte (flow control): then it holds them.
        req.write(Buffer.alloc(messageBytes - 1), (err) => {
          if (!err) resolve('held');
        });
      });
    }),
  );
  const reset = outcomes.filter((o) => o === 'reset').length;
  const stats = session.stats();
  // At most what fits in the budget was held; every other call was reset.
  expect(stats.requestBytesPeak).toBeLessThanOrEqual(MAX_SESSION_REQUEST_BYTES);
  expect(stats.requestBytes).toBeLessThanOrEqual(MAX_SESSION_REQUEST_BYTES);
  expect(reset).toBeGreaterThanOrEqual(calls - Math.floor(MAX_SESSION_REQUEST_BYTES / messageBytes));
  h2.destroy();
  await idle();
  // Everything held for the calls is given back when they end.
  expect(session.stats().requestBytes).toBe(0);
});

/** A DiffCopy call as the hostile daemon drives it: read the STATs, then request and stop reading. */
interface HostileTransfer {
  readonly req: http2.ClientHttp2Stream;
  /** Regular-file IDs from the STATs, in order. */
  readonly fileIds: number[];
  /** Sends REQ packets for the IDs (one gRPC message each, in a single write). */
  request(ids: readonly number[]): void;
  /** Resumes reading until `files` files have ended, then sends FIN; resolves with everything read once the call ends. */
  finish(files: number): Promise<Packet[]>;
}

function grpcMessage(p: Packet): Buffer {
  const body = Buffer.from(packetCodec.encode(p));
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

async function hostileTransfer(h2: http2.ClientHttp2Session, dirName: string): Promise<HostileTransfer> {
  const req = h2.request({ ':method': 'POST', ':path': DIFFCOPY, 'content-type': 'application/grpc', te: 'trailers', 'dir-name': dirName });
  req.on('error', () => undefined);
  const fileIds: number[] = [];
  const received: Packet[] = [];
  let pending = Buffer.alloc(0);
  let walkEnded!: () => void;
  const walked = new Promise<void>((r) => (walkEnded = r));
  let statId = 0;
  let filesEnded = 0;
  let onFileEnd = (): void => undefined;
  req.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 5) {
      const length = pending.readUInt32BE(1);
      if (pending.length < 5 + length) break;
      const p = packetCodec.decode(pending.subarray(5, 5 + length));
      pending = pending.subarray(5 + length);
      received.push(p);
      if (p.type === PacketType.DATA && !p.data?.length) {
        filesEnded++;
        onFileEnd();
      }
      if ((p.type ?? PacketType.STAT) === PacketType.STAT) {
        if (!p.stat) {
          walkEnded();
          continue;
        }
        // Regular files only (mode bits without a type).
        if ((p.stat.mode & 0x80000000) === 0) fileIds.push(statId);
        statId++;
      }
    }
  });
  await walked;
  // From here on the daemon reads nothing: its window closes, our answers pile up on our side.
  req.pause();
  return {
    req,
    fileIds,
    request: (ids) => req.write(Buffer.concat(ids.map((ID) => grpcMessage({ type: PacketType.REQ, ID })))),
    finish: async (files) => {
      // As a receiver does: FIN once everything it asked for has arrived.
      const all = new Promise<void>((resolve) => {
        onFileEnd = () => {
          if (filesEnded >= files) resolve();
        };
        onFileEnd();
      });
      req.resume();
      await all;
      req.write(grpcMessage({ type: PacketType.FIN }));
      req.end();
      await new Promise((r) => req.on('close', r));
      return received;
    },
  };
}

test('a flood of file requests never read: the request queue and the bytes read for it stay bounded', async () => {
  const h2 = daemonClient();
  const t = await hostileTransfer(h2, 'one');
  expect(t.fileIds).toEqual([0]);
  // One 20 KiB file requested 5,000 times: about 100 MB of answers, none read yet.
  const requests = 5000;
  t.request(Array.from({ length: requests }, () => 0));
  // The queue fills up and stays there: the server stopped reading requests.
  await until(() => transfer.requestsQueuedPeak >= MAX_QUEUED_REQUESTS);
  // Now read everything: every request is answered, in full, and the call ends normally.
  const got = await t.finish(requests);
  const data = got.filter((p) => p.type === PacketType.DATA && p.data?.length);
  expect(data).toHaveLength(requests);
  expect(got.at(-1)).toEqual({ type: PacketType.FIN });
  expect(transfer.requestsQueuedPeak).toBeLessThanOrEqual(MAX_QUEUED_REQUESTS);
  expect(session.stats().sendBytesPeak).toBeLessThanOrEqual(MAX_SESSION_SEND_BYTES + 512 * 1024);
  h2.close();
  await idle();
});

test('files requested on many calls and never read: what the session holds stops at its send budget', async () => {
  const h2 = daemonClient();
  // 16 calls each ask for 24 MB (120 files of 200 KiB) and read none of it:
  // unbounded, the session would read up to its 64 workers' files per call.
  const calls = await Promise.all(Array.from({ length: 16 }, () => hostileTransfer(h2, 'many')));
  for (const t of calls) t.request(t.fileIds);
  // Readers wait for the budget: it is full, and nothing past it was read.
  await until(() => session.stats().sendWaiting > 0);
  const full = session.stats();
  expect(full.sendBytes).toBeGreaterThan(MAX_SESSION_SEND_BYTES / 2);
  // Above the budget by at most one file (what a reader takes once there is room).
  expect(full.sendBytesPeak).toBeLessThanOrEqual(MAX_SESSION_SEND_BYTES + 256 * 1024);
  // The daemon gives up on the calls: everything held for them is given back.
  h2.destroy();
  await idle();
  await until(() => session.stats().sendBytes === 0);
  expect(session.stats().requestBytes).toBe(0);
});
