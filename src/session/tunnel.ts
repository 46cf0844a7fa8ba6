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
    void this.send([chunk]).then(() => done(), done);
  }

  /**
   * Our HTTP/2 side hands over each write as many small buffers (a 9-byte
   * frame header, then at most 16 KiB of payload, per frame). One
   * BytesMessage per buffer would cost a whole gRPC message each; pack them
   * into messages of up to MAX_CHUNK bytes instead.
   */
  override _writev(chunks: { chunk: Buffer }[], done: (err?: Error | null) => void): void {
    void this.send(chunks.map((c) => c.chunk)).then(() => done(), done);
  }

  /**
   * Our HTTP/2 side ends this socket only once it is finished with the
   * session: after the GOAWAY of a graceful close, when no stream is left
   * (or when the connection failed). Only then half-close the call, as the
   * Go client closes its connection after Solve: the daemon reads EOF and
   * ends the Session call with OK at once, so teardown neither waits nor
   * has to cancel (a cancelled call surfaces as an error whose stack trace
   * alone costs hundreds of milliseconds with source maps on). Half-closing
   * while the session is still needed would kill it: the daemon allows one
   * connection per session.
   */
  override _final(done: (err?: Error | null) => void): void {
    if (!this.call.writableEnded && !this.call.destroyed) this.call.end();
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.call.cancel();
    done(err);
  }

  private async send(chunks: Buffer[]): Promise<void> {
    let parts: Buffer[] = [];
    let size = 0;
    for (const chunk of chunks) {
      for (let offset = 0; offset < chunk.length; ) {
        const piece = chunk.subarray(offset, offset + MAX_CHUNK - size);
        offset += piece.length;
        parts.push(piece);
        size += piece.length;
        if (size === MAX_CHUNK) {
          await this.sendMessage(parts, size);
          parts = [];
          size = 0;
        }
      }
    }
    if (size > 0) await this.sendMessage(parts, size);
  }

  private async sendMessage(parts: Buffer[], size: number): Promise<void> {
    const data = parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
    if (!this.call.write({ data })) {
      await new Promise<void>((resolve) => this.call.once('drain', resolve));
    }
  }
}
