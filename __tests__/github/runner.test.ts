// The runner protocol (src/github/runner.ts): the exact bytes the runner
// parses. Formats follow @actions/core v3 and the runner's own parser
// (actions/runner ActionCommandManager / FileCommandManager).
import { jest } from '@jest/globals';
import * as fs from 'node:fs';
import { EOL } from 'node:os';
import * as path from 'node:path';

import { captureStdout, captureStdoutAsync, makeTempDir, maskedValues, parseFileCommands } from '../action/helpers.js';
import { readAsRunner } from '../helpers/workflow-commands.js';

// Our randomUUID (common/random.ts), the real one by default; a test can pin
// the next delimiter to try to smuggle it into a name or value.
const random = await import('../../src/common/random.js');
const randomUUID = jest.fn(() => random.randomUUID());
jest.unstable_mockModule('../../src/common/random.js', () => ({ ...random, randomUUID }));
const runner = await import('../../src/github/runner.js');
const summary = await import('../../src/github/summary.js');

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

/** stdout of fn, split into lines (the last, empty one after the final EOL dropped). */
function lines(fn: () => void): string[] {
  const { out, error } = captureStdout(fn);
  if (error) throw error;
  return out.split(EOL).slice(0, -1);
}

let dir: string;
const saved: Record<string, string | undefined> = {};
const VARS = ['GITHUB_OUTPUT', 'GITHUB_STATE', 'GITHUB_STEP_SUMMARY', 'RUNNER_DEBUG'];

beforeEach(() => {
  dir = makeTempDir('erb-runner-');
  for (const v of VARS) {
    saved[v] = process.env[v];
    delete process.env[v];
  }
});

