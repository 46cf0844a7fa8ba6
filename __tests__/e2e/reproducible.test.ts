// End to end, `source-date-epoch`: the same context built on two different
// daemons of the same version (the peer, and one started here with its own
// root) gives the same image digest, because the config and the layer file
// times are pinned to SOURCE_DATE_EPOCH. Without the input the two digests
// differ (the control that shows the test can fail). Daemons before v0.13
// cannot rewrite layer times: there the action must fail with one line.
import { jest } from '@jest/globals';
import { rmSync } from 'node:fs';
import { startTestDaemon, type TestDaemon } from '../helpers/buildkitd.js';
import { runAction } from '../helpers/run-action.js';
import { BUILDKIT_HOST, E2E_REGISTRY, daemonVersion, describeE2E, makeContext, registryDigest, uniqueRepo, versionAtLeast } from './env.js';

jest.setTimeout(300_000);

const EPOCH = '1700000000';

describeE2E('reproducible digests with source-date-epoch (two daemons of one version)', () => {
  let second: TestDaemon;
  let version: string;
  let context: string;
  let repo: string;

  beforeAll(async () => {
    const bin = process.env.BUILDKITD_BIN;
    if (!bin) throw new Error('BUILDKITD_BIN must name the buildkitd binary of the version under test (a second daemon is started from it)');
    version = await daemonVersion();
    second = await startTestDaemon({ bin });
    expect(second.info.version?.version).toBe(version);
    repo = uniqueRepo('reproducible');
    // /bin is created by the build, so its time is the build's unless rewritten.
    context = makeContext({ Dockerfile: 'FROM scratch\nCOPY busybox /bin/busybox\nCOPY stamp /stamp\n', stamp: `${repo}\n` });
  });
  afterAll(async () => {
    await second?.stop();
    if (context) rmSync(context, { recursive: true, force: true });
  });

  const build = (builder: string, tag: string, extra: Record<string, string> = {}) =>
    runAction({ builder, fallback: 'never', context, tags: `${E2E_REGISTRY}/${repo}:${tag}`, push: 'true', ...extra }, { env: { GITHUB_WORKSPACE: context } });

  test('same context, two daemons: one digest with source-date-epoch, two without (or one clear error before v0.13)', async () => {
    if (!versionAtLeast(version, 'v0.13.0')) {
      for (const builder of [BUILDKIT_HOST, second.address]) {
        const run = await build(builder, 'old', { 'source-date-epoch': EPOCH });
        expect(run.code).not.toBe(0);
        expect(run.stdout.split('\n').filter((l) => l.startsWith('::error'))).toEqual([
          `::error::Input "source-date-epoch" needs BuildKit v0.13.0 or later to rewrite layer timestamps; builder ${builder} runs ${version}`,
        ]);
      }
      expect(await registryDigest(E2E_REGISTRY, repo, 'old')).toBeUndefined();
      process.stderr.write(`reproducible: BuildKit ${version} refuses source-date-epoch with one line (asserted)\n`);
      return;
    }
    const a = await build(BUILDKIT_HOST, 'a', { 'source-date-epoch': EPOCH });
    const b = await build(second.address, 'b', { 'source-date-epoch': EPOCH });
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(a.outputs.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(b.outputs.digest).toBe(a.outputs.digest);
    expect(await registryDigest(E2E_REGISTRY, repo, 'a')).toBe(a.outputs.digest);
    expect(await registryDigest(E2E_REGISTRY, repo, 'b')).toBe(a.outputs.digest);
    // The config carries the epoch as its creation time.
    const manifest = (await (await fetch(`http://${E2E_REGISTRY}/v2/${repo}/manifests/a`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' } })).json()) as { config: { digest: string } };
    const config = (await (await fetch(`http://${E2E_REGISTRY}/v2/${repo}/blobs/${manifest.config.digest}`)).json()) as { created?: string };
    expect(config.created).toBe(new Date(Number(EPOCH) * 1000).toISOString().replace('.000Z', 'Z'));

    // Control: the same two builds without the input differ.
    const c = await build(BUILDKIT_HOST, 'c');
    const d = await build(second.address, 'd');
    expect([c.code, d.code]).toEqual([0, 0]);
    expect(d.outputs.digest).not.toBe(c.outputs.digest);
    process.stderr.write(`reproducible: BuildKit ${version}: peer ${a.outputs.digest}, second daemon ${b.outputs.digest}; without the input ${c.outputs.digest} vs ${d.outputs.digest}\n`);
  });
});
