// bench/phases.mjs runs the action's whole run several times in one process
// by rewriting the committed entry (bench/repeat-entry.mjs). What must hold:
// the committed dist/index.js still has the one statement it rewrites, the
// rewrite runs it the asked number of times, and anything else is refused.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';

const { repeatEntry } = (await import('../../bench/repeat-entry.mjs' as string)) as { repeatEntry(source: string, times: number): string };
const ROOT = path.resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');

describe('repeatEntry', () => {
  it('finds the one run in the committed dist/index.js and repeats it', () => {
    const source = readFileSync(path.join(ROOT, 'dist/index.js'), 'utf8');
    const repeated = repeatEntry(source, 4);
    expect(repeated).toContain('for(let r=0;r<4;r++)await run();');
    expect(repeated.length - source.length).toBe('for(let r=0;r<4;r++)'.length);
  });

  it('runs the statement the asked number of times, then what follows', async () => {
    const calls: string[] = [];
    const source = 'async function run(){calls.push("run")}await run();s.resumeCommands();';
    const body = repeatEntry(source, 3);
    const context = vm.createContext({ calls, s: { resumeCommands: () => calls.push('resume') } });
    await vm.runInContext(`(async()=>{${body}})()`, context);
    expect(calls).toEqual(['run', 'run', 'run', 'resume']);
  });

  it('refuses an entry where the run is missing or not alone', () => {
    expect(() => repeatEntry('await main();s.resumeCommands();', 2)).toThrow(/found it 0 times/);
    expect(() => repeatEntry('await run();a.resumeCommands();await run();b.resumeCommands();', 2)).toThrow(/found it 2 times/);
    expect(() => repeatEntry('await run();s.resumeCommands();', 0)).toThrow(RangeError);
  });
});
