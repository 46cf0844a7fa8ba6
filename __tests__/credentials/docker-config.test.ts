import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DOCKER_HUB_CONFIG_KEY,
  DockerConfigError,
  configKeyForHost,
  credentialsFromEntry,
  decodeBasicAuth,
  dockerConfigPath,
  findAuthEntry,
  hostnameForm,
  loadDockerConfig,
  parseDockerAuthConfigEnv,
  parseDockerConfig,
  selectCredentialSource,
  type AuthEntry,
  type CredentialSource,
} from '../../src/session/auth/index.js';

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const cfg = (doc: object, source = 'config.json') => parseDockerConfig(JSON.stringify(doc), source);

describe('host → config key', () => {
  it.each([
    ['registry-1.docker.io', DOCKER_HUB_CONFIG_KEY],
    ['docker.io', DOCKER_HUB_CONFIG_KEY],
    ['index.docker.io', DOCKER_HUB_CONFIG_KEY],
    ['ghcr.io', 'ghcr.io'],
    ['localhost:5000', 'localhost:5000'],
    ['127.0.0.1:41234', '127.0.0.1:41234'],
    ['registry.example.com:443', 'registry.example.com:443'],
    // Not a Hub alias: must not be mapped.
    ['mirror.docker.io', 'mirror.docker.io'],
  ])('%s → %s', (host, key) => {
    expect(configKeyForHost(host)).toBe(key);
  });
});

describe('hostname form of auths keys', () => {
  it.each([
    ['ghcr.io', 'ghcr.io'],
    ['https://ghcr.io/v2/', 'ghcr.io'],
    ['http://localhost:5000', 'localhost:5000'],
    ['https://index.docker.io/v1/', 'index.docker.io'],
    ['localhost:5000/some/path', 'localhost:5000'],
  ])('%s → %s', (key, form) => {
    expect(hostnameForm(key)).toBe(form);
  });
});

describe('auths key matching', () => {
  const a: AuthEntry = { username: 'a', password: '1' };
  const b: AuthEntry = { username: 'b', password: '2' };
  const cases: [string, Record<string, AuthEntry>, string, string | undefined][] = [
    ['exact key', { 'ghcr.io': a }, 'ghcr.io', 'ghcr.io'],
    ['exact key wins over an earlier hostname-form match', { 'https://ghcr.io/v2/': b, 'ghcr.io': a }, 'ghcr.io', 'ghcr.io'],
    ['hostname form with scheme and path', { 'https://ghcr.io/v2/': b }, 'ghcr.io', 'https://ghcr.io/v2/'],
    ['hostname form keeps the port', { 'http://localhost:5000': a }, 'localhost:5000', 'http://localhost:5000'],
    ['port must match', { 'http://localhost:5000': a }, 'localhost:5001', undefined],
    ['no port does not match a port', { 'https://localhost/': a }, 'localhost:5000', undefined],
    ['Hub key exact', { [DOCKER_HUB_CONFIG_KEY]: a }, DOCKER_HUB_CONFIG_KEY, DOCKER_HUB_CONFIG_KEY],
    ['other registries do not match', { 'quay.io': a }, 'ghcr.io', undefined],
  ];
  it.each(cases)('%s', (_name, auths, key, expectedKey) => {
    expect(findAuthEntry(auths, key)?.key).toBe(expectedKey);
  });
});

describe('decoding of auth entries', () => {
  const cases: [string, AuthEntry, { Username: string; Secret: string }][] = [
    ['auth field', { auth: b64('alice:s3cret') }, { Username: 'alice', Secret: 's3cret' }],
    ['password containing ":" is split at the first ":"', { auth: b64('alice:pa:ss:word') }, { Username: 'alice', Secret: 'pa:ss:word' }],
    ['trailing NULs are trimmed', { auth: b64('alice:pw\0\0') }, { Username: 'alice', Secret: 'pw' }],
    ['empty password', { auth: b64('alice:') }, { Username: 'alice', Secret: '' }],
    ['unpadded base64', { auth: b64('bob:pw1').replace(/=+$/, '') }, { Username: 'bob', Secret: 'pw1' }],
    ['utf-8 password', { auth: b64('zoë:pässwörd') }, { Username: 'zoë', Secret: 'pässwörd' }],
    ['username/password fields', { username: 'carol', password: 'pw' }, { Username: 'carol', Secret: 'pw' }],
    ['auth wins over username/password', { auth: b64('alice:a'), username: 'carol', password: 'c' }, { Username: 'alice', Secret: 'a' }],
    ['identitytoken → empty username', { identitytoken: 'refresh-tok' }, { Username: '', Secret: 'refresh-tok' }],
    ['identitytoken wins over auth', { auth: b64('alice:a'), identitytoken: 'refresh-tok' }, { Username: '', Secret: 'refresh-tok' }],
    ['registrytoken alone is ignored', { registrytoken: 'bearer' }, { Username: '', Secret: '' }],
    ['empty entry', {}, { Username: '', Secret: '' }],
  ];
  it.each(cases)('%s', (_name, entry, expected) => {
    expect(credentialsFromEntry(entry, 'test')).toEqual(expected);
  });

  it.each([
    ['not base64', '!!!not-base64!!!'],
    ['no colon', b64('justauser')],
  ])('rejects %s without echoing the value', (_name, auth) => {
    expect(decodeBasicAuth(auth)).toBeUndefined();
    let error: unknown;
    try {
      credentialsFromEntry({ auth }, 'auths["x"] in /cfg.json');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DockerConfigError);
    expect((error as Error).message).toContain('auths["x"] in /cfg.json');
    expect((error as Error).message).not.toContain(auth);
    expect((error as Error).message).not.toContain('justauser');
  });
});

