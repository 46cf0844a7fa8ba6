import type { ActionInputs } from '../../src/action/inputs-types.js';
import { annotationAttrs, cacheEntries, dockerfileRequest, imageExporter, localDirs, sharedKeyFor } from '../../src/buildkit/solve-request.js';
import { withRunnerCacheService } from '../../src/github/cache-service.js';
import { parseEndpoint, grpcTarget } from '../../src/buildkit/endpoint.js';

const base: ActionInputs = {
  builders: [],
  builderPlatforms: {},
  connectTimeoutMs: 20000,
  fallback: 'never',
  buildkitVersion: 'v0.24.0',
  buildkitDownloadUrl: '',
  buildkitdConfigInline: '',
  allowUnverifiedDownloads: false,
  frontend: 'dockerfile',
  context: '/src/app',
  file: '/src/app/docker/Dockerfile.prod',
  envdFunction: 'build',
  envdVersion: 'v1.3.4',
  target: '',
  buildArgs: [],
  labels: [],
  annotations: [],
  tags: [],
  push: false,
  pushByDigest: false,
  merge: [],
  platforms: [],
  noCache: false,
  cacheFrom: [],
  cacheTo: [],
  secrets: [],
  provenance: '',
  sbom: '',
  sourceDateEpoch: '',
  registryInsecure: false,
};

describe('image exporter attributes', () => {
  const cases: [string, Partial<ActionInputs>, Record<string, string>][] = [
    ['no tags: no name, no push', {}, { push: 'false' }],
    ['tags joined into one name, pushed', { tags: ['r.io/a/b:1', 'r.io/a/b:latest'], push: true }, { name: 'r.io/a/b:1,r.io/a/b:latest', push: 'true' }],
    ['push without tags cannot push', { push: true }, { push: 'false' }],
    ['push by digest: repository names, no tags', { tags: ['r.io/a/b', 'r.io/c/d'], push: true, pushByDigest: true }, { name: 'r.io/a/b,r.io/c/d', push: 'true', 'push-by-digest': 'true' }],
    ['insecure registry', { tags: ['localhost:5000/x:1'], registryInsecure: true }, { name: 'localhost:5000/x:1', push: 'false', 'registry.insecure': 'true' }],
    ['annotations', { annotations: ['org.opencontainers.image.title=x', 'index:a=b'] }, { push: 'false', 'annotation.org.opencontainers.image.title': 'x', 'annotation-index.a': 'b' }],
  ];
  it.each(cases)('%s', (_n, partial, attrs) => {
    expect(imageExporter({ ...base, ...partial })).toEqual({ Type: 'image', Attrs: attrs });
  });

  it('rejects an annotation without =', () => {
    expect(() => annotationAttrs(['nope'])).toThrow('Input "annotations": expected key=value, got "nope"');
  });
});

describe('dockerfile solve request', () => {
  it('maps inputs to frontend attributes and fills both exporter fields', () => {
    const req = dockerfileRequest({
      ...base,
      target: 'prod',
      buildArgs: [['A', '1'], ['B', 'x=y,z']],
      labels: [['org.x', 'v']],
      platforms: ['linux/amd64', 'linux/arm64'],
      noCache: true,
      tags: ['r.io/a:1'],
      push: true,
      cacheFrom: [{ type: 'registry', attrs: { ref: 'r.io/a:cache' } }],
      cacheTo: [{ type: 'inline', attrs: {} }],
      provenance: 'mode=max',
    });
    expect(req.Frontend).toBe('dockerfile.v0');
    expect(req.FrontendAttrs).toEqual({
      filename: 'Dockerfile.prod',
      target: 'prod',
      'build-arg:A': '1',
      'build-arg:B': 'x=y,z',
      'label:org.x': 'v',
      platform: 'linux/amd64,linux/arm64',
      'no-cache': '',
      'attest:provenance': 'mode=max',
      'cache-imports': '[{"Type":"registry","Attrs":{"ref":"r.io/a:cache"}}]',
    });
    expect(req.Exporters).toEqual([{ Type: 'image', Attrs: { name: 'r.io/a:1', push: 'true' } }]);
    expect(req.ExporterDeprecated).toBe('image');
    expect(req.ExporterAttrsDeprecated).toEqual({ name: 'r.io/a:1', push: 'true' });
    expect(req.Cache).toEqual({ Imports: [{ Type: 'registry', Attrs: { ref: 'r.io/a:cache' } }], Exports: [{ Type: 'inline', Attrs: {} }] });
  });

  it('serves the Dockerfile directory and the context separately', () => {
    expect(localDirs(base)).toEqual({ context: '/src/app', dockerfile: '/src/app/docker' });
  });

  it('uses a stable printable shared key per directory', () => {
    expect(sharedKeyFor('/src/ü')).toMatch(/^[0-9a-f]{32}$/);
    expect(sharedKeyFor('/a')).toBe(sharedKeyFor('/a'));
    expect(sharedKeyFor('/a')).not.toBe(sharedKeyFor('/b'));
  });
});

