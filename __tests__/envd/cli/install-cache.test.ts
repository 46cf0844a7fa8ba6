// installEnvd with the Actions cache: a broken cache service must only warn,
// a hit must avoid the download, a tampered hit must not be run (whatever
// else the entry carries: whoever wrote the entry wrote all of it).
// @actions/cache is replaced by a mock (there is no cache service here); the
// served "binary" is the STAND-IN envd script, which tests only our side.
import { jest } from '@jest/globals';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
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
const opts = (url: string) => ({ downloadBaseUrl: url, apiBaseUrl: `${url}/api`, apiRetryDelaysMs: [], usePath: false, platform: 'linux' as const, arch: 'x64' });
const apiRoute = '/api/repos/tensorchord/envd/releases/tags/v1.3.4';

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
  srv = await startServer({
    '/v1.3.4/checksums.txt': send(`${sha}  ${asset}\n`),
    [`/v1.3.4/${asset}`]: send(body),
    // The trusted digest: GitHub's, from the releases API, not from the cache entry.
    [apiRoute]: send(JSON.stringify({ tag_name: 'v1.3.4', assets: [{ name: asset, digest: `sha256:${sha}` }] })),
  });
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
  // The key names version, OS and arch; the saved directory holds the binary.
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

it('saves what it downloaded and verified, and nothing else', async () => {
  restoreCache.mockResolvedValue(undefined);
  let saved: string[] = [];
  saveCache.mockImplementation(async (paths) => {
    saved = fs.readdirSync(paths[0] ?? '').sort();
    expect(fs.readFileSync(path.join(paths[0] ?? '', 'envd'))).toEqual(body);
    return 1;
  });
  await installEnvd('v1.3.4', opts(srv.url));
  expect(saved).toEqual(['envd']);
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
  // What runs is a private copy, not the file the cache restored.
  expect(path.dirname(bin)).not.toBe(path.join(runnerTemp, 'envd-remote-build', 'envd-v1.3.4-linux-x64'));
  expect(srv.hits.map((h) => h.path)).toEqual([apiRoute]);
  expect(saveCache).not.toHaveBeenCalled();
  expect(out.text()).toContain('sha256 verified');
});

it('never runs a tampered cache hit, even with a forged digest recorded next to it: one error line, then a download', async () => {
  const ranMarker = path.join(runnerTemp, 'tampered-ran');
  const tampered = Buffer.from(`#!/bin/sh\ntouch '${ranMarker}'\necho "envd: v1.3.4"\n`);
  const forged = createHash('sha256').update(tampered).digest('hex');
  restoreCache.mockImplementation(async (paths, key) => {
    const dir = paths[0] ?? '';
    await fsp.writeFile(path.join(dir, 'envd'), tampered, { mode: 0o755 });
    // The layout older versions saved: a digest file that agrees with the tampered binary.
    await fsp.writeFile(path.join(dir, 'envd.sha256'), `${forged}  ${asset}\n`);
    return key;
  });
  saveCache.mockResolvedValue(1);
  const bin = await installEnvd('v1.3.4', opts(srv.url));
  expect(fs.readFileSync(bin)).toEqual(body);
  execFileSync(bin, ['version', '--short']);
  expect(fs.existsSync(ranMarker)).toBe(false);
  const errors = out.text().split('\n').filter((l) => l.startsWith('::error::'));
  expect(errors).toEqual([
    `::error::envd v1.3.4 from the Actions cache (envd-remote-build-envd-bin-v1-v1.3.4-linux-x64) is not used: its sha256 is ${forged}, not the trusted ${sha}; downloading it again`,
  ]);
  expect(srv.hitsFor(`/v1.3.4/${asset}`)).toBe(1);
});
