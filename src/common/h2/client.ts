// The client side of an HTTP/2 connection, in JavaScript, for the connection
// to a builder (buildkit/connection.ts) and everything carried on it: our
// gRPC calls, the session tunnel and the envd gateway's calls.
//
// Why not node:http2: loading it (with node:tls, node:crypto and node:http,
// which it pulls in) took 20-30 ms of every run's start on a 2-core runner,
// more than anything else the action loads (BENCHMARKS.md, "Twentieth
// session"), and a plain-tcp or unix builder needs none of them. We already
// speak HTTP/2's framing for the session's server (session/h2/); the client
// reuses it. TLS, when the builder wants it, is Node's own tls socket under
// this connection.
//
// Only what a gRPC client needs: no push (refused in our SETTINGS), no
// priorities, no server-initiated streams. Every peer-controlled quantity is
// bounded: header blocks, what a stream holds before its reader takes it
// (its window), and our output of control frames while the socket does not
// drain.
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import { CONNECTION_SPECIFIC, wellFormed } from './fields.js';
import { CLIENT_PREFACE, DEFAULT_MAX_FRAME, DEFAULT_WINDOW, ErrorCode, Flag, FrameType, MAX_WINDOW, Setting, frame, frameHeader, u32 } from './frames.js';
import {
  ConnectionError,
  FrameReader,
  HeaderBlockReader,
  dispatchFrame,
  frameQueued,
  headerBlockFrames,
  readSettings,
  shiftWindows,
  unpad,
  windowIncrement,
  type FrameHandlers,
  type HeaderBlock,
} from './framing.js';
import { HpackDecoder, HpackError, encodeHeaders, type HeaderField } from './hpack.js';

/** Request headers: values are sent as latin1 (one byte per char), a list as one field per value. */
export type OutgoingHeaders = Readonly<Record<string, string | number | readonly string[] | undefined>>;

/** Received headers by lower-case name; a repeated field gives a list. */
export type IncomingHeaders = Record<string, string | string[]>;

/** The byte stream under the connection: a net or tls socket, or a proxy tunnel. */
export interface ClientSocket extends Duplex {
  ref?(): unknown;
  unref?(): unknown;
  setNoDelay?(noDelay?: boolean): unknown;
}

export interface ClientLimits {
  /** SETTINGS_INITIAL_WINDOW_SIZE we advertise: what each stream may hold before its reader takes it. */
  readonly streamWindow: number;
  /** The connection's receive window we open at the start. */
  readonly connectionWindow: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE: decoded header bytes per block, as HTTP/2 counts them. */
  readonly maxHeaderListBytes: number;
}

/** Control frames we may owe a peer that stopped reading before we call it a flood (as the server does). */
const MAX_PENDING_CONTROL = 10_000;
/** Pings we let wait for their answer at once. */
const MAX_PINGS = 10;
/** We give back window once this share of it is used, as nghttp2 does. */
const UPDATE_DIVISOR = 2;
/** GOAWAY debug data we quote in a message, at most. */
const MAX_DEBUG_CHARS = 128;

interface Pending {
  readonly data: Buffer;
  /** The writer's callback, on the last buffer of its write. */
  readonly onSent: (() => void) | undefined;
}

/**
 * One request stream, a Duplex: what is written goes out as DATA, the
 * response's DATA is what is read. Besides a Duplex's events: 'response'
 * (headers, flags, raw field list) once the response's headers arrive,
 * with Flag.END_STREAM in flags for a trailers-only answer, and 'trailers'
 * (the same arguments) before the readable side ends. `rstCode` is the
 * RST_STREAM code it was reset with, by either side (CANCEL when its
 * connection went down), else 0 once it closes.
 */
export class ClientStream extends Duplex {
  rstCode: number | undefined;
  /** @internal */ sendWindow: number;
  /** @internal */ recvWindow: number;
  /** @internal */ readonly queue: Pending[] = [];
  /** @internal Bytes of queue[0] already framed. */ queueOffset = 0;
  /** @internal */ queuedBytes = 0;
  /** @internal _final was called: END_STREAM goes once the queue is empty. */ endPending: ((err?: Error | null) => void) | undefined;
  /** @internal */ localEnded = false;
  /** @internal */ remoteEnded = false;
  /** @internal */ responded = false;
  /** @internal Closed at the protocol level: no more frames either way. */ finished = false;
  /** @internal Received bytes the reader took and the peer has not been given back. */ unacked = 0;
  /** @internal Received bytes the reader has not taken (push said stop). */ held = 0;

