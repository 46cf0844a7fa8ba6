// Our gRPC client calls against a raw HTTP/2 server that answers exactly as
// each test says: statuses in trailers or alone, broken answers, and calls
// that are cut short by a deadline, a cancel or the connection.
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { BuilderConnection } from '../../src/buildkit/connection.js';
import { parseEndpoint } from '../../src/buildkit/endpoint.js';
import { GrpcError, grpcTimeout, unaryCall } from '../../src/common/grpc-call.js';
import { frameMessage } from '../../src/common/grpc-frames.js';
import { Status } from '../../src/common/grpc-status.js';

type Handler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void;

let server: http2.Http2Server;
let handler: Handler;
let connection: BuilderConnection;
const seen: { headers: http2.IncomingHttpHeaders; reset?: number }[] = [];

beforeAll(async () => {
  server = http2.createServer();
  server.on('stream', (stream, headers) => {
    const entry: (typeof seen)[number] = { headers };
    seen.push(entry);
    stream.on('close', () => (entry.reset = stream.rstCode));
    stream.on('error', () => undefined);
    handler(stream, headers);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  connection = new BuilderConnection(parseEndpoint(`tcp://127.0.0.1:${(server.address() as AddressInfo).port}`), {});
});

afterAll(async () => {
  await connection.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  seen.length = 0;
});

const OPTIONS = { maxMessageBytes: 1024 };

function call(options: Partial<Parameters<typeof unaryCall>[3]> = {}): Promise<Buffer> {
  return unaryCall(connection, '/test.Service/Method', Buffer.from('request'), { ...OPTIONS, ...options });
}

async function failure(p: Promise<unknown>): Promise<GrpcError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GrpcError);
  return err as GrpcError;
}

/** Reads the whole request, then answers with `respond`. */
function answer(respond: (stream: http2.ServerHttp2Stream, request: Buffer) => void): Handler {
  return (stream) => {
    const parts: Buffer[] = [];
    stream.on('data', (d: Buffer) => parts.push(d));
    stream.on('end', () => respond(stream, Buffer.concat(parts)));
  };
}

test('sends a framed request with gRPC headers and returns the response message', async () => {
  handler = answer((stream, request) => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.write(frameMessage(Buffer.from(`echo ${request.subarray(5).toString()}`)));
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end();
  });
  const response = await call({ deadline: new Date(Date.now() + 60_000), metadata: { 'x-list': ['a', 'b'] } });
  expect(response.toString()).toBe('echo request');
  const h = seen[0]!.headers;
  expect(h[':method']).toBe('POST');
  expect(h[':path']).toBe('/test.Service/Method');
  expect(h['content-type']).toBe('application/grpc');
  expect(h.te).toBe('trailers');
  expect(h['grpc-timeout']).toMatch(/^\d{1,8}m$/);
  expect(h['x-list']).toBe('a, b');
});

test('a status in the trailers fails the call with its code and decoded message', async () => {
  handler = answer((stream) => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '5', 'grpc-message': 'not here: 100%25' }));
    stream.end();
  });
  const err = await failure(call());
  expect(err.code).toBe(Status.NOT_FOUND);
  expect(err.details).toBe('not here: 100%');
  expect(err.message).toBe('5 NOT_FOUND: not here: 100%');
});

test('a trailers-only answer carries the status in its headers', async () => {
  handler = (stream) => stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12', 'grpc-message': 'unknown method' }, { endStream: true });
  const err = await failure(call());
  expect([err.code, err.details]).toEqual([Status.UNIMPLEMENTED, 'unknown method']);
});

test('an unreadable grpc-status is UNKNOWN, not trusted', async () => {
  handler = (stream) => stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '99' }, { endStream: true });
  expect((await failure(call())).code).toBe(Status.UNKNOWN);
});

