// Entry point of both steps: the runner runs this file for `main` and again
// for `post`; the state written by main tells them apart.
import { main } from './action/main.js';
import * as runner from './github/runner.js';
import { isPost } from './action/state.js';

async function run(): Promise<void> {
  if (isPost()) {
    // Loaded only here: post's cleanup (local daemon, envd home) is no part of main's start-up.
    await (await import('./action/post.js')).post();
    return;
  }
  // A cancelled job gets SIGINT (then SIGTERM): cancel the build on the
  // daemon and close the session, so the builder stops working for us.
  const controller = new AbortController();
  const cancel = (signal: NodeJS.Signals) => {
    if (!controller.signal.aborted) runner.warning(`received ${signal}: cancelling the build`);
    controller.abort(new Error(`cancelled by ${signal}`));
  };
  process.once('SIGINT', cancel);
  process.once('SIGTERM', cancel);
  try {
    await main(controller.signal);
  } catch (err) {
    runner.setFailed(err instanceof Error ? err.message : String(err));
  }
}

await run();
// Build output may have left workflow commands stopped; whatever the runner
// reads after this step should not depend on that.
runner.resumeCommands();
// Open handles (grpc channels being torn down) must not keep a finished step alive.
process.exit(process.exitCode ?? 0);