  constructor(
    readonly id: number,
    private readonly session: ClientSession,
    sendWindow: number,
    recvWindow: number,
  ) {
    // autoDestroy off: the stream is over when the protocol says so, not when
    // both sides of the Duplex happen to have ended.
    super({ autoDestroy: false, allowHalfOpen: true });
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  /** Resets the stream with `code` (CANCEL unless given) and destroys it. */
  close(code: number = ErrorCode.CANCEL): void {
    if (!this.finished) this.session.resetStream(this, code);
    if (!this.destroyed) this.destroy();
  }

  override _read(): void {
    if (this.held === 0) return;
    const bytes = this.held;
    this.held = 0;
    this.session.consumed(this, bytes);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.enqueue([chunk], done);
  }

  override _writev(chunks: { chunk: Buffer }[], done: (err?: Error | null) => void): void {
    this.enqueue(
      chunks.map((c) => c.chunk),
      done,
    );
  }

  override _final(done: (err?: Error | null) => void): void {
    if (this.finished || this.localEnded) return done();
    this.endPending = done;
    this.session.schedule(this);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    // Destroyed by its user while still open: the peer is told to stop.
    if (!this.finished) this.session.resetStream(this, err ? ErrorCode.INTERNAL_ERROR : ErrorCode.CANCEL);
    this.failQueue();
    done(err);
  }

  private enqueue(chunks: Buffer[], done: (err?: Error | null) => void): void {
    // After a reset, or once the peer has closed the stream, bytes go nowhere;
    // nothing holds them, so their writer may reuse them.
    if (this.finished || this.localEnded) return done();
    const last = chunks.length - 1;
    for (let i = 0; i <= last; i++) {
      const data = chunks[i]!;
      this.queue.push({ data, onSent: i === last ? () => done() : undefined });
      this.queuedBytes += data.length;
    }
    this.session.schedule(this);
  }

  /** @internal Writers waiting on bytes that will never be sent are released. */
  failQueue(): void {
    const pending = this.queue.splice(0);
    this.queuedBytes = 0;
    this.queueOffset = 0;
    for (const p of pending) p.onSent?.();
    const end = this.endPending;
    this.endPending = undefined;
    end?.();
  }
}

/**
 * One HTTP/2 client connection over `socket`. Events: 'remoteSettings' (the
 * peer's first SETTINGS: it speaks HTTP/2), 'goaway' (code), 'error' (why
 * it failed), 'close' (once, when it is gone).
 */
export class ClientSession extends EventEmitter {
  private readonly decoder = new HpackDecoder();
  private readonly streams = new Map<number, ClientStream>();
  private readonly sendable = new Set<ClientStream>();
  private control: Buffer[] = [];
  private readonly reader = new FrameReader();
  private readonly blocks: HeaderBlockReader;
  private nextStreamId = 1;
  private settingsSeen = false;
  private sendWindow = DEFAULT_WINDOW;
  private recvWindow: number;
  private recvUnacked = 0;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrame = DEFAULT_MAX_FRAME;
  private peerMaxStreams = Number.POSITIVE_INFINITY;
  private readonly pings = new Map<string, (err: Error | null) => void>();
  private pingCounter = 0;
  private flushScheduled = false;
  private flushing = false;
  private started = true;
  private socketFull = false;
  private closing = false;
  private destroyedFlag = false;

