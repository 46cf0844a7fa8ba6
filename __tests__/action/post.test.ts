// The post step acts only on what main itself creates (issue 10, hole 1): a
// state forged through the log (`::save-state`) or otherwise must not make it
// delete, read out or run anything else.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { post } from '../../src/action/post.js';
import { readAsRunner } from '../helpers/workflow-commands.js';
import { captureStdoutAsync, makeTempDir } from './helpers.js';

let dir: string;
let runnerTemp: string;
let elsewhere: string;
const savedEnv = { ...process.env };

beforeEach(() => {
  dir = makeTempDir('erb-post-');
  runnerTemp = path.join(dir, 'runner-temp');
  elsewhere = path.join(dir, 'elsewhere');
  fs.mkdirSync(runnerTemp);
  fs.mkdirSync(elsewhere);
  process.env['RUNNER_TEMP'] = runnerTemp;
});

afterEach(() => {
  for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
  Object.assign(process.env, savedEnv);
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A directory with a file in it, to see whether post deleted it. */
function victim(parent: string, name: string): string {
  const d = path.join(parent, name);
  fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(d, 'precious'), 'keep me');
  return d;
}

/** Runs post with these STATE_ values (as the runner passes saved state). */
async function runPost(state: Record<string, unknown>): Promise<string> {
  for (const [k, v] of Object.entries(state)) process.env[`STATE_${k}`] = JSON.stringify(v);
  const { out } = await captureStdoutAsync(() => post(process.env));
  return out;
}

/** A pid no process has (above the kernel's pid_max). */
const DEAD_PID = 99_999_999;

test('a forged tmpDirs list deletes nothing', async () => {
  const target = victim(elsewhere, 'workspace');
  const inTemp = victim(runnerTemp, 'other-step-dir');
  await runPost({ isPost: true, tmpDirs: [target, inTemp] });
  expect(fs.existsSync(path.join(target, 'precious'))).toBe(true);
  expect(fs.existsSync(path.join(inTemp, 'precious'))).toBe(true);
});

test('an envd context outside RUNNER_TEMP is left alone, and the envd the state names is never run', async () => {
  const forgedHome = victim(elsewhere, 'envd-home-forged');
  // A program post must not run, even for a home that is ours.
  const marker = path.join(dir, 'ran');
  const program = path.join(dir, 'fake-envd');
  fs.writeFileSync(program, `#!/bin/sh\ntouch '${marker}'\n`, { mode: 0o755 });
  const ownHome = victim(runnerTemp, 'envd-home-erb-test-1-1-abcd');
  fs.mkdirSync(path.join(ownHome, '.config', 'envd'), { recursive: true });

  const out = await runPost({ envdContext: { name: 'x', home: forgedHome, envdPath: program } });
  expect(fs.existsSync(path.join(forgedHome, 'precious'))).toBe(true);
  expect(readAsRunner(out).live.map((c) => c.command)).toEqual(['warning']);

  await runPost({ envdContext: { name: 'erb-test-1-1-abcd', home: ownHome, envdPath: program } });
  expect(fs.existsSync(ownHome)).toBe(false);
  expect(fs.existsSync(marker)).toBe(false);
});

test('a local builder whose state directory is not in RUNNER_TEMP is neither stopped nor deleted', async () => {
  const stateDir = victim(elsewhere, 'envd-buildkitd-forged');
  const handle = { pid: DEAD_PID, stateDir, socket: `unix://${stateDir}/buildkitd.sock`, mode: 'rootful', startedAt: '2026-01-01T00:00:00Z', logFile: path.join(stateDir, 'buildkitd.log') };
  const out = await runPost({ localBuilder: handle });
  expect(fs.existsSync(path.join(stateDir, 'precious'))).toBe(true);
  expect(readAsRunner(out).live.map((c) => c.command)).toEqual(['warning']);
});

test('only the daemon\'s own log is shown, with commands stopped; its directory in RUNNER_TEMP is removed', async () => {
  const secret = path.join(elsewhere, 'id_rsa');
  fs.writeFileSync(secret, 'PRIVATE KEY MATERIAL\n');
  const stateDir = victim(runnerTemp, 'envd-buildkitd-abc123');
  const handle = { pid: DEAD_PID, stateDir, socket: `unix://${stateDir}/buildkitd.sock`, mode: 'rootful', startedAt: '2026-01-01T00:00:00Z', logFile: secret };
  const forged = await runPost({ localBuilder: handle });
  expect(forged).not.toContain('PRIVATE KEY MATERIAL');
  expect(fs.existsSync(stateDir)).toBe(false);

  const ownDir = victim(runnerTemp, 'envd-buildkitd-def456');
  fs.writeFileSync(path.join(ownDir, 'buildkitd.log'), 'level=info msg="started"\n::save-state name=tmpDirs::["/"]\n');
  const out = await runPost({ localBuilder: { ...handle, stateDir: ownDir, logFile: path.join(ownDir, 'buildkitd.log') } });
  const view = readAsRunner(out);
  expect(view.stoppedLines).toContain('::save-state name=tmpDirs::["/"]');
  expect(view.live.map((c) => c.command)).toEqual(['group', 'endgroup']);
  expect(fs.existsSync(ownDir)).toBe(false);
});
