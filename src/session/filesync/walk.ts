// Walks a served directory in the order the receiver validates: depth-first,
// pre-order, siblings sorted by the bytes of their UTF-8 names (Go WalkDir).
// All file system calls are asynchronous: a blocked event loop (a slow or
// network file system) starves the session's health checks and the daemon
// drops the whole session. Asynchronous calls cost a thread-pool round trip
// each, so directories are listed ahead of the walk (see DirectoryLoader):
// walked one after the other, a tree of 250 small directories costs
// 500 sequential round trips before a single packet is sent.
import fs from 'node:fs';
import type { BigIntStats } from 'node:fs';
import path from 'node:path';
import type { Stat } from '../../protocol/index.js';
import { FsThreadError, type DirIdentity, type FsThread, type ListedEntry, type ListPreread } from './fs-thread.js';
import { entryKind, isSendable, toGoFileMode } from './mode.js';

/** What to do with one entry: send its STAT, and (directories) walk into it. */
export interface WalkDecision {
  readonly send: boolean;
  readonly descend: boolean;
}

export interface WalkFilter {
  /** `relPath` is '/'-separated and relative to the root. Must not depend on call order. */
  decide(relPath: string, isDir: boolean): WalkDecision;
}

export interface WalkOptions {
  filter?: WalkFilter;
  /** Stops the walk between entries. */
  signal?: AbortSignal;
  /** Only for tests; mode normalisation differs on Windows. */
  platform?: NodeJS.Platform;
  /** Lists directories on this worker thread; without it, with libuv's asynchronous calls. */
  fsThread?: FsThread;
  /**
   * Reads small files with their directory's listing (worker thread only),
   * within this budget. The content of entries handed over
   * (WalkEntry.content) stays counted until the caller gives it back with
   * returnPreread; the walk gives back what the filter drops.
   */
  preread?: ListPreread;
}

/** What content read with its listing counts against the budget: its size + 1, like a read on request. */
export function prereadCost(content: Buffer): number {
  return content.length + 1;
}

/** Gives the budget back the cost of content read with a listing, once nobody needs it. */
export function returnPreread(budget: Int32Array, content: Buffer): void {
  Atomics.add(budget, 0, prereadCost(content));
}

/** One entry to send, plus the identity of the inode it was read from. */
export interface WalkEntry {
  readonly stat: Stat;
  /** dev/ino at walk time, so a later read can prove it opened the same file. */
  readonly dev: bigint;
  readonly ino: bigint;
  /** The entry's absolute path with the OS separator (saves joining it again per file). */
  readonly abs: string;
  /** A small file's content, read with its listing (see WalkOptions.preread); its cost stays granted. */
  readonly content?: Buffer;
}

/**
 * A root-level entry with this name is silently dropped by newer receivers in
 * metadata-only transfers without advancing their ID counter; sending one
 * would desynchronise every later file ID.
 */
const RESERVED_ROOT_NAME = '.fsutil-metadata';

/**
 * File system calls in flight for one walk. Beyond ~16 the thread pool is
 * saturated and more only queue (measured: 5,000 lstat calls take the same
 * time at 16, 64 or 256 in flight, and four times longer at 4).
 */
const FS_CONCURRENCY = 16;

/**
 * Directories held open at once by listings without the worker thread (each
 * from its open until its entries are inspected): bounds descriptors on wide
 * trees.
 */
const OPEN_DIRS = 32;

/** Entries listed ahead of the walk at most: bounds memory on huge trees (~300 bytes each). */
const PREFETCH_ENTRIES = 16384;

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
 * handed over when it is full and whenever the walk has to wait for a
 * directory listing, so the receiver sees the first entries early.
 */
