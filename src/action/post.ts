// The post step: undoes what main started, whatever state main ended in.
// Each cleanup is independent, so one failing does not skip the others.
import { rm } from 'node:fs/promises';
import * as runner from './runner.js';
import { readLogTail, stopLocalDaemon } from '../builder/local/daemon.js';
import { removeEnvdContext } from '../envd/context.js';
import { loadState } from './state.js';

export async function post(): Promise<void> {
  const state = loadState();
  const tasks: [string, () => Promise<void>][] = [];
  if (state.envdContext) tasks.push(['remove the envd context', () => removeEnvdContext(state.envdContext)]);
  if (state.localBuilder) {
    const handle = state.localBuilder;
    tasks.push([
      'stop the local buildkitd',
      async () => {
        // The log lives in the state directory that stopping removes: show it first.
        const tail = await readLogTail(handle.logFile, 30).catch(() => '');
        if (tail) {
          runner.startGroup('Local buildkitd log (last lines)');
          runner.info(tail);
          runner.endGroup();
        }
        const result = await stopLocalDaemon(handle, { log: (m) => runner.info(m) });
        runner.info(`local buildkitd: ${result.killed ? 'killed' : result.signalled ? 'stopped' : 'already stopped'}${result.removed ? ', state removed' : ''}`);
      },
    ]);
  }
  for (const dir of state.tmpDirs ?? []) tasks.push([`remove ${dir}`, () => rm(dir, { recursive: true, force: true })]);

  for (const [what, task] of tasks) {
    try {
      await task();
    } catch (err) {
      runner.warning(`post: could not ${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
