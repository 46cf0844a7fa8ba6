// The real envd CLI through the whole action: `build.envd` compiled by envd,
// solved on a real buildkitd through the action's gateway, pushed under two
// tags, over plain tcp and over mutual TLS.
//
// What envd needs from a base image, found with the real CLI (v1.3.4):
// - envd reads the base image's config itself (containers/image, in the CLI
//   process) before it builds, so the image must be in a registry the CLI
//   can reach; a plain-HTTP one must be listed as insecure in
//   /etc/containers/registries.conf.d (scripts/peers.sh writes that entry).
// - every `run()` command is executed as `bash -c`, so the image needs bash.
// - `dev=True` adds images from ghcr.io (a curl container, sshd), out of
//   reach offline; `dev=False` with `io.copy`, `runtime.environ` and `run`
//   needs nothing else.
// The base image is built here by the action itself: a static busybox and a
// static bash (Debian's busybox-static and bash-static).
import { jest } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { runAction } from '../../helpers/run-action.js';
import { FreezableProxy } from '../../helpers/fake-builder.js';
import { pushEnvdBaseImage } from './base-image.js';
import { BUILDKIT_HOST, E2E_REGISTRY, makeContext, registryDigest, uniqueRepo } from '../env.js';

jest.setTimeout(300_000);

const ENVD_BIN = process.env.ENVD_BIN ?? '';
const TLS_HOST = process.env.BUILDKIT_TLS_HOST ?? '';
const TLS_DIR = process.env.BUILDKIT_TLS_DIR ?? '';
const TLS_SERVER_NAME = process.env.BUILDKIT_TLS_SERVER_NAME ?? 'buildkitd.internal';
const ready = !!(ENVD_BIN && BUILDKIT_HOST && E2E_REGISTRY && TLS_HOST && TLS_DIR);
if (!ready) {
  process.stderr.write('\n!!! REAL ENVD END-TO-END SKIPPED: needs ENVD_BIN, BUILDKIT_HOST, BUILDKIT_TLS_HOST, BUILDKIT_TLS_DIR and E2E_REGISTRY (scripts/peers.sh env VERSION)\n\n');
}

const envdVersion = (): string => execFileSync(ENVD_BIN, ['version', '--short']).toString().split(':').pop()!.trim();

interface Manifest {
  readonly config: { readonly digest: string };
}
async function imageConfig(repo: string, tag: string): Promise<{ config?: { Env?: string[] } }> {
  const accept = 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';
  const manifest = (await (await fetch(`http://${E2E_REGISTRY}/v2/${repo}/manifests/${tag}`, { headers: { Accept: accept } })).json()) as Manifest;
  return (await (await fetch(`http://${E2E_REGISTRY}/v2/${repo}/blobs/${manifest.config.digest}`)).json()) as { config?: { Env?: string[] } };
}