export async function* walkBatches(root: string, options: WalkOptions = {}): AsyncGenerator<WalkEntry[]> {
  const ctx: WalkContext = {
    filter: options.filter,
    signal: options.signal,
    platform: options.platform ?? process.platform,
    thread: options.fsThread,
    preread: options.preread,
  };
  // Paths are joined by hand below: path.join per entry costs more than the lstat.
  const rootDir = path.resolve(root);
  const loader = new DirectoryLoader(ctx);
  const rootListing = loader.load('', rootDir.endsWith(path.sep) ? rootDir.slice(0, -1) : rootDir, true);
  const children = await rootListing.entries;
  loader.consumed(children.length);
  /**
   * Ancestors walked into but not sent (filtered out themselves). They are
   * sent just before their first sent descendant, so the receiver always sees
   * a parent before its children.
   */
  const pending: WalkEntry[] = [];
  const stack: Frame[] = [{ children, pos: 0, unsent: undefined }];
  let out: WalkEntry[] = [];
  while (stack.length > 0) {
    if (ctx.signal?.aborted) return;
    const frame = stack[stack.length - 1]!;
    if (frame.pos >= frame.children.length) {
      stack.pop();
      // Still pending means nothing below was sent: forget it.
      if (frame.unsent !== undefined && pending[pending.length - 1] === frame.unsent) pending.pop();
      continue;
    }
    const child = frame.children[frame.pos]!;
    // The frame lives until everything below this child is walked; holding
    // the child that long would keep its prefetched listings, and so every
    // entry below it and the content of its small files read with their
    // listing, until the walk ends, though each was sent long before.
    frame.children[frame.pos++] = undefined;
    const { entry, decision } = child;
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
        if (ctx.signal?.aborted) return;
      }
    }
    if (!entry.isDir || !decision.descend) continue;
    const listing = child.listing ?? loader.load(entry.walk.stat.path, entry.walk.abs, true, entry.walk);
    if (!listing.done && out.length > 0) {
      // The caller sends these while the listing is read.
      yield out;
      out = [];
      if (ctx.signal?.aborted) return;
    }
    const grandchildren = await listing.entries;
    loader.consumed(grandchildren.length);
    if (!decision.send) pending.push(entry.walk);
    stack.push({ children: grandchildren, pos: 0, unsent: decision.send ? undefined : entry.walk });
  }
  if (out.length > 0) yield out;
}

const SEND_ALL: WalkDecision = { send: true, descend: true };

interface WalkContext {
  readonly filter: WalkFilter | undefined;
  readonly signal: AbortSignal | undefined;
  readonly platform: NodeJS.Platform;
  readonly thread: FsThread | undefined;
  readonly preread: ListPreread | undefined;
}

/** A directory being walked: its children in order and the next one to handle. */
interface Frame {
  /** Its children in walk order; a slot is emptied once the walk took the child. */
  readonly children: (Child | undefined)[];
  pos: number;
  /** This directory's own entry when it was walked into without being sent. */
  readonly unsent: WalkEntry | undefined;
}

/** An entry of a listing, with the filter's decision and (directories) its own listing if started. */
interface Child {
  readonly entry: Inspected;
  readonly decision: WalkDecision;
  listing: Listing | undefined;
}

/** A directory's children, sorted and inspected; `done` once they are (or failed). */
class Listing {
  done = false;

  constructor(readonly entries: Promise<Child[]>) {
    const settle = (): void => {
      this.done = true;
    };
    entries.then(settle, settle); // also keeps a prefetch failure from being unhandled
  }
}

/**
 * Lists directories (readdir, then lstat of every child) with at most
 * FS_CONCURRENCY calls in flight. When a listing completes, the listings of
 * the subdirectories the walk will enter are started too, while fewer than
 * PREFETCH_ENTRIES entries are held, so the walk rarely waits for the file
 * system. Calls the walk is waiting for go before prefetching calls.
 * Failures of a prefetched listing surface only when the walk reaches it.
 */
class DirectoryLoader {
  private active = 0;
  private held = 0;
  private readonly urgent: (() => void)[] = [];
  private readonly background: (() => void)[] = [];
  private readonly openDirs = new Limit(OPEN_DIRS);

  constructor(private readonly ctx: WalkContext) {}

  /** `identity`: the inode the parent's listing saw (none for the root, which may be a link the user chose). */
  load(relDir: string, absDir: string, urgent: boolean, identity?: DirIdentity): Listing {
    return new Listing(this.list(relDir, absDir, urgent, identity));
  }

  /** The walk took over `count` entries: room to prefetch more. */
  consumed(count: number): void {
    this.held -= count;
  }

  private async list(relDir: string, absDir: string, urgent: boolean, identity: DirIdentity | undefined): Promise<Child[]> {
    let inspected: (Inspected | undefined)[];
    try {
      inspected = this.ctx.thread
        ? await this.inspectOnThreadOrHere(this.ctx.thread, relDir, absDir, urgent, identity)
        : await this.inspectAsync(relDir, absDir, urgent, identity);
    } catch (err) {
      if (err instanceof EntryError) throw err.error;
      // The root must exist; a subdirectory that vanished since its parent was listed is just a race.
      if (relDir !== '' && isGone(err)) return [];
      throw annotate(err, relDir === '' ? '.' : relDir);
    }
    const children: Child[] = [];
    for (const entry of inspected) {
      if (!entry) continue;
      const decision = this.ctx.filter ? this.ctx.filter.decide(entry.walk.stat.path, entry.isDir) : SEND_ALL;
      // Read along with the listing but excluded: nobody will send it.
      if (!decision.send && entry.walk.content && this.ctx.preread) returnPreread(this.ctx.preread.budget, entry.walk.content);
      children.push({ entry, decision, listing: undefined });
    }
    this.held += children.length;
    // Start the subdirectories' listings in walk order, as room allows.
    for (const child of children) {
      if (this.held >= PREFETCH_ENTRIES || this.ctx.signal?.aborted) break;
      if (child.entry.isDir && child.decision.descend) child.listing = this.load(child.entry.walk.stat.path, child.entry.walk.abs, false, child.entry.walk);
    }
    return children;
  }

