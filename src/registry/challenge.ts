// WWW-Authenticate challenges (RFC 7235) as registries send them:
//   Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"
//   Basic realm="Registry Realm"

export interface Challenge {
  /** Lower-cased scheme: `bearer`, `basic`, … */
  readonly scheme: string;
  /** Parameter names lower-cased; values unquoted. */
  readonly params: Readonly<Record<string, string>>;
}

const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y;
const SPACE = /[ \t]*/y;

/** Parses every challenge in one header value; unparseable tails are ignored. */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let pos = 0;
  const skip = (re: RegExp): string | undefined => {
    re.lastIndex = pos;
    const m = re.exec(header);
    if (!m) return undefined;
    pos = re.lastIndex;
    return m[0];
  };
  const skipSpaceAndCommas = (): void => {
    while (pos < header.length && /[ \t,]/.test(header[pos]!)) pos++;
  };
  skipSpaceAndCommas();
  while (pos < header.length) {
    const scheme = skip(TOKEN);
    if (!scheme) break;
    const params: Record<string, string> = {};
    skip(SPACE);
    for (;;) {
      const save = pos;
      const name = skip(TOKEN);
      skip(SPACE);
      if (!name || header[pos] !== '=') {
        // Not a parameter: the start of the next challenge.
        pos = save;
        break;
      }
      pos++;
      skip(SPACE);
      let value: string;
      if (header[pos] === '"') {
        pos++;
        let v = '';
        while (pos < header.length && header[pos] !== '"') {
          if (header[pos] === '\\' && pos + 1 < header.length) pos++;
          v += header[pos];
          pos++;
        }
        pos++;
        value = v;
      } else {
        value = skip(TOKEN) ?? '';
      }
      params[name.toLowerCase()] = value;
      skip(SPACE);
      if (header[pos] !== ',') break;
      pos++;
      skip(SPACE);
    }
    out.push({ scheme: scheme.toLowerCase(), params });
    skipSpaceAndCommas();
  }
  return out;
}
