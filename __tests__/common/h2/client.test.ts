// Our HTTP/2 client (common/h2/client.ts) against Node's HTTP/2 server, an
// implementation that is not ours, and against a server written frame by
// frame for what a well-behaved one never does.
import { createHash, randomBytes } from 'node:crypto';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { ClientSession, type ClientStream, type IncomingHeaders } from '../../../src/common/h2/client.js';
import { ErrorCode, Flag, FrameType } from '../../../src/common/h2/frames.js';
import { encodeHeaders } from '../../../src/common/h2/hpack.js';
import { frame } from '../../helpers/h2-frames.js';

const LIMITS = { streamWindow: 256 * 1024, connectionWindow: 1024 * 1024, maxHeaderListBytes: 64 * 1024 };
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function session(port: number): ClientSession {
  const s = new ClientSession(net.connect({ host: '127.0.0.1', port }), 'http', LIMITS);
  s.on('error', () => undefined);
  return s;
}

/** Reads a stream to its end: body, response headers, trailers, and how it closed. */
function collect(stream: ClientStream): Promise<{ body: Buffer; response?: IncomingHeaders; trailers?: IncomingHeaders; rstCode?: number; error?: string }> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    const out: { body: Buffer; response?: IncomingHeaders; trailers?: IncomingHeaders; rstCode?: number; error?: string } = { body: Buffer.alloc(0) };
    stream.on('response', (h: IncomingHeaders) => (out.response = h));
    stream.on('trailers', (h: IncomingHeaders) => (out.trailers = h));
    stream.on('data', (d: Buffer) => parts.push(d));
    stream.on('error', (e: Error) => (out.error = e.message));
    stream.on('close', () => {
      out.body = Buffer.concat(parts);
      out.rstCode = stream.rstCode;
      resolve(out);
    });
  });
}

describe('against node:http2', () => {
  let server: http2.Http2Server;
  let port: number;
  let onStream: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void;

  beforeAll(async () => {
    server = http2.createServer();
    server.on('stream', (stream, headers) => {
      stream.on('error', () => undefined);
      onStream(stream, headers);
    });
    port = await listen(server as unknown as net.Server);
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('sends and receives bodies far beyond every window, byte for byte, with trailers', async () => {
    const upload = randomBytes(6 * 1024 * 1024 + 123);
    const download = randomBytes(5 * 1024 * 1024 + 77);
    let got = '';
    let path: unknown;
    onStream = (stream, headers) => {
      path = [headers[':path'], headers[':scheme'], headers['x-list']];
      const parts: Buffer[] = [];
      stream.on('data', (d: Buffer) => parts.push(d));
      stream.on('end', () => {
        got = sha(Buffer.concat(parts));
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'x-twice': ['a', 'b'] }));
        stream.end(download);
      });
    };
    const s = session(port);
    try {
      const stream = s.request({ ':method': 'POST', ':path': '/a/b', ':authority': 'builder', 'x-list': ['1', '2'] });
      const result = collect(stream);
      // Many small writes and a large one, as the session tunnel and a Solve write.
      for (let at = 0; at < upload.length; at += 100_000) stream.write(upload.subarray(at, at + 100_000));
      stream.end();
      const r = await result;
      expect(got).toBe(sha(upload));
      expect(sha(r.body)).toBe(sha(download));
      expect(r.response?.[':status']).toBe('200');
      expect(r.trailers).toMatchObject({ 'grpc-status': '0', 'x-twice': ['a', 'b'] });
      expect(r.rstCode).toBe(ErrorCode.NO_ERROR);
      expect(path).toEqual(['/a/b', 'http', '1, 2']);
    } finally {
      s.close();
    }
  });

  test('a trailers-only answer ends the stream without anyone reading it', async () => {
    onStream = (stream) => stream.respond({ ':status': 200, 'grpc-status': '5' }, { endStream: true });
    const s = session(port);
    try {
      const stream = s.request({ ':method': 'POST', ':path': '/x', ':authority': 'b' });
      const flags = new Promise<number>((resolve) => stream.on('response', (_h: IncomingHeaders, f: number) => resolve(f)));
      const closed = new Promise((resolve) => stream.on('close', resolve));
      stream.end();
      expect((await flags) & Flag.END_STREAM).toBe(Flag.END_STREAM);
      await closed;
      expect(stream.rstCode).toBe(ErrorCode.NO_ERROR);
    } finally {
      s.close();
    }
  });

  test('a reset from the server closes the stream with its code; the connection goes on', async () => {
    onStream = (stream) => stream.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    const s = session(port);
    try {
      const r = await collect(s.request({ ':method': 'POST', ':path': '/x', ':authority': 'b' }));
      expect(r.rstCode).toBe(ErrorCode.ENHANCE_YOUR_CALM);
      onStream = (stream) => stream.respond({ ':status': 200 }, { endStream: true });
      const again = s.request({ ':method': 'POST', ':path': '/y', ':authority': 'b' });
      again.end();
      expect((await collect(again)).response?.[':status']).toBe('200');
    } finally {
      s.close();
    }
  });

  test('GOAWAY: a stream the server never took is refused, new streams are not opened', async () => {
    let first: http2.ServerHttp2Stream | undefined;
    onStream = (stream) => {
      first ??= stream;
    };
    const s = session(port);
    const goaway = new Promise<number>((resolve) => s.once('goaway', resolve));
    const a = s.request({ ':method': 'POST', ':path': '/a', ':authority': 'b' });
    const ra = collect(a);
    await new Promise<void>((resolve) => {
      const wait = (): void => (first ? resolve() : void setImmediate(wait));
      wait();
    });
    const b = s.request({ ':method': 'POST', ':path': '/b', ':authority': 'b' });
    const rb = collect(b);
    // The server took stream 1 only.
    first!.session!.goaway(http2.constants.NGHTTP2_NO_ERROR, 1);
    expect(await goaway).toBe(ErrorCode.NO_ERROR);
    expect((await rb).rstCode).toBe(ErrorCode.REFUSED_STREAM);
    expect(() => s.request({ ':method': 'POST', ':path': '/c', ':authority': 'b' })).toThrow(/closed/);
    // Stream 1 still gets its answer.
    first!.respond({ ':status': 200 }, { endStream: true });
    a.end();
    expect((await ra).response?.[':status']).toBe('200');
    await new Promise((resolve) => (s.destroyed ? resolve(undefined) : s.once('close', resolve)));
  });

  test('a ping is answered; close() ends the connection once its streams are done', async () => {
    onStream = (stream) => stream.respond({ ':status': 200 }, { endStream: true });
    const s = session(port);
    await new Promise<void>((resolve, reject) => s.ping((err) => (err ? reject(err) : resolve())));
    const stream = s.request({ ':method': 'POST', ':path': '/x', ':authority': 'b' });
    const closed = new Promise((resolve) => s.once('close', resolve));
    s.close();
    expect(s.closed).toBe(true);
    expect(s.destroyed).toBe(false); // a stream is still open
    stream.end();
    await collect(stream);
    await closed;
    expect(s.destroyed).toBe(true);
  });
});

