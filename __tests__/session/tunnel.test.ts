// The tunnel link over a fake Session call: how writes become framed
// BytesMessages on the call's stream, how received messages reach the
// connection, and how the link's end maps onto the call.
import { Duplex } from 'node:stream';
import { FrameDecoder } from '../../src/common/grpc-frames.js';
import { GrpcError } from '../../src/common/grpc-call.js';
import { Status } from '../../src/common/grpc-status.js';
import { codec, Messages, type BytesMessage } from '../../src/protocol/index.js';
import { openSession } from '../../src/session/session.js';
import { healthService } from '../../src/session/services.js';
import { TunnelLink, type SessionCall } from '../../src/session/tunnel.js';

const bytesMessage = codec<BytesMessage>(Messages.BytesMessage);

/** The call's HTTP/2 stream: records what is written, and holds it until released when `hold` is set. */
class FakeStream extends Duplex {
  readonly received: Buffer[] = [];
  readonly writes: number[] = [];
  hold = false;
  private held: (() => void)[] = [];
  paused = false;

  constructor() {
    super({ highWaterMark: 16 * 1024 });
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.received.push(Buffer.from(chunk));
    if (this.hold) this.held.push(done);
    else done();
  }

  override _writev(chunks: { chunk: Buffer }[], done: () => void): void {
    this.writes.push(chunks.length);
    for (const c of chunks) this.received.push(Buffer.from(c.chunk));
    if (this.hold) this.held.push(done);
    else done();
  }

  release(): void {
    this.hold = false;
    for (const done of this.held.splice(0)) done();
  }

  override pause(): this {
    this.paused = true;
    return this;
  }

  override resume(): this {
    this.paused = false;
    return this;
  }
}

class FakeSessionCall implements SessionCall {
  readonly stream = new FakeStream();
  ended = false;
  cancelled = false;
  readonly done: Promise<GrpcError | undefined>;
  finish!: (outcome: GrpcError | undefined) => void;

  constructor() {
    this.done = new Promise((resolve) => (this.finish = resolve));
  }

  /** The payloads of the BytesMessages written so far, decoded from the framed bytes. */
  get written(): Buffer[] {
    const messages = new FrameDecoder(8 * 1024 * 1024).push(Buffer.concat(this.stream.received));
    return messages.map((m) => bytesMessage.decode(m).data ?? Buffer.alloc(0));
  }

  end(): void {
    this.ended = true;
  }

  cancel(): void {
    this.cancelled = true;
  }
}

interface Tunnel {
  call: FakeSessionCall;
  link: TunnelLink;
  /** What the link handed to its connection. */
  received: Buffer[];
  /** How the call ended, once it has. */
  outcome: Promise<GrpcError | undefined>;
}

function tunnel(): Tunnel {
  const call = new FakeSessionCall();
  const link = new TunnelLink();
  const received: Buffer[] = [];
  let ended!: (failure: GrpcError | undefined) => void;
  const outcome = new Promise<GrpcError | undefined>((r) => (ended = r));
  link.attach(call);
  link.deliverTo((bytes) => received.push(bytes), ended);
  return { call, link, received, outcome };
}

const flush = () => new Promise<void>((r) => setImmediate(r));

