// installEnvd: asset naming, checksum verification against a local HTTP
// server (node:http on 127.0.0.1), PATH reuse, `latest` resolution.
//
// The "binary" served is the STAND-IN envd script (fixtures/fake-envd.mjs);
// it only checks what WE do around envd, nothing of envd's own behaviour.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import {
  DEFAULT_ENVD_VERSION,
  envdAssetName,
  installEnvd,
  normalizeEnvdVersion,
  parseChecksums,
  parseEnvdVersionOutput,
  resolveEnvdVersion,
} from '../../../src/envd/install.js';
import { FIXTURE, captureStdout, installFakeEnvd, readCalls, send, setEnv, startServer, tempDir } from './helpers.js';

describe('envdAssetName', () => {
  const table: [string, NodeJS.Platform, string, string][] = [
    // From v1.3.1: goreleaser's plain {{.Os}}_{{.Arch}}.
    ['v1.3.4', 'linux', 'x64', 'envd_1.3.4_linux_amd64'],
    ['1.3.4', 'linux', 'arm64', 'envd_1.3.4_linux_arm64'],
    ['v1.3.1', 'linux', 'x64', 'envd_1.3.1_linux_amd64'],
    ['v1.3.1', 'darwin', 'arm64', 'envd_1.3.1_darwin_arm64'],
    ['v2.0.0', 'linux', 'x64', 'envd_2.0.0_linux_amd64'],
    // Before: title-cased OS and x86_64.
    ['v1.3.0', 'linux', 'x64', 'envd_1.3.0_Linux_x86_64'],
    ['v1.3.0', 'linux', 'arm64', 'envd_1.3.0_Linux_arm64'],
    ['v1.2.6', 'darwin', 'x64', 'envd_1.2.6_Darwin_x86_64'],
    ['v0.3.33', 'linux', 'x64', 'envd_0.3.33_Linux_x86_64'],
    // A pre-release of 1.3.1 sorts before 1.3.1.
    ['v1.3.1-rc.1', 'linux', 'x64', 'envd_1.3.1-rc.1_Linux_x86_64'],
  ];
  it.each(table)('%s %s/%s -> %s', (version, platform, arch, expected) => {
    expect(envdAssetName(version, platform, arch)).toBe(expected);
  });

  it('rejects what envd does not publish', () => {
    expect(() => envdAssetName('v1.3.4', 'win32', 'x64')).toThrow(/Linux and macOS only/);
    expect(() => envdAssetName('v1.3.4', 'linux', 'ia32')).toThrow(/x64 and arm64 only/);
  });
});

describe('version strings', () => {
  it.each([
    ['v1.3.4', 'v1.3.4'],
    ['1.3.4', 'v1.3.4'],
    [' v1.0.0-alpha.3 ', 'v1.0.0-alpha.3'],
  ])('normalizes %p to %p', (input, expected) => {
    expect(normalizeEnvdVersion(input)).toBe(expected);
  });

  it.each(['1.3', '^1.3.0', 'main', 'v1.3.4; rm -rf /'])('rejects %p', (input) => {
    expect(() => normalizeEnvdVersion(input)).toThrow(/not a release version/);
  });

  it('rejects versions older than v0.3.33', () => {
    expect(() => normalizeEnvdVersion('v0.3.32')).toThrow(/too old/);
  });

  it('empty means the pinned default', async () => {
    await expect(resolveEnvdVersion('')).resolves.toBe(DEFAULT_ENVD_VERSION);
  });

  it('parses `envd version --short` output', () => {
    expect(parseEnvdVersionOutput('envd: v1.3.4\n')).toBe('v1.3.4');
    expect(parseEnvdVersionOutput('time="..." level=warning msg=x\nenvd: v1.2.0+abc1234\n')).toBe('v1.2.0+abc1234');
    expect(parseEnvdVersionOutput('something else')).toBeUndefined();
  });

  it('parses checksums.txt', () => {
    const a = 'a'.repeat(64);
    const b = 'B'.repeat(64);
    const sums = parseChecksums(`${a}  envd_1.3.4_linux_amd64\n${b} *envd_1.3.4_linux_arm64\r\nnot a line\n`);
    expect(sums.get('envd_1.3.4_linux_amd64')).toBe(a);
    expect(sums.get('envd_1.3.4_linux_arm64')).toBe('b'.repeat(64));
    expect(sums.size).toBe(2);
  });
});

