// Runs the bundled action (dist/index.js) the way the GitHub runner does:
// inputs as INPUT_* variables, outputs and state through the files named by
// GITHUB_OUTPUT and GITHUB_STATE, and the post step with STATE_* variables.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readAsRunner } from './workflow-commands.js';
import { parseFileCommands } from './file-commands.js';
import { tempDir } from './temp-dirs.js';

/** The bundle under test; E2E_ACTION_DIST points at another build of it (e.g. one made outside dist/). */
export const DIST = process.env.E2E_ACTION_DIST || resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../../dist/index.js');

/**
 * The Node.js that runs the bundle: E2E_ACTION_NODE, which the test command
 * sets to the version action.yml declares (scripts/action-node.sh), so the
 * end-to-end suite runs the action on GitHub's runtime; else this one.
 */
export const ACTION_NODE = process.env.E2E_ACTION_NODE || process.execPath;

export interface ActionRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly outputs: Record<string, string>;
  readonly state: Record<string, string>;
  /** What main appended to GITHUB_STEP_SUMMARY ('' when nothing). */
  readonly summary: string;
}

export { parseFileCommands };

/** Why a run failed, for a test's error: its error lines first (a long log would push them out of the tail), then the tail and stderr. */
export function actionFailure(run: { code: number; stdout: string; stderr: string }): string {
  const errors = run.stdout.split('\n').filter((l) => l.startsWith('::error'));
  return [`the action exited with ${run.code}`, ...errors, '--- last lines:', run.stdout.slice(-3000), '--- stderr:', run.stderr.slice(-1000)].join('\n');
}

function toInputEnv(inputs: Record<string, string>): Record<string, string> {
  // The runner upper-cases names and turns spaces into underscores; dashes stay.
  return Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.replace(/ /g, '_').toUpperCase()}`, v]));
}

function run(env: NodeJS.ProcessEnv, timeoutMs: number, onSpawn?: (child: ChildProcess) => void): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(ACTION_NODE, [DIST], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    onSpawn?.(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? -1, stdout, stderr });
    });
  });
}

export interface RunOptions {
  readonly env?: Record<string, string>;
  readonly timeoutMs?: number;
  /** Also run the post step afterwards (as the runner does, even after failure). */
  readonly post?: boolean;
  /**
   * Called with main's process right after it is spawned, e.g. to watch its
   * stdout and send it SIGINT as the runner does when a job is cancelled.
   * Post is not affected: it always runs to completion.
   */
  readonly onMain?: (child: ChildProcess) => void;
}

/** Runs main (and post) of the action; returns main's result plus post's output. */
export async function runAction(inputs: Record<string, string>, options: RunOptions = {}): Promise<ActionRun & { post?: { code: number; stdout: string; stderr: string } }> {
  // Each run's files (outputs, state, RUNNER_TEMP, the tool cache), removed
  // when the test file ends: results are read from what runAction returns.
  const dir = tempDir('action-run-');
  const files = { GITHUB_OUTPUT: join(dir, 'output'), GITHUB_STATE: join(dir, 'state'), GITHUB_STEP_SUMMARY: join(dir, 'summary'), GITHUB_ENV: join(dir, 'env'), GITHUB_PATH: join(dir, 'path') };
  for (const f of Object.values(files)) writeFileSync(f, '');
  const base: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    RUNNER_TEMP: join(dir, 'runner-temp'),
    RUNNER_TOOL_CACHE: join(dir, 'tool-cache'),
    GITHUB_WORKSPACE: process.cwd(),
    GITHUB_ACTIONS: 'true',
    GITHUB_JOB: 'test',
    GITHUB_RUN_ID: String(process.pid),
    GITHUB_RUN_ATTEMPT: '1',
    ...files,
    ...options.env,
    ...toInputEnv(inputs),
  };
  const main = await run(base, options.timeoutMs ?? 300_000, options.onMain);
  // As the runner does: the live ::set-output / ::save-state commands on
  // stdout count too (the files, read when the step ends, win).
  const live = readAsRunner(main.stdout).live;
  const fromStdout = (command: string) => Object.fromEntries(live.filter((c) => c.command === command && c.properties['name']).map((c) => [c.properties['name']!, c.data]));
  const outputs = { ...fromStdout('set-output'), ...parseFileCommands(readFileSync(files.GITHUB_OUTPUT, 'utf8')) };
  const summary = readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8');
  const state = { ...fromStdout('save-state'), ...parseFileCommands(readFileSync(files.GITHUB_STATE, 'utf8')) };
  let post;
  if (options.post !== false) {
    const stateEnv = Object.fromEntries(Object.entries(state).map(([k, v]) => [`STATE_${k}`, v]));
    post = await run({ ...base, ...stateEnv }, options.timeoutMs ?? 120_000);
  }
  return { ...main, outputs, state, summary, ...(post ? { post } : {}) };
}
