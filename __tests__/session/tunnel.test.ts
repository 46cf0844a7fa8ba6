// The tunnel socket over a fake Session call: how writes become BytesMessages
// and how the socket's end maps onto the call.
import { EventEmitter } from 'node:events';
import type { BytesMessage } from '../../src/protocol/index.js';
import { TunnelSocket, type SessionCall } from '../../src/session/tunnel.js';

class FakeSessionCall extends EventEmitter {
  readonly written: Buffer[] = [];
  ended = false;
  cancelled = false;
  writableEnded = false;
  destroyed = false;
  /** What write() answers: false makes the socket wait for 'drain'. */
  accept = true;

  write(m: BytesMessage): boolean {
    this.written.push(Buffer.from(m.data!));
    return this.accept;
  }

  end(): void {
    this.ended = true;
    this.writableEnded = true;
  }

  cancel(): void {
    this.cancelled = true;
  }

  pause(): void {}
  resume(): void {}
}

function tunnel(): { call: FakeSessionCall; socket: TunnelSocket } {
  const call = new FakeSessionCall();
  return { call, socket: new TunnelSocket(call as unknown as SessionCall) };
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

  it('waits for the call to drain before completing a write', async () => {
    const { call, socket } = tunnel();
    call.accept = false;
    let done = false;
    socket.write(Buffer.from('a'), () => (done = true));
    await flush();
    expect(call.written).toHaveLength(1);
    expect(done).toBe(false);
    call.accept = true;
    call.emit('drain');
    await flush();
    expect(done).toBe(true);
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

  it('does not end a call that already ended', async () => {
    const { call, socket } = tunnel();
    call.writableEnded = true;
    socket.end();
    await flush();
    expect(call.ended).toBe(false);
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
    call.emit('data', { data: Buffer.from('hello') });
    call.emit('end');
    await ended;
    expect(Buffer.concat(got).toString()).toBe('hello');
  });
});
