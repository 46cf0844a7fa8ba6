// Credentials resolved by our provider, checked against the 401 challenge of a
// real distribution registry (not a mock): this is what the daemon does with
// our Auth.Credentials answer when a registry asks for Basic auth (§5.2).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuthHandler, createDockerCredentialProvider } from '../../../src/session/auth/index.js';
import { AUTH_CREDENTIALS_PATH } from '../../../src/session/auth/service.js';
import type { CredentialsResponse } from '../../../src/protocol/index.js';
import { describeWithRegistry, startRegistry, type RunningRegistry } from '../../helpers/registry.js';
import { TEST_HELPER_NAME, installTestHelper, type TestHelper } from '../../credentials/fake-helper.js';

const USER = 'ci-user';
// A ':' in the password checks the split at the first ':' all the way to the registry.
const PASSWORD = 'pa:ss w0rd!';
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

async function getV2(host: string, creds?: CredentialsResponse): Promise<Response> {
  const headers: Record<string, string> = {};
  // Like the daemon: Basic auth only when both fields are set.
  if (creds?.Username && creds.Secret) headers.authorization = `Basic ${b64(`${creds.Username}:${creds.Secret}`)}`;
  const res = await fetch(`http://${host}/v2/`, { headers, signal: AbortSignal.timeout(10_000) });
  await res.arrayBuffer();
  return res;
}

/** Asks our Auth.Credentials handler, as the daemon would through the session. */
async function askHandler(env: NodeJS.ProcessEnv, host: string): Promise<CredentialsResponse> {
  const handler = createAuthHandler(await createDockerCredentialProvider({ env }));
  return handler({ Host: host }, { path: AUTH_CREDENTIALS_PATH, metadata: new Map(), signal: new AbortController().signal });
}

describeWithRegistry('credentials against a real registry', () => {
  let plain: RunningRegistry;
  let secured: RunningRegistry;
  let configDir: string;
  let helper: TestHelper;

  beforeAll(async () => {
    [plain, secured] = await Promise.all([startRegistry(), startRegistry({ htpasswd: { user: USER, password: PASSWORD } })]);
  });
  afterAll(async () => {
    await Promise.all([plain?.stop(), secured?.stop()]);
  });
  beforeEach(() => {
    configDir = mkdtempSync(join(tmpdir(), 'envd-regauth-'));
    helper = installTestHelper();
  });
  afterEach(() => {
    rmSync(configDir, { recursive: true, force: true });
    helper.cleanup();
  });

  const writeConfig = (doc: object): NodeJS.ProcessEnv => {
    writeFileSync(join(configDir, 'config.json'), JSON.stringify(doc));
    const env: NodeJS.ProcessEnv = { ...helper.env, DOCKER_CONFIG: configDir };
    delete env.DOCKER_AUTH_CONFIG;
    return env;
  };

  it('runs on free ports of its own, never 5000', () => {
    for (const r of [plain, secured]) expect(r.host).toMatch(/^127\.0\.0\.1:\d+$/);
    expect([plain.host, secured.host]).not.toContain('127.0.0.1:5000');
    expect(plain.host).not.toBe(secured.host);
  });

  it('the htpasswd registry challenges anonymous requests with Basic realm="test"', async () => {
    const res = await getV2(secured.host);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="test"/);
  });

  it('the plain registry answers without credentials', async () => {
    expect((await getV2(plain.host)).status).toBe(200);
  });

  it('credentials from config.json auths (auth field) pass the challenge', async () => {
    const env = writeConfig({ auths: { [secured.host]: { auth: b64(`${USER}:${PASSWORD}`) } } });
    const creds = await askHandler(env, secured.host);
    expect(creds).toEqual({ Username: USER, Secret: PASSWORD });
    expect((await getV2(secured.host, creds)).status).toBe(200);
  });

  it('a legacy http:// key with a path matches by hostname form and passes', async () => {
    const env = writeConfig({ auths: { [`http://${secured.host}/v2/`]: { auth: b64(`${USER}:${PASSWORD}`) } } });
    const creds = await askHandler(env, secured.host);
    expect((await getV2(secured.host, creds)).status).toBe(200);
  });

  it('credentials from the real credential helper pass the challenge', async () => {
    const env = writeConfig({ credHelpers: { [secured.host]: TEST_HELPER_NAME } });
    helper.answer(secured.host, USER, PASSWORD);
    const creds = await askHandler(env, secured.host);
    expect(helper.stdinLog()).toEqual([secured.host]);
    expect(creds).toEqual({ Username: USER, Secret: PASSWORD });
    expect((await getV2(secured.host, creds)).status).toBe(200);
  });

  it('a wrong password is refused', async () => {
    const env = writeConfig({ auths: { [secured.host]: { auth: b64(`${USER}:not-the-password`) } } });
    const creds = await askHandler(env, secured.host);
    const res = await getV2(secured.host, creds);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="test"/);
  });

  it('a host other than the configured one gets empty credentials', async () => {
    const env = writeConfig({ auths: { [secured.host]: { auth: b64(`${USER}:${PASSWORD}`) } } });
    expect(await askHandler(env, plain.host)).toEqual({ Username: '', Secret: '' });
    // Same address, other port: still a different registry.
    const [ip, port] = secured.host.split(':');
    expect(await askHandler(env, `${ip}:${Number(port) + 1}`)).toEqual({ Username: '', Secret: '' });
    expect(await askHandler(env, 'registry-1.docker.io')).toEqual({ Username: '', Secret: '' });
    // Empty credentials for the secured host itself (nothing configured) stay anonymous → 401.
    const none = await askHandler(writeConfig({}), secured.host);
    expect(none).toEqual({ Username: '', Secret: '' });
    expect((await getV2(secured.host, none)).status).toBe(401);
  });

  it('the helper reporting "not found" means anonymous, not an error', async () => {
    const env = writeConfig({ credsStore: TEST_HELPER_NAME });
    const creds = await askHandler(env, secured.host);
    expect(creds).toEqual({ Username: '', Secret: '' });
    expect(helper.stdinLog()).toEqual([secured.host]);
    expect((await getV2(plain.host, creds)).status).toBe(200);
  });
});
