// Prints the README's inputs and outputs tables, generated from action.yml.
//
//   node scripts/docs-inputs.mjs           print the tables (npm run docs)
//   node scripts/docs-inputs.mjs --write   replace them in README.md, between
//                                          <!-- inputs --> and <!-- /inputs -->
//
// action.yml is the source of truth; __tests__/docs/readme.test.ts fails when
// the README's copy differs from what this prints.
//
// The reader below knows only the layout action.yml uses: top-level keys,
// `inputs:`/`outputs:` maps of two-space-indented names, and four-space fields
// whose values are plain, 'single'- or "double"-quoted scalars or `>`/`|`
// blocks. Anything else is an error naming the line, never a silently wrong
// table.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const BEGIN_MARKER = '<!-- inputs -->';
export const END_MARKER = '<!-- /inputs -->';

class ActionYmlError extends Error {
  constructor(lineNo, message) {
    super(`action.yml line ${lineNo}: ${message}`);
  }
}

const indentOf = (line) => line.length - line.trimStart().length;

/** A one-line scalar as YAML reads it (the subset action.yml uses). */
function scalar(raw, lineNo) {
  const text = raw.trim();
  if (text.startsWith("'")) {
    if (!/^'(?:[^']|'')*'$/.test(text)) throw new ActionYmlError(lineNo, `unterminated or multi-line 'quoted' value: ${text}`);
    return text.slice(1, -1).replace(/''/g, "'");
  }
  if (text.startsWith('"')) {
    try {
      return JSON.parse(text);
    } catch {
      throw new ActionYmlError(lineNo, `"double-quoted" value this reader cannot handle: ${text}`);
    }
  }
  if (/^[[{&*!%@`]/.test(text)) throw new ActionYmlError(lineNo, `unsupported YAML value: ${text}`);
  // A plain scalar ends at " #" (a comment).
  return text.replace(/\s+#.*$/, '');
}

/**
 * Reads a block scalar (`>`, `>-`, `|`, `|-`) whose lines start after index
 * `start`, indented deeper than `parentIndent`. Returns the value and the
 * index of the first line after it.
 */
function blockScalar(lines, start, parentIndent, style) {
  const body = [];
  let i = start;
  for (; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() !== '' && indentOf(line) <= parentIndent) break;
    body.push(line);
  }
  while (body.length && body[body.length - 1].trim() === '') body.pop();
  const indent = Math.min(...body.filter((l) => l.trim() !== '').map(indentOf));
  const stripped = body.map((l) => l.slice(indent));
  let value;
  if (style.startsWith('|')) {
    value = stripped.join('\n');
  } else {
    // Folded: lines join with a space, an empty line is a line break.
    value = stripped.reduce((acc, l) => (l === '' ? `${acc}\n` : acc === '' || acc.endsWith('\n') ? acc + l : `${acc} ${l}`), '');
  }
  if (!style.endsWith('-')) value += '\n';
  return { value, next: i };
}

/**
 * Reads action.yml's `inputs` and `outputs`: each a list of
 * { name, description, required, default } in file order.
 */
export function readActionYml(text) {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const sections = { inputs: [], outputs: [] };
  let section; // 'inputs' | 'outputs' | undefined (another top-level key)
  let entry;
  for (let i = 0; i < lines.length; ) {
    const line = lines[i];
    const lineNo = i + 1;
    if (line.trim() === '' || line.trimStart().startsWith('#')) {
      i++;
      continue;
    }
    if (line.includes('\t')) throw new ActionYmlError(lineNo, 'tabs are not supported');
    const indent = indentOf(line);
    if (indent === 0) {
      const m = /^([A-Za-z_][\w-]*):(.*)$/.exec(line);
      if (!m) throw new ActionYmlError(lineNo, `expected a top-level key: ${line}`);
      section = m[1] === 'inputs' || m[1] === 'outputs' ? m[1] : undefined;
      if (section && m[2].trim() !== '') throw new ActionYmlError(lineNo, `${section} must be a map of names`);
      entry = undefined;
      i++;
      continue;
    }
    if (!section) {
      i++;
      continue;
    }
    if (indent === 2) {
      const m = /^ {2}([A-Za-z_][\w-]*):\s*$/.exec(line);
      if (!m) throw new ActionYmlError(lineNo, `expected "  name:" under ${section}: ${line}`);
      entry = { name: m[1] };
      sections[section].push(entry);
      i++;
      continue;
    }
    if (indent === 4 && entry) {
      const m = /^ {4}([A-Za-z_][\w-]*):(?:\s+(.*)|\s*)$/.exec(line);
      if (!m) throw new ActionYmlError(lineNo, `expected "    field: value": ${line}`);
      const [, field, rawValue = ''] = m;
      const style = rawValue.trim();
      if (/^[>|][-+]?$/.test(style)) {
        const { value, next } = blockScalar(lines, i + 1, 4, style);
        entry[field] = value;
        i = next;
        continue;
      }
      let value = scalar(rawValue, lineNo);
      i++;
      // A plain scalar may continue on deeper-indented lines (folded with spaces).
      while (i < lines.length && lines[i].trim() !== '' && indentOf(lines[i]) > 4) {
        if (/^['"]/.test(style)) throw new ActionYmlError(i + 1, 'multi-line quoted values are not supported; use >-');
        value += ` ${lines[i].trim()}`;
        i++;
      }
      entry[field] = value;
      continue;
    }
    throw new ActionYmlError(lineNo, `unexpected indentation under ${section}: ${line}`);
  }
  for (const [name, list] of Object.entries(sections)) {
    for (const e of list) {
      if (typeof e.description !== 'string' || e.description.trim() === '') {
        throw new Error(`action.yml: ${name}.${e.name} has no description`);
      }
    }
  }
  return sections;
}

/** Text for one table cell: one line, nothing GitHub would read as HTML or a column break. */
function cell(text) {
  return text
    .trim()
    .replace(/\s*\n\s*/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\|/g, '\\|');
}

function code(text) {
  // Backticks inside a default would end the code span early.
  if (text.includes('`')) return `\`\` ${text} \`\``;
  return `\`${text}\``;
}

/** The markdown that belongs between the README markers (without them). */
export function renderTables(spec) {
  const out = [];
  out.push('### Inputs', '');
  const anyRequired = spec.inputs.some((i) => i.required === 'true');
  out.push(`${anyRequired ? 'Inputs marked **Required** must be given; the rest are optional.' : 'Every input is optional.'} Booleans are \`true\` or \`false\`.`, '');
  out.push('| Input | Default | Description |', '| --- | --- | --- |');
  for (const input of spec.inputs) {
    // Code spans show text literally, so only the column separator is escaped.
    const def = input.default === undefined || input.default === '' ? '' : code(input.default.trim().replace(/\|/g, '\\|'));
    const required = input.required === 'true' ? '**Required.** ' : '';
    out.push(`| \`${input.name}\` | ${def} | ${required}${cell(input.description)} |`);
  }
  out.push('', '### Outputs', '');
  out.push('| Output | Description |', '| --- | --- |');
  for (const output of spec.outputs) out.push(`| \`${output.name}\` | ${cell(output.description)} |`);
  return out.join('\n');
}

/** README text with the marked section replaced by `tables`. */
export function replaceSection(readme, tables) {
  const begin = readme.indexOf(BEGIN_MARKER);
  const end = readme.indexOf(END_MARKER);
  if (begin === -1 || end === -1 || end < begin) {
    throw new Error(`README.md has no ${BEGIN_MARKER} ... ${END_MARKER} section`);
  }
  return `${readme.slice(0, begin + BEGIN_MARKER.length)}\n${tables}\n${readme.slice(end)}`;
}

function run(argv) {
  const spec = readActionYml(readFileSync(new URL('../action.yml', import.meta.url), 'utf8'));
  const tables = renderTables(spec);
  if (argv.includes('--write')) {
    const readmeUrl = new URL('../README.md', import.meta.url);
    const before = readFileSync(readmeUrl, 'utf8');
    const after = replaceSection(before, tables);
    if (after !== before) writeFileSync(readmeUrl, after);
    process.stderr.write(after === before ? 'README.md is up to date\n' : `README.md updated (${spec.inputs.length} inputs, ${spec.outputs.length} outputs)\n`);
    return;
  }
  process.stdout.write(`${tables}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    run(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
