// Test helpers for the DiffCopy sender: temporary trees and an in-memory
// BidiCall that pushes every packet through the real Packet codec.
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { codec, Messages, PacketType, type Packet, type Stat } from '../../../src/protocol/index.js';
import type { BidiCall, Metadata } from '../../../src/session/rpc.js';
import { walk, type WalkFilter } from '../../../src/session/filesync/walk.js';

export const packetCodec = codec<Packet>(Messages.Packet);

/** A tree entry: file content, a symlink, or an (empty) directory. */
export type Node = string | Buffer | { link: string } | { dir: true };

const made: string[] = [];

/** Creates a temp dir holding `tree` (keys are '/'-separated relative paths). */
export async function makeTree(tree: Record<string, Node>): Promise<string> {
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'filesync-'));
  made.push(root);
  for (const [rel, node] of Object.entries(tree)) {
    const abs = path.join(root, ...rel.split('/'));
    await fsp.mkdir(path.dirname(abs), { recursive: true });
    if (typeof node === 'string' || Buffer.isBuffer(node)) await fsp.writeFile(abs, node);
    else if ('link' in node) await fsp.symlink(node.link, abs);
    else await fsp.mkdir(abs, { recursive: true });
  }
  return root;
}

export async function removeTrees(): Promise<void> {
  for (const root of made.splice(0)) await fsp.rm(root, { recursive: true, force: true });
}

export async function walkPaths(root: string, filter?: WalkFilter): Promise<string[]> {
  const out: string[] = [];
  for await (const e of walk(root, { filter })) out.push(e.stat.path);
  return out;
}

/** An async queue usable as `messages`. */
class Inbox<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private ended = false;
  private wake: (() => void) | undefined;
  private blockedWaiters: (() => void)[] = [];

  /** Resolves once the reader is blocked on an empty queue (at once if it already is). */
  readerBlocked(): Promise<void> {
    if (this.wake) return Promise.resolve();
    return new Promise((r) => this.blockedWaiters.push(r));
  }

  push(item: T): void {
    this.items.push(item);
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.items.length) {
        yield this.items.shift()!;
        continue;
      }
      if (this.ended) return;
      const blocked = new Promise<void>((r) => (this.wake = r));
      for (const w of this.blockedWaiters.splice(0)) w();
      await blocked;
      this.wake = undefined;
    }
  }
}

/** Transport double: the protocol logic is under test, not HTTP/2. */
export class FakeCall implements BidiCall<Packet, Packet> {
  readonly path = '/moby.filesync.v1.FileSync/DiffCopy';
  readonly metadata: Metadata;
  private readonly controller = new AbortController();
  private readonly inbox = new Inbox<Packet>();
  readonly messages: AsyncIterable<Packet> = this.inbox;
  /** Resolves once the server waits for the daemon's next packet with none queued. */
  readonly serverAwaitsPacket = (): Promise<void> => this.inbox.readerBlocked();
  /** Every packet we were given, as the real codec encoded it. */
  readonly wire: Buffer[] = [];
  /** The same packets decoded again. */
  readonly sent: Packet[] = [];
  onPacket: ((p: Packet) => void) | undefined;

  constructor(metadata: Record<string, string[]>) {
    this.metadata = new Map(Object.entries(metadata));
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  async write(message: Packet): Promise<void> {
    const bytes = packetCodec.encode(message);
    this.wire.push(bytes);
    const decoded = packetCodec.decode(bytes);
    this.sent.push(decoded);
    this.onPacket?.(decoded);
    // A real transport resolves later; yield so other tasks interleave.
    await new Promise<void>((r) => setImmediate(r));
  }

  /** A packet from the receiver, round-tripped through the codec too. */
  send(p: Packet): void {
    this.inbox.push(packetCodec.decode(packetCodec.encode(p)));
  }

  endInput(): void {
    this.inbox.end();
  }

  cancel(): void {
    this.controller.abort(new Error('cancelled'));
    this.inbox.end();
  }
}

/**
 * A FakeCall that also takes encoded writes (EncodedWriter), as our session
 * server's calls do, and holds each write's buffers, by reference, until
 * `release` runs its onReleased callback: what the session does while a
 * write is queued on the connection or in the tunnel.
 */
export class HoldingCall extends FakeCall {
  /** Every encoded write: its parts (the sender's own buffers) and a copy taken when written. */
  readonly writes: { parts: Buffer[]; copy: Buffer; onReleased: (() => void) | undefined; released: boolean }[] = [];

