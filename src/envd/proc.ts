// Runs the envd CLI: no shell (arguments go to execve as an array, so tags,
// paths and cache attributes are never re-parsed), output streamed live into
// the job log, and the last lines kept so a failure can quote them.
import { spawn } from 'node:child_process';
import type { TextSink } from '../github/command-guard.js';

export interface RunOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Where output goes as it arrives; omitted = nowhere (captured only). */
  readonly out?: TextSink;
  /** How many trailing lines to keep for error messages. */
  readonly tailLines?: number;
  /** Kill the process (SIGTERM, then SIGKILL) after this long. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Keep all of stdout (capped) in the result, e.g. for `envd version`. */
  readonly captureStdout?: boolean;
}

export interface RunResult {
  /** Exit code, or null when ended by a signal or never started. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Last lines of stdout and stderr, interleaved in arrival order. */
  readonly tail: readonly string[];
  readonly stdout: string;
  readonly timedOut: boolean;
  /** Set when the executable could not be started at all (ENOENT, EACCES). */
  readonly spawnError?: Error;
}

const STDOUT_CAPTURE_LIMIT = 64 * 1024;

/** Splits a stream of text chunks into lines; a line may span chunks. */
class LineSplitter {
  private partial = '';

  /** Returns the lines completed by this chunk. */
  push(chunk: string): string[] {
    const parts = (this.partial + chunk).split(/\r?\n|\r/);
    this.partial = parts.pop() ?? '';
    return parts;
  }

  /** The unterminated rest, if any, at end of stream. */
  finish(): string[] {
    const rest = this.partial;
    this.partial = '';
    return rest === '' ? [] : [rest];
  }
}

/** Never rejects: the caller decides what a non-zero exit means. */
export function runCommand(file: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  return new Promise((resolve) => {
    // stdout and stderr get separate splitters so a half line on one is not
    // glued to a line of the other; the shared tail keeps arrival order.
    const max = opts.tailLines ?? 50;
    const tail: string[] = [];
    const keep = (lines: readonly string[]) => {
      if (max <= 0) return;
      tail.push(...lines);
      if (tail.length > max) tail.splice(0, tail.length - max);
    };
    const splitters = [new LineSplitter(), new LineSplitter()] as const;
    let stdout = '';
    let timedOut = false;
    let settled = false;
    let killTimer: NodeJS.Timeout | undefined;
    let hardKillTimer: NodeJS.Timeout | undefined;

    const child = spawn(file, [...args], {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      shell: false,
      windowsHide: true,
    });

    const stop = () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      hardKillTimer = setTimeout(() => child.kill('SIGKILL'), 5000);
      hardKillTimer.unref();
    };
    if (opts.timeoutMs !== undefined) {
      killTimer = setTimeout(() => {
        timedOut = true;
        stop();
      }, opts.timeoutMs);
    }
    const onAbort = () => stop();
    // An already-aborted signal fires no event: stop right away.
    if (opts.signal?.aborted) stop();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });

    const attach = (stream: NodeJS.ReadableStream, idx: 0 | 1) => {
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        opts.out?.write(chunk);
        if (idx === 0 && opts.captureStdout && stdout.length < STDOUT_CAPTURE_LIMIT) stdout += chunk;
        keep(splitters[idx].push(chunk));
      });
    };
    attach(child.stdout, 0);
    attach(child.stderr, 1);

    const finish = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error) => {
      if (settled) return;
      settled = true;
      if (killTimer) clearTimeout(killTimer);
      if (hardKillTimer) clearTimeout(hardKillTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      for (const s of splitters) keep(s.finish());
      resolve({ code, signal, tail, stdout, timedOut, ...(spawnError ? { spawnError } : {}) });
    };
    child.on('error', (err) => finish(null, null, err));
    // 'close' (not 'exit') so all piped output has been read before we resolve.
    child.on('close', (code, signal) => finish(code, signal));
  });
}

/** "exit code 3" / "killed by SIGTERM" / "timed out after 30s" / "could not start: ..." */
export function describeExit(r: RunResult, timeoutMs?: number): string {
  if (r.spawnError) return `could not start: ${r.spawnError.message}`;
  if (r.timedOut) return `timed out after ${Math.round((timeoutMs ?? 0) / 1000)}s`;
  if (r.signal) return `killed by ${r.signal}`;
  return `exit code ${r.code ?? 'unknown'}`;
}
