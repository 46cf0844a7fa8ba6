// The wiring of the local fallback, with its side effects injected (the
// AppArmor path also runs once with the real module and a recording sudo).
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseEndpoint } from '../../src/buildkit/endpoint.js';
import type { LocalDaemon, StartLocalDaemonOptions } from '../../src/builder/local/daemon.js';
import type { HostFacts } from '../../src/builder/local/preflight.js';
import { startLocalBuilder, type StartLocalBuilderDeps } from '../../src/builder/local/start.js';

const rootlessFacts: HostFacts = {
  uid: 1001,
  gid: 118,
  user: 'runner',
  newuidmap: true,
  newgidmap: true,
  subuid: true,
  subgid: true,
  maxUserNamespaces: 1000,
  passwordlessSudo: true,
  apparmorParser: true,
  ociRuntime: true,
};

function harness(facts: HostFacts, failModes: string[] = []) {
  const events: string[] = [];
  const daemon = (o: StartLocalDaemonOptions): LocalDaemon => {
    const endpoint = parseEndpoint('unix:///tmp/envd-buildkitd-t/buildkitd.sock');
    return {
      endpoint,
      info: { endpoint, workers: [] },
      handle: {
        pid: 99,
        stateDir: '/tmp/envd-buildkitd-t',
        socket: endpoint.address,
        mode: o.mode,
        startedAt: '',
        logFile: '',
        ...(o.apparmorProfile ? { apparmorProfile: o.apparmorProfile } : {}),
      },
    };
  };
  const deps: Partial<StartLocalBuilderDeps> = {
    installBuildkit: async (o) => {
      events.push(`installBuildkit ${o.version ?? '-'} ${o.downloadUrl ?? '-'}`);
      return { binDir: '/tc/buildkit/0.24.0/x64', tag: 'v0.24.0', source: 'download' };
    },
    installRootlesskit: async () => {
      events.push('installRootlesskit');
      return { binDir: '/tc/rootlesskit/2.3.5/x64', tag: 'v2.3.5', source: 'download' };
    },
    probeHost: async (o) => {
      events.push(`probeHost ${o.extraPath?.join(',')}`);
      return facts;
    },
    installAppArmorProfile: async (rk) => {
      events.push(`apparmor+ ${rk}`);
      return '/etc/apparmor.d/envd-remote-build-rootlesskit';
    },
    removeAppArmorProfile: async (f) => {
      events.push(`apparmor- ${f}`);
    },
    startDaemon: async (o) => {
      events.push(`start ${o.mode} ${o.buildkitd} ${o.version ?? '(no version)'}${o.rootlesskit ? ` via ${o.rootlesskit}` : ''}${o.configToml ? ' with config' : ''}`);
      if (failModes.includes(o.mode)) throw new Error(`${o.mode} failed\nlog line`);
      return daemon(o);
    },
    probe: async () => {
      throw new Error('not used');
    },
    info: (l) => events.push(`info ${l}`),
    warning: (l) => events.push(`warning ${l}`),
  };
  return { events, deps };
}

