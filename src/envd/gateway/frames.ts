// gRPC message framing on a raw HTTP/2 stream: 1 flag byte (compressed or
// not), a 4-byte big-endian length, then the message. HTTP/2 DATA frames do
// not line up with messages, so the decoder reassembles across chunks.
import * as grpc from '@grpc/grpc-js';

/** Length of the gRPC message prefix. */
export const FRAME_HEADER_BYTES = 5;

/** A call the gateway cannot forward; it ends with `code` and the message. */
export class CallError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
    this.name = 'CallError';
  }
}

/** The 5-byte prefix of an uncompressed message of `length` bytes. */
export function frameHeader(length: number): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header[0] = 0;
  header.writeUInt32BE(length, 1);
  return header;
}

/**
 * Splits a byte stream into gRPC messages. Chunks are kept as a list and only
 * joined when a message spans several of them, so a multi-MB message arriving
 * in 16 KiB DATA frames is copied once, not once per frame.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Length of the message being assembled, or -1 while waiting for a prefix. */
  private expected = -1;

  constructor(private readonly maxMessageBytes: number) {}

  /** Adds bytes; returns the messages they complete, in order. Throws CallError. */
  push(chunk: Buffer): Buffer[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const messages: Buffer[] = [];
    for (;;) {
      if (this.expected < 0) {
        if (this.buffered < FRAME_HEADER_BYTES) break;
        const header = this.take(FRAME_HEADER_BYTES);
        const flag = header[0];
        const length = header.readUInt32BE(1);
        if (flag === 1) {
          // grpc-js (our upstream side) only accepts messages to serialize, not
          // pre-compressed bytes, so a compressed message cannot be passed on.
          throw new CallError(
            grpc.status.UNIMPLEMENTED,
            'envd gateway: compressed gRPC request messages are not supported; disable compression in the client',
          );
        }
        if (flag !== 0) {
          throw new CallError(grpc.status.INTERNAL, `envd gateway: invalid gRPC message flag ${flag}`);
        }
        if (length > this.maxMessageBytes) {
          throw new CallError(
            grpc.status.RESOURCE_EXHAUSTED,
            `envd gateway: request message of ${length} bytes exceeds the limit of ${this.maxMessageBytes} bytes`,
          );
        }
        this.expected = length;
      }
      if (this.buffered < this.expected) break;
      messages.push(this.take(this.expected));
      this.expected = -1;
    }
    return messages;
  }

  /** True while part of a message (or of its prefix) is buffered. */
  hasPartial(): boolean {
    return this.buffered > 0 || this.expected >= 0;
  }

  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      // Common case: no copy, the message is a view of the received chunk.
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      let used = 0; // whole chunks consumed; removed with one splice, not shift() per chunk
      while (filled < n) {
        const c = this.chunks[used]!;
        const part = Math.min(c.length, n - filled);
        c.copy(out, filled, 0, part);
        filled += part;
        if (part === c.length) used++;
        else this.chunks[used] = c.subarray(part);
      }
      this.chunks.splice(0, used);
    }
    this.buffered -= n;
    return out;
  }
}