  /**
   * readdir, then an lstat per entry, at most FS_CONCURRENCY at once, through
   * the opened directory like the worker thread does (see FsThread.list).
   */
  private async inspectAsync(relDir: string, absDir: string, urgent: boolean, identity: DirIdentity | undefined): Promise<(Inspected | undefined)[]> {
    await this.openDirs.acquire();
    let dir: OpenedDir | undefined;
    try {
      dir = await this.call(urgent, () => openListedDir(absDir, identity));
      const via = dir;
      let names = await this.call(urgent, () => readdir(via.base));
      if (relDir === '') names = names.filter((n) => n !== RESERVED_ROOT_NAME);
      const prefix = relDir === '' ? '' : `${relDir}/`;
      const inspected = await Promise.all(
        sortNames(names).map((name) => this.call(urgent, () => inspect(this.ctx, `${prefix}${name}`, absDir + path.sep + name, via.base + via.sep + name))),
      );
      await this.call(urgent, () => via.stillListed());
      return inspected;
    } finally {
      dir?.close();
      this.openDirs.release();
    }
  }

  /** On the worker thread, or here if the worker is gone. */
  private async inspectOnThreadOrHere(
    thread: FsThread,
    relDir: string,
    absDir: string,
    urgent: boolean,
    identity: DirIdentity | undefined,
  ): Promise<(Inspected | undefined)[]> {
    try {
      return await this.inspectOnThread(thread, relDir, absDir, identity);
    } catch (err) {
      if (err instanceof FsThreadError) return this.inspectAsync(relDir, absDir, urgent, identity);
      throw err;
    }
  }

  /** The same from one message to the worker thread. */
  private async inspectOnThread(thread: FsThread, relDir: string, absDir: string, identity: DirIdentity | undefined): Promise<(Inspected | undefined)[]> {
    const preread = this.ctx.preread;
    const reply = await thread.list(absDir, path.sep, preread, identity);
    if ('error' in reply) throw errnoError(reply.error);
    // Content of an entry dropped here is not handed over: it goes back at once.
    if (preread && relDir === '') for (const e of reply.entries) if (e.content && e.name === RESERVED_ROOT_NAME) returnPreread(preread.budget, e.content);
    const prefix = relDir === '' ? '' : `${relDir}/`;
    for (const f of reply.failed) {
      if (!isGone(errnoError(f.code))) throw new EntryError(annotate(errnoError(f.code), `${prefix}${f.name}`));
    }
    const byName = new Map<string, ListedEntry>();
    for (const e of reply.entries) if (relDir !== '' || e.name !== RESERVED_ROOT_NAME) byName.set(e.name, e);
    return sortNames([...byName.keys()]).map((name) => {
      const e = byName.get(name)!;
      if (!isSendable(e.mode)) return undefined;
      return toInspected(this.ctx, `${prefix}${name}`, absDir + path.sep + name, e, e.linkname, e.content);
    });
  }

  /** Runs one file system call when a slot is free; the walk's own calls first. */
  private async call<T>(urgent: boolean, fn: () => Promise<T>): Promise<T> {
    if (this.active >= FS_CONCURRENCY) {
      await new Promise<void>((resolve) => (urgent ? this.urgent : this.background).push(resolve));
    } else {
      this.active++;
    }
    try {
      return await fn();
    } finally {
      // The slot passes on to the next waiter, or is freed.
      const next = this.urgent.shift() ?? this.background.shift();
      if (next) next();
      else this.active--;
    }
  }
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
}

/**
 * lstat one entry (never following it); undefined if it vanished or is
 * skipped. Asynchronous: a slow or network file system must never block the
 * event loop, or the daemon's health checks on the session time out.
 */
async function inspect(ctx: WalkContext, relPath: string, abs: string, via: string): Promise<Inspected | undefined> {
  let st: BigIntStats | undefined;
  let linkname: string | undefined;
  try {
    st = await lstat(via);
    if (!isSendable(st.mode)) return undefined;
    if (st.isSymbolicLink()) linkname = await readlink(via);
  } catch (err) {
    if (isGone(err)) return undefined;
    throw new EntryError(annotate(err, relPath)); // not to be annotated again with the directory
  }
  return toInspected(ctx, relPath, abs, st, linkname);
}

/** The fields of an lstat result that a STAT needs. */
type StatFields = Pick<ListedEntry, 'size' | 'mtimeNs' | 'dev' | 'ino'> & { readonly mode: bigint | number };

