// Listening on a unix socket that only this user can connect to.
//
// A loopback TCP port is open to every local user; a unix socket is guarded
// by file permissions. Two layers: the socket lives in a directory only we
// can enter (0700, owned by us), and the socket itself is 0600. Root can
// still connect; nothing on the machine can keep root out.
import * as fs from 'node:fs/promises';
import type * as net from 'node:net';
import * as path from 'node:path';

/**
 * sun_path is 108 bytes on Linux and 104 on macOS, NUL included. Node does
 * not refuse longer paths: the socket silently appears under a truncated
 * name, possibly somewhere else, so the length is checked here.
 */
export const MAX_SOCKET_PATH_BYTES = process.platform === 'darwin' ? 103 : 107;

/** Throws unless `socketPath` is absolute and short enough for a unix socket. */
export function checkSocketPath(socketPath: string): void {
  if (!path.isAbsolute(socketPath)) {
    throw new Error(`envd gateway: socket path ${socketPath} is not absolute`);
  }
  const bytes = Buffer.byteLength(socketPath);
  if (bytes > MAX_SOCKET_PATH_BYTES) {
    throw new Error(`envd gateway: socket path ${socketPath} is ${bytes} bytes; unix sockets allow at most ${MAX_SOCKET_PATH_BYTES}`);
  }
}

/** Throws unless `dir` is a real directory (no symlink) owned by this process's user with no group/other access. */
export async function checkPrivateDir(dir: string): Promise<void> {
  let st: Awaited<ReturnType<typeof fs.lstat>>;
  try {
    st = await fs.lstat(dir);
  } catch (err) {
    throw new Error(`envd gateway: socket directory ${dir} cannot be used: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const uid = process.getuid?.();
  const mode = st.mode & 0o777;
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (mode & 0o077) !== 0) {
    const found = st.isDirectory() ? `mode ${mode.toString(8).padStart(4, '0')}, owner uid ${st.uid}` : 'not a directory';
    throw new Error(
      `envd gateway: socket directory ${dir} must be a directory only this user can enter (mode 0700, owner uid ${uid ?? 'self'}); found ${found}`,
    );
  }
}

/**
 * Starts `server` on `socketPath` (checked as above) and makes the socket
 * 0600. The mode is set after listen(), which is safe only because the
 * directory already keeps everyone else out.
 */
export async function listenPrivate(server: net.Server, socketPath: string): Promise<void> {
  checkSocketPath(socketPath);
  await checkPrivateDir(path.dirname(socketPath));
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'something already exists at that path' : err.message;
      reject(new Error(`envd gateway: cannot listen on ${socketPath}: ${why}`));
    };
    server.once('error', onError);
    server.listen({ path: socketPath }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  try {
    await fs.chmod(socketPath, 0o600);
  } catch (err) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw new Error(`envd gateway: cannot restrict ${socketPath} to this user: ${(err as Error).message}`);
  }
}
