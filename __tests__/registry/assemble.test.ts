// Index assembly against a real registry: sources read back, platforms taken
// from image configs, indexes flattened, duplicates refused.
import { randomBytes } from 'node:crypto';
import { assembleIndex, collectEntries, indexDocument, MergeSourceError, platformDigests } from '../../src/registry/assemble.js';
import { RegistryClient } from '../../src/registry/client.js';
import { MediaTypes } from '../../src/registry/media.js';
import { parseReference, type Reference, type Repository } from '../../src/registry/reference.js';
import { anonymousCredentialProvider } from '../../src/credentials/provider.js';
import { describeWithRegistry, startRegistry, type RunningRegistry } from '../helpers/registry.js';

function ref(text: string): Reference {
  const r = parseReference(text);
  if (typeof r === 'string') throw new Error(r);
  return r;
}

async function image(client: RegistryClient, repo: Repository, architecture: string, mediaType: string = MediaTypes.ociManifest): Promise<{ digest: string; size: number }> {
  const config = Buffer.from(JSON.stringify({ os: 'linux', architecture, variant: architecture === 'arm' ? 'v7' : undefined, nonce: randomBytes(6).toString('hex') }));
  const layer = randomBytes(64);
  const docker = mediaType === MediaTypes.dockerManifest;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      config: { mediaType: docker ? 'application/vnd.docker.container.image.v1+json' : 'application/vnd.oci.image.config.v1+json', digest: await client.uploadBlob(repo, config), size: config.length },
      layers: [{ mediaType: docker ? 'application/vnd.docker.image.rootfs.diff.tar.gzip' : 'application/vnd.oci.image.layer.v1.tar', digest: await client.uploadBlob(repo, layer), size: layer.length }],
    }),
  );
  const digest = await client.putManifest(repo, `t-${architecture}-${randomBytes(3).toString('hex')}`, manifest, mediaType);
  return { digest, size: manifest.length };
}

describeWithRegistry('index assembly against a real registry', () => {
  let registry: RunningRegistry;
  let client: RegistryClient;
  beforeAll(async () => {
    registry = await startRegistry();
    client = new RegistryClient({ credentials: anonymousCredentialProvider });
  });
  afterAll(() => registry?.stop());

  test('platforms come from the image configs; the same sources give the same index digest', async () => {
    const repo = ref(`${registry.host}/asm/a`);
    const amd = await image(client, repo, 'amd64');
    const arm = await image(client, repo, 'arm');
    const sources = [ref(`${repo.name}@${amd.digest}`), ref(`${repo.name}@${arm.digest}`)];
    const first = await assembleIndex(client, sources, [ref(`${repo.name}:one`)]);
    const second = await assembleIndex(client, sources, [ref(`${repo.name}:two`)]);
    expect(second.digest).toBe(first.digest);
    expect(platformDigests(first.entries)).toEqual({ 'linux/amd64': amd.digest, 'linux/arm/v7': arm.digest });
    expect(first.mediaType).toBe(MediaTypes.ociIndex);
  });

  test('an index source is flattened, its attestation entry kept but not counted as a platform', async () => {
    const repo = ref(`${registry.host}/asm/b`);
    const amd = await image(client, repo, 'amd64');
    const att = await image(client, repo, 'unknown');
    const arm = await image(client, repo, 'arm64');
    const inner = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.ociIndex,
        manifests: [
          { mediaType: MediaTypes.ociManifest, digest: amd.digest, size: amd.size, platform: { os: 'linux', architecture: 'amd64' } },
          {
            mediaType: MediaTypes.ociManifest,
            digest: att.digest,
            size: att.size,
            platform: { os: 'unknown', architecture: 'unknown' },
            annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': amd.digest },
          },
        ],
      }),
    );
    const innerDigest = await client.putManifest(repo, 'inner', inner, MediaTypes.ociIndex);
    const entries = await collectEntries(client, [ref(`${repo.name}@${innerDigest}`), ref(`${repo.name}@${arm.digest}`)]);
    expect(entries.map((e) => e.descriptor.digest)).toEqual([amd.digest, att.digest, arm.digest]);
    expect(platformDigests(entries)).toEqual({ 'linux/amd64': amd.digest, 'linux/arm64': arm.digest });
  });

  test('two images of one platform are refused in one line', async () => {
    const repo = ref(`${registry.host}/asm/c`);
    const a = await image(client, repo, 'amd64');
    const b = await image(client, repo, 'amd64');
    const err = await collectEntries(client, [ref(`${repo.name}@${a.digest}`), ref(`${repo.name}@${b.digest}`)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MergeSourceError);
    expect((err as Error).message).toBe(`two images for linux/amd64: ${repo.name}@${a.digest} and ${repo.name}@${b.digest}; give each platform once`);
  });

  test('Docker manifests only: a Docker manifest list, as docker makes', async () => {
    const repo = ref(`${registry.host}/asm/d`);
    const a = await image(client, repo, 'amd64', MediaTypes.dockerManifest);
    const b = await image(client, repo, 'arm64', MediaTypes.dockerManifest);
    const entries = await collectEntries(client, [ref(`${repo.name}@${a.digest}`), ref(`${repo.name}@${b.digest}`)]);
    expect(indexDocument(entries).mediaType).toBe(MediaTypes.dockerList);
    expect(indexDocument(entries, { a: 'b' }).mediaType).toBe(MediaTypes.ociIndex);
  });
});
