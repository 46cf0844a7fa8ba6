import { ProgressPrinter } from '../../src/buildkit/progress.js';

const ts = (s: number) => ({ seconds: String(1700000000 + s), nanos: 0 });

test('numbers steps, reports cached, done with duration, logs and errors with their last lines', () => {
  const lines: string[] = [];
  const p = new ProgressPrinter((l) => lines.push(l));
  p.update({ vertexes: [{ digest: 'a', name: '[internal] load build definition', started: ts(0) }] });
  p.update({ vertexes: [{ digest: 'a', name: '[internal] load build definition', started: ts(0), completed: ts(1) }] });
  p.update({ vertexes: [{ digest: 'b', name: '[1/2] COPY . /src', cached: true, started: ts(1), completed: ts(1) }] });
  p.update({ vertexes: [{ digest: 'c', name: '[2/2] RUN make', started: ts(2) }] });
  p.update({ logs: [{ vertex: 'c', msg: Buffer.from('compiling\nlinking pa') }] });
  p.update({ logs: [{ vertex: 'c', msg: Buffer.from('rt two\n') }] });
  p.update({ vertexes: [{ digest: 'c', name: '[2/2] RUN make', started: ts(2), completed: ts(5), error: 'process "make" did not complete successfully: exit code: 2' }] });
  expect(lines).toEqual([
    '#1 [internal] load build definition',
    '#1 DONE 1.0s',
    '#2 [1/2] COPY . /src',
    '#2 CACHED',
    '#3 [2/2] RUN make',
    '#3 compiling',
    '#3 linking part two',
    '#3 ERROR: process "make" did not complete successfully: exit code: 2',
  ]);
  const s = p.summary();
  // Only Dockerfile instructions count as steps; [internal] vertices run on every build.
  expect(s.steps).toBe(2);
  expect(s.cached).toBe(1);
  expect(s.failed).toEqual({ name: '[2/2] RUN make', error: 'process "make" did not complete successfully: exit code: 2', logTail: ['compiling', 'linking part two'] });
});

test('prints finished transfers and reports warnings', () => {
  const lines: string[] = [];
  const p = new ProgressPrinter((l) => lines.push(l));
  p.update({ vertexes: [{ digest: 'ctx', name: '[internal] load build context', started: ts(0) }] });
  p.update({ statuses: [{ ID: 'transferring context:', vertex: 'ctx', name: 'transferring context:', current: '1000' }] });
  p.update({ statuses: [{ ID: 'transferring context:', vertex: 'ctx', name: 'transferring context:', current: '2500000', completed: ts(1) }] });
  p.update({ warnings: [{ vertex: 'ctx', level: '1', short: Buffer.from('FromAsCasing: mismatch'), detail: [Buffer.from('use AS')], url: 'https://docs', info: { filename: 'Dockerfile' }, ranges: [{ start: { line: 3 } }] }] });
  expect(lines).toContain('#1 transferring context: 2.4 MiB done');
  expect(lines).toContain('#1 WARN: FromAsCasing: mismatch');
  expect(p.summary().warnings).toEqual([{ step: '[internal] load build context', message: 'FromAsCasing: mismatch', detail: 'use AS', url: 'https://docs', file: 'Dockerfile', line: 3 }]);
});

test('counts instruction steps of every shape, not loading, exporting or pushing', () => {
  const p = new ProgressPrinter(() => {});
  const names = [
    '[internal] load build context',
    '[stage-1 2/3] RUN make',
    '[linux/arm64 1/1] COPY busybox /bin/busybox',
    '[linux/amd64/v2 builder 3/4] RUN go build',
    '[1/2] FROM docker.io/library/alpine:3.20',
    'exporting to image',
    'importing cache manifest from r.io/a:cache',
    'exporting content cache',
  ];
  names.forEach((name, i) => p.update({ vertexes: [{ digest: `d${i}`, name, started: ts(0), completed: ts(1), cached: i === 4 }] }));
  expect(p.summary()).toMatchObject({ steps: 4, cached: 1 });
});

test('a cancelled step is not reported as the failure', () => {
  const p = new ProgressPrinter(() => {});
  p.update({ vertexes: [{ digest: 'x', name: 'RUN sleep', started: ts(0), completed: ts(1), error: 'context canceled' }] });
  expect(p.summary().failed).toBeUndefined();
});