(ready ? describe : describe.skip)(`the real envd CLI through the action`, () => {
  let base = '';

  beforeAll(async () => {
    base = await pushEnvdBaseImage('envd-base');
  });

  function project(marker: string): string {
    return makeContext({
      'data.txt': `${marker}\n`,
      'build.envd': [
        '# syntax=v1',
        '',
        'def build():',
        `    base(image="${base}", dev=False)`,
        '    runtime.environ(env={"GREETING": "hello from envd"})',
        '    io.copy(source="data.txt", target="/opt/data.txt")',
        '    run(commands=["test \\"$(cat /opt/data.txt)\\" = ' + marker + '", "echo built-$(cat /opt/data.txt)"])',
        '',
      ].join('\n'),
    });
  }

  async function buildAndCheck(inputs: Record<string, string>): Promise<void> {
    const marker = `m${Date.now().toString(36)}`;
    const context = project(marker);
    const repo = uniqueRepo('envd');
    const tags = [`${E2E_REGISTRY}/${repo}:1`, `${E2E_REGISTRY}/${repo}:latest`];
    const run = await runAction(
      { ...inputs, context, file: 'build.envd', tags: tags.join('\n'), push: 'true', 'envd-version': envdVersion() },
      { env: { GITHUB_WORKSPACE: context, PATH: `${dirname(ENVD_BIN)}:${process.env.PATH}` } },
    );
    expect(run.code).toBe(0);
    // The RUN step's output came from envd's build on the daemon.
    expect(run.stdout).toContain(`built-${marker}`);
    const digest = run.outputs.digest!;
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await registryDigest(E2E_REGISTRY, repo, '1')).toBe(digest);
    expect(await registryDigest(E2E_REGISTRY, repo, 'latest')).toBe(digest);
    expect(run.outputs.images).toBe(`${E2E_REGISTRY}/${repo}@${digest}`);
    // One platform: the daemon's, as the pushed image config declares it.
    const pushed = (await imageConfig(repo, '1')) as { os?: string; architecture?: string };
    expect(JSON.parse(run.outputs.digests!)).toEqual({ [`${pushed.os}/${pushed.architecture}`]: digest });
    // envd's own image config reached the registry: the environment it declared.
    const config = await imageConfig(repo, '1');
    expect(config.config?.Env).toContain('GREETING=hello from envd');
    expect(run.post?.code).toBe(0);
  }

  test('over plain tcp: two tags pushed, digest equals the registry', async () => {
    await buildAndCheck({ builder: BUILDKIT_HOST });
  });

  test('over mutual TLS: the gateway adds TLS upstream, digest equals the registry', async () => {
    await buildAndCheck({
      builder: TLS_HOST,
      'tls-ca': join(TLS_DIR, 'ca.pem'),
      'tls-cert': join(TLS_DIR, 'cert.pem'),
      'tls-key': join(TLS_DIR, 'key.pem'),
      'tls-server-name': TLS_SERVER_NAME,
    });
  });

  test('a failing run() fails the step with one error line, and nothing is pushed', async () => {
    const context = makeContext({
      'build.envd': `# syntax=v1\n\ndef build():\n    base(image="${base}", dev=False)\n    run(commands=["echo about-to-fail", "exit 7"])\n`,
    });
    const repo = uniqueRepo('envd-fail');
    const run = await runAction(
      { builder: BUILDKIT_HOST, context, file: 'build.envd', tags: `${E2E_REGISTRY}/${repo}:1`, push: 'true', 'envd-version': envdVersion() },
      { env: { GITHUB_WORKSPACE: context, PATH: `${dirname(ENVD_BIN)}:${process.env.PATH}` } },
    );
    expect(run.code).toBe(1);
    const errors = run.stdout.split('\n').filter((l) => l.startsWith('::error'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/exit code: 7/);
    expect(await registryDigest(E2E_REGISTRY, repo, '1')).toBeUndefined();
    expect(run.post?.code).toBe(0);
  });

  test('a builder lost before the envd build started: the build moves to the next builder', async () => {
    // The first builder answers the action's probe, then every connection
    // to it drops as it opens (it restarted, a load balancer moved, ...):
    // the gateway's connection for envd among them.
    const proxy = await FreezableProxy.start(BUILDKIT_HOST);
    let connections = 0;
    proxy.connections.on('connection', () => {
      if (++connections > 1) proxy.drop();
    });
    try {
      const marker = `m${Date.now().toString(36)}`;
      const context = project(marker);
      const repo = uniqueRepo('envd-failover');
      const run = await runAction(
        { builder: `${proxy.address}\n${BUILDKIT_HOST}`, fallback: 'never', context, file: 'build.envd', tags: `${E2E_REGISTRY}/${repo}:1`, push: 'true', 'envd-version': envdVersion() },
        { env: { GITHUB_WORKSPACE: context, PATH: `${dirname(ENVD_BIN)}:${process.env.PATH}` } },
      );
      expect(connections).toBeGreaterThan(1);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`built-${marker}`);
      const warnings = run.stdout.split('\n').filter((l) => l.startsWith('::warning'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(`lost the connection to builder ${proxy.address} before the build started (`);
      expect(warnings[0]).toContain('trying the next builder');
      expect(await registryDigest(E2E_REGISTRY, repo, '1')).toBe(run.outputs.digest);
      expect(run.post?.code).toBe(0);
    } finally {
      proxy.drop();
      await proxy.close();
    }
  });
});
