// One way to run a short command and wait for it: sudo probes and calls,
// umount, `--version`. The long-running and streaming cases (the daemon
// itself, envd, credential helpers) have their own spawning code, since they
// need detached process groups, streamed output or bounded stdin/stdout.
// Not @actions/exec: it has no timeout, and a hung `sudo` must not hang the job.
import { childProcess } from './child-process.js';

export interface ExecOptions {
  /** Killed (SIGTERM) after this long; default 60 s. */
  readonly timeoutMs?: number;
  /** Added to the current environment. */
  readonly env?: NodeJS.ProcessEnv;
}

/** Runs `cmd args`; resolves with its stdout, rejects with one line naming the command and its first stderr line. */
export function execSimple(cmd: string, args: readonly string[], options: ExecOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    childProcess().execFile(cmd, [...args], { timeout: options.timeoutMs ?? 60_000, env: { ...process.env, ...options.env } }, (err, stdout, stderr) => {
      if (!err) return resolve(String(stdout));
      const detail = String(stderr).trim().split('\n')[0] || err.message.split('\n')[0];
      reject(new Error(`${[cmd, ...args].join(' ')} failed: ${detail}`));
    });
  });
}

/** True when `cmd args` exits 0 within the timeout. */
export function execSucceeds(cmd: string, args: readonly string[], options: ExecOptions = {}): Promise<boolean> {
  return execSimple(cmd, args, options).then(
    () => true,
    () => false,
  );
}
