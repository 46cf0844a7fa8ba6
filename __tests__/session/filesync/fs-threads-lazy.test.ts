// The file system worker threads (~19 MB of RSS for the two) start only for a
// directory worth them: a flat handful of files is served with asynchronous
// reads. Its own file: the workers are shared by the whole process (module
// state), so no other transfer may have started them first.
import { serveDiffCopy, wantsFsThreads } from '../../../src/session/filesync/diffcopy.js';
import { startedFsThread } from '../../../src/session/filesync/fs-thread.js';
import { actAsReceiver, FakeCall, makeTree, removeTrees } from './helpers.js';

afterAll(async () => {
  await startedFsThread()?.close();
  await removeTrees();
});

describe('wantsFsThreads', () => {
  it('says no for a flat directory of up to 64 entries, yes for 65 or any subdirectory, no for a missing one', async () => {
    const files = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, 'x']));
    expect(await wantsFsThreads(await makeTree(files(64)))).toBe(false);
    expect(await wantsFsThreads(await makeTree(files(65)))).toBe(true);
    expect(await wantsFsThreads(await makeTree({ a: 'x', 'sub/b': 'y' }))).toBe(true);
    expect(await wantsFsThreads('/nonexistent/envd-remote-build-test')).toBe(false);
  });
});

describe('serveDiffCopy starts the workers only when they pay off', () => {
  it('serves a flat context without them, then starts them for a nested one', async () => {
    const flat = await makeTree({ Dockerfile: 'FROM scratch\n', 'hello.txt': 'hello' });
    const call = new FakeCall({ 'dir-name': ['context'] });
    const rx = actAsReceiver(call, () => true, false);
    await serveDiffCopy(call, new Map([['context', flat]]));
    expect(rx.files.get('hello.txt')?.toString()).toBe('hello');
    expect(startedFsThread()).toBeUndefined();

    const nested = await makeTree({ 'src/a.txt': 'a', 'src/b.txt': 'b' });
    const call2 = new FakeCall({ 'dir-name': ['context'] });
    const rx2 = actAsReceiver(call2, () => true, false);
    await serveDiffCopy(call2, new Map([['context', nested]]));
    expect(rx2.files.get('src/a.txt')?.toString()).toBe('a');
    expect(startedFsThread()).toBeDefined();
  });
});
