import { Status } from '../../../src/common/grpc-status.js';
import { FrameDecoder, FrameError, frameHeader } from '../../../src/common/grpc-frames.js';
import {
  CallError,
  frameCallError,
  Metadata,
  metadataHeaders,
  parseGrpcTimeout,
  requestMetadata,
  statusTrailers,
} from '../../../src/envd/gateway/wire.js';

describe('frameCallError', () => {
  it("ends compressed, invalid and oversized request messages with the gateway's statuses", () => {
    const err = (bytes: Buffer, max = 100): CallError => {
      try {
        new FrameDecoder(max).push(bytes);
      } catch (e) {
        if (e instanceof FrameError) return frameCallError(e);
        throw e;
      }
      throw new Error('no error');
    };
    expect(err(Buffer.from([1, 0, 0, 0, 1, 9])).code).toBe(Status.UNIMPLEMENTED);
    expect(err(Buffer.from([1, 0, 0, 0, 1, 9])).message).toMatch(/compress/);
    expect(err(Buffer.from([1, 0, 0, 0, 1, 9])).message).toBe(
      'envd gateway: compressed gRPC request messages are not supported; disable compression in the client',
    );
    expect(err(Buffer.from([2, 0, 0, 0, 0])).code).toBe(Status.INTERNAL);
    expect(err(Buffer.from([2, 0, 0, 0, 0])).message).toBe('envd gateway: invalid gRPC message flag 2');
    expect(err(frameHeader(101)).code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(err(frameHeader(101)).message).toBe('envd gateway: request message of 101 bytes exceeds the limit of 100 bytes');
  });
});

describe('header helpers', () => {
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
    expect(metadata.keys().sort()).toEqual(['x-b-bin', 'x-docker-expose-session-grpc-method']);
  });

  it('rejects a malformed grpc-timeout and illegal header names', () => {
    expect(() => requestMetadata(['grpc-timeout', 'soon'])).toThrow(CallError);
    expect(() => requestMetadata(['Bad Key', 'x'])).toThrow(/cannot forward request header/);
  });

  it('turns metadata into header fields and status trailers', () => {
    const md = new Metadata();
    md.add('x-one', 'a');
    md.add('x-two', 'b');
    md.add('x-two', 'c');
    md.add('x-bin', Buffer.from([0xff, 0]));
    md.add('content-type', 'application/grpc+proto');
    expect(metadataHeaders(md)).toEqual({ 'x-one': 'a', 'x-two': ['b', 'c'], 'x-bin': Buffer.from([0xff, 0]).toString('base64') });
    expect(statusTrailers(5, 'gone 100%', md)).toMatchObject({ 'grpc-status': '5', 'grpc-message': 'gone 100%25', 'x-one': 'a' });
    expect(statusTrailers(0, '')).toEqual({ 'grpc-status': '0' });
  });
});
