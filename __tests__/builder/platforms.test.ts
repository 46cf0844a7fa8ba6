import { assignPlatforms, normalizePlatform, planPlatforms, PlatformAssignmentError, wantsPlatformPlan, type PlanLogger } from '../../src/builder/platforms.js';
import { parseEndpoint, type BuilderEndpoint } from '../../src/buildkit/endpoint.js';
import type { BuilderInfo } from '../../src/buildkit/probe.js';

/** A builder whose one worker lists these platforms, the first being its own. */
function info(address: string, ...platforms: string[]): BuilderInfo {
  return {
    endpoint: parseEndpoint(address),
    workers: [{ ID: 'w', platforms: platforms.map((p) => { const [OS, Architecture, Variant] = p.split('/'); return { OS: OS!, Architecture: Architecture!, ...(Variant ? { Variant } : {}) }; }) }],
    version: { version: 'v0.25.2' },
  };
}

function logger(): PlanLogger & { lines: string[] } {
  const lines: string[] = [];
  const push = (kind: string) => (m: string) => lines.push(`${kind}: ${m}`);
  return { lines, info: push('info'), untrusted: push('untrusted'), notice: push('notice'), warning: push('warning'), startGroup: push('group'), endGroup: () => undefined };
}

describe('platform normalisation', () => {
  it.each([
    ['linux/arm64/v8', 'linux/arm64'],
    ['linux/arm', 'linux/arm/v7'],
    ['linux/amd64/v1', 'linux/amd64'],
    ['Linux/AMD64', 'linux/amd64'],
    ['linux/arm/v6', 'linux/arm/v6'],
    ['linux/amd64/v3', 'linux/amd64/v3'],
  ])('%s is %s', (p, expected) => expect(normalizePlatform(p)).toBe(expected));
});

describe('assigning platforms to builders', () => {
  const amd = { address: 'tcp://amd:1', info: info('tcp://amd:1', 'linux/amd64', 'linux/386', 'linux/arm64') };
  const arm = { address: 'tcp://arm:1', info: info('tcp://arm:1', 'linux/arm64/v8', 'linux/arm/v7') };

  it('each platform goes to the builder whose worker runs it natively, whatever the order', () => {
    expect(assignPlatforms(['linux/arm64', 'linux/amd64'], [amd, arm]).assignments).toEqual([
      { platform: 'linux/arm64', address: 'tcp://arm:1', native: true },
      { platform: 'linux/amd64', address: 'tcp://amd:1', native: true },
    ]);
  });

  it('a platform nobody runs natively goes to the first builder that lists it, with a notice', () => {
    const { assignments, notices } = assignPlatforms(['linux/amd64', 'linux/arm/v7', 'linux/386'], [amd, arm]);
    expect(assignments.map((a) => [a.platform, a.address, a.native])).toEqual([
      ['linux/amd64', 'tcp://amd:1', true],
      ['linux/arm/v7', 'tcp://arm:1', false],
      ['linux/386', 'tcp://amd:1', false],
    ]);
    expect(notices).toEqual([
      'No builder runs linux/arm/v7 natively; building it on tcp://arm:1, which emulates it',
      'No builder runs linux/386 natively; building it on tcp://amd:1, which emulates it',
    ]);
  });

  it('a pinned line decides over what the workers say', () => {
    const pinned = { address: 'tcp://big:1', info: info('tcp://big:1', 'linux/amd64', 'linux/arm64'), pinned: ['linux/arm64'] };
    expect(assignPlatforms(['linux/amd64', 'linux/arm64'], [pinned, amd]).assignments.map((a) => a.address)).toEqual(['tcp://amd:1', 'tcp://big:1']);
  });

  it('with two native builders for a platform, the first listed wins (failover order)', () => {
    const arm2 = { address: 'tcp://arm2:1', info: info('tcp://arm2:1', 'linux/arm64') };
    expect(assignPlatforms(['linux/arm64'], [arm2, arm]).assignments[0]!.address).toBe('tcp://arm2:1');
  });

  it('a platform nobody lists is one line naming the input and what each builder offers', () => {
    expect(() => assignPlatforms(['linux/s390x'], [amd, arm])).toThrow(
      new PlatformAssignmentError('Input "platforms": no reachable builder runs or emulates linux/s390x (tcp://amd:1: linux/amd64, linux/386, linux/arm64; tcp://arm:1: linux/arm64, linux/arm/v7)'),
    );
  });
});

