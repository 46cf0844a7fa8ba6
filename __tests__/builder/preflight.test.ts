import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  decideLocalMode,
  hasSubIdRange,
  parseOsRelease,
  preflightError,
  probeHostFacts,
  type HostFacts,
  type PreflightDecision,
} from '../../src/builder/local/preflight.js';

/** A runner on which rootless just works. */
const good: HostFacts = {
  uid: 1001,
  gid: 118,
  user: 'runner',
  newuidmap: true,
  newgidmap: true,
  subuid: true,
  subgid: true,
  maxUserNamespaces: 63704,
  passwordlessSudo: true,
  apparmorParser: true,
  ociRuntime: true,
};
const ubuntu2404: HostFacts = { ...good, apparmorRestrictUnprivilegedUserns: 1, os: { id: 'ubuntu', versionId: '24.04' } };

type Row = [name: string, facts: HostFacts, mode: PreflightDecision['mode'], extra?: (d: PreflightDecision) => void];

const rows: Row[] = [
  ['root runs rootful, even with everything for rootless', { ...good, uid: 0, gid: 0, user: 'root' }, 'rootful'],
  ['root without any rootless prerequisites still runs rootful', { ...good, uid: 0, newuidmap: false, subuid: false, maxUserNamespaces: 0 }, 'rootful'],
  ['all prerequisites: rootless without profile', good, 'rootless', (d) => expect(d).toMatchObject({ installAppArmorProfile: false })],
  ['Ubuntu 22.04 style: apparmor sysctl present but 0', { ...good, apparmorRestrictUnprivilegedUserns: 0 }, 'rootless', (d) => expect(d).toMatchObject({ installAppArmorProfile: false })],
  ['Debian sysctl unprivileged_userns_clone=1 is fine', { ...good, unprivilegedUsernsClone: 1 }, 'rootless'],
  ['Ubuntu 24.04: only AppArmor blocks, sudo + apparmor_parser → profile', ubuntu2404, 'rootless', (d) => expect(d).toMatchObject({ installAppArmorProfile: true })],
  ['Ubuntu 24.04 without apparmor_parser → sudo rootful', { ...ubuntu2404, apparmorParser: false }, 'sudo'],
  ['Ubuntu 24.04 and missing uidmap → sudo (profile alone would not help)', { ...ubuntu2404, newuidmap: false }, 'sudo', (d) => {
    expect(d.mode === 'sudo' && d.rootlessBlockedBy).toEqual(['newuidmap (install the uidmap package)', expect.stringContaining('apparmor_restrict_unprivileged_userns')]);
  }],
  ['no uidmap, sudo → sudo', { ...good, newuidmap: false, newgidmap: false }, 'sudo'],
  ['no subuid range, sudo → sudo', { ...good, subuid: false }, 'sudo'],
  ['userns disabled (max_user_namespaces=0), sudo → sudo', { ...good, maxUserNamespaces: 0 }, 'sudo'],
  ['Debian unprivileged_userns_clone=0, sudo → sudo', { ...good, unprivilegedUsernsClone: 0 }, 'sudo'],
  ['Ubuntu 24.04 without sudo → none', { ...ubuntu2404, passwordlessSudo: false }, 'none', (d) => {
    expect(d.mode === 'none' && d.missing).toEqual([expect.stringContaining('apparmor_restrict_unprivileged_userns is 1'), expect.stringContaining('sudo -n true')]);
  }],
  ['nothing available → none listing every missing piece', {
    ...good,
    newuidmap: false,
    newgidmap: false,
    subuid: false,
    subgid: false,
    maxUserNamespaces: undefined,
    unprivilegedUsernsClone: 0,
    passwordlessSudo: false,
  }, 'none', (d) => {
    expect(d.mode === 'none' && d.missing).toEqual([
      'newuidmap (install the uidmap package)',
      'newgidmap (install the uidmap package)',
      'a range of at least 65536 IDs for runner in /etc/subuid',
      'a range of at least 65536 IDs for runner in /etc/subgid',
      'user namespaces (the kernel has no /proc/sys/user/max_user_namespaces)',
      'kernel.unprivileged_userns_clone=1 (it is 0)',
      'passwordless sudo for a rootful daemon (`sudo -n true` failed)',
    ]);
  }],
  ['no runc anywhere → none, even with sudo', { ...good, ociRuntime: false }, 'none', (d) => {
    expect(d.mode === 'none' && d.missing).toEqual(['runc (neither buildkit-runc nor runc is on PATH)']);
  }],
  ['root without runc → none', { ...good, uid: 0, ociRuntime: false }, 'none'],
];

