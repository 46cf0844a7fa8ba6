import { createFilter, resolveFollowPaths, type FilterSpec } from '../../../src/session/filesync/filter.js';
import { queryUnescape, readDiffCopyRequest } from '../../../src/session/filesync/diffcopy-request.js';
import type { WalkFilter } from '../../../src/session/filesync/walk.js';
import { makeTree, removeTrees, walkPaths, type Node } from './helpers.js';

afterAll(removeTrees);

function spec(partial: Partial<FilterSpec>): FilterSpec {
  return { includePatterns: [], excludePatterns: [], followPaths: [], ...partial };
}

async function sent(tree: Record<string, Node>, partial: Partial<FilterSpec>): Promise<string[]> {
  const root = await makeTree(tree);
  return walkPaths(root, await createFilter(root, spec(partial)));
}

const project: Record<string, Node> = {
  'build/a.o': '',
  'build/keep/me.txt': 'keep',
  'build/keep/other.txt': '',
  'build/z.o': '',
  'node_modules/pkg/index.js': '',
  'src/a.ts': '',
  'src/b.js': '',
  'src/gen/out.ts': '',
  'debug.log': '',
  'README.md': '',
};

describe('exclude patterns (.dockerignore)', () => {
  const cases: [string, string[], string[]][] = [
    ['no patterns', [], ['README.md', 'build', 'build/a.o', 'build/keep', 'build/keep/me.txt', 'build/keep/other.txt', 'build/z.o', 'debug.log', 'node_modules', 'node_modules/pkg', 'node_modules/pkg/index.js', 'src', 'src/a.ts', 'src/b.js', 'src/gen', 'src/gen/out.ts']],
    ['directories and globs', ['node_modules', 'build', '*.log'], ['README.md', 'src', 'src/a.ts', 'src/b.js', 'src/gen', 'src/gen/out.ts']],
    // build and build/keep are excluded themselves but sent lazily before the re-included file.
    ['! re-includes a file inside an excluded directory', ['build', 'node_modules', '!build/keep/me.txt'], ['README.md', 'build', 'build/keep', 'build/keep/me.txt', 'debug.log', 'src', 'src/a.ts', 'src/b.js', 'src/gen', 'src/gen/out.ts']],
    ['** matches at any depth', ['**/*.ts', 'node_modules', 'build'], ['README.md', 'debug.log', 'src', 'src/b.js', 'src/gen']],
    ['* does not cross /', ['*/*.ts'], expect.anything() as unknown as string[]],
    ['exclude everything but one file', ['*', '!src/a.ts'], ['src', 'src/a.ts']],
  ];

  it.each(cases.filter((c) => c[0] !== '* does not cross /'))('%s', async (_name, excludes, expected) => {
    expect(await sent(project, { excludePatterns: excludes })).toEqual(expected);
  });

  it('* does not cross /', async () => {
    const got = await sent(project, { excludePatterns: ['*/*.ts'] });
    expect(got).not.toContain('src/a.ts');
    expect(got).toContain('src/gen/out.ts');
  });

  it.each([
    ['last match wins: re-excluded', ['*.txt', '!a.txt', 'a.txt'], ['c.md']],
    ['last match wins: re-included', ['*.txt', '!a.txt'], ['a.txt', 'c.md']],
    ['exception before the rule has no effect', ['!a.txt', '*.txt'], ['c.md']],
  ])('%s', async (_name, excludes, expected) => {
    expect(await sent({ 'a.txt': '', 'b.txt': '', 'c.md': '' }, { excludePatterns: excludes })).toEqual(expected);
  });

  it('matches case-sensitively, like Docker', async () => {
    expect(await sent({ 'A.LOG': '', 'b.log': '' }, { excludePatterns: ['*.log'] })).toEqual(['A.LOG']);
  });

  it('skips the subtree of an excluded directory unless an exception could match inside', async () => {
    const root = await makeTree(project);
    const asked = async (excludes: string[]) => {
      const inner = (await createFilter(root, spec({ excludePatterns: excludes })))!;
      const seen: string[] = [];
      const spy: WalkFilter = { decide: (p, d) => (seen.push(p), inner.decide(p, d)) };
      await walkPaths(root, spy);
      return seen;
    };
    expect((await asked(['node_modules'])).filter((p) => p.startsWith('node_modules/'))).toEqual([]);
    // The exception names another directory: node_modules is still pruned.
    expect((await asked(['node_modules', '!src/keep'])).filter((p) => p.startsWith('node_modules/'))).toEqual([]);
    // A wildcard exception could match anywhere: walk in (conservatively).
    expect(await asked(['node_modules', '!**/keep'])).toContain('node_modules/pkg/index.js');
    expect(await asked(['node_modules', '!node_modules/pkg/index.js'])).toContain('node_modules/pkg/index.js');
  });

  it.each([
    // Each of these hits a defect of the underlying library that the adapter works around.
    ['a name shadowing Object.prototype', { constructor: '', toString: '', x: '' }, ['constructor', 'toString'], ['x']],
    ['regex metacharacters are literal', { 'a+b.txt': '', 'ab.txt': '', 'x(1).txt': '', 'y{2}': '' }, ['a+b.txt', 'x(1).txt', 'y{2}'], ['ab.txt']],
    ['a leading # is a file name, not a comment', { '#notes': '', n: '' }, ['#notes'], ['n']],
    ['[!a] negates like Go', { 'a.txt': '', 'b.txt': '' }, ['[!a].txt'], ['a.txt']],
    ['an escaped letter is the letter', { d: '', '1': '' }, ['\\d'], ['1']],
    ['an escaped star is literal', { '*': '', ab: '' }, ['\\*'], ['ab']],
  ] as [string, Record<string, Node>, string[], string[]][])('%s', async (_name, tree, excludes, expected) => {
    expect(await sent(tree, { excludePatterns: excludes })).toEqual(expected);
  });

  it('rejects an invalid pattern up front', async () => {
    const root = await makeTree({ a: '' });
    await expect(createFilter(root, spec({ excludePatterns: ['ok', 'bad['] }))).rejects.toThrow('invalid pattern "bad["');
  });

  it('no patterns means no filter at all', async () => {
    const root = await makeTree({ a: '' });
    expect(await createFilter(root, spec({ excludePatterns: ['', '  '] }))).toBeUndefined();
  });
});

