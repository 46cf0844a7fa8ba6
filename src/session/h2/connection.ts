// The server side of one HTTP/2 connection, in JavaScript, for the session
// tunnel. Why not node:http2: the daemon's frames already reach us as
// JavaScript buffers (inside the Session call's messages), and node:http2
// would take them through a JavaScript socket into nghttp2 and its output
// back out through that socket: two more layers and a copy of everything we
// send (BENCHMARKS.md, "Twelfth session": a 1 GB context costs 5-15 % less
// CPU this way). The daemon's window updates and pings are handled in the
// call that delivers them, and what a window lets us send leaves in it.
//
// Only what a gRPC client needs of a server: no push, no priorities, no
// server-initiated streams. Every peer-controlled quantity is bounded:
// header blocks, streams (by the session server), and our output of
// control frames while the link does not drain.
import { EventEmitter } from 'node:events';
import {
  CLIENT_PREFACE,
  DEFAULT_MAX_FRAME,
  DEFAULT_WINDOW,
  ErrorCode,
  FRAME_HEADER_BYTES,
  Flag,
  FrameType,
  MAX_FRAME_LIMIT,
  MAX_WINDOW,
  Setting,
  frame,
  frameHeader,
  u32,
} from '../../common/h2/frames.js';
import { wellFormed } from '../../common/h2/fields.js';
import { HpackDecoder, HpackError, encodeHeaders, type HeaderField } from '../../common/h2/hpack.js';

/** Where the connection's bytes go: the tunnel, or a socket in tests. */
export interface ByteLink {
  /**
   * Writes bytes toward the peer, in order; false when the link is full (then
   * wait for onDrain). `onWritten` runs once the link holds none of these
   * buffers any more (they were written on), so their memory may be reused;
   * it does not run if the link failed first.
   */
  write(chunks: Buffer[], onWritten?: () => void): boolean;
  /** Registers the listener called whenever the link takes more after a write returned false. */
  onDrain(listener: () => void): void;
  /** No more bytes from us. */
  end(): void;
  /** The connection failed or was torn down. */
  destroy(err?: Error): void;
}

export interface ConnectionLimits {
  /** SETTINGS_MAX_CONCURRENT_STREAMS we advertise (the server enforces it too). */
  readonly maxConcurrentStreams: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE: decoded header bytes per request, as HTTP/2 counts them. */
  readonly maxHeaderListBytes: number;
  /** Each stream's receive window: what a call whose handler stopped reading can make us hold. */
  readonly streamWindow: number;
  /** A stream's queued response bytes beyond which writers are asked to wait. */
  readonly streamBuffer: number;
}

/**
 * Control frames (acks, resets, window updates) we may owe a peer that
 * stopped reading before we call it a flood; nghttp2 allows 1,000 pending
 * acks, and a gRPC client never has more than a few outstanding.
 */
const MAX_PENDING_CONTROL = 10_000;

/** We send our window updates once this share of a window is used, as nghttp2 does. */
const UPDATE_DIVISOR = 2;

/** Largest header block (all its frames) we take before decoding: the list bound plus literal overhead. */
function maxBlockBytes(limits: ConnectionLimits): number {
  return limits.maxHeaderListBytes + 1024 * 1024;
}

/** A connection error: the connection ends with GOAWAY and this code. */
class ConnectionError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

interface Pending {
  readonly data: Buffer;
  readonly onSent: (() => void) | undefined;
}

/**
 * One request stream. Events: 'data' (a chunk of the request body), 'end'
 * (the peer half-closed), 'drain' (queued response bytes fell below the
 * stream buffer after a writer was told to wait), 'close' (the stream is
 * gone: answered and ended, reset by either side, or the connection closed).
 */
export class ServerStream extends EventEmitter {
  /** Response bytes queued and not yet framed. */
  queuedBytes = 0;
  headersSent = false;
  /** We ended our side (trailers queued or sent, or reset). */
  ending = false;
  closed = false;
  /** The peer half-closed. */
  remoteEnded = false;

