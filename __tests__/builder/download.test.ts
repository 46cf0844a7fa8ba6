// Download, verify, extract and cache against a real HTTP server on 127.0.0.1
// serving a real tarball; no network beyond loopback.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  DEFAULT_BUILDKIT_VERSION,
  DEFAULT_ROOTLESSKIT_VERSION,
  buildkitAsset,
  buildkitdOnPath,
  downloadVerified,
  fetchRelease,
  installBuildkit,
  installRootlesskit,
  normalizeTag,
  parseBuildkitdVersion,
  pinnedSha256,
  rootlesskitAsset,
  runnerArch,
  toolCachePaths,
  type ActionsCacheLike,
  type Logger,
} from '../../src/builder/local/download.js';

const TAG = 'v9.9.9';
const arch = runnerArch();

let work: string;
let archive: Buffer;
let archiveSha: string;
let rkArchive: Buffer;
let server: http.Server;
let base: string;
/** Per-path queue of statuses to answer before serving normally (500, 404, 'reset'). */
const failures = new Map<string, (number | 'reset')[]>();
const hits: string[] = [];
/** What the fake releases API reports as the asset digest. */
let apiDigest: string | undefined;

function quietLog(): Logger & { lines: string[]; warnings: string[]; errors: string[] } {
  const lines: string[] = [];
  const warnings: string[] = [];
  const errors: string[] = [];
  return { lines, warnings, errors, info: (m) => lines.push(m), warning: (m) => warnings.push(m), error: (m) => errors.push(m), debug: () => undefined };
}

async function makeTarball(dir: string, files: Record<string, string>, top: string): Promise<Buffer> {
  const src = path.join(dir, 'src');
  await fs.rm(src, { recursive: true, force: true });
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(src, name);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, content, { mode: 0o755 });
  }
  const out = path.join(dir, 'out.tar.gz');
  execFileSync('tar', ['czf', out, '-C', src, top]);
  return readFileSync(out);
}

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'bk-download-'));
  process.env['RUNNER_TEMP'] = path.join(work, 'temp');
  process.env['RUNNER_TOOL_CACHE'] = path.join(work, 'toolcache');
  await fs.mkdir(process.env['RUNNER_TEMP'], { recursive: true });
  // tool-cache sleeps 10-20 s between attempts unless these test hooks say otherwise.
  (globalThis as Record<string, unknown>)['TEST_DOWNLOAD_TOOL_RETRY_MIN_SECONDS'] = 0;
  (globalThis as Record<string, unknown>)['TEST_DOWNLOAD_TOOL_RETRY_MAX_SECONDS'] = 0;

  archive = await makeTarball(
    work,
    {
      'bin/buildkitd': `#!/bin/sh\necho "buildkitd github.com/moby/buildkit ${TAG} 0123abcd"\n`,
      'bin/buildctl': '#!/bin/sh\necho buildctl\n',
      'bin/buildkit-runc': '#!/bin/sh\necho runc\n',
    },
    'bin',
  );
  archiveSha = createHash('sha256').update(archive).digest('hex');
  rkArchive = await makeTarball(work, { rootlesskit: '#!/bin/sh\necho rootlesskit\n', rootlessctl: '#!/bin/sh\n' }, '.');

  server = http.createServer((req, res) => {
    const url = req.url ?? '';
    hits.push(url);
    const queue = failures.get(url);
    const next = queue?.shift();
    if (next === 'reset') {
      req.socket.destroy();
      return;
    }
    if (typeof next === 'number') {
      res.writeHead(next).end('failing on purpose');
      return;
    }
    const bk = buildkitAsset(TAG, `${base}/dl`, arch);
    if (url === new URL(bk.url).pathname) {
      res.writeHead(200, { 'content-type': 'application/gzip' }).end(archive);
    } else if (url === new URL(rootlesskitAsset('v7.7.7', `${base}/rk`, arch).url).pathname) {
      res.writeHead(200).end(rkArchive);
    } else if (url === `/api/repos/moby/buildkit/releases/tags/${TAG}` || url === '/api/repos/moby/buildkit/releases/latest') {
      const assets = [{ name: bk.name, ...(apiDigest ? { digest: apiDigest } : {}) }, { name: 'other.tar.gz', digest: 'sha256:00' }];
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ tag_name: TAG, assets }));
    } else if (url === '/api/repos/rootless-containers/rootlesskit/releases/tags/v7.7.7') {
      const sha = createHash('sha256').update(rkArchive).digest('hex');
      res.writeHead(200).end(JSON.stringify({ tag_name: 'v7.7.7', assets: [{ name: `rootlesskit-${arch.rootlesskit}.tar.gz`, digest: `sha256:${sha}` }] }));
    } else {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  await fs.rm(work, { recursive: true, force: true });
});

