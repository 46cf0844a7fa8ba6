// The local fallback through the whole action: no remote builder, so main
// starts buildkitd itself (found on PATH at the requested version), builds
// there, and post stops it and removes its state.
import { jest } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { runAction } from '../helpers/run-action.js';
import { makeContext } from './env.js';

jest.setTimeout(240_000);

const BUILDKITD_BIN = process.env.BUILDKITD_BIN ?? '';
if (!BUILDKITD_BIN) {
  process.stderr.write('\n!!! LOCAL FALLBACK END-TO-END SKIPPED: set BUILDKITD_BIN to a buildkitd binary to run it\n\n');
}

function buildkitdVersion(bin: string): string {
  // "buildkitd github.com/moby/buildkit v0.11.6 <revision>"
  return execFileSync(bin, ['--version']).toString().split(/\s+/)[2]!;
}

/** Running, not merely a zombie: in some sandboxes PID 1 does not reap orphans. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

(BUILDKITD_BIN ? describe : describe.skip)('local fallback builder', () => {
  test.each([
    ['only', ''],
    ['auto', 'tcp://127.0.0.1:1'],
  ])('fallback %s with builder "%s": builds locally, post stops the daemon', async (fallback, builder) => {
    const context = makeContext({ Dockerfile: 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "touch", "/made-locally"]\n' });
    const run = await runAction(
      { builder, fallback, 'buildkit-version': buildkitdVersion(BUILDKITD_BIN), context },
      { env: { GITHUB_WORKSPACE: context, PATH: `${dirname(BUILDKITD_BIN)}:${process.env.PATH}` } },
    );
    expect(run.code).toBe(0);
    expect(run.outputs.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    if (builder) expect(run.stdout).toMatch(/::warning title=Falling back to a local BuildKit daemon::.*tcp:\/\/127\.0\.0\.1:1/);
    const handle = JSON.parse(run.state.localBuilder!) as { pid: number; stateDir: string };
    expect(handle.pid).toBeGreaterThan(0);
    expect(run.post?.code).toBe(0);
    expect(alive(handle.pid)).toBe(false);
    expect(existsSync(handle.stateDir)).toBe(false);
  });
});
