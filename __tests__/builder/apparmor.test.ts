// The AppArmor profile is written by us and installed by root (sudo install):
// whoever can change the file between the two decides what root installs.
// It must therefore be written in a private directory, never at a name
// another local user can predict and prepare in a shared temp directory.
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { installAppArmorProfile } from '../../src/builder/local/apparmor.js';

let work: string;
let savedPath: string | undefined;

beforeEach(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'apparmor-test-'));
  savedPath = process.env['PATH'];
});
afterEach(async () => {
  process.env['PATH'] = savedPath;
  await fs.rm(work, { recursive: true, force: true });
});

/** A stand-in `sudo` that records, for `install`, the source's content and its directory's mode. */
async function fakeSudo(): Promise<string> {
  const bin = path.join(work, 'bin');
  await fs.mkdir(bin);
  const log = path.join(work, 'sudo.log');
  await fs.writeFile(
    path.join(bin, 'sudo'),
    `#!/bin/sh
shift # -n
if [ "$1" = install ]; then
  src="$4"
  { echo "dir-mode $(stat -c %a "$(dirname "$src")")"; echo "source $src"; cat "$src"; } >> "${log}"
fi
exit 0
`,
    { mode: 0o755 },
  );
  process.env['PATH'] = `${bin}:${savedPath}`;
  return log;
}

test('the profile goes to sudo from a fresh 0700 directory, and a prepared path in the temp dir is not written through', async () => {
  const log = await fakeSudo();
  // What another local user could prepare: the name the profile used to get, pointing at a file of theirs.
  const victim = path.join(work, 'victim');
  await fs.writeFile(victim, 'untouched\n');
  const predictable = path.join(os.tmpdir(), `envd-remote-build-rootlesskit-${process.pid}`);
  await fs.rm(predictable, { force: true });
  await fs.symlink(victim, predictable);
  try {
    const rootlesskit = path.join(work, 'rootlesskit');
    await fs.writeFile(rootlesskit, '', { mode: 0o755 });
    expect(await installAppArmorProfile(rootlesskit)).toBe('/etc/apparmor.d/envd-remote-build-rootlesskit');

    expect(await fs.readFile(victim, 'utf8')).toBe('untouched\n');
    const recorded = await fs.readFile(log, 'utf8');
    expect(recorded).toMatch(/^dir-mode 700\n/);
    expect(recorded).toContain(`profile envd-remote-build-rootlesskit "${await fs.realpath(rootlesskit)}" flags=(unconfined) {`);
    const source = /^source (.*)$/m.exec(recorded)![1]!;
    expect(source).not.toBe(predictable);
    // The private copy is gone once the profile is installed.
    await expect(fs.access(path.dirname(source))).rejects.toThrow();
  } finally {
    await fs.rm(predictable, { force: true });
  }
});
