// The post step: undoes what main started, whatever state main ended in.
// Each cleanup is independent, so one failing does not skip the others.
//
// The state is input, not gospel: before anything is stopped or deleted, each
// path must be one main makes (its own name prefix, directly in RUNNER_TEMP
// or the OS temp directory main falls back to, a real directory of ours), and
// post runs no program a state value names.
import { lstat } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as runner from '../github/runner.js';
import { readLogTail, stopLocalDaemon } from '../builder/local/daemon.js';
import { ENVD_HOME_PREFIX, removeEnvdContext } from '../envd/context.js';
import { loadState } from './state.js';

/** The prefix of the local daemon's state directory (daemon.ts makeStateDir). */
const DAEMON_DIR_PREFIX = 'envd-buildkitd-';
/** The daemon's log inside its state directory (daemon.ts startLocalDaemon). */
const DAEMON_LOG = 'buildkitd.log';

export async function post(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const state = loadState(env);
  const tasks: [string, () => Promise<void>][] = [];
  const context = state.envdContext;
  if (context) {
    tasks.push([
      'remove the envd context',
      async () => {
        if (!(await isOwnTempDir(context.home, ENVD_HOME_PREFIX, env))) {
          runner.warning(`post: not removing "${String(context.home)}": it is not a directory this action creates in RUNNER_TEMP`);
          return;
        }
        // Without envdPath it only deletes the home, which holds envd's whole
        // context; the envd binary the state names is not run.
        await removeEnvdContext({ name: context.name, home: context.home });
      },
    ]);
  }
  const handle = state.localBuilder;
  if (handle) {
    tasks.push([
      'stop the local buildkitd',
      async () => {
        if (!(await isOwnTempDir(handle.stateDir, DAEMON_DIR_PREFIX, env))) {
          runner.warning(`post: not stopping the local buildkitd of "${String(handle.stateDir)}": it is not a directory this action creates in RUNNER_TEMP`);
          return;
        }
        // The log lives in the state directory that stopping removes: show it
        // first. It is the daemon's text, and only its own log is read.
        const tail = handle.logFile === path.join(handle.stateDir, DAEMON_LOG) ? await readLogTail(handle.logFile, 30).catch(() => '') : '';
        if (tail) {
          runner.startGroup('Local buildkitd log (last lines)');
          runner.untrusted(tail);
          runner.endGroup();
        }
        const result = await stopLocalDaemon(handle, { log: (m) => runner.untrusted(m) });
        runner.info(`local buildkitd: ${result.killed ? 'killed' : result.signalled ? 'stopped' : 'already stopped'}${result.removed ? ', state removed' : ''}`);
      },
    ]);
  }

  for (const [what, task] of tasks) {
    try {
      await task();
    } catch (err) {
      runner.warning(`post: could not ${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  runner.resumeCommands();
}

/**
 * Whether `dir` can be a directory main made: named with `prefix`, directly
 * in RUNNER_TEMP or the OS temp directory (where main goes without
 * RUNNER_TEMP, or when a socket path there would be too long), and, if it
 * still exists, a real directory (no symlink) owned by this user.
 */
export async function isOwnTempDir(dir: unknown, prefix: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  if (typeof dir !== 'string' || !path.isAbsolute(dir) || path.normalize(dir) !== dir) return false;
  const name = path.basename(dir);
  if (!name.startsWith(prefix) || name.length === prefix.length) return false;
  const parents = [env['RUNNER_TEMP'], os.tmpdir()].filter((p): p is string => !!p).map((p) => path.resolve(p));
  if (!parents.includes(path.dirname(dir))) return false;
  let stat;
  try {
    stat = await lstat(dir);
  } catch (err) {
    // Gone already: nothing to delete, and a daemon is only signalled when its command line names this path.
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
  return stat.isDirectory() && !stat.isSymbolicLink() && (process.getuid === undefined || stat.uid === process.getuid());
}
