// Can this runner start a local buildkitd, and how? decideLocalMode() is a pure
// function of the facts probeHostFacts() gathers, so every combination of
// runner setup is a row in a unit-test table instead of a machine we need.
import { execSucceeds } from '../../common/exec.js';
import { constants as fsConstants, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** What the runner offers, as far as starting buildkitd is concerned. */
export interface HostFacts {
  readonly uid: number;
  readonly gid: number;
  readonly user: string;
  /** newuidmap / newgidmap found (setuid helpers from the uidmap package). */
  readonly newuidmap: boolean;
  readonly newgidmap: boolean;
  /** /etc/subuid and /etc/subgid hold a range of at least 65536 IDs for the user. */
  readonly subuid: boolean;
  readonly subgid: boolean;
  /** /proc/sys/user/max_user_namespaces; undefined when the file is missing. */
  readonly maxUserNamespaces?: number;
  /** kernel.unprivileged_userns_clone (Debian kernels); undefined when absent. */
  readonly unprivilegedUsernsClone?: number;
  /** kernel.apparmor_restrict_unprivileged_userns (Ubuntu 23.10+, 24.04 runners); undefined when absent. */
  readonly apparmorRestrictUnprivilegedUserns?: number;
  /** `sudo -n true` succeeded. */
  readonly passwordlessSudo: boolean;
  /** apparmor_parser exists and /etc/apparmor.d is present, so a profile can be loaded. */
  readonly apparmorParser: boolean;
  /** An OCI runtime (buildkit-runc or runc) is reachable on the PATH buildkitd will get. */
  readonly ociRuntime: boolean;
  /** ID and VERSION_ID from /etc/os-release, for messages only. */
  readonly os?: { readonly id?: string; readonly versionId?: string };
}

export type LocalDaemonMode = 'rootless' | 'rootful' | 'sudo';

export type PreflightDecision =
  | {
      readonly mode: 'rootful';
      readonly reason: string;
    }
  | {
      readonly mode: 'rootless';
      readonly reason: string;
      /** Load an AppArmor profile granting `userns` to the rootlesskit binary first (needs sudo). */
      readonly installAppArmorProfile: boolean;
    }
  | {
      readonly mode: 'sudo';
      readonly reason: string;
      /** What kept rootless from working, for the log. */
      readonly rootlessBlockedBy: readonly string[];
    }
  | {
      readonly mode: 'none';
      /** Every missing piece, each phrased so the user knows what to install or set. */
      readonly missing: readonly string[];
    };

const MIN_SUBIDS = 65536;

/** Chooses how to run buildkitd. Pure: same facts, same answer. */
export function decideLocalMode(facts: HostFacts): PreflightDecision {
  // Without a runtime no mode can run a RUN step; say so before anything else.
  const runtimeMissing = facts.ociRuntime ? [] : ['runc (neither buildkit-runc nor runc is on PATH)'];

  if (facts.uid === 0) {
    // Root gains nothing from a user namespace and rootlesskit only adds failure modes.
    if (runtimeMissing.length) return { mode: 'none', missing: runtimeMissing };
    return { mode: 'rootful', reason: 'running as root' };
  }

  const blockers = rootlessBlockers(facts);
  const onlyAppArmor = blockers.length === 1 && blockers[0] === APPARMOR_BLOCKER;

  if (runtimeMissing.length) {
    return { mode: 'none', missing: [...runtimeMissing, ...blockers] };
  }
  if (blockers.length === 0) {
    return { mode: 'rootless', reason: 'user namespaces and subordinate IDs are available', installAppArmorProfile: false };
  }
  if (onlyAppArmor && facts.passwordlessSudo && facts.apparmorParser) {
    // Narrower than going rootful: only rootlesskit may create user namespaces.
    return {
      mode: 'rootless',
      reason: 'AppArmor restricts unprivileged user namespaces; allowing them for rootlesskit only via an AppArmor profile',
      installAppArmorProfile: true,
    };
  }
  if (facts.passwordlessSudo) {
    return { mode: 'sudo', reason: `rootless is not possible (${blockers.join('; ')}); running buildkitd as root via sudo`, rootlessBlockedBy: blockers };
  }
  return { mode: 'none', missing: [...blockers, 'passwordless sudo for a rootful daemon (`sudo -n true` failed)'] };
}

const APPARMOR_BLOCKER = 'kernel.apparmor_restrict_unprivileged_userns is 1 (AppArmor blocks unprivileged user namespaces; Ubuntu 24.04 default)';

function rootlessBlockers(f: HostFacts): string[] {
  const out: string[] = [];
  if (!f.newuidmap) out.push('newuidmap (install the uidmap package)');
  if (!f.newgidmap) out.push('newgidmap (install the uidmap package)');
  if (!f.subuid) out.push(`a range of at least ${MIN_SUBIDS} IDs for ${f.user} in /etc/subuid`);
  if (!f.subgid) out.push(`a range of at least ${MIN_SUBIDS} IDs for ${f.user} in /etc/subgid`);
  if (f.maxUserNamespaces === undefined) out.push('user namespaces (the kernel has no /proc/sys/user/max_user_namespaces)');
  else if (f.maxUserNamespaces <= 0) out.push('user namespaces (/proc/sys/user/max_user_namespaces is 0)');
  if (f.unprivilegedUsernsClone !== undefined && f.unprivilegedUsernsClone === 0) {
    out.push('kernel.unprivileged_userns_clone=1 (it is 0)');
  }
  if (f.apparmorRestrictUnprivilegedUserns !== undefined && f.apparmorRestrictUnprivilegedUserns !== 0) {
    out.push(APPARMOR_BLOCKER);
  }
  return out;
}

/** One-line error for a `none` decision. */
export function preflightError(decision: Extract<PreflightDecision, { mode: 'none' }>): Error {
  return new Error(`cannot start a local BuildKit daemon on this runner; missing: ${decision.missing.join('; ')}`);
}

/** True when `content` (an /etc/subuid or /etc/subgid file) gives `user` or `uid` at least 65536 IDs. */
export function hasSubIdRange(content: string, user: string, uid: number): boolean {
  for (const raw of content.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [owner, start, count] = line.split(':');
    if (owner !== user && owner !== String(uid)) continue;
    if (start === undefined || count === undefined || !/^\d+$/.test(start)) continue;
    if (/^\d+$/.test(count) && Number(count) >= MIN_SUBIDS) return true;
  }
  return false;
}

/** Parses the ID and VERSION_ID fields of /etc/os-release. */
export function parseOsRelease(content: string): { id?: string; versionId?: string } {
  const get = (key: string): string | undefined => {
    const m = new RegExp(`^${key}=(.*)$`, 'm').exec(content);
    return m ? m[1]!.trim().replace(/^["']|["']$/g, '') : undefined;
  };
  return { id: get('ID'), versionId: get('VERSION_ID') };
}

export interface ProbeHostOptions {
  /** Directories buildkitd's PATH will start with (the BuildKit bin dir, holding buildkit-runc). */
  readonly extraPath?: readonly string[];
  /** Root for /proc and /etc, for tests. */
  readonly root?: string;
  /** Overrides the sudo check (tests). */
  readonly sudoCheck?: () => Promise<boolean>;
}

/** Gathers HostFacts: reads /proc and /etc, looks for binaries, tries `sudo -n true`. Never throws. */
export async function probeHostFacts(options: ProbeHostOptions = {}): Promise<HostFacts> {
  const root = options.root ?? '/';
  const at = (p: string) => path.join(root, p);
  const uid = process.getuid?.() ?? -1;
  const gid = process.getgid?.() ?? -1;
  const user = userName();
  // sbin directories are often missing from a non-root PATH but hold newuidmap and apparmor_parser.
  const searchPath = [...(options.extraPath ?? []), ...(process.env['PATH'] ?? '').split(path.delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  const onPath = (name: string) => findExecutable(name, searchPath);

  const [newuidmap, newgidmap, subuidText, subgidText, maxNs, clone, apparmor, osText, sudo, parser, apparmorDir, bkRunc, runc] =
    await Promise.all([
      onPath('newuidmap'),
      onPath('newgidmap'),
      readText(at('etc/subuid')),
      readText(at('etc/subgid')),
      readNumber(at('proc/sys/user/max_user_namespaces')),
      readNumber(at('proc/sys/kernel/unprivileged_userns_clone')),
      readNumber(at('proc/sys/kernel/apparmor_restrict_unprivileged_userns')),
      readText(at('etc/os-release')),
      uid === 0 ? Promise.resolve(false) : (options.sudoCheck ?? passwordlessSudo)(),
      onPath('apparmor_parser'),
      isDir(at('etc/apparmor.d')),
      onPath('buildkit-runc'),
      onPath('runc'),
    ]);

  return {
    uid,
    gid,
    user,
    newuidmap: !!newuidmap,
    newgidmap: !!newgidmap,
    subuid: hasSubIdRange(subuidText ?? '', user, uid),
    subgid: hasSubIdRange(subgidText ?? '', user, uid),
    maxUserNamespaces: maxNs,
    unprivilegedUsernsClone: clone,
    apparmorRestrictUnprivilegedUserns: apparmor,
    passwordlessSudo: sudo,
    apparmorParser: !!parser && apparmorDir,
    ociRuntime: !!(bkRunc || runc),
    ...(osText ? { os: parseOsRelease(osText) } : {}),
  };
}

function userName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env['USER'] ?? String(process.getuid?.() ?? '');
  }
}

/** First executable `name` in `dirs`, or undefined. */
export async function findExecutable(name: string, dirs: readonly string[]): Promise<string | undefined> {
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      const st = await fs.stat(candidate);
      if (!st.isFile()) continue;
      await fs.access(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

async function readNumber(file: string): Promise<number | undefined> {
  const text = await readText(file);
  if (text === undefined) return undefined;
  const n = Number.parseInt(text.trim(), 10);
  return Number.isFinite(n) ? n : undefined;
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** `sudo -n true` within 10 s: never prompts, so a runner without NOPASSWD answers false quickly. */
export function passwordlessSudo(): Promise<boolean> {
  return execSucceeds('sudo', ['-n', 'true'], { timeoutMs: 10_000 });
}
