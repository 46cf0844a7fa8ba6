import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { PacketType, type Packet } from '../../../src/protocol/index.js';
import { createTransferStats, serveDiffCopy, DEFAULT_CHUNK_SIZE, PREREAD_BEFORE_REQUESTS, PREREAD_BYTES, type DiffCopyOptions } from '../../../src/session/filesync/diffcopy.js';
import { FsThread, sharedFsThread } from '../../../src/session/filesync/fs-thread.js';
import { Code, RpcError } from '../../../src/session/rpc.js';
import { actAsReceiver, FakeCall, HoldingCall, makeTree, packetCodec, removeTrees } from './helpers.js';

afterAll(removeTrees);

const hex = (b: Buffer | undefined) => b?.toString('hex');

function callFor(dirName: string, extra: Record<string, string[]> = {}): FakeCall {
  return new FakeCall({ 'dir-name': [dirName], ...extra });
}

async function rejection(p: Promise<unknown>): Promise<RpcError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(RpcError);
    return err as RpcError;
  }
  throw new Error('expected a rejection');
}

/** Waits until the sender has written a packet matching `pred`. */
async function until(call: FakeCall, pred: (p: Packet) => boolean): Promise<void> {
  for (let i = 0; i < 500 && !call.sent.some(pred); i++) await new Promise((r) => setTimeout(r, 2));
  expect(call.sent.some(pred)).toBe(true);
}

const isEndMarker = (p: Packet) => (p.type ?? 0) === PacketType.STAT && !p.stat;

