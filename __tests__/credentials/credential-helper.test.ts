import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CredentialHelperError,
  CredentialHelperRunner,
  DEFAULT_HELPER_CACHE_TTL_MS,
  DockerCredentialProvider,
  createDockerCredentialProvider,
  emptyDockerConfig,
  parseDockerConfig,
  runCredentialHelper,
} from '../../src/session/auth/index.js';
import { TEST_HELPER_NAME, installTestHelper, type TestHelper } from './fake-helper.js';

// A killed process may linger as a zombie until its parent (or init) reaps it; that counts as dead.
const hasProc = existsSync('/proc/self/stat');
const isAlive = (pid: number): boolean => {
  if (hasProc) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return !/^\d+ \(.*\) [ZX]/s.test(stat);
    } catch {
      return false;
    }
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function rejection(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err as Error,
  );
}

describe('docker-credential-<name> get (real executable)', () => {
  let helper: TestHelper;
  beforeEach(() => {
    helper = installTestHelper();
  });
  afterEach(() => helper.cleanup());

  const run = (key: string, timeoutMs?: number) =>
    runCredentialHelper(TEST_HELPER_NAME, key, { env: helper.env, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });

  it.each([
    ['plain host', 'ghcr.io'],
    ['host with port', '127.0.0.1:5001'],
    ['Docker Hub key', 'https://index.docker.io/v1/'],
  ])('writes exactly the lookup key to stdin (%s)', async (_name, key) => {
    helper.answer(key, 'user', 'pw');
    await expect(run(key)).resolves.toEqual({ Username: 'user', Secret: 'pw' });
    // No newline, no extra bytes: the log holds one line per run.
    expect(helper.stdinLog()).toEqual([key]);
  });

  const answers: [string, string, string, { Username: string; Secret: string } | undefined][] = [
    ['username and secret', 'alice', 's3:cr3t', { Username: 'alice', Secret: 's3:cr3t' }],
    ['<token> → identity token with empty username', '<token>', 'refresh-123', { Username: '', Secret: 'refresh-123' }],
    ['empty answer → no credentials', '', '', undefined],
  ];
  it.each(answers)('%s', async (_name, username, secret, expected) => {
    helper.answer('ghcr.io', username, secret);
    await expect(run('ghcr.io')).resolves.toEqual(expected);
  });

  it('"credentials not found" exit → no credentials, not an error', async () => {
    await expect(run('nothing.example')).resolves.toBeUndefined();
    expect(helper.stdinLog()).toEqual(['nothing.example']);
  });

  it('"credentials not found" on stderr counts too', async () => {
    helper.fail('ghcr.io', 'error: credentials not found\n');
    await expect(run('ghcr.io')).resolves.toBeUndefined();
  });

  it('other failures name the helper and show its first error line', async () => {
    helper.fail('ghcr.io', 'keychain is locked\nmore detail\n');
    const err = await rejection(run('ghcr.io'));
    expect(err).toBeInstanceOf(CredentialHelperError);
    expect(err.message).toBe('credential helper docker-credential-testhelper exited with code 3 (looking up ghcr.io): keychain is locked');
  });

  it('failure output that looks like a credentials document is not quoted', async () => {
    helper.failOnStdout('ghcr.io', '{"Username":"alice","Secret":"do-not-log-me"}');
    const err = await rejection(run('ghcr.io'));
    expect(err.message).toMatch(/exited with code 3/);
    expect(err.message).not.toContain('do-not-log-me');
  });

  it('invalid JSON on success is reported without quoting the output', async () => {
    helper.raw('ghcr.io', 'alice:do-not-log-me');
    const err = await rejection(run('ghcr.io'));
    expect(err.message).toBe('credential helper docker-credential-testhelper printed invalid JSON (looking up ghcr.io)');
  });

  it('a missing helper is a clear error', async () => {
    const err = await rejection(runCredentialHelper('does-not-exist-anywhere', 'ghcr.io', { env: helper.env }));
    expect(err).toBeInstanceOf(CredentialHelperError);
    expect(err.message).toBe('credential helper docker-credential-does-not-exist-anywhere not found on PATH');
  });

  it.each(['../evil', 'a/b', ''])('rejects helper name %j', async (name) => {
    await expect(runCredentialHelper(name, 'ghcr.io', { env: helper.env })).rejects.toThrow(/invalid credential helper name/);
  });

  it('a hanging helper is killed (with its children) after the timeout', async () => {
    helper.hang('ghcr.io');
    const started = Date.now();
    const err = await rejection(run('ghcr.io', 500));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(err.message).toBe('docker-credential-testhelper did not answer within 500 ms (looking up ghcr.io); killed it');
    const pids = helper.hangPids('ghcr.io');
    expect(pids).toHaveLength(2);
    // SIGKILL to the process group is asynchronous; give the kernel a moment.
    for (let i = 0; i < 50 && pids.some(isAlive); i++) await new Promise((r) => setTimeout(r, 20));
    expect(pids.filter(isAlive)).toEqual([]);
  });

  it('an aborted lookup kills the helper', async () => {
    helper.hang('ghcr.io');
    const controller = new AbortController();
    const p = runCredentialHelper(TEST_HELPER_NAME, 'ghcr.io', { env: helper.env, signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    await expect(p).rejects.toThrow('docker-credential-testhelper: lookup for ghcr.io cancelled');
  });
});

describe('CredentialHelperRunner: serialisation and cache', () => {
  let helper: TestHelper;
  beforeEach(() => {
    helper = installTestHelper();
  });
  afterEach(() => helper.cleanup());

  it('runs helpers one at a time', async () => {
    const runner = new CredentialHelperRunner({ env: helper.env });
    const hosts = ['a.example', 'b.example', 'c.example'];
    for (const h of hosts) {
      helper.answer(h, `u-${h}`, `p-${h}`);
      helper.delay(h, 0.2);
    }
    const results = await Promise.all(hosts.map((h) => runner.get(TEST_HELPER_NAME, h)));
    expect(results).toEqual(hosts.map((h) => ({ Username: `u-${h}`, Secret: `p-${h}` })));
    const events = helper.events();
    expect(events).toHaveLength(6);
    // Every start is immediately followed by its own end: no overlap.
    for (let i = 0; i < events.length; i += 2) {
      expect(events[i]).toMatch(/^start /);
      expect(events[i + 1]).toBe(events[i]!.replace(/^start/, 'end'));
    }
  });

  it('concurrent requests for one host run the helper once', async () => {
    const runner = new CredentialHelperRunner({ env: helper.env });
    helper.answer('ghcr.io', 'u', 'p');
    helper.delay('ghcr.io', 0.2);
    const results = await Promise.all([1, 2, 3].map(() => runner.get(TEST_HELPER_NAME, 'ghcr.io')));
    expect(results).toEqual([1, 2, 3].map(() => ({ Username: 'u', Secret: 'p' })));
    expect(helper.stdinLog()).toEqual(['ghcr.io']);
  });

  it('caches per host for 4 min 50 s, including "not found"', async () => {
    expect(DEFAULT_HELPER_CACHE_TTL_MS).toBe(290_000);
    let now = 1_000_000;
    const runner = new CredentialHelperRunner({ env: helper.env, now: () => now });
    helper.answer('ghcr.io', 'u', 'p1');
    await expect(runner.get(TEST_HELPER_NAME, 'ghcr.io')).resolves.toEqual({ Username: 'u', Secret: 'p1' });
    await expect(runner.get(TEST_HELPER_NAME, 'missing.example')).resolves.toBeUndefined();
    helper.answer('ghcr.io', 'u', 'p2');
    now += 290_000 - 1;
    await expect(runner.get(TEST_HELPER_NAME, 'ghcr.io')).resolves.toEqual({ Username: 'u', Secret: 'p1' });
    await expect(runner.get(TEST_HELPER_NAME, 'missing.example')).resolves.toBeUndefined();
    expect(helper.stdinLog()).toEqual(['ghcr.io', 'missing.example']);
    now += 1;
    await expect(runner.get(TEST_HELPER_NAME, 'ghcr.io')).resolves.toEqual({ Username: 'u', Secret: 'p2' });
    expect(helper.stdinLog()).toEqual(['ghcr.io', 'missing.example', 'ghcr.io']);
  });

  it('does not cache errors, and a timeout does not block the queue', async () => {
    const runner = new CredentialHelperRunner({ env: helper.env, timeoutMs: 400 });
    helper.hang('slow.example');
    helper.answer('ghcr.io', 'u', 'p');
    const [slow, fast] = await Promise.allSettled([runner.get(TEST_HELPER_NAME, 'slow.example'), runner.get(TEST_HELPER_NAME, 'ghcr.io')]);
    expect(slow.status).toBe('rejected');
    expect(fast).toEqual({ status: 'fulfilled', value: { Username: 'u', Secret: 'p' } });
    // The failure was not cached: the helper runs again.
    await expect(runner.get(TEST_HELPER_NAME, 'slow.example')).rejects.toThrow(/did not answer within 400 ms/);
    expect(helper.stdinLog()).toEqual(['slow.example', 'ghcr.io', 'slow.example']);
  });
});

describe('DockerCredentialProvider with a real helper', () => {
  let helper: TestHelper;
  let dir: string;
  beforeEach(() => {
    helper = installTestHelper();
    dir = mkdtempSync(join(tmpdir(), 'envd-provider-'));
  });
  afterEach(() => {
    helper.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends the Hub config key to the helper for registry-1.docker.io', async () => {
    const config = parseDockerConfig(JSON.stringify({ credsStore: TEST_HELPER_NAME }), 'config.json');
    const provider = new DockerCredentialProvider(config, undefined, { env: helper.env });
    helper.answer('https://index.docker.io/v1/', 'hubuser', '<hub-pw>');
    await expect(provider.credentials('registry-1.docker.io')).resolves.toEqual({ Username: 'hubuser', Secret: '<hub-pw>' });
    expect(helper.stdinLog()).toEqual(['https://index.docker.io/v1/']);
  });

  it('credHelpers beats credsStore beats auths, end to end', async () => {
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({
        credHelpers: { 'ghcr.io': TEST_HELPER_NAME },
        credsStore: 'not-installed-store',
        auths: { 'ghcr.io': { auth: Buffer.from('file:pw').toString('base64') } },
      }),
    );
    const provider = await createDockerCredentialProvider({ env: { ...helper.env, DOCKER_CONFIG: dir } });
    helper.answer('ghcr.io', 'helper-user', 'helper-pw');
    await expect(provider.credentials('ghcr.io')).resolves.toEqual({ Username: 'helper-user', Secret: 'helper-pw' });
    // Everything else goes to credsStore, whose program is missing: a clear error, not silent anonymity.
    await expect(provider.credentials('quay.io')).rejects.toThrow('credential helper docker-credential-not-installed-store not found on PATH');
  });

  it('reports each distinct secret once through onSecret, with its Basic form', async () => {
    const secrets: string[] = [];
    const config = parseDockerConfig(JSON.stringify({ credsStore: TEST_HELPER_NAME }), 'config.json');
    const provider = new DockerCredentialProvider(config, undefined, { env: helper.env, onSecret: (s) => secrets.push(s) });
    helper.answer('ghcr.io', 'alice', 'pw-1');
    helper.answer('quay.io', '<token>', 'tok-2');
    await provider.credentials('ghcr.io');
    await provider.credentials('ghcr.io');
    await provider.credentials('quay.io');
    await provider.credentials('nothing.example');
    expect(secrets).toEqual(['pw-1', Buffer.from('alice:pw-1').toString('base64'), 'tok-2']);
  });

  it('no config at all → empty credentials without running anything', async () => {
    const provider = new DockerCredentialProvider(emptyDockerConfig('none'), undefined, { env: helper.env });
    await expect(provider.credentials('ghcr.io')).resolves.toEqual({ Username: '', Secret: '' });
    expect(helper.stdinLog()).toEqual([]);
  });
});
