// Starts a real distribution registry (Debian package `docker-registry`) for
// tests, optionally behind htpasswd auth (package `apache2-utils`), so auth
// code is checked against the real 401 challenge instead of a mock's idea of it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface StartRegistryOptions {
  /** Require HTTP basic auth for this single user (realm "test"). */
  readonly htpasswd?: { readonly user: string; readonly password: string };
  /**
   * Require Bearer tokens from this token service (the registry's `auth.token`
   * config): the registry checks each token's signature against the PEM
   * certificate in `rootCertBundle` and its `access` claims.
   */
  readonly token?: { readonly realm: string; readonly service: string; readonly issuer: string; readonly rootCertBundle: string };
}

export interface RunningRegistry {
  /** `127.0.0.1:PORT`, the form the daemon sends as `Auth.Credentials{Host}`. */
  readonly host: string;
  stop(): Promise<void>;
}

const REGISTRY_BINARY = 'docker-registry';
const HTPASSWD_BINARY = 'htpasswd';
// Someone else's registry may already be on the default port; never use it.
const RESERVED_PORTS = new Set([5000]);
const READY_TIMEOUT_MS = 20_000;

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

/** Names of the tools the registry tests need that are not installed. */
export function missingRegistryTools(): string[] {
  return [REGISTRY_BINARY, HTPASSWD_BINARY].filter((name) => findOnPath(name) === undefined);
}

/** True when both `docker-registry` and `htpasswd` are on PATH. */
export function registryAvailable(): boolean {
  return missingRegistryTools().length === 0;
}

/**
 * `describe` for suites that need a real registry. Without the tools the
 * suite is skipped with a loud warning locally, but FAILS when CI=true:
 * CI installs the packages, so a silent skip there would hide lost coverage.
 */
export function describeWithRegistry(name: string, fn: () => void): void {
  const missing = missingRegistryTools();
  if (missing.length === 0) {
    describe(name, fn);
    return;
  }
  const line = '!'.repeat(78);
  const banner = [
    line,
    `!! ${name}: SKIPPED — missing ${missing.join(', ')} on PATH`,
    '!! install with: apt-get install -y docker-registry apache2-utils',
    line,
  ].join('\n');
  if (process.env.CI === 'true') {
    describe(name, () => {
      it('has a real registry available (required when CI=true)', () => {
        throw new Error(`${banner}\nCI=true: the real-registry tests must not be skipped`);
      });
    });
    return;
  }
  // Straight to stderr: jest drops buffered console output of a fully skipped file.
  process.stderr.write(`\n${banner}\n\n`);
  describe.skip(name, fn);
}

/** A free TCP port on 127.0.0.1 (asks the kernel; never a reserved one). */
async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.unref();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        const p = typeof address === 'object' && address ? address.port : 0;
        server.close(() => resolve(p));
      });
    });
    if (port > 0 && !RESERVED_PORTS.has(port)) return port;
  }
}

function bcryptLine(user: string, password: string): string {
  // -i: password on stdin, not in argv where `ps` would show it. -B: the registry only accepts bcrypt.
  const result = spawnSync(HTPASSWD_BINARY, ['-n', '-i', '-B', '-C', '5', user], { input: password, encoding: 'utf8' });
  if (result.error) throw new Error(`cannot run ${HTPASSWD_BINARY}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${HTPASSWD_BINARY} exited with ${result.status}: ${result.stderr.trim()}`);
  const line = result.stdout.trim();
  if (!line.startsWith(`${user}:`)) throw new Error(`${HTPASSWD_BINARY} printed an unexpected line`);
  return `${line}\n`;
}

function registryConfig(port: number, storage: string, htpasswdPath: string | undefined, token: StartRegistryOptions['token']): string {
  const lines = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(storage)}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    // Fixed secret: avoids the "no secret set" warning; these registries are single-instance and short-lived.
    '  secret: envd-remote-build-tests',
    'health:',
    '  storagedriver:',
    '    enabled: false',
  ];
  if (htpasswdPath) {
    lines.push('auth:', '  htpasswd:', '    realm: test', `    path: ${JSON.stringify(htpasswdPath)}`);
  } else if (token) {
    lines.push(
      'auth:',
      '  token:',
      `    realm: ${JSON.stringify(token.realm)}`,
      `    service: ${JSON.stringify(token.service)}`,
      `    issuer: ${JSON.stringify(token.issuer)}`,
      `    rootcertbundle: ${JSON.stringify(token.rootCertBundle)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

async function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Starts a registry on a free 127.0.0.1 port and waits until `GET /v2/` answers. */
export async function startRegistry(options: StartRegistryOptions = {}): Promise<RunningRegistry> {
  const missing = missingRegistryTools();
  if (missing.length > 0) throw new Error(`cannot start a registry: missing ${missing.join(', ')} on PATH`);

  // The port could be taken between our probe and the registry's bind; try a few.
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), 'envd-registry-'));
    try {
      return await startOnce(dir, await freePort(), options);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      lastError = err as Error;
      if (!/address already in use/i.test(lastError.message)) throw lastError;
    }
  }
  throw lastError ?? new Error('registry did not start');
}

async function startOnce(dir: string, port: number, options: StartRegistryOptions): Promise<RunningRegistry> {
  const storage = join(dir, 'storage');
  let htpasswdPath: string | undefined;
  if (options.htpasswd) {
    htpasswdPath = join(dir, 'htpasswd');
    writeFileSync(htpasswdPath, bcryptLine(options.htpasswd.user, options.htpasswd.password), { mode: 0o600 });
  }
  const configPath = join(dir, 'config.yml');
  writeFileSync(configPath, registryConfig(port, storage, htpasswdPath, options.token));

  const child = spawn(REGISTRY_BINARY, ['serve', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer): void => {
    // Only needed to explain a failed start; bound it.
    if (output.length < 16_384) output += chunk.toString('utf8');
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let spawnError: Error | undefined;
  child.once('error', (err) => {
    spawnError = err;
  });
  // 'close' comes after the output pipes are drained, so the start-up error text is complete.
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));

  const host = `127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      if (!(await waitForExit(child, 5_000))) {
        child.kill('SIGKILL');
        await waitForExit(child, 5_000);
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (spawnError) {
      await stop();
      throw new Error(`cannot run ${REGISTRY_BINARY}: ${spawnError.message}`);
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      await Promise.race([closed, new Promise((r) => setTimeout(r, 1_000))]);
      await stop();
      throw new Error(`${REGISTRY_BINARY} exited during start-up (${child.exitCode ?? child.signalCode}): ${output.trim()}`);
    }
    try {
      const res = await fetch(`http://${host}/v2/`, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) return { host, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error(`${REGISTRY_BINARY} did not answer on ${host} within ${READY_TIMEOUT_MS / 1000} s: ${output.trim()}`);
}
