// A builder that dies or goes silent during a build: the build fails with
// one line naming the builder, instead of hanging (silent) or saying only
// "connection closed" (dead). The daemon here is a fake behind a proxy that
// can freeze (a SIGSTOPped daemon: the connection stays open, nothing is
// answered) or drop every connection (a killed one). The keepalive is
// shortened so the silent case takes a second; production timings are
// exercised against a real buildkitd in __tests__/e2e/builder-loss.test.ts.
import { ControlClient } from '../../src/buildkit/control.js';
import { DEFAULT_KEEPALIVE } from '../../src/buildkit/channel.js';
import { parseEndpoint } from '../../src/buildkit/endpoint.js';
import { solve, SolveError } from '../../src/buildkit/solve.js';
import { FreezableProxy, next, startFakeBuilder, type FakeBuilder } from '../helpers/fake-builder.js';

let builder: FakeBuilder;
let proxy: FreezableProxy & { address: string };
let client: ControlClient | undefined;

beforeEach(async () => {
  builder = await startFakeBuilder();
  proxy = await FreezableProxy.start(builder.address);
});

afterEach(async () => {
  client?.close();
  client = undefined;
  await proxy.close();
  await builder.close();
});

function startSolve(keepalive = { timeMs: 200, timeoutMs: 300 }): Promise<unknown> {
  client = new ControlClient(parseEndpoint(proxy.address), { keepalive });
  return solve({ client, request: { Frontend: 'dockerfile.v0' }, handlers: [], sharedKey: 'test' });
}

test('the keepalive stays within what BuildKit servers allow and detects silence within 6 minutes', () => {
  // grpc-go (buildkitd sets no policy of its own) strikes pings less than 5 minutes apart.
  expect(DEFAULT_KEEPALIVE.timeMs).toBeGreaterThan(5 * 60_000);
  expect(DEFAULT_KEEPALIVE.timeMs + DEFAULT_KEEPALIVE.timeoutMs).toBeLessThan(6 * 60_000);
});

test('a builder that goes silent mid-build fails the build, naming the builder', async () => {
  const solving = startSolve();
  solving.catch(() => undefined);
  await next(builder.events, 'solve');
  proxy.freeze();
  const err = (await solving.then(
    () => undefined,
    (e: unknown) => e,
  )) as SolveError;
  expect(err).toBeInstanceOf(SolveError);
  expect(err.message).toMatch(new RegExp(`^lost the connection to builder ${proxy.address.replace(/\./g, '\\.')} `));
  expect(err.message.split('\n')).toHaveLength(1);
  expect(err.connectionLost).toBeDefined();
  expect(err.cancelled).toBe(false);
});

test('a builder whose connection drops mid-build fails the build at once, naming the builder', async () => {
  const solving = startSolve(DEFAULT_KEEPALIVE); // no keepalive needed: the connection closes
  solving.catch(() => undefined);
  await next(builder.events, 'solve');
  proxy.drop();
  const err = (await solving.then(
    () => undefined,
    (e: unknown) => e,
  )) as SolveError;
  expect(err).toBeInstanceOf(SolveError);
  expect(err.message).toContain(`builder ${proxy.address}`);
  expect(err.message).toContain('(connection closed)');
  // The daemon never called our session nor reported progress: the build can go to another builder.
  expect(err.connectionLost).toEqual({ beforeStart: true, cause: 'connection closed' });
}, 15_000);
