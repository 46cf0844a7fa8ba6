// Turns the Control.Session call into the link of our HTTP/2 server
// connection. The daemon runs an HTTP/2 client over it, so the BytesMessage
// boundaries mean nothing: received payloads are the next bytes, and our
// writes are wrapped in BytesMessages.
import type { Duplex } from 'node:stream';
import { FRAME_HEADER_BYTES, writeFrameHeader } from '../common/grpc-frames.js';
import type { GrpcError } from '../common/grpc-call.js';
import { codec, Messages, type BytesMessage } from '../protocol/index.js';

/** Old daemons receive at most 4 MiB per message; stay well below. */
const MAX_CHUNK = 1024 * 1024;

/**
 * Bytes the call's HTTP/2 stream may hold before the link reports itself
 * full. Node's default mark (16 KiB) is a single DATA frame: the session
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

/**
 * The tunnel as our HTTP/2 server connection's link (h2/connection.ts):
 * the call's payloads go straight to the connection, and its writes straight
 * into the call's stream, with no socket in between. Our connection writes
 * each flush as many small buffers (9-byte frame headers, payloads); one
 * BytesMessage per buffer would cost a whole gRPC message each, so they are
 * packed into messages of up to MAX_CHUNK bytes, behind one header each,
 * without being copied into one buffer.
 */
export class TunnelLink {
  private call: SessionCall | undefined;
  private sink: ((bytes: Buffer) => void) | undefined;
  private readonly drainListeners: (() => void)[] = [];

  /** Connects the link to its call: our writes go to it from now on. */
  attach(call: SessionCall): void {
    this.call = call;
    call.stream?.on('drain', () => {
      for (const l of this.drainListeners) l();
    });
  }

  /** Where the daemon's bytes go, and who hears how the call ended. */
  deliverTo(sink: (bytes: Buffer) => void, onEnd: (failure: GrpcError | undefined) => void): void {
    this.sink = sink;
    if (this.call) void this.call.done.then(onEnd);
  }

  /** One message of the call: its payload is the next bytes of the connection. */
  receive(message: Buffer): void {
    const data = bytesMessage.decode(message).data;
    if (data?.length) this.sink?.(Buffer.from(data.buffer, data.byteOffset, data.length));
  }

  write(chunks: Buffer[], onWritten?: () => void): boolean {
    const stream = this.call?.stream;
    if (!stream || stream.destroyed || stream.writableEnded) {
      // Dropped: nothing holds the buffers.
      onWritten?.();
      return true;
    }
    writeChunks(stream, chunks, onWritten);
    return stream.writableLength < STREAM_BUFFER;
  }

  onDrain(listener: () => void): void {
    this.drainListeners.push(listener);
  }

  /**
   * Our connection ends its link only once it is finished with the session:
   * after the GOAWAY of a graceful close, when no stream is left. Only then
   * half-close the call, as the Go client closes its connection after
   * Solve: the daemon reads EOF and ends the Session call with OK at once,
   * so teardown neither waits nor has to cancel. Half-closing while the
   * session is still needed would kill it: the daemon allows one connection
   * per session.
   */
  end(): void {
    this.call?.end();
  }

  destroy(): void {
    this.call?.cancel();
  }
}

/**
 * Packs `chunks` into BytesMessages of up to MAX_CHUNK bytes on `stream`,
 * without copying them. `onWritten` runs when the stream's last write
 * completes: writes complete in order, so the stream then holds none of them.
 */
function writeChunks(stream: Duplex, chunks: readonly Buffer[], onWritten?: () => void): void {
  // Messages are written one behind: the last one carries the callback.
  let last: { parts: Buffer[]; size: number } | undefined;
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
        if (last) writeMessage(stream, last.parts, last.size);
        last = { parts, size };
        parts = [];
        size = 0;
      }
    }
  }
  if (size > 0) {
    if (last) writeMessage(stream, last.parts, last.size);
    last = { parts, size };
  }
  // A write that failed (the call is gone) reports nothing: its buffers are
  // left to the garbage collector rather than handed back for reuse.
  if (last) writeMessage(stream, last.parts, last.size, onWritten && ((err?: Error | null) => err || onWritten()));
  else onWritten?.();
  stream.uncork();
}

/** One BytesMessage carrying `parts` (`size` bytes), behind its gRPC and protobuf headers. */
function writeMessage(stream: Duplex, parts: readonly Buffer[], size: number, onWritten?: (err?: Error | null) => void): void {
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
  const end = parts.length - 1;
  for (let i = 0; i < end; i++) stream.write(parts[i]);
  stream.write(parts[end], onWritten);
}
