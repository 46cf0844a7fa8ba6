import { annotationPaths, failureAnnotation, warningAnnotation, warningAnnotations } from '../../src/action/annotations.js';

describe('Dockerfile warnings as annotations', () => {
  const paths = { dockerfile: '/ws/app/docker/Dockerfile.prod', workspace: '/ws' };

  it('places the warning on the Dockerfile, as a path from the workspace, with its line', () => {
    const a = warningAnnotation(
      { step: '[internal] load build definition', message: 'Empty continuation line found in: RUN a', detail: 'Empty continuation lines will become errors', url: 'https://github.com/moby/moby/pull/33719', file: 'Dockerfile.prod', line: 6 },
      paths,
    );
    expect(a).toEqual({
      title: 'Dockerfile warning',
      message: 'Empty continuation line found in: RUN a\nEmpty continuation lines will become errors\nSee https://github.com/moby/moby/pull/33719',
      file: 'app/docker/Dockerfile.prod',
      startLine: 6,
    });
  });

  it('resolves the name BuildKit reports against the Dockerfile directory', () => {
    expect(warningAnnotation({ step: '', message: 'm', detail: '', file: 'sub/other.Dockerfile', line: 1 }, paths).file).toBe('app/docker/sub/other.Dockerfile');
  });

  it('drops file and line when the Dockerfile lies outside the workspace', () => {
    const a = warningAnnotation({ step: '', message: 'm', detail: '', file: 'Dockerfile', line: 2 }, { dockerfile: '/elsewhere/Dockerfile', workspace: '/ws' });
    expect(a).toEqual({ title: 'Dockerfile warning', message: 'm' });
  });

  it('has no line without a file, and no detail lines when there are none', () => {
    expect(warningAnnotation({ step: '', message: 'FromAsCasing', detail: '', line: 3 }, paths)).toEqual({ title: 'Dockerfile warning', message: 'FromAsCasing' });
  });
});

describe('warnings of several builds', () => {
  const paths = { dockerfile: '/ws/Dockerfile', workspace: '/ws' };
  const casing = { step: 'a', message: 'FromAsCasing', detail: '', file: 'Dockerfile', line: 1 };

  it('gives each warning once, in the order first seen, however many builders reported it', () => {
    const empty = { step: 'b', message: 'NoEmptyContinuation', detail: '', file: 'Dockerfile', line: 4 };
    expect(warningAnnotations([casing, empty, { ...casing, step: 'other builder' }, empty], paths)).toEqual([
      { title: 'Dockerfile warning', message: 'FromAsCasing', file: 'Dockerfile', startLine: 1 },
      { title: 'Dockerfile warning', message: 'NoEmptyContinuation', file: 'Dockerfile', startLine: 4 },
    ]);
  });

  it('keeps the same warning on different lines apart', () => {
    expect(warningAnnotations([casing, { ...casing, line: 7 }], paths).map((a) => a.startLine)).toEqual([1, 7]);
  });

  it('points at the workspace the runner gives, else the working directory', () => {
    expect(annotationPaths('/ws/Dockerfile', { GITHUB_WORKSPACE: '/ws' })).toEqual(paths);
    expect(annotationPaths('/d/Dockerfile', {}).workspace).toBe(process.cwd());
  });
});

describe('failed step annotation', () => {
  it('carries the error and then the last log lines', () => {
    expect(failureAnnotation({ name: '[2/2] RUN make', error: 'exit code: 2', logTail: ['cc -c a.c', 'a.c:1: error'] })).toEqual({
      title: 'Build step failed: [2/2] RUN make',
      message: 'exit code: 2\ncc -c a.c\na.c:1: error',
    });
    expect(failureAnnotation({ name: 'x', error: 'boom', logTail: [] }).message).toBe('boom');
  });
});
