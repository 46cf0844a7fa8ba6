// A REAL executable credential helper for tests: a POSIX shell script named
// docker-credential-testhelper in a temp dir that goes in front of PATH. It
// records the exact bytes it got on stdin and answers per lookup key from
// files the test writes, so tests exercise spawn, PATH lookup, stdin/stdout
// and exit codes exactly as with docker's helpers.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export const TEST_HELPER_NAME = 'testhelper';

// Behaviour files are named by the hex of the key because keys contain '/' and ':'.
const SCRIPT = `#!/bin/sh
set -u
here=$(cd "$(dirname "$0")" && pwd)
if [ "\${1:-}" != get ]; then
  echo "unsupported action \${1:-}" >&2
  exit 2
fi
raw="$here/stdin.$$"
cat > "$raw"
cat "$raw" >> "$here/stdin.log"
printf '\\n' >> "$here/stdin.log"
key=$(cat "$raw")
rm -f "$raw"
id=$(printf '%s' "$key" | od -An -tx1 | tr -d ' \\n')
b="$here/behaviour/$id"
echo "start $key" >> "$here/events.log"
if [ -f "$b.sleep" ]; then sleep "$(cat "$b.sleep")"; fi
if [ -f "$b.hang" ]; then
  echo $$ > "$b.pid"
  sleep 60 &
  echo $! > "$b.childpid"
  wait
fi
echo "end $key" >> "$here/events.log"
if [ -f "$b.json" ]; then cat "$b.json"; exit 0; fi
if [ -f "$b.raw" ]; then cat "$b.raw"; exit 0; fi
if [ -f "$b.fail" ]; then cat "$b.fail" >&2; exit 3; fi
if [ -f "$b.failstdout" ]; then cat "$b.failstdout"; exit 3; fi
echo "credentials not found in native keychain"
exit 1
`;

export interface TestHelper {
  /** Directory holding the script; prepend to PATH. */
  readonly dir: string;
  /** process.env with `dir` in front of PATH. */
  readonly env: NodeJS.ProcessEnv;
  /** Answer `{ServerURL, Username, Secret}` for `key`. */
  answer(key: string, username: string, secret: string): void;
  /** Print `text` on stdout and exit 0. */
  raw(key: string, text: string): void;
  /** Print `text` on stderr and exit 3. */
  fail(key: string, text: string): void;
  /** Print `text` on stdout and exit 3. */
  failOnStdout(key: string, text: string): void;
  /** Sleep this many seconds before answering. */
  delay(key: string, seconds: number): void;
  /** Never answer (a child `sleep 60` the helper waits for). */
  hang(key: string): void;
  /** Pids of the hanging helper and its child, once it ran. */
  hangPids(key: string): number[];
  /** Exact stdin of every run, in order. */
  stdinLog(): string[];
  /** "start KEY" / "end KEY" lines, in order. */
  events(): string[];
  cleanup(): void;
}

const hex = (s: string): string => Buffer.from(s, 'utf8').toString('hex');

export function installTestHelper(): TestHelper {
  const dir = mkdtempSync(join(tmpdir(), 'envd-credhelper-'));
  const behaviour = join(dir, 'behaviour');
  mkdirSync(behaviour);
  const script = join(dir, `docker-credential-${TEST_HELPER_NAME}`);
  writeFileSync(script, SCRIPT);
  chmodSync(script, 0o755);
  const file = (key: string, ext: string): string => join(behaviour, `${hex(key)}.${ext}`);
  const readLines = (name: string): string[] => {
    const path = join(dir, name);
    if (!existsSync(path)) return [];
    const text = readFileSync(path, 'utf8');
    return text === '' ? [] : text.replace(/\n$/, '').split('\n');
  };
  return {
    dir,
    env: { ...process.env, PATH: `${dir}${delimiter}${process.env.PATH ?? ''}` },
    answer: (key, username, secret) => writeFileSync(file(key, 'json'), JSON.stringify({ ServerURL: key, Username: username, Secret: secret })),
    raw: (key, text) => writeFileSync(file(key, 'raw'), text),
    fail: (key, text) => writeFileSync(file(key, 'fail'), text),
    failOnStdout: (key, text) => writeFileSync(file(key, 'failstdout'), text),
    delay: (key, seconds) => writeFileSync(file(key, 'sleep'), String(seconds)),
    hang: (key) => writeFileSync(file(key, 'hang'), ''),
    hangPids: (key) =>
      ['pid', 'childpid']
        .map((ext) => file(key, ext))
        .filter((p) => existsSync(p))
        .map((p) => Number(readFileSync(p, 'utf8').trim())),
    // Each run appends its stdin and then one '\n', so a key never contains a newline here.
    stdinLog: () => readLines('stdin.log'),
    events: () => readLines('events.log'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
