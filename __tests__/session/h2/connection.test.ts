// Our HTTP/2 server connection, driven frame by frame: the test plays the
// daemon's client on an in-memory link and reads back every frame we write.
// (server.test.ts and limits.test.ts drive the same connection with Node's
// and grpc-js's clients; the e2e suite with the daemons' grpc-go.)
import { ServerConnection, type ByteLink, type ConnectionLimits, type ServerStream } from '../../../src/session/h2/connection.js';
import { HpackDecoder, encodeHeaders, type HeaderField } from '../../../src/common/h2/hpack.js';
import { frame } from '../../helpers/h2-frames.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const T = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PUSH_PROMISE: 5, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 };
const E = { NO_ERROR: 0, PROTOCOL_ERROR: 1, FLOW_CONTROL_ERROR: 3, FRAME_SIZE_ERROR: 6, REFUSED_STREAM: 7, COMPRESSION_ERROR: 9, ENHANCE_YOUR_CALM: 0xb };

interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function settings(pairs: [number, number][]): Buffer {
  return frame(T.SETTINGS, 0, 0, Buffer.concat(pairs.map(([id, v]) => Buffer.concat([Buffer.from([id >> 8, id & 0xff]), u32(v)]))));
}

const REQUEST: HeaderField[] = [
  [':method', 'POST'],
  [':scheme', 'http'],
  [':path', '/svc/Method'],
  [':authority', 'localhost'],
  ['content-type', 'application/grpc'],
];

const LIMITS: ConnectionLimits = { maxConcurrentStreams: 100, maxHeaderListBytes: 4096, streamWindow: 65_535, streamBuffer: 1 << 20 };

/** A connection on an in-memory link, and the client's view of it. */
class Peer {
  readonly out: Frame[] = [];
  readonly streams: ServerStream[] = [];
  readonly requests: HeaderField[][] = [];
  ended = false;
  destroyed = false;
  /** What link.write returns: false plays a link that stopped draining. */
  room = true;
  /** While set, the link keeps its writes' callbacks (it still holds their buffers) until releaseWrites(). */
  holdWrites = false;
  private heldWrites: (() => void)[] = [];
  private raw = Buffer.alloc(0);
  private drain: (() => void) | undefined;
  readonly connection: ServerConnection;

  constructor(limits: ConnectionLimits = LIMITS, onStream?: (s: ServerStream, fields: HeaderField[]) => void) {
    const link: ByteLink = {
      write: (chunks, onWritten) => {
        this.raw = Buffer.concat([this.raw, ...chunks]);
        this.parse();
        if (onWritten) {
          if (this.holdWrites) this.heldWrites.push(onWritten);
          else onWritten();
        }
        return this.room;
      },
      onDrain: (l) => (this.drain = l),
      end: () => (this.ended = true),
      destroy: () => (this.destroyed = true),
    };
    this.connection = new ServerConnection(link, limits, {
      onStream: (s, fields) => {
        this.streams.push(s);
        this.requests.push(fields);
        onStream?.(s, fields);
      },
    });
  }

  private parse(): void {
    while (this.raw.length >= 9) {
      const length = this.raw.readUIntBE(0, 3);
      if (this.raw.length < 9 + length) break;
      this.out.push({ type: this.raw[3]!, flags: this.raw[4]!, stream: this.raw.readUInt32BE(5), payload: Buffer.from(this.raw.subarray(9, 9 + length)) });
      this.raw = this.raw.subarray(9 + length);
    }
  }

  send(...bytes: Buffer[]): void {
    this.connection.receive(Buffer.concat(bytes));
  }

  /** Preface and SETTINGS (optionally with values). */
  start(pairs: [number, number][] = []): this {
    this.send(PREFACE, settings(pairs));
    return this;
  }

  open(stream: number, fields: HeaderField[] = REQUEST, endStream = false): void {
    this.send(frame(T.HEADERS, 0x4 | (endStream ? 1 : 0), stream, encodeHeaders(fields)));
  }

  releaseWrites(): void {
    for (const f of this.heldWrites.splice(0)) f();
  }

  drained(): void {
    this.room = true;
    this.drain?.();
  }

  frames(type: number, stream?: number): Frame[] {
    return this.out.filter((f) => f.type === type && (stream === undefined || f.stream === stream));
  }

  dataBytes(stream: number): number {
    return this.frames(T.DATA, stream).reduce((n, f) => n + f.payload.length, 0);
  }

  goaway(): number | undefined {
    const g = this.frames(T.GOAWAY)[0];
    return g?.payload.readUInt32BE(4);
  }

  resets(stream: number): number[] {
    return this.frames(T.RST_STREAM, stream).map((f) => f.payload.readUInt32BE(0));
  }
}

const tick = (): Promise<void> => new Promise((r) => process.nextTick(r));

