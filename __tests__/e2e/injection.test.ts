// Workflow-command injection from a real build (issue 10, hole 1). A RUN step
// prints workflow commands, `echo "::error::..."`-style and behind a lone \r
// (the runner ends a line there too), and tries to make post delete a
// directory. Read the way the runner reads it, the action's stdout must carry
// none of them as a live command; the outputs and the post step must be
// unaffected. runAction already feeds live ::set-output / ::save-state lines
// into the outputs and the post step's state, as the runner would.
import { jest } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runAction, type ActionRun } from '../helpers/run-action.js';
import { readAsRunner } from '../helpers/workflow-commands.js';
import { BUILDKIT_HOST, E2E_REGISTRY, describeE2E, makeContext, uniqueRepo } from './env.js';
import { tempDir } from '../helpers/temp-dirs.js';

jest.setTimeout(300_000);

/**
 * A directory post would delete if the forged state reached it: named like
 * the envd home main creates, directly in the temp directory, ours.
 */
function makeVictim(): string {
  const dir = mkdtempSync(join(tmpdir(), 'envd-home-e2e-victim-'));
  writeFileSync(join(dir, 'precious'), 'keep me\n');
  return dir;
}

/** The hostile output as shell lines (busybox sh); `printf` so \r is a real carriage return. */
function hostileScript(victim: string): string {
  const state = JSON.stringify({ name: 'x', home: victim });
  return [
    // A fresh line each run, so the step is never a cache hit and always prints.
    `echo "run ${Date.now()}-${Math.random()}"`,
    `echo "::error::injected-error"`,
    `printf '50%%\\r::save-state name=tmpDirs::["%s"]\\n' '${victim}'`,
    `printf 'progress\\r::save-state name=envdContext::%s\\n' '${state}'`,
    `echo "::set-output name=digest::injected-digest"`,
    `echo "   ::warning::injected-warning"`,
    `echo "text ##[set-output name=imageid;]injected-imageid"`,
    `echo "::add-mask::run"`,
    `echo "::stop-commands::guess"`,
    `echo "::guess::"`,
    `echo "::error::injected-after-guess"`,
    `printf 'no line end\\r::error::injected-last'`,
    '',
  ].join('\n');
}