describe('DiffCopy sender: full exchange', () => {
  it('sends STATs in walk order, the end marker, requested files, then answers FIN', async () => {
    const root = await makeTree({ 'a/b': 'hello', 'a-c': 'world!', empty: '', l: { link: 'a/b' } });
    const call = callFor('context');
    const rx = actAsReceiver(call, () => true, false);
    const stats = createTransferStats();
    await serveDiffCopy(call, new Map([['context', root]]), stats);

    expect(rx.stats.map((s) => s.path)).toEqual(['a', 'a/b', 'a-c', 'empty', 'l']);
    expect(rx.stats.every((s) => s.uid === undefined || s.uid === 0)).toBe(true);
    // End of walk: a STAT packet without the stat field, exactly 08 00.
    expect(rx.endMarkerIndex).toBe(5);
    expect(hex(call.wire[rx.endMarkerIndex])).toBe('0800');
    expect(rx.files).toEqual(new Map([['a/b', Buffer.from('hello')], ['a-c', Buffer.from('world!')], ['empty', Buffer.alloc(0)]]));
    // IDs count every STAT: a=0, a/b=1, a-c=2, empty=3, l=4.
    const dataIds = new Set(call.sent.filter((p) => p.type === PacketType.DATA).map((p) => p.ID ?? 0));
    expect(dataIds).toEqual(new Set([1, 2, 3]));
    // An empty file is just the terminator: DATA with ID 3 and no data.
    expect(call.wire.filter((b) => hex(b)!.startsWith('08021803')).map(hex)).toEqual(['08021803']);
    // Each requested file ends with exactly one empty DATA.
    for (const id of [1, 2, 3]) expect(call.wire.filter((b) => hex(b) === `080218${id.toString(16).padStart(2, '0')}`)).toHaveLength(1);
    // FIN is the last thing we send.
    expect(hex(call.wire.at(-1))).toBe('0803');
    expect(stats).toEqual({ entriesSent: 5, filesSent: 3, bytesSent: 11, requestsQueuedPeak: expect.any(Number) });
  });

  it('does not finish before the receiver sends FIN', async () => {
    const root = await makeTree({ f: 'x' });
    const call = callFor('context');
    let done = false;
    const serving = serveDiffCopy(call, new Map([['context', root]])).then(() => (done = true));
    await until(call, isEndMarker);
    // The server now waits for the daemon's packets, with none queued; once
    // every pending callback has run, it must still be serving.
    await call.serverAwaitsPacket();
    await new Promise<void>((r) => setImmediate(r));
    expect(done).toBe(false);
    expect(call.sent.some((p) => p.type === PacketType.FIN)).toBe(false);
    call.send({ type: PacketType.FIN });
    await serving;
    expect(call.sent.at(-1)).toEqual({ type: PacketType.FIN });
  });

  it('serves requests that arrive while the walk is still running', async () => {
    const tree: Record<string, string> = {};
    for (let i = 0; i < 300; i++) tree[`f${String(i).padStart(3, '0')}`] = `content ${i}`;
    const root = await makeTree(tree);
    const call = callFor('context');
    const rx = actAsReceiver(call, (s) => s.path === 'f000', true);
    await serveDiffCopy(call, new Map([['context', root]]));
    const firstData = call.sent.findIndex((p) => p.type === PacketType.DATA);
    expect(firstData).toBeGreaterThan(-1);
    expect(firstData).toBeLessThan(rx.endMarkerIndex);
    expect(rx.files.get('f000')?.toString()).toBe('content 0');
  });

  it('streams a 1 MB file in chunks, byte-exact', async () => {
    const content = randomBytes(1_000_003);
    const root = await makeTree({ big: content });
    const call = callFor('context');
    const rx = actAsReceiver(call);
    const stats = createTransferStats();
    await serveDiffCopy(call, new Map([['context', root]]), stats);
    expect(rx.files.get('big')!.equals(content)).toBe(true);
    const chunks = rx.chunks.get('big')!;
    expect(chunks.length).toBe(Math.ceil(content.length / DEFAULT_CHUNK_SIZE));
    expect(Math.max(...chunks)).toBeLessThanOrEqual(DEFAULT_CHUNK_SIZE);
    expect(stats.bytesSent).toBe(content.length);
  });

  it('fills a chunk buffer again only after the session released the write that carried it', async () => {
    const contents = [randomBytes(1_000_003), randomBytes(700_000), randomBytes(2_100_000)];
    const root = await makeTree({ a: contents[0]!, b: contents[1]!, c: contents[2]! });
    const call = new HoldingCall({ 'dir-name': ['context'] });
    const rx = actAsReceiver(call);
    // The session keeps the newest writes (queued, or in the tunnel) and releases older ones.
    const releasing = setInterval(() => call.release(3), 0);
    try {
      await serveDiffCopy(call, new Map([['context', root]]));
    } finally {
      clearInterval(releasing);
    }
    expect(['a', 'b', 'c'].map((n) => rx.files.get(n)?.equals(contents['abc'.indexOf(n)]!))).toEqual([true, true, true]);
    // What the session held stayed as written, though buffers were reused.
    expect(call.changedWhileHeld()).toBe(0);
    const data = call.writes.flatMap((w) => w.parts).filter((b) => b.length >= DEFAULT_CHUNK_SIZE / 2);
    expect(new Set(data.map((b) => b.buffer)).size).toBeLessThan(data.length);
  });

  it('keeps one write in flight (awaits backpressure) and at most `concurrency` files open', async () => {
    const tree: Record<string, Buffer> = {};
    for (let i = 0; i < 12; i++) tree[`f${i}`] = randomBytes(5000);
    const root = await makeTree(tree);
    const call = callFor('context');
    let inFlight = 0;
    let maxInFlight = 0;
    const write = call.write.bind(call);
    call.write = async (p) => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      try {
        await write(p);
      } finally {
        inFlight--;
      }
    };
    const rx = actAsReceiver(call, () => true, false);
    await serveDiffCopy(call, new Map([['context', root]]), undefined, { chunkSize: 1024, concurrency: 3 });
    expect(maxInFlight).toBe(1);
    // Files in progress at once, from the DATA stream: started, not yet terminated.
    let open = 0;
    let maxOpen = 0;
    const started = new Set<number>();
    for (const p of call.sent.filter((x) => x.type === PacketType.DATA)) {
      const id = p.ID ?? 0;
      if (p.data?.length && !started.has(id)) {
        started.add(id);
        maxOpen = Math.max(maxOpen, ++open);
      } else if (!p.data?.length) open--;
    }
    expect(maxOpen).toBeLessThanOrEqual(3);
    expect(maxOpen).toBeGreaterThan(1); // requests really are served in parallel
    for (const [name, data] of Object.entries(tree)) expect(rx.files.get(name)!.equals(data)).toBe(true);
  });

  it('applies exclude-patterns and followpaths from metadata', async () => {
    const root = await makeTree({ Dockerfile: { link: 'sub/real.Dockerfile' }, 'sub/real.Dockerfile': 'FROM x', 'sub/n': '', 'x.log': '', y: '' });
    const call = callFor('dockerfile', { followpaths: ['Dockerfile', 'Dockerfile.dockerignore', 'dockerfile'] });
    const rx = actAsReceiver(call);
    await serveDiffCopy(call, new Map([['dockerfile', root]]));
    expect(rx.stats.map((s) => s.path)).toEqual(['Dockerfile', 'sub', 'sub/real.Dockerfile']);
    expect(rx.files.get('sub/real.Dockerfile')?.toString()).toBe('FROM x');

    const ctx = callFor('context', { 'exclude-patterns': ['*.log', 'sub', '!sub/n'] });
    const rx2 = actAsReceiver(ctx);
    await serveDiffCopy(ctx, new Map([['context', root]]));
    expect(rx2.stats.map((s) => s.path)).toEqual(['Dockerfile', 'sub', 'sub/n', 'y']);
  });

  it('adds to the same stats object across transfers', async () => {
    const root = await makeTree({ a: '123', b: '45' });
    const stats = createTransferStats();
    for (let i = 0; i < 2; i++) {
      const call = callFor('context');
      actAsReceiver(call);
      await serveDiffCopy(call, new Map([['context', root]]), stats);
    }
    expect(stats).toEqual({ entriesSent: 4, filesSent: 4, bytesSent: 10, requestsQueuedPeak: expect.any(Number) });
  });
});

