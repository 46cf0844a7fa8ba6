import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs, { promises as fsp } from 'node:fs';
import path from 'node:path';
import { createPrereadBudget, FsThread, workerMain, type ListReply, type RawListReply, type ReadReply, type WorkerList, type WorkerRequest } from '../../../src/session/filesync/fs-thread.js';
import { makeTree, removeTrees } from './helpers.js';

afterAll(removeTrees);

let thread: FsThread;
beforeAll(() => {
  const started = FsThread.start();
  if (!started) throw new Error('no worker thread');
  thread = started;
});
afterAll(() => thread.close());

function entriesOf(reply: ListReply) {
  if ('error' in reply) throw new Error(`list failed: ${reply.error}`);
  return reply.entries;
}

function dataOf(reply: ReadReply): Buffer {
  if ('error' in reply) throw new Error(`read failed: ${reply.error}`);
  return reply.data;
}

describe('FsThread.list', () => {
  it('reports what lstat reports, symlink targets included, without following links', async () => {
    const outside = await makeTree({ secret: 'x' });
    const root = await makeTree({ 'f.txt': 'hello', 'd/inner': '', l: { link: outside } });
    const got = entriesOf(await thread.list(root, path.sep));
    expect(got.map((e) => e.name).sort()).toEqual(['d', 'f.txt', 'l']);
    for (const e of got) {
      const st = await fsp.lstat(path.join(root, e.name), { bigint: true });
      expect(e).toMatchObject({ mode: Number(st.mode), size: st.size, mtimeNs: st.mtimeNs, dev: st.dev, ino: st.ino });
    }
    expect(got.find((e) => e.name === 'l')!.linkname).toBe(outside);
    expect(got.find((e) => e.name === 'f.txt')!.linkname).toBeUndefined();
  });

  it('returns the errno code of a failed readdir', async () => {
    const root = await makeTree({ file: '' });
    expect(await thread.list(path.join(root, 'missing'), path.sep)).toEqual({ error: 'ENOENT' });
    expect(await thread.list(path.join(root, 'file'), path.sep)).toEqual({ error: 'ENOTDIR' });
  });
});

describe('FsThread.list of a subdirectory (with the identity its parent listed)', () => {
  it('lists it when it is still that inode', async () => {
    const root = await makeTree({ 'd/inner': 'x' });
    const st = await fsp.lstat(path.join(root, 'd'), { bigint: true });
    expect(entriesOf(await thread.list(path.join(root, 'd'), path.sep, undefined, st)).map((e) => e.name)).toEqual(['inner']);
  });

  it('refuses another directory, or a symlink to the same one, as if it were gone', async () => {
    const root = await makeTree({ 'd/inner': 'x', 'e/other': 'y', l: { link: 'd' } });
    const d = await fsp.lstat(path.join(root, 'd'), { bigint: true });
    expect(await thread.list(path.join(root, 'e'), path.sep, undefined, d)).toEqual({ error: 'ENOTDIR' });
    expect(await thread.list(path.join(root, 'l'), path.sep, undefined, d)).toEqual({ error: 'ENOTDIR' });
    // Without an identity (the root), a symlink the user chose is followed.
    expect(entriesOf(await thread.list(path.join(root, 'l'), path.sep)).map((e) => e.name)).toEqual(['inner']);
  });
});