function expectInert(run: ActionRun & { post?: { code: number; stdout: string } }, victim: string, numberedSteps: boolean): void {
  const view = readAsRunner(run.stdout);
  const injected = view.live.filter((c) => /injected|victim/.test(`${c.data} ${JSON.stringify(c.properties)}`) && c.command !== 'group');
  expect(injected).toEqual([]);
  expect(view.live.map((c) => c.command).filter((c) => c === 'save-state' || c === 'set-output' || c === 'add-mask')).toEqual([]);
  expect(view.stoppedAtEnd).toBe(false);
  // The text itself is in the log, where commands are stopped.
  expect(view.stoppedLines.some((l) => l.includes('::error::injected-error'))).toBe(true);
  // Our own progress starts each line with the step number, a \r included.
  if (numberedSteps) expect(view.stoppedLines.some((l) => /^#\d+ ::save-state name=tmpDirs::/.test(l))).toBe(true);
  expect(Object.keys(run.state).sort()).not.toContain('tmpDirs');
  expect(run.state['envdContext'] ?? '').not.toContain(victim);
  expect(run.outputs['digest'] ?? '').not.toContain('injected');
  expect(run.post?.code).toBe(0);
  expect(existsSync(join(victim, 'precious'))).toBe(true);
  expect(readAsRunner(run.post?.stdout ?? '').live.filter((c) => /injected|victim/.test(c.data))).toEqual([]);
}

describeE2E('a build printing workflow commands cannot drive the runner', () => {
  test('Dockerfile: RUN output with ::error::, lone-\\r ::save-state and friends stays inert', async () => {
    const victim = makeVictim();
    try {
      const context = makeContext({
        Dockerfile: 'FROM scratch\nCOPY busybox /bin/busybox\nCOPY evil.sh /evil.sh\nRUN ["/bin/busybox", "sh", "/evil.sh"]\n',
        'evil.sh': hostileScript(victim),
      });
      const repo = uniqueRepo('inject');
      const run = await runAction({ builder: BUILDKIT_HOST, context, tags: `${E2E_REGISTRY}/${repo}:1`, push: 'true' }, { env: { GITHUB_WORKSPACE: context } });
      expect(run.code).toBe(0);
      expect(run.outputs['digest']).toMatch(/^sha256:[0-9a-f]{64}$/);
      expectInert(run, victim, true);
    } finally {
      rmSync(victim, { recursive: true, force: true });
    }
  });

  test('Dockerfile: a failing step\'s output becomes escaped annotations, nothing else', async () => {
    const victim = makeVictim();
    try {
      const context = makeContext({
        Dockerfile: 'FROM scratch\nCOPY busybox /bin/busybox\nCOPY evil.sh /evil.sh\nRUN ["/bin/busybox", "sh", "-c", "/bin/busybox sh /evil.sh; exit 3"]\n',
        'evil.sh': hostileScript(victim),
      });
      const run = await runAction({ builder: BUILDKIT_HOST, context }, { env: { GITHUB_WORKSPACE: context } });
      expect(run.code).toBe(1);
      const errors = readAsRunner(run.stdout).live.filter((c) => c.command === 'error');
      // Ours: the failing step (with its log tail, escaped into one command) and the step's failure.
      expect(errors).toHaveLength(2);
      expect(errors[0]!.data).toContain('::error::injected-error');
      expect(errors[0]!.line.split(/\r\n|\n|\r/)).toHaveLength(1);
      expect(existsSync(join(victim, 'precious'))).toBe(true);
      expect(run.post?.code).toBe(0);
    } finally {
      rmSync(victim, { recursive: true, force: true });
    }
  });
});

// The real envd (ENVD_BIN) builds with its own client; its output streams
// through the action while commands are stopped.
const ENVD_BIN = process.env.ENVD_BIN ?? '';
(ENVD_BIN && BUILDKIT_HOST && E2E_REGISTRY ? describe : describe.skip)('an envd build printing workflow commands cannot drive the runner', () => {
  test('envd: a run() step printing ::error:: and lone-\\r ::save-state stays inert', async () => {
    const victim = makeVictim();
    try {
      // The base image: a shell on scratch, from the local registry (the runner cannot reach Docker Hub).
      const baseRepo = uniqueRepo('envd-base');
      // envd runs its steps with bash: busybox's sh stands in.
      const baseCtx = makeContext({
        Dockerfile: 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\nCOPY bash /bin/bash\n',
        bash: '#!/bin/sh\nexec /bin/sh "$@"\n',
      });
      chmodSync(join(baseCtx, 'bash'), 0o755);
      const base = await runAction({ builder: BUILDKIT_HOST, context: baseCtx, tags: `${E2E_REGISTRY}/${baseRepo}:1`, push: 'true' }, { env: { GITHUB_WORKSPACE: baseCtx } });
      expect(base.code).toBe(0);
      const context = makeContext({
        'build.envd': `def build():\n    base(image="${E2E_REGISTRY}/${baseRepo}:1", dev=False)\n    io.copy("evil.sh", "/evil.sh")\n    run(commands=["sh /evil.sh"])\n`,
        'evil.sh': hostileScript(victim),
      });
      const repo = uniqueRepo('envd-inject');
      const version = execFileSync(ENVD_BIN, ['version', '--short']).toString().split(':').pop()!.trim();
      const run = await runAction(
        { builder: BUILDKIT_HOST, context, file: 'build.envd', tags: `${E2E_REGISTRY}/${repo}:1`, push: 'true', 'envd-version': version },
        // RUNNER_TEMP exists on a real runner (the envd installer needs it).
        { env: { GITHUB_WORKSPACE: context, PATH: `${dirname(ENVD_BIN)}:${process.env.PATH}`, RUNNER_TEMP: tempDir('e2e-runner-temp-') } },
      );
      expect(run.code).toBe(0);
      expectInert(run, victim, false);
      // The gateway logs the finished Solve while envd still runs: that line of
      // ours ends envd's window instead of being swallowed by it.
      expect(readAsRunner(run.stdout).live.some((c) => c.command === 'debug' && /Solve \S+ finished/.test(c.data))).toBe(true);
    } finally {
      rmSync(victim, { recursive: true, force: true });
    }
  });
});