test.each([
  [{ ':status': 503, 'content-type': 'text/plain' }, Status.UNAVAILABLE, 'the builder answered HTTP 503'],
  [{ ':status': 404 }, Status.UNIMPLEMENTED, 'the builder answered HTTP 404'],
  [{ ':status': 200, 'content-type': 'text/html' }, Status.UNKNOWN, 'the builder answered with content-type "text/html", not gRPC'],
])('an answer that is not gRPC fails the call: %j', async (headers, code, details) => {
  handler = (stream) => {
    stream.respond(headers);
    stream.end('<html>');
  };
  const err = await failure(call());
  expect([err.code, err.details]).toEqual([code, details]);
});

test('an OK status without a response message is an error, as is a second message', async () => {
  handler = (stream) => stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '0' }, { endStream: true });
  expect((await failure(call())).details).toBe('the builder answered without a response message');
  handler = answer((stream) => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.write(Buffer.concat([frameMessage(Buffer.from('one')), frameMessage(Buffer.from('two'))]));
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end();
  });
  const err = await failure(call());
  expect([err.code, err.details]).toEqual([Status.INTERNAL, "cannot read the builder's answer: more than one response message"]);
});

test('a response message over the limit fails the call before it is buffered, and resets the stream', async () => {
  handler = answer((stream) => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
    // Only the prefix: a limit checked after buffering would wait for the rest.
    stream.write(Buffer.from([0, 0x10, 0, 0, 0]));
  });
  const err = await failure(call());
  expect([err.code, err.details]).toEqual([Status.RESOURCE_EXHAUSTED, 'from the builder: gRPC message of 268435456 bytes exceeds the limit of 1024 bytes']);
  await waitFor(() => seen[0]!.reset !== undefined);
  expect(seen[0]!.reset).toBe(http2.constants.NGHTTP2_CANCEL);
});

test('a call the server never answers ends at its deadline, and the stream is reset', async () => {
  handler = () => undefined;
  const err = await failure(call({ deadline: new Date(Date.now() + 50) }));
  expect([err.code, err.details]).toEqual([Status.DEADLINE_EXCEEDED, 'deadline exceeded']);
  await waitFor(() => seen[0]?.reset !== undefined);
  expect(seen[0]!.reset).toBe(http2.constants.NGHTTP2_CANCEL);
});

test('aborting the signal cancels the call at once', async () => {
  handler = () => undefined;
  const controller = new AbortController();
  const pending = call({ signal: controller.signal });
  await waitFor(() => seen.length === 1);
  controller.abort();
  const err = await failure(pending);
  expect(err.code).toBe(Status.CANCELLED);
  await waitFor(() => seen[0]!.reset !== undefined);
  expect(seen[0]!.reset).toBe(http2.constants.NGHTTP2_CANCEL);
});

test('a stream the server resets, or ends without a status, fails the call', async () => {
  handler = (stream) => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  const reset = await failure(call());
  expect([reset.code, reset.details]).toEqual([Status.INTERNAL, 'the builder reset the call (HTTP/2 error 2)']);
  handler = answer((stream) => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
    stream.end(frameMessage(Buffer.from('no status follows')));
  });
  const bare = await failure(call());
  expect([bare.code, bare.details]).toEqual([Status.UNAVAILABLE, 'the call ended without a gRPC status']);
});

test('a builder that cannot be reached fails the call as UNAVAILABLE with the reason', async () => {
  const probe = http2.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const closed = new BuilderConnection(parseEndpoint(`tcp://127.0.0.1:${port}`), {});
  try {
    const err = await failure(unaryCall(closed, '/test.Service/Method', Buffer.alloc(0), OPTIONS));
    expect(err.code).toBe(Status.UNAVAILABLE);
    expect(err.details).toBe(`connect ECONNREFUSED 127.0.0.1:${port}`);
  } finally {
    await closed.close();
  }
});

test('grpc-timeout uses at most 8 digits', () => {
  expect(grpcTimeout(0)).toBe('1m');
  expect(grpcTimeout(1500)).toBe('1500m');
  expect(grpcTimeout(99_999_999)).toBe('99999999m');
  expect(grpcTimeout(100_000_000)).toBe('100000S');
  expect(grpcTimeout(1e13)).toBe('2777778H');
  expect(grpcTimeout(1e18)).toBe('99999999H');
});

/** Waits for the server side to see something (its events, not time, decide). */
async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setImmediate(r));
}
