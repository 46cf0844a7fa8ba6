// What both of our HTTP/2 ends do the same way: cutting frames out of the
// bytes as they come, taking padding and priority off, putting a header
// block together from HEADERS and CONTINUATION, splitting one into frames,
// reading SETTINGS, and framing a stream's queued bytes as far as the
// windows allow. The session's server (session/h2/connection.ts) and the
// builder connection's client (client.ts) differ only in what they do with
// the frames.
import { DEFAULT_MAX_FRAME, ErrorCode, FRAME_HEADER_BYTES, Flag, FrameType, MAX_FRAME_LIMIT, MAX_WINDOW, Setting, frame, frameHeader } from './frames.js';

/** A connection error: the connection ends with GOAWAY and this code. */
export class ConnectionError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** Bytes from the peer, in order, cut into frames. */
export class FrameReader {
  private input: Buffer[] = [];
  private bytes = 0;

  push(chunk: Buffer): void {
    this.input.push(chunk);
    this.bytes += chunk.length;
  }

  get length(): number {
    return this.bytes;
  }

  /** Takes the first `n` bytes (the client preface), or undefined until they are here. */
  take(n: number): Buffer | undefined {
    if (this.bytes < n) return undefined;
    const all = this.join();
    this.input = all.length > n ? [all.subarray(n)] : [];
    this.bytes -= n;
    return all.subarray(0, n);
  }

  /**
   * Calls `onFrame` for each whole frame there is, until `stop` says so.
   * `firstType`, while set, is the type the next frame must have (SETTINGS
   * first): checked before the length, since an HTTP/1 answer reads as a
   * huge frame. Frames above our maximum size (the default; we never raise
   * it) are a connection error.
   */
  read(onFrame: (type: number, flags: number, streamId: number, payload: Buffer) => void, stop: () => boolean, firstType?: () => { type: number; message: string } | undefined): void {
    while (this.bytes >= FRAME_HEADER_BYTES && !stop()) {
      let buf = this.input[0]!;
      if (buf.length < FRAME_HEADER_BYTES) buf = this.join();
      const first = firstType?.();
      if (first && buf[3] !== first.type) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, first.message);
      const length = (buf[0]! << 16) | (buf[1]! << 8) | buf[2]!;
      if (length > DEFAULT_MAX_FRAME) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, `a frame of ${length} bytes, above our maximum`);
      const total = FRAME_HEADER_BYTES + length;
      if (this.bytes < total) return;
      if (buf.length < total) buf = this.join();
      const type = buf[3]!;
      const flags = buf[4]!;
      const streamId = buf.readUInt32BE(5) & 0x7fffffff;
      const payload = buf.subarray(FRAME_HEADER_BYTES, total);
      if (buf.length === total) this.input.shift();
      else this.input[0] = buf.subarray(total);
      this.bytes -= total;
      onFrame(type, flags, streamId, payload);
    }
  }

  private join(): Buffer {
    const all = this.input.length === 1 ? this.input[0]! : Buffer.concat(this.input, this.bytes);
    this.input = [all];
    return all;
  }
}

/** A frame's payload without its padding, or a connection error when the padding does not fit. */
export function unpad(flags: number, payload: Buffer): Buffer {
  if (!(flags & Flag.PADDED)) return payload;
  if (payload.length < 1) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'padded frame without its pad length');
  const pad = payload[0]!;
  if (pad > payload.length - 1) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'padding longer than the frame');
  return payload.subarray(1, payload.length - pad);
}

/** A whole header block: its stream, the HEADERS frame's flags, and the block's bytes. */
export interface HeaderBlock {
  readonly streamId: number;
  readonly flags: number;
  readonly block: Buffer;
}

/**
 * Puts header blocks together from HEADERS and CONTINUATION frames, bounded
 * by `maxBytes` (a peer could otherwise send CONTINUATION without end).
 */
export class HeaderBlockReader {
  private current: { streamId: number; flags: number; fragments: Buffer[]; bytes: number } | undefined;

  constructor(private readonly maxBytes: number) {}

  /** A block has begun and not ended: only its CONTINUATION may come next. */
  get open(): boolean {
    return this.current !== undefined;
  }

