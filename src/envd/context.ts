// One private, throwaway envd context per job.
//
// envd keeps its contexts, config, caches and an SSH key pair under
// $HOME/.config/envd and $HOME/.cache/envd (envd pkg/util/fileutil: derived
// from os.UserHomeDir(), i.e. $HOME; XDG variables are not consulted). On a
// self-hosted runner several jobs share one HOME, so a shared context file
// would let jobs switch each other's builder mid-build. Every envd command
// therefore runs with HOME pointing at a fresh 0700 directory of its own,
// while DOCKER_CONFIG keeps pointing at the runner's real registry logins.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TextSink } from '../github/command-guard.js';
import * as runner from '../github/runner.js';
import { runCommand, describeExit } from './proc.js';
import { pathExists } from '../common/files.js';
import { MAX_SOCKET_PATH_BYTES } from './gateway/socket.js';
import { throwIfCancelled } from '../common/cancel.js';

/** Serialisable (JSON) record of a created context; enough to clean up from the post step. */
export interface EnvdContextRecord {
  /** envd context name, unique per job, run, attempt and call. */
  readonly name: string;
  /** Absolute path of the private HOME used for every envd command. */
  readonly home: string;
  /** Absolute path of the envd binary. */
  readonly envdPath: string;
}

export interface CreateEnvdHomeOptions {
  /**
   * The envd binary, when already known. The action creates the home first
   * (envd is probed in it, see InstallEnvdOptions.probeHome) and records the
   * binary afterwards; a record without one is cleaned up without envd.
   */
  readonly envdPath?: string;
  /**
   * Called with the record before anything is created on disk, so the caller
   * can save it as state first: if main dies midway, post still finds (and
   * removes) whatever part of it exists.
   */
  readonly onRecord?: (record: EnvdContextRecord) => void | Promise<void>;
}

export interface CreateEnvdContextOptions {
  /** Absolute path of the gateway's unix socket (see gatewaySocketPath). */
  readonly builderSocket: string;
  readonly connectTimeoutMs: number;
  /** Where envd's output goes (default: the job log, with workflow commands stopped). */
  readonly out?: TextSink;
  /** The job's cancel: envd is stopped, the half-made context removed, and the error says so. */
  readonly signal?: AbortSignal;
}

/** Every private home's directory name starts with this; removal refuses other paths. */
export const ENVD_HOME_PREFIX = 'envd-home-';
/**
 * The envd gateway's socket, inside the private home: that directory is 0700,
 * so no other local user can reach the builder through the gateway.
 */
export const GATEWAY_SOCKET_NAME = 'gateway.sock';
/** envd's name for the builder-timeout variable (envd pkg/buildkitd/buildkitd.go). */
export const ENVD_CONNECT_TIMEOUT_ENV = 'BUILDKIT_CONNECTING_TIMEOUT';
/**
 * envd polls the builder once per second and only after the first second, so
 * a timeout at or below ~1s can never succeed (pkg/buildkitd waitUntilConnected).
 */
const MIN_CONNECT_TIMEOUT_MS = 3000;
const CONTEXT_COMMAND_TIMEOUT_MS = 60_000;
/** Per envd call during cleanup; post may run while the job is being cancelled. */
const CLEANUP_COMMAND_TIMEOUT_MS = 15_000;
const WITHHELD_FROM_ENVD = ['ACTIONS_RUNTIME_TOKEN', 'ACTIONS_ID_TOKEN_REQUEST_TOKEN', 'ACTIONS_ID_TOKEN_REQUEST_URL'] as const;

/**
 * The registry-login directory the runner's own docker/login steps wrote to.
 * Must be resolved from the real HOME: under the private HOME the docker
 * config library envd uses would look for <private>/.docker and find nothing.
 */
export function realDockerConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env['DOCKER_CONFIG'];
  if (explicit) return path.resolve(explicit);
  return path.join(env['HOME'] || os.homedir(), '.docker');
}

