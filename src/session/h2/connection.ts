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
import { CLIENT_PREFACE, DEFAULT_MAX_FRAME, DEFAULT_WINDOW, ErrorCode, Flag, FrameType, MAX_WINDOW, Setting, frame, u32 } from '../../common/h2/frames.js';
import {
  ConnectionError,
  FrameReader,
  HeaderBlockReader,
  dispatchFrame,
  frameQueued,
  shiftWindows,
  type FrameHandlers,
  headerBlockFrames,
  readSettings,
  unpad,
  windowIncrement,
  type HeaderBlock,
} from '../../common/h2/framing.js';
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
  private readonly reader = new FrameReader();
  private prefaceSeen = false;
  private settingsSeen = false;
  private lastStreamId = 0;
  private readonly blocks: HeaderBlockReader;
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
    this.blocks = new HeaderBlockReader(maxBlockBytes(limits));
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
      this.reader.push(chunk);
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
    for (const f of headerBlockFrames(streamId, block, endStream, this.peerMaxFrame)) this.pushControl(f);
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
      this.sendWindow -= frameQueued(stream, stream.id, this.sendWindow, this.peerMaxFrame, out, onSent);
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
      const preface = this.reader.take(CLIENT_PREFACE.length);
      if (!preface) return;
      if (!preface.equals(CLIENT_PREFACE)) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'not an HTTP/2 client preface');
      this.prefaceSeen = true;
    }
    this.reader.read(
      (type, flags, streamId, payload) => dispatchFrame(this.handlers, this.blocks, type, flags, streamId, payload),
      () => this.closedFlag,
      () => (this.settingsSeen ? undefined : FIRST_FRAME),
    );
  }

  /** What this end does with each frame (common/h2/framing.ts checks what both ends check). */
  private readonly handlers: FrameHandlers = {
    data: (flags, streamId, payload) => this.onData(flags, streamId, payload),
    headerBlock: (block) => this.endBlock(block),
    reset: (streamId) => this.onReset(streamId),
    settings: (flags, streamId, payload) => this.onSettings(flags, streamId, payload),
    ping: (flags, payload) => {
      if (!(flags & Flag.ACK)) this.pushControl(frame(FrameType.PING, Flag.ACK, 0, Buffer.from(payload)));
    },
    goaway: () => {
      this.peerGoingAway = true;
    },
    windowUpdate: (streamId, payload) => this.onWindowUpdate(streamId, payload),
    pushRefused: 'PUSH_PROMISE from a client',
  };

  private onSettings(flags: number, streamId: number, payload: Buffer): void {
    const settings = readSettings(flags, streamId, payload);
    if (flags & Flag.ACK) return;
    this.settingsSeen = true;
    for (const { id, value } of settings) {
      if (id === Setting.INITIAL_WINDOW_SIZE) {
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        shiftWindows(this.streams.values(), delta, (stream) => {
          if (stream.queuedBytes) this.sendable.add(stream);
        });
      } else if (id === Setting.MAX_FRAME_SIZE) {
        this.peerMaxFrame = value;
      }
      // HEADER_TABLE_SIZE: our encoder never indexes. The others limit what we never do.
    }
    this.pushControl(frame(FrameType.SETTINGS, Flag.ACK, 0));
  }

  private onWindowUpdate(streamId: number, payload: Buffer): void {
    const increment = windowIncrement(payload);
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

  private onReset(streamId: number): void {
    if (streamId > this.lastStreamId) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'RST_STREAM on an idle stream');
    const stream = this.streams.get(streamId);
    if (stream) this.closeStream(stream);
  }

  private onData(flags: number, streamId: number, payload: Buffer): void {
    // The connection's window: what arrives is taken off it whatever happens to the stream.
    this.recvUnacked += payload.length;
    if (this.recvUnacked > DEFAULT_WINDOW) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'DATA beyond the connection window');
    if (this.recvUnacked >= DEFAULT_WINDOW / UPDATE_DIVISOR) {
      this.pushControl(frame(FrameType.WINDOW_UPDATE, 0, 0, u32(this.recvUnacked)));
      this.recvUnacked = 0;
    }
    const data = unpad(flags, payload);
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

  /** A header block is whole (a request, or a client's trailers); undefined while it is not. */
  private endBlock(whole: HeaderBlock): void {
    const { streamId, block } = whole;
    const endStream = (whole.flags & Flag.END_STREAM) !== 0;
    let fields: HeaderField[] | 'too-large';
    try {
      fields = this.decoder.decode(block, this.limits.maxHeaderListBytes);
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

const FIRST_FRAME = { type: FrameType.SETTINGS, message: 'the first frame is not SETTINGS' };
