// The registry client against real distribution registries (Debian's
// docker-registry): plain, htpasswd (Basic), and token auth (Bearer from a
// token service whose signatures the registry verifies). No registry protocol
// is mocked: whatever the client gets wrong, the registry refuses.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient, RegistryError, digestOf } from '../../src/registry/client.js';
import { MediaTypes, type ImageIndex } from '../../src/registry/media.js';
import { parseReference, type Reference, type Repository } from '../../src/registry/reference.js';
import { createDockerCredentialProvider } from '../../src/credentials/provider.js';
import { describeWithRegistry, startRegistry, type RunningRegistry } from '../helpers/registry.js';
import { startTokenServer, type TokenServer } from '../helpers/token-server.js';

const USER = 'reg-user';
const PASSWORD = 'pa:ss-' + randomBytes(6).toString('hex');

/** A loopback port nobody listens on (just released by the kernel). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address ? address.port : 0;
}

function ref(text: string): Reference {
  const r = parseReference(text);
  if (typeof r === 'string') throw new Error(r);
  return r;
}

/** The digest the registry itself reports (raw HEAD, no client code involved). */
async function registryDigest(host: string, path: string, reference: string, auth?: string): Promise<string | null> {
  const res = await fetch(`http://${host}/v2/${path}/manifests/${reference}`, {
    method: 'HEAD',
    headers: { accept: `${MediaTypes.ociIndex}, ${MediaTypes.ociManifest}`, ...(auth ? { authorization: auth } : {}) },
  });
  return res.status === 200 ? res.headers.get('docker-content-digest') : null;
}

interface Seeded {
  readonly digest: string;
  readonly bytes: Buffer;
  readonly config: string;
  readonly layer: string;
  readonly layerBytes: Buffer;
}

/** A tiny OCI image (config + one random layer) pushed by the client under `tag`. */
async function seed(client: RegistryClient, repo: Repository, tag: string, architecture: string): Promise<Seeded> {
  const configBytes = Buffer.from(JSON.stringify({ os: 'linux', architecture, rootfs: { type: 'layers', diff_ids: [] }, nonce: randomBytes(8).toString('hex') }));
  const layerBytes = randomBytes(4096);
  const config = await client.uploadBlob(repo, configBytes);
  const layer = await client.uploadBlob(repo, layerBytes);
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: configBytes.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer, size: layerBytes.length }],
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const digest = await client.putManifest(repo, tag, bytes, MediaTypes.ociManifest);
  return { digest, bytes, config, layer, layerBytes };
}