describe('decideLocalMode', () => {
  // Rest parameters: jest would take a 4th declared parameter for a done callback on 3-element rows.
  it.each(rows)('%s', (...row: Row) => {
    const [, facts, mode, extra] = row;
    const d = decideLocalMode(facts);
    expect(d.mode).toBe(mode);
    extra?.(d);
  });

  it('the error for "none" is one line naming what is missing', () => {
    const d = decideLocalMode({ ...good, newuidmap: false, passwordlessSudo: false });
    if (d.mode !== 'none') throw new Error('expected none');
    const err = preflightError(d);
    expect(err.message).not.toContain('\n');
    expect(err.message).toBe(
      'cannot start a local BuildKit daemon on this runner; missing: newuidmap (install the uidmap package); passwordless sudo for a rootful daemon (`sudo -n true` failed)',
    );
  });
});

describe('hasSubIdRange', () => {
  const file = '# comment\nother:100000:65536\nrunner:165536:65536\n1002:231072:1000\n';
  it.each([
    ['by name', 'runner', 1001, true],
    ['by uid', 'nobody', 1002, false], // only 1000 IDs
    ['absent', 'alice', 1003, false],
    ['numeric owner', 'x', 1002, false],
  ] as const)('%s', (_n, user, uid, expected) => {
    expect(hasSubIdRange(file, user, uid)).toBe(expected);
  });
  it('accepts a numeric owner with enough IDs', () => {
    expect(hasSubIdRange('1001:100000:65536', 'runner', 1001)).toBe(true);
  });
});

it('parseOsRelease reads ID and VERSION_ID', () => {
  expect(parseOsRelease('NAME="Ubuntu"\nID=ubuntu\nVERSION_ID="24.04"\n')).toEqual({ id: 'ubuntu', versionId: '24.04' });
});

describe('probeHostFacts', () => {
  it('reads /proc and /etc under a fake root', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'preflight-'));
    try {
      const me = os.userInfo();
      await fs.mkdir(path.join(root, 'proc/sys/user'), { recursive: true });
      await fs.mkdir(path.join(root, 'proc/sys/kernel'), { recursive: true });
      await fs.mkdir(path.join(root, 'etc'), { recursive: true });
      await fs.writeFile(path.join(root, 'proc/sys/user/max_user_namespaces'), '15000\n');
      await fs.writeFile(path.join(root, 'proc/sys/kernel/apparmor_restrict_unprivileged_userns'), '1\n');
      await fs.writeFile(path.join(root, 'etc/subuid'), `${me.username}:100000:65536\n`);
      await fs.writeFile(path.join(root, 'etc/os-release'), 'ID=ubuntu\nVERSION_ID="24.04"\n');
      const bin = path.join(root, 'bin');
      await fs.mkdir(bin);
      await fs.writeFile(path.join(bin, 'buildkit-runc'), '#!/bin/sh\n', { mode: 0o755 });

      const facts = await probeHostFacts({ root, extraPath: [bin], sudoCheck: async () => true });
      expect(facts).toMatchObject({
        uid: process.getuid!(),
        user: me.username,
        subuid: true,
        subgid: false,
        maxUserNamespaces: 15000,
        apparmorRestrictUnprivilegedUserns: 1,
        os: { id: 'ubuntu', versionId: '24.04' },
        ociRuntime: true,
      });
      expect(facts.unprivilegedUsernsClone).toBeUndefined();
      // As root the sudo probe is skipped; otherwise it is the injected answer.
      expect(facts.passwordlessSudo).toBe(process.getuid!() === 0 ? false : true);
    } finally {
      await fs.rm(root, { recursive: true, force: true });
    }
  });

  it('probes this machine: its real uid, and the decision that follows from it', async () => {
    const facts = await probeHostFacts();
    expect(facts.uid).toBe(process.getuid!());
    expect(typeof facts.maxUserNamespaces === 'number' || facts.maxUserNamespaces === undefined).toBe(true);
    const decision = decideLocalMode(facts);
    if (!facts.ociRuntime) expect(decision.mode).toBe('none');
    else if (facts.uid === 0) expect(decision).toEqual({ mode: 'rootful', reason: 'running as root' });
    else expect(['rootless', 'sudo', 'none']).toContain(decision.mode);
  });
});