describe('store selection', () => {
  const entry = { auth: b64('file:pw') };
  const cases: [string, object, string, CredentialSource['kind'], string | undefined][] = [
    ['credHelpers beats credsStore and auths', { credHelpers: { 'ghcr.io': 'gh' }, credsStore: 'desktop', auths: { 'ghcr.io': entry } }, 'ghcr.io', 'helper', 'gh'],
    ['credsStore beats auths', { credsStore: 'desktop', auths: { 'ghcr.io': entry } }, 'ghcr.io', 'helper', 'desktop'],
    ['credHelpers for another host falls back to credsStore', { credHelpers: { 'quay.io': 'q' }, credsStore: 'desktop' }, 'ghcr.io', 'helper', 'desktop'],
    ['auths when no helper is configured', { auths: { 'ghcr.io': entry } }, 'ghcr.io', 'entry', undefined],
    ['empty credHelpers value forces the file store', { credHelpers: { 'ghcr.io': '' }, credsStore: 'desktop', auths: { 'ghcr.io': entry } }, 'ghcr.io', 'entry', undefined],
    ['empty credsStore is ignored', { credsStore: '', auths: { 'ghcr.io': entry } }, 'ghcr.io', 'entry', undefined],
    ['nothing configured', {}, 'ghcr.io', 'none', undefined],
    ['Hub host uses the Hub key for credHelpers', { credHelpers: { [DOCKER_HUB_CONFIG_KEY]: 'hub' } }, 'registry-1.docker.io', 'helper', 'hub'],
    ['credHelpers keyed by hostname form are not matched (docker does not)', { credHelpers: { 'https://ghcr.io': 'gh' } }, 'ghcr.io', 'none', undefined],
  ];
  it.each(cases)('%s', (_name, doc, host, kind, helper) => {
    const source = selectCredentialSource(host, cfg(doc));
    expect(source.kind).toBe(kind);
    if (source.kind === 'helper') {
      expect(source.helper).toBe(helper);
      expect(source.key).toBe(configKeyForHost(host));
    }
  });

  it('answers only for the host asked', () => {
    const config = cfg({ auths: { 'ghcr.io': { auth: b64('gh:1') }, 'quay.io': { auth: b64('q:2') } } });
    const source = selectCredentialSource('quay.io', config);
    expect(source.kind === 'entry' && credentialsFromEntry(source.entry, 'x')).toEqual({ Username: 'q', Secret: '2' });
    expect(selectCredentialSource('docker.example.com', config).kind).toBe('none');
  });

  it('Docker Hub credentials stored by docker login are found for registry-1.docker.io', () => {
    const config = cfg({ auths: { [DOCKER_HUB_CONFIG_KEY]: { auth: b64('hubuser:hubpw') } } });
    for (const host of ['registry-1.docker.io', 'docker.io', 'index.docker.io']) {
      const source = selectCredentialSource(host, config);
      expect(source.kind === 'entry' && credentialsFromEntry(source.entry, 'x')).toEqual({ Username: 'hubuser', Secret: 'hubpw' });
    }
  });
});

