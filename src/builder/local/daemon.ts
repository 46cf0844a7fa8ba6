// Starting and stopping our own buildkitd. The main step starts it detached and
// records a serialisable handle; the post step (a different Node process) stops
// it from that handle alone, so everything stop needs is in the handle or in
// /proc, and stop never signals a PID it cannot prove is ours.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseEndpoint, type BuilderEndpoint } from '../../buildkit/endpoint.js';
import type { BuilderInfo } from '../../buildkit/probe.js';
import type { LocalDaemonMode } from './preflight.js';
import { pathExists } from '../../common/files.js';
import { CancelledError, sleep as cancellableSleep } from '../../common/cancel.js';
import { execSimple } from '../../common/exec.js';
import { stopAppArmorProfile } from './apparmor.js';

export type { LocalDaemonMode } from './preflight.js';

/** Everything the post step needs to stop the daemon. JSON-serialisable. */
export interface LocalDaemonHandle {
  /** rootful: buildkitd; rootless: rootlesskit (the parent of buildkitd); sudo: buildkitd (running as root). */
  readonly pid: number;
  /** Process group we may signal as a whole (absent for sudo: the daemon is root's, signalled via sudo). */
  readonly pgid?: number;
  /** Private directory holding state, socket, config and log; removed by stop. */
  readonly stateDir: string;
  /** `unix://<stateDir>/buildkitd.sock` */
  readonly socket: string;
  readonly mode: LocalDaemonMode;
  /** ISO 8601. */
  readonly startedAt: string;
  readonly logFile: string;
  /** rootless: the rootlesskit binary, reused to delete files owned by sub-UIDs. */
  readonly rootlesskit?: string;
  /** An AppArmor profile we loaded for rootlesskit; unloaded and deleted by stop. */
  readonly apparmorProfile?: string;
}

export type ProbeFn = (endpoint: BuilderEndpoint, timeoutMs: number, signal?: AbortSignal) => Promise<BuilderInfo>;

export interface StartLocalDaemonOptions {
  readonly mode: LocalDaemonMode;
  /** Absolute path of buildkitd. */
  readonly buildkitd: string;
  /** Its version (`v0.25.2`), as installBuildkit found it; decides the flags it is given. */
  readonly version?: string;
  /** Absolute path of rootlesskit; required for rootless. */
  readonly rootlesskit?: string;
  /** `buildkitd-config-inline`, written to `<stateDir>/buildkitd.toml`. */
  readonly configToml?: string;
  /** Parent of the private directory; default RUNNER_TEMP, else the OS temp dir. */
  readonly parentDir?: string;
  /** Prepended to buildkitd's PATH (the BuildKit bin dir, so buildkit-runc is found). */
  readonly extraPath?: readonly string[];
  /** How long to wait for the daemon to answer; default 60 s. */
  readonly readyTimeoutMs?: number;
  /**
   * rootless only: pass --oci-worker-no-process-sandbox. Off by default: it lets
   * build steps signal and ptrace every process of the runner user (the runner
   * itself included) and is only needed where a PID namespace cannot be made,
   * e.g. inside an unprivileged container. Verified: RUN steps work without it
   * on a VM-like host once XDG_RUNTIME_DIR points at a writable directory.
   */
  readonly noProcessSandbox?: boolean;
  /** sudo only: group owning the socket; default our gid. */
  readonly socketGid?: number;
  /** An AppArmor profile already loaded for rootlesskit, recorded so stop unloads it. */
  readonly apparmorProfile?: string;
  readonly probe: ProbeFn;
  readonly log?: (line: string) => void;
  /**
   * The job's cancel: the wait for the daemon ends at once, the daemon is
   * stopped and its directory removed, and CancelledError is thrown.
   */
  readonly signal?: AbortSignal;
  /**
   * Called synchronously right after the spawn, before the daemon answers
   * (again once sudo reports the daemon's own PID), so the caller can record
   * it for post: a job cancelled or killed from here on must not leak it.
   */
  readonly onSpawn?: (handle: LocalDaemonHandle) => void;
}

export interface LocalDaemon {
  readonly handle: LocalDaemonHandle;
  readonly endpoint: BuilderEndpoint;
  readonly info: BuilderInfo;
}

/** sun_path is 108 bytes including the NUL. */
const MAX_SOCKET_PATH = 107;
const LOG_TAIL_LINES = 30;

