import fs, { promises as fsp } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { GoMode } from '../../../src/session/filesync/mode.js';
import { createPrereadBudget, FsThread } from '../../../src/session/filesync/fs-thread.js';
import { sortNames, walk, walkBatches, type WalkEntry, type WalkOptions } from '../../../src/session/filesync/walk.js';
import { makeTree, removeTrees } from './helpers.js';

afterAll(removeTrees);


// Directories are listed either on the file system worker thread (what a
// transfer uses) or with libuv's asynchronous calls (the fallback): the
// same entries, in the same order, from both.
let thread: FsThread | undefined;
beforeAll(() => {
  thread = FsThread.start();
  expect(thread).toBeDefined();
});
afterAll(() => thread?.close());

describe.each([
  ['with asynchronous fs calls', false],
  ['on the file system worker thread', true],
])('walk %s', (_mode, onThread) => {
  const options = (): WalkOptions => (onThread ? { fsThread: thread! } : {});

  async function entries(root: string): Promise<WalkEntry[]> {
    const out: WalkEntry[] = [];
    for await (const e of walk(root, options())) out.push(e);
    return out;
  }

  async function walkPaths(root: string): Promise<string[]> {
    return (await entries(root)).map((e) => e.stat.path);
  }

  describe('walk order (Go WalkDir: pre-order DFS, siblings by UTF-8 bytes)', () => {
    const cases: [string, Record<string, string | { dir: true }>, string[]][] = [
      // A flat path sort gives a, a-c, a/b ('-' < '/'), which the daemon rejects.
      ['directory before a sibling sharing its prefix', { 'a/b': 'x', 'a-c': 'y' }, ['a', 'a/b', 'a-c']],
      ['deeper nesting', { 'a/b/c': '', 'a/b.txt': '', 'a.d/x': '', ab: '' }, ['a', 'a/b', 'a/b/c', 'a/b.txt', 'a.d', 'a.d/x', 'ab']],
      ['upper case sorts before lower case', { b: '', B: '', a: '', Z: '' }, ['B', 'Z', 'a', 'b']],
      // U+E000 is EE 80 80 in UTF-8, U+1F600 is F0 9F 98 80. UTF-16 order
      // (D83D... < E000) would put the emoji first.
      ['non-BMP after U+E000', { '\u{1F600}': '', '\uE000': '' }, ['\uE000', '\u{1F600}']],
      ['empty directories are entries', { 'e/': { dir: true }, f: '' }, ['e', 'f']],
    ];

    it.each(cases)('%s', async (_name, tree, expected) => {
      expect(await walkPaths(await makeTree(tree))).toEqual(expected);
    });

    it('sortNames compares UTF-8 bytes, unlike Array.prototype.sort', () => {
      const names = ['\u{1F600}', '\uE000', 'a'];
      expect([...names].sort()).toEqual(['a', '\u{1F600}', '\uE000']);
      expect(sortNames(names)).toEqual(['a', '\uE000', '\u{1F600}']);
    });
  });

  describe('walk entries', () => {
    it('reports Go modes, sizes, nanosecond mtimes and uid/gid 0', async () => {
      const root = await makeTree({ 'd/f.txt': 'hello', 'd/l': { link: 'f.txt' } });
      await fsp.chmod(path.join(root, 'd/f.txt'), 0o640);
      await fsp.chmod(path.join(root, 'd'), 0o750);
      const got = await entries(root);
      expect(got.map((e) => e.stat.path)).toEqual(['d', 'd/f.txt', 'd/l']);
      const [dir, file, link] = got.map((e) => e.stat);
      expect(dir).toMatchObject({ mode: GoMode.Dir + 0o750, uid: 0, gid: 0 });
      expect(dir!.size).toBeUndefined();
      expect(file).toMatchObject({ mode: 0o640, size: '5', uid: 0, gid: 0 });
      expect(link).toMatchObject({ mode: GoMode.Symlink + 0o777, size: '5', linkname: 'f.txt' });
      const st = await fsp.lstat(path.join(root, 'd/f.txt'), { bigint: true });
      expect(file!.modTime).toBe(st.mtimeNs.toString());
      expect(got[1]!.ino).toBe(st.ino);
    });

    it('keeps mtimes beyond 2^53 exact', async () => {
      const root = await makeTree({ f: '' });
      // 1700000000.123456 s: ns value exceeds Number.MAX_SAFE_INTEGER.
      await fsp.utimes(path.join(root, 'f'), 1700000000.123456, 1700000000.123456);
      const [e] = await entries(root);
      expect(BigInt(e!.stat.modTime!)).toBe((await fsp.lstat(path.join(root, 'f'), { bigint: true })).mtimeNs);
      expect(BigInt(e!.stat.modTime!)).toBeGreaterThan(BigInt(Number.MAX_SAFE_INTEGER));
    });

    it('never follows symlinks and never leaves the root', async () => {
      const outside = await makeTree({ 'secret.txt': 'top secret', 'sub/deep.txt': 'x' });
      const root = await makeTree({
        'in/file': 'a',
        'link-out': { link: outside },
        'link-up': { link: '../' },
        'link-in': { link: 'in' },
        'link-file': { link: path.join(outside, 'secret.txt') },
      });
      const got = await entries(root);
      expect(got.map((e) => e.stat.path)).toEqual(['in', 'in/file', 'link-file', 'link-in', 'link-out', 'link-up']);
      for (const e of got.filter((x) => x.stat.path.startsWith('link'))) {
        expect(e.stat.mode & GoMode.Symlink).toBeTruthy();
      }
      expect(got.find((e) => e.stat.path === 'link-out')!.stat.linkname).toBe(outside);
      expect(got.find((e) => e.stat.path === 'link-up')!.stat.linkname).toBe('../');
    });

    /**
     * Runs `swap` just before the walk starts listing `dir` (on the worker
     * thread: when the listing is asked for; otherwise: at the first fs call
     * naming it), as a process racing the transfer could.
     */
    async function entriesSwappingBefore(root: string, dir: string, swap: () => void): Promise<WalkEntry[]> {
      let swapped = false;
      const once = (p: unknown): void => {
        if (p === dir && !swapped) {
          swapped = true;
          swap();
        }
      };
      const restore: (() => void)[] = [];
      if (onThread) {
        const list = thread!.list;
        thread!.list = function (this: FsThread, d, ...rest) {
          once(d);
          return list.call(this, d, ...rest);
        };
        restore.push(() => (thread!.list = list));
      } else {
        // The walk calls these through the module object, so replacing them there reaches it.
        const fsCalls = fs as unknown as Record<string, (...args: unknown[]) => void>;
        for (const name of ['open', 'readdir', 'lstat']) {
          const original = fsCalls[name]!;
          fsCalls[name] = (...args: unknown[]) => {
            once(args[0]);
            original(...args);
          };
          restore.push(() => (fsCalls[name] = original));
        }
      }
      try {
        const got = await entries(root);
        expect(swapped).toBe(true);
        return got;
      } finally {
        for (const r of restore) r();
      }
    }

    it('does not list a directory through a symlink it was swapped for after its parent was listed', async () => {
      const outside = await makeTree({ 'secret.txt': 'top secret' });
      const root = await makeTree({ 'sub/file': 'a', z: '' });
      const sub = path.join(root, 'sub');
      const got = await entriesSwappingBefore(root, sub, () => {
        fs.renameSync(sub, path.join(root, 'moved'));
        fs.symlinkSync(outside, sub);
      });
      // The swapped directory is sent as it was listed, with nothing below it.
      expect(got.map((e) => e.stat.path)).toEqual(['sub', 'z']);
      expect(got[0]!.stat.mode & GoMode.Dir).toBeTruthy();
    });

    it('does not list a directory reached through a parent swapped for a symlink', async () => {
      const outside = await makeTree({ 'b/secret.txt': 'top secret' });
      const root = await makeTree({ 'a/b/file': 'a', z: '' });
      const a = path.join(root, 'a');
      const got = await entriesSwappingBefore(root, path.join(a, 'b'), () => {
        fs.renameSync(a, path.join(root, 'moved'));
        fs.symlinkSync(outside, a);
      });
      expect(got.map((e) => e.stat.path)).toEqual(['a', 'a/b', 'z']);
      const secret = fs.lstatSync(path.join(outside, 'b/secret.txt'), { bigint: true });
      expect(got.some((e) => e.ino === secret.ino && e.dev === secret.dev)).toBe(false);
    });

    it('lists a directory through its descriptor: a swap after it was opened changes nothing (Linux)', async () => {
      if (onThread || process.platform !== 'linux') return; // the worker cannot be stopped between its calls
      const outside = await makeTree({ 'secret.txt': 'top secret' });
      const root = await makeTree({ 'sub/file': 'a', z: '' });
      const sub = path.join(root, 'sub');
      const fsCalls = fs as unknown as Record<string, (...args: unknown[]) => void>;
      const open = fsCalls.open!;
      let swapped = false;
      fsCalls.open = (p: unknown, flags: unknown, cb: unknown) => {
        open(p, flags, (err: unknown, fd: unknown) => {
          if (p === sub && !swapped) {
            swapped = true;
            fs.renameSync(sub, path.join(root, 'moved'));
            fs.symlinkSync(outside, sub);
          }
          (cb as (err: unknown, fd: unknown) => void)(err, fd);
        });
      };
      let got: WalkEntry[];
      try {
        got = await entries(root);
      } finally {
        fsCalls.open = open;
      }
      expect(swapped).toBe(true);
      // What was opened is what is listed: the directory, now at 'moved'.
      expect(got.map((e) => e.stat.path)).toEqual(['sub', 'sub/file', 'z']);
    });

    it('skips a root-level .fsutil-metadata but not a nested one', async () => {
      const root = await makeTree({ '.fsutil-metadata': 'x', 'sub/.fsutil-metadata': 'y', z: '' });
      expect(await walkPaths(root)).toEqual(['sub', 'sub/.fsutil-metadata', 'z']);
    });

    it('skips sockets and FIFOs', async () => {
      const root = await makeTree({ a: '', c: '' });
      const server = net.createServer();
      await new Promise<void>((resolve) => server.listen(path.join(root, 'b.sock'), resolve));
      try {
        const { execFile } = await import('node:child_process');
        await new Promise<void>((resolve, reject) => execFile('mkfifo', [path.join(root, 'b.fifo')], (err) => (err ? reject(err) : resolve())));
        expect(await walkPaths(root)).toEqual(['a', 'c']);
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });

    it('fails for a missing root without naming the absolute path', async () => {
      const root = await makeTree({});
      await expect(walkPaths(path.join(root, 'nope'))).rejects.toThrow('failed to walk .: ENOENT');
    });

    it('stops when the signal aborts', async () => {
      const root = await makeTree({ a: '', b: '', c: '' });
      const ac = new AbortController();
      const seen: string[] = [];
      for await (const e of walk(root, { signal: ac.signal, ...options() })) {
        seen.push(e.stat.path);
        ac.abort();
      }
      expect(seen).toEqual(['a']);
    });
  });

  it('walks a tree of many directories in Go order (listings are read ahead of the walk)', async () => {
    // 40 x 8 directories of 6 files, with names whose plain sort differs from Go's order.
    const tree: Record<string, string> = {};
    for (let a = 0; a < 40; a++) for (let b = 0; b < 8; b++) for (let f = 0; f < 6; f++) tree[`d${a}/s${b}${b % 2 ? '-x' : ''}/f${f}${f % 3 ? '.txt' : ''}`] = `${a}.${b}.${f}`;
    const root = await makeTree(tree);
    expect(await walkPaths(root)).toEqual(referenceWalk(root));
  });
});

test('a walk whose worker thread is gone finishes with asynchronous fs calls', async () => {
  const root = await makeTree({ 'a/b': 'x', 'a/c/d': 'y', e: 'z' });
  const gone = FsThread.start()!;
  await gone.close();
  const got: string[] = [];
  for await (const e of walk(root, { fsThread: gone })) got.push(e.stat.path);
  expect(got).toEqual(referenceWalk(root));
});

/** Go's WalkDir order, computed the obvious (synchronous) way. */
function referenceWalk(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of sortNames(fs.readdirSync(path.join(root, rel)))) {
    const r = rel ? `${rel}/${name}` : name;
    out.push(r);
    if (fs.lstatSync(path.join(root, r)).isDirectory()) out.push(...referenceWalk(root, r));
  }
  return out;
}