describe('DOCKER_AUTH_CONFIG', () => {
  const file = cfg({ credsStore: 'desktop', auths: { 'ghcr.io': { auth: b64('file:pw') } } });

  it('is unset or empty → undefined', () => {
    expect(parseDockerAuthConfigEnv({})).toBeUndefined();
    expect(parseDockerAuthConfigEnv({ DOCKER_AUTH_CONFIG: '  ' })).toBeUndefined();
  });

  it('comes in front of credsStore and auths for the hosts it has', () => {
    const env = parseDockerAuthConfigEnv({ DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { 'https://ghcr.io': { auth: b64('env:envpw') } } }) });
    const source = selectCredentialSource('ghcr.io', file, env);
    expect(source.kind).toBe('entry');
    expect(source.kind === 'entry' && source.source).toBe('DOCKER_AUTH_CONFIG environment variable');
    expect(source.kind === 'entry' && credentialsFromEntry(source.entry, 'x')).toEqual({ Username: 'env', Secret: 'envpw' });
  });

  it('falls through to the config file for other hosts', () => {
    const env = parseDockerAuthConfigEnv({ DOCKER_AUTH_CONFIG: JSON.stringify({ auths: { 'quay.io': { auth: b64('env:envpw') } } }) });
    const source = selectCredentialSource('ghcr.io', file, env);
    expect(source).toEqual({ kind: 'helper', helper: 'desktop', key: 'ghcr.io' });
  });

  it('ignores helpers named in it', () => {
    const env = parseDockerAuthConfigEnv({ DOCKER_AUTH_CONFIG: JSON.stringify({ credsStore: 'evil', credHelpers: { 'ghcr.io': 'evil' } }) });
    expect(selectCredentialSource('ghcr.io', cfg({}), env).kind).toBe('none');
  });

  it('malformed → one clear line naming the variable, not its content', () => {
    expect(() => parseDockerAuthConfigEnv({ DOCKER_AUTH_CONFIG: '{"auths": topsecret}' })).toThrow(
      /^malformed docker config DOCKER_AUTH_CONFIG environment variable: not valid JSON/,
    );
    try {
      parseDockerAuthConfigEnv({ DOCKER_AUTH_CONFIG: '{"auths": topsecret}' });
    } catch (err) {
      expect((err as Error).message).not.toContain('topsecret');
    }
  });
});

describe('loading config.json', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'envd-dockercfg-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('path: $DOCKER_CONFIG/config.json, else ~/.docker/config.json', () => {
    expect(dockerConfigPath({ DOCKER_CONFIG: '/x/y' })).toBe('/x/y/config.json');
    expect(dockerConfigPath({})).toBe(join(homedir(), '.docker', 'config.json'));
    expect(dockerConfigPath({ DOCKER_CONFIG: '' })).toBe(join(homedir(), '.docker', 'config.json'));
  });

  it('missing file → no credentials', async () => {
    const config = await loadDockerConfig(join(dir, 'nope', 'config.json'));
    expect(config.auths).toEqual({});
    expect(config.credHelpers).toEqual({});
    expect(config.credsStore).toBeUndefined();
  });

  it('empty file → no credentials', async () => {
    writeFileSync(join(dir, 'config.json'), '');
    expect((await loadDockerConfig(join(dir, 'config.json'))).auths).toEqual({});
  });

  it('reads auths, credsStore and credHelpers', async () => {
    const path = join(dir, 'config.json');
    writeFileSync(
      path,
      JSON.stringify({ auths: { 'ghcr.io': { auth: b64('u:p') } }, credsStore: 'desktop', credHelpers: { 'gcr.io': 'gcloud' }, currentContext: 'x', proxies: {} }),
    );
    const config = await loadDockerConfig(path);
    expect(config).toEqual({ auths: { 'ghcr.io': { auth: b64('u:p') } }, credsStore: 'desktop', credHelpers: { 'gcr.io': 'gcloud' }, source: path });
  });

  const malformed: [string, string, RegExp][] = [
    ['bad JSON', '{"auths": {"ghcr.io": {"auth": "c2VjcmV0"}}', /not valid JSON at line 1 column \d+$/],
    ['bad JSON with the secret in the quoted excerpt', '{"auths": hunter2}', /not valid JSON/],
    ['array at top level', '[]', /top level is not a JSON object$/],
    ['auths not an object', '{"auths": "x"}', /"auths" is not an object$/],
    ['auth not a string', '{"auths": {"ghcr.io": {"auth": 42}}}', /auths\["ghcr.io"\]\.auth is not a string$/],
    ['credsStore not a string', '{"credsStore": 1}', /"credsStore" is not a string$/],
    ['credHelpers value not a string', '{"credHelpers": {"gcr.io": true}}', /credHelpers\["gcr.io"\] is not a string$/],
  ];
  it.each(malformed)('malformed: %s → one line naming the file', async (_name, text, pattern) => {
    const path = join(dir, 'config.json');
    writeFileSync(path, text);
    const error = await loadDockerConfig(path).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(DockerConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(new RegExp(`^malformed docker config ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
    expect(message).toMatch(pattern);
    expect(message).not.toContain('\n');
    expect(message).not.toContain('c2VjcmV0');
    expect(message).not.toContain('hunter2');
  });

  it('unreadable path (a directory) → error naming the file', async () => {
    const path = join(dir, 'config.json');
    mkdirSync(path);
    await expect(loadDockerConfig(path)).rejects.toThrow(`cannot read docker config ${path}: EISDIR`);
  });
});
