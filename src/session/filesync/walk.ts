// Walks a served directory in the order the receiver validates: depth-first,
// pre-order, siblings sorted by the bytes of their UTF-8 names (Go WalkDir).
// Everything is async: a blocked event loop starves the session's health
// checks and the daemon drops the whole session.
import { promises as fsp } from 'node:fs';
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
}

/**
 * A root-level entry with this name is silently dropped by newer receivers in
 * metadata-only transfers without advancing their ID counter; sending one
 * would desynchronise every later file ID.
 */
const RESERVED_ROOT_NAME = '.fsutil-metadata';

/** lstat calls in flight per directory: enough to hide latency, few fds. */
const STAT_BATCH = 64;

export async function* walk(root: string, options: WalkOptions = {}): AsyncGenerator<WalkEntry> {
  const ctx: WalkContext = {
    root,
    filter: options.filter,
    signal: options.signal,
    platform: options.platform ?? process.platform,
    pending: [],
  };
  // The root must exist; a missing subdirectory later is just a race.
  let names: string[];
  try {
    names = await fsp.readdir(root);
  } catch (err) {
    throw annotate(err, '.');
  }
  yield* walkDir(ctx, '', names);
}

interface WalkContext {
  readonly root: string;
  readonly filter: WalkFilter | undefined;
  readonly signal: AbortSignal | undefined;
  readonly platform: NodeJS.Platform;
  /**
   * Ancestors walked into but not sent (filtered out themselves). They are
   * sent just before their first sent descendant, so the receiver always sees
   * a parent before its children.
   */
  readonly pending: WalkEntry[];
}

/** Go's WalkDir order: compare names as UTF-8 bytes, not UTF-16 units. */
export function sortNames(names: readonly string[]): string[] {
  return names
    .map((name) => ({ name, key: Buffer.from(name, 'utf8') }))
    .sort((a, b) => Buffer.compare(a.key, b.key))
    .map((e) => e.name);
}

async function* walkDir(ctx: WalkContext, relDir: string, unsorted: string[]): AsyncGenerator<WalkEntry> {
  const names = sortNames(relDir === '' ? unsorted.filter((n) => n !== RESERVED_ROOT_NAME) : unsorted);
  for (let i = 0; i < names.length; i += STAT_BATCH) {
    const batch = names.slice(i, i + STAT_BATCH);
    const entries = await Promise.all(batch.map((name) => inspect(ctx, relDir === '' ? name : `${relDir}/${name}`)));
    for (const entry of entries) {
      if (ctx.signal?.aborted) return;
      if (!entry) continue;
      const isDir = entryKind(entry.posixMode) === 'dir';
      const decision = ctx.filter ? ctx.filter.decide(entry.walk.stat.path, isDir) : { send: true, descend: true };
      if (decision.send) {
        yield* flushPending(ctx);
        yield entry.walk;
      }
      if (!isDir || !decision.descend) continue;
      const children = await readChildren(ctx, entry.walk.stat.path);
      if (decision.send) {
        yield* walkDir(ctx, entry.walk.stat.path, children);
      } else {
        ctx.pending.push(entry.walk);
        yield* walkDir(ctx, entry.walk.stat.path, children);
        // Still pending means nothing below was sent: forget it.
        if (ctx.pending.at(-1) === entry.walk) ctx.pending.pop();
      }
    }
  }
}

function* flushPending(ctx: WalkContext): Generator<WalkEntry> {
  for (const parent of ctx.pending) yield parent;
  ctx.pending.length = 0;
}

interface Inspected {
  readonly walk: WalkEntry;
  readonly posixMode: number;
}

/** lstat one entry (never following it); undefined if it vanished or is skipped. */
async function inspect(ctx: WalkContext, relPath: string): Promise<Inspected | undefined> {
  const abs = toAbsolute(ctx.root, relPath);
  let st: BigIntStats;
  let linkname: string | undefined;
  try {
    st = await fsp.lstat(abs, { bigint: true });
    if (!isSendable(st.mode)) return undefined;
    if (st.isSymbolicLink()) linkname = await fsp.readlink(abs);
  } catch (err) {
    if (isGone(err)) return undefined; // deleted while we walked: as if never there
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
  return { walk: { stat, dev: st.dev, ino: st.ino }, posixMode: Number(st.mode) };
}

async function readChildren(ctx: WalkContext, relDir: string): Promise<string[]> {
  try {
    return await fsp.readdir(toAbsolute(ctx.root, relDir));
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
