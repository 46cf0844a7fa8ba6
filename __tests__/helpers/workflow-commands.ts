// Reads a step's stdout the way the GitHub runner does, to find the workflow
// commands it would act on. Written from the runner's documented behaviour
// and its command parser (actions/runner ActionCommand / ActionCommandManager):
// - a line ends at \r\n, \n or a lone \r (.NET's ReadLine);
// - a line is a command when, after leading whitespace, it starts with
//   `::name` followed by another `::`, or when it holds `##[name` followed by
//   `]` anywhere; `name` must be a command the runner knows (any case);
// - `::stop-commands::T` makes the runner ignore every command until one named
//   T (`::T::`), which resumes it.

/** The commands the runner registers (stop-commands is handled on its own). */
export const RUNNER_COMMANDS = [
  'add-mask',
  'add-matcher',
  'add-path',
  'debug',
  'echo',
  'endgroup',
  'error',
  'group',
  'notice',
  'remove-matcher',
  'save-state',
  'set-env',
  'set-output',
  'warning',
  'stop-commands',
] as const;

export interface ParsedCommand {
  /** Lower case. */
  readonly command: string;
  readonly properties: Readonly<Record<string, string>>;
  /** Unescaped, as the runner hands it to the command. */
  readonly data: string;
  /** The line it came from. */
  readonly line: string;
}

export interface RunnerView {
  /** Every line, as the runner splits them. */
  readonly lines: readonly string[];
  /** Commands the runner would act on, in order (stop-commands and resumes not included). */
  readonly live: readonly ParsedCommand[];
  /** Lines read while commands were stopped, resume lines excluded. */
  readonly stoppedLines: readonly string[];
  /** How many stop windows were opened, and whether the last one is still open at the end. */
  readonly windows: number;
  readonly stoppedAtEnd: boolean;
}

export function splitRunnerLines(text: string): string[] {
  const lines = text.split(/\r\n|\n|\r/);
  // A final line end leaves an empty rest, which the runner never sees as a line.
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

function unescape(text: string, extra: [string, string][] = []): string {
  let out = text;
  for (const [from, to] of [['%0D', '\r'], ['%0A', '\n'], ...extra, ['%25', '%']] as [string, string][]) out = out.split(from).join(to);
  return out;
}

/** The `::name props::data` form; undefined when the line is none (for this set of names). */
function parseV2(line: string, known: ReadonlySet<string>): ParsedCommand | undefined {
  // .NET's TrimStart: Unicode white space, U+0085 included.
  const trimmed = line.replace(/^[\s\u0085]+/, '');
  if (!trimmed.startsWith('::')) return undefined;
  const end = trimmed.indexOf('::', 2);
  if (end < 0) return undefined;
  const info = trimmed.slice(2, end);
  const space = info.indexOf(' ');
  const name = (space < 0 ? info : info.slice(0, space)).toLowerCase();
  if (!known.has(name)) return undefined;
  const properties: Record<string, string> = {};
  if (space > 0) {
    for (const prop of info.slice(space + 1).trim().split(',').filter(Boolean)) {
      const eq = prop.indexOf('=');
      if (eq > 0 && eq < prop.length - 1) properties[prop.slice(0, eq)] = unescape(prop.slice(eq + 1), [['%3A', ':'], ['%2C', ',']]);
    }
  }
  return { command: name, properties, data: unescape(trimmed.slice(end + 2)), line };
}

/** The older `##[name props]data` form, found anywhere in the line. */
function parseV1(line: string, known: ReadonlySet<string>): ParsedCommand | undefined {
  const start = line.indexOf('##[');
  if (start < 0) return undefined;
  const rb = line.indexOf(']', start);
  if (rb < 0) return undefined;
  const info = line.slice(start + 3, rb);
  const space = info.indexOf(' ');
  const name = (space < 0 ? info : info.slice(0, space)).toLowerCase();
  if (!known.has(name)) return undefined;
  const properties: Record<string, string> = {};
  if (space > 0) {
    for (const prop of info.slice(space + 1).split(';').filter(Boolean)) {
      const eq = prop.indexOf('=');
      if (eq > 0 && eq < prop.length - 1) properties[prop.slice(0, eq)] = unescape(prop.slice(eq + 1), [['%3B', ';'], ['%5D', ']']]);
    }
  }
  return { command: name, properties, data: unescape(line.slice(rb + 1), [['%3B', ';'], ['%5D', ']']]), line };
}

/** What the runner makes of a step's stdout. */
export function readAsRunner(stdout: string): RunnerView {
  const lines = splitRunnerLines(stdout);
  const known = new Set<string>(RUNNER_COMMANDS);
  const live: ParsedCommand[] = [];
  const stoppedLines: string[] = [];
  let token: string | undefined;
  let windows = 0;
  for (const line of lines) {
    const cmd = parseV2(line, known) ?? parseV1(line, known);
    if (token !== undefined) {
      // An empty token can never be matched: the runner then stays stopped for good.
      if (token !== '' && cmd?.command === token) {
        known.delete(token);
        token = undefined;
      } else {
        stoppedLines.push(line);
      }
      continue;
    }
    if (!cmd) continue;
    if (cmd.command === 'stop-commands') {
      token = cmd.data.toLowerCase();
      if (token !== '') known.add(token);
      windows++;
      continue;
    }
    live.push(cmd);
  }
  return { lines, live, stoppedLines, windows, stoppedAtEnd: token !== undefined };
}
