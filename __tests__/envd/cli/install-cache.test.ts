// installEnvd with the Actions cache: a broken cache service must only warn,
// a hit must avoid the download, a corrupted hit must not be run.
// @actions/cache is replaced by a mock (there is no cache service here); the
// served "binary" is the STAND-IN envd script, which tests only our side.
import { jest } from '@jest/globals';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { FIXTURE, captureStdout, send, setEnv, startServer, tempDir } from './helpers.js';

class ReserveCacheError extends Error {}
const restoreCache = jest.fn<(paths: string[], key: string) => Promise<string | undefined>>();
const saveCache = jest.fn<(paths: string[], key: string) => Promise<number>>();
jest.unstable_mockModule('@actions/cache', () => ({
  isFeatureAvailable: () => true,
  restoreCache,
  saveCache,
  ReserveCacheError,
}));
const { installEnvd } = await import('../../../src/envd/install.js');

const body = fs.readFileSync(FIXTURE);
const sha = createHash('sha256').update(body).digest('hex');
const asset = 'envd_1.3.4_linux_amd64';
const opts = (url: string) => ({ downloadBaseUrl: url, usePath: false, platform: 'linux' as const, arch: 'x64' });

let restoreEnv: () => void;
let out: ReturnType<typeof captureStdout>;
let runnerTemp: string;
let toolCache: string;
let srv: Awaited<ReturnType<typeof startServer>>;

beforeEach(async () => {
  runnerTemp = await tempDir('runner-temp');
  toolCache = await tempDir('tool-cache');
  restoreEnv = setEnv({ RUNNER_TEMP: runnerTemp, RUNNER_TOOL_CACHE: toolCache });
  restoreCache.mockReset();
  saveCache.mockReset();
  srv = await startServer({ '/v1.3.4/checksums.txt': send(`${sha}  ${asset}\n`), [`/v1.3.4/${asset}`]: send(body) });
  out = captureStdout();
});

afterEach(async () => {
  out.restore();
  restoreEnv();
  await srv.close();
  await fsp.rm(runnerTemp, { recursive: true, force: true });
  await fsp.rm(toolCache, { recursive: true, force: true });
});

it('only warns when restore and save fail, and still installs', async () => {
  restoreCache.mockRejectedValue(new Error('Cache service responded with 503'));
  saveCache.mockRejectedValue(new Error('Cache service responded with 503'));
  const bin = await installEnvd('v1.3.4', opts(srv.url));
  expect(fs.readFileSync(bin)).toEqual(body);
  expect(out.text()).toMatch(/::warning::Could not restore envd from the Actions cache, downloading instead: Cache service responded with 503/);
  expect(out.text()).toMatch(/::warning::Could not save envd to the Actions cache \(the build goes on\)/);
  // The key names version, OS and arch; the saved directory holds the binary and its digest.
  const [paths, key] = saveCache.mock.calls[0] ?? [];
  expect(key).toBe('envd-remote-build-envd-bin-v1-v1.3.4-linux-x64');
  expect(paths).toEqual([path.join(runnerTemp, 'envd-remote-build', 'envd-v1.3.4-linux-x64')]);
  expect(restoreCache.mock.calls[0]).toEqual([paths, key]);
});

it('treats a concurrent save by another job as normal', async () => {
  restoreCache.mockResolvedValue(undefined);
  saveCache.mockRejectedValue(new ReserveCacheError('another job is creating this cache'));
  await installEnvd('v1.3.4', opts(srv.url));
  expect(out.text()).not.toContain('::warning::');
});

it('saves what it downloaded, with the verified digest next to the binary', async () => {
  restoreCache.mockResolvedValue(undefined);
  let saved: string[] = [];
  saveCache.mockImplementation(async (paths) => {
    saved = fs.readdirSync(paths[0] ?? '').sort();
    expect(fs.readFileSync(path.join(paths[0] ?? '', 'envd.sha256'), 'utf8')).toBe(`${sha}  ${asset}\n`);
    return 1;
  });
  await installEnvd('v1.3.4', opts(srv.url));
  expect(saved).toEqual(['envd', 'envd.sha256']);
});

it('uses a cache hit without downloading', async () => {
  restoreCache.mockImplementation(async (paths, key) => {
    const dir = paths[0] ?? '';
    await fsp.writeFile(path.join(dir, 'envd'), body);
    await fsp.writeFile(path.join(dir, 'envd.sha256'), `${sha}  ${asset}\n`);
    return key;
  });
  const bin = await installEnvd('v1.3.4', opts(srv.url));
  expect(fs.readFileSync(bin)).toEqual(body);
  expect(fs.statSync(bin).mode & 0o777).toBe(0o755);
  expect(srv.hits).toHaveLength(0);
  expect(saveCache).not.toHaveBeenCalled();
});

it('downloads instead of running a cache hit that fails its recorded digest', async () => {
  restoreCache.mockImplementation(async (paths, key) => {
    const dir = paths[0] ?? '';
    await fsp.writeFile(path.join(dir, 'envd'), Buffer.concat([body, Buffer.from('tampered')]));
    await fsp.writeFile(path.join(dir, 'envd.sha256'), `${sha}  ${asset}\n`);
    return key;
  });
  saveCache.mockResolvedValue(1);
  const bin = await installEnvd('v1.3.4', opts(srv.url));
  expect(fs.readFileSync(bin)).toEqual(body);
  expect(out.text()).toContain('does not match its recorded sha256; downloading instead');
  expect(srv.hitsFor(`/v1.3.4/${asset}`)).toBe(1);
});
