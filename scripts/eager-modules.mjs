#!/usr/bin/env node
// Puts each module of the main bundle (dist/index.js) in parentheses, and
// moves its source map's columns to match.
//
// Why: V8 compiles a function when it is first called, after only skimming it
// (pre-parsing) when the file is loaded. A bundled module is a function that
// runs once, at start-up, and nearly every module of the main bundle runs on
// every build; so each was skimmed at load, then parsed in full at its first
// call. V8 compiles a function in parentheses at load instead, which saves the
// skim. The unminified bundle had these parentheses; the minifier drops them.
// Measured in BENCHMARKS.md ("Twenty-first session").
//
//   node scripts/eager-modules.mjs dist/index.js
//
// The modules are the values of the bundle's module table: the first
// top-level object literal whose keys are all numbers and whose values are all
// functions. Nothing else is changed; a second run changes nothing.
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parse } from 'acorn';
import { decode, encode } from '@jridgewell/sourcemap-codec';

/** The module table's functions, as [start, end) offsets into `code`. */
export function moduleFunctions(code) {
  const program = parse(code, { ecmaVersion: 'latest', sourceType: 'module' });
  for (const statement of program.body) {
    if (statement.type !== 'VariableDeclaration') continue;
    for (const { init } of statement.declarations) {
      if (init?.type !== 'ObjectExpression' || init.properties.length === 0) continue;
      const isTable = init.properties.every(
        (p) => p.type === 'Property' && p.key.type === 'Literal' && typeof p.key.value === 'number' && (p.value.type === 'ArrowFunctionExpression' || p.value.type === 'FunctionExpression'),
      );
      if (isTable) return init.properties.map((p) => [p.value.start, p.value.end]);
    }
  }
  throw new Error('no module table (an object of numbered functions) at the top level of the bundle');
}

/** Line and column (0-based, UTF-16 units as in source maps) of each offset, for ascending offsets. */
function positions(code, offsets) {
  const out = [];
  let line = 0;
  let lineStart = 0;
  let at = 0;
  for (const offset of offsets) {
    for (; at < offset; at++) {
      if (code.charCodeAt(at) === 10) {
        line++;
        lineStart = at + 1;
      }
    }
    out.push([line, offset - lineStart]);
  }
  return out;
}

/**
 * Wraps the module functions of `code` in parentheses; returns the new code and,
 * when `map` (a source map object) is given, the map with its generated
 * columns moved past the inserted characters.
 */
export function eagerModules(code, map) {
  const functions = moduleFunctions(code).filter(([start, end]) => !(code[start - 1] === '(' && code[end] === ')'));
  const inserts = functions.flatMap(([start, end]) => [
    [start, '('],
    [end, ')'],
  ]);
  inserts.sort((a, b) => a[0] - b[0]);
  let out = '';
  let from = 0;
  for (const [at, text] of inserts) {
    out += code.slice(from, at) + text;
    from = at;
  }
  out += code.slice(from);
  if (!map) return { code: out };

  // Each segment moves right by the characters inserted on its line at or before its column.
  const lines = decode(map.mappings);
  const byLine = new Map();
  for (const [line, column] of positions(
    code,
    inserts.map(([at]) => at),
  )) {
    if (!byLine.has(line)) byLine.set(line, []);
    byLine.get(line).push(column);
  }
  for (const [line, columns] of byLine) {
    for (const segment of lines[line] ?? []) {
      let shift = 0;
      while (shift < columns.length && columns[shift] <= segment[0]) shift++;
      segment[0] += shift;
    }
  }
  return { code: out, map: { ...map, mappings: encode(lines) } };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node scripts/eager-modules.mjs dist/index.js\n');
    process.exit(2);
  }
  const mapFile = `${file}.map`;
  const code = readFileSync(file, 'utf8');
  const map = JSON.parse(readFileSync(mapFile, 'utf8'));
  const result = eagerModules(code, map);
  writeFileSync(file, result.code);
  writeFileSync(mapFile, JSON.stringify(result.map));
  process.stdout.write(`eager-modules: ${file}: ${(result.code.length - code.length) / 2} module(s) put in parentheses\n`);
}