describe('FsThread.list with preread', () => {
  const budgetOf = (bytes: number) => {
    const budget = createPrereadBudget();
    Atomics.store(budget, 0, bytes);
    return budget;
  };

  it('reads small regular files with the listing and takes size + 1 of each from the shared budget', async () => {
    const root = await makeTree({ a: 'alpha', b: 'bravo!', big: Buffer.alloc(5000, 1), empty: '', link: { link: 'a' }, sub: { dir: true } });
    const budget = budgetOf(1000);
    const entries = entriesOf(await thread.list(root, path.sep, { budget, maxFileBytes: 4096 }));
    const content = Object.fromEntries(entries.map((e) => [e.name, e.content?.toString()]));
    expect(content).toEqual({ a: 'alpha', b: 'bravo!', big: undefined, empty: undefined, link: undefined, sub: undefined });
    expect(Atomics.load(budget, 0)).toBe(1000 - 6 - 7);
  });

  it('stops reading when the budget runs out, and reads nothing without one', async () => {
    const tree: Record<string, string> = {};
    for (let i = 0; i < 10; i++) tree[`f${i}`] = '123456789'; // 10 bytes each with the + 1
    const root = await makeTree(tree);
    const budget = budgetOf(35);
    const read = entriesOf(await thread.list(root, path.sep, { budget, maxFileBytes: 4096 })).filter((e) => e.content);
    expect(read).toHaveLength(3);
    expect(Atomics.load(budget, 0)).toBe(5);
    expect(entriesOf(await thread.list(root, path.sep)).some((e) => e.content)).toBe(false);
  });
});

describe('FsThread.read', () => {
  it('reads many files asked for at once, each with its identity', async () => {
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 100; i++) files[`f${i}`] = randomBytes(i * 37);
    const root = await makeTree(files);
    const replies = await Promise.all(Object.keys(files).map((name) => thread.read({ abs: path.join(root, name), maxBytes: files[name]!.length + 1 })));
    for (const [i, name] of Object.keys(files).entries()) {
      const reply = replies[i]!;
      expect(dataOf(reply).equals(files[name]!)).toBe(true);
      const st = await fsp.stat(path.join(root, name), { bigint: true });
      expect(reply).toMatchObject({ isFile: true, dev: st.dev, ino: st.ino });
    }
  });

  it('reads at most maxBytes (how the sender notices a file that grew)', async () => {
    const root = await makeTree({ f: 'abcdefgh' });
    expect(dataOf(await thread.read({ abs: path.join(root, 'f'), maxBytes: 4 })).toString()).toBe('abcd');
  });

  it('refuses to follow a symlink', async () => {
    const outside = await makeTree({ secret: 'TOP SECRET' });
    const root = await makeTree({ l: { link: path.join(outside, 'secret') } });
    expect(await thread.read({ abs: path.join(root, 'l'), maxBytes: 100 })).toEqual({ error: 'ELOOP' });
  });

  it('does not hang on a FIFO and reports that it is not a file', async () => {
    const root = await makeTree({});
    execFileSync('mkfifo', [path.join(root, 'p')]);
    const reply = await thread.read({ abs: path.join(root, 'p'), maxBytes: 10 });
    expect(reply).toMatchObject({ isFile: false });
    expect(dataOf(reply).length).toBe(0);
  });

  it('reports a missing file by its errno code', async () => {
    const root = await makeTree({});
    expect(await thread.read({ abs: path.join(root, 'nope'), maxBytes: 1 })).toEqual({ error: 'ENOENT' });
  });
});

describe('FsThread.close', () => {
  it('fails later requests instead of leaving them pending', async () => {
    const t = FsThread.start()!;
    await t.close();
    await expect(t.list('/', path.sep)).rejects.toThrow('file system worker closed');
    await expect(t.read({ abs: '/etc/hostname', maxBytes: 10 })).rejects.toThrow('file system worker closed');
  });
});

/**
 * The worker's code run on this thread, with an fs whose readdirSync runs
 * `race` right after it returned: what a process changing the directory
 * between the listing and the entries' opens could do.
 */
function listRacing(dir: string, race: () => void, bytes = 1 << 20): RawListReply {
  const racing = new Proxy(fs, {
    get(target, key, receiver) {
      if (key !== 'readdirSync') return Reflect.get(target, key, receiver) as unknown;
      return (...args: Parameters<typeof fs.readdirSync>) => {
        const listed = fs.readdirSync(...args);
        race();
        return listed;
      };
    },
  });
  let reply: RawListReply | undefined;
  let handler: ((req: WorkerRequest) => void) | undefined;
  workerMain(racing, {
    on: (_event, listener) => (handler = listener),
    postMessage: (m) => (reply = m as RawListReply),
  });
  handler!({ id: 1, op: 'list', dir, sep: path.sep, preread: { budget: createPrereadBudget(bytes), maxFileBytes: 4096 } } satisfies WorkerList);
  if (!reply) throw new Error('no reply');
  return reply;
}