/**
 * From v0.13 on, buildkitd running as root serves its trace collector at the
 * fixed /run/buildkit/otel-grpc.sock, mode 0666, after removing whatever is
 * there: it would take that path from a buildkitd already running on the
 * host, and any local user could reach the socket. `--otel-socket-path`
 * (added in the same release) puts it in our private directory instead.
 * Decided from the version we installed, not by running the binary first: a
 * run before the spawn is recorded could not be cancelled or cleaned up.
 * Before v0.13 the socket lives under `--root`, which is ours already.
 */
export function traceSocketArgs(version: string | undefined, stateDir: string): string[] {
  const m = /^v?(\d+)\.(\d+)\./.exec(version ?? '');
  if (!m) return [];
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 0 || minor >= 13 ? ['--otel-socket-path', path.join(stateDir, 'otel.sock')] : [];
}

/** Starts buildkitd detached and waits until it answers Info/ListWorkers. */
export async function startLocalDaemon(options: StartLocalDaemonOptions): Promise<LocalDaemon> {
  if (options.mode === 'rootless' && !options.rootlesskit) throw new Error('rootless mode needs the path of rootlesskit');
  const cancelled = () => new CancelledError(`starting buildkitd (${options.mode})`);
  if (options.signal?.aborted) throw cancelled();
  const stateDir = await makeStateDir(options.parentDir);
  const socketPath = path.join(stateDir, 'buildkitd.sock');
  const socket = `unix://${socketPath}`;
  const logFile = path.join(stateDir, 'buildkitd.log');
  const endpoint = parseEndpoint(socket);

  const daemonArgs = ['--root', path.join(stateDir, 'root'), '--addr', socket, ...traceSocketArgs(options.version, stateDir)];
  const config = options.configToml?.trim();
  if (config) {
    const configFile = path.join(stateDir, 'buildkitd.toml');
    await fs.writeFile(configFile, `${config}\n`, { mode: 0o600 });
    daemonArgs.push('--config', configFile);
  }
  // Runners with Docker have /run/containerd/containerd.sock; buildkitd would
  // also start a containerd worker against the host's containerd. Only the OCI
  // worker is ours, unless the user's config chooses workers itself.
  if (!config || !/\[\s*worker\./.test(config)) daemonArgs.push('--oci-worker=true', '--containerd-worker=false');

  const envPath = [...(options.extraPath ?? []), path.dirname(options.buildkitd), process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin', '/usr/local/sbin:/usr/sbin:/sbin'].join(path.delimiter);
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: envPath };

  let command: string;
  let args: string[];
  const pidFile = path.join(stateDir, 'daemon.pid');
  switch (options.mode) {
    case 'rootful':
      command = options.buildkitd;
      args = daemonArgs;
      break;
    case 'rootless': {
      // runc inside the namespace believes it is root and would use /run/runc;
      // a private XDG_RUNTIME_DIR gives it (and rootlesskit) a directory we own.
      const xdg = path.join(stateDir, 'xdg');
      await fs.mkdir(xdg, { mode: 0o700 });
      env['XDG_RUNTIME_DIR'] = xdg;
      command = options.rootlesskit!;
      args = [
        `--state-dir=${path.join(stateDir, 'rootlesskit')}`,
        '--net=host',
        '--copy-up=/etc',
        '--disable-host-loopback',
        options.buildkitd,
        ...(options.noProcessSandbox ? ['--oci-worker-no-process-sandbox'] : []),
        ...daemonArgs,
      ];
      break;
    }
    case 'sudo': {
      // sudo resets PATH (secure_path), so `env` puts ours back for buildkit-runc.
      // The shell records its own PID and execs buildkitd, so the PID file names
      // the daemon itself, not sudo; stop signals it through `sudo kill`.
      const gid = options.socketGid ?? process.getgid?.() ?? 0;
      command = 'sudo';
      args = ['-n', '--', 'env', `PATH=${envPath}`, 'sh', '-c', 'echo $$ > "$0" && exec "$@"', pidFile, options.buildkitd, '--group', String(gid), ...daemonArgs];
      break;
    }
  }

  if (options.signal?.aborted) {
    // Nothing runs yet: only the directory to remove.
    await fs.rm(stateDir, { recursive: true, force: true });
    throw cancelled();
  }
  const out = openSync(logFile, 'a', 0o600);
  let child: ChildProcess;
  try {
    child = spawn(command, args, { detached: true, stdio: ['ignore', out, out], env, cwd: stateDir });
  } finally {
    closeSync(out);
  }
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => resolve(signal ? `was killed by ${signal}` : `exited with code ${code}`));
    child.once('error', (err) => resolve(`could not be started: ${err.message}`));
  });
  child.unref();
  const startedAt = new Date().toISOString();
  const spawnedPid = child.pid;

  const describe = `buildkitd (${options.mode})`;
  const partial = (pid: number): LocalDaemonHandle => ({
    pid,
    ...(options.mode === 'sudo' ? {} : { pgid: pid }),
    stateDir,
    socket,
    mode: options.mode,
    startedAt,
    logFile,
    ...(options.mode === 'rootless' ? { rootlesskit: options.rootlesskit! } : {}),
    ...(options.apparmorProfile ? { apparmorProfile: options.apparmorProfile } : {}),
  });

  // Recorded before anything else can happen (for sudo, sudo's PID until the daemon's own is known).
  if (spawnedPid !== undefined) options.onSpawn?.(partial(spawnedPid));

  const timeoutMs = options.readyTimeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  let exitReason: string | undefined;
  void exited.then((r) => (exitReason = r));
  const { signal } = options;

  try {
    if (spawnedPid === undefined) {
      throw new Error(`${describe} ${await exited}${await logTailSuffix(logFile)}`);
    }
    let pid = spawnedPid;
    if (options.mode === 'sudo') {
      pid = await waitForPidFile(pidFile, deadline, () => exitReason, signal);
      options.onSpawn?.(partial(pid));
    }

    const info = await waitUntilReady({ endpoint, socketPath, deadline, probe: options.probe, exitReason: () => exitReason, timeoutMs, signal });
    const handle = partial(pid);
    options.log?.(`${describe} is ready at ${socket} (pid ${pid})`);
    return { handle, endpoint, info };
  } catch (err) {
    const wasCancelled = err instanceof CancelledError || !!signal?.aborted;
    const reason = exitReason ? `${describe} ${exitReason} before it became ready` : err instanceof Error ? err.message : String(err);
    // Read the log before anything deletes it, then clear away the attempt.
    const tail = await logTailSuffix(logFile);
    if (!exitReason && spawnedPid !== undefined) {
      if (options.mode === 'sudo') {
        // Root's process: only via sudo kill, and only after the ownership check.
        const pid = await readPidFile(pidFile);
        if (pid !== undefined) await stopLocalDaemon(partial(pid), { termTimeoutMs: 5000 }).catch(() => undefined);
      } else {
        // Our own child that has not exited: its group is ours whatever it exec'd into.
        await killGroup(spawnedPid, () => exitReason !== undefined);
      }
    }
    await removeStateDir(partial(spawnedPid ?? 2)).catch(() => undefined);
    if (wasCancelled) throw cancelled();
    throw new Error(`${reason}${tail}`);
  }
}

