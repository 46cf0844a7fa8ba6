// Daemon errors about something an input controls, rephrased to name that
// input: BuildKit's wording ("secret npmrc: not found") names neither the
// Dockerfile nor the action input that fixes it. Also the one failure worth a
// second try: a push refused by a registry that lost an upload race.
import { BuildFailedError, type BuildReport } from '../buildkit/build.js';
import type { BuildSettings } from '../buildkit/settings.js';
import * as runner from '../github/runner.js';
import { failureAnnotation } from './annotations.js';

/** Annotation levels that only an index can carry (see annotationAttrs). */
const INDEX_LEVEL = /^(index|index-descriptor)(\[[^\]]*\])?:/;

/**
 * Says what the user has to change when the daemon's error is about one of
 * our inputs: BuildKit's wording ("secret npmrc: not found") names neither
 * the Dockerfile nor the action input that fixes it. Other errors pass
 * through unchanged.
 */
export function explainBuildError(message: string, inputs: Pick<BuildSettings, 'secrets' | 'annotations'>, env: NodeJS.ProcessEnv = process.env): string {
  const missing = /\bsecret ([^\s:]+): not found\b/.exec(message);
  if (missing) {
    const id = missing[1]!;
    const given = inputs.secrets.find((s) => s.id === id);
    if (!given) return `secret "${id}" is required by the Dockerfile but was not given; pass it with the secrets, secret-files or secret-envs input`;
    if (given.kind === 'env' && env[given.name] === undefined) {
      return `secret "${id}" is required by the Dockerfile, but environment variable ${given.name} (secret-envs) is not set`;
    }
  }
  if (/index annotations not supported for single platform export/.test(message)) {
    const keys = inputs.annotations.filter((a) => INDEX_LEVEL.test(a)).map((a) => a.slice(0, a.indexOf('=')));
    const what = keys.length === 1 ? `${keys[0]} needs` : `${keys.join(', ') || 'index annotations'} need`;
    return `Input "annotations": ${what} an image index, but this build exports a single-platform manifest; build several platforms, enable provenance, or drop the index: prefix`;
  }
  return message;
}

/**
 * Whether a build's push failed the way a registry fails it when it loses
 * the race between two uploads of one blob. With several builders pushing
 * into one repository at once, a registry on filesystem storage
 * (distribution, and so Harbor by default) rewrites the repository's link to
 * a shared blob in place when the second upload of it finishes, and a
 * manifest put that reads the link at that moment is refused ("blob
 * unknown", "provided digest did not match uploaded content"; older daemons
 * report only the 400 of the manifest put). Building once more is cheap
 * (every step is cached) and pushes a blob that is now there; a registry
 * that refuses the manifest for another reason refuses it again. The
 * daemon's wording is only matched, never shown from here.
 */
export function isConcurrentPushRace(err: unknown): boolean {
  if (!(err instanceof BuildFailedError) || err.cancelled || err.connectionLost) return false;
  if (!/\bfailed to push\b/.test(err.message)) return false;
  // Newer daemons quote the registry's errors; older ones (v0.11) only the status of the manifest put.
  return (
    /blob unknown to registry|manifest blob unknown|provided digest did not match uploaded content/.test(err.message) ||
    /failed commit on ref "manifest-sha256:[0-9a-f]{64}": unexpected status: 400 Bad Request/.test(err.message)
  );
}

/**
 * Runs a build, and once more when its push failed as a lost race between
 * two uploads of one blob fails it (isConcurrentPushRace). Several builders
 * of one step push into one repository at once, and so do the jobs of a
 * matrix. `who` names the build in the warning; nothing is retried once
 * `signal` is aborted.
 */
export async function retryingPushRace(build: () => Promise<BuildReport>, who: string, signal: AbortSignal): Promise<BuildReport> {
  try {
    return await build();
  } catch (err) {
    if (!isConcurrentPushRace(err) || signal.aborted) throw err;
    runner.warning(`${who}: the registry refused the manifest, as a registry on filesystem storage does when two pushes of one blob meet; building it once more, from cache`);
    return build();
  }
}

/**
 * A failed build's error as the step reports it: an error annotation on the
 * step that failed (unless the build was cancelled), then one line that
 * names the input to change where the daemon's error is about one.
 */
export function rethrowBuildError(err: unknown, inputs: Pick<BuildSettings, 'secrets' | 'annotations'>): never {
  if (err instanceof BuildFailedError) {
    if (!err.cancelled && err.progress.failed) {
      const a = failureAnnotation(err.progress.failed);
      runner.error(a.message, { title: a.title });
    }
    throw new Error(explainBuildError(err.message, inputs));
  }
  throw err;
}
