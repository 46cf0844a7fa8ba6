// `envd build` against the job's private envd context.
//
// Flag semantics verified in envd's source (pkg/app/build.go,
// pkg/app/build/build.go, pkg/builder/util.go):
// - --from <file>:<func>: the file is joined to --path (filepath.Join), and
//   only if that does not exist is it tried relative to the working
//   directory; the value is split on ':' into exactly two parts.
// - --output, --import-cache, --export-cache: one value each, parsed as ONE
//   CSV record by Go's encoding/csv, `key=value` per field.
// - --force: without it envd asks the local Docker daemon for an image with
//   the same tag and cache-hash label and, if found, skips the build (and so
//   the push) with only an info line.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { CommandGuard, type TextSink } from '../github/command-guard.js';
import * as runner from '../github/runner.js';
import type { BuildSettings, CacheEntry } from '../buildkit/settings.js';
import { envdEnv, type EnvdContextRecord } from './context.js';
import { runCommand, describeExit } from './proc.js';
import { csvRecord } from '../common/csv.js';

/** What `envd build` needs from the action inputs. */
export type EnvdBuildInputs = Pick<BuildSettings, 'context' | 'file' | 'tags' | 'push' | 'cacheFrom' | 'cacheTo'> &
  Partial<Pick<BuildSettings, 'registryInsecure' | 'platforms'>> & {
    /** The function of build.envd to build. */
    readonly envdFunction: string;
  };

export interface RunEnvdBuildOptions {
  /**
   * Live output destination (default the job log). Workflow commands are
   * stopped there while envd's output streams, so a `::set-output::`-style
   * line printed by a package script inside the build cannot drive the runner.
   */
  readonly out?: TextSink;
  readonly signal?: AbortSignal;
  /** Lines of envd output quoted in the error on failure (default 50). */
  readonly tailLines?: number;
}

/**
 * envd's --tag is only a fallback image name (used when there is no
 * --output), a log field and the key of the local-Docker "skip build" check
 * that --force disables. Left out, envd derives `<context dir name>:dev` and
 * fails outright on directory names that are no valid image reference (say
 * `.github`), so we always pass this fixed, valid one.
 */
const PLACEHOLDER_TAG = 'envd-remote-build:envd';

/**
 * `type=image,"name=a,b",push=true`: BuildKit's image exporter takes several
 * names comma-separated in one `name` attribute, so that field must be quoted
 * for envd's CSV parser, or `b` would become a field without `=` and envd
 * would reject the whole --output.
 */
export function envdOutputValue(tags: readonly string[], push: boolean, registryInsecure = false): string {
  const fields = ['type=image'];
  if (tags.length > 0) fields.push(`name=${tags.join(',')}`);
  fields.push(`push=${push}`);
  if (registryInsecure) fields.push('registry.insecure=true');
  return csvRecord(fields);
}

/** A cache-from/cache-to entry as the CSV value of --import-cache/--export-cache. */
export function cacheEntryCsv(entry: CacheEntry): string {
  if (!entry.type) throw new Error('cache entry without type');
  return csvRecord([`type=${entry.type}`, ...Object.entries(entry.attrs).map(([k, v]) => `${k}=${v}`)]);
}

/**
 * `--from` value: the file relative to --path (that is how envd resolves it)
 * and the function. envd splits it at every ':', so the path must have none;
 * readInputs refuses such a file, and a function that is no identifier.
 */
export function envdFromValue(context: string, file: string, fn: string): string {
  return `${path.relative(path.resolve(context), path.resolve(file))}:${fn || 'build'}`;
}

/**
 * argv for `envd build` (without the `envd` itself). What envd cannot express
 * (several cache entries or platforms, a platform or path it cannot parse)
 * was refused by readInputs, before anything started.
 */
export function envdBuildArgs(inputs: EnvdBuildInputs): string[] {
  const platforms = inputs.platforms ?? [];
  const args = [
    'build',
    '--from',
    envdFromValue(inputs.context, inputs.file, inputs.envdFunction),
    '--path',
    path.resolve(inputs.context),
    '--output',
    envdOutputValue(inputs.tags, inputs.push, inputs.registryInsecure ?? false),
    '--tag',
    PLACEHOLDER_TAG,
    // Always: see the header comment (silent skip of build and push).
    '--force',
  ];
  const platform = platforms[0];
  if (platform) args.push('--platform', platform);
  const from = inputs.cacheFrom[0];
  if (from) args.push('--import-cache', cacheEntryCsv(from));
  const to = inputs.cacheTo[0];
  if (to) args.push('--export-cache', cacheEntryCsv(to));
  return args;
}

/**
 * Runs `envd build` in the given context, streaming its output live. Throws
 * one line saying what failed, followed by envd's last lines of output.
 */
export async function runEnvdBuild(
  record: EnvdContextRecord,
  inputs: EnvdBuildInputs & { readonly connectTimeoutMs: number },
  opts: RunEnvdBuildOptions = {},
): Promise<void> {
  const args = envdBuildArgs(inputs);
  try {
    if (!(await fs.stat(inputs.file)).isFile()) throw new Error('not a file');
  } catch {
    // envd would silently fall back to a path relative to its working
    // directory; say plainly what is missing instead.
    throw new Error(`envd file ${inputs.file} does not exist or is not a file`);
  }

  runner.info(`Running: ${displayCommand(record.envdPath, args)}`);
  // The job log's own guard, so our commands in between (a gateway debug
  // line) resume and re-stop it; a separate one for another destination.
  const guard = opts.out ? new CommandGuard(opts.out) : undefined;
  const result = await runCommand(record.envdPath, args, {
    env: envdEnv(record, inputs.connectTimeoutMs),
    cwd: path.resolve(inputs.context),
    out: guard ? { write: (chunk) => guard.chunk(chunk) } : runner.untrustedStream,
    tailLines: opts.tailLines ?? 50,
    ...(opts.signal ? { signal: opts.signal } : {}),
  }).finally(() => (guard ? guard.resume() : runner.resumeCommands()));

  if (result.code !== 0) {
    const tail = [...result.tail];
    while (tail.length > 0 && tail[tail.length - 1]?.trim() === '') tail.pop();
    throw new Error(
      `envd build failed (${describeExit(result)})` +
        (tail.length ? `. Last ${tail.length} lines of envd output:\n${tail.join('\n')}` : ' without any output'),
    );
  }
}

/** For the log only: shell-style quoting so the line can be copied and rerun. */
function displayCommand(file: string, args: readonly string[]): string {
  return [file, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
