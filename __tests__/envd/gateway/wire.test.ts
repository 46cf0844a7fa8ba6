import * as grpc from '@grpc/grpc-js';
import { CallError, FrameDecoder, frameHeader } from '../../../src/envd/gateway/frames.js';
import {
  encodeGrpcMessage,
  isLoopback,
  metadataHeaders,
  parseGrpcTimeout,
  requestMetadata,
  statusTrailers,
} from '../../../src/envd/gateway/wire.js';

const frame = (m: Buffer) => Buffer.concat([frameHeader(m.length), m]);
/** Buffer.equals per message; jest's deep equality walks big buffers byte by byte (slow). */
const sameMessages = (a: Buffer[], b: Buffer[]) => a.length === b.length && a.every((m, i) => m.equals(b[i]!));

describe('FrameDecoder', () => {
  const messages = [Buffer.from('abc'), Buffer.alloc(0), Buffer.from([0, 1, 2, 3, 4, 5, 6]), Buffer.alloc(70_000, 0x5a)];
  const stream = Buffer.concat(messages.map(frame));

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
  });

  it('reports a partial message', () => {
    const d = new FrameDecoder(1 << 20);
    expect(d.push(stream.subarray(0, 6))).toEqual([]);
    expect(d.hasPartial()).toBe(true);
    const h = new FrameDecoder(1 << 20);
    h.push(Buffer.from([0, 0]));
    expect(h.hasPartial()).toBe(true);
  });

  it('rejects compressed, invalid and oversized messages', () => {
    const err = (bytes: Buffer, max = 100): CallError => {
      try {
        new FrameDecoder(max).push(bytes);
      } catch (e) {
        return e as CallError;
      }
      throw new Error('no error');
    };
    expect(err(Buffer.from([1, 0, 0, 0, 1, 9])).code).toBe(grpc.status.UNIMPLEMENTED);
    expect(err(Buffer.from([1, 0, 0, 0, 1, 9])).message).toMatch(/compress/);
    expect(err(Buffer.from([2, 0, 0, 0, 0])).code).toBe(grpc.status.INTERNAL);
    expect(err(frameHeader(101)).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
  });
});

describe('header helpers', () => {
  it('percent-encodes grpc-message like the spec says', () => {
    expect(encodeGrpcMessage('plain text: ok')).toBe('plain text: ok');
    expect(encodeGrpcMessage('100%\n')).toBe('100%25%0A');
    expect(encodeGrpcMessage('ü')).toBe('%C3%BC');
    expect(decodeURIComponent(encodeGrpcMessage('a ü 100% \t "x"'))).toBe('a ü 100% \t "x"');
  });

  it('parses grpc-timeout', () => {
    expect(parseGrpcTimeout('5S')).toBe(5000);
    expect(parseGrpcTimeout('250m')).toBe(250);
    expect(parseGrpcTimeout('2M')).toBe(120_000);
    expect(parseGrpcTimeout('1H')).toBe(3_600_000);
    expect(parseGrpcTimeout('1000000u')).toBe(1000);
    expect(parseGrpcTimeout('999999999n')).toBeUndefined(); // 9 digits
    expect(parseGrpcTimeout('5s')).toBeUndefined();
    expect(parseGrpcTimeout('')).toBeUndefined();
  });

  it('builds request metadata from raw header fields, keeping repeated values apart', () => {
    const raw = [
      ':method', 'POST', ':path', '/a/b', ':scheme', 'http', ':authority', '127.0.0.1:1',
      'content-type', 'application/grpc', 'te', 'trailers', 'user-agent', 'grpc-go/1.70',
      'grpc-accept-encoding', 'gzip', 'grpc-timeout', '3S',
      'x-docker-expose-session-grpc-method', '/a/B',
      'x-docker-expose-session-grpc-method', '/c/D, with comma',
      'x-b-bin', `${Buffer.from([1]).toString('base64')},${Buffer.from([2, 3]).toString('base64')}`,
      'x-b-bin', Buffer.from([]).toString('base64'),
    ];
    const { metadata, timeoutMs } = requestMetadata(raw);
    expect(timeoutMs).toBe(3000);
    expect(metadata.get('x-docker-expose-session-grpc-method')).toEqual(['/a/B', '/c/D, with comma']);
    expect(metadata.get('x-b-bin')).toEqual([Buffer.from([1]), Buffer.from([2, 3]), Buffer.alloc(0)]);
    expect(Object.keys(metadata.getMap()).sort()).toEqual(['x-b-bin', 'x-docker-expose-session-grpc-method']);
  });

  it('rejects a malformed grpc-timeout and illegal header names', () => {
    expect(() => requestMetadata(['grpc-timeout', 'soon'])).toThrow(CallError);
    expect(() => requestMetadata(['Bad Key', 'x'])).toThrow(/cannot forward request header/);
  });

  it('turns metadata into header fields and status trailers', () => {
    const md = new grpc.Metadata();
    md.add('x-one', 'a');
    md.add('x-two', 'b');
    md.add('x-two', 'c');
    md.add('x-bin', Buffer.from([0xff, 0]));
    md.add('content-type', 'application/grpc+proto');
    expect(metadataHeaders(md)).toEqual({ 'x-one': 'a', 'x-two': ['b', 'c'], 'x-bin': Buffer.from([0xff, 0]).toString('base64') });
    expect(statusTrailers(5, 'gone 100%', md)).toMatchObject({ 'grpc-status': '5', 'grpc-message': 'gone 100%25', 'x-one': 'a' });
    expect(statusTrailers(0, '')).toEqual({ 'grpc-status': '0' });
  });

  it('recognises loopback peers only', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) expect(isLoopback(a)).toBe(true);
    for (const a of [undefined, '', '10.0.0.1', '::ffff:10.0.0.1', '192.168.1.127', 'fe80::1', '::']) expect(isLoopback(a)).toBe(false);
  });
});