/** Go duration string for BUILDKIT_CONNECTING_TIMEOUT (envd panics on anything time.ParseDuration rejects). */
export function envdConnectTimeoutValue(connectTimeoutMs: number): string {
  const ms = Number.isFinite(connectTimeoutMs) ? Math.round(connectTimeoutMs) : 0;
  return `${Math.max(ms, MIN_CONNECT_TIMEOUT_MS)}ms`;
}

/**
 * Environment for every envd command of this context: the runner's env
 * (PATH, proxies, CA settings, GITHUB_TOKEN for envd's gh-release helpers)
 * with our overrides on top.
 */
export function envdEnv(
  record: Pick<EnvdContextRecord, 'home'>,
  connectTimeoutMs: number,
  base: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  const inherited = { ...base };
  // The runner hands node actions credentials for its own services (cache,
  // artifacts, OIDC). envd uses none of them, so it does not get them.
  for (const k of WITHHELD_FROM_ENVD) delete inherited[k];
  return {
    ...inherited,
    HOME: record.home,
    DOCKER_CONFIG: realDockerConfigDir(base),
    // Off in CI: no telemetry from users' build jobs (global flag --analytics, env ENVD_ANALYTICS).
    ENVD_ANALYTICS: 'false',
    [ENVD_CONNECT_TIMEOUT_ENV]: envdConnectTimeoutValue(connectTimeoutMs),
    // envd's progress printer honours BUILDKIT_PROGRESS and errors on values
    // it does not know (e.g. rawjson); plain is right for a log anyway.
    BUILDKIT_PROGRESS: 'plain',
  };
}

/** A name envd can store and the log can show: job id + run + attempt + random. */
export function uniqueContextName(env: NodeJS.ProcessEnv = process.env, random: string = randomBytes(4).toString('hex')): string {
  const clean = (s: string | undefined, max: number) =>
    (s ?? '').replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '').slice(0, max);
  const parts = [
    'erb',
    clean(env['GITHUB_JOB'], 40) || 'job',
    clean(env['GITHUB_RUN_ID'], 20) || 'local',
    clean(env['GITHUB_RUN_ATTEMPT'], 5) || '1',
    // Random part: two invocations in one job (matrix reuse, composite
    // actions calling us twice) must not collide.
    random,
  ];
  return parts.join('-');
}

/**
 * Computes the record without touching the disk. The home is named by the
 * random part only (the context name can be ~80 characters), so that the
 * socket path inside it stays within the unix socket limit.
 */
export function planEnvdContext(envdPath: string | undefined, env: NodeJS.ProcessEnv = process.env): EnvdContextRecord {
  const random = randomBytes(4).toString('hex');
  const name = uniqueContextName(env, random);
  const base = env['RUNNER_TEMP'] || os.tmpdir();
  return { name, home: path.join(path.resolve(base), `${ENVD_HOME_PREFIX}${random}`), envdPath: envdPath ? path.resolve(envdPath) : '' };
}

/** Where the gateway listens for this context: `<home>/gateway.sock`. */
export function gatewaySocketPath(record: Pick<EnvdContextRecord, 'home'>): string {
  return path.join(record.home, GATEWAY_SOCKET_NAME);
}

/**
 * Plans the context and creates its private 0700 HOME (which will also hold
 * the gateway's socket). Throws before touching the disk if the socket path
 * would be too long for a unix socket.
 */
export async function createEnvdHome(opts: CreateEnvdHomeOptions): Promise<EnvdContextRecord> {
  const record = planEnvdContext(opts.envdPath);
  const socket = gatewaySocketPath(record);
  const bytes = Buffer.byteLength(socket);
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    throw new Error(
      `RUNNER_TEMP (${path.dirname(record.home)}) is too long for envd's builder socket: ${socket} is ${bytes} bytes, ` +
        `unix sockets allow ${MAX_SOCKET_PATH_BYTES}`,
    );
  }
  await opts.onRecord?.(record);
  try {
    await fs.mkdir(path.dirname(record.home), { recursive: true });
    // Not recursive for the leaf: an existing directory of that name would
    // mean a collision, and we must neither adopt nor remove someone else's
    // directory.
    await fs.mkdir(record.home, { mode: 0o700 });
  } catch (err) {
    throw new Error(`Could not create envd's private home ${record.home}: ${(err as Error).message}`);
  }
  try {
    // mkdir's mode is filtered by the umask; state 0700 explicitly.
    await fs.chmod(record.home, 0o700);
  } catch (err) {
    await removeEnvdContext(record);
    throw new Error(`Could not make envd's private home ${record.home} private: ${(err as Error).message}`);
  }
  return record;
}