test('opens with its SETTINGS, acknowledges the client’s, and answers a PING within the same call', () => {
  const p = new Peer();
  const ours = p.frames(T.SETTINGS)[0]!;
  expect(ours.flags).toBe(0);
  const values = new Map<number, number>();
  for (let at = 0; at < ours.payload.length; at += 6) values.set(ours.payload.readUInt16BE(at), ours.payload.readUInt32BE(at + 2));
  expect(Object.fromEntries(values)).toEqual({ 3: 100, 4: 65_535, 6: 4096 });
  p.start();
  expect(p.frames(T.SETTINGS).filter((f) => f.flags === 1)).toHaveLength(1);
  p.send(frame(T.PING, 0, 0, Buffer.from('12345678')));
  const ack = p.frames(T.PING)[0]!;
  expect([ack.flags, ack.payload.toString()]).toEqual([1, '12345678']);
});

test('sends no more than the stream window allows, and the rest as soon as the window grows', async () => {
  const p = new Peer().start([[4, 1000]]);
  p.open(1);
  const s = p.streams[0]!;
  s.respond();
  s.write(Buffer.alloc(5000, 7));
  await tick();
  expect(p.dataBytes(1)).toBe(1000);
  p.send(frame(T.WINDOW_UPDATE, 0, 1, u32(1500)));
  // Sent in the call that delivered the update, not a turn later.
  expect(p.dataBytes(1)).toBe(2500);
  // A new initial window applies to open streams too (RFC 9113 §6.9.2): 1000 → 3000 adds 2000.
  p.send(settings([[4, 3000]]));
  expect(p.dataBytes(1)).toBe(4500);
  p.send(frame(T.WINDOW_UPDATE, 0, 1, u32(10_000)));
  expect(p.dataBytes(1)).toBe(5000);
  expect(Buffer.concat(p.frames(T.DATA, 1).map((f) => f.payload)).equals(Buffer.alloc(5000, 7))).toBe(true);
});

test('a write is reported sent only once the link has written it on (until then its buffer may still be read)', async () => {
  const p = new Peer().start();
  p.open(1);
  const s = p.streams[0]!;
  s.respond();
  p.holdWrites = true;
  const sent: string[] = [];
  s.write(Buffer.alloc(100, 1), () => sent.push('framed at once'));
  s.write(Buffer.alloc(100_000, 2), () => sent.push('held by the window'));
  await tick();
  // Both are with the link or waiting for the window: neither is reported.
  expect(p.dataBytes(1)).toBe(65_535);
  expect(sent).toEqual([]);
  p.releaseWrites();
  expect(sent).toEqual(['framed at once']);
  p.holdWrites = false;
  p.send(frame(T.WINDOW_UPDATE, 0, 0, u32(100_000)), frame(T.WINDOW_UPDATE, 0, 1, u32(100_000)));
  expect(sent).toEqual(['framed at once', 'held by the window']);
});

test('the connection window bounds all streams together; frames stay within the maximum frame size', async () => {
  const p = new Peer().start([[4, 1 << 20]]);
  p.open(1);
  p.open(3);
  for (const s of p.streams) {
    s.respond();
    s.write(Buffer.alloc(50_000, 1));
  }
  await tick();
  expect(p.dataBytes(1) + p.dataBytes(3)).toBe(65_535);
  expect(Math.max(...p.frames(T.DATA).map((f) => f.payload.length))).toBe(16_384);
  p.send(frame(T.WINDOW_UPDATE, 0, 0, u32(10)));
  expect(p.dataBytes(1) + p.dataBytes(3)).toBe(65_545);
  p.send(frame(T.WINDOW_UPDATE, 0, 0, u32(1 << 20)));
  expect([p.dataBytes(1), p.dataBytes(3)]).toEqual([50_000, 50_000]);
});

test('trailers follow the last byte of data, even when the window held it back; then the stream is reset if the client has not ended', async () => {
  const p = new Peer().start([[4, 100]]);
  p.open(1);
  const s = p.streams[0]!;
  const closed = new Promise<void>((r) => s.on('close', () => r()));
  s.respond();
  s.write(Buffer.alloc(300, 2));
  s.finish(0, '', '');
  await tick();
  expect(p.dataBytes(1)).toBe(100);
  expect(p.frames(T.HEADERS, 1)).toHaveLength(1); // the response headers only
  p.send(frame(T.WINDOW_UPDATE, 0, 1, u32(500)));
  const frames = p.out.filter((f) => f.stream === 1).map((f) => f.type);
  expect(frames).toEqual([T.HEADERS, T.DATA, T.DATA, T.HEADERS, T.RST_STREAM]);
  const trailers = p.frames(T.HEADERS, 1)[1]!;
  expect(trailers.flags & 0x1).toBe(1);
  expect(new HpackDecoder().decode(trailers.payload, 1000)).toEqual([['grpc-status', '0']]);
  expect(p.resets(1)).toEqual([E.NO_ERROR]);
  await closed;
  expect(p.connection.openStreams).toBe(0);
});

