// The gateway in front of a builder on a unix socket (the default buildkitd address).
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { parseEndpoint } from '../../../src/buildkit/endpoint.js';
import { startGateway, type Gateway } from '../../../src/envd/gateway/server.js';
import { codec, Messages, Services, type BytesMessage, type ListWorkersResponse, type SolveResponse } from '../../../src/protocol/index.js';
import { clientOptions, socketTarget, M, MiB, privateSocketPath, startBackend, statusOf, tempDir, tryConnect, unary, type Backend } from './helpers.js';

const bytesMessage = codec<BytesMessage>(Messages.BytesMessage);

let dir: string;
let backend: Backend;
let gateway: Gateway;
let client: grpc.Client;

beforeAll(async () => {
  dir = tempDir('gw-unix-');
  backend = await startBackend({ socketPath: path.join(dir, 'buildkitd.sock') });
  gateway = await startGateway(parseEndpoint(backend.target), { socketPath: privateSocketPath(dir) });
  client = new grpc.Client(socketTarget(gateway), grpc.credentials.createInsecure(), clientOptions);
});

afterAll(async () => {
  client?.close();
  await gateway?.close();
  await backend?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('envd gateway over a unix socket', () => {
  it('forwards ListWorkers', async () => {
    const r = await unary<Record<string, never>, ListWorkersResponse>(client, ...M.ListWorkers, {});
    expect(r.response?.record?.[0]?.ID).toBe('worker-1');
    expect(r.status.metadata.get('x-workers-trailer')).toEqual(['t1']);
  });

  it('echoes the Session stream', async () => {
    const md = new grpc.Metadata();
    md.add('x-docker-expose-session-uuid', 'unix-session');
    const call = client.makeBidiStreamRequest<BytesMessage, BytesMessage>(
      `/${Services.Control}/Session`,
      (m) => bytesMessage.encode(m),
      (b) => bytesMessage.decode(b),
      md,
      {},
    );
    const sent = [randomBytes(5 * MiB), randomBytes(10), randomBytes(100_000)];
    const got: Buffer[] = [];
    call.on('data', (m: BytesMessage) => got.push(m.data ?? Buffer.alloc(0)));
    const done = statusOf(call);
    for (const data of sent) call.write({ data });
    call.end();
    expect((await done).code).toBe(0);
    expect(got.length).toBe(sent.length);
    got.forEach((g, i) => expect(g.equals(sent[i]!)).toBe(true));
    expect(backend.record.metadata.get(`/${Services.Control}/Session`)?.get('x-docker-expose-session-uuid')).toEqual(['unix-session']);
  });

  it('captures Solve', async () => {
    await unary<object, SolveResponse>(client, ...M.Solve, { Ref: 'unix-build', Exporters: [{ Type: 'image', Attrs: { push: 'true' } }] });
    expect(gateway.solves().at(-1)).toMatchObject({
      ref: 'unix-build',
      exporterResponse: { 'containerimage.digest': `sha256:${'d'.repeat(64)}` },
      status: { code: 0 },
    });
  });

  it('refuses connections once closed', async () => {
    const gw = await startGateway(parseEndpoint(backend.target), { socketPath: privateSocketPath(dir) });
    await gw.close();
    await gw.close();
    expect(await tryConnect(gw.url)).toBe('ENOENT');
    expect(fs.existsSync(gw.socketPath)).toBe(false);
    const c = new grpc.Client(socketTarget(gw), grpc.credentials.createInsecure());
    const r = await unary<Record<string, never>, ListWorkersResponse>(c, ...M.ListWorkers, {}, new grpc.Metadata(), { deadline: Date.now() + 2000 });
    c.close();
    expect([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]).toContain(r.error?.code);
  });
});
