// Random bytes for names and tokens (the session's ID, the stop-commands
// token, heredoc delimiters), read from the kernel's generator.
//
// Why not node:crypto: loading it took 5-10 ms of every run's start on a
// 2-core runner, and a plain-tcp build uses it for nothing else
// (BENCHMARKS.md, "Twentieth session"). /dev/urandom is the same generator
// crypto.randomBytes draws from on Linux. Where it cannot be read (not
// Linux or macOS), node:crypto is loaded after all.
import { closeSync, openSync, readSync } from 'node:fs';

/** `size` random bytes, fit for secrets. */
export function randomBytes(size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let fd: number | undefined;
  try {
    fd = openSync('/dev/urandom', 'r');
    for (let at = 0; at < size; ) {
      const n = readSync(fd, out, at, size - at, null);
      if (n <= 0) throw new Error('/dev/urandom ended');
      at += n;
    }
    return out;
  } catch {
    return process.getBuiltinModule('node:crypto').randomBytes(size);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** `size` random bytes as lower-case hex. */
export function randomHex(size: number): string {
  return randomBytes(size).toString('hex');
}

/** A random (version 4) UUID, as crypto.randomUUID gives. */
export function randomUUID(): string {
  const b = randomBytes(16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