test('a status without response headers goes out as one trailers-only HEADERS frame', async () => {
  const p = new Peer().start();
  p.open(1, REQUEST, true);
  p.streams[0]!.finish(12, 'unknown method', 'unknown%20method');
  await tick();
  const h = p.frames(T.HEADERS, 1);
  expect(h).toHaveLength(1);
  expect(h[0]!.flags & 0x5).toBe(0x5);
  expect(new HpackDecoder().decode(h[0]!.payload, 1000)).toEqual([
    [':status', '200'],
    ['content-type', 'application/grpc'],
    ['grpc-status', '12'],
    ['grpc-message', 'unknown%20method'],
  ]);
  // The client had ended: nothing to reset.
  expect(p.resets(1)).toEqual([]);
});

test('a paused stream gets no window back until it resumes', async () => {
  const p = new Peer().start();
  p.open(1);
  const s = p.streams[0]!;
  const got: number[] = [];
  s.on('data', (d: Buffer) => got.push(d.length));
  s.pause();
  for (const size of [13_000, 13_000, 14_000]) p.send(frame(T.DATA, 0, 1, Buffer.alloc(size)));
  expect(got).toEqual([13_000, 13_000, 14_000]);
  expect(p.frames(T.WINDOW_UPDATE, 1)).toEqual([]);
  // The connection's window is given back whatever the stream does.
  expect(p.frames(T.WINDOW_UPDATE, 0)).toHaveLength(1);
  s.resume();
  await tick();
  expect(p.frames(T.WINDOW_UPDATE, 1).map((f) => f.payload.readUInt32BE(0))).toEqual([40_000]);
});

test('received data is delivered the same however the bytes are split', () => {
  const whole = Buffer.concat([
    PREFACE,
    settings([]),
    frame(T.HEADERS, 0x4, 1, encodeHeaders(REQUEST)),
    frame(T.DATA, 0x8, 1, Buffer.concat([Buffer.from([3]), Buffer.from('hello'), Buffer.alloc(3)])), // padded
    frame(T.DATA, 0x1, 1, Buffer.from(' world')),
  ]);
  for (const step of [1, 2, 7, 100]) {
    let body = '';
    let ended = false;
    const p = new Peer(LIMITS, (s) => {
      s.on('data', (d: Buffer) => (body += d.toString()));
      s.on('end', () => (ended = true));
    });
    for (let at = 0; at < whole.length; at += step) p.connection.receive(whole.subarray(at, at + step));
    expect([step, body, ended, p.goaway()]).toEqual([step, 'hello world', true, undefined]);
  }
});