describe('TunnelLink writes', () => {
  it('packs the buffers of one write into a single message', async () => {
    const { call, link } = tunnel();
    link.write(Array.from({ length: 10 }, (_, i) => Buffer.from(`frame${i};`)));
    await flush();
    expect(call.written).toHaveLength(1);
    expect(call.written[0]!.toString()).toBe(Array.from({ length: 10 }, (_, i) => `frame${i};`).join(''));
  });

  it('keeps messages at or below 1 MiB, in order', async () => {
    const { call, link } = tunnel();
    const big = Buffer.alloc(2.5 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    link.write([Buffer.from('head'), big]);
    await flush();
    expect(call.written.map((b) => b.length)).toEqual([1024 * 1024, 1024 * 1024, 0.5 * 1024 * 1024 + 4]);
    expect(Buffer.concat(call.written).equals(Buffer.concat([Buffer.from('head'), big]))).toBe(true);
  });

  it('reports room while the stream holds less than 1 MiB, and calls its drain listener when it drains beyond', async () => {
    const { call, link } = tunnel();
    let drains = 0;
    link.onDrain(() => drains++);
    call.stream.hold = true;
    expect(link.write([Buffer.alloc(1000)])).toBe(true);
    expect(link.write([Buffer.alloc(2 * 1024 * 1024)])).toBe(false);
    expect(call.stream.writableLength).toBeGreaterThan(2 * 1024 * 1024);
    await flush();
    expect(drains).toBe(0);
    call.stream.release();
    await flush();
    expect(drains).toBe(1);
    expect(call.written.reduce((n, b) => n + b.length, 0)).toBe(1000 + 2 * 1024 * 1024);
  });

  it('reports a write as written only once the call’s stream has written all of it on', async () => {
    const { call, link } = tunnel();
    call.stream.hold = true;
    let written = 0;
    link.write([Buffer.from('a'), Buffer.alloc(1.5 * 1024 * 1024, 1)], () => written++);
    await flush();
    expect(written).toBe(0);
    call.stream.release();
    await flush();
    expect(written).toBe(1);
  });

  it('reports a write made once the call’s stream is gone as written at once: it is dropped, nothing holds it', () => {
    const { call, link } = tunnel();
    call.stream.on('error', () => undefined);
    call.stream.destroy(new Error('call gone'));
    let written = 0;
    link.write([Buffer.alloc(10)], () => written++);
    expect(written).toBe(1);
  });

  it('writes the parts of a message behind its header without joining them', async () => {
    const { call, link } = tunnel();
    link.write([0, 1, 2].map((i) => Buffer.alloc(100, i)));
    await flush();
    // One batch: the header (gRPC prefix, tag, length), then the three parts as given.
    expect(call.stream.writes).toEqual([4]);
    expect(call.written).toEqual([Buffer.concat([Buffer.alloc(100, 0), Buffer.alloc(100, 1), Buffer.alloc(100, 2)])]);
  });
});

describe('TunnelLink reads, end and destroy', () => {
  it('hands each message’s payload to the connection, in order', () => {
    const { link, received } = tunnel();
    link.receive(bytesMessage.encode({ data: Buffer.from('hel') }));
    link.receive(bytesMessage.encode({}));
    link.receive(bytesMessage.encode({ data: Buffer.from('lo') }));
    expect(received.map(String)).toEqual(['hel', 'lo']);
  });

  it('half-closes the call when ended (teardown after GOAWAY)', async () => {
    const { call, link } = tunnel();
    link.write([Buffer.from('goaway')]);
    link.end();
    await flush();
    expect(call.written.map(String)).toEqual(['goaway']);
    expect(call.ended).toBe(true);
    expect(call.cancelled).toBe(false);
  });

  it('cancels the call when destroyed', () => {
    const { call, link } = tunnel();
    link.destroy();
    expect(call.cancelled).toBe(true);
  });

  it('reports how the call ended: OK, or its error', async () => {
    const ok = tunnel();
    ok.call.finish(undefined);
    expect(await ok.outcome).toBeUndefined();
    const failed = tunnel();
    failed.call.finish(new GrpcError(Status.UNAVAILABLE, 'gone'));
    expect((await failed.outcome)?.message).toBe('14 UNAVAILABLE: gone');
  });

  it('drops writes once the call’s stream has ended, without throwing', () => {
    const { call, link } = tunnel();
    call.stream.end();
    expect(link.write([Buffer.from('late')])).toBe(true);
  });
});

describe('a session over the tunnel', () => {
  it('opens with our SETTINGS frame on the call, before anything from the daemon (the HTTP/2 server preface)', async () => {
    const call = new FakeSessionCall();
    const session = openSession({ endpoint: { address: 'tcp://test' }, session: () => call }, [healthService()], { sharedKey: 'k' });
    await flush();
    const first = call.written[0]!;
    // A SETTINGS frame (type 4) without ACK on stream 0, announcing our stream limit.
    expect([first[3], first[4], first.readUInt32BE(5)]).toEqual([4, 0, 0]);
    const settings = new Map<number, number>();
    for (let at = 9; at < 9 + first.readUIntBE(0, 3); at += 6) settings.set(first.readUInt16BE(at), first.readUInt32BE(at + 2));
    expect(settings.get(3)).toBe(100);
    call.finish(undefined);
    await session.close();
  });
});

