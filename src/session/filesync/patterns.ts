// A thin adapter over @balena/dockerignore, which implements the .dockerignore
// dialect (ordered rules, last match wins, `!` exceptions, a pattern also
// matching everything below a matched directory). The adapter only
// pre-processes pattern text and works around library defects; all matching
// is the library's.
import dockerignore from '@balena/dockerignore';
import type { Ignore } from '@balena/dockerignore';
import path from 'node:path';

// The package's typings declare an ES default export on a CommonJS module;
// under NodeNext that types the default import as the module object. The
// runtime sets `.default` to the factory too, so this call works in both.
const createIgnore = dockerignore.default;

/** The library's private memo of answers (see resetCache). */
interface LibraryInternals {
  _cache: Record<string, boolean>;
}

/** Forget memoised answers this often: we ask about each path once anyway. */
const CACHE_RESET_INTERVAL = 4096;

interface ParsedPattern {
  readonly exception: boolean;
  /** Cleaned path components, for the cheap "could it match below?" test. */
  readonly components: readonly string[];
}

export class PatternList {
  private readonly ignore: Ignore;
  private readonly parsed: readonly ParsedPattern[];
  private queries = 0;

  /** Throws if a pattern cannot be compiled (e.g. an unclosed `[`). */
  constructor(patterns: readonly string[]) {
    const kept = patterns.map((p) => p.trim()).filter((p) => p !== '' && p !== '!');
    this.parsed = kept.map(parse).filter((p): p is ParsedPattern => p !== undefined);
    this.ignore = createIgnore({ ignorecase: false }); // Docker matches case-sensitively
    for (const p of kept) {
      this.ignore.add([toLibrarySyntax(p)]);
      // The library compiles lazily and would throw mid-walk; fail up front
      // with the pattern that is wrong.
      try {
        createIgnore({ ignorecase: false }).add([toLibrarySyntax(p)]).ignores('probe');
      } catch (err) {
        throw new Error(`invalid pattern ${JSON.stringify(p)}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    }
    this.resetCache();
  }

  get isEmpty(): boolean {
    return this.parsed.length === 0;
  }

  get hasExceptions(): boolean {
    return this.parsed.some((p) => p.exception);
  }

  /** Whether the rules (last match wins, parents count) select `relPath`. */
  matches(relPath: string): boolean {
    if (++this.queries % CACHE_RESET_INTERVAL === 0) this.resetCache();
    return this.ignore.ignores(relPath);
  }

  /**
   * Whether some pattern of the given polarity might match a path strictly
   * below `relDir`. Conservative: only a literal leading component that
   * differs from the directory's rules a pattern out; anything with a
   * wildcard or escape counts as "might".
   */
  mightMatchBelow(relDir: string, exceptions: boolean): boolean {
    const dir = relDir.split('/');
    return this.parsed.some((p) => p.exception === exceptions && prefixCompatible(p.components, dir));
  }

  /**
   * The library memoises answers in a plain object and looks them up with
   * `in`, so a file named e.g. `constructor` or `toString` hits
   * Object.prototype and is never matched. A prototype-less object avoids
   * that; resetting it also bounds memory on huge trees.
   */
  private resetCache(): void {
    (this.ignore as unknown as LibraryInternals)._cache = Object.create(null) as Record<string, boolean>;
  }
}

function parse(pattern: string): ParsedPattern | undefined {
  const exception = pattern.startsWith('!');
  const body = exception ? pattern.slice(1).trim() : pattern;
  const cleaned = path.posix.normalize(`/${body}`).replace(/^\/+|\/+$/g, '');
  if (cleaned === '' && body === '') return undefined;
  return { exception, components: cleaned === '' ? [] : cleaned.split('/') };
}

const WILDCARD = /[*?[\\]/;

function prefixCompatible(pattern: readonly string[], dir: readonly string[]): boolean {
  const n = Math.min(pattern.length, dir.length);
  for (let i = 0; i < n; i++) {
    if (WILDCARD.test(pattern[i]!)) return true;
    if (pattern[i] !== dir[i]) return false;
  }
  return true;
}

/**
 * Rewrites a .dockerignore pattern so the library reads it the way Docker
 * does. The library turns patterns into regular expressions but escapes only
 * `.` and `$`, so other regex syntax in a file name (`a+b`, `x(1)`) would be
 * misread or crash; it reads `[!...]` as a literal `!` where Go negates; an
 * escaped letter would become a regex class escape; and it drops a leading
 * `#` as a comment although the daemon sends patterns already stripped of
 * comments.
 */
export function toLibrarySyntax(pattern: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '\\' && i + 1 < pattern.length) {
      const next = pattern[i + 1]!;
      // Go reads `\d` as a literal `d`; in a regex it would be a digit class.
      out += /[A-Za-z0-9]/.test(next) ? next : ch + next;
      i++;
    } else if (ch === '[' && !inClass) {
      inClass = true;
      out += ch;
      // Go negates a class with `!` or `^`; a JS regex only with `^`.
      if (pattern[i + 1] === '!' || pattern[i + 1] === '^') {
        out += '^';
        i++;
      }
    } else if (ch === ']' && inClass) {
      inClass = false;
      out += ch;
    } else if ('(){}+|^'.includes(ch)) {
      out += `\\${ch}`;
    } else {
      out += ch;
    }
  }
  // A leading slash is dropped by the library's path cleaning, so `/#x`
  // means the file `#x` rather than a comment. Same after a `!`.
  if (out.startsWith('#')) out = `/${out}`;
  else if (out.startsWith('!#')) out = `!/${out.slice(1)}`;
  return out;
}

/** A literal path as a pattern matching exactly that path. */
export function escapeLiteral(relPath: string): string {
  return relPath.replace(/[*?[\]\\]/g, '\\$&').replace(/^!/, '\\!');
}