describe('startLocalBuilder', () => {
  it('root → rootful, no rootlesskit download', async () => {
    const h = harness({ ...rootlessFacts, uid: 0 });
    const d = await startLocalBuilder({ buildkitVersion: 'v0.24.0', configToml: 'debug = true' }, h.deps);
    expect(d.handle.mode).toBe('rootful');
    expect(h.events).toEqual([
      'installBuildkit v0.24.0 -',
      'probeHost /tc/buildkit/0.24.0/x64',
      'info Local BuildKit v0.24.0: rootful (running as root)',
      'start rootful /tc/buildkit/0.24.0/x64/buildkitd v0.24.0 with config',
    ]);
  });

  it('rootless when possible', async () => {
    const h = harness(rootlessFacts);
    const d = await startLocalBuilder({}, h.deps);
    expect(d.handle.mode).toBe('rootless');
    expect(h.events).toContain('start rootless /tc/buildkit/0.24.0/x64/buildkitd v0.24.0 via /tc/rootlesskit/2.3.5/x64/rootlesskit');
    expect(h.events.some((e) => e.startsWith('apparmor'))).toBe(false);
  });

  it('Ubuntu 24.04: loads the AppArmor profile for rootlesskit, and the handle remembers it', async () => {
    const h = harness({ ...rootlessFacts, apparmorRestrictUnprivilegedUserns: 1 });
    const d = await startLocalBuilder({}, h.deps);
    expect(d.handle.apparmorProfile).toBe('/etc/apparmor.d/envd-remote-build-rootlesskit');
    expect(h.events.slice(3)).toEqual([
      'installRootlesskit',
      'apparmor+ /tc/rootlesskit/2.3.5/x64/rootlesskit',
      'start rootless /tc/buildkit/0.24.0/x64/buildkitd v0.24.0 via /tc/rootlesskit/2.3.5/x64/rootlesskit',
    ]);
  });

  it('rootless start failure with sudo → unloads the profile, warns, runs rootful via sudo', async () => {
    const h = harness({ ...rootlessFacts, apparmorRestrictUnprivilegedUserns: 1 }, ['rootless']);
    const d = await startLocalBuilder({}, h.deps);
    expect(d.handle.mode).toBe('sudo');
    expect(h.events.slice(-3)).toEqual([
      'apparmor- /etc/apparmor.d/envd-remote-build-rootlesskit',
      'warning Rootless buildkitd failed, falling back to a rootful daemon via sudo: rootless failed',
      'start sudo /tc/buildkit/0.24.0/x64/buildkitd v0.24.0',
    ]);
  });

  it('Ubuntu 24.04 with the real AppArmor module: sudo installs and loads the profile, and unloads it when rootless fails', async () => {
    // Only sudo is faked (it records its arguments); installAppArmorProfile and
    // removeAppArmorProfile are the real ones, so their commands are checked.
    const work = await fs.mkdtemp(path.join(os.tmpdir(), 'start-apparmor-'));
    const log = path.join(work, 'sudo.log');
    await fs.writeFile(path.join(work, 'sudo'), `#!/bin/sh\nshift\necho "$*" >> "${log}"\n`, { mode: 0o755 });
    const savedPath = process.env['PATH'];
    process.env['PATH'] = `${work}:${savedPath}`;
    try {
      const h = harness({ ...rootlessFacts, apparmorRestrictUnprivilegedUserns: 1 }, ['rootless']);
      const { installAppArmorProfile: _i, removeAppArmorProfile: _r, ...realAppArmor } = h.deps;
      // The profile names the resolved rootlesskit path, so it must exist.
      const rk = path.join(work, 'rk');
      await fs.mkdir(rk);
      await fs.writeFile(path.join(rk, 'rootlesskit'), '', { mode: 0o755 });
      const d = await startLocalBuilder({}, { ...realAppArmor, installRootlesskit: async () => ({ binDir: rk, tag: 'v2.3.5', source: 'download' }) });
      expect(d.handle.mode).toBe('sudo');
      const calls = (await fs.readFile(log, 'utf8')).trim().split('\n');
      expect(calls).toHaveLength(4);
      expect(calls[0]).toMatch(/^install -m 0644 \/\S+\/envd-remote-build-apparmor-\w+\/envd-remote-build-rootlesskit \/etc\/apparmor\.d\/envd-remote-build-rootlesskit$/);
      expect(calls.slice(1)).toEqual([
        'apparmor_parser -r /etc/apparmor.d/envd-remote-build-rootlesskit',
        'apparmor_parser -R /etc/apparmor.d/envd-remote-build-rootlesskit',
        'rm -f -- /etc/apparmor.d/envd-remote-build-rootlesskit',
      ]);
    } finally {
      process.env['PATH'] = savedPath;
      await fs.rm(work, { recursive: true, force: true });
    }
  });

  it('rootless start failure without sudo → the rootless error', async () => {
    const h = harness({ ...rootlessFacts, passwordlessSudo: false }, ['rootless']);
    await expect(startLocalBuilder({}, h.deps)).rejects.toThrow('rootless failed');
  });

  it('missing prerequisites and no sudo → the preflight error, nothing started', async () => {
    const h = harness({ ...rootlessFacts, newuidmap: false, passwordlessSudo: false });
    await expect(startLocalBuilder({}, h.deps)).rejects.toThrow(
      'cannot start a local BuildKit daemon on this runner; missing: newuidmap (install the uidmap package); passwordless sudo for a rootful daemon (`sudo -n true` failed)',
    );
    expect(h.events.some((e) => e.startsWith('start'))).toBe(false);
  });

  it('passes allow-unverified-downloads to both installers, and only when set', async () => {
    const seen: (boolean | undefined)[] = [];
    const h = harness(rootlessFacts);
    const deps: Partial<StartLocalBuilderDeps> = {
      ...h.deps,
      installBuildkit: async (o) => {
        seen.push(o.allowUnverified);
        return { binDir: '/tc/buildkit/0.24.0/x64', tag: 'v0.24.0', source: 'download' };
      },
      installRootlesskit: async (o) => {
        seen.push(o.allowUnverified);
        return { binDir: '/tc/rootlesskit/2.3.5/x64', tag: 'v2.3.5', source: 'download' };
      },
    };
    await startLocalBuilder({ allowUnverifiedDownloads: true }, deps);
    await startLocalBuilder({}, deps);
    expect(seen).toEqual([true, true, undefined, undefined]);
  });

  it('no uidmap but sudo → rootful via sudo directly', async () => {
    const h = harness({ ...rootlessFacts, newuidmap: false });
    const d = await startLocalBuilder({ buildkitDownloadUrl: 'https://mirror.example/bk' }, h.deps);
    expect(d.handle.mode).toBe('sudo');
    expect(h.events[0]).toBe('installBuildkit - https://mirror.example/bk');
    expect(h.events).not.toContain('installRootlesskit');
  });
});
