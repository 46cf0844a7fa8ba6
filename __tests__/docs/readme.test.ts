// The README is part of the interface: its inputs/outputs tables must be what
// action.yml says, and its examples must only use inputs that exist.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = process.cwd();
const read = (rel: string): string => readFileSync(join(ROOT, rel), 'utf8');

const BEGIN = '<!-- inputs -->';
const END = '<!-- /inputs -->';

/** What `npm run docs` prints: the tables generated from action.yml. */
function generatedTables(): string {
  return execFileSync(process.execPath, [join(ROOT, 'scripts/docs-inputs.mjs')], { encoding: 'utf8' }).trim();
}

function readmeSection(readme: string): string {
  const begin = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (begin === -1 || end === -1 || end < begin) throw new Error(`README.md has no ${BEGIN} ... ${END} section`);
  return readme.slice(begin + BEGIN.length, end).trim();
}

/** Input names of action.yml, found without the generator's parser (two-space keys under `inputs:`). */
function actionInputNames(): string[] {
  const names: string[] = [];
  let inInputs = false;
  for (const line of read('action.yml').split('\n')) {
    if (/^\S/.test(line)) inInputs = line.startsWith('inputs:');
    const m = /^ {2}([a-z][a-z0-9-]*):\s*$/.exec(line);
    if (inInputs && m) names.push(m[1]!);
  }
  return names;
}

/**
 * The `with:` keys of every step that uses this action (`uses: ./` or
 * `uses: <owner>/envd-remote-build@<ref>`) in a YAML text.
 */
function withKeysOfOurSteps(yaml: string): { line: number; key: string }[] {
  const lines = yaml.split('\n');
  const out: { line: number; key: string }[] = [];
  const indent = (s: string): number => s.length - s.trimStart().length;
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*(?:- )?)uses:\s*(\S+)/.exec(lines[i]!);
    if (!m || !(m[2] === './' || /^[\w.-]+\/envd-remote-build@/.test(m[2]!))) continue;
    const keyColumn = m[1]!.length;
    // Find the step's `with:` (a sibling key at the same column) before the step ends.
    let j = i + 1;
    for (; j < lines.length; j++) {
      const l = lines[j]!;
      if (l.trim() === '' || l.trim().startsWith('#')) continue;
      if (indent(l) < keyColumn) break; // the next step, or the end of the steps
      if (indent(l) === keyColumn && /^\s*with:\s*$/.test(l)) break;
    }
    if (j >= lines.length || !/^\s*with:\s*$/.test(lines[j]!) || indent(lines[j]!) !== keyColumn) continue;
    let column = -1;
    for (let k = j + 1; k < lines.length; k++) {
      const l = lines[k]!;
      if (l.trim() === '' || l.trim().startsWith('#')) continue;
      if (indent(l) <= keyColumn) break;
      if (column === -1) column = indent(l);
      if (indent(l) !== column) continue; // inside a block value
      const key = /^\s*([A-Za-z0-9_-]+):/.exec(l);
      if (key) out.push({ line: k + 1, key: key[1]! });
    }
  }
  return out;
}

/** The ```yaml blocks of a markdown text, joined so that line numbers are kept. */
function yamlBlocks(markdown: string): string {
  let inYaml = false;
  return markdown
    .split('\n')
    .map((line) => {
      if (/^```/.test(line)) {
        inYaml = !inYaml && /^```ya?ml\s*$/.test(line);
        return '';
      }
      return inYaml ? line : '';
    })
    .join('\n');
}

describe('README.md', () => {
  const readme = read('README.md');

  test('the inputs and outputs tables match action.yml (run `npm run docs -- --write` to update them)', () => {
    expect(readmeSection(readme)).toBe(generatedTables());
  });

  test('the generated inputs table lists every input of action.yml, in order', () => {
    const rows = generatedTables()
      .split('\n')
      .map((l) => /^\| `([^`]+)` \| .* \| .* \|$/.exec(l)?.[1])
      .filter((n): n is string => n !== undefined);
    expect(rows).toEqual(actionInputNames());
  });

  test('examples use only inputs that action.yml declares', () => {
    const inputs = new Set(actionInputNames());
    const sources: [string, string][] = [['README.md', yamlBlocks(readme)]];
    for (const rel of ['examples/composite/action.yml', ...readdirSync(join(ROOT, '.github/workflows')).map((f) => `.github/workflows/${f}`)]) {
      if (existsSync(join(ROOT, rel))) sources.push([rel, read(rel)]);
    }
    const unknown: string[] = [];
    let checked = 0;
    for (const [rel, text] of sources) {
      for (const { line, key } of withKeysOfOurSteps(text)) {
        checked++;
        if (!inputs.has(key)) unknown.push(`${rel}:${line}: ${key}`);
      }
    }
    expect(unknown).toEqual([]);
    // Guard against the scan silently finding nothing.
    expect(checked).toBeGreaterThan(20);
  });

  test('relative links point to files that exist', () => {
    const missing = [...readme.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
      .map((m) => m[1]!)
      .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target))
      .filter((target) => !existsSync(join(ROOT, target)));
    expect(missing).toEqual([]);
  });

  test('the commands it documents exist', () => {
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    const documented = [...readme.matchAll(/npm run ([a-z0-9:]+)/g)].map((m) => m[1]!);
    expect(documented.length).toBeGreaterThan(0);
    for (const name of new Set(documented)) expect(Object.keys(scripts)).toContain(name);
    expect(scripts['example']).toBe('bash scripts/example.sh');
    expect(scripts['docs']).toBe('node scripts/docs-inputs.mjs');
    expect(existsSync(join(ROOT, 'examples/hello/Dockerfile'))).toBe(true);
  });
});