describe('walk with preread', () => {
  it('hands over small files with their content, and gives back the budget of what the filter drops', async () => {
    const root = await makeTree({ 'keep/a.txt': 'kept', 'keep/b.log': 'dropped', 'top.txt': 'top' });
    const thread = FsThread.start()!;
    try {
      const budget = createPrereadBudget();
      Atomics.store(budget, 0, 1000);
      const filter = { decide: (p: string) => ({ send: !p.endsWith('.log'), descend: true }) };
      const entries: WalkEntry[] = [];
      for await (const e of walk(root, { fsThread: thread, preread: { budget, maxFileBytes: 4096 }, filter })) entries.push(e);
      expect(entries.map((e) => [e.stat.path, e.content?.toString()])).toEqual([
        ['keep', undefined],
        ['keep/a.txt', 'kept'],
        ['top.txt', 'top'],
      ]);
      // Still counted: the content handed over (5 + 4); b.log's 8 came back.
      expect(Atomics.load(budget, 0)).toBe(1000 - 5 - 4);
    } finally {
      await thread.close();
    }
  });

  it('lets go of the entries of a directory once the walk has left it (their content read with the listing included)', async () => {
    // Two directories of more entries than one batch: the walk hands over a/
    // and then b/ in separate batches, and is inside b/ while the root's
    // listing (holding both) is still being walked.
    const tree: Record<string, string> = {};
    for (let i = 0; i < 600; i++) {
      tree[`a/f${String(i).padStart(3, '0')}`] = `a${i}`;
      tree[`b/f${String(i).padStart(3, '0')}`] = `b${i}`;
    }
    const root = await makeTree(tree);
    const thread = FsThread.start()!;
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    try {
      const budget = createPrereadBudget();
      Atomics.store(budget, 0, 1 << 20);
      const batches = walkBatches(root, { fsThread: thread, preread: { budget, maxFileBytes: 4096 } });
      // Only weak references to what the walk handed over under a/.
      const contentOfA: WeakRef<Buffer>[] = [];
      for (;;) {
        const next = await batches.next();
        if (next.done) throw new Error('the walk ended before it was inside b/');
        for (const e of next.value) if (e.stat.path.startsWith('a/') && e.content) contentOfA.push(new WeakRef(e.content));
        // A batch of b/ alone: the walk has left a/.
        if (next.value.some((e) => e.stat.path.startsWith('b/f')) && next.value.every((e) => !e.stat.path.startsWith('a/'))) break;
      }
      expect(contentOfA.length).toBe(600);
      // WeakRefs hold their target until the current job ends.
      await new Promise((resolve) => setImmediate(resolve));
      gc();
      const kept = contentOfA.filter((r) => r.deref() !== undefined).length;
      expect(kept).toBe(0);
      await batches.return(undefined);
    } finally {
      await thread.close();
    }
  });
});
