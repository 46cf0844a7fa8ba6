import {
  FRAME_HEADER_BYTES,
  FrameDecoder,
  FrameError,
  FrameScanner,
  decodeGrpcMessage,
  encodeGrpcMessage,
  frameHeader,
  frameMessage,
  writeFrameHeader,
} from '../../src/common/grpc-frames.js';

/** Buffer.equals per message; jest's deep equality walks big buffers byte by byte (slow). */
const sameMessages = (a: Buffer[], b: Buffer[]) => a.length === b.length && a.every((m, i) => m.equals(b[i]!));

/** The FrameError that pushing `chunks` into a fresh decoder throws. */
function frameError(chunks: Buffer[], max = 100): FrameError {
  const d = new FrameDecoder(max);
  try {
    for (const c of chunks) d.push(c);
  } catch (e) {
    if (e instanceof FrameError) return e;
    throw e;
  }
  throw new Error('no error');
}

describe('encoding', () => {
  it('writes the flag byte and a big-endian length', () => {
    expect(FRAME_HEADER_BYTES).toBe(5);
    expect([...frameHeader(0)]).toEqual([0, 0, 0, 0, 0]);
    expect([...frameHeader(0x01020304)]).toEqual([0, 1, 2, 3, 4]);
    expect([...frameHeader(0xffffffff)]).toEqual([0, 0xff, 0xff, 0xff, 0xff]);
    const target = Buffer.alloc(8, 0xee);
    writeFrameHeader(target, 300, 2);
    expect([...target]).toEqual([0xee, 0xee, 0, 0, 0, 1, 44, 0xee]);
  });

  it('puts prefix and message in one buffer', () => {
    const m = Buffer.from('hello');
    expect(frameMessage(m).equals(Buffer.concat([frameHeader(5), m]))).toBe(true);
    expect(frameMessage(new Uint8Array(0)).equals(frameHeader(0))).toBe(true);
  });
});

