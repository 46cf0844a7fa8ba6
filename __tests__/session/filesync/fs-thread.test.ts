import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { createPrereadBudget, FsThread, type ListReply, type ReadReply } from '../../../src/session/filesync/fs-thread.js';
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