/**
 * Runs `envd context create --name <name> --builder unix --builder-address <socket> --use`
 * in the record's home (made by createEnvdHome). envd prefixes the address
 * with `unix://` itself, so it gets the bare path. On failure the context
 * and its home are removed before the error is thrown.
 */
export async function createEnvdContext(record: EnvdContextRecord, opts: CreateEnvdContextOptions): Promise<void> {
  if (!path.isAbsolute(opts.builderSocket)) {
    throw new Error(`envd builder socket ${opts.builderSocket} is not an absolute path`);
  }
  try {
    const args = envdContextCreateArgs(record.name, opts.builderSocket);
    const r = await runCommand(record.envdPath, args, {
      env: envdEnv(record, opts.connectTimeoutMs),
      out: opts.out ?? runner.untrustedStream,
      timeoutMs: CONTEXT_COMMAND_TIMEOUT_MS,
      tailLines: 20,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    throwIfCancelled(opts.signal, 'creating the envd context');
    if (r.code !== 0) {
      throw new Error(
        `envd context create failed (${describeExit(r, CONTEXT_COMMAND_TIMEOUT_MS)})` +
          (r.tail.length ? `; envd said:\n${r.tail.join('\n')}` : ''),
      );
    }
    runner.info(`envd context ${record.name} uses the builder gateway at ${opts.builderSocket}`);
  } catch (err) {
    await removeEnvdContext(record);
    throw err;
  }
}

export function envdContextCreateArgs(name: string, builderSocket: string): string[] {
  return ['context', 'create', '--name', name, '--builder', 'unix', '--builder-address', builderSocket, '--use'];
}

/**
 * Best-effort, idempotent cleanup, safe from the post step with a record of a
 * context that was only partly created (or never: then nothing happens).
 * Never throws: cleanup problems are reported as warnings.
 *
 * envd refuses to remove the current context, so the default one is selected
 * first. Strictly the `rm` is redundant (the whole private HOME goes next) but
 * it keeps envd's own view consistent should the directory outlive us.
 */
export async function removeEnvdContext(record: Partial<EnvdContextRecord> | undefined): Promise<void> {
  if (!record?.home || !record.name) return;
  const home = record.home;
  if (!isOurHome(home)) {
    runner.warning(`Not removing ${home}: it does not look like an envd home created by this action`);
    return;
  }
  if (!(await pathExists(home))) return;

  if (record.envdPath && (await pathExists(path.join(home, '.config', 'envd')))) {
    const env = envdEnv({ home }, 0);
    for (const args of [
      ['context', 'use', '--name', 'default'],
      ['context', 'rm', '--name', record.name],
    ]) {
      const r = await runCommand(record.envdPath, args, { env, timeoutMs: CLEANUP_COMMAND_TIMEOUT_MS, tailLines: 5 });
      if (r.code !== 0) {
        runner.debug(`envd ${args.join(' ')}: ${describeExit(r, CLEANUP_COMMAND_TIMEOUT_MS)}: ${r.tail.join(' | ')}`);
        break;
      }
    }
  }
  try {
    await fs.rm(home, { recursive: true, force: true, maxRetries: 3 });
  } catch (err) {
    runner.warning(`Could not remove envd's private home ${home}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * The record may come back from saved state; before `rm -rf` make sure it is
 * one of ours: absolute, normalised, and named with our prefix.
 */
function isOurHome(home: string): boolean {
  return (
    path.isAbsolute(home) &&
    path.resolve(home) === home &&
    path.basename(home).startsWith(ENVD_HOME_PREFIX) &&
    path.basename(home).length > ENVD_HOME_PREFIX.length
  );
}