function toInspected(ctx: WalkContext, relPath: string, abs: string, st: StatFields, linkname: string | undefined, content?: Buffer): Inspected {
  const mode = st.mode;
  const kind = entryKind(mode);
  const stat: Stat = {
    path: relPath,
    mode: toGoFileMode(mode, ctx.platform),
    // The daemon must not learn (or depend on) runner-local owners.
    uid: 0,
    gid: 0,
    modTime: st.mtimeNs.toString(),
  };
  if (kind !== 'dir') stat.size = st.size.toString();
  if (linkname !== undefined) stat.linkname = ctx.platform === 'win32' ? linkname.replace(/\\/g, '/') : linkname;
  return { walk: { stat, dev: st.dev, ino: st.ino, abs, ...(content ? { content } : {}) }, isDir: kind === 'dir' };
}

/**
 * lstat through the callback API: the promise API allocates a result holder
 * per call and costs about twice the CPU, which shows over thousands of
 * entries. Just as asynchronous (libuv's thread pool).
 */
function lstat(abs: string): Promise<BigIntStats> {
  return new Promise((resolve, reject) => fs.lstat(abs, { bigint: true }, (err, st) => (err ? reject(err) : resolve(st))));
}

function readdir(absDir: string): Promise<string[]> {
  return new Promise((resolve, reject) => fs.readdir(absDir, (err, names) => (err ? reject(err) : resolve(names))));
}

function readlink(abs: string): Promise<string> {
  return new Promise((resolve, reject) => fs.readlink(abs, (err, target) => (err ? reject(err) : resolve(target))));
}

/** A directory opened for listing, and the path its entries are reached through. */
interface OpenedDir {
  readonly base: string;
  readonly sep: string;
  /** Rejects with ENOTDIR if the entries were reached by path and the directory is not the listed one any more. */
  stillListed(): Promise<void>;
  close(): void;
}

/** Linux: /proc/<pid>/fd/N names an opened directory itself (see FsThread.list). */
const PROC_FD = procFdDir();

function procFdDir(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    return `/proc/${fs.readlinkSync('/proc/self')}/fd/`;
  } catch {
    return undefined;
  }
}

/**
 * Opens a directory to list it: never through a final symlink when it is a
 * subdirectory, and it must be the inode its parent's listing saw. On Linux
 * its entries are then reached through the descriptor; elsewhere by path,
 * checked again once they are read (a narrower guarantee, the best the
 * platform's API allows from Node).
 */
async function openListedDir(absDir: string, identity: DirIdentity | undefined): Promise<OpenedDir> {
  const notListed = (): Error => Object.assign(new Error('ENOTDIR'), { code: 'ENOTDIR' });
  const same = (st: BigIntStats): boolean => !identity || (st.dev === identity.dev && st.ino === identity.ino);
  const byPath: OpenedDir = {
    base: absDir,
    sep: path.sep,
    async stillListed() {
      if (!identity) return;
      let st: BigIntStats;
      try {
        st = await lstat(absDir);
      } catch {
        throw notListed();
      }
      if (!same(st)) throw notListed();
    },
    close() {},
  };
  const O_DIRECTORY = fs.constants.O_DIRECTORY as number | undefined;
  if (O_DIRECTORY === undefined) return byPath; // Windows: directories cannot be opened
  let fd: number;
  try {
    fd = await open(absDir, fs.constants.O_RDONLY | O_DIRECTORY | (identity ? (fs.constants.O_NOFOLLOW ?? 0) : 0));
  } catch (err) {
    throw identity && (err as NodeJS.ErrnoException).code === 'ELOOP' ? notListed() : err;
  }
  const close = (): void => fs.close(fd, () => {});
  try {
    if (!same(await fstat(fd))) throw notListed();
  } catch (err) {
    close();
    throw err;
  }
  if (!PROC_FD) return { ...byPath, close };
  return { base: PROC_FD + String(fd), sep: '/', stillListed: async () => {}, close };
}

/** At most `max` holders at once; the others wait in order. */
class Limit {
  private held = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly max: number) {}

  async acquire(): Promise<void> {
    if (this.held < this.max) {
      this.held++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.held--;
  }
}

function open(abs: string, flags: number): Promise<number> {
  return new Promise((resolve, reject) => fs.open(abs, flags, (err, fd) => (err ? reject(err) : resolve(fd))));
}

function fstat(fd: number): Promise<BigIntStats> {
  return new Promise((resolve, reject) => fs.fstat(fd, { bigint: true }, (err, st) => (err ? reject(err) : resolve(st))));
}

/** Joins a '/'-separated relative path onto the root with the OS separator. */
export function toAbsolute(root: string, relPath: string): string {
  return path.join(root, ...relPath.split('/'));
}

/** A failure of one entry, already described: not a failure of the directory. */
class EntryError extends Error {
  constructor(readonly error: Error) {
    super(error.message, { cause: error });
  }
}

/** An errno code from the worker thread as the Error that fs would have thrown. */
function errnoError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(code), { code });
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