  constructor(
    private readonly socket: ClientSocket,
    /** ':scheme' of every request: 'https' over TLS. */
    private readonly scheme: 'http' | 'https',
    private readonly limits: ClientLimits,
    /**
     * The socket's event after which we may write (a TLS socket's
     * 'secureConnect'); nothing is written before it. Undefined: at once.
     */
    startOn?: string,
  ) {
    super();
    this.blocks = new HeaderBlockReader(limits.maxHeaderListBytes + 1024 * 1024);
    this.recvWindow = Math.max(DEFAULT_WINDOW, limits.connectionWindow);
    // Frames are small and answered at once: Nagle's algorithm would hold
    // each one back until the last was acknowledged (40 ms with delayed ACKs).
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('drain', () => {
      this.socketFull = false;
      this.flush();
    });
    socket.on('error', (err: Error) => this.destroy(err));
    socket.on('close', () => this.destroy());
    const settings = Buffer.allocUnsafe(18);
    settings.writeUInt16BE(Setting.ENABLE_PUSH, 0);
    settings.writeUInt32BE(0, 2);
    settings.writeUInt16BE(Setting.INITIAL_WINDOW_SIZE, 6);
    settings.writeUInt32BE(limits.streamWindow, 8);
    settings.writeUInt16BE(Setting.MAX_HEADER_LIST_SIZE, 12);
    settings.writeUInt32BE(limits.maxHeaderListBytes, 14);
    this.control.push(CLIENT_PREFACE, frame(FrameType.SETTINGS, 0, 0, settings));
    // The connection's own window starts at 64 KiB whatever SETTINGS say.
    if (this.recvWindow > DEFAULT_WINDOW) this.control.push(frame(FrameType.WINDOW_UPDATE, 0, 0, u32(this.recvWindow - DEFAULT_WINDOW)));
    if (startOn) {
      this.started = false;
      // One turn later, as node:http2 does: a TLS 1.3 server that refuses our
      // client certificate says so just after the handshake, and bytes we
      // wrote into its closing socket would make it reset the connection,
      // losing its alert (the error would say EPIPE instead of why).
      socket.once(startOn, () =>
        setImmediate(() => {
          this.started = true;
          this.flush();
        }),
      );
    }
    this.flush();
  }

  /** No new streams: closing, told to go away, or gone. */
  get closed(): boolean {
    return this.closing || this.destroyedFlag;
  }

  get destroyed(): boolean {
    return this.destroyedFlag;
  }

  /** Keeps the process alive while the connection is open (the socket's ref). */
  ref(): void {
    this.socket.ref?.();
  }

  unref(): void {
    this.socket.unref?.();
  }

  /**
   * Opens a stream with `headers` (':method', ':path', ':authority' and the
   * rest; ':scheme' is added). Throws when the connection takes no new
   * streams or a field cannot be sent.
   */
  request(headers: OutgoingHeaders): ClientStream {
    if (this.closed) throw new Error('the connection is closed');
    if (this.streams.size >= this.peerMaxStreams) throw new Error(`the peer allows at most ${this.peerMaxStreams} streams at once`);
    const block = encodeHeaders(requestFields(headers, this.scheme));
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const stream = new ClientStream(id, this, this.peerInitialWindow, this.limits.streamWindow);
    this.streams.set(id, stream);
    // Control frames: they go out before any DATA of the stream.
    this.control.push(...headerBlockFrames(id, block, false, this.peerMaxFrame));
    this.scheduleFlush();
    return stream;
  }

  /**
   * Sends a PING; `answered` runs with null on its ACK, or with an error if
   * the connection goes first. False when too many pings wait already.
   */
  ping(answered: (err: Error | null) => void): boolean {
    if (this.destroyedFlag) throw new Error('the connection is closed');
    if (this.pings.size >= MAX_PINGS) return false;
    const payload = Buffer.alloc(8);
    payload.writeUInt32BE(++this.pingCounter >>> 0, 4);
    this.pings.set(payload.toString('hex'), answered);
    this.pushControl(frame(FrameType.PING, 0, 0, payload));
    this.scheduleFlush();
    return true;
  }

  /** Takes no new streams; once the open ones are done, says GOAWAY and closes. */
  close(): void {
    if (this.destroyedFlag) return;
    this.closing = true;
    this.endIfIdle();
  }

  /** Tears the connection down now: every stream is reset (CANCEL), `err` goes to them and to 'error'. */
  destroy(err?: Error): void {
    if (this.destroyedFlag) {
      // Closed gracefully already: only the socket may still be open.
      this.socket.destroy();
      return;
    }
    this.destroyedFlag = true;
    this.closing = true;
    const streams = [...this.streams.values()];
    this.streams.clear();
    this.sendable.clear();
    for (const stream of streams) {
      stream.finished = true;
      stream.rstCode ??= ErrorCode.CANCEL;
      stream.destroy(err);
    }
    const pings = [...this.pings.values()];
    this.pings.clear();
    for (const answered of pings) answered(err ?? new Error('the connection closed'));
    this.socket.destroy();
    if (err) this.emit('error', err);
    this.emit('close');
  }