describe('planning', () => {
  const base = { builderPlatforms: {}, platforms: ['linux/amd64', 'linux/arm64'], connectTimeoutMs: 1000 };
  const probeOf = (table: Record<string, BuilderInfo | Error>) => (e: BuilderEndpoint) => {
    const r = table[e.address];
    return r instanceof Error ? Promise.reject(r) : Promise.resolve(r!);
  };

  it('two native builders: one group each', async () => {
    const log = logger();
    const plan = await planPlatforms({ ...base, builders: ['tcp://amd:1', 'tcp://arm:1'] }, { probe: probeOf({ 'tcp://amd:1': info('tcp://amd:1', 'linux/amd64'), 'tcp://arm:1': info('tcp://arm:1', 'linux/arm64') }), log });
    expect(plan.kind).toBe('native');
    if (plan.kind !== 'native') return;
    expect(plan.groups.map((g) => [g.endpoint.address, g.platforms])).toEqual([
      ['tcp://amd:1', ['linux/amd64']],
      ['tcp://arm:1', ['linux/arm64']],
    ]);
  });

  it('the native arm builder down: arm64 fails over to the next builder that lists it; then one build there', async () => {
    const log = logger();
    const plan = await planPlatforms(
      { ...base, builders: ['tcp://arm:1', 'tcp://amd:1'] },
      { probe: probeOf({ 'tcp://arm:1': new Error('builder tcp://arm:1 is not usable: connection refused'), 'tcp://amd:1': info('tcp://amd:1', 'linux/amd64', 'linux/arm64') }), log },
    );
    expect(plan).toMatchObject({ kind: 'single', builders: ['tcp://amd:1'] });
    expect(log.lines).toContain('untrusted: Builder tcp://arm:1 is not usable: connection refused');
    expect(log.lines).toContain('notice: No builder runs linux/arm64 natively; building it on tcp://amd:1, which emulates it');
  });

  it('none reachable: the single path, answering from the probes already made', async () => {
    const refused = new Error('builder tcp://a:1 is not usable: connection refused');
    const plan = await planPlatforms({ ...base, builders: ['tcp://a:1', 'tcp://b:1'] }, { probe: probeOf({ 'tcp://a:1': refused, 'tcp://b:1': refused }), log: logger() });
    expect(plan.kind).toBe('single');
    if (plan.kind !== 'single') return;
    expect(plan.builders).toEqual(['tcp://a:1', 'tcp://b:1']);
    await expect(plan.probe(parseEndpoint('tcp://a:1'), 1)).rejects.toBe(refused);
  });

  it('is wanted only for several builders, several platforms, a Dockerfile and a push', () => {
    const yes = { frontend: 'dockerfile' as const, builders: ['a', 'b'], platforms: ['x/y', 'x/z'], fallback: 'auto' as const, push: true, tags: ['r/a:1'] };
    expect(wantsPlatformPlan(yes)).toBe(true);
    expect(wantsPlatformPlan({ ...yes, builders: ['a'] })).toBe(false);
    expect(wantsPlatformPlan({ ...yes, platforms: ['x/y'] })).toBe(false);
    expect(wantsPlatformPlan({ ...yes, push: false })).toBe(false);
    expect(wantsPlatformPlan({ ...yes, fallback: 'only' })).toBe(false);
    expect(wantsPlatformPlan({ ...yes, frontend: 'envd' })).toBe(false);
  });
});