  /** A HEADERS frame; the block if it is whole. */
  headers(flags: number, streamId: number, payload: Buffer): HeaderBlock | undefined {
    if (streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'HEADERS on stream 0');
    let fragment = unpad(flags, payload);
    if (flags & Flag.PRIORITY) {
      if (fragment.length < 5) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'HEADERS priority truncated');
      fragment = fragment.subarray(5);
    }
    // Copied: the frame's bytes belong to a socket or tunnel buffer.
    this.current = { streamId, flags, fragments: [Buffer.from(fragment)], bytes: fragment.length };
    return this.added(flags);
  }

  /** A CONTINUATION frame; the block if it is whole now. */
  continuation(flags: number, streamId: number, payload: Buffer): HeaderBlock | undefined {
    const c = this.current;
    if (!c || c.streamId !== streamId) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'CONTINUATION without its HEADERS');
    c.fragments.push(Buffer.from(payload));
    c.bytes += payload.length;
    return this.added(flags);
  }

  private added(flags: number): HeaderBlock | undefined {
    const c = this.current!;
    if (c.bytes > this.maxBytes) throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, `a header block above ${this.maxBytes} bytes`);
    if (!(flags & Flag.END_HEADERS)) return undefined;
    this.current = undefined;
    return { streamId: c.streamId, flags: c.flags, block: c.fragments.length === 1 ? c.fragments[0]! : Buffer.concat(c.fragments, c.bytes) };
  }
}

/** A header block as HEADERS and CONTINUATION frames of at most `maxFrame` bytes each. */
export function headerBlockFrames(streamId: number, block: Buffer, endStream: boolean, maxFrame: number): Buffer[] {
  const frames: Buffer[] = [];
  let offset = 0;
  do {
    const piece = block.subarray(offset, offset + maxFrame);
    const first = offset === 0;
    offset += piece.length;
    const flags = (offset >= block.length ? Flag.END_HEADERS : 0) | (first && endStream ? Flag.END_STREAM : 0);
    frames.push(frame(first ? FrameType.HEADERS : FrameType.CONTINUATION, flags, streamId, piece));
  } while (offset < block.length);
  return frames;
}

/**
 * The settings in a SETTINGS frame, checked as RFC 9113 §6.5.2 says; an
 * empty list for an ACK. Values of settings we do not act on are passed
 * on unchecked.
 */
export function readSettings(flags: number, streamId: number, payload: Buffer): { id: number; value: number }[] {
  if (streamId !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'SETTINGS on a stream');
  if (flags & Flag.ACK) {
    if (payload.length) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
    return [];
  }
  if (payload.length % 6) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS of the wrong size');
  const settings: { id: number; value: number }[] = [];
  for (let at = 0; at < payload.length; at += 6) {
    const id = payload.readUInt16BE(at);
    const value = payload.readUInt32BE(at + 2);
    if (id === Setting.INITIAL_WINDOW_SIZE && value > MAX_WINDOW) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'initial window too large');
    if (id === Setting.MAX_FRAME_SIZE && (value < DEFAULT_MAX_FRAME || value > MAX_FRAME_LIMIT)) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'invalid maximum frame size');
    if (id === Setting.ENABLE_PUSH && value > 1) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'invalid ENABLE_PUSH');
    settings.push({ id, value });
  }
  return settings;
}

/** The increment of a WINDOW_UPDATE, checked for its size. */
export function windowIncrement(payload: Buffer): number {
  if (payload.length !== 4) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'WINDOW_UPDATE of the wrong size');
  return payload.readUInt32BE(0) & 0x7fffffff;
}

/** A stream's bytes waiting to be framed, and its send window. */
export interface SendQueue {
  readonly queue: { readonly data: Buffer; readonly onSent: (() => void) | undefined }[];
  /** Bytes of queue[0] already framed. */
  queueOffset: number;
  queuedBytes: number;
  sendWindow: number;
}

/**
 * Frames `q`'s bytes into `out` as DATA frames of stream `streamId`, as far
 * as its window, `connectionWindow` and `maxFrame` allow, with no copying;
 * the callbacks of the writes wholly framed go to `onSent`. Returns how many
 * bytes were framed (the caller takes them off the connection's window).
 */