  // --- Sending --------------------------------------------------------------

  /** @internal A stream has bytes, or its end, to send. */
  schedule(stream: ClientStream): void {
    if (stream.finished) return;
    this.sendable.add(stream);
    this.scheduleFlush();
  }

  /** @internal Our RST_STREAM for `stream`; it is closed from now on. */
  resetStream(stream: ClientStream, code: number): void {
    if (stream.finished) return;
    stream.rstCode ??= code;
    if (!this.destroyedFlag) this.pushControl(frame(FrameType.RST_STREAM, 0, stream.id, u32(code)));
    this.forget(stream);
    this.scheduleFlush();
  }

  /** @internal The reader took `bytes` more of the stream's data: give them back to the peer's window. */
  consumed(stream: ClientStream, bytes: number): void {
    stream.unacked += bytes;
    if (stream.finished || stream.remoteEnded) return;
    // Only once enough is owed, so the peer is not sent an update per frame.
    // The peer waits only once the window is spent, and then at least half of it is owed.
    if (stream.unacked >= this.limits.streamWindow / UPDATE_DIVISOR) {
      stream.recvWindow += stream.unacked;
      this.pushControl(frame(FrameType.WINDOW_UPDATE, 0, stream.id, u32(stream.unacked)));
      stream.unacked = 0;
      this.scheduleFlush();
    }
  }

