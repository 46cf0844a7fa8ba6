// gRPC message framing: 1 flag byte (compressed), 4-byte big-endian length,
// then the message. HTTP/2 DATA frames carry these with no alignment, so the
// decoder reassembles partial and multiple messages.

export function frame(message: Buffer): Buffer {
  const header = Buffer.allocUnsafe(5);
  header.writeUInt8(0, 0);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxMessageBytes = 16 * 1024 * 1024) {}

  /** Feeds bytes; returns every complete message they finish. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: Buffer[] = [];
    while (this.buffered >= 5) {
      const head = this.peek(5);
      if (head[0] !== 0) throw new Error('compressed gRPC messages are not supported');
      const length = head.readUInt32BE(1);
      if (length > this.maxMessageBytes) throw new Error(`gRPC message of ${length} bytes exceeds the limit`);
      if (this.buffered < 5 + length) break;
      this.take(5);
      out.push(this.take(length));
    }
    return out;
  }

  /** Bytes of an unfinished message still waiting for more data. */
  get pending(): number {
    return this.buffered;
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    return Buffer.concat(this.chunks).subarray(0, n);
  }

  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const taken = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return taken;
  }
}

/** grpc-message trailer values are percent-encoded (RFC 3986 unreserved kept). */
export function encodeGrpcMessage(message: string): string {
  return message.replace(/[^\x20-\x24\x26-\x7e]/gu, (c) => encodeURIComponent(c)).replace(/%(?![0-9A-F]{2})/g, '%25');
}

export function decodeGrpcMessage(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
