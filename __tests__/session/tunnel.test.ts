// The tunnel socket over a fake Session call: how writes become framed
// BytesMessages on the call's stream, and how the socket's end maps onto the call.
import { Duplex } from 'node:stream';
import { FrameDecoder } from '../../src/common/grpc-frames.js';
import { GrpcError } from '../../src/common/grpc-call.js';
import { Status } from '../../src/common/grpc-status.js';
import { codec, Messages, type BytesMessage } from '../../src/protocol/index.js';
import { TunnelSocket, type SessionCall } from '../../src/session/tunnel.js';

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

function tunnel(): { call: FakeSessionCall; socket: TunnelSocket } {
  const call = new FakeSessionCall();
  const socket = new TunnelSocket();
  socket.attach(call);
  return { call, socket };
}

const flush = () => new Promise<void>((r) => setImmediate(r));

describe('TunnelSocket writes', () => {
  it('packs the buffers of one batched write into a single message', async () => {
    const { call, socket } = tunnel();
    socket.cork();
    for (let i = 0; i < 10; i++) socket.write(Buffer.from(`frame${i};`));
    socket.uncork();
    await flush();
    expect(call.written).toHaveLength(1);
    expect(call.written[0]!.toString()).toBe(Array.from({ length: 10 }, (_, i) => `frame${i};`).join(''));
  });

  it('keeps messages at or below 1 MiB, in order', async () => {
    const { call, socket } = tunnel();
    const big = Buffer.alloc(2.5 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    socket.cork();
    socket.write(Buffer.from('head'));
    socket.write(big);
    socket.uncork();
    await flush();
    expect(call.written.map((b) => b.length)).toEqual([1024 * 1024, 1024 * 1024, 0.5 * 1024 * 1024 + 4]);
    expect(Buffer.concat(call.written).equals(Buffer.concat([Buffer.from('head'), big]))).toBe(true);
  });

  it('completes writes while the stream holds less than 1 MiB, and waits for it to drain beyond', async () => {
    const { call, socket } = tunnel();
    call.stream.hold = true;
    let small = false;
    socket.write(Buffer.alloc(1000), () => (small = true));
    await flush();
    expect(small).toBe(true);
    let big = false;
    socket.write(Buffer.alloc(2 * 1024 * 1024), () => (big = true));
    await flush();
    expect(call.stream.writableLength).toBeGreaterThan(2 * 1024 * 1024);
    expect(big).toBe(false);
    call.stream.release();
    await flush();
    expect(big).toBe(true);
    expect(call.written.reduce((n, b) => n + b.length, 0)).toBe(1000 + 2 * 1024 * 1024);
  });

  it('writes the parts of a message behind its header without joining them', async () => {
    const { call, socket } = tunnel();
    socket.cork();
    for (let i = 0; i < 3; i++) socket.write(Buffer.alloc(100, i));
    socket.uncork();
    await flush();
    // One batch: the header (gRPC prefix, tag, length), then the three parts as given.
    expect(call.stream.writes).toEqual([4]);
    expect(call.written).toEqual([Buffer.concat([Buffer.alloc(100, 0), Buffer.alloc(100, 1), Buffer.alloc(100, 2)])]);
  });
});

describe('TunnelSocket end and destroy', () => {
  it('half-closes the call when the socket is ended (teardown after GOAWAY)', async () => {
    const { call, socket } = tunnel();
    socket.write(Buffer.from('goaway'));
    socket.end();
    await flush();
    expect(call.written.map(String)).toEqual(['goaway']);
    expect(call.ended).toBe(true);
    expect(call.cancelled).toBe(false);
  });

  it('cancels the call when destroyed', () => {
    const { call, socket } = tunnel();
    socket.destroy();
    expect(call.cancelled).toBe(true);
  });

  it('ends its readable side when the daemon ends the call', async () => {
    const { call, socket } = tunnel();
    const got: Buffer[] = [];
    const ended = new Promise<void>((r) => socket.on('end', r));
    socket.on('data', (d: Buffer) => got.push(d));
    socket.receive(bytesMessage.encode({ data: Buffer.from('hello') }));
    call.finish(undefined);
    await ended;
    expect(Buffer.concat(got).toString()).toBe('hello');
  });

  it('fails when the call ends with an error', async () => {
    const { call, socket } = tunnel();
    const failed = new Promise<Error>((r) => socket.on('error', r));
    call.finish(new GrpcError(Status.UNAVAILABLE, 'gone'));
    expect((await failed).message).toBe('14 UNAVAILABLE: gone');
  });

  it('pauses the call while the socket is not read, and resumes it when read', async () => {
    const { call, socket } = tunnel();
    const payload = Buffer.alloc(64 * 1024);
    socket.receive(bytesMessage.encode({ data: payload }));
    expect(call.stream.paused).toBe(true);
    socket.read();
    await flush();
    expect(call.stream.paused).toBe(false);
  });
});