  private pushControl(bytes: Buffer): void {
    this.control.push(bytes);
    if (this.control.length > MAX_PENDING_CONTROL && this.socketFull) {
      // Not thrown: this also runs inside a caller's reset or read.
      this.fail(new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, 'it does not read the control frames it causes'));
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.destroyedFlag) return;
    this.flushScheduled = true;
    process.nextTick(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /**
   * Writes what is owed: control frames first, then what the windows let the
   * streams send. Nothing while the socket is full, so what we hold stays
   * bounded by the streams' own buffers.
   */
  private flush(): void {
    if (this.destroyedFlag || this.socketFull || !this.started) return;
    const out = this.control;
    this.control = [];
    const done: (() => void)[] = [];
    // A stream that ends in here must not end the connection before its frames are written.
    this.flushing = true;
    try {
      this.frameData(out, done);
    } finally {
      this.flushing = false;
    }
    if (out.length === 0) {
      for (const d of done) d();
      this.endIfIdle();
      return;
    }
    const socket = this.socket;
    socket.cork();
    const last = out.length - 1;
    let more = true;
    for (let i = 0; i < last; i++) more = socket.write(out[i]!);
    // Writers are answered once the socket has written their bytes on: until
    // then it may still hold them, and a writer that reuses its buffers must wait.
    more = socket.write(out[last]!, done.length ? () => done.forEach((d) => d()) : undefined) && more;
    socket.uncork();
    if (!more) this.socketFull = true;
    this.endIfIdle();
  }

  /** Frames each sendable stream's queued bytes as far as its window and the connection's allow, then its END_STREAM. */
  private frameData(out: Buffer[], done: (() => void)[]): void {
    for (const stream of this.sendable) {
      if (stream.finished) {
        this.sendable.delete(stream);
        continue;
      }
      this.sendWindow -= frameQueued(stream, stream.id, this.sendWindow, this.peerMaxFrame, out, done);
      if (stream.queuedBytes > 0) continue;
      this.sendable.delete(stream);
      const end = stream.endPending;
      if (end) {
        stream.endPending = undefined;
        stream.localEnded = true;
        out.push(frameHeader(0, FrameType.DATA, Flag.END_STREAM, stream.id));
        done.push(() => end());
        if (stream.remoteEnded) this.completed(stream);
      }
    }
  }

  /** Both sides ended: the stream is over once its reader has read to the end. */
  private completed(stream: ClientStream): void {
    stream.rstCode ??= ErrorCode.NO_ERROR;
    this.forget(stream);
    if (stream.readableEnded) {
      stream.destroy();
      return;
    }
    stream.once('end', () => stream.destroy());
    // Nobody reads it (a trailers-only answer): let it drain so it can end.
    if (stream.readableFlowing === null) stream.resume();
  }

  /** The stream takes no more frames; the connection may close if it was the last. */
  private forget(stream: ClientStream): void {
    stream.finished = true;
    this.streams.delete(stream.id);
    this.sendable.delete(stream);
    stream.failQueue();
    this.endIfIdle();
  }

  private endIfIdle(): void {
    if (!this.closing || this.destroyedFlag || this.flushing || this.streams.size > 0) return;
    this.destroyedFlag = true;
    // We never take streams from the server: GOAWAY names none of its.
    const goaway = frame(FrameType.GOAWAY, 0, 0, Buffer.concat([u32(0), u32(ErrorCode.NO_ERROR)]));
    this.socket.end(Buffer.concat([...this.control, goaway]));
    this.control = [];
    for (const answered of this.pings.values()) answered(new Error('the connection closed'));
    this.pings.clear();
    this.emit('close');
  }

  private fail(err: ConnectionError): void {
    if (this.destroyedFlag) return;
    if (!this.socket.destroyed) {
      this.socket.write(frame(FrameType.GOAWAY, 0, 0, Buffer.concat([u32(0), u32(err.code)])));
    }
    this.destroy(new Error(`HTTP/2 error from the peer: ${err.message}`));
  }

  // --- Receiving ------------------------------------------------------------

  private receive(chunk: Buffer): void {
    if (this.destroyedFlag || chunk.length === 0) return;
    try {
      this.reader.push(chunk);
      this.reader.read(
        (type, flags, streamId, payload) => dispatchFrame(this.handlers, this.blocks, type, flags, streamId, payload),
        () => this.destroyedFlag,
        () => (this.settingsSeen ? undefined : FIRST_FRAME),
      );
    } catch (err) {
      this.fail(err instanceof ConnectionError ? err : new ConnectionError(ErrorCode.INTERNAL_ERROR, err instanceof Error ? err.message : String(err)));
      return;
    }
    this.flush();
  }

  /** What this end does with each frame (framing.ts checks what both ends check). */
  private readonly handlers: FrameHandlers = {
    data: (flags, streamId, payload) => this.onData(flags, streamId, payload),
    headerBlock: (block) => this.endBlock(block),
    reset: (streamId, payload) => this.onReset(streamId, payload),
    settings: (flags, streamId, payload) => this.onSettings(flags, streamId, payload),
    ping: (flags, payload) => this.onPing(flags, payload),
    goaway: (payload) => this.onGoaway(payload),
    windowUpdate: (streamId, payload) => this.onWindowUpdate(streamId, payload),
    pushRefused: 'PUSH_PROMISE, which our SETTINGS refused',
  };

  private onSettings(flags: number, streamId: number, payload: Buffer): void {
    const settings = readSettings(flags, streamId, payload);
    if (flags & Flag.ACK) return;
    for (const { id, value } of settings) {
      if (id === Setting.INITIAL_WINDOW_SIZE) {
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        shiftWindows(this.streams.values(), delta, (stream) => {
          if (stream.queuedBytes || stream.endPending) this.sendable.add(stream);
        });
      } else if (id === Setting.MAX_FRAME_SIZE) {
        this.peerMaxFrame = value;
      } else if (id === Setting.MAX_CONCURRENT_STREAMS) {
        this.peerMaxStreams = value;
      } else if (id === Setting.ENABLE_PUSH && value !== 0) {
        // A server may not send it other than 0 (RFC 9113 §6.5.2).
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'ENABLE_PUSH from a server');
      }
      // HEADER_TABLE_SIZE: our encoder never indexes. MAX_HEADER_LIST_SIZE: our requests are small.
    }
    this.pushControl(frame(FrameType.SETTINGS, Flag.ACK, 0));
    if (!this.settingsSeen) {
      this.settingsSeen = true;
      this.emit('remoteSettings');
    }
  }

  private onPing(flags: number, payload: Buffer): void {
    if (!(flags & Flag.ACK)) {
      this.pushControl(frame(FrameType.PING, Flag.ACK, 0, Buffer.from(payload)));
      return;
    }
    const key = payload.toString('hex');
    const answered = this.pings.get(key);
    if (!answered) return; // not ours, or answered already
    this.pings.delete(key);
    answered(null);
  }