/** The listed entry `name` of a raw reply: its mode, dev, ino and content. */
function rawEntry(reply: RawListReply, name: string) {
  const i = reply.names!.indexOf(name);
  expect(i).toBeGreaterThanOrEqual(0);
  expect(reply.errors?.[i]).toBeUndefined();
  const nums = reply.nums!;
  return { mode: Number(nums[i * 5]!), dev: BigInt.asUintN(64, nums[i * 5 + 3]!), ino: BigInt.asUintN(64, nums[i * 5 + 4]!), content: reply.contents?.[i], linkname: reply.links?.[i] };
}

describe('the listing worker, raced between readdir and the entries (preread on)', () => {
  it('lists a regular file swapped for a symlink as that symlink, without its target content', async () => {
    const outside = await makeTree({ secret: 'TOP SECRET' });
    const root = await makeTree({ f: 'plain', g: 'other' });
    const reply = listRacing(root, () => {
      fs.rmSync(path.join(root, 'f'));
      fs.symlinkSync(path.join(outside, 'secret'), path.join(root, 'f'));
    });
    const f = rawEntry(reply, 'f');
    expect(f.mode & fs.constants.S_IFMT).toBe(fs.constants.S_IFLNK);
    expect(f.linkname).toBe(path.join(outside, 'secret'));
    expect(f.content).toBeUndefined();
    expect(Buffer.from(rawEntry(reply, 'g').content!).toString()).toBe('other');
  });

  it('lists a regular file swapped for a FIFO as that FIFO, without waiting on it', async () => {
    const root = await makeTree({ f: 'plain' });
    const reply = listRacing(root, () => {
      fs.rmSync(path.join(root, 'f'));
      execFileSync('mkfifo', [path.join(root, 'f')]);
    });
    const f = rawEntry(reply, 'f');
    expect(f.mode & fs.constants.S_IFMT).toBe(fs.constants.S_IFIFO);
    expect(f.content).toBeUndefined();
  });

  it('lists a file replaced by another with the identity of the one whose content it read', async () => {
    const root = await makeTree({ f: 'first' });
    const reply = listRacing(root, () => {
      fs.writeFileSync(path.join(root, 'f.new'), 'second!');
      fs.renameSync(path.join(root, 'f.new'), path.join(root, 'f'));
    });
    const f = rawEntry(reply, 'f');
    const now = fs.lstatSync(path.join(root, 'f'), { bigint: true });
    expect({ dev: f.dev, ino: f.ino }).toEqual({ dev: now.dev, ino: now.ino });
    expect(Buffer.from(f.content!).toString()).toBe('second!');
  });

  it('lists a file removed in between as failed (ENOENT), not with stale data', async () => {
    const root = await makeTree({ f: 'gone soon', g: 'stays' });
    const reply = listRacing(root, () => fs.rmSync(path.join(root, 'f')));
    const i = reply.names!.indexOf('f');
    expect(reply.errors?.[i]).toBe('ENOENT');
    expect(reply.contents?.[i]).toBeUndefined();
  });

  it('reports the same metadata as lstat for every kind of entry', async () => {
    const root = await makeTree({ small: 'abc', big: Buffer.alloc(10_000, 7), empty: '', link: { link: 'small' }, dir: { dir: true } });
    execFileSync('mkfifo', [path.join(root, 'fifo')]);
    const reply = listRacing(root, () => undefined);
    for (const name of ['small', 'big', 'empty', 'link', 'dir', 'fifo']) {
      const st = fs.lstatSync(path.join(root, name), { bigint: true });
      const i = reply.names!.indexOf(name);
      expect([reply.nums![i * 5], reply.nums![i * 5 + 1], reply.nums![i * 5 + 2], reply.nums![i * 5 + 4]]).toEqual([st.mode, st.size, st.mtimeNs, st.ino]);
    }
    expect(Buffer.from(rawEntry(reply, 'small').content!).toString()).toBe('abc');
    expect(rawEntry(reply, 'big').content).toBeUndefined();
  });
});