test('request fields HTTP/2 cannot carry are refused before anything is sent', async () => {
  const server = net.createServer((socket) => socket.on('data', () => undefined));
  const port = await listen(server);
  const s = session(port);
  try {
    expect(() => s.request({ ':path': '/x', 'x-a': 'one\r\nx-b: two' })).toThrow(/x-a/);
    expect(() => s.request({ ':path': '/x', connection: 'close' })).toThrow(/connection/);
    expect(() => s.request({ ':path': '/x', 'x-a': 'snow ☃' })).toThrow(/x-a/);
  } finally {
    s.destroy();
    server.close();
  }
});

/**
 * A server that speaks frames we write by hand: it sends SETTINGS, answers
 * stream 1's headers, then runs `script` with a way to send frames and the
 * frames it has received so far.
 */
async function handServer(
  script: (send: (...frames: Buffer[]) => void, received: () => { type: number; flags: number; streamId: number; payload: Buffer }[]) => void,
): Promise<{ port: number; close: () => void }> {
  const server = net.createServer((socket) => {
    let input = Buffer.alloc(0);
    let prefaceSeen = false;
    const frames: { type: number; flags: number; streamId: number; payload: Buffer }[] = [];
    const send = (...f: Buffer[]): void => void socket.write(Buffer.concat(f));
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => {
      input = Buffer.concat([input, d]);
      if (!prefaceSeen) {
        if (input.length < 24) return;
        input = input.subarray(24);
        prefaceSeen = true;
        send(frame(FrameType.SETTINGS, 0, 0));
      }
      while (input.length >= 9) {
        const length = input.readUIntBE(0, 3);
        if (input.length < 9 + length) break;
        const f = { type: input[3]!, flags: input[4]!, streamId: input.readUInt32BE(5) & 0x7fffffff, payload: input.subarray(9, 9 + length) };
        input = input.subarray(9 + length);
        frames.push(f);
        if (f.type === FrameType.HEADERS && f.streamId === 1) {
          send(frame(FrameType.HEADERS, Flag.END_HEADERS, 1, encodeHeaders([[':status', '200']])));
          script(send, () => frames);
        }
      }
    });
  });
  const port = await listen(server);
  return { port, close: () => server.close() };
}

/** Resolves with the frames the server has received once `test` holds for them (checked on every frame). */
function framesWhen(
  received: () => { type: number; flags: number; streamId: number; payload: Buffer }[],
  test: (f: { type: number; flags: number; streamId: number; payload: Buffer }[]) => boolean,
): Promise<{ type: number; flags: number; streamId: number; payload: Buffer }[]> {
  return new Promise((resolve) => {
    const check = (): void => (test(received()) ? resolve(received()) : void setImmediate(check));
    check();
  });
}