  private onGoaway(payload: Buffer): void {
    const lastStreamId = payload.readUInt32BE(0) & 0x7fffffff;
    const code = payload.readUInt32BE(4);
    this.closing = true;
    this.emit('goaway', code);
    if (code !== ErrorCode.NO_ERROR) {
      this.destroy(new Error(`the peer ended the connection (GOAWAY, HTTP/2 error ${code}${debugText(payload.subarray(8))})`));
      return;
    }
    // Streams above the last one it took were never seen: refused, safe to retry.
    for (const stream of [...this.streams.values()]) {
      if (stream.id <= lastStreamId) continue;
      stream.rstCode ??= ErrorCode.REFUSED_STREAM;
      this.forget(stream);
      stream.destroy();
    }
    this.endIfIdle();
  }

  private onWindowUpdate(streamId: number, payload: Buffer): void {
    const increment = windowIncrement(payload);
    if (streamId === 0) {
      if (increment === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'window increment of 0');
      this.sendWindow += increment;
      if (this.sendWindow > MAX_WINDOW) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'connection window too large');
      for (const stream of this.streams.values()) if (stream.queuedBytes) this.sendable.add(stream);
      return;
    }
    const stream = this.openStream(streamId, 'WINDOW_UPDATE');
    if (!stream) return;
    if (increment === 0) return this.resetByUs(stream, ErrorCode.PROTOCOL_ERROR);
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW) return this.resetByUs(stream, ErrorCode.FLOW_CONTROL_ERROR);
    if (stream.queuedBytes || stream.endPending) this.sendable.add(stream);
  }

  private onReset(streamId: number, payload: Buffer): void {
    const stream = this.openStream(streamId, 'RST_STREAM');
    if (!stream) return;
    const code = payload.readUInt32BE(0);
    if (code === ErrorCode.NO_ERROR && stream.remoteEnded) {
      // The answer is complete and the server needs no more of the request (RFC 9113 §8.1).
      stream.localEnded = true;
      this.completed(stream);
      return;
    }
    stream.rstCode ??= code;
    this.forget(stream);
    stream.destroy();
  }

  /** Our stream `streamId`, undefined for one that is over; a connection error for one never opened. */
  private openStream(streamId: number, what: string): ClientStream | undefined {
    const stream = this.streams.get(streamId);
    if (stream) return stream;
    if (streamId % 2 === 0 || streamId >= this.nextStreamId) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `${what} on stream ${streamId}, which we never opened`);
    return undefined; // closed by us: frames in flight are dropped
  }

  /** A stream error: the stream is reset, the connection goes on. */
  private resetByUs(stream: ClientStream, code: number): void {
    this.resetStream(stream, code);
    stream.destroy();
  }

  private onData(flags: number, streamId: number, payload: Buffer): void {
    // The connection's window: given back as soon as the bytes are a stream's
    // (the streams' own windows bound what we hold).
    this.recvWindow -= payload.length;
    if (this.recvWindow < 0) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'DATA beyond the connection window');
    this.recvUnacked += payload.length;
    if (this.recvUnacked >= this.limits.connectionWindow / UPDATE_DIVISOR) {
      this.pushControl(frame(FrameType.WINDOW_UPDATE, 0, 0, u32(this.recvUnacked)));
      this.recvWindow += this.recvUnacked;
      this.recvUnacked = 0;
    }
    const data = unpad(flags, payload);
    const stream = this.openStream(streamId, 'DATA');
    if (!stream) return;
    if (!stream.responded || stream.remoteEnded) return this.resetByUs(stream, stream.remoteEnded ? ErrorCode.STREAM_CLOSED : ErrorCode.PROTOCOL_ERROR);
    stream.recvWindow -= payload.length;
    if (stream.recvWindow < 0) return this.resetByUs(stream, ErrorCode.FLOW_CONTROL_ERROR);
    const padding = payload.length - data.length;
    const taken = data.length === 0 || stream.push(data);
    if (stream.finished) return; // its reader reset it
    if (flags & Flag.END_STREAM) {
      this.remoteEnd(stream);
      return;
    }
    if (taken) this.consumed(stream, payload.length);
    else {
      // The reader is full: its window stays closed until it reads (_read).
      stream.held += data.length;
      if (padding) this.consumed(stream, padding);
    }
  }

  /** A header block is whole (a response's headers or trailers); undefined while it is not. */
  private endBlock(whole: HeaderBlock): void {
    const { streamId, flags, block } = whole;
    let fields: HeaderField[] | 'too-large';
    try {
      // Decoded even for a stream that is over: later blocks depend on the table.
      fields = this.decoder.decode(block, this.limits.maxHeaderListBytes);
    } catch (err) {
      if (err instanceof HpackError) throw new ConnectionError(ErrorCode.COMPRESSION_ERROR, err.message);
      throw err;
    }
    const stream = this.openStream(streamId, 'HEADERS');
    if (!stream) return;
    const endStream = (flags & Flag.END_STREAM) !== 0;
    if (fields === 'too-large') return this.resetByUs(stream, ErrorCode.ENHANCE_YOUR_CALM);
    if (!fields.every(wellFormed) || stream.remoteEnded) return this.resetByUs(stream, ErrorCode.PROTOCOL_ERROR);
    const { headers, raw } = incoming(fields);
    if (!stream.responded) {
      const status = Number(headers[':status']);
      if (!Number.isInteger(status) || status < 100 || status > 999) return this.resetByUs(stream, ErrorCode.PROTOCOL_ERROR);
      // 1xx: an interim answer, the real one follows.
      if (status < 200) return endStream ? this.resetByUs(stream, ErrorCode.PROTOCOL_ERROR) : undefined;
      stream.responded = true;
      stream.emit('response', headers, flags & Flag.END_STREAM, raw);
    } else {
      // Trailers: they must end the stream.
      if (!endStream) return this.resetByUs(stream, ErrorCode.PROTOCOL_ERROR);
      stream.emit('trailers', headers, flags & Flag.END_STREAM, raw);
    }
    if (endStream && !stream.finished) this.remoteEnd(stream);
  }

  /** The peer ended its side: the readable side ends; the stream is over if ours has too. */
  private remoteEnd(stream: ClientStream): void {
    stream.remoteEnded = true;
    stream.push(null);
    if (stream.localEnded) this.completed(stream);
  }
}