test.each([
  ['a wrong preface', [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')], E.PROTOCOL_ERROR],
  ['a first frame other than SETTINGS', [PREFACE, frame(T.PING, 0, 0, Buffer.alloc(8))], E.PROTOCOL_ERROR],
  ['a frame above 16 KiB', [PREFACE, settings([]), frame(T.DATA, 0, 1, Buffer.alloc(16_385))], E.FRAME_SIZE_ERROR],
  ['HEADERS on an even stream', [PREFACE, settings([]), frame(T.HEADERS, 0x4, 2, encodeHeaders(REQUEST))], E.PROTOCOL_ERROR],
  ['CONTINUATION without HEADERS', [PREFACE, settings([]), frame(T.CONTINUATION, 0x4, 1, Buffer.alloc(1))], E.PROTOCOL_ERROR],
  [
    'a header block interrupted by another frame',
    [PREFACE, settings([]), frame(T.HEADERS, 0, 1, encodeHeaders(REQUEST)), frame(T.PING, 0, 0, Buffer.alloc(8))],
    E.PROTOCOL_ERROR,
  ],
  ['DATA on a stream never opened', [PREFACE, settings([]), frame(T.DATA, 0, 5, Buffer.alloc(1))], E.PROTOCOL_ERROR],
  ['PUSH_PROMISE from a client', [PREFACE, settings([]), frame(T.PUSH_PROMISE, 0x4, 1, Buffer.alloc(4))], E.PROTOCOL_ERROR],
  ['a block HPACK cannot decode', [PREFACE, settings([]), frame(T.HEADERS, 0x4, 1, Buffer.from([0x80]))], E.COMPRESSION_ERROR],
  [
    'a connection window overflow',
    [PREFACE, settings([]), frame(T.WINDOW_UPDATE, 0, 0, u32(2 ** 31 - 1))],
    E.FLOW_CONTROL_ERROR,
  ],
])('%s ends the connection with GOAWAY', (_what, bytes, code) => {
  // A stream window larger than the connection's, so only the connection's can be exceeded.
  const p = new Peer({ ...LIMITS, streamWindow: 1 << 20 });
  p.send(...bytes);
  expect(p.goaway()).toBe(code);
  expect(p.destroyed).toBe(true);
});

test('a header block above the bound ends the connection before it is decoded', () => {
  const p = new Peer({ ...LIMITS, maxHeaderListBytes: 100 });
  p.start();
  const piece = Buffer.alloc(16_384, 0x82);
  p.send(frame(T.HEADERS, 0, 1, piece));
  // 1 MiB beyond the list bound, in CONTINUATION frames.
  for (let i = 0; i < 64 && !p.destroyed; i++) p.send(frame(T.CONTINUATION, 0, 1, piece));
  expect(p.goaway()).toBe(E.ENHANCE_YOUR_CALM);
  expect(p.streams).toEqual([]);
});

test('stream errors reset only the stream: data beyond its window, a header list over the bound, a request without a path, fields HTTP/2 forbids', () => {
  const p = new Peer({ ...LIMITS, streamWindow: 1000 }).start();
  p.open(1);
  p.send(frame(T.DATA, 0, 1, Buffer.alloc(1001)));
  expect(p.resets(1)).toEqual([E.FLOW_CONTROL_ERROR]);
  p.open(3, [...REQUEST, ['x-big', 'y'.repeat(5000)]]);
  expect(p.resets(3)).toEqual([E.ENHANCE_YOUR_CALM]);
  p.open(5, REQUEST.filter(([n]) => n !== ':path'));
  expect(p.resets(5)).toEqual([E.PROTOCOL_ERROR]);
  // Fields HTTP/2 does not allow (RFC 9113 §8.2.1): a value that could split a line, an upper-case or empty name.
  p.open(7, [...REQUEST, ['dir-name', 'context\n::error::spoofed']]);
  p.open(9, [...REQUEST, ['x-nul', 'a\0b']]);
  p.open(11, [...REQUEST, ['X-Upper', 'v']]);
  p.open(13, [...REQUEST, ['', 'v']]);
  expect([7, 9, 11, 13].map((id) => p.resets(id))).toEqual([[E.PROTOCOL_ERROR], [E.PROTOCOL_ERROR], [E.PROTOCOL_ERROR], [E.PROTOCOL_ERROR]]);
  expect(p.requests).toHaveLength(1); // only stream 1 reached the server
  p.open(15, [...REQUEST, ['x-latin1', 'caf\xe9 \t tab']]);
  expect(p.requests).toHaveLength(2);
  expect(p.goaway()).toBeUndefined();
});

test('control frames owed to a client that stopped reading are bounded', () => {
  const p = new Peer().start();
  p.room = false;
  const ping = frame(T.PING, 0, 0, Buffer.alloc(8));
  p.send(ping); // the link reports itself full from here on
  for (let i = 0; i < 20 && !p.destroyed; i++) p.send(Buffer.concat(Array.from({ length: 1000 }, () => ping)));
  expect(p.goaway()).toBe(E.ENHANCE_YOUR_CALM);
});

test('a client that reads gets every PING answered, however many', () => {
  const p = new Peer().start();
  const ping = frame(T.PING, 0, 0, Buffer.alloc(8));
  for (let i = 0; i < 20; i++) p.send(Buffer.concat(Array.from({ length: 1000 }, () => ping)));
  expect(p.frames(T.PING)).toHaveLength(20_000);
  expect(p.destroyed).toBe(false);
});

test('data waits while the link is full and goes out when it drains', async () => {
  const p = new Peer().start();
  p.open(1);
  const s = p.streams[0]!;
  s.respond();
  p.room = false;
  s.write(Buffer.alloc(10, 1));
  await tick();
  expect(p.dataBytes(1)).toBe(10); // the write that found the link full still went out
  s.write(Buffer.alloc(20, 1));
  await tick();
  expect(p.dataBytes(1)).toBe(10);
  p.drained();
  expect(p.dataBytes(1)).toBe(30);
});

test('shutdown: GOAWAY naming the last stream, new streams refused, the link ended when the open ones close', async () => {
  const p = new Peer().start();
  p.open(1);
  p.connection.shutdown();
  const g = p.frames(T.GOAWAY)[0]!;
  expect([g.payload.readUInt32BE(0), g.payload.readUInt32BE(4)]).toEqual([1, E.NO_ERROR]);
  p.open(3);
  expect(p.resets(3)).toEqual([E.REFUSED_STREAM]);
  expect(p.ended).toBe(false);
  p.streams[0]!.finish(0, '', '');
  await tick();
  expect(p.ended).toBe(true);
  expect(p.connection.closed).toBe(true);
});
