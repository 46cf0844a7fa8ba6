// Walks a served directory in the order the receiver validates: depth-first,
// pre-order, siblings sorted by the bytes of their UTF-8 names (Go WalkDir).
// All file system calls are asynchronous: a blocked event loop (a slow or
// network file system) starves the session's health checks and the daemon
// drops the whole session. The lstat calls of a batch run concurrently, and
// the next batch runs while the caller sends the previous one.
import fs, { promises as fsp } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import path from 'node:path';
import type { Stat } from '../../protocol/index.js';
import { entryKind, isSendable, toGoFileMode } from './mode.js';

/** What to do with one entry: send its STAT, and (directories) walk into it. */
export interface WalkDecision {
  readonly send: boolean;
  readonly descend: boolean;
}

export interface WalkFilter {
  /** `relPath` is '/'-separated and relative to the root. */
  decide(relPath: string, isDir: boolean): WalkDecision;
}

export interface WalkOptions {
  filter?: WalkFilter;
  /** Stops the walk between entries. */
  signal?: AbortSignal;
  /** Only for tests; mode normalisation differs on Windows. */
  platform?: NodeJS.Platform;
}

/** One entry to send, plus the identity of the inode it was read from. */
export interface WalkEntry {
  readonly stat: Stat;
  /** dev/ino at walk time, so a later read can prove it opened the same file. */
  readonly dev: bigint;
  readonly ino: bigint;
  /** The entry's absolute path with the OS separator (saves joining it again per file). */
  readonly abs: string;
}

/**
 * A root-level entry with this name is silently dropped by newer receivers in
 * metadata-only transfers without advancing their ID counter; sending one
 * would desynchronise every later file ID.
 */
const RESERVED_ROOT_NAME = '.fsutil-metadata';

/** lstat calls in flight per directory: enough to keep the thread pool busy, few at once. */
const STAT_BATCH = 64;

/** Entries handed over at once by walkBatches (at the latest). */
const YIELD_BATCH = 256;

/**
 * The entries to send, one at a time. A thin view of walkBatches for callers
 * that want single entries; stops between any two entries when aborted.
 */
export async function* walk(root: string, options: WalkOptions = {}): AsyncGenerator<WalkEntry> {
  for await (const batch of walkBatches(root, options)) {
    for (const entry of batch) {
      if (options.signal?.aborted) return;
      yield entry;
    }
  }
}

/**
 * The entries to send, in order, in batches: handing over arrays instead of
 * single entries keeps the per-entry cost (a promise and a microtask per
 * level of async generators) out of walks of many small files. A batch is
 * handed over when it is full and whenever the walk waits for the file
 * system, so the receiver sees the first entries early.
 */
export async function* walkBatches(root: string, options: WalkOptions = {}): AsyncGenerator<WalkEntry[]> {
  const ctx: WalkContext = {
    filter: options.filter,
    signal: options.signal,
    platform: options.platform ?? process.platform,
  };
  // The root must exist; a missing subdirectory later is just a race.
  let names: string[];
  try {
    names = await fsp.readdir(root);
  } catch (err) {
    throw annotate(err, '.');
  }
  /**
   * Ancestors walked into but not sent (filtered out themselves). They are
   * sent just before their first sent descendant, so the receiver always sees
   * a parent before its children.
   */
  const pending: WalkEntry[] = [];
  // Paths are joined by hand below: path.join per entry costs more than the lstat.
  const rootDir = path.resolve(root);
  const stack: Frame[] = [newFrame('', rootDir.endsWith(path.sep) ? rootDir.slice(0, -1) : rootDir, names.filter((n) => n !== RESERVED_ROOT_NAME), undefined)];
  let out: WalkEntry[] = [];
  while (stack.length > 0) {
    if (ctx.signal?.aborted) return;
    const frame = stack[stack.length - 1]!;
    if (frame.pos >= frame.inspected.length) {
      if (frame.next >= frame.names.length) {
        stack.pop();
        // Still pending means nothing below was sent: forget it.
        if (frame.unsent !== undefined && pending[pending.length - 1] === frame.unsent) pending.pop();
        continue;
      }
      const batch = frame.names.slice(frame.next, frame.next + STAT_BATCH);
      frame.next += batch.length;
      const inspecting = Promise.all(batch.map((name) => inspect(ctx, name, frame.relDir === '' ? name : `${frame.relDir}/${name}`, frame.absDir + path.sep + name)));
      if (out.length > 0) {
        // The caller sends these while the lstat calls run.
        inspecting.catch(() => undefined); // awaited below, unless the caller stops here
        yield out;
        out = [];
        if (ctx.signal?.aborted) return;
      }
      frame.inspected = await inspecting;
      frame.pos = 0;
      continue;
    }
    const entry = frame.inspected[frame.pos++];
    if (!entry) continue;
    const isDir = entry.isDir;
    const decision = ctx.filter ? ctx.filter.decide(entry.walk.stat.path, isDir) : SEND_ALL;
    if (decision.send) {
      // Parents that were not sent themselves go just before their first sent descendant.
      if (pending.length > 0) {
        out.push(...pending);
        pending.length = 0;
      }
      out.push(entry.walk);
      if (out.length >= YIELD_BATCH) {
        yield out;
        out = [];
      }
    }
    if (!isDir || !decision.descend) continue;
    const absDir = frame.absDir + path.sep + entry.name;
    const children = await readChildren(absDir, entry.walk.stat.path);
    if (!decision.send) pending.push(entry.walk);
    stack.push(newFrame(entry.walk.stat.path, absDir, children, decision.send ? undefined : entry.walk));
  }
  if (out.length > 0) yield out;
}

