// What every installer does before it runs a file it did not build: check the
// URL is https, and hash a private copy of the file against a digest that came
// from somewhere else (pinned in the code, or the GitHub releases API), never
// from the cache or mirror the file came from.
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sha256File } from './files.js';

/** The input that lets a download no trusted digest vouches for run anyway. */
export const ALLOW_UNVERIFIED_INPUT = 'allow-unverified-downloads';

// Plain http stays possible for servers on this machine only: the tests' and a
// runner-local mirror. Anything on the network could be altered in transit.
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** Throws one line naming `what` unless `url` is https (or http to a loopback address). */
export function requireSecureUrl(url: string, what: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${what}: "${url}" is not a URL`);
  }
  if (parsed.protocol === 'https:') return;
  if (parsed.protocol === 'http:' && LOOPBACK_HOSTS.has(parsed.hostname)) return;
  throw new Error(`${what}: refusing ${url}; downloads must use https`);
}

/**
 * A fresh directory (mode 0700) under RUNNER_TEMP for files about to be run:
 * nobody else can swap them between the hash check and the exec.
 */
export async function privateDir(prefix: string): Promise<string> {
  const base = process.env['RUNNER_TEMP'] || os.tmpdir();
  await fs.mkdir(base, { recursive: true });
  return fs.mkdtemp(path.join(base, `envd-remote-build-${prefix}`));
}

/** `tampered`: something is there but it is not the trusted file (worth an error, not just a note). */
export type CopyCheck = { readonly ok: true } | { readonly ok: false; readonly tampered: boolean; readonly reason: string };

/**
 * Copies `src` to `dest` (in a private directory) and hashes the copy, so what
 * was checked is exactly what runs even if `src` is rewritten meanwhile.
 * A mismatching copy is deleted.
 */
export async function copyVerified(src: string, dest: string, expectedSha256: string): Promise<CopyCheck> {
  let st;
  try {
    st = await fs.lstat(src);
  } catch {
    return { ok: false, tampered: false, reason: 'it is missing' };
  }
  // Never follow a link or read a FIFO/device someone planted in a cache.
  if (!st.isFile()) return { ok: false, tampered: true, reason: 'it is not a regular file' };
  await fs.copyFile(src, dest);
  const actual = await sha256File(dest);
  if (actual !== expectedSha256.toLowerCase()) {
    await fs.rm(dest, { force: true });
    return { ok: false, tampered: true, reason: `its sha256 is ${actual}, not the trusted ${expectedSha256.toLowerCase()}` };
  }
  return { ok: true };
}