describeWithRegistry('registry client against real registries', () => {
  let plain: RunningRegistry;
  let basic: RunningRegistry;
  let tokens: TokenServer;
  let bearer: RunningRegistry;
  let configDir: string;
  let withCreds: RegistryClient;
  let anonymous: RegistryClient;

  beforeAll(async () => {
    tokens = await startTokenServer(USER, PASSWORD);
    [plain, basic, bearer] = await Promise.all([
      startRegistry(),
      startRegistry({ htpasswd: { user: USER, password: PASSWORD } }),
      startRegistry({ token: { realm: tokens.realm, service: tokens.service, issuer: tokens.issuer, rootCertBundle: tokens.certFile } }),
    ]);
    configDir = mkdtempSync(join(tmpdir(), 'registry-client-'));
    const auth = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
    writeFileSync(join(configDir, 'config.json'), JSON.stringify({ auths: { [basic.host]: { auth }, [bearer.host]: { auth } } }));
    withCreds = new RegistryClient({ credentials: await createDockerCredentialProvider({ env: { DOCKER_CONFIG: configDir } }) });
    const emptyDir = join(configDir, 'empty');
    anonymous = new RegistryClient({ credentials: await createDockerCredentialProvider({ env: { DOCKER_CONFIG: emptyDir } }) });
  });
  afterAll(async () => {
    await Promise.all([plain?.stop(), basic?.stop(), bearer?.stop()]);
    await tokens?.stop();
    if (configDir) rmSync(configDir, { recursive: true, force: true });
  });

  test('plain: a pushed manifest reads back by tag and by digest, with the digest the registry reports', async () => {
    const repo = ref(`${plain.host}/client/plain`);
    const image = await seed(anonymous, repo, 'v1', 'amd64');
    expect(image.digest).toBe(digestOf(image.bytes));
    expect(await registryDigest(plain.host, 'client/plain', 'v1')).toBe(image.digest);

    const byTag = await anonymous.getManifest(ref(`${plain.host}/client/plain:v1`));
    expect(byTag.descriptor).toEqual({ mediaType: MediaTypes.ociManifest, digest: image.digest, size: image.bytes.length });
    expect(byTag.bytes.equals(image.bytes)).toBe(true);
    const byDigest = await anonymous.getManifest(ref(`${plain.host}/client/plain@${image.digest}`));
    expect(byDigest.manifest.kind).toBe('manifest');
    expect(await anonymous.headManifest(repo, 'v1')).toEqual(byTag.descriptor);
    expect(await anonymous.headManifest(repo, 'nope')).toBeUndefined();
  });

  test('plain: an OCI index of two images is stored byte for byte and its children keep their platforms', async () => {
    const repo = ref(`${plain.host}/client/index`);
    const a = await seed(anonymous, repo, 'amd64', 'amd64');
    const b = await seed(anonymous, repo, 'arm64', 'arm64');
    const index = {
      schemaVersion: 2,
      mediaType: MediaTypes.ociIndex,
      manifests: [
        { mediaType: MediaTypes.ociManifest, digest: a.digest, size: a.bytes.length, platform: { os: 'linux', architecture: 'amd64' } },
        { mediaType: MediaTypes.ociManifest, digest: b.digest, size: b.bytes.length, platform: { os: 'linux', architecture: 'arm64' } },
      ],
    };
    const bytes = Buffer.from(JSON.stringify(index));
    const digest = await anonymous.putManifest(repo, 'multi', bytes, MediaTypes.ociIndex);
    expect(await registryDigest(plain.host, 'client/index', 'multi')).toBe(digest);
    const back = await anonymous.getManifest(ref(`${plain.host}/client/index:multi`));
    expect(back.manifest.kind).toBe('index');
    expect((back.manifest as ImageIndex).manifests.map((m) => [m.digest, m.platform?.architecture])).toEqual([
      [a.digest, 'amd64'],
      [b.digest, 'arm64'],
    ]);
  });

  test('plain: a blob is mounted into another repository of the same registry, not copied', async () => {
    const from = ref(`${plain.host}/client/mount-src`);
    const to = ref(`${plain.host}/client/mount-dst`);
    const image = await seed(anonymous, from, 'v1', 'amd64');
    expect(await anonymous.blobExists(to, image.layer)).toBe(false);
    expect(await anonymous.copyBlob(from, to, { mediaType: 'x', digest: image.layer, size: image.layerBytes.length })).toBe('mounted');
    expect(await anonymous.blobExists(to, image.layer)).toBe(true);
    expect(await anonymous.copyBlob(from, to, { mediaType: 'x', digest: image.layer, size: image.layerBytes.length })).toBe('present');
  });

  test('a blob is streamed from one registry to another (plain to htpasswd) and arrives intact', async () => {
    const from = ref(`${plain.host}/client/copy-src`);
    const to = ref(`${basic.host}/client/copy-dst`);
    const image = await seed(withCreds, from, 'v1', 'amd64');
    expect(await withCreds.copyBlob(from, to, { mediaType: 'x', digest: image.layer, size: image.layerBytes.length })).toBe('copied');
    expect((await withCreds.getBlob(to, image.layer, 1 << 20)).equals(image.layerBytes)).toBe(true);
  });

  test('htpasswd: Basic credentials from the docker config; without them one line naming registry and reference, no secret', async () => {
    const repo = ref(`${basic.host}/client/basic`);
    const image = await seed(withCreds, repo, 'v1', 'amd64');
    const basicAuth = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
    expect(await registryDigest(basic.host, 'client/basic', 'v1', basicAuth)).toBe(image.digest);

    const err = await anonymous.getManifest(ref(`${basic.host}/client/basic:v1`)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    const message = (err as Error).message;
    expect(message).toBe(`registry ${basic.host}: GET manifest ${basic.host}/client/basic:v1: HTTP 401 UNAUTHORIZED: authentication required (no credentials for ${basic.host} in the docker config; log in first)`);
    expect(message.split('\n')).toHaveLength(1);
  });

  test('token auth: Basic credentials are exchanged for Bearer tokens the real registry accepts, scoped per repository', async () => {
    const from = ref(`${bearer.host}/client/token-src`);
    const to = ref(`${bearer.host}/client/token-dst`);
    tokens.requests.length = 0;
    const image = await seed(withCreds, from, 'v1', 'arm64');
    expect(tokens.requests.length).toBeGreaterThan(0);
    expect(tokens.requests.every((r) => r.who === `basic:${USER}` && r.service === tokens.service)).toBe(true);
    expect(tokens.requests.map((r) => r.scopes.join(' '))).toContain('repository:client/token-src:pull,push');

    // A mount needs push on the target and pull on the source in one token.
    expect(await withCreds.copyBlob(from, to, { mediaType: 'x', digest: image.layer, size: image.layerBytes.length })).toBe('mounted');
    expect(tokens.requests.map((r) => r.scopes.join(' '))).toContain('repository:client/token-dst:pull,push repository:client/token-src:pull');
    const back = await withCreds.getManifest(ref(`${bearer.host}/client/token-src@${image.digest}`));
    expect(back.bytes.equals(image.bytes)).toBe(true);
  });

  test('token auth: anonymous callers get a pull-only token, and a push is refused in one line', async () => {
    const repo = ref(`${bearer.host}/client/token-anon`);
    const err = await anonymous.uploadBlob(repo, Buffer.from('x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as Error).message).toMatch(new RegExp(`^registry ${bearer.host.replace(/\./g, '\\.')}: (HEAD blob|start blob upload to) ${bearer.host.replace(/\./g, '\\.')}/client/token-anon.*HTTP 401 .*\\(no credentials for ${bearer.host.replace(/\./g, '\\.')} in the docker config; log in first\\)$`));
    expect(tokens.requests.some((r) => r.who === 'anonymous')).toBe(true);
  });

  test('token auth: an identity token from the docker config uses the refresh-token grant', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'registry-client-idtoken-'));
    try {
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths: { [bearer.host]: { identitytoken: tokens.refreshToken } } }));
      const client = new RegistryClient({ credentials: await createDockerCredentialProvider({ env: { DOCKER_CONFIG: dir } }) });
      tokens.requests.length = 0;
      const image = await seed(client, ref(`${bearer.host}/client/token-refresh`), 'v1', 'amd64');
      expect(tokens.requests.length).toBeGreaterThan(0);
      expect(tokens.requests.every((r) => r.method === 'POST' && r.who === 'refresh')).toBe(true);
      expect(await client.headManifest(ref(`${bearer.host}/client/token-refresh`), image.digest)).toMatchObject({ digest: image.digest });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('wrong credentials: the token service refuses them, one line without the password', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'registry-client-wrong-'));
    try {
      const wrong = 'wrong-' + randomBytes(4).toString('hex');
      writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths: { [bearer.host]: { auth: Buffer.from(`${USER}:${wrong}`).toString('base64') } } }));
      const client = new RegistryClient({ credentials: await createDockerCredentialProvider({ env: { DOCKER_CONFIG: dir } }) });
      const err = await client.headManifest(ref(`${bearer.host}/client/x`), 'v1').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RegistryError);
      const message = (err as Error).message;
      expect(message).toBe(`registry ${bearer.host}: HEAD manifest ${bearer.host}/client/x:v1: token request to ${tokens.realm} answered HTTP 401 (the credentials for ${bearer.host} were refused)`);
      expect(message).not.toContain(wrong);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('nothing listening: one line naming the registry', async () => {
    const port = await closedPort();
    const err = await anonymous.headManifest(ref(`127.0.0.1:${port}/client/x`), 'v1').catch((e: unknown) => e);
    expect((err as Error).message).toBe(`registry 127.0.0.1:${port}: cannot connect: connection refused`);
  });
});