describe('FrameDecoder', () => {
  const messages = [Buffer.from('abc'), Buffer.alloc(0), Buffer.from([0, 1, 2, 3, 4, 5, 6]), Buffer.alloc(70_000, 0x5a)];
  const stream = Buffer.concat(messages.map(frameMessage));

  it('reassembles messages split at every possible point', () => {
    for (let cut = 0; cut <= stream.length; cut += cut < 40 ? 1 : 97) {
      const d = new FrameDecoder(1 << 20);
      const out = [...d.push(stream.subarray(0, cut)), ...d.push(stream.subarray(cut))];
      if (!sameMessages(out, messages)) throw new Error(`wrong messages when cut at ${cut}`);
      expect(d.hasPartial()).toBe(false);
    }
  });

  it('handles one byte at a time', () => {
    const d = new FrameDecoder(1 << 20);
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) out.push(...d.push(stream.subarray(i, i + 1)));
    expect(sameMessages(out, messages)).toBe(true);
    expect(d.hasPartial()).toBe(false);
  });

  it('joins one message spread over many DATA-frame-sized chunks', () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 7);
    for (let i = 0; i < big.length; i += 4099) big[i] = i & 0xff;
    const bytes = frameMessage(big);
    const d = new FrameDecoder(4 * 1024 * 1024);
    const out: Buffer[] = [];
    let pushes = 0;
    for (let at = 0; at < bytes.length; at += 16 * 1024) {
      out.push(...d.push(bytes.subarray(at, at + 16 * 1024)));
      pushes++;
    }
    expect(pushes).toBeGreaterThan(100);
    expect(sameMessages(out, [big])).toBe(true);
    expect(d.hasPartial()).toBe(false);
  });

  it('returns several messages from one chunk, as views of it', () => {
    const d = new FrameDecoder(1 << 20);
    const out = d.push(stream);
    expect(sameMessages(out, messages)).toBe(true);
    // No copy when a message lies within one chunk.
    expect(out[0]!.buffer).toBe(stream.buffer);
    expect(d.hasPartial()).toBe(false);
  });

  it('decodes zero-length messages, alone and in a row', () => {
    const d = new FrameDecoder(10);
    expect(d.push(frameHeader(0)).map((m) => m.length)).toEqual([0]);
    expect(d.push(Buffer.concat([frameHeader(0), frameHeader(0), frameHeader(0)])).map((m) => m.length)).toEqual([0, 0, 0]);
    expect(d.hasPartial()).toBe(false);
  });

  it('ignores empty chunks', () => {
    const d = new FrameDecoder(10);
    expect(d.push(Buffer.alloc(0))).toEqual([]);
    expect(d.hasPartial()).toBe(false);
    d.push(frameHeader(2));
    expect(d.push(Buffer.alloc(0))).toEqual([]);
    expect(d.push(Buffer.from('hi')).map(String)).toEqual(['hi']);
  });

  it('reports a partial message', () => {
    const d = new FrameDecoder(1 << 20);
    expect(d.push(stream.subarray(0, 6))).toEqual([]);
    expect(d.hasPartial()).toBe(true);
    const h = new FrameDecoder(1 << 20);
    h.push(Buffer.from([0, 0]));
    expect(h.hasPartial()).toBe(true);
    // A complete prefix announcing bytes that have not come yet is partial too.
    const p = new FrameDecoder(1 << 20);
    p.push(frameHeader(3));
    expect(p.hasPartial()).toBe(true);
  });

  it('accepts a message of exactly the limit', () => {
    const d = new FrameDecoder(100);
    expect(d.push(frameMessage(Buffer.alloc(100, 1))).map((m) => m.length)).toEqual([100]);
  });

  it('rejects compressed, invalid and oversized messages', () => {
    expect(frameError([Buffer.from([1, 0, 0, 0, 1, 9])])).toMatchObject({ kind: 'compressed', flag: 1, length: 1, limit: 100 });
    expect(frameError([Buffer.from([1, 0, 0, 0, 1, 9])]).message).toMatch(/compress/);
    expect(frameError([Buffer.from([2, 0, 0, 0, 0])])).toMatchObject({ kind: 'invalid-flag', flag: 2 });
    expect(frameError([Buffer.from([0xff, 0, 0, 0, 0])])).toMatchObject({ kind: 'invalid-flag', flag: 0xff });
    expect(frameError([frameHeader(101)])).toMatchObject({ kind: 'too-large', flag: 0, length: 101, limit: 100 });
    expect(frameError([frameHeader(101)]).message).toBe('gRPC message of 101 bytes exceeds the limit of 100 bytes');
  });

  it('refuses on the prefix, before the message body arrives, even when the prefix is split', () => {
    expect(frameError([frameHeader(0xffffffff).subarray(0, 2), frameHeader(0xffffffff).subarray(2)])).toMatchObject({
      kind: 'too-large',
      length: 0xffffffff,
    });
    // Messages before the refused one in the same chunk are lost with it: the stream is unusable.
    expect(frameError([Buffer.concat([frameMessage(Buffer.from('ok')), Buffer.from([1, 0, 0, 0, 0])])]).kind).toBe('compressed');
  });

  it('keeps failing with the same error once a prefix was refused', () => {
    const thrown = (bytes: Buffer): unknown => {
      try {
        d.push(bytes);
      } catch (e) {
        return e;
      }
      return undefined;
    };
    const d = new FrameDecoder(100);
    expect(d.push(frameMessage(Buffer.from('ok'))).map(String)).toEqual(['ok']);
    const first = thrown(Buffer.concat([Buffer.from([1, 0, 0, 0, 3]), Buffer.from('zi')]));
    expect(first).toBeInstanceOf(FrameError);
    // The rest of the compressed message, then a valid one: not decoded as messages.
    expect(thrown(Buffer.concat([Buffer.from('p'), frameMessage(Buffer.from('next'))]))).toBe(first);
    expect(thrown(frameMessage(Buffer.from('again')))).toBe(first);
  });
});