/** SIGTERM to the group, SIGKILL after 5 s; `gone` reports the child's exit event. */
async function killGroup(pgid: number, gone: () => boolean): Promise<void> {
  const send = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pgid, sig);
    } catch {
      // already gone
    }
  };
  send('SIGTERM');
  for (let i = 0; i < 50 && !gone(); i++) await sleep(100);
  // Once the leader is reaped its PID may be handed out again; never signal it then.
  if (gone()) return;
  send('SIGKILL');
  for (let i = 0; i < 20 && !gone(); i++) await sleep(100);
}

async function makeStateDir(parentDir?: string): Promise<string> {
  let parent = parentDir ?? process.env['RUNNER_TEMP'] ?? os.tmpdir();
  // mkdtemp adds 6 characters; the socket name is 15 more.
  if (Buffer.byteLength(path.join(parent, 'envd-buildkitd-XXXXXX', 'buildkitd.sock')) > MAX_SOCKET_PATH) parent = os.tmpdir();
  await fs.mkdir(parent, { recursive: true });
  const dir = await fs.mkdtemp(path.join(parent, 'envd-buildkitd-'));
  await fs.chmod(dir, 0o700);
  return dir;
}

async function waitForPidFile(pidFile: string, deadline: number, exitReason: () => string | undefined, signal?: AbortSignal): Promise<number> {
  for (let delay = 20; ; delay = Math.min(delay * 2, 500)) {
    const pid = await readPidFile(pidFile);
    if (pid !== undefined) return pid;
    const reason = exitReason();
    if (reason) throw new Error(`sudo ${reason}`);
    if (Date.now() > deadline) throw new Error('sudo did not start buildkitd in time');
    await cancellableSleep(delay, signal, 'starting buildkitd');
  }
}

