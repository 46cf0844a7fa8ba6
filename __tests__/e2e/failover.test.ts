// A builder lost before the build started, through the whole action: the
// first builder answers the probe, then its connection drops as the Solve
// arrives (the daemon restarted, a load balancer moved, ...). Nothing was
// built there, so the action builds on the next builder in the list and
// says why in a warning naming the first one.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAction } from '../helpers/run-action.js';
import { FreezableProxy, startFakeBuilder, type FakeBuilder } from '../helpers/fake-builder.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
let lost: FakeBuilder;
let proxy: FreezableProxy & { address: string };
let good: FakeBuilder;
let context: string;

beforeAll(async () => {
  lost = await startFakeBuilder();
  proxy = await FreezableProxy.start(lost.address);
  // The connection drops the moment the build is sent, before the daemon did anything for it.
  lost.events.on('solve', () => proxy.drop());
  good = await startFakeBuilder({ solveResponse: { ExporterResponse: { 'containerimage.digest': DIGEST } } });
  context = mkdtempSync(join(tmpdir(), 'failover-ctx-'));
  writeFileSync(join(context, 'Dockerfile'), 'FROM scratch\nCOPY Dockerfile /\n');
});

afterAll(async () => {
  await proxy.close();
  await lost.close();
  await good.close();
  rmSync(context, { recursive: true, force: true });
});

test('a builder lost before the build started: the build moves to the next builder', async () => {
  const run = await runAction({ builder: `${proxy.address}\n${good.address}`, fallback: 'never', context }, { timeoutMs: 60_000 });
  expect(run.code).toBe(0);
  expect(run.outputs.digest).toBe(DIGEST);
  const warnings = run.stdout.split('\n').filter((l) => l.startsWith('::warning'));
  expect(warnings).toHaveLength(1);
  // The cause is what the connection saw: closed, or reset by the dropping proxy.
  expect(warnings[0]).toMatch(new RegExp(`lost the connection to builder ${escape(proxy.address)} before the build started \\((connection closed|read ECONNRESET)\\); trying the next builder`));
});

test('when every builder is lost before the build started, one error lists them all', async () => {
  const run = await runAction({ builder: proxy.address, fallback: 'never', context }, { timeoutMs: 60_000 });
  expect(run.code).toBe(1);
  const errors = run.stdout.split('\n').filter((l) => l.startsWith('::error::'));
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(new RegExp(`^::error::no usable builder \\(fallback: never\\): ${escape(proxy.address)}: lost before the build started \\((connection closed|read ECONNRESET)\\)$`));
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
