// The envd gateway against a real buildkitd, with the traffic envd's own
// client produces: Control.Solve with no frontend (a client-driven build),
// the session tunnel, and the LLBBridge calls (Ping, Solve, Return) that
// drive the build — all through the gateway's unix socket. The gateway must
// forward all of it and capture the exporter response for the action's
// outputs.
import { jest } from '@jest/globals';
import * as grpc from '@grpc/grpc-js';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlClient } from '../../src/buildkit/control.js';
import { parseEndpoint } from '../../src/buildkit/endpoint.js';
import { sessionHandlers } from '../../src/buildkit/build.js';
import { imageExporter, sharedKeyFor } from '../../src/buildkit/solve-request.js';
import { solve } from '../../src/buildkit/solve.js';
import { startGateway, type Gateway } from '../../src/envd/gateway/server.js';
import {
  Services,
  type GatewayResult,
  type GatewayReturnRequest,
  type GatewaySolveRequest,
  type GatewaySolveResponse,
  type PongResponse,
} from '../../src/protocol/index.js';
import { serviceDefinition } from '../helpers/service-definition.js';
import { anonymousCredentialProvider } from '../../src/credentials/provider.js';
import { createTransferStats } from '../../src/session/filesync/diffcopy.js';
import { randomId } from '../../src/session/session.js';
import { BUILDKIT_HOST, E2E_REGISTRY, describeE2E, makeContext, registryDigest, uniqueRepo } from './env.js';

jest.setTimeout(180_000);

type Bridge = grpc.Client & Record<string, (...a: unknown[]) => grpc.ClientUnaryCall>;

function bridgeCall<Res>(client: Bridge, method: string, request: unknown, ref: string): Promise<Res> {
  const md = new grpc.Metadata();
  // Every LLBBridge call names the build it belongs to.
  md.set('buildkit-controlapi-buildid', ref);
  return new Promise((resolve, reject) => {
    client[method]!.call(client, request, md, (err: grpc.ServiceError | null, res: Res) => (err ? reject(err) : resolve(res)));
  });
}

/** What a client-side build function does: ask the daemon to run the Dockerfile frontend, return its result. */
async function driveBuild(bridge: Bridge, ref: string): Promise<void> {
  let pong: PongResponse | undefined;
  for (let i = 0; i < 50 && !pong; i++) {
    try {
      pong = await bridgeCall<PongResponse>(bridge, 'Ping', {}, ref);
    } catch {
      await new Promise((r) => setTimeout(r, 100)); // the daemon registers the build a moment after Solve starts
    }
  }
  if (!pong) throw new Error('LLBBridge never answered Ping');
  expect(pong.FrontendAPICaps?.some((c) => c.ID === 'solve.base')).toBe(true);
  const solved = await bridgeCall<GatewaySolveResponse>(
    bridge,
    'Solve',
    { Frontend: 'dockerfile.v0', FrontendOpt: { filename: 'Dockerfile' }, allowResultReturn: true, allowResultArrayRef: true } satisfies GatewaySolveRequest,
    ref,
  );
  const result: GatewayResult = solved.result!;
  expect(result.ref?.id).toBeTruthy();
  expect(result.metadata?.['containerimage.config']).toBeDefined();
  await bridgeCall(bridge, 'Return', { result: { ref: { id: result.ref!.id! }, metadata: result.metadata ?? {} } } satisfies GatewayReturnRequest, ref);
}

describeE2E('envd gateway forwards a client-driven build to a real buildkitd', () => {
  let gateway: Gateway;
  let socketDir: string;
  beforeEach(async () => {
    socketDir = mkdtempSync(join(tmpdir(), 'e2e-gw-'));
    chmodSync(socketDir, 0o700);
    gateway = await startGateway(parseEndpoint(BUILDKIT_HOST), { socketPath: join(socketDir, 'gateway.sock') });
  });
  afterEach(async () => {
    await gateway.close();
    rmSync(socketDir, { recursive: true, force: true });
  });

  test('LLBBridge build through the gateway: pushed, and the digest is captured from Control/Solve', async () => {
    const context = makeContext({
      Dockerfile: 'FROM scratch\nCOPY busybox /bin/busybox\nCOPY hello.txt /\nRUN ["/bin/busybox", "cp", "/hello.txt", "/copied.txt"]\n',
      'hello.txt': `hello ${Date.now()}\n`,
    });
    const repo = uniqueRepo('gateway');
    const tag = `${E2E_REGISTRY}/${repo}:1`;
    const viaGateway = parseEndpoint(gateway.url);
    const control = new ControlClient(viaGateway);
    const Bridge = grpc.makeGenericClientConstructor(serviceDefinition(Services.LLBBridge), 'LLBBridge');
    const bridge = new Bridge(gateway.url, grpc.credentials.createInsecure()) as unknown as Bridge;
    const ref = randomId();
    const exporter = imageExporter({ tags: [tag], push: true, registryInsecure: false, annotations: [] });
    try {
      const [outcome] = await Promise.all([
        solve({
          client: control,
          ref,
          // No frontend and no definition: the daemon waits for the client to drive the build.
          request: { Exporters: [exporter], ExporterDeprecated: 'image', ExporterAttrsDeprecated: exporter.Attrs ?? {} },
          handlers: sessionHandlers({
            dirs: new Map([['context', context], ['dockerfile', context]]),
            credentials: anonymousCredentialProvider,
            secrets: async () => undefined,
            transfer: createTransferStats(),
          }),
          sharedKey: sharedKeyFor(context),
        }),
        driveBuild(bridge, ref),
      ]);
      const digest = outcome.exporterResponse['containerimage.digest'];
      expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(await registryDigest(E2E_REGISTRY, repo, '1')).toBe(digest);
      const captured = gateway.solves();
      expect(captured).toHaveLength(1);
      expect(captured[0]).toMatchObject({ ref, frontend: '', status: { code: 0 } });
      expect(captured[0]!.exporterResponse['containerimage.digest']).toBe(digest);
      expect(captured[0]!.exporters[0]).toEqual({ type: 'image', attrs: exporter.Attrs });
    } finally {
      control.close();
      bridge.close();
    }
  });

  test('a failing client-side build reports the daemon error through the gateway', async () => {
    const viaGateway = parseEndpoint(gateway.url);
    const control = new ControlClient(viaGateway);
    const Bridge = grpc.makeGenericClientConstructor(serviceDefinition(Services.LLBBridge), 'LLBBridge');
    const bridge = new Bridge(gateway.url, grpc.credentials.createInsecure()) as unknown as Bridge;
    const ref = randomId();
    const context = makeContext({ Dockerfile: 'FROM scratch\nCOPY does-not-exist /\n' });
    try {
      const built = solve({
        client: control,
        ref,
        request: {},
        handlers: sessionHandlers({ dirs: new Map([['context', context], ['dockerfile', context]]), credentials: anonymousCredentialProvider, secrets: async () => undefined, transfer: createTransferStats() }),
        sharedKey: sharedKeyFor(context),
      });
      const driven = driveBuild(bridge, ref).catch((err: grpc.ServiceError) => {
        // The frontend fails inside LLBBridge.Solve; a build function then returns the error.
        return bridgeCall(bridge, 'Return', { error: { code: 2, message: err.details } }, ref);
      });
      await expect(built).rejects.toThrow(/does-not-exist/);
      await driven;
      expect(gateway.solves()[0]!.status.code).not.toBe(0);
    } finally {
      control.close();
      bridge.close();
    }
  });
});