  writeEncoded(messages: readonly (readonly Buffer[])[], _reserved = 0, onReleased?: () => void): boolean {
    const parts = messages.flat();
    this.writes.push({ parts, copy: Buffer.concat(parts), onReleased, released: false });
    for (const m of messages) {
      const decoded = packetCodec.decode(Buffer.concat(m));
      this.sent.push(decoded);
      this.onPacket?.(decoded);
    }
    return true;
  }

  drained(): Promise<void> {
    return Promise.resolve();
  }

  /** Writes found changed while the session still held them. */
  private changed = 0;

  /** Releases every write but the newest `keep`, checking first that each still holds what was written. */
  release(keep = 0): void {
    for (const w of this.writes.slice(0, Math.max(0, this.writes.length - keep))) {
      if (w.released) continue;
      if (!Buffer.concat(w.parts).equals(w.copy)) this.changed++;
      w.released = true;
      w.onReleased?.();
    }
  }

  /** Writes whose buffers changed while held (checked at release, and now for those still held). */
  changedWhileHeld(): number {
    return this.changed + this.writes.filter((w) => !w.released && !Buffer.concat(w.parts).equals(w.copy)).length;
  }
}

export interface Received {
  stats: Stat[];
  files: Map<string, Buffer>;
  /** DATA chunk sizes per file, excluding the empty terminator. */
  chunks: Map<string, number[]>;
  /** Index in `call.sent` of the end-of-walk marker. */
  endMarkerIndex: number;
}

const GO_MODE_TYPE = 0x8f280000;

/**
 * Plays the daemon: numbers STATs, requests the files `want` selects (right
 * away, while the walk still runs, if `early`), reassembles DATA, and sends
 * FIN once the walk ended and every requested file is complete.
 */
export function actAsReceiver(call: FakeCall, want: (s: Stat) => boolean = () => true, early = true): Received {
  const result: Received = { stats: [], files: new Map(), chunks: new Map(), endMarkerIndex: -1 };
  const byId = new Map<number, string>();
  const outstanding = new Set<number>();
  const parts = new Map<number, Buffer[]>();
  const later: number[] = [];
  let walkDone = false;
  let finSent = false;
  const maybeFin = () => {
    if (walkDone && outstanding.size === 0 && !finSent) {
      finSent = true;
      call.send({ type: PacketType.FIN });
    }
  };
  call.onPacket = (p) => {
    const type = p.type ?? PacketType.STAT;
    if (type === PacketType.STAT && p.stat) {
      const id = result.stats.length;
      result.stats.push(p.stat);
      if (((p.stat.mode & GO_MODE_TYPE) >>> 0) === 0 && want(p.stat)) {
        byId.set(id, p.stat.path);
        outstanding.add(id);
        parts.set(id, []);
        if (early) call.send({ type: PacketType.REQ, ID: id });
        else later.push(id);
      }
    } else if (type === PacketType.STAT) {
      result.endMarkerIndex = call.sent.length - 1;
      walkDone = true;
      for (const id of later) call.send({ type: PacketType.REQ, ID: id });
      maybeFin();
    } else if (type === PacketType.DATA) {
      const id = p.ID ?? 0;
      const data = p.data ?? Buffer.alloc(0);
      const path = byId.get(id)!;
      if (data.length > 0) {
        parts.get(id)!.push(data);
        result.chunks.set(path, [...(result.chunks.get(path) ?? []), data.length]);
      } else {
        result.files.set(path, Buffer.concat(parts.get(id)!));
        outstanding.delete(id);
        maybeFin();
      }
    }
  };
  return result;
}