describe('installEnvd against a local release server', () => {
  const body = fs.readFileSync(FIXTURE);
  const sha = createHash('sha256').update(body).digest('hex');
  // A look-alike that leaves a mark when run: what a poisoned cache would hold.
  let ranMarker: string;
  let tampered: Buffer;
  let restoreEnv: () => void;
  let out: ReturnType<typeof captureStdout>;
  let runnerTemp: string;
  let toolCache: string;

  beforeAll(() => {
    // tc.downloadTool waits 10-20 s between retries; it reads these test hooks.
    const g = globalThis as Record<string, unknown>;
    g['TEST_DOWNLOAD_TOOL_RETRY_MIN_SECONDS'] = 0;
    g['TEST_DOWNLOAD_TOOL_RETRY_MAX_SECONDS'] = 0;
  });

  beforeEach(async () => {
    runnerTemp = await tempDir('runner-temp');
    toolCache = await tempDir('tool-cache');
    ranMarker = path.join(runnerTemp, 'tampered-ran');
    tampered = Buffer.from(`#!/bin/sh\ntouch '${ranMarker}'\necho "envd: v1.3.4"\n`);
    restoreEnv = setEnv({
      RUNNER_TEMP: runnerTemp,
      RUNNER_TOOL_CACHE: toolCache,
      // No Actions cache service in these tests (see install-cache.test.ts).
      ACTIONS_CACHE_URL: undefined,
      ACTIONS_RESULTS_URL: undefined,
      ACTIONS_CACHE_SERVICE_V2: undefined,
      GITHUB_TOKEN: undefined,
    });
    out = captureStdout();
  });

  afterEach(async () => {
    out.restore();
    restoreEnv();
    await fsp.rm(runnerTemp, { recursive: true, force: true });
    await fsp.rm(toolCache, { recursive: true, force: true });
  });

  /** The releases API's answer for `tag`: `digest` null is what GitHub reports for assets uploaded before June 2025. */
  const apiRelease = (tag: string, assets: Record<string, string | null>) =>
    send(JSON.stringify({ tag_name: tag, assets: Object.entries(assets).map(([name, digest]) => ({ name, digest })) }));

  /** Download routes plus the API route (under /api) vouching for `apiSha`. */
  const release = (tag: string, asset: string, opts: { sums?: string; apiSha?: string | null } = {}) => ({
    [`/${tag}/checksums.txt`]: send(opts.sums ?? `${sha}  ${asset}\n`),
    [`/${tag}/${asset}`]: send(body),
    [`/api/repos/tensorchord/envd/releases/tags/${tag}`]: apiRelease(tag, { [asset]: opts.apiSha === null ? null : `sha256:${opts.apiSha ?? sha}` }),
  });
  const opts = (url: string) => ({ downloadBaseUrl: url, apiBaseUrl: `${url}/api`, apiRetryDelaysMs: [], usePath: false, platform: 'linux' as const, arch: 'x64' });
  const inPrivateDir = (bin: string) => {
    expect(bin.startsWith(path.join(runnerTemp, 'envd-remote-build-envd-'))).toBe(true);
    expect(fs.statSync(path.dirname(bin)).mode & 0o777).toBe(0o700);
  };

  it('downloads, verifies against the API digest, keeps a copy in the tool cache, and re-verifies it next time', async () => {
    const asset = 'envd_1.3.4_linux_amd64';
    const srv = await startServer(release('v1.3.4', asset));
    try {
      const bin = await installEnvd('v1.3.4', opts(srv.url));
      inPrivateDir(bin);
      expect(fs.readFileSync(bin)).toEqual(body);
      expect(fs.statSync(bin).mode & 0o777).toBe(0o755);
      // It runs: the stand-in answers like `envd version --short` would.
      expect(execFileSync(bin, ['version', '--short']).toString()).toBe('envd: v1.3.4\n');
      expect(srv.hitsFor(`/v1.3.4/${asset}`)).toBe(1);
      expect(fs.readFileSync(path.join(toolCache, 'envd', '1.3.4', 'x64', 'envd'))).toEqual(body);
      // The download server never gets a token.
      expect(srv.hits.every((h) => h.headers.authorization === undefined)).toBe(true);

      // Second install on the same runner: the tool cache's copy, checked again; no download.
      const again = await installEnvd('1.3.4', opts(srv.url));
      inPrivateDir(again);
      expect(again).not.toBe(bin);
      expect(fs.readFileSync(again)).toEqual(body);
      expect(srv.hitsFor(`/v1.3.4/${asset}`)).toBe(1);
      expect(out.text()).toContain('from the tool cache (sha256 verified)');
    } finally {
      await srv.close();
    }
  });

  it('builds old-style asset URLs for releases before v1.3.1', async () => {
    const asset = 'envd_1.2.6_Linux_x86_64';
    const srv = await startServer(release('v1.2.6', asset));
    try {
      const bin = await installEnvd('v1.2.6', { ...opts(srv.url), downloadBaseUrl: `${srv.url}/` });
      expect(fs.readFileSync(bin)).toEqual(body);
      expect(srv.hitsFor(`/v1.2.6/${asset}`)).toBe(1);
    } finally {
      await srv.close();
    }
  });

  it('rejects a binary whose sha256 does not match the trusted digest', async () => {
    const asset = 'envd_1.3.4_linux_amd64';
    const srv = await startServer(release('v1.3.4', asset, { apiSha: '0'.repeat(64) }));
    try {
      await expect(installEnvd('v1.3.4', opts(srv.url))).rejects.toThrow(new RegExp(`sha256 mismatch for ${asset}.*expected 0{64} \\(trusted\\).*got ${sha}`));
      expect(fs.existsSync(path.join(toolCache, 'envd'))).toBe(false);
      expect(fs.readdirSync(runnerTemp)).toEqual([]);
    } finally {
      await srv.close();
    }
  });

  it('a tampered tool-cache copy is never run: one error line, downloaded again, the copy replaced', async () => {
    const asset = 'envd_1.3.4_linux_amd64';
    const srv = await startServer(release('v1.3.4', asset));
    const cached = path.join(toolCache, 'envd', '1.3.4', 'x64');
    fs.mkdirSync(cached, { recursive: true });
    fs.writeFileSync(path.join(cached, 'envd'), tampered, { mode: 0o755 });
    fs.writeFileSync(`${cached}.complete`, '');
    try {
      const bin = await installEnvd('v1.3.4', opts(srv.url));
      expect(fs.readFileSync(bin)).toEqual(body);
      execFileSync(bin, ['version', '--short']);
      expect(fs.existsSync(ranMarker)).toBe(false);
      const evilSha = createHash('sha256').update(tampered).digest('hex');
      expect(out.text()).toContain(`::error::envd v1.3.4 from the tool cache is not used: its sha256 is ${evilSha}, not the trusted ${sha}; downloading it again`);
      expect(srv.hitsFor(`/v1.3.4/${asset}`)).toBe(1);
      expect(fs.readFileSync(path.join(cached, 'envd'))).toEqual(body);
    } finally {
      await srv.close();
    }
  });

  it('fails clearly on a missing asset (404), without retrying', async () => {
    const srv = await startServer({ '/api/repos/tensorchord/envd/releases/tags/v1.3.4': apiRelease('v1.3.4', { 'envd_1.3.4_linux_amd64': `sha256:${sha}` }) });
    try {
      await expect(installEnvd('v1.3.4', opts(srv.url))).rejects.toThrow(
        /could not download envd v1\.3\.4 \(envd_1\.3\.4_linux_amd64\) from http:\/\/127\.0\.0\.1:\d+\/v1\.3\.4\/envd_1\.3\.4_linux_amd64: HTTP 404/,
      );
      expect(srv.hitsFor('/v1.3.4/envd_1.3.4_linux_amd64')).toBe(1);
    } finally {
      await srv.close();
    }
  });

  it('retries a transient 500', async () => {
    const asset = 'envd_1.3.4_linux_amd64';
    const srv = await startServer({
      ...release('v1.3.4', asset),
      [`/v1.3.4/${asset}`]: (_req, res, n) => {
        if (n === 1) res.writeHead(500).end('try again');
        else res.writeHead(200).end(body);
      },
    });
    try {
      const bin = await installEnvd('v1.3.4', opts(srv.url));
      expect(fs.readFileSync(bin)).toEqual(body);
      expect(srv.hitsFor(`/v1.3.4/${asset}`)).toBe(2);
    } finally {
      await srv.close();
    }
  });

  it('refuses a plain-http download URL to anything but loopback', async () => {
    await expect(installEnvd('v1.3.4', { ...opts('http://127.0.0.1:9'), downloadBaseUrl: 'http://mirror.invalid/envd' })).rejects.toThrow(
      'envd download URL: refusing http://mirror.invalid/envd; downloads must use https',
    );
  });

  describe('without a trusted digest', () => {
    it('refuses the default version when it is not pinned and the API cannot vouch for it, before downloading', async () => {
      const srv = await startServer({ '/api/repos/tensorchord/envd/releases/tags/v1.3.4': send('{"message":"API rate limit exceeded"}', 403) });
      try {
        await expect(installEnvd('', opts(srv.url))).rejects.toThrow(
          /^no trusted sha256 for envd v1\.3\.4 \(envd_1\.3\.4_linux_amd64\): it is not pinned in this action and the GitHub releases API gave no answer \(.*HTTP 403\); set allow-unverified-downloads: true to install it checked only against the release's own checksums\.txt$/,
        );
        expect(srv.hits.filter((h) => !h.path.startsWith('/api/'))).toEqual([]);
        expect(fs.readdirSync(runnerTemp)).toEqual([]);
      } finally {
        await srv.close();
      }
    });

    it('refuses when the API reports no digest for the asset, even though checksums.txt lists it', async () => {
      const asset = 'envd_1.3.4_linux_amd64';
      const srv = await startServer(release('v1.3.4', asset, { apiSha: null }));
      try {
        await expect(installEnvd('v1.3.4', opts(srv.url))).rejects.toThrow(
          `no trusted sha256 for envd v1.3.4 (${asset}): it is not pinned in this action and the GitHub releases API of tensorchord/envd: ` +
            `release v1.3.4 reports no sha256 digest for ${asset}; set allow-unverified-downloads: true`,
        );
        expect(srv.hitsFor(`/v1.3.4/${asset}`)).toBe(0);
      } finally {
        await srv.close();
      }
    });

    it('with allow-unverified-downloads: installs with a warning, still checks checksums.txt, and caches nothing', async () => {
      const asset = 'envd_1.3.4_linux_amd64';
      const srv = await startServer(release('v1.3.4', asset, { apiSha: null }));
      try {
        const bin = await installEnvd('v1.3.4', { ...opts(srv.url), allowUnverified: true });
        inPrivateDir(bin);
        expect(fs.readFileSync(bin)).toEqual(body);
        expect(out.text()).toContain(`::warning::Installing envd v1.3.4 (${asset}) without a trusted sha256 because allow-unverified-downloads is true`);
        expect(srv.hitsFor('/v1.3.4/checksums.txt')).toBe(1);
        expect(fs.existsSync(path.join(toolCache, 'envd'))).toBe(false);
      } finally {
        await srv.close();
      }
    });

    it('with allow-unverified-downloads: a binary that contradicts checksums.txt is still refused', async () => {
      const asset = 'envd_1.3.4_linux_amd64';
      const srv = await startServer(release('v1.3.4', asset, { apiSha: null, sums: `${'0'.repeat(64)}  ${asset}\n` }));
      try {
        await expect(installEnvd('v1.3.4', { ...opts(srv.url), allowUnverified: true })).rejects.toThrow(
          new RegExp(`sha256 mismatch for ${asset}.*expected 0{64} \\(checksums\\.txt\\), got ${sha}`),
        );
      } finally {
        await srv.close();
      }
    });
  });

  describe('an envd already on PATH', () => {
    let pathDir: string;
    let realHome: string;
    let log: string;
    let restorePath: () => void;

    beforeEach(async () => {
      pathDir = await tempDir('path');
      realHome = await tempDir('real-home');
      log = path.join(pathDir, 'calls.jsonl');
      await installFakeEnvd(pathDir);
      restorePath = setEnv({ PATH: `${pathDir}${path.delimiter}${process.env['PATH'] ?? ''}`, HOME: realHome, FAKE_ENVD_LOG: log });
    });
    afterEach(async () => {
      restorePath();
      await fsp.rm(pathDir, { recursive: true, force: true });
      await fsp.rm(realHome, { recursive: true, force: true });
    });

    it('is used when it reports the wanted version, probed under a throwaway HOME', async () => {
      const srv = await startServer({});
      const restore = setEnv({ FAKE_ENVD_VERSION: 'v1.3.4' });
      try {
        const bin = await installEnvd('v1.3.4', { ...opts(srv.url), usePath: true });
        expect(bin).toBe(path.join(pathDir, 'envd'));
        expect(srv.hits).toHaveLength(0);
        const [call] = readCalls(log);
        expect(call?.argv).toEqual(['version', '--short']);
        expect(call?.env['ENVD_ANALYTICS']).toBe('false');
        expect(call?.env['HOME']).not.toBe(realHome);
        expect(call?.env['HOME']?.startsWith(runnerTemp)).toBe(true);
        expect(fs.existsSync(call?.env['HOME'] ?? '')).toBe(false);
      } finally {
        restore();
        await srv.close();
      }
    });

    it('is probed in the home the build will use when given one, which stays (envd makes its key pair there once)', async () => {
      const srv = await startServer({});
      const restore = setEnv({ FAKE_ENVD_VERSION: 'v1.3.4' });
      const home = await tempDir('build-home');
      try {
        const bin = await installEnvd('v1.3.4', { ...opts(srv.url), usePath: true, probeHome: home });
        expect(bin).toBe(path.join(pathDir, 'envd'));
        const [call] = readCalls(log);
        expect(call?.argv).toEqual(['version', '--short']);
        expect(call?.env['HOME']).toBe(home);
        // Not removed after the probe: the build's own commands run in it.
        expect(fs.existsSync(home)).toBe(true);
      } finally {
        restore();
        await srv.close();
        await fsp.rm(home, { recursive: true, force: true });
      }
    });

    it('is ignored when it reports another version (or a dev build)', async () => {
      const asset = 'envd_1.3.4_linux_amd64';
      const srv = await startServer(release('v1.3.4', asset));
      const restore = setEnv({ FAKE_ENVD_VERSION: 'v1.3.4+abc1234' });
      try {
        const bin = await installEnvd('v1.3.4', { ...opts(srv.url), usePath: true });
        inPrivateDir(bin);
        expect(out.text()).toContain('reports v1.3.4+abc1234, not v1.3.4');
      } finally {
        restore();
        await srv.close();
      }
    });
  });

  describe('latest', () => {
    it('resolves through the releases API, sending the token there only', async () => {
      const asset = 'envd_1.3.4_linux_amd64';
      const api = await startServer({
        '/repos/tensorchord/envd/releases/latest': (_req, res) => {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ tag_name: 'v1.3.4' }));
        },
        '/repos/tensorchord/envd/releases/tags/v1.3.4': apiRelease('v1.3.4', { [asset]: `sha256:${sha}` }),
      });
      const srv = await startServer(release('v1.3.4', asset));
      try {
        const bin = await installEnvd('latest', {
          ...opts(srv.url),
          apiBaseUrl: api.url,
          githubToken: 'secret-token',
        });
        expect(fs.readFileSync(bin)).toEqual(body);
        expect(api.hits.map((h) => h.headers.authorization)).toEqual(['Bearer secret-token', 'Bearer secret-token']);
        expect(srv.hits.every((h) => h.headers.authorization === undefined)).toBe(true);
      } finally {
        await api.close();
        await srv.close();
      }
    });

    it('explains a rate-limited API without retrying', async () => {
      const api = await startServer({ '/repos/tensorchord/envd/releases/latest': send('{"message":"API rate limit exceeded"}', 403) });
      try {
        await expect(resolveEnvdVersion('latest', { apiBaseUrl: api.url })).rejects.toThrow(
          /could not resolve envd-version "latest" .*HTTP 403 \(no GITHUB_TOKEN set/,
        );
        expect(api.hits).toHaveLength(1);
      } finally {
        await api.close();
      }
    });

    it('rejects a tag that is no version', async () => {
      const api = await startServer({ '/repos/tensorchord/envd/releases/latest': send('{"tag_name":"nightly"}') });
      try {
        await expect(resolveEnvdVersion('LATEST', { apiBaseUrl: api.url })).rejects.toThrow(
          /"nightly" is not a release version/,
        );
      } finally {
        await api.close();
      }
    });
  });
});
