import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { parseExporterResponse, setOutputs, type BuildResult } from '../../src/action/outputs.js';
import { readPlatformDigests } from '../../src/action/platform-digests.js';
import { parseEndpoint } from '../../src/buildkit/endpoint.js';
import type { BuilderInfo } from '../../src/buildkit/probe.js';
import { makeTempDir, parseFileCommands } from './helpers.js';

const MANIFEST = 'sha256:4a1c4b21597c1b4415bdbecb28a3296c6b5e23ca4f9feeb599860a1dac6a0108';
const CONFIG = 'sha256:e7d92cdc71feacf90708cb59182d0df1b911f8ae022d29e8e95d75ca6a99776a';
const INDEX = 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64');

// Shaped like a real BuildKit v0.24 image exporter response for a pushed
// single-platform build.
const descriptor = {
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: MANIFEST,
  size: 1234,
  annotations: { 'org.opencontainers.image.created': '2025-01-01T00:00:00Z' },
};
const single: Record<string, string> = {
  'containerimage.config.digest': CONFIG,
  'containerimage.descriptor': b64(descriptor),
  'containerimage.digest': MANIFEST,
  'image.name': 'ghcr.io/org/app:1.2,ghcr.io/org/app:latest,localhost:5000/a/b:1',
};

describe('parseExporterResponse', () => {
  it('takes the digest, image id and decoded descriptor', () => {
    const result = parseExporterResponse(single, ['ghcr.io/org/app:1.2', 'ghcr.io/org/app:latest', 'localhost:5000/a/b:1']);
    expect(result).toEqual({
      digest: MANIFEST,
      imageId: CONFIG,
      descriptor,
      metadata: {
        'containerimage.config.digest': CONFIG,
        'containerimage.descriptor': descriptor,
        'containerimage.digest': MANIFEST,
        'image.name': 'ghcr.io/org/app:1.2,ghcr.io/org/app:latest,localhost:5000/a/b:1',
      },
      images: [`ghcr.io/org/app@${MANIFEST}`, `localhost:5000/a/b@${MANIFEST}`],
    });
  });

  it.each<[string, string]>([
    ['localhost:5000/a/b:1', 'localhost:5000/a/b'],
    ['localhost:5000/a/b', 'localhost:5000/a/b'],
    ['ghcr.io/a/b:1', 'ghcr.io/a/b'],
    ['alpine:3.20', 'alpine'],
    ['user/app', 'user/app'],
    ['[::1]:5000/app:dev', '[::1]:5000/app'],
    ['registry.example.com:8443/team/app:v1.0.0-rc.1', 'registry.example.com:8443/team/app'],
  ])('%s -> %s@digest', (tag, repo) => {
    expect(parseExporterResponse({ 'containerimage.digest': MANIFEST }, [tag]).images).toEqual([`${repo}@${MANIFEST}`]);
  });

  it('handles a multi-platform index: no image id, index digest', () => {
    const result = parseExporterResponse(
      {
        'containerimage.descriptor': b64({ mediaType: 'application/vnd.oci.image.index.v1+json', digest: INDEX, size: 856 }),
        'containerimage.digest': INDEX,
        'image.name': 'ghcr.io/org/app:1',
      },
      ['ghcr.io/org/app:1'],
    );
    expect(result.digest).toBe(INDEX);
    expect(result.imageId).toBeUndefined();
    expect(result.descriptor).toEqual({ mediaType: 'application/vnd.oci.image.index.v1+json', digest: INDEX, size: 856 });
    expect(result.images).toEqual([`ghcr.io/org/app@${INDEX}`]);
  });

  it('decodes only base64 JSON objects; other values stay strings', () => {
    const result = parseExporterResponse(
      {
        'containerimage.digest': MANIFEST,
        'buildx.build.provenance': b64({ buildType: 'https://mobyproject.org/buildkit@v1', materials: [] }),
        'array.value': b64([1, 2]),
        word: 'true',
        plain: 'abcd',
        notjson: Buffer.from('{not json').toString('base64'),
      },
      [],
    );
    expect(result.metadata).toEqual({
      'containerimage.digest': MANIFEST,
      'buildx.build.provenance': { buildType: 'https://mobyproject.org/buildkit@v1', materials: [] },
      'array.value': b64([1, 2]),
      word: 'true',
      plain: 'abcd',
      notjson: Buffer.from('{not json').toString('base64'),
    });
    expect(result.images).toEqual([]);
  });

  it('reports nothing when the exporter returned no digest', () => {
    expect(parseExporterResponse({}, ['a/b:1'])).toEqual({ digest: '', metadata: {}, images: [] });
  });
});

