// The job's private envd context, exercised with a STAND-IN `envd`
// (fixtures/fake-envd.mjs). The stand-in only records what WE pass to envd
// (argv, HOME, DOCKER_CONFIG, ENVD_ANALYTICS, BUILDKIT_CONNECTING_TIMEOUT);
// it says nothing about how the real envd behaves with those.
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import {
  ENVD_CONNECT_TIMEOUT_ENV,
  createEnvdContext,
  createEnvdHome,
  envdConnectTimeoutValue,
  envdContextCreateArgs,
  envdEnv,
  gatewaySocketPath,
  realDockerConfigDir,
  removeEnvdContext,
  type EnvdContextRecord,
} from '../../../src/envd/context.js';
import { MAX_SOCKET_PATH_BYTES } from '../../../src/envd/gateway/socket.js';
import { captureStdout, installFakeEnvd, readCalls, setEnv, sink, tempDir } from './helpers.js';

let work: string;
let runnerTemp: string;
let realHome: string;
let dockerConfig: string;
let envd: string;
let log: string;
let restoreEnv: () => void;
let out: ReturnType<typeof captureStdout>;

beforeEach(async () => {
  work = await tempDir('ctx');
  runnerTemp = path.join(work, 'runner-temp');
  realHome = path.join(work, 'real-home');
  dockerConfig = path.join(work, 'docker-config');
  for (const d of [runnerTemp, realHome, dockerConfig, path.join(work, 'bin')]) await fsp.mkdir(d);
  envd = await installFakeEnvd(path.join(work, 'bin'));
  log = path.join(work, 'calls.jsonl');
  restoreEnv = setEnv({
    RUNNER_TEMP: runnerTemp,
    HOME: realHome,
    DOCKER_CONFIG: dockerConfig,
    GITHUB_JOB: 'build envd',
    GITHUB_RUN_ID: '123456',
    GITHUB_RUN_ATTEMPT: '2',
    FAKE_ENVD_LOG: log,
    FAKE_ENVD_FAIL_ON: undefined,
    BUILDKIT_PROGRESS: 'rawjson',
  });
  out = captureStdout();
});

afterEach(async () => {
  out.restore();
  restoreEnv();
  await fsp.rm(work, { recursive: true, force: true });
});

/** What main does: the private home, then the context pointing at the gateway's socket in it. */
async function create(opts: { envdPath?: string; connectTimeoutMs?: number; onRecord?: (r: EnvdContextRecord) => void } = {}): Promise<EnvdContextRecord> {
  const rec = await createEnvdHome({ envdPath: opts.envdPath ?? envd, ...(opts.onRecord ? { onRecord: opts.onRecord } : {}) });
  await createEnvdContext(rec, { builderSocket: gatewaySocketPath(rec), connectTimeoutMs: opts.connectTimeoutMs ?? 5000, out: sink() });
  return rec;
}

describe('pure parts', () => {
  it('context create arguments: unix builder, the socket path without scheme, --use', () => {
    expect(envdContextCreateArgs('ctx1', '/tmp/envd-home-0a1b2c3d/gateway.sock')).toEqual([
      'context', 'create', '--name', 'ctx1', '--builder', 'unix', '--builder-address', '/tmp/envd-home-0a1b2c3d/gateway.sock', '--use',
    ]);
  });

  it.each([
    [15000, '15000ms'],
    [3000, '3000ms'],
    [1000, '3000ms'],
    [0, '3000ms'],
    [Number.NaN, '3000ms'],
    [12345.6, '12346ms'],
  ])('connect timeout %p -> %p (a Go duration)', (ms, expected) => {
    expect(envdConnectTimeoutValue(ms)).toBe(expected);
  });

  it('DOCKER_CONFIG is the real one: $DOCKER_CONFIG, else <real HOME>/.docker', () => {
    expect(realDockerConfigDir({ DOCKER_CONFIG: '/etc/docker-cfg', HOME: '/home/u' })).toBe('/etc/docker-cfg');
    expect(realDockerConfigDir({ HOME: '/home/u' })).toBe('/home/u/.docker');
    expect(realDockerConfigDir({ DOCKER_CONFIG: '', HOME: '/home/u' })).toBe('/home/u/.docker');
  });

  it('envd env overrides HOME, withholds the runner\'s service tokens, keeps the rest', () => {
    const env = envdEnv({ home: '/tmp/envd-home-x' }, 20000, {
      HOME: '/home/u',
      PATH: '/bin',
      HTTPS_PROXY: 'http://p',
      ACTIONS_RUNTIME_TOKEN: 'runner-secret',
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'oidc-secret',
      ACTIONS_ID_TOKEN_REQUEST_URL: 'https://oidc',
    });
    expect(env).toEqual({
      HOME: '/tmp/envd-home-x',
      PATH: '/bin',
      HTTPS_PROXY: 'http://p',
      DOCKER_CONFIG: '/home/u/.docker',
      ENVD_ANALYTICS: 'false',
      [ENVD_CONNECT_TIMEOUT_ENV]: '20000ms',
      BUILDKIT_PROGRESS: 'plain',
    });
  });
});

