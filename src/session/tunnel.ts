// Turns the Control.Session call into a byte stream. The daemon runs an
// HTTP/2 client over it, so the BytesMessage boundaries mean nothing: we push
// received payloads as bytes and wrap our writes in BytesMessages.
import { Duplex } from 'node:stream';
import { FRAME_HEADER_BYTES, writeFrameHeader } from '../common/grpc-frames.js';
import type { GrpcError } from '../common/grpc-call.js';
import { codec, Messages, type BytesMessage } from '../protocol/index.js';

/** Old daemons receive at most 4 MiB per message; stay well below. */
const MAX_CHUNK = 1024 * 1024;

/**
 * Bytes the call's HTTP/2 stream may hold before our writes wait for it to
 * drain. Node's default mark (16 KiB) is a single DATA frame: the session
 * would stop at nearly every frame. Bounded, so a daemon that stops reading
 * still pushes back.
 */
const STREAM_BUFFER = 1024 * 1024;

/** The Session call as the tunnel uses it (common/grpc-call.ts's ClientCall). */
export interface SessionCall {
  /** The call's HTTP/2 stream: our messages are written to it already framed. */
  readonly stream: Duplex | undefined;
  /** Settles with the call's outcome: undefined when it ended with OK. */
  readonly done: Promise<GrpcError | undefined>;
  /** Half-closes: no more messages from us. */
  end(): void;
  cancel(): void;
}

const bytesMessage = codec<BytesMessage>(Messages.BytesMessage);

/** Field 1 (`data`), length-delimited: BytesMessage's only field. */
const DATA_TAG = 0x0a;

export class TunnelSocket extends Duplex {
  private call: SessionCall | undefined;

  constructor() {
    super({ allowHalfOpen: true });
  }

  /** Connects the socket to its call; the call's messages arrive through `receive`. */
  attach(call: SessionCall): void {
    this.call = call;
    void call.done.then((failure) => {
      if (failure) this.destroy(failure);
      else this.push(null);
    });
  }

  /** One message of the call: its payload is the next bytes of the stream. */
  receive(message: Buffer): void {
    const data = bytesMessage.decode(message).data;
    if (data?.length && !this.push(data)) this.call?.stream?.pause();
  }

  override _read(): void {
    this.call?.stream?.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.send([chunk], done);
  }

  /**
   * Our HTTP/2 side hands over each write as many small buffers (a 9-byte
   * frame header, then at most 16 KiB of payload, per frame). One
   * BytesMessage per buffer would cost a whole gRPC message each; pack them
   * into messages of up to MAX_CHUNK bytes instead. The parts are written
   * behind their headers as they are, not copied into one buffer.
   */
  override _writev(chunks: { chunk: Buffer }[], done: (err?: Error | null) => void): void {
    this.send(
      chunks.map((c) => c.chunk),
      done,
    );
  }

  /**
   * Our HTTP/2 side ends this socket only once it is finished with the
   * session: after the GOAWAY of a graceful close, when no stream is left
   * (or when the connection failed). Only then half-close the call, as the
   * Go client closes its connection after Solve: the daemon reads EOF and
   * ends the Session call with OK at once, so teardown neither waits nor
   * has to cancel. Half-closing while the session is still needed would
   * kill it: the daemon allows one connection per session.
   */
  override _final(done: (err?: Error | null) => void): void {
    this.call?.end();
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.call?.cancel();
    done(err);
  }

  private send(chunks: Buffer[], done: (err?: Error | null) => void): void {
    const stream = this.call?.stream;
    if (!stream || stream.destroyed || stream.writableEnded) return done(new Error('the session call is closed'));
    let parts: Buffer[] = [];
    let size = 0;
    stream.cork();
    for (const chunk of chunks) {
      for (let offset = 0; offset < chunk.length; ) {
        const piece = chunk.subarray(offset, offset + MAX_CHUNK - size);
        offset += piece.length;
        parts.push(piece);
        size += piece.length;
        if (size === MAX_CHUNK) {
          writeMessage(stream, parts, size);
          parts = [];
          size = 0;
        }
      }
    }
    if (size > 0) writeMessage(stream, parts, size);
    stream.uncork();
    if (stream.writableLength < STREAM_BUFFER) return done();
    const settle = (err?: Error): void => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      done(err);
    };
    const onDrain = (): void => settle();
    const onClose = (): void => settle(new Error('the session call closed'));
    stream.on('drain', onDrain);
    stream.on('close', onClose);
  }
}

/** One BytesMessage carrying `parts` (`size` bytes), behind its gRPC and protobuf headers. */
function writeMessage(stream: Duplex, parts: readonly Buffer[], size: number): void {
  // 1 tag byte and up to 3 varint bytes: size is at most MAX_CHUNK (2^20).
  const head = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 4);
  let at = FRAME_HEADER_BYTES;
  head[at++] = DATA_TAG;
  let n = size;
  while (n >= 0x80) {
    head[at++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  head[at++] = n;
  writeFrameHeader(head, at - FRAME_HEADER_BYTES + size);
  stream.write(head.subarray(0, at));
  for (const part of parts) stream.write(part);
}