export function frameQueued(q: SendQueue, streamId: number, connectionWindow: number, maxFrame: number, out: Buffer[], onSent: (() => void)[]): number {
  let framed = 0;
  while (q.queuedBytes > 0 && q.sendWindow > 0 && connectionWindow - framed > 0) {
    const size = Math.min(q.queuedBytes, q.sendWindow, connectionWindow - framed, maxFrame);
    out.push(frameHeader(size, FrameType.DATA, 0, streamId));
    let left = size;
    while (left > 0) {
      const head = q.queue[0]!;
      const available = head.data.length - q.queueOffset;
      const take = Math.min(available, left);
      out.push(take === head.data.length ? head.data : head.data.subarray(q.queueOffset, q.queueOffset + take));
      left -= take;
      if (take === available) {
        q.queue.shift();
        q.queueOffset = 0;
        if (head.onSent) onSent.push(head.onSent);
      } else {
        q.queueOffset += take;
      }
    }
    q.queuedBytes -= size;
    q.sendWindow -= size;
    framed += size;
  }
  // Empty writes (only a callback) at the head of an empty queue.
  while (q.queuedBytes === 0 && q.queue.length) {
    const head = q.queue.shift()!;
    if (head.onSent) onSent.push(head.onSent);
  }
  return framed;
}

/** What an HTTP/2 end does with each kind of frame; dispatchFrame checks what is the same for both. */
export interface FrameHandlers {
  data(flags: number, streamId: number, payload: Buffer): void;
  /** A whole header block (HEADERS and its CONTINUATION frames). */
  headerBlock(block: HeaderBlock): void;
  reset(streamId: number, payload: Buffer): void;
  settings(flags: number, streamId: number, payload: Buffer): void;
  /** A PING of the right size on stream 0 (answer it unless it is an ACK). */
  ping(flags: number, payload: Buffer): void;
  /** A GOAWAY on stream 0. */
  goaway(payload: Buffer): void;
  windowUpdate(streamId: number, payload: Buffer): void;
  /** Why a PUSH_PROMISE is refused here. */
  readonly pushRefused: string;
}

/** Hands one frame to `on`, after the checks RFC 9113 §6 makes of every end. */
export function dispatchFrame(on: FrameHandlers, blocks: HeaderBlockReader, type: number, flags: number, streamId: number, payload: Buffer): void {
  if (blocks.open && type !== FrameType.CONTINUATION) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'header block interrupted');
  let block: HeaderBlock | undefined;
  switch (type) {
    case FrameType.DATA:
      if (streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'DATA on stream 0');
      return on.data(flags, streamId, payload);
    case FrameType.HEADERS:
      block = blocks.headers(flags, streamId, payload);
      return block && on.headerBlock(block);
    case FrameType.CONTINUATION:
      block = blocks.continuation(flags, streamId, payload);
      return block && on.headerBlock(block);
    case FrameType.PRIORITY:
      if (streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PRIORITY on stream 0');
      if (payload.length !== 5) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'PRIORITY of the wrong size');
      return;
    case FrameType.RST_STREAM:
      if (streamId === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
      if (payload.length !== 4) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'RST_STREAM of the wrong size');
      return on.reset(streamId, payload);
    case FrameType.SETTINGS:
      return on.settings(flags, streamId, payload);
    case FrameType.PUSH_PROMISE:
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, on.pushRefused);
    case FrameType.PING:
      if (streamId !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PING on a stream');
      if (payload.length !== 8) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'PING of the wrong size');
      return on.ping(flags, payload);
    case FrameType.GOAWAY:
      if (streamId !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'GOAWAY on a stream');
      if (payload.length < 8) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'GOAWAY of the wrong size');
      return on.goaway(payload);
    case FrameType.WINDOW_UPDATE:
      return on.windowUpdate(streamId, payload);
    default:
      return; // unknown frame types are ignored (RFC 9113 §4.1)
  }
}

/** A new SETTINGS_INITIAL_WINDOW_SIZE changes every open stream's send window by `delta` (RFC 9113 §6.9.2). */
export function shiftWindows<S extends SendQueue>(streams: Iterable<S>, delta: number, onChanged: (stream: S) => void): void {
  for (const stream of streams) {
    stream.sendWindow += delta;
    if (stream.sendWindow > MAX_WINDOW) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'stream window too large');
    onChanged(stream);
  }
}