  /** @internal */ sendWindow: number;
  /** @internal */ recvWindow: number;
  /** @internal */ readonly queue: Pending[] = [];
  /** @internal Offset into queue[0] already framed. */ queueOffset = 0;
  /** @internal */ trailers: Buffer | undefined;
  /** @internal Received bytes not yet given back to the peer's window. */ unacked = 0;
  private paused = false;
  private needDrain = false;

  constructor(
    readonly id: number,
    private readonly connection: ServerConnection,
    sendWindow: number,
    recvWindow: number,
  ) {
    super();
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  /** Stop giving the peer more window: it can send at most one more window's worth. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.connection.consumed(this, 0);
  }

  isPaused(): boolean {
    return this.paused;
  }

  /** Sends the response headers of a gRPC call (200, application/grpc). */
  respond(): void {
    if (this.headersSent || this.ending || this.closed) return;
    this.headersSent = true;
    this.connection.sendHeaders(this.id, RESPONSE_HEADERS, false);
  }

  /**
   * Queues response bytes; `onSent` runs once neither the connection nor the
   * link holds them any more (written on, or dropped with the stream), so the
   * caller may reuse `data`. Returns whether the writer may go on (see
   * ConnectionLimits.streamBuffer).
   */
  write(data: Buffer, onSent?: () => void): boolean {
    if (this.ending || this.closed) throw new Error('stream closed');
    if (data.length > 0 || onSent) {
      this.queue.push({ data, onSent });
      this.queuedBytes += data.length;
      this.connection.schedule(this);
    }
    return this.hasRoom();
  }

  hasRoom(): boolean {
    const room = this.queuedBytes < this.connection.limits.streamBuffer;
    if (!room) this.needDrain = true;
    return room;
  }

  /**
   * Ends the call with a gRPC status: as trailers after the queued bytes, or
   * as a trailers-only response when no headers were sent.
   */
  finish(code: number, message: string, encodedMessage: string): void {
    if (this.ending || this.closed) return;
    this.ending = true;
    const status: HeaderField[] = [['grpc-status', String(code)]];
    if (message) status.push(['grpc-message', encodedMessage]);
    if (!this.headersSent) {
      this.headersSent = true;
      this.connection.sendHeaders(this.id, [...RESPONSE_HEADERS, ...status], true);
      this.connection.sentEnd(this);
      return;
    }
    this.trailers = encodeHeaders(status);
    this.connection.schedule(this);
  }

  /** Resets the stream (RST_STREAM with `code`). */
  reset(code: number): void {
    if (this.closed) return;
    this.connection.resetStream(this, code);
  }

  /** @internal The peer's bytes for this stream. */
  receiveData(data: Buffer): void {
    if (data.length) this.emit('data', data);
  }

  /** @internal Whether received bytes may be given back to the peer's window now. */
  get reading(): boolean {
    return !this.paused;
  }

  /** @internal Bytes were framed; let waiting writers go on below the buffer. */
  drained(): void {
    if (this.needDrain && this.queuedBytes < this.connection.limits.streamBuffer) {
      this.needDrain = false;
      this.emit('drain');
    }
  }

  /** @internal */
  markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.ending = true;
    // Writes not framed now never will be: their callbacks still run, so their accounts settle.
    for (const p of this.queue.splice(0)) p.onSent?.();
    this.queuedBytes = 0;
    this.emit('close');
  }
}

const RESPONSE_HEADERS: HeaderField[] = [
  [':status', '200'],
  ['content-type', 'application/grpc'],
];

export interface ConnectionEvents {
  /** A new request: its stream and header fields, in order, repeated names kept. */
  onStream(stream: ServerStream, fields: HeaderField[]): void;
  /** A protocol failure, for the log. */
  onError?(err: Error): void;
}