test('a reader that stops reading holds at most its window: no WINDOW_UPDATE until it reads again', async () => {
  let received!: () => { type: number; flags: number; streamId: number; payload: Buffer }[];
  let send!: (...frames: Buffer[]) => void;
  const ready = new Promise<void>((resolve) => {
    void handServer((s, r) => {
      send = s;
      received = r;
      resolve();
    }).then((h) => {
      const s = session(h.port);
      client = { s, h };
      stream = s.request({ ':method': 'POST', ':path': '/x', ':authority': 'b' });
      stream.pause();
    });
  });
  let client!: { s: ClientSession; h: { close: () => void } };
  let stream!: ClientStream;
  await ready;
  try {
    // The whole stream window (256 KiB) in 16 KiB frames, then a PING: its ACK
    // comes after anything the DATA made the client send.
    const chunk = Buffer.alloc(16 * 1024, 7);
    for (let i = 0; i < LIMITS.streamWindow / chunk.length; i++) send(frame(FrameType.DATA, 0, 1, chunk));
    send(frame(FrameType.PING, 0, 0, Buffer.alloc(8, 1)));
    const before = await framesWhen(received, (f) => f.some((x) => x.type === FrameType.PING && x.flags & Flag.ACK));
    expect(before.filter((x) => x.type === FrameType.WINDOW_UPDATE && x.streamId === 1)).toEqual([]);
    // One byte more than the window: a stream error, not more memory.
    send(frame(FrameType.DATA, 0, 1, Buffer.alloc(1)));
    const reset = await framesWhen(received, (f) => f.some((x) => x.type === FrameType.RST_STREAM && x.streamId === 1));
    expect(reset.find((x) => x.type === FrameType.RST_STREAM)!.payload.readUInt32BE(0)).toBe(ErrorCode.FLOW_CONTROL_ERROR);
  } finally {
    client.s.destroy();
    client.h.close();
  }
});

test('the window is given back once the reader reads', async () => {
  let received!: () => { type: number; flags: number; streamId: number; payload: Buffer }[];
  let send!: (...frames: Buffer[]) => void;
  let stream!: ClientStream;
  let s!: ClientSession;
  let h!: { close: () => void };
  await new Promise<void>((resolve) => {
    void handServer((sendFrames, r) => {
      send = sendFrames;
      received = r;
      resolve();
    }).then((server) => {
      h = server;
      s = session(server.port);
      stream = s.request({ ':method': 'POST', ':path': '/x', ':authority': 'b' });
      stream.pause();
    });
  });
  try {
    const chunk = Buffer.alloc(16 * 1024, 7);
    for (let i = 0; i < LIMITS.streamWindow / chunk.length; i++) send(frame(FrameType.DATA, 0, 1, chunk));
    let got = 0;
    stream.on('data', (d: Buffer) => (got += d.length));
    stream.resume();
    const frames = await framesWhen(received, (f) => f.some((x) => x.type === FrameType.WINDOW_UPDATE && x.streamId === 1));
    const credit = frames.filter((x) => x.type === FrameType.WINDOW_UPDATE && x.streamId === 1).reduce((n, x) => n + x.payload.readUInt32BE(0), 0);
    expect(credit).toBeGreaterThanOrEqual(LIMITS.streamWindow / 2);
    expect(got).toBeGreaterThanOrEqual(credit);
  } finally {
    s.destroy();
    h.close();
  }
});

test('a response header value with CR or LF never reaches the caller: the stream is reset', async () => {
  const server = net.createServer((socket) => {
    let seen = false;
    socket.on('error', () => undefined);
    socket.on('data', () => {
      if (seen) return;
      seen = true;
      socket.write(
        Buffer.concat([
          frame(FrameType.SETTINGS, 0, 0),
          frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, encodeHeaders([[':status', '200'], ['grpc-message', 'ok\r\n::warning::x']])),
        ]),
      );
    });
  });
  const port = await listen(server);
  const s = session(port);
  try {
    const stream = s.request({ ':method': 'POST', ':path': '/x', ':authority': 'b' });
    let responded = false;
    stream.on('response', () => (responded = true));
    const r = await collect(stream);
    expect(responded).toBe(false);
    expect(r.rstCode).toBe(ErrorCode.PROTOCOL_ERROR);
  } finally {
    s.destroy();
    server.close();
  }
});

test('a server that does not speak HTTP/2 fails the connection with one clear error', async () => {
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
  });
  const port = await listen(server);
  const s = new ClientSession(net.connect({ host: '127.0.0.1', port }), 'http', LIMITS);
  const error = new Promise<Error>((resolve) => s.once('error', resolve));
  const r = collect(s.request({ ':method': 'POST', ':path': '/x', ':authority': 'b' }));
  try {
    expect((await error).message).toBe('HTTP/2 error from the peer: it does not speak HTTP/2 (its first frame is not SETTINGS)');
    const closed = await r;
    expect(closed.error).toMatch(/does not speak HTTP\/2/);
    expect(closed.rstCode).toBe(ErrorCode.CANCEL);
  } finally {
    server.close();
  }
});