describe('setOutputs', () => {
  let dir: string;
  let outputFile: string;

  beforeEach(() => {
    dir = makeTempDir('erb-outputs-');
    outputFile = path.join(dir, 'output');
    fs.writeFileSync(outputFile, '');
    process.env['GITHUB_OUTPUT'] = outputFile;
  });

  afterEach(() => {
    delete process.env['GITHUB_OUTPUT'];
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes the five outputs in the runner heredoc format', () => {
    const result: BuildResult = parseExporterResponse(single, ['ghcr.io/org/app:1.2', 'localhost:5000/a/b:1']);
    setOutputs(result);

    const text = fs.readFileSync(outputFile, 'utf8');
    // name<<ghadelimiter_<uuid> / value / ghadelimiter_<uuid>, one record per output.
    const record = (name: string, value: string): RegExp =>
      new RegExp(`${name}<<(ghadelimiter_[0-9a-f-]{36})${os.EOL}${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}${os.EOL}\\1${os.EOL}`);
    expect(text).toMatch(record('digest', MANIFEST));
    expect(text).toMatch(record('imageid', CONFIG));
    expect(text).toMatch(record('images', `ghcr.io/org/app@${MANIFEST}\nlocalhost:5000/a/b@${MANIFEST}`));

    const outputs = parseFileCommands(text);
    expect([...outputs.keys()]).toEqual(['digest', 'digests', 'imageid', 'metadata', 'images']);
    expect(outputs.get('digests')).toBe('{}');
    expect(outputs.get('digest')).toBe(MANIFEST);
    expect(outputs.get('imageid')).toBe(CONFIG);
    expect(outputs.get('images')!.split('\n')).toEqual([`ghcr.io/org/app@${MANIFEST}`, `localhost:5000/a/b@${MANIFEST}`]);
    expect(JSON.parse(outputs.get('metadata')!)).toEqual({ ...single, 'containerimage.descriptor': descriptor });
  });

  it('writes empty outputs when there was no image', () => {
    setOutputs(parseExporterResponse({}, []));
    const outputs = parseFileCommands(fs.readFileSync(outputFile, 'utf8'));
    expect(Object.fromEntries(outputs)).toEqual({ digest: '', digests: '{}', imageid: '', metadata: '{}', images: '' });
  });

  it('writes the per-platform digests as one JSON object', () => {
    setOutputs({ ...parseExporterResponse(single, []), digests: { 'linux/amd64': MANIFEST, 'linux/arm/v7': CONFIG } });
    const outputs = parseFileCommands(fs.readFileSync(outputFile, 'utf8'));
    expect(JSON.parse(outputs.get('digests')!)).toEqual({ 'linux/amd64': MANIFEST, 'linux/arm/v7': CONFIG });
  });
});

describe('the platform of a single manifest', () => {
  const withPlatform = (platform: unknown) => parseExporterResponse({ 'containerimage.digest': MANIFEST, 'containerimage.descriptor': b64({ ...descriptor, platform }) }, []);

  it.each<[unknown, string | undefined]>([
    [{ os: 'linux', architecture: 'amd64' }, 'linux/amd64'],
    [{ os: 'linux', architecture: 'arm', variant: 'v7' }, 'linux/arm/v7'],
    [{ os: 'linux', architecture: 'arm64', variant: '' }, 'linux/arm64'],
    // What a hostile daemon could put there does not become an output key.
    [{ os: 'linux\n::error::x', architecture: 'amd64' }, undefined],
    [{ os: 'linux', architecture: '../amd64' }, undefined],
    [{ os: 'linux', architecture: 'arm', variant: 'v7 x' }, undefined],
    [{ os: 'linux' }, undefined],
    ['linux/amd64', undefined],
  ])('%j -> %s', (platform, expected) => {
    expect(withPlatform(platform).descriptor?.platform).toBe(expected);
  });
});

describe('readPlatformDigests of an image kept in the builder', () => {
  const manifest = (platform?: string): BuildResult => ({
    digest: MANIFEST,
    descriptor: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: MANIFEST, size: 1, ...(platform ? { platform } : {}) },
    metadata: {},
    images: [],
  });
  const notPushed = (platforms: string[] = []) => ({ push: false, tags: [], platforms, registryInsecure: false });
  const builder = (workers?: BuilderInfo['workers']): BuilderInfo => ({ endpoint: parseEndpoint('tcp://b:1234'), ...(workers ? { workers } : {}) });
  const signal = new AbortController().signal;

  it('names the platform asked for first, then the one the exporter recorded, then the builder’s own', async () => {
    const armWorker = builder([{ ID: 'w', platforms: [{ OS: 'linux', Architecture: 'arm64' }] }]);
    expect(await readPlatformDigests(manifest('linux/amd64'), notPushed(['linux/amd64']), armWorker, signal)).toEqual({ 'linux/amd64': MANIFEST });
    expect(await readPlatformDigests(manifest('linux/riscv64'), notPushed(), armWorker, signal)).toEqual({ 'linux/riscv64': MANIFEST });
    expect(await readPlatformDigests(manifest(), notPushed(), armWorker, signal)).toEqual({ 'linux/arm64': MANIFEST });
  });

  it('says nothing when neither the exporter nor a probe of the workers told the platform', async () => {
    expect(await readPlatformDigests(manifest(), notPushed(), builder(), signal)).toEqual({});
    expect(await readPlatformDigests(manifest(), notPushed(), undefined, signal)).toEqual({});
  });
});