test('a transfer whose worker thread is gone reads files with asynchronous fs calls', async () => {
  const root = await makeTree({ 'a/b': 'hello', c: 'world' });
  const gone = FsThread.start()!;
  await gone.close();
  const call = callFor('context');
  const rx = actAsReceiver(call, () => true, false);
  await serveDiffCopy(call, new Map([['context', root]]), undefined, { fsThread: gone });
  expect(rx.stats.map((s) => s.path)).toEqual(['a', 'a/b', 'c']);
  expect(rx.files.get('a/b')!.toString()).toBe('hello');
  expect(rx.files.get('c')!.toString()).toBe('world');
});

/**
 * Our session server's calls take already encoded packets synchronously
 * (EncodedWriter): no write waits for anything while the stream has room.
 */
class EncodedFakeCall extends FakeCall {
  writeEncoded(messages: readonly (readonly Buffer[])[]): boolean {
    for (const parts of messages) {
      const decoded = packetCodec.decode(Buffer.concat(parts));
      this.sent.push(decoded);
      this.onPacket?.(decoded);
    }
    return true;
  }

  drained(): Promise<void> {
    return Promise.resolve();
  }
}

describe('DiffCopy sender: the event loop during the walk', () => {
  it('lets the event loop turn between batches of STATs, so HTTP/2 can send them while the walk goes on', async () => {
    // One directory of 600 entries: one listing, handed on in several batches.
    const tree: Record<string, string> = {};
    for (let i = 0; i < 600; i++) tree[`f${String(i).padStart(3, '0')}`] = 'x';
    const root = await makeTree(tree);
    const call = new EncodedFakeCall({ 'dir-name': ['context'] });
    const rx = actAsReceiver(call, () => false);
    let turn = 0;
    let ticking = true;
    const tick = (): void => {
      turn++;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    const turnOfBatch: number[] = [];
    const receive = call.onPacket!;
    let lastStatCount = 0;
    call.onPacket = (p) => {
      receive(p);
      if (rx.stats.length > lastStatCount && turnOfBatch[turnOfBatch.length - 1] !== turn) turnOfBatch.push(turn);
      lastStatCount = rx.stats.length;
    };
    try {
      await serveDiffCopy(call, new Map([['context', root]]));
    } finally {
      ticking = false;
    }
    expect(rx.stats).toHaveLength(600);
    // Each batch went out in a turn of its own: at least three for 600 entries.
    expect(turnOfBatch.length).toBeGreaterThanOrEqual(3);
  });
});

/** Worker threads whose listings are recorded: how much content each read along. */
function spyThread(): { thread: FsThread; listedContent: () => number } {
  const thread = FsThread.start(2)!;
  let bytes = 0;
  const list = thread.list.bind(thread);
  thread.list = async (dir, sep, preread) => {
    const reply = await list(dir, sep, preread);
    if (!('error' in reply)) for (const e of reply.entries) bytes += e.content ? e.content.length + 1 : 0;
    return reply;
  };
  return { thread, listedContent: () => bytes };
}

describe('DiffCopy sender: small files read with their listing', () => {
  const threads: FsThread[] = [];
  afterAll(async () => {
    for (const t of threads) await t.close();
  });

  it('reads at most PREREAD_BEFORE_REQUESTS for a receiver that asks for nothing (a cached rebuild)', async () => {
    // 100 directories of one 60 KiB file: 6 MB of small files.
    const tree: Record<string, Buffer> = {};
    for (let d = 0; d < 100; d++) tree[`d${String(d).padStart(2, '0')}/f`] = Buffer.alloc(60 * 1024, d);
    const root = await makeTree(tree);
    const call = callFor('context');
    const rx = actAsReceiver(call, () => false);
    const { thread, listedContent } = spyThread();
    threads.push(thread);
    await serveDiffCopy(call, new Map([['context', root]]), undefined, { fsThread: thread });
    expect(rx.stats).toHaveLength(200);
    expect(listedContent()).toBeGreaterThan(0);
    expect(listedContent()).toBeLessThanOrEqual(PREREAD_BEFORE_REQUESTS);
  });

  it('sends every file byte-exact, whether read with its listing or on request', async () => {
    const tree: Record<string, string> = {};
    for (let d = 0; d < 30; d++) for (let i = 0; i < 10; i++) tree[`d${String(d).padStart(2, '0')}/f${i}`] = `content ${d}/${i} `.repeat(d + i);
    const root = await makeTree(tree);
    const call = callFor('context');
    const rx = actAsReceiver(call);
    const { thread } = spyThread();
    threads.push(thread);
    await serveDiffCopy(call, new Map([['context', root]]), undefined, { fsThread: thread });
    for (const [rel, content] of Object.entries(tree)) expect(rx.files.get(rel)?.toString()).toBe(content);
  });

  it('holds at most PREREAD_BYTES of content nobody asked for', async () => {
    // The receiver asks for the first file only; 320 directories of one 60 KiB file each follow it (19.7 MB in all).
    const tree: Record<string, Buffer> = { a: Buffer.from('first') };
    for (let d = 0; d < 320; d++) tree[`d${String(d).padStart(3, '0')}/f`] = Buffer.alloc(60 * 1024, d);
    const root = await makeTree(tree);
    const call = callFor('context');
    const rx = actAsReceiver(call, (st) => st.path === 'a');
    const { thread, listedContent } = spyThread();
    threads.push(thread);
    await serveDiffCopy(call, new Map([['context', root]]), undefined, { fsThread: thread });
    expect(rx.files.get('a')?.toString()).toBe('first');
    expect(listedContent()).toBeLessThanOrEqual(PREREAD_BYTES);
  });
});

describe('DiffCopy sender: errors', () => {
  it.each([
    ['an unknown name', { 'dir-name': ['nope'] }, 'no access allowed to dir "nope"'],
    ['no dir-name at all', {}, 'no access allowed to dir ""'],
  ])('NOT_FOUND for %s, before sending anything', async (_name, md, message) => {
    const call = new FakeCall(md);
    const err = await rejection(serveDiffCopy(call, new Map([['context', '/tmp']])));
    expect(err.code).toBe(Code.NOT_FOUND);
    expect(err.message).toBe(message);
    expect(call.sent).toEqual([]);
  });

  it.each([
    ['a directory ID', 0],
    ['an ID never sent', 99],
  ])('answers a REQ for %s with ERR and fails', async (_name, id) => {
    const root = await makeTree({ 'd/f': 'x' });
    const call = callFor('context');
    const serving = serveDiffCopy(call, new Map([['context', root]]));
    await until(call, isEndMarker);
    call.send({ type: PacketType.REQ, ID: id });
    const err = await rejection(serving);
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    const last = call.sent.at(-1)!;
    expect(last.type).toBe(PacketType.ERR);
    expect(last.data?.toString()).toBe(`invalid file id ${id}`);
    expect(call.sent.some((p) => p.type === PacketType.DATA)).toBe(false);
  });

  it('sends ERR when the walk fails', async () => {
    const root = await makeTree({});
    const call = callFor('context');
    const err = await rejection(serveDiffCopy(call, new Map([['context', path.join(root, 'missing')]])));
    expect(err.code).toBe(Code.UNKNOWN);
    expect(call.sent).toEqual([{ type: PacketType.ERR, data: Buffer.from('failed to walk .: ENOENT') }]);
  });

  it('sends ERR for an invalid pattern', async () => {
    const root = await makeTree({ a: '' });
    const call = callFor('context', { 'exclude-patterns': ['['] });
    await rejection(serveDiffCopy(call, new Map([['context', root]])));
    expect(call.sent.at(-1)?.type).toBe(PacketType.ERR);
    expect(call.sent.at(-1)?.data?.toString()).toMatch(/^invalid pattern "\["/);
  });

  it('fails without ERR when the receiver reports an error', async () => {
    const root = await makeTree({ f: '' });
    const call = callFor('context');
    const serving = serveDiffCopy(call, new Map([['context', root]]));
    await until(call, isEndMarker);
    call.send({ type: PacketType.ERR, data: Buffer.from('disk full') });
    const err = await rejection(serving);
    expect(err.message).toBe('error from receiver: disk full');
    expect(call.sent.some((p) => p.type === PacketType.ERR)).toBe(false);
  });

  it('fails when the receiver half-closes without FIN', async () => {
    const root = await makeTree({ f: '' });
    const call = callFor('context');
    const serving = serveDiffCopy(call, new Map([['context', root]]));
    await until(call, isEndMarker);
    call.endInput();
    expect((await rejection(serving)).message).toBe('receiver closed the stream without FIN');
  });

  it('fails with CANCELLED, sending nothing more, when the call is cancelled', async () => {
    const root = await makeTree({ f: '' });
    const call = callFor('context');
    const serving = serveDiffCopy(call, new Map([['context', root]]));
    await until(call, isEndMarker);
    const before = call.sent.length;
    call.cancel();
    expect((await rejection(serving)).code).toBe(Code.CANCELLED);
    expect(call.sent.length).toBe(before);
  });
});

// The file reads on request that guard against swaps and size changes exist
// twice: on the worker thread (the default) and with libuv's asynchronous
// calls (the fallback when no worker can start). Both must behave the same.
// Reading with the listing is off here: it reads before these changes (see
// 'files read with their listing' below).
const READ_MODES: [string, DiffCopyOptions['fsThread']][] = [
  ['on the file system worker thread', undefined],
  ['with asynchronous fs calls', null],
];

describe('DiffCopy sender: files read with their listing', () => {
  // The shared worker threads, named here: a flat one-file context would not
  // start them, and these tests would then pass only after one that did.
  const serve = (call: FakeCall, dirs: Map<string, string>) => serveDiffCopy(call, dirs, undefined, { fsThread: sharedFsThread() ?? null });

  it('sends a file swapped for a symlink after it was listed as it was listed, never the link target', async () => {
    const outside = await makeTree({ 'secret.txt': 'TOP SECRET' });
    const root = await makeTree({ f: 'harmless' });
    const call = callFor('context');
    const serving = serve(call, new Map([['context', root]]));
    await until(call, isEndMarker);
    await fsp.rm(path.join(root, 'f'));
    await fsp.symlink(path.join(outside, 'secret.txt'), path.join(root, 'f'));
    call.send({ type: PacketType.REQ, ID: 0 });
    await until(call, (p) => p.type === PacketType.DATA && !p.data?.length);
    call.send({ type: PacketType.FIN });
    await serving;
    const data = call.sent.filter((p) => p.type === PacketType.DATA && p.data?.length).map((p) => p.data!.toString());
    expect(data).toEqual(['harmless']);
  });

  it('sends a file that grew after it was listed with the size its STAT gave', async () => {
    const root = await makeTree({ f: 'tiny' });
    const call = callFor('context');
    const serving = serve(call, new Map([['context', root]]));
    await until(call, isEndMarker);
    await fsp.appendFile(path.join(root, 'f'), ' and more');
    call.send({ type: PacketType.REQ, ID: 0 });
    await until(call, (p) => p.type === PacketType.DATA && !p.data?.length);
    call.send({ type: PacketType.FIN });
    await serving;
    expect(call.sent.find((p) => p.type === PacketType.STAT && p.stat?.path === 'f')?.stat?.size).toBe('4');
    expect(call.sent.filter((p) => p.type === PacketType.DATA && p.data?.length).map((p) => p.data!.toString())).toEqual(['tiny']);
  });
});

describe.each(READ_MODES)('reading files %s', (_mode, fsThread) => {
  const serve = (call: FakeCall, dirs: Map<string, string>, options: DiffCopyOptions = {}) => serveDiffCopy(call, dirs, undefined, { ...options, fsThread, preread: false });

  describe('DiffCopy sender: symlink safety', () => {
    it('refuses a file swapped for a symlink after the walk', async () => {
      const outside = await makeTree({ 'secret.txt': 'TOP SECRET' });
      const root = await makeTree({ f: 'harmless' });
      const call = callFor('context');
      const serving = serve(call, new Map([['context', root]]));
      await until(call, isEndMarker);
      await fsp.rm(path.join(root, 'f'));
      await fsp.symlink(path.join(outside, 'secret.txt'), path.join(root, 'f'));
      call.send({ type: PacketType.REQ, ID: 0 });
      await rejection(serving);
      expect(call.sent.at(-1)?.type).toBe(PacketType.ERR);
      expect(call.sent.at(-1)?.data?.toString()).toBe('failed to read f: ELOOP');
      expect(call.sent.some((p) => p.type === PacketType.DATA)).toBe(false);
    });

    it('refuses a file whose parent directory was swapped for a symlink', async () => {
      const outside = await makeTree({ 'f': 'TOP SECRET' });
      const root = await makeTree({ 'sub/f': 'harmless' });
      const call = callFor('context');
      const serving = serve(call, new Map([['context', root]]));
      await until(call, isEndMarker);
      await fsp.rename(path.join(root, 'sub'), path.join(root, 'sub.orig'));
      await fsp.symlink(outside, path.join(root, 'sub'));
      call.send({ type: PacketType.REQ, ID: 1 });
      await rejection(serving);
      expect(call.sent.at(-1)?.data?.toString()).toBe('failed to read sub/f: file was replaced during the transfer');
      expect(call.sent.some((p) => p.type === PacketType.DATA)).toBe(false);
    });
  });

  describe('DiffCopy sender: files that change size after the walk', () => {
    /** Walks, lets `change` run before the REQ for ID 0, and returns what the receiver got for it. */
    async function sendAfter(initial: Buffer, change: (file: string) => Promise<void>, chunkSize = 1024): Promise<{ data: Buffer; chunks: number[] }> {
      const root = await makeTree({ f: initial });
      const call = callFor('context');
      const serving = serve(call, new Map([['context', root]]), { chunkSize });
      await until(call, isEndMarker);
      await change(path.join(root, 'f'));
      call.send({ type: PacketType.REQ, ID: 0 });
      await until(call, (p) => p.type === PacketType.DATA && !p.data?.length);
      call.send({ type: PacketType.FIN });
      await serving;
      const data = call.sent.filter((p) => p.type === PacketType.DATA && p.data?.length);
      return { data: Buffer.concat(data.map((p) => p.data!)), chunks: data.map((p) => p.data!.length) };
    }

    it('sends a small file that grew past one chunk completely, in chunks', async () => {
      const grown = randomBytes(5000);
      const got = await sendAfter(Buffer.from('tiny'), (f) => fsp.writeFile(f, grown));
      expect(got.data.equals(grown)).toBe(true);
      expect(Math.max(...got.chunks)).toBeLessThanOrEqual(1024);
    });

    it('sends a small file that grew a little as it is now', async () => {
      const got = await sendAfter(Buffer.from('tiny'), (f) => fsp.appendFile(f, ' and more'));
      expect(got.data.toString()).toBe('tiny and more');
    });

    it('sends a file that shrank as it is now', async () => {
      const got = await sendAfter(randomBytes(3000), (f) => fsp.writeFile(f, 'short'));
      expect(got.data.toString()).toBe('short');
    });

    it('sends a file of exactly one chunk as one chunk', async () => {
      const content = randomBytes(1024);
      const got = await sendAfter(content, async () => undefined);
      expect(got.data.equals(content)).toBe(true);
      expect(got.chunks).toEqual([1024]);
    });

    it('sends a file that became empty as just the terminator', async () => {
      const got = await sendAfter(Buffer.from('gone soon'), (f) => fsp.truncate(f, 0));
      expect(got.chunks).toEqual([]);
    });
  });
});
