// Turns the Control.Session bidi call into a byte stream. The daemon runs an
// HTTP/2 client over it, so the BytesMessage boundaries mean nothing: we push
// received payloads as bytes and wrap our writes in BytesMessages.
import type * as grpc from '@grpc/grpc-js';
import { Duplex } from 'node:stream';
import type { BytesMessage } from '../protocol/index.js';

/** Old daemons receive at most 4 MiB per message; stay well below. */
const MAX_CHUNK = 1024 * 1024;

export type SessionCall = grpc.ClientDuplexStream<BytesMessage, BytesMessage>;

export class TunnelSocket extends Duplex {
  constructor(private readonly call: SessionCall) {
    super({ allowHalfOpen: true });
    call.on('data', (m: BytesMessage) => {
      if (m.data?.length && !this.push(m.data)) call.pause();
    });
    call.on('end', () => this.push(null));
    call.on('error', (err: Error) => this.destroy(err));
  }

  override _read(): void {
    this.call.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    void this.send(chunk).then(() => done(), done);
  }

  /**
   * Never half-close the call: the daemon would read EOF, its single HTTP/2
   * connection would die and the session with it. Teardown cancels instead.
   */
  override _final(done: (err?: Error | null) => void): void {
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.call.cancel();
    done(err);
  }

  private async send(chunk: Buffer): Promise<void> {
    for (let offset = 0; offset < chunk.length; offset += MAX_CHUNK) {
      const piece = chunk.subarray(offset, offset + MAX_CHUNK);
      if (!this.call.write({ data: piece })) {
        await new Promise<void>((resolve) => this.call.once('drain', resolve));
      }
    }
  }
}