describe('hostile progress', () => {
  // Each write must be one line the runner sees as one line, starting with
  // `#<n> `: so no step's text can begin a runner line, whatever it holds.
  const written = (updates: Parameters<ProgressPrinter['update']>[0][]): string[] => {
    const lines: string[] = [];
    const p = new ProgressPrinter((l) => lines.push(l));
    for (const u of updates) p.update(u);
    return lines;
  };
  const expectOneRunnerLineEach = (lines: readonly string[]) => {
    for (const l of lines) {
      expect(l).not.toMatch(/[\r\n]/);
      expect(l).toMatch(/^#\d+ /);
    }
  };

  test('a lone \\r in a log ends a line of its own, as the runner would end it', () => {
    const lines = written([
      { vertexes: [{ digest: 'r', name: '[1/1] RUN evil', started: ts(0) }] },
      { logs: [{ vertex: 'r', msg: Buffer.from('50%\r::save-state name=tmpDirs::["/victim"]\n') }] },
      { logs: [{ vertex: 'r', msg: Buffer.from('a\r\r\nb\n::error::pwned\n   ::add-mask::x\n') }] },
      { vertexes: [{ digest: 'r', name: '[1/1] RUN evil', started: ts(0), completed: ts(1) }] },
    ]);
    expectOneRunnerLineEach(lines);
    expect(lines).toEqual([
      '#1 [1/1] RUN evil',
      '#1 50%',
      '#1 ::save-state name=tmpDirs::["/victim"]',
      '#1 a',
      '#1 ',
      '#1 b',
      '#1 ::error::pwned',
      '#1    ::add-mask::x',
      '#1 DONE 1.0s',
    ]);
  });

  test('a \\r\\n split across two log messages is one line end, and a final \\r is no text', () => {
    const lines = written([
      { vertexes: [{ digest: 'r', name: 'step', started: ts(0) }] },
      { logs: [{ vertex: 'r', msg: Buffer.from('one\r') }] },
      { logs: [{ vertex: 'r', msg: Buffer.from('\ntwo\r') }] },
      { logs: [{ vertex: 'r', msg: Buffer.from('three\r') }] },
      { vertexes: [{ digest: 'r', name: 'step', started: ts(0), completed: ts(1), error: 'exit code: 1' }] },
    ]);
    expectOneRunnerLineEach(lines);
    expect(lines).toEqual(['#1 step', '#1 one', '#1 two', '#1 three', '#1 ERROR: exit code: 1']);
  });

  test('names, errors, statuses and warnings with line breaks become several numbered lines', () => {
    const lines: string[] = [];
    const printer = new ProgressPrinter((l) => lines.push(l));
    const updates: Parameters<ProgressPrinter['update']>[0][] = [
      { vertexes: [{ digest: 'v', name: '[1/2] RUN x\r::set-output name=digest::pwned', started: ts(0) }] },
      { statuses: [{ ID: 's', vertex: 'v', name: 'pull\r\n::error::s', current: '1', completed: ts(1) }] },
      { warnings: [{ vertex: 'v', short: Buffer.from('w\r::warning::w'), detail: [Buffer.from('d')] }] },
      { vertexes: [{ digest: 'v', name: '[1/2] RUN x\r::set-output name=digest::pwned', started: ts(0), completed: ts(2), error: 'failed\n::error::e\r::save-state name=a::b' }] },
    ];
    for (const u of updates) printer.update(u);
    expectOneRunnerLineEach(lines);
    expect(lines).toEqual([
      '#1 [1/2] RUN x',
      '#1 ::set-output name=digest::pwned',
      '#1 pull ::error::s 1 B done',
      '#1 WARN: w',
      '#1 ::warning::w',
      '#1 ERROR: failed',
      '#1 ::error::e',
      '#1 ::save-state name=a::b',
    ]);
    // The summary keeps the daemon's text as it was: annotations escape it when they are written.
    expect(printer.summary().failed).toEqual({ name: '[1/2] RUN x\r::set-output name=digest::pwned', error: 'failed\n::error::e\r::save-state name=a::b', logTail: [] });
  });
});
