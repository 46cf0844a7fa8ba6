// The AppArmor profile that lets rootlesskit create user namespaces on
// kernels that restrict them (Ubuntu 24.04), installed and removed with sudo.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { execSimple } from '../../common/exec.js';
import { privateDir } from '../../common/verify.js';

const APPARMOR_PROFILE_NAME = 'envd-remote-build-rootlesskit';

/**
 * An AppArmor profile that lets exactly one binary (our rootlesskit) create
 * user namespaces, for Ubuntu's kernel.apparmor_restrict_unprivileged_userns=1.
 * Unconfined otherwise: the point is to lift the one restriction, nothing more.
 */
export function appArmorProfileText(rootlesskitPath: string): string {
  if (!path.isAbsolute(rootlesskitPath) || /["\n\0]/.test(rootlesskitPath)) {
    throw new Error(`cannot write an AppArmor profile for "${rootlesskitPath}": need an absolute path without quotes or newlines`);
  }
  return [
    'abi <abi/4.0>,',
    'include <tunables/global>',
    '',
    `profile ${APPARMOR_PROFILE_NAME} "${rootlesskitPath}" flags=(unconfined) {`,
    '  userns,',
    '}',
    '',
  ].join('\n');
}

/** Writes and loads the profile with sudo; returns the profile file path (for the handle). */
export async function installAppArmorProfile(rootlesskitPath: string): Promise<string> {
  // AppArmor matches the resolved path; the tool cache has no symlinks but PATH entries might.
  const real = await fs.realpath(rootlesskitPath);
  const file = `/etc/apparmor.d/${APPARMOR_PROFILE_NAME}`;
  // Written in a fresh 0700 directory, never at a predictable path in a shared
  // temp dir: root installs whatever this file holds when sudo copies it.
  const dir = await privateDir('apparmor-');
  const tmp = path.join(dir, APPARMOR_PROFILE_NAME);
  try {
    await fs.writeFile(tmp, appArmorProfileText(real), { mode: 0o600, flag: 'wx' });
    await execSimple('sudo', ['-n', 'install', '-m', '0644', tmp, file]);
    await execSimple('sudo', ['-n', 'apparmor_parser', '-r', file]);
  } catch (err) {
    throw new Error(`could not load an AppArmor profile for ${real}: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
  return file;
}

/** Unloads and deletes a profile installAppArmorProfile wrote; ignores any other path. */
export async function stopAppArmorProfile(file: string): Promise<void> {
  if (file !== `/etc/apparmor.d/${APPARMOR_PROFILE_NAME}`) return; // only ever our own file
  await execSimple('sudo', ['-n', 'apparmor_parser', '-R', file]).catch(() => undefined);
  await execSimple('sudo', ['-n', 'rm', '-f', '--', file]);
}