describe('FrameScanner', () => {
  const messages = [Buffer.from('abc'), Buffer.alloc(0), Buffer.from([1, 0, 0, 0, 9, 2, 0xff]), Buffer.alloc(70_000, 0x5a), Buffer.alloc(0)];
  const stream = Buffer.concat(messages.map(frameMessage));

  /** The FrameError that scanning `chunks` throws. */
  function scanError(chunks: Buffer[], max = 100): FrameError {
    const s = new FrameScanner(max);
    try {
      for (const c of chunks) s.push(c);
    } catch (e) {
      if (e instanceof FrameError) return e;
      throw e;
    }
    throw new Error('no error');
  }

  it('follows the framing across every split point, prefixes split too, without changing the chunks', () => {
    const before = Buffer.from(stream);
    for (let cut = 0; cut <= stream.length; cut += cut < 60 ? 1 : 97) {
      const s = new FrameScanner(1 << 20);
      s.push(stream.subarray(0, cut));
      // Mid-stream it is partial unless the cut falls exactly between messages.
      s.push(stream.subarray(cut));
      expect(s.messages).toBe(messages.length);
      expect(s.hasPartial()).toBe(false);
    }
    expect(stream.equals(before)).toBe(true);
  });

  it('handles one byte at a time and reports partial prefixes and bodies', () => {
    const s = new FrameScanner(1 << 20);
    const partialAt: number[] = [];
    for (let i = 0; i < 20; i++) {
      s.push(stream.subarray(i, i + 1));
      if (!s.hasPartial()) partialAt.push(i + 1);
    }
    // Complete after 'abc' (8 bytes) and after the empty message (13 bytes).
    expect(partialAt).toEqual([8, 13]);
    s.push(stream.subarray(20));
    expect(s.messages).toBe(messages.length);
    expect(s.hasPartial()).toBe(false);
  });

  it('counts zero-length messages and ignores empty chunks', () => {
    const s = new FrameScanner(10);
    s.push(Buffer.alloc(0));
    s.push(Buffer.concat([frameHeader(0), frameHeader(0), frameHeader(0)]));
    expect(s.messages).toBe(3);
    expect(s.hasPartial()).toBe(false);
  });

  it('refuses compressed, invalid and oversized prefixes like FrameDecoder, split or not', () => {
    expect(scanError([Buffer.from([1, 0, 0, 0, 1, 9])])).toMatchObject({ kind: 'compressed', flag: 1, length: 1, limit: 100 });
    expect(scanError([Buffer.from([2, 0, 0, 0, 0])])).toMatchObject({ kind: 'invalid-flag', flag: 2 });
    expect(scanError([frameHeader(101)])).toMatchObject({ kind: 'too-large', length: 101, limit: 100 });
    const huge = frameHeader(0xffffffff);
    for (let cut = 1; cut < 5; cut++) {
      expect(scanError([frameMessage(Buffer.from('ok')), huge.subarray(0, cut), huge.subarray(cut)])).toMatchObject({ kind: 'too-large', length: 0xffffffff });
    }
    // A prefix right after a body that ends mid-chunk.
    expect(scanError([Buffer.concat([frameMessage(Buffer.from('ok')), Buffer.from([1, 0])]), Buffer.from([0, 0, 0])]).kind).toBe('compressed');
    // Bytes of a message body that look like a bad prefix are skipped, not judged.
    const s = new FrameScanner(100);
    s.push(frameMessage(Buffer.from([1, 0xff, 0xff, 0xff, 0xff])));
    expect(s.messages).toBe(1);
  });

  it('accepts a message of exactly the limit and keeps failing once it refused one', () => {
    const ok = new FrameScanner(100);
    ok.push(frameMessage(Buffer.alloc(100, 1)));
    expect(ok.messages).toBe(1);
    const s = new FrameScanner(100);
    let first: unknown;
    try {
      s.push(Buffer.from([3, 0, 0, 0, 0]));
    } catch (e) {
      first = e;
    }
    expect(first).toBeInstanceOf(FrameError);
    expect(() => s.push(frameMessage(Buffer.from('next')))).toThrow(first as Error);
  });
});

describe('decodeGrpcMessage', () => {
  it('undoes encodeGrpcMessage', () => {
    for (const text of ['plain', '100%\n', 'ü 日本 🚀', '', 'no such build "x": ü 100%\nsecond line']) {
      expect(decodeGrpcMessage(encodeGrpcMessage(text))).toBe(text);
    }
  });

  it('keeps stray percent signs and unencoded bytes instead of throwing', () => {
    expect(decodeGrpcMessage('50% done %zz %4')).toBe('50% done %zz %4');
    // An unencoded UTF-8 value arrives from Node as one latin1 char per byte.
    expect(decodeGrpcMessage(Buffer.from('ü%21', 'utf8').toString('latin1'))).toBe('ü!');
  });
});

describe('encodeGrpcMessage', () => {
  it('percent-encodes grpc-message like the spec says', () => {
    expect(encodeGrpcMessage('plain text: ok')).toBe('plain text: ok');
    expect(encodeGrpcMessage('100%\n')).toBe('100%25%0A');
    expect(encodeGrpcMessage('ü')).toBe('%C3%BC');
    expect(encodeGrpcMessage('')).toBe('');
    expect(decodeURIComponent(encodeGrpcMessage('a ü 100% \t "x"'))).toBe('a ü 100% \t "x"');
    expect(decodeURIComponent(encodeGrpcMessage('日本 🚀 ~!*()\''))).toBe('日本 🚀 ~!*()\'');
  });

  it('does not throw on a lone surrogate (encodeURIComponent would)', () => {
    expect(encodeGrpcMessage('bad \ud800 end')).toBe('bad %EF%BF%BD end');
  });
});