describe('include patterns', () => {
  it.each([
    ['a glob inside a directory: parent sent lazily', ['src/*.ts'], [], ['src', 'src/a.ts']],
    ['a directory includes its subtree', ['src'], [], ['src', 'src/a.ts', 'src/b.js', 'src/gen', 'src/gen/out.ts']],
    ['include and exclude combine', ['src'], ['src/gen'], ['src', 'src/a.ts', 'src/b.js']],
    ['a deep file gets its whole parent chain', ['build/keep/me.txt'], [], ['build', 'build/keep', 'build/keep/me.txt']],
  ])('%s', async (_name, includes, excludes, expected) => {
    expect(await sent(project, { includePatterns: includes, excludePatterns: excludes })).toEqual(expected);
  });

  it('does not walk directories that cannot contain a match', async () => {
    const root = await makeTree(project);
    const filter = (await createFilter(root, spec({ includePatterns: ['src/*.ts'] })))!;
    expect(filter.decide('node_modules', true)).toEqual({ send: false, descend: false });
    expect(filter.decide('src', true)).toEqual({ send: false, descend: true });
    expect(filter.decide('src/a.ts', false)).toEqual({ send: true, descend: false });
  });
});

describe('followpaths', () => {
  it('sends a symlinked Dockerfile, its target and the target parent', async () => {
    const tree = { Dockerfile: { link: 'sub/real.Dockerfile' }, 'sub/real.Dockerfile': 'FROM scratch\n', 'sub/other': '', zzz: '' };
    const root = await makeTree(tree);
    expect(await resolveFollowPaths(root, ['Dockerfile', 'Dockerfile.dockerignore', 'dockerfile'])).toEqual(['Dockerfile', 'sub/real.Dockerfile']);
    expect(await sent(tree, { followPaths: ['Dockerfile', 'Dockerfile.dockerignore', 'dockerfile'] })).toEqual(['Dockerfile', 'sub', 'sub/real.Dockerfile']);
  });

  it.each([
    ['a plain file', { Dockerfile: '', x: '' }, ['Dockerfile'], ['Dockerfile']],
    ['an absolute target is relative to the root', { l: { link: '/sub/x' }, 'sub/x': '' }, ['l'], ['l', 'sub/x']],
    ['.. cannot escape the root', { l: { link: '../../../../etc/passwd' }, 'etc/passwd': 'in-root' }, ['l'], ['etc/passwd', 'l']],
    ['a symlinked directory component', { cfg: { link: 'real' }, 'real/app.conf': '' }, ['cfg/app.conf'], ['cfg', 'real/app.conf']],
    ['a relative target resolves against the link directory', { 'a/l': { link: '../b/t' }, 'b/t': '' }, ['a/l'], ['a/l', 'b/t']],
    ['a chain of links', { l1: { link: 'l2' }, l2: { link: 'f' }, f: '' }, ['l1'], ['f', 'l1', 'l2']],
    ['wildcards expand', { 'a.Dockerfile': '', 'b.Dockerfile': { link: 'sub/b' }, 'sub/b': '', c: '' }, ['*.Dockerfile'], ['a.Dockerfile', 'b.Dockerfile', 'sub/b']],
    ['missing paths are ignored', { x: '' }, ['missing', 'x/y', 'nodir/*'], []],
    ['a link loop terminates', { a: { link: 'b' }, b: { link: 'a' } }, ['a'], ['a', 'b']],
    ['nested results are dropped', { 'sub/f': '' }, ['sub/f', 'sub'], ['sub']],
    ['a link to the root means everything', { up: { link: '..' } }, ['up'], ['.']],
  ] as [string, Record<string, Node>, string[], string[]][])('%s', async (_name, tree, follow, expected) => {
    expect(await resolveFollowPaths(await makeTree(tree), follow)).toEqual(expected);
  });

  it('sends nothing when no followpath exists', async () => {
    expect(await sent({ a: '', b: '' }, { followPaths: ['missing'] })).toEqual([]);
  });

  it('drops the include filter when a path resolves to the root', async () => {
    expect(await sent({ up: { link: '..' }, 'd/f': '' }, { followPaths: ['up'] })).toEqual(['d', 'd/f', 'up']);
  });

  it('adds to include-patterns', async () => {
    const tree = { Dockerfile: { link: 'sub/real' }, 'sub/real': '', 'src/a.ts': '', other: '' };
    expect(await sent(tree, { includePatterns: ['src'], followPaths: ['Dockerfile'] })).toEqual(['Dockerfile', 'src', 'src/a.ts', 'sub', 'sub/real']);
  });

  it('includes a resolved target with glob characters as a literal path', async () => {
    // Unescaped, the include pattern `we[ir]d*` would also select `weidx`.
    const tree = { link: { link: 'we[ir]d*' }, 'we[ir]d*': '', weidx: '' };
    expect(await sent(tree, { followPaths: ['link'] })).toEqual(['link', 'we[ir]d*']);
  });

  it('expands wildcard components of the requested path itself', async () => {
    expect(await resolveFollowPaths(await makeTree({ weid: '', werdx: '', wexd: '' }), ['we[ir]d*'])).toEqual(['weid', 'werdx']);
  });
});