async function readPidFile(pidFile: string): Promise<number | undefined> {
  try {
    const n = Number.parseInt((await fs.readFile(pidFile, 'utf8')).trim(), 10);
    return Number.isInteger(n) && n > 1 ? n : undefined;
  } catch {
    return undefined;
  }
}

async function waitUntilReady(p: {
  endpoint: BuilderEndpoint;
  socketPath: string;
  deadline: number;
  timeoutMs: number;
  probe: ProbeFn;
  exitReason: () => string | undefined;
  signal?: AbortSignal | undefined;
}): Promise<BuilderInfo> {
  let delay = 50;
  let lastError = 'the socket never appeared';
  for (;;) {
    if (p.exitReason()) throw new Error('exited');
    if (p.signal?.aborted) throw new CancelledError('waiting for buildkitd to answer');
    const remaining = p.deadline - Date.now();
    if (remaining <= 0) break;
    // Dialling a socket that does not exist yet only burns the probe's deadline.
    if (await pathExists(p.socketPath)) {
      try {
        return await p.probe(p.endpoint, Math.max(250, Math.min(remaining, 5000)), p.signal);
      } catch (err) {
        if (err instanceof CancelledError) throw err;
        lastError = err instanceof Error ? err.message : String(err);
      }
    }
    if (p.exitReason()) throw new Error('exited');
    await cancellableSleep(Math.min(delay, Math.max(0, p.deadline - Date.now())), p.signal, 'waiting for buildkitd to answer');
    delay = Math.min(delay * 2, 2000);
  }
  throw new Error(`buildkitd did not become ready within ${Math.round(p.timeoutMs / 1000)}s (${lastError})`);
}

async function logTailSuffix(logFile: string): Promise<string> {
  const tail = await readLogTail(logFile, LOG_TAIL_LINES);
  return tail ? `; last lines of ${logFile}:\n${tail}` : `; ${logFile} is empty`;
}