/** The request's fields, pseudo-headers first (RFC 9113 §8.3), checked as Node checks them. */
function requestFields(headers: OutgoingHeaders, scheme: string): HeaderField[] {
  const pseudo: HeaderField[] = [[':scheme', scheme]];
  const regular: HeaderField[] = [];
  for (const [rawName, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const name = rawName.toLowerCase();
    if (name === ':scheme') continue;
    if (CONNECTION_SPECIFIC.has(name) || (name === 'te' && value !== 'trailers')) throw new Error(`header "${name}" cannot be sent over HTTP/2`);
    const values = Array.isArray(value) ? (value as readonly string[]) : [String(value)];
    for (const v of values) {
      const field: HeaderField = [name, v];
      if (!wellFormed(field) || /[^\x00-\xff]/.test(v)) throw new Error(`header "${name}" has a name or value HTTP/2 does not allow`);
      (name.startsWith(':') ? pseudo : regular).push(field);
    }
  }
  return [...pseudo, ...regular];
}

/** Received fields as an object (repeated names as lists) and as Node's flat raw list. */
function incoming(fields: readonly HeaderField[]): { headers: IncomingHeaders; raw: string[] } {
  const headers: IncomingHeaders = {};
  const raw: string[] = [];
  for (const [name, value] of fields) {
    raw.push(name, value);
    const seen = headers[name];
    if (seen === undefined) headers[name] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else headers[name] = [seen, value];
  }
  return { headers, raw };
}

const FIRST_FRAME = { type: FrameType.SETTINGS, message: 'it does not speak HTTP/2 (its first frame is not SETTINGS)' };

/** GOAWAY's debug data as printable text for a message, or nothing. */
function debugText(data: Buffer): string {
  const text = data
    .toString('latin1')
    .replace(/[^\x20-\x7e]/g, '')
    .slice(0, MAX_DEBUG_CHARS);
  return text ? `: ${text}` : '';
}