describe('request metadata', () => {
  it('reads dir-name and repeated values', () => {
    const md = new Map([
      ['dir-name', ['context']],
      ['exclude-patterns', ['a', 'b, c']],
      ['followpaths', ['Dockerfile']],
    ]);
    expect(readDiffCopyRequest(md)).toEqual({ dirName: 'context', includePatterns: [], excludePatterns: ['a', 'b, c'], followPaths: ['Dockerfile'] });
  });

  it('unescapes values of a key flagged <key>-encoded', () => {
    const md = new Map([
      ['dir-name', ['context']],
      ['exclude-patterns', ['%C3%A9t%C3%A9', 'a+b', 'x%2By']],
      ['exclude-patterns-encoded', ['1']],
      ['include-patterns', ['a+b']], // not flagged: left alone
    ]);
    const r = readDiffCopyRequest(md);
    expect(r.excludePatterns).toEqual(['été', 'a b', 'x+y']);
    expect(r.includePatterns).toEqual(['a+b']);
  });

  it.each([
    ['a+b', 'a b'],
    ['%F0%9F%98%80.txt', '\u{1F600}.txt'],
    ['caf%C3%A9%2F%2A', 'café/*'],
    ['plain', 'plain'],
  ])('queryUnescape(%s)', (input, expected) => {
    expect(queryUnescape(input)).toBe(expected);
  });

  it('rejects malformed escapes', () => {
    expect(() => queryUnescape('%zz')).toThrow();
    expect(() => readDiffCopyRequest(new Map([['followpaths', ['%']], ['followpaths-encoded', ['1']]]))).toThrow('invalid escaped value for followpaths');
  });

  it('excludes a non-ASCII pattern end to end', async () => {
    const { excludePatterns } = readDiffCopyRequest(new Map([['exclude-patterns', ['%C3%A9t%C3%A9']], ['exclude-patterns-encoded', ['1']]]));
    expect(await sent({ 'été': '', ete: '' }, { excludePatterns })).toEqual(['ete']);
  });
});
