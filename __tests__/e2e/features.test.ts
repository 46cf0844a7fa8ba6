// End to end, production features of Dockerfile builds (issue 4): secrets,
// cache import/export, progress annotations and the job summary,
// cancellation, multi-platform images, annotations and provenance. Every test
// runs the bundled action (dist/index.js) against the real buildkitd and
// registry, and checks the result where it lands: in the registry, in the
// daemon's behaviour, or in what the runner would show.
import { jest } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname, join } from 'node:path';
import { runAction } from '../helpers/run-action.js';
import { startCacheServiceStandIn } from '../helpers/cache-service.js';
import { BUILDKIT_HOST, E2E_REGISTRY, busybox, daemonVersion, describeE2E, makeContext, registryDigest, uniqueRepo, versionAtLeast } from './env.js';
import { tempDir } from '../helpers/temp-dirs.js';

jest.setTimeout(300_000);

const MANIFEST_TYPES = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
};
const INDEX_TYPES = [MANIFEST_TYPES.dockerList, MANIFEST_TYPES.ociIndex];
const IMAGE_MANIFEST_TYPES = [MANIFEST_TYPES.dockerManifest, MANIFEST_TYPES.ociManifest];

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
  annotations?: Record<string, string>;
}
interface Manifest {
  mediaType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
  annotations?: Record<string, string>;
}

/** GETs a manifest or index as the registry stores it (all four media types accepted). */
async function getManifest(repo: string, ref: string): Promise<Manifest> {
  const res = await fetch(`http://${E2E_REGISTRY}/v2/${repo}/manifests/${ref}`, { headers: { Accept: Object.values(MANIFEST_TYPES).join(', ') } });
  if (res.status !== 200) throw new Error(`GET manifest ${repo}:${ref}: HTTP ${res.status}`);
  return (await res.json()) as Manifest;
}

