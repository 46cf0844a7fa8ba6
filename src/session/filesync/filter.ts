// Which entries of a served directory the daemon asked for: include patterns,
// exclude patterns (.dockerignore) and followpaths, applied by us before
// sending (the daemon only validates what arrives).
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { escapeLiteral, PatternList } from './patterns.js';
import { sortNames, toAbsolute, type WalkDecision, type WalkFilter } from './walk.js';

export interface FilterSpec {
  readonly includePatterns: readonly string[];
  readonly excludePatterns: readonly string[];
  readonly followPaths: readonly string[];
}

/**
 * Include side: an entry is wanted if it or an ancestor matches. Exclude
 * side: last matching rule wins, `!` re-includes. Directories that are not
 * sent themselves may still be walked when something below could be wanted;
 * the walker then sends them lazily before their first sent descendant.
 */
export class PatternFilter implements WalkFilter {
  constructor(
    /** undefined = no include filter (everything is a candidate). */
    private readonly include: PatternList | undefined,
    private readonly exclude: PatternList | undefined,
  ) {}

  decide(relPath: string, isDir: boolean): WalkDecision {
    const included = this.include ? this.include.matches(relPath) : true;
    const excluded = this.exclude ? this.exclude.matches(relPath) : false;
    const send = included && !excluded;
    if (!isDir) return { send, descend: false };
    const includeBelow = included || (this.include?.mightMatchBelow(relPath, false) ?? true);
    // An excluded directory is only worth walking if an exception could
    // re-include something inside it; otherwise skip the whole subtree.
    const excludeBelow = !excluded || (this.exclude?.mightMatchBelow(relPath, true) ?? false);
    return { send, descend: includeBelow && excludeBelow };
  }
}

/** No filter at all when nothing restricts the transfer. */
export async function createFilter(root: string, spec: FilterSpec): Promise<WalkFilter | undefined> {
  const exclude = new PatternList(spec.excludePatterns);
  let includePatterns: string[] | undefined;
  const explicit = new PatternList(spec.includePatterns);
  if (!explicit.isEmpty) includePatterns = [...spec.includePatterns];
  if (spec.followPaths.length > 0) {
    const resolved = await resolveFollowPaths(root, spec.followPaths);
    if (resolved.includes('.')) {
      // The whole root was asked for: an include filter would only get in the way.
      includePatterns = undefined;
    } else {
      // Requested paths restrict the transfer even if none exist (then nothing
      // is sent), rather than silently sending the whole directory.
      includePatterns = [...(includePatterns ?? []), ...resolved.map(escapeLiteral)];
    }
  }
  const include = includePatterns ? new PatternList(includePatterns) : undefined;
  if (!include && exclude.isEmpty) return undefined;
  return new PatternFilter(include, exclude.isEmpty ? undefined : exclude);
}

/** A chain longer than this is a loop (Linux gives up at 40). */
const MAX_LINK_HOPS = 255;

/**
 * Resolves each path's symlinks inside the root: every symlink met on the way
 * is kept, and so is the final target, so the receiver gets both the link and
 * what it points to. Relative targets resolve against the link's directory,
 * absolute ones against the root; `..` stops at the root. Components with
 * wildcards are expanded against the directory listing. Paths that do not
 * exist are dropped. Result: sorted, without paths under another result;
 * '.' means the whole root.
 */
export async function resolveFollowPaths(root: string, paths: readonly string[]): Promise<string[]> {
  const found = new Set<string>();
  for (const p of paths) {
    const cleaned = cleanRelative(p);
    await follow(root, cleaned === '.' ? [] : cleaned.split('/').map((name) => ({ name, glob: WILDCARD.test(name) })), found, MAX_LINK_HOPS);
  }
  return withoutNested(sortNames([...found]));
}

/** Clean, '/'-separated, relative to the root, never above it. */
export function cleanRelative(p: string): string {
  const cleaned = path.posix.normalize(`/${p}`).replace(/^\/+|\/+$/g, '');
  return cleaned === '' ? '.' : cleaned;
}

const WILDCARD = /[*?[]/;

/**
 * One path component still to resolve. Only components of the requested path
 * are patterns; names read from a symlink target are literal.
 */
interface Component {
  readonly name: string;
  readonly glob: boolean;
}

function literal(relPath: string): Component[] {
  return relPath === '.' ? [] : relPath.split('/').map((name) => ({ name, glob: false }));
}

async function follow(root: string, parts: readonly Component[], found: Set<string>, hopsLeft: number): Promise<void> {
  let resolved = '';
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const rest = parts.slice(i + 1);
    if (part.glob) {
      const names = await listOrNothing(toAbsolute(root, resolved || '.'));
      // A leading `!` in a name pattern is a character, not an exception.
      const matcher = new PatternList([part.name.startsWith('!') ? `\\${part.name}` : part.name]);
      for (const name of sortNames(names)) {
        if (matcher.matches(name)) await follow(root, [...literal(joinRel(resolved, name)), ...rest], found, hopsLeft);
      }
      return;
    }
    const next = joinRel(resolved, part.name);
    const abs = toAbsolute(root, next);
    let isLink: boolean;
    try {
      isLink = (await fsp.lstat(abs)).isSymbolicLink();
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
    if (isLink) {
      if (hopsLeft <= 0) return;
      found.add(next);
      const target = await fsp.readlink(abs);
      // Absolute targets mean "from the served root"; cleanRelative clamps `..`.
      const base = path.posix.isAbsolute(target) ? '' : resolved;
      await follow(root, [...literal(cleanRelative(`${base}/${target}`)), ...rest], found, hopsLeft - 1);
      return;
    }
    resolved = next;
  }
  found.add(resolved === '' ? '.' : resolved);
}

function joinRel(...parts: string[]): string {
  return parts.filter((p) => p !== '').join('/');
}

async function listOrNothing(absDir: string): Promise<string[]> {
  try {
    return await fsp.readdir(absDir);
  } catch (err) {
    if (isMissing(err)) return [];
    throw err;
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Drops paths below another path of the list (the ancestor already covers them). */
function withoutNested(sorted: readonly string[]): string[] {
  if (sorted.includes('.')) return ['.'];
  const kept = new Set<string>();
  for (const p of sorted) {
    const parts = p.split('/');
    let covered = false;
    for (let i = 1; i < parts.length && !covered; i++) covered = kept.has(parts.slice(0, i).join('/'));
    if (!covered) kept.add(p);
  }
  return [...kept];
}
