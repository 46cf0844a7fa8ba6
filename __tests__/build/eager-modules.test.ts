// scripts/eager-modules.mjs puts the main bundle's modules in parentheses (so
// V8 compiles them at load, not after a first skim) and moves the source
// map's columns to match. What must hold: the code does the same, the map
// still leads every position to the same original line, and the committed
// dist/index.js is the result.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { decode, encode, type SourceMapMappings } from '@jridgewell/sourcemap-codec';

interface SourceMap {
  readonly version: number;
  readonly sources: readonly string[];
  readonly mappings: string;
}
interface EagerModules {
  moduleFunctions(code: string): [number, number][];
  eagerModules(code: string, map?: SourceMap): { code: string; map?: SourceMap };
}
const { moduleFunctions, eagerModules } = (await import('../../scripts/eager-modules.mjs' as string)) as EagerModules;

const ROOT = path.resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '../..');

/**
 * The original [source, line] a generated position maps to: the last segment
 * at or before it on its line, or (exact) only a segment starting right there.
 */
function originalOf(map: SourceMap, line: number, column: number, exact = false): [string, number] | undefined {
  const segments = decode(map.mappings)[line] ?? [];
  let found: number[] | undefined;
  for (const s of segments) if ((exact ? s[0] === column : s[0] <= column) && s.length >= 4) found = s;
  return found ? [map.sources[found[1]!]!, found[2]!] : undefined;
}

function positionOf(code: string, offset: number): [number, number] {
  const before = code.slice(0, offset);
  const line = before.split('\n').length - 1;
  return [line, offset - (before.lastIndexOf('\n') + 1)];
}

describe('eagerModules on a small bundle', () => {
  // Two modules on one line and one after a line break, as a minifier leaves them.
  const code = 'var t={1:(e)=>{e.exports="one"},2:function(e,x,r){e.exports=r(1)+"two"},\n3:e=>{e.exports=3}};var n={};function r(i){if(n[i])return n[i].exports;const m=n[i]={exports:{}};t[i](m,m.exports,r);return m.exports}result=r(2)+r(3);';
  // Each token's original line: its position in a made-up source file, one line per token of interest.
  // Segments at a module's first character too, where a parenthesis goes in front.
  const tokens = ['"one"', '"two"', 'e.exports=3', 'result=', 'function(e,x,r)', 'e=>{e.exports=3}'];
  const mappings: SourceMapMappings = [[], []];
  tokens.forEach((token, i) => {
    const [line, column] = positionOf(code, code.indexOf(token));
    mappings[line]!.push([column, 0, i, 0]);
  });
  for (const line of mappings) line.sort((a, b) => a[0] - b[0]);
  const map: SourceMap = { version: 3, sources: ['src/x.ts'], mappings: encode(mappings) };

  const run = (source: string) => {
    const context: { result?: unknown } = {};
    vm.runInNewContext(source, context);
    return context.result;
  };

  it('puts every module in parentheses and nothing else changes', () => {
    const out = eagerModules(code, map);
    expect(out.code).toBe(code.replace('(e)=>{e.exports="one"}', '((e)=>{e.exports="one"})').replace('function(e,x,r){e.exports=r(1)+"two"}', '(function(e,x,r){e.exports=r(1)+"two"})').replace('e=>{e.exports=3}', '(e=>{e.exports=3})'));
    expect(run(out.code)).toBe(run(code));
    expect(run(out.code)).toBe('onetwo3');
  });

  it('moves the map: each token still leads to its own original line', () => {
    const out = eagerModules(code, map);
    tokens.forEach((token, i) => {
      const [line, column] = positionOf(out.code, out.code.indexOf(token));
      expect([token, originalOf(out.map!, line, column, true)]).toEqual([token, ['src/x.ts', i]]);
    });
  });

  it('changes nothing a second time', () => {
    const once = eagerModules(code, map);
    const twice = eagerModules(once.code, once.map);
    expect(twice).toEqual(once);
  });

  it('refuses a file without a module table', () => {
    expect(() => eagerModules('var a = {x: 1}; f();')).toThrow(/no module table/);
  });
});

describe('the committed dist/index.js', () => {
  const code = readFileSync(path.join(ROOT, 'dist/index.js'), 'utf8');
  const map = JSON.parse(readFileSync(path.join(ROOT, 'dist/index.js.map'), 'utf8')) as SourceMap;

  it('has every module in parentheses', () => {
    const functions = moduleFunctions(code);
    expect(functions.length).toBeGreaterThan(50);
    expect(functions.filter(([start, end]) => !(code[start - 1] === '(' && code[end] === ')'))).toEqual([]);
  });

  // Texts found once in the bundle, from its first modules to its last (the
  // columns move by more the further along the line), and the file each is
  // written in. (ncc's map of a minified bundle is coarse within a file, so
  // the file is what is checked here; the small bundle above checks lines.)
  it.each([
    ['no builder given and fallback is', 'src/builder/resolve.ts'],
    ['it does not speak HTTP/2', 'src/common/h2/client.ts'],
    ['the repository path is empty', 'src/registry/image-reference.ts'],
    ['index has no manifests list', 'src/registry/media.ts'],
  ])('maps "%s" into %s', (text, file) => {
    const at = code.indexOf(text);
    expect(at).toBeGreaterThan(0);
    expect(code.indexOf(text, at + 1)).toBe(-1);
    const [line, column] = positionOf(code, at);
    expect(originalOf(map, line, column)?.[0]).toMatch(new RegExp(`(^|/)${file.replace(/\./g, '\\.')}$`));
  });
});
