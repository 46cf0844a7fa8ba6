// End to end, the matrix recipe of .github/workflows/example-matrix-merge.yml:
// two separate runs of the bundled action each build one platform on the real
// buildkitd and push it by digest to the real htpasswd registry, then a third
// run (merge mode, no builder) assembles one index under tags in two
// repositories. Everything is checked against what the registry serves.
import { jest } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAction } from '../helpers/run-action.js';
import { BUILDKIT_HOST, describeE2E, makeContext, registryDigest, uniqueRepo } from './env.js';
import { tempDir } from '../helpers/temp-dirs.js';

jest.setTimeout(300_000);

const REGISTRY = process.env.E2E_AUTH_REGISTRY ?? '';
const USER = process.env.E2E_AUTH_USER ?? '';
const PASSWORD = process.env.E2E_AUTH_PASSWORD ?? '';

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string };
}

const ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

function basic(): string {
  return `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
}

async function get(path: string, accept = ACCEPT): Promise<Response> {
  return fetch(`http://${REGISTRY}/v2/${path}`, { headers: { accept, authorization: basic() } });
}

describeE2E('matrix build by digest, then merge (separate runs of the action)', () => {
  let dockerConfig: string;

  beforeAll(() => {
    if (!REGISTRY || !USER || !PASSWORD) throw new Error('E2E_AUTH_REGISTRY, E2E_AUTH_USER and E2E_AUTH_PASSWORD must name the htpasswd registry of the peers');
    dockerConfig = mkdtempSync(join(tmpdir(), 'e2e-merge-docker-'));
    writeFileSync(join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [REGISTRY]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } } }));
  });
  afterAll(() => rmSync(dockerConfig, { recursive: true, force: true }));

  test('two push-by-digest runs and a merge run give one index whose children are those digests', async () => {
    const repo = uniqueRepo('matrix');
    const other = uniqueRepo('matrix-copy');
    // COPY only: the foreign platform needs no emulator. The stamp makes the images new.
    const context = makeContext({ Dockerfile: 'FROM scratch\nARG TARGETPLATFORM\nCOPY stamp /stamp\n', stamp: `${repo}\n` });
    const env = { GITHUB_WORKSPACE: context, DOCKER_CONFIG: dockerConfig };

    const built: Record<string, string> = {};
    for (const platform of ['linux/amd64', 'linux/arm64']) {
      const run = await runAction({ builder: BUILDKIT_HOST, context, platforms: platform, tags: `${REGISTRY}/${repo}`, 'push-by-digest': 'true' }, { env });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.outputs.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(run.outputs.images).toBe(`${REGISTRY}/${repo}@${run.outputs.digest}`);
      expect(JSON.parse(run.outputs.digests!)).toEqual({ [platform]: run.outputs.digest });
      built[platform] = run.outputs.digest!;
    }
    // By digest only: the registry has no tag for either image.
    const tagsBefore = (await (await get(`${repo}/tags/list`, 'application/json')).json()) as { tags: string[] | null };
    expect(tagsBefore.tags ?? []).toEqual([]);

    // The merge job: no builder, no context (its runner has no checkout).
    const merge = await runAction(
      {
        merge: Object.values(built)
          .map((d) => `${REGISTRY}/${repo}@${d}`)
          .join('\n'),
        tags: `${REGISTRY}/${repo}:1.0\n${REGISTRY}/${repo}:latest\n${REGISTRY}/${other}:1.0`,
        annotations: 'org.opencontainers.image.description=merged by the action',
      },
      { env: { GITHUB_WORKSPACE: tempDir('e2e-merge-empty-'), DOCKER_CONFIG: dockerConfig } },
    );
    expect(merge.stderr).toBe('');
    expect(merge.code).toBe(0);
    const digest = merge.outputs.digest!;
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(JSON.parse(merge.outputs.digests!)).toEqual(built);
    expect(merge.outputs.images!.split('\n')).toEqual([`${REGISTRY}/${repo}@${digest}`, `${REGISTRY}/${other}@${digest}`]);

    // The registry serves that very index under all three tags.
    const auth = { user: USER, password: PASSWORD };
    for (const [r, tag] of [
      [repo, '1.0'],
      [repo, 'latest'],
      [other, '1.0'],
    ] as const) {
      expect(await registryDigest(REGISTRY, r, tag, auth)).toBe(digest);
    }
    const index = (await (await get(`${other}/manifests/${digest}`)).json()) as { mediaType: string; manifests: Descriptor[]; annotations?: Record<string, string> };
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(index.annotations).toEqual({ 'org.opencontainers.image.description': 'merged by the action' });
    expect(index.manifests.map((m) => [`${m.platform!.os}/${m.platform!.architecture}`, m.digest])).toEqual(Object.entries(built));

    // Each child is the right image, and exists (with its blobs) in the other repository too.
    for (const child of index.manifests) {
      const res = await get(`${other}/manifests/${child.digest}`);
      expect(res.status).toBe(200);
      const manifest = (await res.json()) as { config: Descriptor; layers: Descriptor[] };
      const config = (await (await get(`${other}/blobs/${manifest.config.digest}`)).json()) as { os: string; architecture: string };
      expect(`${config.os}/${config.architecture}`).toBe(`${child.platform!.os}/${child.platform!.architecture}`);
      for (const layer of manifest.layers) expect((await fetch(`http://${REGISTRY}/v2/${other}/blobs/${layer.digest}`, { method: 'HEAD', headers: { authorization: basic() } })).status).toBe(200);
    }
    // For the record (the issue asks for these measurements).
    process.stderr.write(`matrix merge: per-platform ${JSON.stringify(built)}; index ${digest}; registry ${await registryDigest(REGISTRY, repo, '1.0', auth)}\n`);
    rmSync(context, { recursive: true, force: true });
  });

  test('one builder, two platforms: the digests output lists the pushed index children', async () => {
    const repo = uniqueRepo('digests');
    const context = makeContext({ Dockerfile: 'FROM scratch\nCOPY stamp /stamp\n', stamp: `${repo}\n` });
    const run = await runAction({ builder: BUILDKIT_HOST, context, platforms: 'linux/amd64,linux/arm64', tags: `${REGISTRY}/${repo}:1`, push: 'true' }, { env: { GITHUB_WORKSPACE: context, DOCKER_CONFIG: dockerConfig } });
    expect(run.code).toBe(0);
    expect(await registryDigest(REGISTRY, repo, '1', { user: USER, password: PASSWORD })).toBe(run.outputs.digest);
    const index = (await (await get(`${repo}/manifests/${run.outputs.digest}`)).json()) as { manifests: Descriptor[] };
    const expected = Object.fromEntries(index.manifests.map((m) => [`${m.platform!.os}/${m.platform!.architecture}`, m.digest]));
    expect(Object.keys(expected).sort()).toEqual(['linux/amd64', 'linux/arm64']);
    expect(JSON.parse(run.outputs.digests!)).toEqual(expected);
    rmSync(context, { recursive: true, force: true });
  });

  test('merge errors are one line naming the input', async () => {
    const repo = uniqueRepo('matrix-bad');
    const missing = `sha256:${'0'.repeat(64)}`;
    const run = await runAction({ merge: `${REGISTRY}/${repo}@${missing}`, tags: `${REGISTRY}/${repo}:1` }, { env: { DOCKER_CONFIG: dockerConfig } });
    expect(run.code).not.toBe(0);
    const errors = run.stdout.split('\n').filter((l) => l.startsWith('::error'));
    expect(errors).toEqual([`::error::registry ${REGISTRY}: GET manifest ${REGISTRY}/${repo}@${missing}: HTTP 404 MANIFEST_UNKNOWN: manifest unknown`]);
  });
});
