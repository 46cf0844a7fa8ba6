// The builder's reply as Node's HTTP/2 client delivers it: 'response' is
// emitted on the next tick, and DATA that came in the same read from the
// socket can be emitted before it. With buildkitd over TLS that happened to
// the first bytes of LLBBridge/Ping and of the Session tunnel (envd then saw
// "bogus greeting" from the daemon, or an answer without a message). The
// builder's side here is a stream we drive, so that order is certain; envd's
// side is a real HTTP/2 connection.
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Duplex } from 'node:stream';
import type { ClientStream } from '../../../src/common/h2/client.js';
import { FrameDecoder, frameMessage } from '../../../src/common/grpc-frames.js';
import { proxyCall, type CallContext } from '../../../src/envd/gateway/forward.js';

/** Enough of a builder stream (our ClientStream) for proxyCall: a duplex whose readable side we push into. */
class DrivenUpstream extends Duplex {
  readonly written: Buffer[] = [];
  rstCode: number | undefined;
  closedWith: number | undefined;

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.written.push(chunk);
    done();
  }

  close(code: number): void {
    this.closedWith = code;
    this.destroy();
  }
}

test('DATA emitted before the builder\'s response event still reaches envd, after the headers', async () => {
  const upstream = new DrivenUpstream();
  const logs: string[] = [];
  const ctx: CallContext = {
    builder: 'tcp://builder.test:1234',
    maxMessageBytes: 1024 * 1024,
    log: (m) => logs.push(m),
    active: new Set(),
    connectionFailure: () => undefined,
  };
  const server = http2.createServer();
  server.on('stream', (stream) => {
    proxyCall(ctx, '/moby.buildkit.v1.frontend.LLBBridge/Ping', stream, upstream as unknown as ClientStream);
    // The reply comes later, from the socket: any resume() proxyCall asked for has run by then.
    setImmediate(() => reply());
  });
  const reply = (): void => {
    // The order Node can produce: the first DATA, then 'response', then the rest.
    upstream.push(frameMessage(Buffer.from('first message')));
    upstream.emit('response', { ':status': 200, 'content-type': 'application/grpc' }, 0, [':status', '200', 'content-type', 'application/grpc']);
    upstream.push(frameMessage(Buffer.from('second message')));
    upstream.emit('trailers', { 'grpc-status': '0' }, 0, ['grpc-status', '0']);
    upstream.push(null);
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  try {
    const result = await new Promise<{ status: string | undefined; messages: string[] }>((resolve, reject) => {
      const req = session.request({ ':method': 'POST', ':path': '/moby.buildkit.v1.frontend.LLBBridge/Ping', 'content-type': 'application/grpc', te: 'trailers' });
      const decoder = new FrameDecoder(1024 * 1024);
      const messages: string[] = [];
      let status: string | undefined;
      req.on('data', (d: Buffer) => messages.push(...decoder.push(d).map((m) => m.toString())));
      req.on('trailers', (t) => (status = String(t['grpc-status'])));
      req.on('error', reject);
      req.on('close', () => resolve({ status, messages }));
      req.end(frameMessage(Buffer.alloc(0)));
    });
    expect(result).toEqual({ status: '0', messages: ['first message', 'second message'] });
  } finally {
    session.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
