// State handed from the main step to the post step.
//
// Main and post are two processes (`runs.main` and `runs.post` both run
// dist/index.js); the runner carries values between them: runner.saveState
// appends `name<<delimiter` records to the file named by GITHUB_STATE, and in
// post each arrives as the environment variable STATE_<name>. We store one
// JSON value per top-level field, so post can clean up whatever main started
// even if main died half-way (every save is on disk immediately).

import * as runner from '../github/runner.js';

// The records the owning modules already define as JSON-serialisable, so
// post hands them back to the same modules' stop/remove functions unchanged.
import type { LocalDaemonHandle } from '../builder/local/daemon.js';
import type { EnvdContextRecord } from '../envd/context.js';

/**
 * The schema. Every field is optional: post must cope with a main that
 * stopped anywhere. Post checks every path it is given before acting on it
 * (post.ts): there is deliberately no "delete these paths" field. Other modules add fields by declaration merging, e.g.
 *
 *     declare module '../action/state.js' {
 *       interface ActionState { buildRef?: string }
 *     }
 *
 * Field names become environment variable names (STATE_<name>), so they must
 * be identifiers, and values must survive JSON.stringify.
 */
export interface ActionState {
  /** Set by main at its start; index.ts reads it to know it runs as post. */
  isPost?: boolean;
  /** The local fallback buildkitd main started; post stops it and removes its stateDir. */
  localBuilder?: LocalDaemonHandle;
  /** The envd context (private HOME) main created; post removes it. */
  envdContext?: EnvdContextRecord;
}

const STATE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** What main has saved so far; saveState only ever sends the fields it is given. */
let saved: ActionState = {};

/**
 * Saves fields for post. Fields not named are left as they were; a field
 * given as `undefined` is cleared (post will see it absent), e.g. after main
 * already stopped the local builder itself.
 */
export function saveState(partial: Partial<ActionState>): void {
  const next: Record<string, unknown> = { ...saved };
  for (const [name, value] of Object.entries(partial)) {
    if (!STATE_NAME.test(name)) throw new Error(`state field "${name}" must be an identifier (it becomes STATE_${name})`);
    // '' reads back as "not set" in post (runner.getState returns '' for both).
    runner.saveState(name, value === undefined ? '' : JSON.stringify(value));
    if (value === undefined) delete next[name];
    else next[name] = value;
  }
  saved = next as ActionState;
}

/** What this process has saved so far (main's view). */
export function savedState(): Readonly<ActionState> {
  return saved;
}

/**
 * Reads the state main saved (post's view), from the STATE_* variables the
 * runner sets. Values that are not our JSON are skipped: a corrupt entry must
 * not stop post from cleaning up the rest.
 */
export function loadState(env: NodeJS.ProcessEnv = process.env): ActionState {
  const state: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(env)) {
    if (!key.startsWith('STATE_') || raw === undefined || raw === '') continue;
    const name = key.slice('STATE_'.length);
    try {
      state[name] = JSON.parse(raw) as unknown;
    } catch {
      runner.debug(`ignoring state ${name}: not JSON`);
    }
  }
  return state as ActionState;
}

/** True in the post step: main saved isPost before doing anything else. */
export function isPost(env: NodeJS.ProcessEnv = process.env): boolean {
  return env['STATE_isPost'] === 'true';
}

/** Forgets what this process saved; for tests that simulate several runs. */
export function resetSavedState(): void {
  saved = {};
}