describe('createEnvdContext / removeEnvdContext with the stand-in envd', () => {
  it('creates a private 0700 home and runs context create with our env', async () => {
    let early: EnvdContextRecord | undefined;
    let existedEarly = true;
    const rec = await create({
      connectTimeoutMs: 15000,
      onRecord: (r) => {
        early = r;
        existedEarly = fs.existsSync(r.home);
      },
    });
    // The record is handed out before anything exists, for state saving.
    expect(early).toEqual(rec);
    expect(existedEarly).toBe(false);
    expect(JSON.parse(JSON.stringify(rec))).toEqual(rec);

    expect(rec.envdPath).toBe(envd);
    expect(rec.name).toMatch(/^erb-build-envd-123456-2-[0-9a-f]{8}$/);
    expect(path.dirname(rec.home)).toBe(runnerTemp);
    // Named by the random part only, so the socket path stays short.
    expect(path.basename(rec.home)).toBe(`envd-home-${rec.name.slice(-8)}`);
    expect(fs.statSync(rec.home).mode & 0o777).toBe(0o700);
    // The gateway's socket goes inside the private home.
    expect(gatewaySocketPath(rec)).toBe(path.join(rec.home, 'gateway.sock'));

    const calls = readCalls(log);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.argv).toEqual(envdContextCreateArgs(rec.name, gatewaySocketPath(rec)));
    expect(calls[0]?.argv.slice(4, 8)).toEqual(['--builder', 'unix', '--builder-address', path.join(rec.home, 'gateway.sock')]);
    expect(calls[0]?.env).toEqual({
      HOME: rec.home,
      DOCKER_CONFIG: dockerConfig,
      ENVD_ANALYTICS: 'false',
      BUILDKIT_CONNECTING_TIMEOUT: '15000ms',
      BUILDKIT_PROGRESS: 'plain',
    });
    // Nothing landed in the runner's real home.
    expect(fs.readdirSync(realHome)).toEqual([]);
  });

  it('points DOCKER_CONFIG at <real HOME>/.docker when DOCKER_CONFIG is unset', async () => {
    const restore = setEnv({ DOCKER_CONFIG: undefined });
    try {
      const rec = await create();
      expect(readCalls(log)[0]?.env['DOCKER_CONFIG']).toBe(path.join(realHome, '.docker'));
      expect(readCalls(log)[0]?.env['HOME']).toBe(rec.home);
    } finally {
      restore();
    }
  });

  it('two parallel contexts get different names and homes and do not see each other', async () => {
    const [a, b] = await Promise.all([create(), create()]);
    expect(a.name).not.toBe(b.name);
    expect(a.home).not.toBe(b.home);
    const seen = (r: EnvdContextRecord) => fs.readFileSync(path.join(r.home, '.config', 'envd', 'fake-contexts'), 'utf8');
    expect(seen(a)).toBe(`create ${a.name}\n`);
    expect(seen(b)).toBe(`create ${b.name}\n`);
    const calls = readCalls(log);
    expect(calls.find((c) => c.argv.includes(gatewaySocketPath(a)))?.env['HOME']).toBe(a.home);
    expect(calls.find((c) => c.argv.includes(gatewaySocketPath(b)))?.env['HOME']).toBe(b.home);

    // Removing one leaves the other alone.
    await removeEnvdContext(a);
    expect(fs.existsSync(a.home)).toBe(false);
    expect(seen(b)).toBe(`create ${b.name}\n`);
  });

  it('remove: selects default, removes the context, deletes the home; idempotent', async () => {
    const rec = await create();
    await removeEnvdContext(rec);
    expect(fs.existsSync(rec.home)).toBe(false);
    const calls = readCalls(log);
    expect(calls.map((c) => c.argv)).toEqual([
      envdContextCreateArgs(rec.name, gatewaySocketPath(rec)),
      ['context', 'use', '--name', 'default'],
      ['context', 'rm', '--name', rec.name],
    ]);
    expect(calls.slice(1).every((c) => c.env['HOME'] === rec.home && c.env['ENVD_ANALYTICS'] === 'false')).toBe(true);

    // Second call (e.g. post after main already cleaned up): nothing to do.
    await removeEnvdContext(rec);
    expect(readCalls(log)).toHaveLength(3);
  });

  it('remove works from post with partial or missing state, and never throws', async () => {
    await expect(removeEnvdContext(undefined)).resolves.toBeUndefined();
    await expect(removeEnvdContext({})).resolves.toBeUndefined();
    // Home created but envd never ran (main died right after mkdir).
    const home = path.join(runnerTemp, 'envd-home-erb-x-1-1-deadbeef');
    await fsp.mkdir(home, { mode: 0o700 });
    await removeEnvdContext({ name: 'erb-x-1-1-deadbeef', home, envdPath: envd });
    expect(fs.existsSync(home)).toBe(false);
    expect(readCalls(log)).toHaveLength(0);
    // envd binary gone (tool cache wiped): the directory still goes.
    const rec = await create();
    await removeEnvdContext({ ...rec, envdPath: path.join(work, 'no-such-envd') });
    expect(fs.existsSync(rec.home)).toBe(false);
  });

  it('refuses to delete a directory that is not one of our homes', async () => {
    await fsp.writeFile(path.join(realHome, 'keep'), 'x');
    await removeEnvdContext({ name: 'x', home: realHome, envdPath: envd });
    await removeEnvdContext({ name: 'x', home: `${runnerTemp}/envd-home-x/../..`, envdPath: envd });
    await removeEnvdContext({ name: 'x', home: 'envd-home-relative', envdPath: envd });
    expect(fs.existsSync(path.join(realHome, 'keep'))).toBe(true);
    expect(fs.existsSync(runnerTemp)).toBe(true);
    expect(out.text()).toContain('does not look like an envd home created by this action');
  });

  it('a failing context create throws with envd output and leaves nothing behind', async () => {
    const restore = setEnv({ FAKE_ENVD_FAIL_ON: 'context create', FAKE_ENVD_EXIT_CODE: '7' });
    let home = '';
    try {
      await expect(
        create({
          onRecord: (r) => {
            home = r.home;
          },
        }),
      ).rejects.toThrow(/envd context create failed \(exit code 7\); envd said:\n[^]*fake envd: simulated failure/);
    } finally {
      restore();
    }
    expect(home).not.toBe('');
    expect(fs.existsSync(home)).toBe(false);
    expect(fs.readdirSync(runnerTemp)).toEqual([]);
  });

  it('an envd that cannot be started gives a clear error', async () => {
    await expect(create({ envdPath: path.join(work, 'missing', 'envd') })).rejects.toThrow(
      /envd context create failed \(could not start: spawn .*ENOENT\)/,
    );
  });

  it('rejects a builder socket that is not an absolute path', async () => {
    const rec = await createEnvdHome({ envdPath: envd });
    await expect(createEnvdContext(rec, { builderSocket: 'gateway.sock', connectTimeoutMs: 5000 })).rejects.toThrow(
      'envd builder socket gateway.sock is not an absolute path',
    );
    expect(readCalls(log)).toHaveLength(0);
  });

  it('keeps the socket path short whatever the job is called', async () => {
    const restore = setEnv({ GITHUB_JOB: 'j'.repeat(200), GITHUB_RUN_ID: '9'.repeat(30) });
    try {
      const rec = await create();
      expect(rec.name.length).toBeGreaterThan(60);
      expect(Buffer.byteLength(gatewaySocketPath(rec))).toBe(runnerTemp.length + '/envd-home-01234567/gateway.sock'.length);
    } finally {
      restore();
    }
  });

  it('refuses a RUNNER_TEMP too long for the socket before saving state or creating anything', async () => {
    const longTemp = path.join(runnerTemp, 'x'.repeat(MAX_SOCKET_PATH_BYTES));
    const restore = setEnv({ RUNNER_TEMP: longTemp });
    let recorded = false;
    try {
      await expect(createEnvdHome({ envdPath: envd, onRecord: () => void (recorded = true) })).rejects.toThrow(
        new RegExp(`^RUNNER_TEMP \\(${longTemp}\\) is too long for envd's builder socket: .*gateway\\.sock is \\d+ bytes, unix sockets allow ${MAX_SOCKET_PATH_BYTES}$`),
      );
    } finally {
      restore();
    }
    expect(recorded).toBe(false);
    expect(fs.readdirSync(runnerTemp)).toEqual([]);
  });
});