beforeEach(async () => {
  failures.clear();
  hits.length = 0;
  apiDigest = `sha256:${archiveSha}`;
  // Each test starts with an empty tool cache and temp dir.
  await fs.rm(process.env['RUNNER_TOOL_CACHE']!, { recursive: true, force: true });
  await fs.rm(process.env['RUNNER_TEMP']!, { recursive: true, force: true });
  await fs.mkdir(process.env['RUNNER_TEMP']!, { recursive: true });
});

const tempFiles = async () => fs.readdir(process.env['RUNNER_TEMP']!);
const common = () => ({ apiBaseUrl: `${base}/api`, apiRetryDelaysMs: [10, 10], actionsCache: null, searchPath: [] as string[] });

describe('asset names and pins', () => {
  it('names BuildKit and RootlessKit assets per architecture', () => {
    expect(buildkitAsset('v0.24.0', 'https://x/y/', runnerArch('x64'))).toEqual({
      tool: 'buildkit',
      tag: 'v0.24.0',
      name: 'buildkit-v0.24.0.linux-amd64.tar.gz',
      url: 'https://x/y/v0.24.0/buildkit-v0.24.0.linux-amd64.tar.gz',
    });
    expect(buildkitAsset('v0.24.0', undefined, runnerArch('arm64')).url).toBe(
      'https://github.com/moby/buildkit/releases/download/v0.24.0/buildkit-v0.24.0.linux-arm64.tar.gz',
    );
    expect(rootlesskitAsset('v2.3.5', undefined, runnerArch('x64')).url).toBe(
      'https://github.com/rootless-containers/rootlesskit/releases/download/v2.3.5/rootlesskit-x86_64.tar.gz',
    );
    expect(rootlesskitAsset('v2.3.5', undefined, runnerArch('arm64')).name).toBe('rootlesskit-aarch64.tar.gz');
    expect(() => runnerArch('ia32')).toThrow('x64 or arm64');
  });

  it('pins digests for both architectures of the default versions', () => {
    for (const a of ['x64', 'arm64']) {
      expect(pinnedSha256(buildkitAsset(DEFAULT_BUILDKIT_VERSION, undefined, runnerArch(a)))).toMatch(/^[0-9a-f]{64}$/);
      expect(pinnedSha256(rootlesskitAsset(DEFAULT_ROOTLESSKIT_VERSION, undefined, runnerArch(a)))).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(pinnedSha256(buildkitAsset('v0.1.0'))).toBeUndefined();
  });

  it('normalizes versions and parses buildkitd --version', () => {
    expect(normalizeTag('0.24.0')).toBe('v0.24.0');
    expect(normalizeTag(' v0.24.0 ')).toBe('v0.24.0');
    expect(normalizeTag('latest')).toBe('latest');
    expect(normalizeTag('')).toBe('latest');
    expect(parseBuildkitdVersion('buildkitd github.com/moby/buildkit v0.11.6 2951a28cd7085eb18979b1f710678623d94ed578\n')).toBe('v0.11.6');
    expect(parseBuildkitdVersion('buildkitd github.com/moby/buildkit v0.13.0-rc1 abc')).toBe('v0.13.0-rc1');
    expect(parseBuildkitdVersion('something else')).toBeUndefined();
  });
});

describe('downloadVerified', () => {
  it('accepts a matching sha256', async () => {
    const file = await downloadVerified(buildkitAsset(TAG, `${base}/dl`, arch), archiveSha, quietLog());
    expect(createHash('sha256').update(await fs.readFile(file)).digest('hex')).toBe(archiveSha);
  });

  it('rejects a mismatching sha256 and deletes the file', async () => {
    const wrong = 'f'.repeat(64);
    const asset = buildkitAsset(TAG, `${base}/dl`, arch);
    await expect(downloadVerified(asset, wrong, quietLog())).rejects.toThrow(
      `sha256 mismatch for ${asset.name} from ${asset.url}: expected ${wrong}, got ${archiveSha}; the download was deleted`,
    );
    expect(await tempFiles()).toEqual([]);
  });

  it('turns a 404 into one line naming the asset and URL, without retrying', async () => {
    const asset = buildkitAsset('v0.0.404', `${base}/dl`, arch);
    const err = await downloadVerified(asset, null, quietLog()).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe(`buildkit v0.0.404: ${asset.name} not found at ${asset.url} (HTTP 404); check the version and the download URL`);
    expect(hits.filter((h) => h.includes('v0.0.404'))).toHaveLength(1);
  });

  it('retries a transient 500 and then succeeds (tool-cache retry)', async () => {
    const asset = buildkitAsset(TAG, `${base}/dl`, arch);
    failures.set(new URL(asset.url).pathname, [500]);
    const file = await downloadVerified(asset, archiveSha, quietLog());
    expect(await fs.stat(file)).toBeTruthy();
    expect(hits.filter((h) => h.endsWith(asset.name))).toHaveLength(2);
  });

  it('retries a dropped connection and then succeeds', async () => {
    const asset = buildkitAsset(TAG, `${base}/dl`, arch);
    failures.set(new URL(asset.url).pathname, ['reset', 'reset']);
    await downloadVerified(asset, archiveSha, quietLog());
    expect(hits.filter((h) => h.endsWith(asset.name))).toHaveLength(3);
  });

  it('gives up after three failing attempts with the status in the message', async () => {
    const asset = buildkitAsset(TAG, `${base}/dl`, arch);
    failures.set(new URL(asset.url).pathname, [503, 503, 503]);
    await expect(downloadVerified(asset, archiveSha, quietLog())).rejects.toThrow(`downloading ${asset.url} failed (HTTP 503)`);
    expect(hits.filter((h) => h.endsWith(asset.name))).toHaveLength(3);
  });

  it('refuses a plain-http URL to anything but loopback, before connecting', async () => {
    const asset = buildkitAsset(TAG, 'http://mirror.invalid/bk', arch);
    await expect(downloadVerified(asset, archiveSha, quietLog())).rejects.toThrow(
      `buildkit download URL: refusing ${asset.url}; downloads must use https`,
    );
  });
});

describe('installBuildkit', () => {
  /** The private directories left in RUNNER_TEMP (the unpacked binaries live there until the job ends). */
  const privateDirs = async () => (await tempFiles()).filter((f) => f.startsWith('envd-remote-build-'));
  const versionOf = (binDir: string) => execFileSync(path.join(binDir, 'buildkitd'), ['--version']).toString();

  it('downloads, verifies with the API digest, unpacks privately and keeps the archive; second call re-verifies the tool cache copy', async () => {
    const log = quietLog();
    const first = await installBuildkit({ ...common(), version: TAG, downloadUrl: `${base}/dl`, log });
    expect(first).toMatchObject({ tag: TAG, source: 'download' });
    expect(first.binDir.startsWith(process.env['RUNNER_TEMP']!)).toBe(true);
    expect((await fs.stat(path.dirname(first.binDir))).mode & 0o777).toBe(0o700);
    expect(versionOf(first.binDir)).toContain(TAG);
    expect(log.warnings).toEqual([]);
    // Only the unpacked binaries stay behind; the download directory is gone.
    expect(await privateDirs()).toHaveLength(1);
    const bk = buildkitAsset(TAG, `${base}/dl`, arch);
    expect(await fs.readFile(path.join(toolCachePaths('buildkit', TAG, arch.node)[0], bk.name))).toEqual(archive);

    hits.length = 0;
    const second = await installBuildkit({ ...common(), version: '9.9.9', downloadUrl: `${base}/dl`, log });
    expect(second).toMatchObject({ tag: TAG, source: 'tool-cache' });
    expect(second.binDir).not.toBe(first.binDir);
    expect(versionOf(second.binDir)).toContain(TAG);
    expect(hits.filter((h) => h.startsWith('/dl/'))).toEqual([]);
    expect(log.errors).toEqual([]);
  });

  it('fails with a clear error and leaves nothing behind when the API digest does not match', async () => {
    apiDigest = `sha256:${'0'.repeat(64)}`;
    await expect(installBuildkit({ ...common(), version: TAG, downloadUrl: `${base}/dl`, log: quietLog() })).rejects.toThrow(/^sha256 mismatch for buildkit-v9\.9\.9/);
    expect(await tempFiles()).toEqual([]);
    await expect(fs.access(toolCachePaths('buildkit', TAG, arch.node)[0])).rejects.toThrow();
  });

  it('resolves latest through the releases API', async () => {
    const got = await installBuildkit({ ...common(), version: 'latest', downloadUrl: `${base}/dl`, log: quietLog() });
    expect(got.tag).toBe(TAG);
    expect(hits).toContain('/api/repos/moby/buildkit/releases/latest');
    // The digest came from the same response: no second API call.
    expect(hits.filter((h) => h.startsWith('/api/'))).toHaveLength(1);
  });

  it('reports a missing release asset in one line', async () => {
    await expect(installBuildkit({ ...common(), version: 'v0.0.1', downloadUrl: `${base}/dl`, log: quietLog(), allowUnverified: true })).rejects.toThrow(
      /^buildkit v0\.0\.1: buildkit-v0\.0\.1\.linux-\w+\.tar\.gz not found at .* \(HTTP 404\); check the version and the download URL$/,
    );
  });

  it('uses buildkitd from PATH when it reports the requested version', async () => {
    const dir = path.join(work, 'pathbin');
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'buildkitd'), '#!/bin/sh\necho "buildkitd github.com/moby/buildkit v0.11.6 2951a28"\n', { mode: 0o755 });
    expect(await buildkitdOnPath([dir])).toEqual({ path: path.join(dir, 'buildkitd'), tag: 'v0.11.6' });
    const got = await installBuildkit({ ...common(), version: '0.11.6', searchPath: [dir], log: quietLog() });
    expect(got).toEqual({ binDir: dir, tag: 'v0.11.6', source: 'path' });
    expect(hits).toEqual([]);
  });

  it('ignores a buildkitd on PATH at another version', async () => {
    const dir = path.join(work, 'pathbin-old');
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'buildkitd'), '#!/bin/sh\necho "buildkitd github.com/moby/buildkit v0.10.0 x"\n', { mode: 0o755 });
    const got = await installBuildkit({ ...common(), version: TAG, downloadUrl: `${base}/dl`, searchPath: [dir], log: quietLog() });
    expect(got.source).toBe('download');
  });

  it('retries the releases API on 502', async () => {
    failures.set(`/api/repos/moby/buildkit/releases/tags/${TAG}`, [502]);
    const release = await fetchRelease('buildkit', TAG, common());
    expect(release.tag).toBe(TAG);
    expect(hits.filter((h) => h.startsWith('/api/'))).toHaveLength(2);
  });

  it('restores from and saves to the Actions cache, and only warns when it fails', async () => {
    const calls: string[] = [];
    const failing: ActionsCacheLike = {
      isFeatureAvailable: () => true,
      restoreCache: async (paths, key) => {
        calls.push(`restore ${key} ${paths.length}`);
        throw new Error('cache service down');
      },
      saveCache: async (paths, key) => {
        calls.push(`save ${key} ${paths.join(',')}`);
        throw new Error('reserve failed');
      },
    };
    const log = quietLog();
    const got = await installBuildkit({ ...common(), actionsCache: failing, version: TAG, downloadUrl: `${base}/dl`, log });
    expect(got.source).toBe('download');
    const [dir, marker] = toolCachePaths('buildkit', TAG, arch.node);
    const key = `envd-remote-build-buildkit-archive-${TAG}-linux-${arch.node}-${archiveSha.slice(0, 16)}`;
    expect(calls).toEqual([`restore ${key} 2`, `save ${key} ${dir},${marker}`]);
    expect(log.warnings).toEqual([
      'Could not restore buildkit from the Actions cache (downloading instead): cache service down',
      'Could not save buildkit to the Actions cache: reserve failed',
    ]);
  });

  /** A stand-in for @actions/cache whose restore writes `files` into the tool-cache paths. */
  function restoringCache(files: Record<string, Buffer | string>): ActionsCacheLike & { saved: string[] } {
    const saved: string[] = [];
    return {
      saved,
      isFeatureAvailable: () => true,
      restoreCache: async () => {
        const [dir, marker] = toolCachePaths('buildkit', TAG, arch.node);
        await fs.mkdir(dir, { recursive: true });
        for (const [name, content] of Object.entries(files)) await fs.writeFile(path.join(dir, name), content, { mode: 0o755 });
        await fs.writeFile(marker, '');
        return 'hit';
      },
      saveCache: async (_paths, key) => {
        saved.push(key);
        return 1;
      },
    };
  }

  it('uses a restored Actions cache entry after checking its archive, without downloading', async () => {
    const bk = buildkitAsset(TAG, `${base}/dl`, arch);
    const restoring = restoringCache({ [bk.name]: archive });
    const log = quietLog();
    const got = await installBuildkit({ ...common(), actionsCache: restoring, version: TAG, downloadUrl: `${base}/dl`, log });
    expect(got).toMatchObject({ tag: TAG, source: 'actions-cache' });
    expect(versionOf(got.binDir)).toContain(TAG);
    expect(hits.filter((h) => h.startsWith('/dl/'))).toEqual([]);
    expect(restoring.saved).toEqual([]);
    expect(log.errors).toEqual([]);
  });

  describe('a poisoned cache is never run', () => {
    let tampered: Buffer;
    let ranMarker: string;

    beforeAll(async () => {
      // What another workflow could plant: a look-alike archive (and, for the
      // layout older versions cached, the unpacked binary) that leaves a mark when run.
      ranMarker = path.join(work, 'tampered-ran');
      const evil = `#!/bin/sh\ntouch ${ranMarker}\necho "buildkitd github.com/moby/buildkit ${TAG} evil"\n`;
      tampered = await makeTarball(path.join(work, 'evil'), { 'bin/buildkitd': evil }, 'bin');
      await fs.writeFile(path.join(work, 'evil-buildkitd'), evil);
    });
    beforeEach(async () => {
      await fs.rm(ranMarker, { force: true });
    });

    const poison = async () => ({ [buildkitAsset(TAG, `${base}/dl`, arch).name]: tampered, buildkitd: await fs.readFile(path.join(work, 'evil-buildkitd')) });
    const expectGenuine = async (binDir: string) => {
      expect(versionOf(binDir)).toBe(`buildkitd github.com/moby/buildkit ${TAG} 0123abcd\n`);
      await expect(fs.access(ranMarker)).rejects.toThrow();
    };

    it('a tampered tool-cache entry: one error line, downloaded again, the cache entry replaced', async () => {
      const [dir, marker] = toolCachePaths('buildkit', TAG, arch.node);
      await fs.mkdir(dir, { recursive: true });
      for (const [name, content] of Object.entries(await poison())) await fs.writeFile(path.join(dir, name), content, { mode: 0o755 });
      await fs.writeFile(marker, '');

      const log = quietLog();
      const got = await installBuildkit({ ...common(), version: TAG, downloadUrl: `${base}/dl`, log });
      expect(got.source).toBe('download');
      await expectGenuine(got.binDir);
      const bk = buildkitAsset(TAG, `${base}/dl`, arch);
      const evilSha = createHash('sha256').update(tampered).digest('hex');
      expect(log.errors).toEqual([
        `${bk.name} (buildkit ${TAG}) from the tool cache is not used: its sha256 is ${evilSha}, not the trusted ${archiveSha}; downloading it again`,
      ]);
      expect(await fs.readFile(path.join(dir, bk.name))).toEqual(archive);
    });

    it('a tampered Actions-cache entry: one error line, downloaded again', async () => {
      const restoring = restoringCache(await poison());
      const log = quietLog();
      const got = await installBuildkit({ ...common(), actionsCache: restoring, version: TAG, downloadUrl: `${base}/dl`, log });
      expect(got.source).toBe('download');
      await expectGenuine(got.binDir);
      const bk = buildkitAsset(TAG, `${base}/dl`, arch);
      const key = `envd-remote-build-buildkit-archive-${TAG}-linux-${arch.node}-${archiveSha.slice(0, 16)}`;
      const evilSha = createHash('sha256').update(tampered).digest('hex');
      expect(log.errors).toEqual([
        `${bk.name} (buildkit ${TAG}) from the Actions cache (${key}) is not used: its sha256 is ${evilSha}, not the trusted ${archiveSha}; downloading it again`,
      ]);
      expect(hits.filter((h) => h.startsWith('/dl/'))).toHaveLength(1);
    });
  });

  describe('without a trusted digest', () => {
    it('fails before downloading when the releases API reports no digest', async () => {
      apiDigest = undefined;
      const bk = buildkitAsset(TAG, `${base}/dl`, arch);
      await expect(installBuildkit({ ...common(), version: TAG, downloadUrl: `${base}/dl`, log: quietLog() })).rejects.toThrow(
        `no trusted sha256 for ${bk.name} (buildkit ${TAG}): it is not pinned in this action and the GitHub releases API of moby/buildkit: ` +
          `release ${TAG} reports no sha256 digest for ${bk.name}; use buildkit ${DEFAULT_BUILDKIT_VERSION} (pinned), or set allow-unverified-downloads: true to run it unverified`,
      );
      expect(hits.filter((h) => h.startsWith('/dl/'))).toEqual([]);
      expect(await tempFiles()).toEqual([]);
    });

    it('fails when the releases API cannot be asked', async () => {
      failures.set(`/api/repos/moby/buildkit/releases/tags/${TAG}`, [503, 503, 503]);
      await expect(installBuildkit({ ...common(), version: TAG, downloadUrl: `${base}/dl`, log: quietLog() })).rejects.toThrow(
        /^no trusted sha256 for .*: it is not pinned in this action and the GitHub releases API gave no answer \(.*HTTP 503\); .*allow-unverified-downloads: true/,
      );
      expect(hits.filter((h) => h.startsWith('/dl/'))).toEqual([]);
    });

    it('installs with allow-unverified-downloads, with a warning, and caches nothing', async () => {
      apiDigest = undefined;
      const saves: string[] = [];
      const actionsCache: ActionsCacheLike = {
        isFeatureAvailable: () => true,
        restoreCache: async () => {
          throw new Error('must not restore without a trusted digest');
        },
        saveCache: async (_p, key) => {
          saves.push(key);
          return 1;
        },
      };
      const log = quietLog();
      const got = await installBuildkit({ ...common(), actionsCache, allowUnverified: true, version: TAG, downloadUrl: `${base}/dl`, log });
      expect(got).toMatchObject({ tag: TAG, source: 'download' });
      expect(versionOf(got.binDir)).toContain(TAG);
      expect(log.warnings).toEqual([expect.stringMatching(/^Running buildkit-v9\.9\.9\.linux-\w+\.tar\.gz \(buildkit v9\.9\.9\) unverified because allow-unverified-downloads is true: /)]);
      expect(saves).toEqual([]);
      await expect(fs.access(toolCachePaths('buildkit', TAG, arch.node)[0])).rejects.toThrow();
    });
  });

  it('refuses a plain-http download URL', async () => {
    await expect(installBuildkit({ ...common(), version: TAG, downloadUrl: 'http://mirror.invalid/bk', log: quietLog() })).rejects.toThrow(
      /^buildkit download URL: refusing http:\/\/mirror\.invalid\/bk\/v9\.9\.9\/buildkit-v9\.9\.9\.linux-\w+\.tar\.gz; downloads must use https$/,
    );
    expect(hits).toEqual([]);
  });
});

describe('installRootlesskit', () => {
  it('downloads and verifies rootlesskit from its own base URL', async () => {
    const got = await installRootlesskit({ ...common(), version: 'v7.7.7', downloadUrl: `${base}/rk`, log: quietLog() });
    expect(got.source).toBe('download');
    expect((await fs.stat(path.join(got.binDir, 'rootlesskit'))).mode & 0o111).toBeTruthy();
  });

  it('prefers a rootlesskit already on PATH', async () => {
    const dir = path.join(work, 'rkpath');
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'rootlesskit'), '#!/bin/sh\n', { mode: 0o755 });
    expect(await installRootlesskit({ ...common(), searchPath: [dir], log: quietLog() })).toMatchObject({ binDir: dir, source: 'path' });
  });
});