afterEach(() => {
  for (const v of VARS) {
    if (saved[v] === undefined) delete process.env[v];
    else process.env[v] = saved[v];
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('escaping', () => {
  it('escapes %, CR and LF in data, in that order (so %0A in the text survives)', () => {
    expect(runner.escapeData('50% of a\r\nb: c, d %0A')).toBe('50%25 of a%0D%0Ab: c, d %250A');
  });

  it('also escapes : and , in property values', () => {
    expect(runner.escapeProperty('50% of a\r\nb: c, d')).toBe('50%25 of a%0D%0Ab%3A c%2C d');
  });
});

describe('log commands', () => {
  it('writes annotations with properties in the runner’s names and order', () => {
    const out = lines(() =>
      runner.warning('line one\nline two: 100%', {
        endColumn: 9,
        startColumn: 2,
        endLine: 4,
        startLine: 3,
        file: 'dir,x/Dockerfile',
        title: 'Dockerfile warning: x',
      }),
    );
    expect(out).toEqual(['::warning title=Dockerfile warning%3A x,file=dir%2Cx/Dockerfile,line=3,endLine=4,col=2,endColumn=9::line one%0Aline two: 100%25']);
  });

  it('leaves out properties that are undefined, empty or 0 (and the space when none is left)', () => {
    expect(lines(() => runner.error('boom', { title: 'Build step failed: [2/3] RUN x' }))).toEqual(['::error title=Build step failed%3A [2/3] RUN x::boom']);
    expect(lines(() => runner.error('boom', { title: '', startLine: 0 }))).toEqual(['::error::boom']);
    expect(lines(() => runner.warning('careful'))).toEqual(['::warning::careful']);
  });

  it('writes debug lines escaped and info lines as they are', () => {
    expect(lines(() => runner.debug('a\nb'))).toEqual(['::debug::a%0Ab']);
    expect(lines(() => runner.info('plain: 100% done'))).toEqual(['plain: 100% done']);
  });

  it('never issues a command from an info line: text that could read as one goes between stop-commands', () => {
    const out = lines(() => {
      runner.info('::not-a-command:: 100%');
      runner.resumeCommands();
    });
    expect(out).toHaveLength(3);
    const token = /^::stop-commands::([0-9a-f]{32})$/.exec(out[0]!)?.[1];
    expect(token).toBeDefined();
    expect(out.slice(1)).toEqual(['::not-a-command:: 100%', `::${token}::`]);
  });

  it('groups', () => {
    expect(
      lines(() => {
        runner.startGroup('Building a, b: c');
        runner.info('inside');
        runner.endGroup();
      }),
    ).toEqual(['::group::Building a, b: c', 'inside', '::endgroup::']);
  });

  it('registers secrets with add-mask, escaped so a multi-line value stays one command', () => {
    const { out } = captureStdout(() => {
      runner.setSecret('p%ss\nword');
      runner.setSecret('plain');
    });
    expect(out).toBe(`::add-mask::p%25ss%0Aword${EOL}::add-mask::plain${EOL}`);
    expect(maskedValues(out)).toEqual(['p%ss\nword', 'plain']);
  });

  it('setFailed sets exit code 1 and reports an error', () => {
    const before = process.exitCode;
    try {
      expect(lines(() => runner.setFailed('it broke:\nbadly'))).toEqual(['::error::it broke:%0Abadly']);
      expect(process.exitCode).toBe(1);
    } finally {
      process.exitCode = before;
    }
  });
});

/** Text a build step, a daemon or a registry could put in front of the runner. */
const HOSTILE = [
  '50%\r::save-state name=tmpDirs::["/victim"]',
  'step\n::error::pwned',
  '\r\n::set-output name=digest::sha256:pwned',
  '   ::add-mask::visible',
  '\u0085::warning::after NEL',
  '::stop-commands::guess',
  '::guess::',
  '::stop-commands::',
  'text then ##[set-output name=x;]pwned',
  '##[save-state name=y]pwned',
  '::echo::on',
  'ends with a lone cr\r',
];

describe('untrusted text', () => {
  afterEach(() => captureStdout(() => runner.resumeCommands()));

  it('reaches the log with commands stopped; only our own commands between it are live', () => {
    const { out } = captureStdout(() => {
      for (const text of HOSTILE) {
        runner.untrusted(text);
        runner.debug(`ours after ${text}`);
      }
      runner.untrusted(HOSTILE.join('\r'));
      // An annotation made from such text: one escaped command that carries it.
      runner.warning(`last: ${HOSTILE.join('\n')}`, { title: HOSTILE[0]! });
    });
    const view = readAsRunner(out);
    expect(view.live.map((c) => [c.command, c.data])).toEqual([
      ...HOSTILE.map((text) => ['debug', `ours after ${text}`]),
      ['warning', `last: ${HOSTILE.join('\n')}`],
    ]);
    expect(view.live.at(-1)?.properties).toEqual({ title: HOSTILE[0] });
    expect(view.stoppedAtEnd).toBe(false);
    // Every hostile line is there, shown, just inert.
    for (const line of HOSTILE.flatMap((t) => t.split(/\r\n|\n|\r/)).filter(Boolean)) expect(view.stoppedLines).toContain(line);
  });

  it('passes a child\'s output through unchanged, split anywhere, and ends the window on a line of its own', () => {
    const text = HOSTILE.join('\n');
    const { out } = captureStdout(() => {
      // One character at a time, with one of our commands in the middle of a line.
      for (const [i, ch] of [...text].entries()) {
        runner.untrustedStream.write(ch);
        if (i === 20) runner.setSecret('s3cret');
      }
      runner.resumeCommands();
    });
    const view = readAsRunner(out);
    expect(view.live.map((c) => [c.command, c.data])).toEqual([['add-mask', 's3cret']]);
    expect(view.windows).toBe(2);
    expect(view.stoppedAtEnd).toBe(false);
    expect(out.replace(/::stop-commands::[0-9a-f]{32}\n|\n?::[0-9a-f]{32}::\n|::add-mask::s3cret\n/g, '')).toBe(text);
  });

  it('uses a fresh random token for every window', () => {
    const { out } = captureStdout(() => {
      for (let i = 0; i < 5; i++) {
        runner.untrusted('x');
        runner.endGroup();
      }
    });
    const tokens = [...out.matchAll(/::stop-commands::(.*)/g)].map((m) => m[1]);
    expect(tokens).toHaveLength(5);
    for (const t of tokens) expect(t).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(tokens).size).toBe(5);
  });
});

describe('getInput', () => {
  const envName = 'INPUT_MY_INPUT-NAME';
  afterEach(() => delete process.env[envName]);

  it('maps the name like the runner (spaces to _, upper case, dashes kept) and trims by default', () => {
    process.env[envName] = '  value\n';
    expect(runner.getInput('my input-name')).toBe('value');
    expect(runner.getInput('my input-name', { trimWhitespace: false })).toBe('  value\n');
  });

  it('reads unset as empty, and refuses it when required', () => {
    expect(runner.getInput('my input-name')).toBe('');
    expect(() => runner.getInput('my input-name', { required: true })).toThrow(new Error('Input required and not supplied: my input-name'));
    process.env[envName] = 'x';
    expect(runner.getInput('my input-name', { required: true })).toBe('x');
  });

  it('checks required before trimming, like @actions/core (whitespace counts as given)', () => {
    process.env[envName] = '   ';
    expect(runner.getInput('my input-name', { required: true })).toBe('');
  });
});

describe('outputs and state files', () => {
  function commandFile(variable: 'GITHUB_OUTPUT' | 'GITHUB_STATE'): string {
    const file = path.join(dir, variable.toLowerCase());
    fs.writeFileSync(file, '');
    process.env[variable] = file;
    return file;
  }

  it('appends heredoc records the runner parses back', () => {
    const file = commandFile('GITHUB_OUTPUT');
    const { out } = captureStdout(() => {
      runner.setOutput('digest', 'sha256:abc');
      runner.setOutput('images', 'a:1\nb:2');
      runner.setOutput('imageid', '');
      runner.setOutput('metadata', '{"k":"%0A<<EOF"}');
    });
    expect(out).toBe('');
    const text = fs.readFileSync(file, 'utf8');
    expect(parseFileCommands(text)).toEqual(
      new Map([
        ['digest', 'sha256:abc'],
        ['images', 'a:1\nb:2'],
        ['imageid', ''],
        ['metadata', '{"k":"%0A<<EOF"}'],
      ]),
    );
    const delimiters = [...text.matchAll(/^digest<<(.*)$|^images<<(.*)$/gm)].map((m) => m[1] ?? m[2]);
    expect(delimiters).toHaveLength(2);
    for (const d of delimiters) expect(d).toMatch(new RegExp(`^ghadelimiter_${UUID.source}$`));
    expect(delimiters[0]).not.toBe(delimiters[1]);
  });

  it('writes exactly name<<delimiter EOL value EOL delimiter EOL', () => {
    const file = commandFile('GITHUB_OUTPUT');
    randomUUID.mockReturnValueOnce('00000000-0000-4000-8000-000000000000');
    runner.setOutput('digest', 'sha256:abc');
    const d = 'ghadelimiter_00000000-0000-4000-8000-000000000000';
    expect(fs.readFileSync(file, 'utf8')).toBe(`digest<<${d}${EOL}sha256:abc${EOL}${d}${EOL}`);
  });

  it('refuses a name or value containing the delimiter, and writes nothing', () => {
    const file = commandFile('GITHUB_OUTPUT');
    const stateFile = commandFile('GITHUB_STATE');
    const uuid = '11111111-2222-4333-8444-555555555555';
    const d = `ghadelimiter_${uuid}`;
    randomUUID.mockReturnValueOnce(uuid);
    expect(() => runner.setOutput('x', `a${EOL}${d}${EOL}injected<<y`)).toThrow(`Unexpected input: value should not contain the delimiter "${d}"`);
    randomUUID.mockReturnValueOnce(uuid);
    expect(() => runner.setOutput(`x${d}`, 'v')).toThrow(`Unexpected input: name should not contain the delimiter "${d}"`);
    randomUUID.mockReturnValueOnce(uuid);
    expect(() => runner.saveState('x', d)).toThrow(/value should not contain the delimiter/);
    expect(fs.readFileSync(file, 'utf8')).toBe('');
    expect(fs.readFileSync(stateFile, 'utf8')).toBe('');
  });

  it('refuses a GITHUB_OUTPUT that names a missing file', () => {
    process.env['GITHUB_OUTPUT'] = path.join(dir, 'nope');
    expect(() => runner.setOutput('a', 'b')).toThrow(`Missing file at path: ${path.join(dir, 'nope')}`);
    expect(fs.existsSync(path.join(dir, 'nope'))).toBe(false);
  });

  it('falls back to ::set-output on a fresh line without GITHUB_OUTPUT', () => {
    const { out } = captureStdout(() => runner.setOutput('images', 'a, b:1\nc'));
    expect(out).toBe(`${EOL}::set-output name=images::a, b:1%0Ac${EOL}`);
  });

  it('writes state to GITHUB_STATE as records the runner parses back whole', () => {
    const file = commandFile('GITHUB_STATE');
    runner.saveState('isPost', 'true');
    runner.saveState('localBuilder', '{"pid":1,\n"x":"y"}');
    runner.saveState('tmpDirs', '');
    const records = parseFileCommands(fs.readFileSync(file, 'utf8'));
    // The runner hands each record to post as STATE_<name> (state.test.ts reads those).
    expect([...records.entries()]).toEqual([
      ['isPost', 'true'],
      ['localBuilder', '{"pid":1,\n"x":"y"}'],
      ['tmpDirs', ''],
    ]);
  });

  it('falls back to ::save-state without GITHUB_STATE', () => {
    expect(lines(() => runner.saveState('a,b', 'x:y'))).toEqual(['::save-state name=a%2Cb::x:y']);
  });
});

describe('job summary', () => {
  it('renders a heading and a table, escaping text cells but not html ones', () => {
    expect(summary.summaryHeading('envd <remote> & "build"', 3)).toBe(`<h3>envd &lt;remote&gt; &amp; &quot;build&quot;</h3>${EOL}`);
    expect(summary.summaryHeading({ html: '<em>x</em>' }, 2)).toBe(`<h2><em>x</em></h2>${EOL}`);
    const table = summary.summaryTable([
      [
        { content: 'Field', header: true },
        { content: '<Value>', header: true },
      ],
      ['Tags', { html: '<code>a&amp;b</code><br><code>c</code>' }],
      ['<script>alert(1)</script>', { content: 'a & b' }],
      ['', { content: { html: '' } }],
    ]);
    expect(table).toBe(
      '<table>' +
        '<tr><th>Field</th><th>&lt;Value&gt;</th></tr>' +
        '<tr><td>Tags</td><td><code>a&amp;b</code><br><code>c</code></td></tr>' +
        '<tr><td>&lt;script&gt;alert(1)&lt;/script&gt;</td><td>a &amp; b</td></tr>' +
        '<tr><td></td><td></td></tr>' +
        `</table>${EOL}`,
    );
  });

  it('appends to GITHUB_STEP_SUMMARY, keeping what was there', async () => {
    const file = path.join(dir, 'summary');
    fs.writeFileSync(file, 'earlier step\n');
    process.env['GITHUB_STEP_SUMMARY'] = file;
    await summary.appendSummary(summary.summaryHeading('one', 3), summary.summaryTable([['a', 'b']]));
    await summary.appendSummary(summary.summaryHeading('two', 3));
    expect(fs.readFileSync(file, 'utf8')).toBe(`earlier step\n<h3>one</h3>${EOL}<table><tr><td>a</td><td>b</td></tr></table>${EOL}<h3>two</h3>${EOL}`);
  });

  it('fails without GITHUB_STEP_SUMMARY or when the file cannot be written', async () => {
    await expect(summary.appendSummary('x')).rejects.toThrow(/GITHUB_STEP_SUMMARY/);
    process.env['GITHUB_STEP_SUMMARY'] = dir; // a directory: EISDIR
    const { out } = await captureStdoutAsync(() => expect(summary.appendSummary('x')).rejects.toThrow(/EISDIR/));
    expect(out).toBe('');
  });
});