export class ServerConnection {
  private readonly decoder = new HpackDecoder();
  private readonly streams = new Map<number, ServerStream>();
  /** Streams with bytes or trailers to send, in the order they asked. */
  private readonly sendable = new Set<ServerStream>();
  private control: Buffer[] = [];
  private controlCount = 0;
  private input: Buffer[] = [];
  private inputBytes = 0;
  private prefaceSeen = false;
  private settingsSeen = false;
  private lastStreamId = 0;
  /** Header block being received: its stream, END_STREAM, and fragments. */
  private block: { streamId: number; endStream: boolean; fragments: Buffer[]; bytes: number } | undefined;
  private sendWindow = DEFAULT_WINDOW;
  private recvUnacked = 0;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrame = DEFAULT_MAX_FRAME;
  private flushScheduled = false;
  /** Set while flush assembles its writes: the link must not end before they are written. */
  private flushing = false;
  private linkFull = false;
  private goingAway = false;
  private peerGoingAway = false;
  private closedFlag = false;
  private readonly closeListeners: (() => void)[] = [];

  constructor(
    private readonly link: ByteLink,
    readonly limits: ConnectionLimits,
    private readonly events: ConnectionEvents,
  ) {
    link.onDrain(() => {
      this.linkFull = false;
      this.flush();
    });
    const settings = Buffer.allocUnsafe(18);
    settings.writeUInt16BE(Setting.MAX_CONCURRENT_STREAMS, 0);
    settings.writeUInt32BE(limits.maxConcurrentStreams, 2);
    settings.writeUInt16BE(Setting.INITIAL_WINDOW_SIZE, 6);
    settings.writeUInt32BE(limits.streamWindow, 8);
    settings.writeUInt16BE(Setting.MAX_HEADER_LIST_SIZE, 12);
    settings.writeUInt32BE(limits.maxHeaderListBytes, 14);
    this.pushControl(frame(FrameType.SETTINGS, 0, 0, settings));
    this.flush();
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Streams open now. */
  get openStreams(): number {
    return this.streams.size;
  }

  onClose(listener: () => void): void {
    if (this.closedFlag) listener();
    else this.closeListeners.push(listener);
  }

  /** Bytes from the peer, in order. */
  receive(chunk: Buffer): void {
    if (this.closedFlag || chunk.length === 0) return;
    try {
      this.input.push(chunk);
      this.inputBytes += chunk.length;
      this.parse();
    } catch (err) {
      this.fail(err instanceof ConnectionError ? err : new ConnectionError(ErrorCode.INTERNAL_ERROR, err instanceof Error ? err.message : String(err)));
      return;
    }
    this.flush();
  }

  /**
   * Stops taking new streams (GOAWAY) and lets the open ones finish; the
   * link is ended once none is left.
   */
  shutdown(): void {
    if (this.closedFlag || this.goingAway) return;
    this.goingAway = true;
    this.pushControl(frame(FrameType.GOAWAY, 0, 0, Buffer.concat([u32(this.lastStreamId), u32(ErrorCode.NO_ERROR)])));
    this.flush();
    this.endIfIdle();
  }

  /** Tears the connection down at once: every stream closes. */
  destroy(err?: Error): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    for (const stream of [...this.streams.values()]) stream.markClosed();
    this.streams.clear();
    this.sendable.clear();
    this.link.destroy(err);
    for (const l of this.closeListeners.splice(0)) l();
  }

  // --- Sending --------------------------------------------------------------

  /** @internal */
  sendHeaders(streamId: number, fields: HeaderField[], endStream: boolean): void {
    this.pushHeaderBlock(streamId, encodeHeaders(fields), endStream);
    this.scheduleFlush();
  }

  /** @internal A stream has something to send. */
  schedule(stream: ServerStream): void {
    this.sendable.add(stream);
    this.scheduleFlush();
  }

  /** @internal We sent END_STREAM: the stream is done once the peer is too (else we reset it). */
  sentEnd(stream: ServerStream): void {
    if (!stream.remoteEnded) {
      // The answer is complete; the request's rest is not needed (RFC 9113 §8.1).
      this.pushControl(frame(FrameType.RST_STREAM, 0, stream.id, u32(ErrorCode.NO_ERROR)));
    }
    this.closeStream(stream);
  }

