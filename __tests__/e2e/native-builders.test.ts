// End to end, one step with two builders and two platforms: two daemons
// started here declare different worker platforms (--oci-worker-platform),
// the action builds each platform on the daemon that runs it natively, in
// parallel, pushes each by digest and one index under the tags. The proof of
// who built what is each daemon's own content store: the manifest of a
// platform is there on its builder and absent on the other.
import { jest } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestDaemon, type TestDaemon } from '../helpers/buildkitd.js';
import { actionFailure, runAction } from '../helpers/run-action.js';
import { startCacheServiceStandIn } from '../helpers/cache-service.js';
import { startRacingRegistry } from '../helpers/racing-registry.js';
import { describeE2E, makeContext, registryDigest, uniqueRepo } from './env.js';

jest.setTimeout(300_000);

const REGISTRY = process.env.E2E_AUTH_REGISTRY ?? '';
const USER = process.env.E2E_AUTH_USER ?? '';
const PASSWORD = process.env.E2E_AUTH_PASSWORD ?? '';
const basic = (): string => `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

describeE2E('native builder per platform (two daemons, two platforms, one step)', () => {
  let amd: TestDaemon;
  let arm: TestDaemon;
  let dockerConfig: string;

  beforeAll(async () => {
    const bin = process.env.BUILDKITD_BIN;
    if (!bin) throw new Error('BUILDKITD_BIN must name a buildkitd binary: this test starts two daemons of its own');
    if (!REGISTRY || !USER || !PASSWORD) throw new Error('E2E_AUTH_REGISTRY, E2E_AUTH_USER and E2E_AUTH_PASSWORD must name the htpasswd registry of the peers');
    [amd, arm] = await Promise.all([startTestDaemon({ bin, platforms: ['linux/amd64'] }), startTestDaemon({ bin, platforms: ['linux/arm64'] })]);
    dockerConfig = mkdtempSync(join(tmpdir(), 'e2e-native-docker-'));
    writeFileSync(join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [REGISTRY]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } } }));
  });
  afterAll(async () => {
    await Promise.all([amd?.stop(), arm?.stop()]);
    if (dockerConfig) rmSync(dockerConfig, { recursive: true, force: true });
  });

  // COPY only: neither daemon needs an emulator. The stamp makes the images
  // new, and it differs per architecture so that the two builders never push
  // the same layer blob to one repository at the same moment: the peers'
  // registry (distribution 2.8, filesystem storage) rewrites a repository's
  // blob link in place on the second commit, and a manifest put that reads it
  // meanwhile fails with "blob unknown" (seen in CI, 1 run in about 30 here).
  const COPY_ONLY = 'FROM scratch\nARG TARGETARCH\nCOPY stamp-$TARGETARCH /stamp\n';
  const stamps = (repo: string): Record<string, string> => ({ 'stamp-amd64': `${repo} amd64\n`, 'stamp-arm64': `${repo} arm64\n` });
  /** The action on both builders for both platforms, pushing `repo`:1; throws with its output when it fails. */
  async function buildOnBoth(repo: string, dockerfile: string, inputs: Record<string, string> = {}, env: Record<string, string> = {}): Promise<Awaited<ReturnType<typeof runAction>>> {
    const context = makeContext({ Dockerfile: dockerfile, ...stamps(repo) });
    const run = await runAction(
      { builder: `${arm.address}\n${amd.address}`, fallback: 'never', context, platforms: 'linux/amd64,linux/arm64', tags: `${REGISTRY}/${repo}:1`, push: 'true', ...inputs },
      { env: { GITHUB_WORKSPACE: context, DOCKER_CONFIG: dockerConfig, ...env } },
    );
    if (run.code !== 0) throw new Error(actionFailure(run));
    return run;
  }

  test('each platform is built on the daemon that runs it; the index digest is the registry’s', async () => {
    // The daemons say what they are: one worker each, whose own (first) platform is the one given.
    const own = (d: TestDaemon) => d.info.workers!.map((w) => `${w.platforms?.[0]?.OS}/${w.platforms?.[0]?.Architecture}`);
    expect(own(amd)).toEqual(['linux/amd64']);
    expect(own(arm)).toEqual(['linux/arm64']);
    // (amd64 workers may add their microarchitecture levels, amd64/v2…; none lists arm64.)
    expect(amd.info.workers![0]!.platforms!.some((p) => p.Architecture === 'arm64')).toBe(false);

    const repo = uniqueRepo('native');
    const other = uniqueRepo('native-copy');
    const context = makeContext({ Dockerfile: COPY_ONLY, ...stamps(repo) });
    const run = await runAction(
      {
        // The arm builder first, the amd64 platform first: the assignment follows the workers, not the order.
        builder: `${arm.address}\n${amd.address}`,
        fallback: 'never',
        context,
        platforms: 'linux/amd64,linux/arm64',
        tags: `${REGISTRY}/${repo}:1\n${REGISTRY}/${other}:1`,
        push: 'true',
      },
      { env: { GITHUB_WORKSPACE: context, DOCKER_CONFIG: dockerConfig } },
    );
    expect(run.stderr).toBe('');
    // The action's own lines say why it failed: show them with the exit code.
    if (run.code !== 0) throw new Error(actionFailure(run));
    const digest = run.outputs.digest!;
    const digests = JSON.parse(run.outputs.digests!) as Record<string, string>;
    expect(Object.keys(digests).sort()).toEqual(['linux/amd64', 'linux/arm64']);

    // The registry serves that index under both tags, with those two children.
    const auth = { user: USER, password: PASSWORD };
    expect(await registryDigest(REGISTRY, repo, '1', auth)).toBe(digest);
    expect(await registryDigest(REGISTRY, other, '1', auth)).toBe(digest);
    const index = (await (await fetch(`http://${REGISTRY}/v2/${repo}/manifests/${digest}`, { headers: { accept: 'application/vnd.oci.image.index.v1+json', authorization: basic() } })).json()) as {
      manifests: { digest: string; platform: { os: string; architecture: string } }[];
    };
    expect(Object.fromEntries(index.manifests.map((m) => [`${m.platform.os}/${m.platform.architecture}`, m.digest]))).toEqual(digests);

    // Who built what: each manifest is in its builder's content store only.
    expect([amd.hasBlob(digests['linux/amd64']!), arm.hasBlob(digests['linux/amd64']!)]).toEqual([true, false]);
    expect([arm.hasBlob(digests['linux/arm64']!), amd.hasBlob(digests['linux/arm64']!)]).toEqual([true, false]);
    // The job summary names both builders and their BuildKit (the same version here).
    expect(run.summary).toContain(`<tr><td>BuildKit</td><td>${amd.info.version!.version}</td></tr>`);
    expect(run.stdout).toContain(`linux/amd64: built on ${amd.address} as ${digests['linux/amd64']}`);
    expect(run.stdout).toContain(`linux/arm64: built on ${arm.address} as ${digests['linux/arm64']}`);
    process.stderr.write(`native builders: index ${digest}, registry ${await registryDigest(REGISTRY, repo, '1', auth)}; amd64 ${digests['linux/amd64']} on ${amd.address}; arm64 ${digests['linux/arm64']} on ${arm.address}\n`);
    rmSync(context, { recursive: true, force: true });
  });

  test('cache-to with {platform}: each builder exports the cache of its own platform to its own ref', async () => {
    const repo = uniqueRepo('native-cache');
    const cache = uniqueRepo('native-cache-refs');
    await buildOnBoth(repo, COPY_ONLY, { 'cache-to': `type=registry,ref=${REGISTRY}/${cache}:{platform},mode=max` });
    // One ref per builder, named after its platforms; before, both exported to one ref and the last one won.
    const auth = { user: USER, password: PASSWORD };
    const amdCache = await registryDigest(REGISTRY, cache, 'linux-amd64', auth);
    const armCache = await registryDigest(REGISTRY, cache, 'linux-arm64', auth);
    expect(amdCache).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(armCache).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(amdCache).not.toBe(armCache);
    expect(await registryDigest(REGISTRY, cache, '{platform}', auth)).toBeUndefined();
    process.stderr.write(`native builders, cache per platform: linux-amd64 ${amdCache}, linux-arm64 ${armCache}\n`);
  });

  test('a Dockerfile warning is one annotation, not one per builder', async () => {
    // An empty continuation line warns on every version.
    const run = await buildOnBoth(uniqueRepo('native-warn'), 'FROM scratch\nARG TARGETARCH\nCOPY stamp-$TARGETARCH \\\n\n  /stamp\n');
    // Both builders printed it in their logs; the job page gets it once, on the Dockerfile's line.
    expect(run.stdout.split('\n').filter((l) => /^\[linux\/(amd64|arm64)\] #\d+ WARN: .*[Ee]mpty continuation line/.test(l)).length).toBeGreaterThanOrEqual(2);
    const annotations = run.stdout.split('\n').filter((l) => l.startsWith('::warning title=Dockerfile warning'));
    expect(annotations).toHaveLength(1);
    expect(annotations[0]).toMatch(/^::warning title=Dockerfile warning,file=Dockerfile,line=5::.*[Ee]mpty continuation line/);
  });

  test('provenance: the assembled index keeps each builder\'s attestation, next to the image it describes', async () => {
    const repo = uniqueRepo('native-prov');
    const run = await buildOnBoth(repo, COPY_ONLY, { provenance: 'mode=min' });
    const digests = JSON.parse(run.outputs.digests!) as Record<string, string>;
    const index = (await (await fetch(`http://${REGISTRY}/v2/${repo}/manifests/${run.outputs.digest}`, { headers: { accept: 'application/vnd.oci.image.index.v1+json', authorization: basic() } })).json()) as {
      manifests: { digest: string; platform?: { os: string; architecture: string }; annotations?: Record<string, string> }[];
    };
    const attestations = index.manifests.filter((m) => m.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest');
    // One per platform, each naming the image of its platform; the outputs list images only.
    expect(attestations.map((a) => a.annotations!['vnd.docker.reference.digest']).sort()).toEqual(Object.values(digests).sort());
    expect(index.manifests).toHaveLength(4);
    // Each attestation is in the content store of the builder that built its image.
    for (const [platform, builder] of [['linux/amd64', amd], ['linux/arm64', arm]] as const) {
      const attestation = attestations.find((a) => a.annotations!['vnd.docker.reference.digest'] === digests[platform]);
      expect(builder.hasBlob(attestation!.digest)).toBe(true);
    }
  });

  test('type=gha cache: every builder gets the runner cache service and its token', async () => {
    const service = await startCacheServiceStandIn();
    try {
      await buildOnBoth(uniqueRepo('native-gha'), COPY_ONLY, { 'cache-to': 'type=gha,scope=native-{platform},mode=max,ignore-error=true' }, service.env);
      // Each builder asked with the job's token (what is checked here; the
      // unit tests cover {platform} in a scope). Without it a builder fails at
      // once: "token not set for github actions cache".
      const { seen } = service;
      process.stderr.write(`native builders, gha cache: ${seen.length} requests to the cache service: ${seen.map((r) => r.url).join(', ')}\n`);
      expect(seen.length).toBeGreaterThanOrEqual(2);
      expect(seen.every((r) => r.headers.authorization === `Bearer ${service.token}`)).toBe(true);
    } finally {
      await service.close();
    }
  });

  describe('a registry that loses the race between two uploads of one blob', () => {
    // The plain peer registry behind a front that refuses manifest puts on cue
    // (the race itself only happens now and then; see racing-registry.ts).
    const PLAIN = process.env.E2E_REGISTRY ?? '';
    async function buildThrough(refuse: (n: number) => boolean): Promise<{ run: Awaited<ReturnType<typeof runAction>>; refused: string[]; repo: string }> {
      if (!PLAIN) throw new Error('E2E_REGISTRY must name the plain registry of the peers');
      const racing = await startRacingRegistry(PLAIN, refuse);
      try {
        const repo = uniqueRepo('native-race');
        const context = makeContext({ Dockerfile: COPY_ONLY, ...stamps(repo) });
        const run = await runAction(
          { builder: `${arm.address}\n${amd.address}`, fallback: 'never', context, platforms: 'linux/amd64,linux/arm64', tags: `${racing.address}/${repo}:1`, push: 'true' },
          { env: { GITHUB_WORKSPACE: context, DOCKER_CONFIG: dockerConfig } },
        );
        return { run, refused: [...racing.refused], repo };
      } finally {
        await racing.close();
      }
    }
    const retries = (run: { stdout: string }): string[] => run.stdout.split('\n').filter((l) => l.startsWith('::warning::') && l.includes('building it once more, from cache'));

    test('the builder whose manifest put was refused builds once more, from cache; the index has both platforms', async () => {
      const { run, refused, repo } = await buildThrough((n) => n === 1);
      if (run.code !== 0) throw new Error(actionFailure(run));
      expect(refused).toHaveLength(1);
      expect(retries(run)).toHaveLength(1);
      expect(retries(run)[0]).toMatch(/^::warning::linux\/(amd64|arm64) on unix:\/\/\S+: the registry refused the manifest, /);
      // The second try of that platform finds its step in the cache.
      const lines = run.stdout.split('\n');
      const platform = /^::warning::(\S+)/.exec(retries(run)[0]!)![1]!;
      const after = lines.slice(lines.indexOf(retries(run)[0]!) + 1);
      expect(after.some((l) => l.startsWith(`[${platform}] #`) && / CACHED$/.test(l))).toBe(true);
      process.stderr.write(`native builders, refused manifest put: ${refused.join(', ')}; ${retries(run)[0]}\n`);
      const digests = JSON.parse(run.outputs.digests!) as Record<string, string>;
      expect(Object.keys(digests).sort()).toEqual(['linux/amd64', 'linux/arm64']);
      expect(await registryDigest(PLAIN, repo, '1')).toBe(run.outputs.digest);
    });

    test('a registry that keeps refusing fails the step after one more try, with one error line', async () => {
      const { run, refused } = await buildThrough(() => true);
      expect(run.code).toBe(1);
      // Each builder tries twice at most: no loop.
      expect(refused.length).toBeGreaterThanOrEqual(2);
      expect(refused.length).toBeLessThanOrEqual(4);
      expect(retries(run).length).toBeGreaterThanOrEqual(1);
      expect(retries(run).length).toBeLessThanOrEqual(2);
      const errors = run.stdout.split('\n').filter((l) => l.startsWith('::error::'));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(/failed to push/);
    });
  });
});