async function getBlob(repo: string, digest: string): Promise<Buffer> {
  const res = await fetch(`http://${E2E_REGISTRY}/v2/${repo}/blobs/${digest}`);
  if (res.status !== 200) throw new Error(`GET blob ${repo}@${digest}: HTTP ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

/** A buildkitd binary the local fallback can start (found on PATH by the action), for tests that need a builder with an empty cache. */
const LOCAL_BUILDKITD = ((): { bin: string; version: string } | undefined => {
  const bin = [process.env.BUILDKITD_BIN].find((p): p is string => !!p && existsSync(p));
  if (!bin) return undefined;
  // "buildkitd github.com/moby/buildkit v0.11.6 <revision>"
  const version = execFileSync(bin, ['--version']).toString().split(/\s+/)[2];
  return version ? { bin, version } : undefined;
})();
if (!LOCAL_BUILDKITD) {
  process.stderr.write('\n!!! features e2e: the fresh-builder cache test is SKIPPED: set BUILDKITD_BIN to a buildkitd binary to run it\n\n');
}

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const nonce = (): string => randomBytes(6).toString('hex');

/** A Dockerfile prologue that gives RUN a shell without pulling an image. */
const PROLOGUE = 'FROM scratch\nCOPY busybox /bin/busybox\nSHELL ["/bin/busybox", "sh", "-c"]\n';

/** Lines of stdout that are not the runner's masking command. */
function visibleLines(stdout: string): string[] {
  return stdout.split('\n').filter((l) => !l.startsWith('::add-mask::'));
}

/** The runner's escaping of workflow command data (`::add-mask::<data>`). */
function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

describeE2E('production features on a real buildkitd', () => {
  // -------------------------------------------------------------------------
  describe('secrets', () => {
    test('secrets, secret-files and secret-envs reach RUN --mount=type=secret byte for byte, and are masked', async () => {
      const value = `v4lue-${nonce()},with comma`;
      const multi = `first line ${nonce()}\n  second line ${nonce()}  `;
      const fileContent = `-----BEGIN KEY-----\nfile-${nonce()}\n-----END KEY-----\n`;
      const envValue = `env-${nonce()}`;
      const context = makeContext({
        Dockerfile: [
          PROLOGUE,
          // The step compares hashes, so no secret is ever printed, and fails on a mismatch.
          'RUN --mount=type=secret,id=token,required=true --mount=type=secret,id=multi,required=true \\',
          '    --mount=type=secret,id=keyfile,required=true --mount=type=secret,id=fromenv,required=true \\',
          '    --mount=type=secret,id=absent \\',
          '    check() { test "$(/bin/busybox sha256sum < /run/secrets/$1 | /bin/busybox cut -d" " -f1)" = "$2" || { echo "secret $1 differs"; exit 1; }; }; \\',
          `    check token ${sha256(value)} && check multi ${sha256(multi)} && check keyfile ${sha256(fileContent)} && check fromenv ${sha256(envValue)} && \\`,
          '    test ! -e /run/secrets/absent && echo "all secrets as expected" && echo ok > /checked',
          '',
        ].join('\n'),
      });
      const secretDir = tempDir('e2e-secret-');
      writeFileSync(join(secretDir, 'key.pem'), fileContent);
      // A multi-line value is one quoted entry; `""` is a literal quote inside it (none here).
      const secrets = `token=${value}\n"multi=${multi}"`;
      const run = await runAction(
        { builder: BUILDKIT_HOST, context, secrets, 'secret-files': `keyfile=${join(secretDir, 'key.pem')}`, 'secret-envs': 'fromenv=E2E_SECRET_VALUE' },
        { env: { GITHUB_WORKSPACE: context, E2E_SECRET_VALUE: envValue } },
      );
      expect(run.stdout).toContain('all secrets as expected');
      expect(run.code).toBe(0);

      const lines = run.stdout.split('\n');
      const firstBuildLine = lines.findIndex((l) => l.startsWith('::group::'));
      const pieces = [value, envValue, ...multi.split('\n').map((l) => l.trim()), ...fileContent.split('\n').filter((l) => l.trim().length >= 4)];
      for (const piece of pieces) {
        // The runner hides a value only from the lines after its ::add-mask::.
        const mask = lines.indexOf(`::add-mask::${escapeData(piece)}`);
        expect(mask).toBeGreaterThanOrEqual(0);
        expect(mask).toBeLessThan(firstBuildLine);
        expect(visibleLines(run.stdout).filter((l) => l.includes(piece))).toEqual([]);
      }
      expect(run.summary).not.toContain(value);
      expect(run.post?.code).toBe(0);
    });

    test('a required secret that was not given fails the build with one clear line', async () => {
      const context = makeContext({ Dockerfile: `${PROLOGUE}RUN --mount=type=secret,id=npmrc,required=true cat /run/secrets/npmrc\n` });
      const run = await runAction({ builder: BUILDKIT_HOST, context, secrets: 'other=x1234' }, { env: { GITHUB_WORKSPACE: context } });
      expect(run.code).toBe(1);
      expect(run.stdout.split('\n').filter((l) => l.startsWith('::error::'))).toEqual([
        '::error::secret "npmrc" is required by the Dockerfile but was not given; pass it with the secrets, secret-files or secret-envs input',
      ]);
      expect(run.post?.code).toBe(0);
    });

    test('an unset secret-envs variable is a warning, and the optional mount is skipped', async () => {
      const context = makeContext({ Dockerfile: `${PROLOGUE}RUN --mount=type=secret,id=maybe test ! -e /run/secrets/maybe && echo "skipped-${nonce()}"\n` });
      const run = await runAction({ builder: BUILDKIT_HOST, context, 'secret-envs': 'maybe=E2E_NOT_SET_ANYWHERE' }, { env: { GITHUB_WORKSPACE: context } });
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/::warning::Input "secret-envs": environment variable E2E_NOT_SET_ANYWHERE for secret "maybe" is not set/);
      expect(run.stdout).toMatch(/#\d+ skipped-/);
    });
  });

  // -------------------------------------------------------------------------
  describe('cache', () => {
    const stepDockerfile = (stamp: string): string => `${PROLOGUE}RUN echo "${stamp}" > /stamp && echo "ran ${stamp}"\n`;

    test('type=registry,mode=max exports a cache manifest that a fresh builder imports and hits', async () => {
      const stamp = `cache-${nonce()}`;
      const repo = uniqueRepo('cache');
      const cacheRef = `${E2E_REGISTRY}/${repo}:cache`;
      const contextA = makeContext({ Dockerfile: stepDockerfile(stamp) });
      const exported = await runAction({ builder: BUILDKIT_HOST, context: contextA, 'cache-to': `type=registry,ref=${cacheRef},mode=max` }, { env: { GITHUB_WORKSPACE: contextA } });
      expect(exported.code).toBe(0);
      expect(exported.stdout).toMatch(new RegExp(`^#\\d+ ran ${stamp}$`, 'm'));
      expect(exported.stdout).toMatch(/#\d+ exporting (content )?cache/);
      // The cache is an index whose config blob is BuildKit's cache config.
      expect(await registryDigest(E2E_REGISTRY, repo, 'cache')).toMatch(/^sha256:/);
      const cacheManifest = await getManifest(repo, 'cache');
      expect(JSON.stringify(cacheManifest)).toContain('application/vnd.buildkit.cacheconfig.v0');

      // Another directory (so another shared key) with the same files, on the same daemon:
      // the import is requested and resolved.
      const contextB = tempDir('e2e-ctx-copy-');
      cpSync(contextA, contextB, { recursive: true, preserveTimestamps: true });
      const imported = await runAction({ builder: BUILDKIT_HOST, context: contextB, 'cache-from': `type=registry,ref=${cacheRef}` }, { env: { GITHUB_WORKSPACE: contextB } });
      expect(imported.code).toBe(0);
      expect(imported.stdout).toContain(`importing cache manifest from ${cacheRef}`);
      // The step's own output: it did not run again.
      expect(imported.stdout).not.toMatch(new RegExp(`^#\\d+ ran ${stamp}$`, 'm'));
    });

    (LOCAL_BUILDKITD ? test : test.skip)('a builder that never saw the step hits it only through cache-from (local fallback daemon, fresh state)', async () => {
      const stamp = `fresh-${nonce()}`;
      const repo = uniqueRepo('cache-fresh');
      const cacheRef = `${E2E_REGISTRY}/${repo}:cache`;
      const contextA = makeContext({ Dockerfile: stepDockerfile(stamp) });
      const exported = await runAction({ builder: BUILDKIT_HOST, context: contextA, 'cache-to': `type=registry,ref=${cacheRef},mode=max` }, { env: { GITHUB_WORKSPACE: contextA } });
      expect(exported.code).toBe(0);
      expect(exported.stdout).toMatch(new RegExp(`^#\\d+ ran ${stamp}$`, 'm'));

      const contextB = tempDir('e2e-ctx-copy-');
      cpSync(contextA, contextB, { recursive: true, preserveTimestamps: true });
      // fallback: only starts a new buildkitd with an empty state directory: nothing
      // of build A is on it, so a CACHED RUN can only come from the registry cache.
      const imported = await runAction(
        { fallback: 'only', 'buildkit-version': LOCAL_BUILDKITD!.version, context: contextB, 'cache-from': `type=registry,ref=${cacheRef}` },
        { env: { GITHUB_WORKSPACE: contextB, PATH: `${dirname(LOCAL_BUILDKITD!.bin)}:${process.env.PATH}` } },
      );
      expect(imported.code).toBe(0);
      expect(imported.stdout).toMatch(/::group::Using BuildKit v\S+ at unix:\/\/\S+ \(local/);
      expect(imported.stdout).toContain(`importing cache manifest from ${cacheRef}`);
      const runStep = /#(\d+) \[[^\]]*\] RUN echo/.exec(imported.stdout);
      expect(runStep).not.toBeNull();
      expect(imported.stdout).toContain(`#${runStep![1]} CACHED`);
      // The step's own output: it did not run again.
      expect(imported.stdout).not.toMatch(new RegExp(`^#\\d+ ran ${stamp}$`, 'm'));
      expect(imported.post?.code).toBe(0);
    });

    test('type=inline embeds the cache in the pushed image config', async () => {
      const repo = uniqueRepo('inline');
      const context = makeContext({ Dockerfile: stepDockerfile(`inline-${nonce()}`) });
      const run = await runAction({ builder: BUILDKIT_HOST, context, tags: `${E2E_REGISTRY}/${repo}:1`, push: 'true', 'cache-to': 'type=inline' }, { env: { GITHUB_WORKSPACE: context } });
      expect(run.code).toBe(0);
      const manifest = await getManifest(repo, '1');
      const config = JSON.parse((await getBlob(repo, manifest.config!.digest)).toString('utf8')) as Record<string, unknown>;
      expect(typeof config['moby.buildkit.cache.v0']).toBe('string');
    });

    test('type=gha gets the runner cache service and its token, and the token never reaches the log', async () => {
      const service = await startCacheServiceStandIn();
      try {
        const context = makeContext({ Dockerfile: stepDockerfile(`gha-${nonce()}`) });
        const run = await runAction(
          { builder: BUILDKIT_HOST, context, platforms: 'linux/amd64', 'cache-to': 'type=gha,scope=app-{platform},mode=max,ignore-error=true' },
          { env: { GITHUB_WORKSPACE: context, ...service.env } },
        );
        expect(run.code).toBe(0);
        expect(service.seen.length).toBeGreaterThan(0);
        expect(service.seen.every((r) => r.headers.authorization === `Bearer ${service.token}`)).toBe(true);
        expect(run.stdout).not.toContain(service.token);
        process.stderr.write(`gha cache, one builder: ${service.seen.length} request(s) to the cache service\n`);
      } finally {
        await service.close();
      }
    });

    test('type=local is refused before connecting to the builder, in one line', async () => {
      const context = makeContext({ Dockerfile: stepDockerfile('local') });
      const run = await runAction({ builder: BUILDKIT_HOST, context, 'cache-to': 'type=local,dest=/tmp/never' }, { env: { GITHUB_WORKSPACE: context } });
      expect(run.code).toBe(1);
      const errors = run.stdout.split('\n').filter((l) => l.startsWith('::error'));
      expect(errors).toEqual([
        '::error::Input "cache-to": type=local needs a content store in the session, which this action does not provide; use type=registry, type=inline or type=gha',
      ]);
      expect(run.stdout).not.toContain('Using BuildKit');
    });
  });
  // -------------------------------------------------------------------------
  describe('progress, annotations and the job summary', () => {
    test('a failing RUN becomes an error annotation carrying its last log lines', async () => {
      const context = makeContext({ Dockerfile: `${PROLOGUE}RUN for i in $(/bin/busybox seq 1 30); do echo "line-$i ${nonce()}"; done; exit 3\n` });
      const run = await runAction({ builder: BUILDKIT_HOST, context }, { env: { GITHUB_WORKSPACE: context } });
      expect(run.code).toBe(1);
      const annotation = run.stdout.split('\n').find((l) => l.startsWith('::error title=Build step failed'));
      expect(annotation).toBeDefined();
      const [, title, message] = /^::error title=([^:]*)::(.*)$/.exec(annotation!)!;
      expect(title).toMatch(/^Build step failed%3A \[2\/2\] RUN for i in/);
      const body = message!.split('%0A');
      expect(body[0]).toMatch(/did not complete successfully: exit code: 3/);
      // The last 20 lines, in order; earlier ones stay in the log only.
      expect(body.slice(1).map((l) => l.split(' ')[0])).toEqual(Array.from({ length: 20 }, (_, i) => `line-${i + 11}`));
    });

    test('a Dockerfile warning becomes a warning annotation on the Dockerfile, relative to the workspace', async () => {
      const workspace = makeContext({});
      mkdirSync(join(workspace, 'app', 'docker'), { recursive: true });
      cpSync(busybox(), join(workspace, 'app', 'busybox'));
      // An empty continuation line is a warning on every version: the parser's
      // own text up to v0.13, a structured lint warning (NoEmptyContinuation) since v0.14.
      writeFileSync(join(workspace, 'app', 'docker', 'Dockerfile.prod'), `${PROLOGUE}RUN echo one && \\\n\n    echo two-${nonce()}\n`);
      const run = await runAction({ builder: BUILDKIT_HOST, context: 'app', file: 'app/docker/Dockerfile.prod' }, { env: { GITHUB_WORKSPACE: workspace } });
      expect(run.code).toBe(0);
      if (versionAtLeast(await daemonVersion(), 'v0.14.0')) {
        expect(run.stdout).toMatch(/^#\d+ WARN: NoEmptyContinuation: Empty continuation line \(line 6\)$/m);
        expect(run.stdout).toMatch(/^::warning title=Dockerfile warning,file=app\/docker\/Dockerfile.prod,line=6::NoEmptyContinuation: Empty continuation line \(line 6\)%0AEmpty continuation lines will become errors in a future release%0ASee https:\/\/docs.docker.com\/go\/dockerfile\/rule\/no-empty-continuation\/$/m);
      } else {
        expect(run.stdout).toMatch(/^#\d+ WARN: Empty continuation line found in: /m);
        expect(run.stdout).toMatch(/^::warning title=Dockerfile warning,file=app\/docker\/Dockerfile.prod,line=6::Empty continuation line found in: RUN echo one .*%0AEmpty continuation lines will become errors in a future release%0ASee https:\/\/github.com\/moby\/moby\/pull\/33719$/m);
      }
    });

    test('the job summary names the builder, tags, digest, duration, cached steps and context bytes', async () => {
      const repo = uniqueRepo('summary');
      const tag = `${E2E_REGISTRY}/${repo}:v1`;
      const context = makeContext({ Dockerfile: `${PROLOGUE}RUN echo "${nonce()}" > /stamp\n` });
      const first = await runAction({ builder: BUILDKIT_HOST, context, tags: tag, push: 'true' }, { env: { GITHUB_WORKSPACE: context } });
      expect(first.code).toBe(0);
      const row = (summary: string, label: string): string | undefined => new RegExp(`<tr><td>${label}</td><td>(.*?)</td></tr>`).exec(summary)?.[1];
      expect(row(first.summary, 'Builder')).toBe(`<code>${BUILDKIT_HOST}</code>`);
      expect(row(first.summary, 'BuildKit')).toBe(await daemonVersion());
      expect(row(first.summary, 'Tags')).toBe(`<code>${tag}</code>`);
      expect(row(first.summary, 'Digest')).toBe(`<code>${first.outputs.digest}</code>`);
      expect(row(first.summary, 'Duration')).toMatch(/^\d+(\.\d)?(ms|s)$/);
      // Two instructions; the RUN is new (COPY may be cached from earlier builds on this daemon).
      const steps = /^(\d+) cached, (\d+) run \(\d+% cached\)$/.exec(row(first.summary, 'Steps') ?? '');
      expect(steps).not.toBeNull();
      expect(Number(steps![1]) + Number(steps![2])).toBe(2);
      expect(Number(steps![2])).toBeGreaterThanOrEqual(1);
      const sent = /^([\d.]+) (B|KiB|MiB)$/.exec(row(first.summary, 'Context sent') ?? '');
      expect(sent).not.toBeNull();
      const bytes = Number(sent![1]) * { B: 1, KiB: 1024, MiB: 1024 * 1024 }[sent![2] as 'B' | 'KiB' | 'MiB'];
      // Busybox and the Dockerfile went over the session, once.
      expect(bytes).toBeGreaterThan(statSync(busybox()).size * 0.95);

      const second = await runAction({ builder: BUILDKIT_HOST, context, tags: tag, push: 'true' }, { env: { GITHUB_WORKSPACE: context } });
      expect(second.code).toBe(0);
      expect(row(second.summary, 'Steps')).toBe('2 cached, 0 run (100% cached)');
      // Same directory, same shared key: the daemon kept its copy, nothing big is resent.
      expect(row(second.summary, 'Context sent')).toMatch(/^\d+ B$/);
    });
  });

  // -------------------------------------------------------------------------
  describe('the context on the wire', () => {
    test('every byte of a context of many small files and a big one arrives as it is', async () => {
      // Past the daemon's flow-control windows many times over (the big file alone is 40 MiB), and
      // thousands of small files answered one request each: checked by the daemon's own hashes.
      const context = makeContext({
        Dockerfile: `${PROLOGUE}COPY tree /ctx\nRUN cd /ctx && /bin/busybox find . -type f | /bin/busybox sort | /bin/busybox xargs /bin/busybox sha256sum | /bin/busybox sha256sum && echo "${nonce()}"\n`,
      });
      const files = new Map<string, Buffer>();
      for (let i = 0; i < 2000; i++) files.set(`d${String(i % 40).padStart(2, '0')}/f${String(i).padStart(4, '0')}.bin`, randomBytes((i * 7919) % 6000));
      files.set('big/blob.bin', randomBytes(40 * 1024 * 1024));
      for (const [name, content] of files) {
        mkdirSync(join(context, 'tree', dirname(name)), { recursive: true });
        writeFileSync(join(context, 'tree', name), content);
      }
      // What `sha256sum` prints for the sorted list, hashed once more.
      const listing = [...files.keys()]
        .sort()
        .map((name) => `${createHash('sha256').update(files.get(name)!).digest('hex')}  ./${name}\n`)
        .join('');
      const expected = createHash('sha256').update(listing).digest('hex');
      const run = await runAction({ builder: BUILDKIT_HOST, context }, { env: { GITHUB_WORKSPACE: context } });
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`${expected}  -`);
    });
  });

  describe('cancellation', () => {
    let server: Server;
    let port = 0;
    const hits: { path: string; at: number }[] = [];
    beforeAll(async () => {
      server = createServer((req, res) => {
        hits.push({ path: req.url ?? '', at: Date.now() });
        res.end('ok\n');
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const address = server.address();
      port = typeof address === 'object' && address ? address.port : 0;
    });
    afterAll(async () => {
      await new Promise((r) => server.close(r));
    });

    test('SIGINT during a RUN step stops the step on the daemon, fails main quickly, and post still runs', async () => {
      const id = nonce();
      const context = makeContext({
        Dockerfile: `${PROLOGUE}RUN echo "step ${id} running" && /bin/busybox wget -q -O- http://127.0.0.1:${port}/started/${id} && sleep 4 && /bin/busybox wget -q -O- http://127.0.0.1:${port}/reached/${id}\n`,
      });
      let child: ChildProcess | undefined;
      let stdout = '';
      let signalledAt = 0;
      let exitedAt = 0;
      const running = runAction(
        { builder: BUILDKIT_HOST, context },
        {
          env: { GITHUB_WORKSPACE: context },
          onMain: (c) => {
            child = c;
            c.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
            c.once('exit', () => (exitedAt = Date.now()));
          },
        },
      );
      // Wait until the step is really executing: its header is printed and it called us.
      const deadline = Date.now() + 60_000;
      while (!(stdout.includes('] RUN echo') && hits.some((h) => h.path === `/started/${id}`))) {
        if (Date.now() > deadline) throw new Error('the RUN step did not start');
        await new Promise((r) => setTimeout(r, 50));
      }
      const started = hits.find((h) => h.path === `/started/${id}`)!.at;
      await new Promise((r) => setTimeout(r, Math.max(0, started + 1500 - Date.now())));
      signalledAt = Date.now();
      child!.kill('SIGINT');
      const run = await running;

      expect(run.code).not.toBe(0);
      // The runner's SIGKILL follows SIGINT after 7.5 s; main must be gone well before (about 2 s here).
      expect(exitedAt - signalledAt).toBeLessThan(3000);
      expect(run.stdout).toContain('::warning::received SIGINT: cancelling the build');
      expect(run.stdout.split('\n').filter((l) => l.startsWith('::error::'))).toEqual(['::error::build cancelled']);
      // A cancelled build is not a failed step.
      expect(run.stdout).not.toContain('::error title=Build step failed');
      expect(run.post?.code).toBe(0);
      expect(run.post?.stderr).toBe('');

      // Without the cancel the step would call /reached about 2.5 s after the signal.
      await new Promise((r) => setTimeout(r, Math.max(0, signalledAt + 8000 - Date.now())));
      expect(hits.filter((h) => h.path === `/reached/${id}`)).toEqual([]);
    });
  });
  // -------------------------------------------------------------------------
  describe('multi-platform, annotations and provenance', () => {
    // COPY only: no RUN, so no emulator is needed for the foreign platform. The stamp makes each image new.
    const copyOnly = (): string => makeContext({ Dockerfile: 'FROM scratch\nCOPY busybox stamp.txt /bin/\n', 'stamp.txt': nonce() });

    test('two platforms push one index: digest, registry, metadata and annotations at both levels agree', async () => {
      const repo = uniqueRepo('multi');
      const context = copyOnly();
      const run = await runAction(
        {
          builder: BUILDKIT_HOST,
          context,
          tags: `${E2E_REGISTRY}/${repo}:1`,
          push: 'true',
          platforms: 'linux/amd64,linux/arm64',
          annotations: 'org.opencontainers.image.title=plain level\nmanifest:org.example.manifest=on every manifest\nindex:org.opencontainers.image.description=the index',
        },
        { env: { GITHUB_WORKSPACE: context } },
      );
      expect(run.code).toBe(0);
      const digest = run.outputs.digest!;
      expect(await registryDigest(E2E_REGISTRY, repo, '1')).toBe(digest);
      expect(run.outputs.imageid).toBe('');
      expect(run.outputs.images).toBe(`${E2E_REGISTRY}/${repo}@${digest}`);

      const index = await getManifest(repo, '1');
      expect(INDEX_TYPES).toContain(index.mediaType);
      expect(index.manifests!.map((m) => `${m.platform!.os}/${m.platform!.architecture}`).sort()).toEqual(['linux/amd64', 'linux/arm64']);
      expect(index.annotations).toEqual({ 'org.opencontainers.image.description': 'the index' });
      for (const m of index.manifests!) {
        const child = await getManifest(repo, m.digest);
        expect(IMAGE_MANIFEST_TYPES).toContain(child.mediaType);
        expect(child.annotations).toEqual({ 'org.opencontainers.image.title': 'plain level', 'org.example.manifest': 'on every manifest' });
      }

      // The daemon reports the index's descriptor, not the per-platform manifests (those are in the index itself).
      const metadata = JSON.parse(run.outputs.metadata!) as Record<string, unknown>;
      expect(metadata['containerimage.digest']).toBe(digest);
      expect(metadata['containerimage.descriptor']).toMatchObject({ digest, mediaType: index.mediaType });
      // Build information per platform exists up to v0.11; v0.12 replaced it with provenance attestations.
      const buildinfo = Object.keys(metadata).filter((k) => k.startsWith('containerimage.buildinfo/')).sort();
      if (versionAtLeast(await daemonVersion(), 'v0.12.0')) expect(buildinfo).toEqual([]);
      else expect(buildinfo).toEqual(['containerimage.buildinfo/linux/amd64', 'containerimage.buildinfo/linux/arm64']);
      expect(run.summary).toContain('<code>linux/amd64</code> <code>linux/arm64</code>');
    });

    test('without provenance or sbom a single platform stays a plain manifest', async () => {
      const repo = uniqueRepo('plain');
      const context = copyOnly();
      const run = await runAction(
        { builder: BUILDKIT_HOST, context, tags: `${E2E_REGISTRY}/${repo}:1`, push: 'true', annotations: 'org.example.single=yes' },
        { env: { GITHUB_WORKSPACE: context } },
      );
      expect(run.code).toBe(0);
      const manifest = await getManifest(repo, '1');
      expect(IMAGE_MANIFEST_TYPES).toContain(manifest.mediaType);
      expect(manifest.manifests).toBeUndefined();
      expect(manifest.annotations).toEqual({ 'org.example.single': 'yes' });
      expect(await registryDigest(E2E_REGISTRY, repo, '1')).toBe(run.outputs.digest);
      expect(run.outputs.imageid).toBe(manifest.config!.digest);
    });

    test('index: annotations on a single-platform build fail with a line naming the input', async () => {
      const context = copyOnly();
      const run = await runAction({ builder: BUILDKIT_HOST, context, annotations: 'index:org.example.lost=x' }, { env: { GITHUB_WORKSPACE: context } });
      expect(run.code).toBe(1);
      expect(run.stdout.split('\n').filter((l) => l.startsWith('::error::'))).toEqual([
        '::error::Input "annotations": index:org.example.lost needs an image index, but this build exports a single-platform manifest; build several platforms, enable provenance, or drop the index: prefix',
      ]);
    });

    test('provenance: mode=min pushes an index with an attestation manifest naming this run as builder', async () => {
      const repo = uniqueRepo('provenance');
      const context = copyOnly();
      const runUrl = `https://github.com/octo/app/actions/runs/4242/attempts/1`;
      const run = await runAction(
        { builder: BUILDKIT_HOST, context, tags: `${E2E_REGISTRY}/${repo}:1`, push: 'true', provenance: 'mode=min' },
        { env: { GITHUB_WORKSPACE: context, GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'octo/app', GITHUB_RUN_ID: '4242', GITHUB_RUN_ATTEMPT: '1' } },
      );
      expect(run.code).toBe(0);
      const index = await getManifest(repo, '1');
      expect(index.mediaType).toBe(MANIFEST_TYPES.ociIndex);
      expect(await registryDigest(E2E_REGISTRY, repo, '1')).toBe(run.outputs.digest);
      const image = index.manifests!.find((m) => m.platform?.architecture === 'amd64');
      const attestation = index.manifests!.find((m) => m.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest');
      expect(image).toBeDefined();
      expect(attestation?.annotations?.['vnd.docker.reference.digest']).toBe(image!.digest);

      const attestationManifest = await getManifest(repo, attestation!.digest);
      const layer = attestationManifest.layers!.find((l) => l.annotations?.['in-toto.io/predicate-type']?.includes('slsa.dev/provenance'));
      expect(layer).toBeDefined();
      type Statement = { predicateType: string; predicate: { builder?: { id?: string }; runDetails?: { builder?: { id?: string } } } };
      const statement = JSON.parse((await getBlob(repo, layer!.digest)).toString('utf8')) as Statement;
      // SLSA v0.2 puts the builder at the top of the predicate; v1 (newer daemons' default) under runDetails.
      expect(['https://slsa.dev/provenance/v0.2', 'https://slsa.dev/provenance/v1']).toContain(statement.predicateType);
      const builder = statement.predicateType.endsWith('/v1') ? statement.predicate.runDetails?.builder : statement.predicate.builder;
      expect(builder?.id).toBe(runUrl);
    });
  });
});
