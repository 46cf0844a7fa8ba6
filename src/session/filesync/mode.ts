// POSIX st_mode → Go io/fs.FileMode. The receiver compares and applies modes
// in Go's encoding, so sending raw st_mode bits would be misread (e.g. S_IFDIR
// 0o040000 means nothing to Go; it expects bit 31).

/** Go io/fs.FileMode bits (values from the protocol reference, §4.5). */
export const GoMode = {
  Dir: 0x80000000,
  Symlink: 0x08000000,
  Device: 0x04000000,
  NamedPipe: 0x02000000,
  Socket: 0x01000000,
  Setuid: 0x00800000,
  Setgid: 0x00400000,
  CharDevice: 0x00200000,
  Sticky: 0x00100000,
  Irregular: 0x00080000,
  Perm: 0o777,
  /** Every type bit; a mode with none of them is a regular file. */
  Type: 0x8f280000,
} as const;

// POSIX file type and special bits. Spelled out instead of fs.constants
// because Windows lacks several of them and they never vary on POSIX.
const S_IFMT = 0o170000;
const S_IFSOCK = 0o140000;
const S_IFLNK = 0o120000;
const S_IFREG = 0o100000;
const S_IFBLK = 0o060000;
const S_IFDIR = 0o040000;
const S_IFCHR = 0o020000;
const S_IFIFO = 0o010000;
const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_ISVTX = 0o1000;

/** What kind of entry a POSIX mode describes, as far as the transfer cares. */
export type EntryKind = 'dir' | 'file' | 'symlink' | 'other';

export function entryKind(posixMode: number | bigint): EntryKind {
  switch (Number(posixMode) & S_IFMT) {
    case S_IFDIR:
      return 'dir';
    case S_IFREG:
      return 'file';
    case S_IFLNK:
      return 'symlink';
    default:
      return 'other';
  }
}

/**
 * Whether an entry is transferred at all. Sockets, FIFOs and devices are
 * skipped: they have no content to send and a build context never needs them.
 */
export function isSendable(posixMode: number | bigint): boolean {
  return entryKind(posixMode) !== 'other';
}

/**
 * Converts lstat's mode to Go FileMode bits (unsigned 32-bit).
 * On Windows, permission bits are synthetic, so normalise them the way a Go
 * client on Windows does (add execute, drop group/other write) to keep the
 * daemon's metadata comparison stable across runners.
 */
export function toGoFileMode(posixMode: number | bigint, platform: NodeJS.Platform = process.platform): number {
  const m = Number(posixMode);
  let out = m & GoMode.Perm;
  if (platform === 'win32') out = (out | 0o111) & ~0o022;
  switch (m & S_IFMT) {
    case S_IFDIR:
      out |= GoMode.Dir;
      break;
    case S_IFLNK:
      out |= GoMode.Symlink;
      break;
    case S_IFBLK:
      out |= GoMode.Device;
      break;
    case S_IFCHR:
      out |= GoMode.Device | GoMode.CharDevice;
      break;
    case S_IFIFO:
      out |= GoMode.NamedPipe;
      break;
    case S_IFSOCK:
      out |= GoMode.Socket;
      break;
    default:
      break; // regular file: no type bit
  }
  if (m & S_ISUID) out |= GoMode.Setuid;
  if (m & S_ISGID) out |= GoMode.Setgid;
  if (m & S_ISVTX) out |= GoMode.Sticky;
  // Bit 31 makes JS bitwise results negative; the wire field is uint32.
  return out >>> 0;
}

/** A Go FileMode with no type bit set: the only kind the receiver may request. */
export function isRegularGoMode(goMode: number): boolean {
  return ((goMode & GoMode.Type) >>> 0) === 0;
}