  /** @internal */
  resetStream(stream: ServerStream, code: number): void {
    this.pushControl(frame(FrameType.RST_STREAM, 0, stream.id, u32(code)));
    this.closeStream(stream);
    this.scheduleFlush();
  }

  /** @internal The handler took `bytes` more of the stream's data (0: it resumed reading). */
  consumed(stream: ServerStream, bytes: number): void {
    stream.unacked += bytes;
    if (!stream.reading || stream.closed || stream.remoteEnded) return;
    if (stream.unacked >= this.limits.streamWindow / UPDATE_DIVISOR || (bytes === 0 && stream.unacked > 0)) {
      stream.recvWindow += stream.unacked;
      this.pushControl(frame(FrameType.WINDOW_UPDATE, 0, stream.id, u32(stream.unacked)));
      stream.unacked = 0;
      this.scheduleFlush();
    }
  }

  private pushControl(bytes: Buffer): void {
    this.control.push(bytes);
    this.controlCount++;
    if (this.controlCount > MAX_PENDING_CONTROL && this.linkFull) {
      throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, 'the peer does not read the control frames it causes');
    }
  }

  /** A header block, split into HEADERS and CONTINUATION frames of the peer's maximum size. */
  private pushHeaderBlock(streamId: number, block: Buffer, endStream: boolean): void {
    const max = this.peerMaxFrame;
    let offset = 0;
    let first = true;
    do {
      const piece = block.subarray(offset, offset + max);
      offset += piece.length;
      const last = offset >= block.length;
      const type = first ? FrameType.HEADERS : FrameType.CONTINUATION;
      const flags = (last ? Flag.END_HEADERS : 0) | (first && endStream ? Flag.END_STREAM : 0);
      this.pushControl(frame(type, flags, streamId, piece));
      first = false;
    } while (offset < block.length);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.closedFlag) return;
    this.flushScheduled = true;
    process.nextTick(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /**
   * Writes what is owed now: control frames first, then what the windows let
   * the streams send. Nothing while the link is full: control frames wait
   * too, counted (pushControl), so a peer that stops reading cannot make us
   * queue answers without bound.
   */
  private flush(): void {
    if (this.closedFlag || this.linkFull) return;
    const out = this.control;
    this.control = [];
    this.controlCount = 0;
    const onSent: (() => void)[] = [];
    this.flushing = true;
    try {
      this.frameData(out, onSent);
    } finally {
      this.flushing = false;
    }
    // The streams' callbacks wait until the link has written their bytes on.
    const written = onSent.length ? () => onSent.forEach((f) => f()) : undefined;
    if (out.length) {
      if (!this.link.write(out, written)) this.linkFull = true;
    } else {
      written?.();
    }
    this.endIfIdle();
  }

  /**
   * Frames queued response bytes into `out`, one stream after the other, each
   * as far as its window and the connection's allow, then trailers of
   * streams whose bytes are all sent.
   */
  private frameData(out: Buffer[], onSent: (() => void)[]): void {
    for (const stream of this.sendable) {
      if (stream.closed) {
        this.sendable.delete(stream);
        continue;
      }
      while (stream.queuedBytes > 0 && stream.sendWindow > 0 && this.sendWindow > 0) {
        const size = Math.min(stream.queuedBytes, stream.sendWindow, this.sendWindow, this.peerMaxFrame);
        out.push(frameHeader(size, FrameType.DATA, 0, stream.id));
        let left = size;
        while (left > 0) {
          const head = stream.queue[0]!;
          const available = head.data.length - stream.queueOffset;
          const take = Math.min(available, left);
          out.push(take === head.data.length ? head.data : head.data.subarray(stream.queueOffset, stream.queueOffset + take));
          left -= take;
          if (take === available) {
            stream.queue.shift();
            stream.queueOffset = 0;
            if (head.onSent) onSent.push(head.onSent);
          } else {
            stream.queueOffset += take;
          }
        }
        stream.queuedBytes -= size;
        stream.sendWindow -= size;
        this.sendWindow -= size;
      }
      // Zero-length writes (only a callback) at the head of an empty queue.
      while (stream.queuedBytes === 0 && stream.queue.length) {
        const head = stream.queue.shift()!;
        if (head.onSent) onSent.push(head.onSent);
      }
      stream.drained();
      if (stream.queuedBytes === 0) {
        if (stream.trailers && !stream.closed) {
          const block = stream.trailers;
          stream.trailers = undefined;
          const before = this.control.length;
          this.pushHeaderBlock(stream.id, block, true);
          out.push(...this.control.splice(before));
          this.sentEnd(stream);
          out.push(...this.control.splice(0));
          this.controlCount = 0;
        }
        this.sendable.delete(stream);
      }
    }
  }

  private closeStream(stream: ServerStream): void {
    this.streams.delete(stream.id);
    this.sendable.delete(stream);
    stream.markClosed();
    this.endIfIdle();
  }

  private endIfIdle(): void {
    if (this.flushing) return;
    if ((this.goingAway || this.peerGoingAway) && this.streams.size === 0 && !this.closedFlag && this.control.length === 0) {
      this.closedFlag = true;
      this.link.end();
      for (const l of this.closeListeners.splice(0)) l();
    }
  }

  private fail(err: ConnectionError): void {
    if (this.closedFlag) return;
    this.events.onError?.(err);
    this.control = [frame(FrameType.GOAWAY, 0, 0, Buffer.concat([u32(this.lastStreamId), u32(err.code), Buffer.from(err.message.slice(0, 256))]))];
    this.link.write(this.control);
    this.control = [];
    this.destroy(err);
  }

  // --- Receiving ------------------------------------------------------------

  private parse(): void {
    if (!this.prefaceSeen) {
      if (this.inputBytes < CLIENT_PREFACE.length) return;
      const all = this.joinInput();
      if (!all.subarray(0, CLIENT_PREFACE.length).equals(CLIENT_PREFACE)) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'not an HTTP/2 client preface');
      this.prefaceSeen = true;
      this.setInput(all.subarray(CLIENT_PREFACE.length));
    }
    while (this.inputBytes >= FRAME_HEADER_BYTES && !this.closedFlag) {
      let buf = this.input[0]!;
      if (buf.length < FRAME_HEADER_BYTES) buf = this.joinInput();
      const length = (buf[0]! << 16) | (buf[1]! << 8) | buf[2]!;
      if (length > DEFAULT_MAX_FRAME) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, `frame of ${length} bytes above our maximum`);
      const total = FRAME_HEADER_BYTES + length;
      if (this.inputBytes < total) return;
      if (buf.length < total) buf = this.joinInput();
      const type = buf[3]!;
      const flags = buf[4]!;
      const streamId = buf.readUInt32BE(5) & 0x7fffffff;
      const payload = buf.subarray(FRAME_HEADER_BYTES, total);
      if (buf.length === total) {
        this.input.shift();
      } else {
        this.input[0] = buf.subarray(total);
      }
      this.inputBytes -= total;
      this.handleFrame(type, flags, streamId, payload);
    }
  }

  private joinInput(): Buffer {
    const all = this.input.length === 1 ? this.input[0]! : Buffer.concat(this.input, this.inputBytes);
    this.input = [all];
    return all;
  }

  private setInput(rest: Buffer): void {
    this.input = rest.length ? [rest] : [];
    this.inputBytes = rest.length;
  }

  private handleFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (!this.settingsSeen && type !== FrameType.SETTINGS) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'the first frame is not SETTINGS');
    if (this.block && type !== FrameType.CONTINUATION) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'header block interrupted');
    switch (type) {
      case FrameType.DATA:
        return this.onData(flags, streamId, payload);
      case FrameType.HEADERS:
        return this.onHeaders(flags, streamId, payload);
      case FrameType.CONTINUATION:
        return this.onContinuation(flags, streamId, payload);
      case FrameType.PRIORITY:
        if (streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PRIORITY on stream 0');
        if (payload.length !== 5) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'PRIORITY of the wrong size');
        return;
      case FrameType.RST_STREAM:
        return this.onReset(streamId, payload);
      case FrameType.SETTINGS:
        return this.onSettings(flags, streamId, payload);
      case FrameType.PUSH_PROMISE:
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PUSH_PROMISE from a client');
      case FrameType.PING:
        if (streamId !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PING on a stream');
        if (payload.length !== 8) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'PING of the wrong size');
        if (!(flags & Flag.ACK)) this.pushControl(frame(FrameType.PING, Flag.ACK, 0, Buffer.from(payload)));
        return;
      case FrameType.GOAWAY:
        if (streamId !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'GOAWAY on a stream');
        this.peerGoingAway = true;
        return;
      case FrameType.WINDOW_UPDATE:
        return this.onWindowUpdate(streamId, payload);
      default:
        return; // unknown frame types are ignored (RFC 9113 §4.1)
    }
  }

  private onSettings(flags: number, streamId: number, payload: Buffer): void {
    if (streamId !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'SETTINGS on a stream');
    if (flags & Flag.ACK) {
      if (payload.length) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
      return;
    }
    if (payload.length % 6) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS of the wrong size');
    this.settingsSeen = true;
    for (let at = 0; at < payload.length; at += 6) {
      const id = payload.readUInt16BE(at);
      const value = payload.readUInt32BE(at + 2);
      if (id === Setting.INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'initial window too large');
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        for (const stream of this.streams.values()) {
          stream.sendWindow += delta;
          if (stream.sendWindow > MAX_WINDOW) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'stream window too large');
          if (stream.queuedBytes) this.sendable.add(stream);
        }
      } else if (id === Setting.MAX_FRAME_SIZE) {
        if (value < DEFAULT_MAX_FRAME || value > MAX_FRAME_LIMIT) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'invalid maximum frame size');
        this.peerMaxFrame = value;
      } else if (id === Setting.ENABLE_PUSH) {
        if (value > 1) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'invalid ENABLE_PUSH');
      }
      // HEADER_TABLE_SIZE: our encoder never indexes. The others limit what we never do.
    }
    this.pushControl(frame(FrameType.SETTINGS, Flag.ACK, 0));
  }

  private onWindowUpdate(streamId: number, payload: Buffer): void {
    if (payload.length !== 4) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'WINDOW_UPDATE of the wrong size');
    const increment = payload.readUInt32BE(0) & 0x7fffffff;
    if (streamId === 0) {
      if (increment === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'window increment of 0');
      this.sendWindow += increment;
      if (this.sendWindow > MAX_WINDOW) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'connection window too large');
      return;
    }
    const stream = this.streams.get(streamId);
    if (!stream) {
      if (streamId > this.lastStreamId) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE on an idle stream');
      return;
    }
    if (increment === 0) return stream.reset(ErrorCode.PROTOCOL_ERROR);
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW) return stream.reset(ErrorCode.FLOW_CONTROL_ERROR);
    if (stream.queuedBytes || stream.trailers) this.sendable.add(stream);
  }

  private onReset(streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
    if (payload.length !== 4) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'RST_STREAM of the wrong size');
    if (streamId > this.lastStreamId) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'RST_STREAM on an idle stream');
    const stream = this.streams.get(streamId);
    if (stream) this.closeStream(stream);
  }

  /** Padding removed, or a connection error when it does not fit. */
  private unpad(flags: number, payload: Buffer): Buffer {
    if (!(flags & Flag.PADDED)) return payload;
    if (payload.length < 1) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'padded frame without its pad length');
    const pad = payload[0]!;
    if (pad > payload.length - 1) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'padding longer than the frame');
    return payload.subarray(1, payload.length - pad);
  }

  private onData(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'DATA on stream 0');
    // The connection's window: what arrives is taken off it whatever happens to the stream.
    this.recvUnacked += payload.length;
    if (this.recvUnacked > DEFAULT_WINDOW) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'DATA beyond the connection window');
    if (this.recvUnacked >= DEFAULT_WINDOW / UPDATE_DIVISOR) {
      this.pushControl(frame(FrameType.WINDOW_UPDATE, 0, 0, u32(this.recvUnacked)));
      this.recvUnacked = 0;
    }
    const data = this.unpad(flags, payload);
    const stream = this.streams.get(streamId);
    if (!stream) {
      if (streamId > this.lastStreamId) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'DATA on an idle stream');
      return; // a stream we closed: frames in flight are dropped
    }
    if (stream.remoteEnded) return stream.reset(ErrorCode.STREAM_CLOSED);
    stream.recvWindow -= payload.length;
    if (stream.recvWindow < 0) return stream.reset(ErrorCode.FLOW_CONTROL_ERROR);
    stream.receiveData(data);
    if (stream.closed) return;
    // Padding is never the handler's: it counts as consumed at once.
    if (flags & Flag.END_STREAM) {
      stream.remoteEnded = true;
      stream.emit('end');
    } else {
      this.consumed(stream, payload.length);
    }
  }

  private onHeaders(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'HEADERS on stream 0');
    let fragment = this.unpad(flags, payload);
    if (flags & Flag.PRIORITY) {
      if (fragment.length < 5) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'HEADERS priority truncated');
      fragment = fragment.subarray(5);
    }
    this.block = { streamId, endStream: (flags & Flag.END_STREAM) !== 0, fragments: [Buffer.from(fragment)], bytes: fragment.length };
    this.checkBlockSize();
    if (flags & Flag.END_HEADERS) this.endBlock();
  }

  private onContinuation(flags: number, streamId: number, payload: Buffer): void {
    const block = this.block;
    if (!block || block.streamId !== streamId) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'CONTINUATION without its HEADERS');
    block.fragments.push(Buffer.from(payload));
    block.bytes += payload.length;
    this.checkBlockSize();
    if (flags & Flag.END_HEADERS) this.endBlock();
  }

  private checkBlockSize(): void {
    if (this.block!.bytes > maxBlockBytes(this.limits)) {
      throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, `header block above ${maxBlockBytes(this.limits)} bytes`);
    }
  }

  private endBlock(): void {
    const { streamId, endStream, fragments, bytes } = this.block!;
    this.block = undefined;
    let fields: HeaderField[] | 'too-large';
    try {
      fields = this.decoder.decode(fragments.length === 1 ? fragments[0]! : Buffer.concat(fragments, bytes), this.limits.maxHeaderListBytes);
    } catch (err) {
      if (err instanceof HpackError) throw new ConnectionError(ErrorCode.COMPRESSION_ERROR, err.message);
      throw err;
    }
    const existing = this.streams.get(streamId);
    if (existing) {
      // Trailers from the client: they must end its side.
      if (!endStream || existing.remoteEnded) return existing.reset(ErrorCode.PROTOCOL_ERROR);
      existing.remoteEnded = true;
      existing.emit('end');
      return;
    }
    // A stream we already closed: its late frames are dropped (the block was decoded, for the table).
    if (streamId <= this.lastStreamId) return;
    if (streamId % 2 === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'even stream id from a client');
    this.lastStreamId = streamId;
    const stream = new ServerStream(streamId, this, this.peerInitialWindow, this.limits.streamWindow);
    if (this.goingAway) {
      stream.reset(ErrorCode.REFUSED_STREAM);
      return;
    }
    this.streams.set(streamId, stream);
    if (fields === 'too-large' || !fields.some(([name]) => name === ':path') || !fields.every(wellFormed)) {
      // Over our advertised list size, or not a well-formed request: refused before anything is served.
      stream.reset(fields === 'too-large' ? ErrorCode.ENHANCE_YOUR_CALM : ErrorCode.PROTOCOL_ERROR);
      return;
    }
    if (endStream) stream.remoteEnded = true;
    this.events.onStream(stream, fields);
    if (endStream && !stream.closed) stream.emit('end');
  }
}
