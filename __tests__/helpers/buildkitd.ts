// Throw-away buildkitd instances for e2e tests that need a builder of their
// own (a second daemon of the same version, daemons that declare another
// platform): own --root, own unix socket in a private (0700) directory,
// OCI worker only. stop() ends the process and removes everything.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { probeBuilder, type BuilderInfo } from '../../src/buildkit/probe.js';
import { parseEndpoint } from '../../src/buildkit/endpoint.js';

export interface TestDaemon {
  /** `unix:///…/buildkitd.sock` */
  readonly address: string;
  /** The daemon's --root: its content store holds every blob it exported. */
  readonly root: string;
  readonly info: BuilderInfo;
  /** True when the daemon's content store holds this blob (`sha256:…`). */
  hasBlob(digest: string): boolean;
  stop(): Promise<void>;
}

export interface StartTestDaemonOptions {
  readonly bin: string;
  /** --oci-worker-platform values: the platforms the worker declares as its own. */
  readonly platforms?: readonly string[];
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * `--otel-socket-path <dir>/otel.sock` when the binary has the flag (v0.25
 * and v0.34 do, v0.11 does not). Without it a buildkitd running as root binds
 * its trace socket at the fixed /run/buildkit/otel-grpc.sock after removing
 * whatever is there, and two started at the same moment (native-builders)
 * fail with "address already in use".
 */
function otelSocketArgs(bin: string, dir: string): string[] {
  const help = spawnSync(bin, ['--help'], { encoding: 'utf8', timeout: 10_000 });
  return `${help.stdout ?? ''}${help.stderr ?? ''}`.includes('--otel-socket-path') ? ['--otel-socket-path', join(dir, 'otel.sock')] : [];
}

export async function startTestDaemon(options: StartTestDaemonOptions): Promise<TestDaemon> {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-buildkitd-'));
  chmodSync(dir, 0o700);
  const root = join(dir, 'root');
  const address = `unix://${join(dir, 'buildkitd.sock')}`;
  const log = join(dir, 'buildkitd.log');
  // Its own trace socket: two daemons started together would race for the default path.
  const args = ['--root', root, '--addr', address, ...otelSocketArgs(options.bin, dir), '--oci-worker=true', '--containerd-worker=false'];
  for (const p of options.platforms ?? []) args.push('--oci-worker-platform', p);
  const out = openSync(log, 'a', 0o600);
  // buildkit-runc sits next to buildkitd.
  const child = spawn(options.bin, args, { stdio: ['ignore', out, out], env: { ...process.env, PATH: `${dirname(options.bin)}:${process.env.PATH ?? ''}` } });
  closeSync(out);
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      if (!(await waitForExit(child, 15_000))) {
        child.kill('SIGKILL');
        await waitForExit(child, 5_000);
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // The probe takes a refused connection as final. The socket file appears
    // at bind(), a moment before listen(); buildkitd logs "running server on"
    // once it listens, so wait for both.
    const socket = address.slice('unix://'.length);
    const listening = (): boolean => existsSync(socket) && readFileSync(log, 'utf8').includes('running server on');
    const deadline = Date.now() + 60_000;
    while (!listening()) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`buildkitd exited (${child.exitCode ?? child.signalCode})`);
      if (Date.now() > deadline) throw new Error('no socket after 60 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    const info = await probeBuilder(parseEndpoint(address), 60_000);
    return {
      address,
      root,
      info,
      hasBlob: (digest) => {
        const [algorithm, hex] = digest.split(':');
        // The OCI worker keeps its content store under <root>/runc-<snapshotter>/content.
        return ['runc-overlayfs', 'runc-native', 'runc-fuse-overlayfs'].some((w) => existsSync(join(root, w, 'content', 'blobs', algorithm!, hex!)));
      },
      stop,
    };
  } catch (err) {
    const tail = existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-20).join('\n') : '';
    await stop();
    throw new Error(`test buildkitd did not start: ${(err as Error).message}\n${tail}`);
  }
}
