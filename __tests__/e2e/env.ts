// Shared setup of the end-to-end suite. It needs a real buildkitd
// (BUILDKIT_HOST) and a real registry (E2E_REGISTRY, plain HTTP on loopback);
// without them every e2e test is skipped, and says so loudly.
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import compareVersions from 'semver/functions/compare.js';
import { tempDir } from '../helpers/temp-dirs.js';

export const BUILDKIT_HOST = process.env.BUILDKIT_HOST ?? '';
export const E2E_REGISTRY = process.env.E2E_REGISTRY ?? '';
export const e2eEnabled = !!BUILDKIT_HOST && !!E2E_REGISTRY;

export function describeE2E(name: string, fn: () => void): void {
  if (e2eEnabled) {
    describe(name, fn);
    return;
  }
  const banner = [
    '',
    '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
    `!!! END-TO-END SUITE SKIPPED: ${name}`,
    '!!! set BUILDKIT_HOST (a real buildkitd) and E2E_REGISTRY (host:port) to run it',
    '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
    '',
  ].join('\n');
  // Jest hides console output of files whose tests are all skipped; stderr is not hidden.
  process.stderr.write(banner + '\n');
  describe.skip(name, fn);
}

/** A static busybox to put a shell into FROM-scratch images (no image pulls needed). */
export function busybox(): string {
  for (const p of ['/bin/busybox', '/usr/bin/busybox']) if (existsSync(p)) return p;
  throw new Error('busybox-static is needed for the e2e suite (apt-get install busybox-static)');
}

/** Writes a build context with the given files (and a busybox binary) into a new temp dir. */
export function makeContext(files: Record<string, string>): string {
  const dir = tempDir('e2e-ctx-');
  copyFileSync(busybox(), join(dir, 'busybox'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

/** The manifest digest the registry reports for a reference (HEAD with the manifest media types). */
export async function registryDigest(host: string, repo: string, tag: string, auth?: { user: string; password: string }): Promise<string | undefined> {
  const headers: Record<string, string> = {
    Accept: [
      'application/vnd.docker.distribution.manifest.v2+json',
      'application/vnd.docker.distribution.manifest.list.v2+json',
      'application/vnd.oci.image.manifest.v1+json',
      'application/vnd.oci.image.index.v1+json',
    ].join(', '),
  };
  if (auth) headers.Authorization = `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`;
  const res = await fetch(`http://${host}/v2/${repo}/manifests/${tag}`, { method: 'HEAD', headers });
  if (res.status !== 200) return undefined;
  return res.headers.get('docker-content-digest') ?? undefined;
}

export function uniqueRepo(prefix: string): string {
  return `e2e/${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

/** htpasswd (bcrypt) line for the registry's auth file. */
export function htpasswdLine(user: string, password: string): string {
  return execFileSync('htpasswd', ['-nbB', user, password]).toString().trim();
}

/**
 * The version the daemon under test reports about itself (Control.Info), so
 * assertions follow what the daemon really is, not what a test expects it to be.
 */
export async function daemonVersion(host: string = BUILDKIT_HOST): Promise<string> {
  const { probeBuilder } = await import('../../src/buildkit/probe.js');
  const { parseEndpoint } = await import('../../src/buildkit/endpoint.js');
  const info = await probeBuilder(parseEndpoint(host), 10_000);
  const version = info.version?.version;
  if (!version) throw new Error(`${host} did not report its version`);
  return version;
}

/** Is `version` (vX.Y.Z, as a daemon reports it) at least `min`? */
export function versionAtLeast(version: string, min: string): boolean {
  return compareVersions(version.replace(/^v/, ''), min.replace(/^v/, '')) >= 0;
}
