// The runner's file-command format (GITHUB_OUTPUT, GITHUB_STATE, GITHUB_ENV):
// `name=value` lines, or `name<<DELIMITER` followed by the value's lines and
// the delimiter alone on a line. One strict reader for every test: a line the
// runner would reject, or a heredoc without its delimiter, throws.
export function parseFileCommands(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delimiter] = heredoc;
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i]!);
      if (i >= lines.length) throw new Error(`file command ${name}: no closing delimiter ${delimiter}`);
      out[name!] = value.join('\n');
    } else if (line.indexOf('=') > 0) {
      out[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    } else {
      throw new Error(`not a file command line: ${JSON.stringify(line)}`);
    }
  }
  return out;
}