const SEND_ALL: WalkDecision = { send: true, descend: true };

interface WalkContext {
  readonly filter: WalkFilter | undefined;
  readonly signal: AbortSignal | undefined;
  readonly platform: NodeJS.Platform;
}

/** A directory being walked: its sorted names and the inspected batch in progress. */
interface Frame {
  readonly relDir: string;
  /** The same directory as an absolute path with the OS separator. */
  readonly absDir: string;
  readonly names: string[];
  /** Index of the next name to inspect. */
  next: number;
  inspected: (Inspected | undefined)[];
  /** Index of the next inspected entry to handle. */
  pos: number;
  /** This directory's own entry when it was walked into without being sent. */
  readonly unsent: WalkEntry | undefined;
}

function newFrame(relDir: string, absDir: string, unsorted: string[], unsent: WalkEntry | undefined): Frame {
  return { relDir, absDir, names: sortNames(unsorted), next: 0, inspected: [], pos: 0, unsent };
}

/** Go's WalkDir order: compare names as UTF-8 bytes, not UTF-16 units. */
export function sortNames(names: readonly string[]): string[] {
  // Without surrogates (characters beyond U+FFFF), UTF-16 unit order is code
  // point order, which is UTF-8 byte order: plain string comparison will do.
  if (!names.some((n) => SURROGATE.test(n))) return [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return names
    .map((name) => ({ name, key: Buffer.from(name, 'utf8') }))
    .sort((a, b) => Buffer.compare(a.key, b.key))
    .map((e) => e.name);
}

const SURROGATE = /[\uD800-\uDFFF]/;

interface Inspected {
  readonly walk: WalkEntry;
  readonly isDir: boolean;
  /** The entry's own name (the last path component). */
  readonly name: string;
}

/**
 * lstat one entry (never following it); undefined if it vanished or is
 * skipped. Asynchronous: a slow or network file system must never block the
 * event loop, or the daemon's health checks on the session time out. The
 * entries of a batch are inspected concurrently.
 */
async function inspect(ctx: WalkContext, name: string, relPath: string, abs: string): Promise<Inspected | undefined> {
  let st: BigIntStats | undefined;
  let linkname: string | undefined;
  try {
    st = await lstat(abs);
    if (!isSendable(st.mode)) return undefined;
    if (st.isSymbolicLink()) linkname = await fsp.readlink(abs);
  } catch (err) {
    if (isGone(err)) return undefined;
    throw annotate(err, relPath);
  }
  const kind = entryKind(st.mode);
  const stat: Stat = {
    path: relPath,
    mode: toGoFileMode(st.mode, ctx.platform),
    // The daemon must not learn (or depend on) runner-local owners.
    uid: 0,
    gid: 0,
    modTime: st.mtimeNs.toString(),
  };
  if (kind !== 'dir') stat.size = st.size.toString();
  if (linkname !== undefined) stat.linkname = ctx.platform === 'win32' ? linkname.replace(/\\/g, '/') : linkname;
  return { walk: { stat, dev: st.dev, ino: st.ino, abs }, isDir: kind === 'dir', name };
}

/**
 * lstat through the callback API: the promise API allocates a result holder
 * per call and costs about twice the CPU, which shows over thousands of
 * entries. Just as asynchronous (libuv's thread pool).
 */
function lstat(abs: string): Promise<BigIntStats> {
  return new Promise((resolve, reject) => fs.lstat(abs, { bigint: true }, (err, st) => (err ? reject(err) : resolve(st))));
}

async function readChildren(absDir: string, relDir: string): Promise<string[]> {
  try {
    return await new Promise<string[]>((resolve, reject) => fs.readdir(absDir, (err, names) => (err ? reject(err) : resolve(names))));
  } catch (err) {
    if (isGone(err)) return [];
    throw annotate(err, relDir);
  }
}

/** Joins a '/'-separated relative path onto the root with the OS separator. */
export function toAbsolute(root: string, relPath: string): string {
  return path.join(root, ...relPath.split('/'));
}

function isGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** The receiver shows our message to the user; name the relative path, not ours. */
function annotate(err: unknown, relPath: string): Error {
  const e = err as NodeJS.ErrnoException;
  const reason = e?.code ?? (err instanceof Error ? err.message : String(err));
  return new Error(`failed to walk ${relPath}: ${reason}`, { cause: err });
}
