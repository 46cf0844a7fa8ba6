import * as fs from 'node:fs';
import * as path from 'node:path';

import type { LocalDaemonHandle } from '../../src/builder/local/daemon.js';
import { isPost, loadState, resetSavedState, savedState, saveState } from '../../src/action/state.js';
import { captureStdout, makeTempDir, parseFileCommands } from './helpers.js';

// Extending the schema the way other modules will (declaration merging).
declare module '../../src/action/state.js' {
  interface ActionState {
    testExtra?: { buildRef: string; count: number };
  }
}

const daemon: LocalDaemonHandle = {
  pid: 4242,
  pgid: 4242,
  stateDir: '/tmp/erb-a/bk',
  socket: 'unix:///tmp/erb-a/bk/buildkitd.sock',
  mode: 'rootless',
  startedAt: '2026-01-02T03:04:05.000Z',
  logFile: '/tmp/erb-a/bk/buildkitd.log',
  rootlesskit: '/opt/bk/bin/rootlesskit',
};

let dir: string;
let stateFile: string;

beforeEach(() => {
  dir = makeTempDir('erb-state-');
  stateFile = path.join(dir, 'state');
  fs.writeFileSync(stateFile, '');
  process.env['GITHUB_STATE'] = stateFile;
  resetSavedState();
});

afterEach(() => {
  delete process.env['GITHUB_STATE'];
  fs.rmSync(dir, { recursive: true, force: true });
});

/** What the runner does between main and post: each saved record becomes STATE_<name>. */
function runnerEnvForPost(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of parseFileCommands(fs.readFileSync(stateFile, 'utf8'))) env[`STATE_${name}`] = value;
  return env;
}

describe('state between main and post', () => {
  it('round-trips through the GITHUB_STATE file', () => {
    saveState({ isPost: true });
    saveState({
      localBuilder: daemon,
      envdContext: { name: 'erb-1-2-3', home: '/tmp/erb-b/envd-home-x', envdPath: '/opt/envd/bin/envd' },
      testExtra: { buildRef: 'line1\nline2 "quoted"', count: 3 },
    });

    const env = runnerEnvForPost();
    expect(isPost(env)).toBe(true);
    expect(loadState(env)).toEqual({
      isPost: true,
      localBuilder: daemon,
      envdContext: { name: 'erb-1-2-3', home: '/tmp/erb-b/envd-home-x', envdPath: '/opt/envd/bin/envd' },
      testExtra: { buildRef: 'line1\nline2 "quoted"', count: 3 },
    });
  });

  it('writes the bytes the runner reads: one name<<ghadelimiter_<uuid> heredoc per field, JSON inside', () => {
    saveState({ testExtra: { buildRef: 'a\nb', count: 1 } });
    const uuid = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
    const m = new RegExp(`^testExtra<<(ghadelimiter_${uuid})\n(.*)\n\\1\n$`).exec(fs.readFileSync(stateFile, 'utf8'));
    expect(m).not.toBeNull();
    // JSON keeps the newline escaped, so the value is one line and cannot end the heredoc early.
    expect(m![2]).toBe('{"buildRef":"a\\nb","count":1}');
  });

  it('writes each save to the file at once, so post cleans up after a crashed main', () => {
    saveState({ localBuilder: daemon });
    expect(loadState(runnerEnvForPost())).toEqual({ localBuilder: daemon });
  });

  it('clears a field saved as undefined (the last record wins, as in the runner)', () => {
    saveState({ localBuilder: daemon, testExtra: { buildRef: 'y', count: 1 } });
    saveState({ localBuilder: undefined });
    expect(savedState()).toEqual({ testExtra: { buildRef: 'y', count: 1 } });
    expect(loadState(runnerEnvForPost())).toEqual({ testExtra: { buildRef: 'y', count: 1 } });
  });

  it('is not post in main, and loads nothing without STATE_ variables', () => {
    expect(isPost({})).toBe(false);
    expect(loadState({ PATH: '/bin' })).toEqual({});
  });

  it('skips values that are not JSON instead of failing post', () => {
    const { result } = captureStdout(() => loadState({ STATE_isPost: 'true', STATE_other: 'not json{' }));
    expect(result).toEqual({ isPost: true });
  });

  it('rejects field names that cannot be environment variables', () => {
    expect(() => saveState({ ['bad-name' as 'isPost']: true })).toThrow('state field "bad-name" must be an identifier');
  });

  it('falls back to the ::save-state:: command without GITHUB_STATE', () => {
    delete process.env['GITHUB_STATE'];
    const { out } = captureStdout(() => saveState({ testExtra: { buildRef: 'z', count: 2 } }));
    expect(out).toContain('::save-state name=testExtra::{"buildRef":"z","count":2}');
  });
});