describe('source-date-epoch', () => {
  it('is the SOURCE_DATE_EPOCH build arg and rewrites layer timestamps in the exporter', () => {
    const req = dockerfileRequest({ ...base, sourceDateEpoch: '1700000000' });
    expect(req.FrontendAttrs!['build-arg:SOURCE_DATE_EPOCH']).toBe('1700000000');
    expect(req.Exporters![0]!.Attrs!['rewrite-timestamp']).toBe('true');
    expect(req.ExporterAttrsDeprecated!['rewrite-timestamp']).toBe('true');
  });

  it('is absent unless asked for', () => {
    const req = dockerfileRequest(base);
    expect(req.FrontendAttrs!['build-arg:SOURCE_DATE_EPOCH']).toBeUndefined();
    expect(req.Exporters![0]!.Attrs!['rewrite-timestamp']).toBeUndefined();
  });
});

describe('attestations', () => {
  it('are off unless asked for: no attest:* attribute at all', () => {
    const attrs = dockerfileRequest(base).FrontendAttrs!;
    expect(Object.keys(attrs).filter((k) => k.startsWith('attest:'))).toEqual([]);
  });

  it('pass provenance and sbom through as attest:* attributes', () => {
    const attrs = dockerfileRequest({ ...base, provenance: 'mode=min,builder-id=https://x/run/1', sbom: 'generator=docker/buildkit-syft-scanner:stable-1' }).FrontendAttrs!;
    expect(attrs['attest:provenance']).toBe('mode=min,builder-id=https://x/run/1');
    expect(attrs['attest:sbom']).toBe('generator=docker/buildkit-syft-scanner:stable-1');
  });
});

describe('cache entries', () => {
  it('sends imports both to the daemon and to the frontend, which resolves them itself', () => {
    const cacheFrom = withRunnerCacheService([{ type: 'registry', attrs: { ref: 'r.io/a:cache' } }, { type: 'gha', attrs: { scope: 'x' } }], { ACTIONS_RUNTIME_TOKEN: 't' });
    const req = dockerfileRequest({ ...base, cacheFrom });
    expect(JSON.parse(req.FrontendAttrs!['cache-imports']!)).toEqual([
      { Type: 'registry', Attrs: { ref: 'r.io/a:cache' } },
      { Type: 'gha', Attrs: { scope: 'x', token: 't' } },
    ]);
    expect(req.Cache!.Imports).toEqual(JSON.parse(req.FrontendAttrs!['cache-imports']!));
  });

  it('exports registry (mode=max) and inline cache as given', () => {
    const req = dockerfileRequest({ ...base, cacheTo: [{ type: 'registry', attrs: { ref: 'r.io/a:cache', mode: 'max' } }, { type: 'inline', attrs: {} }] });
    expect(req.Cache!.Exports).toEqual([
      { Type: 'registry', Attrs: { ref: 'r.io/a:cache', mode: 'max' } },
      { Type: 'inline', Attrs: {} },
    ]);
    expect(req.FrontendAttrs!['cache-imports']).toBeUndefined();
  });

  it('fills gha url, url_v2 and token from the runner', () => {
    const env = { ACTIONS_CACHE_URL: 'https://c/', ACTIONS_RESULTS_URL: 'https://r/', ACTIONS_RUNTIME_TOKEN: 'tok' };
    expect(cacheEntries(withRunnerCacheService([{ type: 'gha', attrs: { scope: 's' } }], env))).toEqual([
      { Type: 'gha', Attrs: { scope: 's', url: 'https://c/', url_v2: 'https://r/', token: 'tok' } },
    ]);
    expect(withRunnerCacheService([{ type: 'gha', attrs: { url: 'mine' } }], env)[0]!.attrs.url).toBe('mine');
    // Other backends get nothing from the runner.
    expect(withRunnerCacheService([{ type: 'registry', attrs: { ref: 'r' } }], env)).toEqual([{ type: 'registry', attrs: { ref: 'r' } }]);
  });

  it('refuses type=local with a clear reason', () => {
    expect(() => cacheEntries([{ type: 'local', attrs: { dest: '/tmp/c' } }])).toThrow(/type=local needs a content store/);
  });
});

describe('endpoints', () => {
  const ok: [string, string][] = [
    ['tcp://127.0.0.1:1234', '127.0.0.1:1234'],
    ['tcp://buildkitd.ci.svc:1234', 'buildkitd.ci.svc:1234'],
    ['tcp://[::1]:1234', '[::1]:1234'],
    ['unix:///run/buildkit/buildkitd.sock', 'unix:///run/buildkit/buildkitd.sock'],
  ];
  it.each(ok)('%s', (address, target) => expect(grpcTarget(parseEndpoint(address))).toBe(target));

  const bad: [string, RegExp][] = [
    ['tcp://host', /expected tcp:\/\/host:port/],
    ['tcp://host:99999', /tcp:\/\/host:port/],
    ['unix://relative.sock', /absolute path/],
    ['docker-container://buildkitd', /unsupported address/],
    ['127.0.0.1:1234', /unsupported address/],
  ];
  it.each(bad)('%s is rejected', (address, message) => expect(() => parseEndpoint(address)).toThrow(message));
});