/** Last `lines` lines of a log file ('' when missing or empty). */
export async function readLogTail(file: string, lines = LOG_TAIL_LINES): Promise<string> {
  try {
    const text = await fs.readFile(file, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export interface StopOptions {
  /** Wait after SIGTERM before SIGKILL; default 10 s. */
  readonly termTimeoutMs?: number;
  readonly log?: (line: string) => void;
}

export interface StopResult {
  /** A live daemon was signalled. */
  readonly signalled: boolean;
  /** SIGTERM was not enough. */
  readonly killed: boolean;
  /** The state directory existed and was removed. */
  readonly removed: boolean;
}

/**
 * Stops the daemon the handle describes and removes its directory. Idempotent.
 * Throws (without signalling anything) when the PID is alive but its command
 * line is not our buildkitd/rootlesskit for this state directory.
 */
export async function stopLocalDaemon(handle: LocalDaemonHandle, options: StopOptions = {}): Promise<StopResult> {
  validateHandle(handle);
  let signalled = false;
  let killed = false;
  if (await isAlive(handle.pid)) {
    const cmdline = await readCmdline(handle.pid);
    if (!isOurDaemon(cmdline, handle)) {
      throw new Error(
        `refusing to stop pid ${handle.pid}: it is not the buildkitd started for ${handle.stateDir} (its command line is "${cmdline.replace(/\0/g, ' ').slice(0, 200) || 'unreadable'}")`,
      );
    }
    signalled = true;
    await signalDaemon(handle, 'SIGTERM');
    if (!(await waitForExit(handle.pid, options.termTimeoutMs ?? 10_000))) {
      options.log?.(`buildkitd (pid ${handle.pid}) ignored SIGTERM for ${Math.round((options.termTimeoutMs ?? 10_000) / 1000)}s; sending SIGKILL`);
      killed = true;
      // Check again: between the wait and now the PID may have been freed and reused.
      if (isOurDaemon(await readCmdline(handle.pid), handle)) await signalDaemon(handle, 'SIGKILL');
      await waitForExit(handle.pid, 5000);
    }
  }
  const removed = await removeStateDir(handle);
  if (handle.apparmorProfile) await stopAppArmorProfile(handle.apparmorProfile).catch((err: unknown) => options.log?.(`could not remove ${handle.apparmorProfile}: ${String(err)}`));
  return { signalled, killed, removed };
}

function validateHandle(h: LocalDaemonHandle): void {
  // A handle comes back from action state; a corrupt one must not aim rm -rf or kill anywhere odd.
  if (!Number.isInteger(h.pid) || h.pid <= 1) throw new Error(`invalid local builder handle: pid ${String(h.pid)}`);
  if (h.pgid !== undefined && (!Number.isInteger(h.pgid) || h.pgid <= 1)) throw new Error(`invalid local builder handle: pgid ${String(h.pgid)}`);
  if (!path.isAbsolute(h.stateDir) || path.normalize(h.stateDir) !== h.stateDir || !path.basename(h.stateDir).startsWith('envd-buildkitd-')) {
    throw new Error(`invalid local builder handle: state directory "${h.stateDir}" is not one this action creates`);
  }
}

/** The command line names buildkitd or rootlesskit and our state directory. */
export function isOurDaemon(cmdline: string, handle: Pick<LocalDaemonHandle, 'stateDir'>): boolean {
  const args = cmdline.split('\0');
  const names = args.some((a) => /(^|\/)(buildkitd|rootlesskit)$/.test(a));
  const dirArg = args.some((a) => a === handle.stateDir || a.startsWith(`${handle.stateDir}/`) || a.includes(`=${handle.stateDir}/`) || a.includes(`//${handle.stateDir}/`));
  return names && dirArg;
}

async function readCmdline(pid: number): Promise<string> {
  try {
    return (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8')).replace(/\0+$/, '');
  } catch {
    return '';
  }
}

/** Alive = /proc entry exists and is not a zombie (zombies hold the PID but run nothing). */
async function isAlive(pid: number): Promise<boolean> {
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (await isAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
  return true;
}

async function signalDaemon(handle: LocalDaemonHandle, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  if (handle.mode === 'sudo') {
    await execSimple('sudo', ['-n', 'kill', `-${signal.slice(3)}`, String(handle.pid)]).catch(() => undefined);
    return;
  }
  // The group takes runc and rootlesskit's children along; we only own it when the leader is ours.
  const target = handle.pgid === handle.pid ? -handle.pid : handle.pid;
  try {
    process.kill(target, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Unmounts leftovers below the directory, then deletes it with the rights its files need. */
async function removeStateDir(handle: Pick<LocalDaemonHandle, 'stateDir' | 'mode' | 'rootlesskit'>): Promise<boolean> {
  if (!(await pathExists(handle.stateDir))) return false;
  const asRoot = handle.mode === 'sudo';
  if (handle.mode !== 'rootless') {
    // A daemon killed mid-build can leave overlay mounts; rm would fail with EBUSY.
    for (const mount of await mountsBelow(handle.stateDir)) {
      await (asRoot ? execSimple('sudo', ['-n', 'umount', '-l', mount]) : execSimple('umount', ['-l', mount])).catch(() => undefined);
    }
  }
  if (asRoot) {
    await execSimple('sudo', ['-n', 'rm', '-rf', '--', handle.stateDir]);
  } else {
    try {
      await fs.rm(handle.stateDir, { recursive: true, force: true });
    } catch (err) {
      // Rootless snapshots hold files owned by sub-UIDs; only inside the user namespace can we delete them.
      if (handle.mode !== 'rootless' || !handle.rootlesskit) throw err;
      const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'envd-rk-rm-'));
      try {
        await execSimple(handle.rootlesskit, [`--state-dir=${path.join(scratch, 'rk')}`, '--net=host', 'rm', '-rf', '--', handle.stateDir], {
          env: { XDG_RUNTIME_DIR: scratch },
        });
      } finally {
        await fs.rm(scratch, { recursive: true, force: true });
      }
    }
  }
  if (await pathExists(handle.stateDir)) throw new Error(`could not remove ${handle.stateDir}`);
  return true;
}

async function mountsBelow(dir: string): Promise<string[]> {
  try {
    const text = await fs.readFile('/proc/self/mountinfo', 'utf8');
    return text
      .split('\n')
      .map((l) => l.split(' ')[4])
      .filter((m): m is string => !!m && (m === dir || m.startsWith(`${dir}/`)))
      .map((m) => m.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
      .sort((a, b) => b.length - a.length);
  } catch {
    return [];
  }
}

// --- helpers ------------------------------------------------------------------



function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
