// The real buildkitd in rootless mode (rootlesskit, user namespaces), the
// mode the local fallback tries first. It must run as a non-root user with
// subordinate IDs: `npm test` runs this file as the user scripts/peers.sh
// creates, once per BuildKit version. As root, or without BUILDKITD_BIN, it
// is skipped and says why.
import { execFileSync, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { probeBuilder } from '../../src/buildkit/probe.js';
import { startLocalDaemon, stopLocalDaemon } from '../../src/builder/local/daemon.js';
import { decideLocalMode, probeHostFacts } from '../../src/builder/local/preflight.js';

const BUILDKITD_BIN = process.env.BUILDKITD_BIN ?? '';
const isRoot = process.getuid?.() === 0;
const ROOTLESSKIT = ['/usr/bin/rootlesskit', '/usr/local/bin/rootlesskit'].find((p) => {
  try {
    execFileSync('test', ['-x', p]);
    return true;
  } catch {
    return false;
  }
});
const runnable = !!BUILDKITD_BIN && !isRoot && !!ROOTLESSKIT;
if (!runnable) {
  process.stderr.write(
    `\n!!! SKIPPING the real rootless buildkitd test: needs BUILDKITD_BIN (${BUILDKITD_BIN ? 'set' : 'unset'}), a non-root user (uid ${process.getuid?.()}) and rootlesskit (${ROOTLESSKIT ?? 'missing'})\n\n`,
  );
}

const exists = (p: string) => fs.access(p).then(() => true, () => false);
const alive = async (pid: number): Promise<boolean> => {
  try {
    return !/^\d+ \(.*\) [ZX]/.test(await fs.readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

(runnable ? describe : describe.skip)('real buildkitd, rootless', () => {
  let work: string;
  beforeAll(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'bk-rootless-'));
  });
  afterAll(async () => {
    await fs.rm(work, { recursive: true, force: true });
  });

  test('preflight chooses rootless; start, Info, a RUN step whose files belong to a sub-UID, stop, state removed', async () => {
    const facts = await probeHostFacts({ extraPath: [path.dirname(BUILDKITD_BIN)] });
    expect(decideLocalMode(facts)).toMatchObject({ mode: 'rootless', installAppArmorProfile: false });

    const { handle, info } = await startLocalDaemon({
      mode: 'rootless',
      buildkitd: BUILDKITD_BIN,
      rootlesskit: ROOTLESSKIT!,
      parentDir: work,
      probe: probeBuilder,
      readyTimeoutMs: 60_000,
    });
    try {
      const expected = execFileSync(BUILDKITD_BIN, ['--version']).toString().split(' ')[2];
      expect(info.version?.version).toBe(expected);
      expect(handle.mode).toBe('rootless');
      expect(info.endpoint.address).toBe(`unix://${handle.stateDir}/buildkitd.sock`);

      // chown to a high UID inside the build leaves files owned by a sub-UID:
      // stop must remove them from inside the user namespace.
      const ctx = await fs.mkdtemp(path.join(work, 'ctx-'));
      await fs.copyFile('/bin/busybox', path.join(ctx, 'busybox'));
      await fs.writeFile(
        path.join(ctx, 'Dockerfile'),
        'FROM scratch\nCOPY busybox /bin/busybox\n' +
          'RUN ["/bin/busybox", "sh", "-c", "/bin/busybox mkdir -p /d/e && /bin/busybox touch /d/e/f && /bin/busybox chown -R 4321:4321 /d && /bin/busybox echo run-step-ok"]\n',
      );
      const built = spawnSync(
        path.join(path.dirname(BUILDKITD_BIN), 'buildctl'),
        ['--addr', handle.socket, 'build', '--frontend', 'dockerfile.v0', '--local', `context=${ctx}`, '--local', `dockerfile=${ctx}`, '--progress', 'plain', '--no-cache'],
        { encoding: 'utf8', timeout: 120_000 },
      );
      expect(built.stderr).toMatch(/^#\d+ [\d.]+ run-step-ok$/m);
      expect(built.status).toBe(0);
    } finally {
      expect(await stopLocalDaemon(handle, { termTimeoutMs: 10_000 })).toEqual({ signalled: true, killed: false, removed: true });
    }
    expect(await alive(handle.pid)).toBe(false);
    expect(await exists(handle.stateDir)).toBe(false);
  });
});
