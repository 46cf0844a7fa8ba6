// End to end: the bundled action (dist/index.js), run as the runner runs it,
// builds on a real buildkitd and pushes to real registries.
import { jest } from '@jest/globals';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { actionFailure, runAction } from '../helpers/run-action.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';
import { startRacingRegistry } from '../helpers/racing-registry.js';
import { BUILDKIT_HOST, E2E_REGISTRY, describeE2E, makeContext, registryDigest, uniqueRepo } from './env.js';
import { tempDir } from '../helpers/temp-dirs.js';

jest.setTimeout(300_000);

const DOCKERFILE = `FROM scratch
COPY busybox /bin/busybox
COPY . /ctx
RUN ["/bin/busybox", "sh", "-c", "test -e /ctx/kept.txt && test ! -e /ctx/ignored.txt && /bin/busybox cat /ctx/kept.txt > /built-from"]
`;

function contextWithIgnore(): string {
  return makeContext({ Dockerfile: DOCKERFILE, 'kept.txt': `kept ${Date.now()}\n`, 'ignored.txt': 'must not be sent\n', '.dockerignore': 'ignored.txt\n' });
}

describeE2E('Dockerfile builds on a real buildkitd', () => {
  test('builds, pushes two tags, reports the registry digest; the rebuild is fully cached', async () => {
    const context = contextWithIgnore();
    const repo = uniqueRepo('app');
    const tags = [`${E2E_REGISTRY}/${repo}:1`, `${E2E_REGISTRY}/${repo}:latest`];
    const first = await runAction({ builder: BUILDKIT_HOST, context, tags: tags.join('\n'), push: 'true' }, { env: { GITHUB_WORKSPACE: context } });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const digest = first.outputs.digest!;
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await registryDigest(E2E_REGISTRY, repo, '1')).toBe(digest);
    expect(await registryDigest(E2E_REGISTRY, repo, 'latest')).toBe(digest);
    expect(first.outputs.imageid).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(first.outputs.images!.split('\n')).toEqual([`${E2E_REGISTRY}/${repo}@${digest}`]);
    const metadata = JSON.parse(first.outputs.metadata!) as Record<string, unknown>;
    expect(metadata['containerimage.digest']).toBe(digest);
    expect((metadata['containerimage.descriptor'] as { digest: string }).digest).toBe(digest);
    expect(first.stdout).toMatch(/\[3\/3\] RUN/);
    expect(first.stdout).toMatch(/::group::Building/);
    // post ran and cleaned up without complaint
    expect(first.post?.code).toBe(0);

    const second = await runAction({ builder: BUILDKIT_HOST, context, tags: tags.join('\n'), push: 'true' }, { env: { GITHUB_WORKSPACE: context } });
    expect(second.code).toBe(0);
    expect(second.outputs.digest).toBe(digest);
    const stepLines = second.stdout.split('\n').filter((l) => /^#\d+ \[\d+\/\d+\]/.test(l));
    expect(stepLines).toHaveLength(3);
    for (const l of stepLines) {
      const n = l.split(' ')[0];
      expect(second.stdout).toContain(`${n} CACHED`);
    }
  });

  test('the .dockerignore is what keeps ignored.txt out (control: without it the RUN check fails)', async () => {
    const context = makeContext({ Dockerfile: DOCKERFILE, 'kept.txt': 'kept\n', 'ignored.txt': 'x\n' });
    const run = await runAction({ builder: BUILDKIT_HOST, context }, { env: { GITHUB_WORKSPACE: context } });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/::error title=Build step failed%3A \[3\/3\] RUN/);
    expect(run.stdout).toMatch(/::error::.*did not complete successfully: exit code: 1/);
    expect(run.post?.code).toBe(0);
  });

  test('an image kept in the builder: digests names the platform the exporter recorded; workers are listed only for a build naming platforms', async () => {
    const native = `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`;
    const context = contextWithIgnore();
    const plain = await runAction({ builder: BUILDKIT_HOST, context }, { env: { GITHUB_WORKSPACE: context } });
    if (plain.code !== 0) throw new Error(actionFailure(plain));
    expect(JSON.parse(plain.outputs.digests!)).toEqual({ [native]: plain.outputs.digest });
    expect(plain.stdout).toMatch(/^Version: github\.com\/moby\/buildkit v/m);
    expect(plain.stdout).not.toMatch(/^Worker /m);

    const named = await runAction({ builder: BUILDKIT_HOST, context, platforms: native }, { env: { GITHUB_WORKSPACE: context } });
    if (named.code !== 0) throw new Error(actionFailure(named));
    expect(JSON.parse(named.outputs.digests!)).toEqual({ [native]: named.outputs.digest });
    expect(named.stdout).toMatch(new RegExp(`^Worker \\S+: ${native}`, 'm'));
  });

  test('fails over from an unreachable endpoint to the next one', async () => {
    const context = contextWithIgnore();
    const run = await runAction({ builder: `tcp://127.0.0.1:1\n${BUILDKIT_HOST}`, context, fallback: 'never' }, { env: { GITHUB_WORKSPACE: context } });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/tcp:\/\/127\.0\.0\.1:1 is not usable: connection refused/);
    expect(run.outputs.digest).toMatch(/^sha256:/);
  });

  test('a manifest the registry refuses as a lost upload race is pushed by a second, cached build', async () => {
    // Matrix jobs push into one repository at once, as the builders of one step do (native-builders.test.ts).
    const racing = await startRacingRegistry(E2E_REGISTRY, (n) => n === 1);
    try {
      const context = contextWithIgnore();
      const repo = uniqueRepo('race');
      const run = await runAction({ builder: BUILDKIT_HOST, context, tags: `${racing.address}/${repo}:1`, push: 'true' }, { env: { GITHUB_WORKSPACE: context } });
      if (run.code !== 0) throw new Error(actionFailure(run));
      expect(racing.refused).toEqual([`/v2/${repo}/manifests/1`]);
      const lines = run.stdout.split('\n');
      const warnings = lines.filter((l) => l.startsWith('::warning::'));
      expect(warnings).toEqual([
        `::warning::${BUILDKIT_HOST}: the registry refused the manifest, as a registry on filesystem storage does when two pushes of one blob meet; building it once more, from cache`,
      ]);
      // The second build found every step in the cache.
      const after = lines.slice(lines.indexOf(warnings[0]!) + 1);
      expect(after.some((l) => /^#\d+ \[\d\/\d\] RUN .* CACHED$|^#\d+ CACHED$/.test(l))).toBe(true);
      expect(await registryDigest(E2E_REGISTRY, repo, '1')).toBe(run.outputs.digest);
    } finally {
      await racing.close();
    }
  });

  describe('push to a registry that requires a login', () => {
    let registry: RunningRegistry;
    const user = 'ci-user';
    const password = 'p@ss:w0rd with spaces';
    beforeAll(async () => {
      registry = await startRegistry({ htpasswd: { user, password } });
    });
    afterAll(async () => registry?.stop());

    test('without credentials the push is refused', async () => {
      const context = contextWithIgnore();
      const config = tempDir('dockercfg-');
      writeFileSync(join(config, 'config.json'), '{}');
      const repo = uniqueRepo('denied');
      const run = await runAction({ builder: BUILDKIT_HOST, context, tags: `${registry.host}/${repo}:1`, push: 'true' }, { env: { GITHUB_WORKSPACE: context, DOCKER_CONFIG: config } });
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/::error::.*(401|unauthorized|authorization)/i);
    });

    test('with credentials from the docker config file', async () => {
      const context = contextWithIgnore();
      const config = tempDir('dockercfg-');
      const auth = Buffer.from(`${user}:${password}`).toString('base64');
      writeFileSync(join(config, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth } } }));
      const repo = uniqueRepo('auth');
      const run = await runAction({ builder: BUILDKIT_HOST, context, tags: `${registry.host}/${repo}:1`, push: 'true' }, { env: { GITHUB_WORKSPACE: context, DOCKER_CONFIG: config } });
      expect(run.code).toBe(0);
      // The only place the password may appear is the runner's own masking command.
      const visible = run.stdout.split('\n').filter((l) => !l.startsWith('::add-mask::'));
      expect(visible.join('\n')).not.toContain(password);
      expect(run.stdout).toContain(`::add-mask::${password}`);
      expect(await registryDigest(registry.host, repo, '1', { user, password })).toBe(run.outputs.digest);
    });

    test('with credentials from a credential helper', async () => {
      const context = contextWithIgnore();
      const config = tempDir('dockercfg-');
      const bin = tempDir('helper-bin-');
      const log = join(bin, 'calls.log');
      writeFileSync(
        join(bin, 'docker-credential-e2e'),
        `#!/bin/sh\nread key\necho "$1 $key" >> ${log}\nprintf '{"ServerURL":"%s","Username":"${user}","Secret":"${password}"}' "$key"\n`,
      );
      chmodSync(join(bin, 'docker-credential-e2e'), 0o755);
      writeFileSync(join(config, 'config.json'), JSON.stringify({ credHelpers: { [registry.host]: 'e2e' } }));
      const repo = uniqueRepo('helper');
      const run = await runAction(
        { builder: BUILDKIT_HOST, context, tags: `${registry.host}/${repo}:1`, push: 'true' },
        { env: { GITHUB_WORKSPACE: context, DOCKER_CONFIG: config, PATH: `${bin}:${process.env.PATH}` } },
      );
      expect(run.code).toBe(0);
      expect(await registryDigest(registry.host, repo, '1', { user, password })).toBe(run.outputs.digest);
      const { readFileSync } = await import('node:fs');
      expect(readFileSync(log, 'utf8')).toContain(`get ${registry.host}`);
    });
  });
});
