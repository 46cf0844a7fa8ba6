// gRPC messages on a raw HTTP/2 stream: a flag byte (1 = compressed), a
// 4-byte big-endian length, then the message. DATA frames do not line up with
// messages, so the decoder reassembles them across chunks, and the scanner
// checks them across chunks as they pass. Used by the session's gRPC server
// and by the envd gateway; each turns a FrameError into its own status and
// wording, so nothing here knows about gRPC status codes.

/** Length of the gRPC message prefix. */
export const FRAME_HEADER_BYTES = 5;

/**
 * Why a request stream cannot be decoded: a compressed message (we never
 * negotiate compression, so we cannot read it), a flag byte other than 0 or 1,
 * or a length above the decoder's limit.
 */
export type FrameErrorKind = 'compressed' | 'invalid-flag' | 'too-large';

/** Thrown by FrameDecoder.push; carries the offending prefix so callers can word their own status. */
export class FrameError extends Error {
  constructor(
    readonly kind: FrameErrorKind,
    /** The flag byte of the refused prefix. */
    readonly flag: number,
    /** The message length the refused prefix announced. */
    readonly length: number,
    /** The decoder's maximum message size. */
    readonly limit: number,
  ) {
    super(
      kind === 'compressed'
        ? 'compressed gRPC messages are not supported'
        : kind === 'invalid-flag'
          ? `invalid gRPC message flag ${flag}`
          : `gRPC message of ${length} bytes exceeds the limit of ${limit} bytes`,
    );
    this.name = 'FrameError';
  }
}

/**
 * Writes the prefix of an uncompressed message of `length` bytes at `offset`,
 * so a caller can put the start of the message in the same buffer. The length
 * is written by hand: writeUInt32BE's range checks show in write-heavy profiles.
 */
export function writeFrameHeader(target: Buffer, length: number, offset = 0): void {
  target[offset] = 0; // not compressed
  target[offset + 1] = length >>> 24;
  target[offset + 2] = (length >>> 16) & 0xff;
  target[offset + 3] = (length >>> 8) & 0xff;
  target[offset + 4] = length & 0xff;
}

/** The 5-byte prefix of an uncompressed message of `length` bytes. */
export function frameHeader(length: number): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  writeFrameHeader(header, length);
  return header;
}

/** Prefix and message in one buffer (one DATA write; for big messages write frameHeader and the message separately). */
export function frameMessage(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + message.length);
  writeFrameHeader(out, message.length);
  out.set(message, FRAME_HEADER_BYTES);
  return out;
}

/**
 * Splits a byte stream into gRPC messages. Chunks are kept as a list and only
 * joined when a message spans several of them, so a multi-MB message arriving
 * in 16 KiB DATA frames is copied once, not once per frame. Messages are
 * usually views of the received chunks, not copies.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Length of the message being assembled, or -1 while waiting for a prefix. */
  private expected = -1;
  /**
   * Set once a prefix is refused. The bytes after it are no message boundary,
   * so every later push throws the same error instead of decoding garbage.
   */
  private failure: FrameError | undefined;

  /** `maxMessageBytes` bounds what a (corrupt or hostile) length prefix can make us buffer. */
  constructor(private readonly maxMessageBytes: number) {}

  /** Adds bytes; returns the messages they complete, in order. Throws FrameError. */
  push(chunk: Buffer): Buffer[] {
    if (this.failure) throw this.failure;
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const messages: Buffer[] = [];
    for (;;) {
      if (this.expected < 0) {
        if (this.buffered < FRAME_HEADER_BYTES) break;
        const header = this.take(FRAME_HEADER_BYTES);
        const flag = header[0]!;
        const length = header.readUInt32BE(1);
        // Checked on the prefix, before any of the message is buffered.
        const kind: FrameErrorKind | undefined =
          flag === 1 ? 'compressed' : flag !== 0 ? 'invalid-flag' : length > this.maxMessageBytes ? 'too-large' : undefined;
        if (kind) {
          this.failure = new FrameError(kind, flag, length, this.maxMessageBytes);
          throw this.failure;
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

/**
 * Checks the framing of a byte stream that is passed on unchanged: walks the
 * 5-byte prefixes across chunks and skips the message bodies without
 * buffering or copying them (only a prefix split across chunks is held, in a
 * 5-byte buffer). Refuses the same prefixes as FrameDecoder, so a forwarder
 * can stop a bad stream before passing on the chunk that carries it.
 */
export class FrameScanner {
  /** Body bytes of the current message still to come. */
  private remaining = 0;
  /** A prefix split across chunks, collected here until complete. */
  private readonly prefix = Buffer.alloc(FRAME_HEADER_BYTES);
  private prefixFill = 0;
  private failure: FrameError | undefined;
  /** Messages whose prefix has been seen and accepted so far. */
  messages = 0;

  constructor(private readonly maxMessageBytes: number) {}

  /** Scans `chunk`; throws FrameError on a refused prefix, and on every push after one. */
  push(chunk: Buffer): void {
    if (this.failure) throw this.failure;
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.remaining > 0) {
        const skip = Math.min(this.remaining, n - i);
        i += skip;
        this.remaining -= skip;
        continue;
      }
      let flag: number;
      let length: number;
      if (this.prefixFill === 0 && n - i >= FRAME_HEADER_BYTES) {
        flag = chunk[i]!;
        length = chunk.readUInt32BE(i + 1);
        i += FRAME_HEADER_BYTES;
      } else {
        const part = Math.min(FRAME_HEADER_BYTES - this.prefixFill, n - i);
        chunk.copy(this.prefix, this.prefixFill, i, i + part);
        this.prefixFill += part;
        i += part;
        if (this.prefixFill < FRAME_HEADER_BYTES) break;
        this.prefixFill = 0;
        flag = this.prefix[0]!;
        length = this.prefix.readUInt32BE(1);
      }
      const kind: FrameErrorKind | undefined =
        flag === 1 ? 'compressed' : flag !== 0 ? 'invalid-flag' : length > this.maxMessageBytes ? 'too-large' : undefined;
      if (kind) {
        this.failure = new FrameError(kind, flag, length, this.maxMessageBytes);
        throw this.failure;
      }
      this.messages++;
      this.remaining = length;
    }
  }

  /** True while a message (or its prefix) has begun but not ended. */
  hasPartial(): boolean {
    return this.remaining > 0 || this.prefixFill > 0;
  }
}

/**
 * grpc-message value encoding (gRPC over HTTP/2 spec): the UTF-8 bytes, with
 * everything outside printable ASCII, and '%' itself, as %XX. Going through
 * bytes rather than encodeURIComponent also copes with lone surrogates
 * (encoded as U+FFFD) instead of throwing while a call is being ended.
 */
export function encodeGrpcMessage(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    if (byte >= 0x20 && byte <= 0x7e && byte !== 0x25) out += String.fromCharCode(byte);
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * The inverse of encodeGrpcMessage: %XX sequences back to bytes, then UTF-8.
 * A '%' not followed by two hex digits is kept as it is (lenient, like gRPC
 * clients), so a hostile value can never make decoding throw.
 */
export function decodeGrpcMessage(value: string): string {
  if (!value.includes('%')) return value;
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x25 && i + 2 < value.length && /^[0-9a-fA-F]{2}$/.test(value.slice(i + 1, i + 3))) {
      bytes.push(parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x100) {
      // Node hands header values over as latin1: one char per received byte.
      bytes.push(c);
    } else {
      for (const b of Buffer.from(value[i]!, 'utf8')) bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}
