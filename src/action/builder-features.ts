// What the chosen builder must be able to do for the inputs given, checked
// once it has said its version and before anything is sent to it: an option
// an old daemon silently ignores would produce a different image than asked.
import type { ActionInputs } from './inputs-types.js';
import { InputError } from './inputs.js';
import type { BuilderInfo } from '../buildkit/probe.js';

/** The image exporter's `rewrite-timestamp` attribute appeared in BuildKit v0.13. */
export const REWRITE_TIMESTAMP_SINCE = 'v0.13.0';

/** Compares `vX.Y.Z[-suffix]` versions by their numbers; undefined when either is not one. */
export function compareBuildkitVersions(a: string, b: string): number | undefined {
  const parse = (v: string): number[] | undefined => {
    const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(v);
    return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
  };
  const x = parse(a);
  const y = parse(b);
  if (!x || !y) return undefined;
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

/** Throws one line naming the input when the builder cannot honour it. */
export function checkBuilderFeatures(inputs: Pick<ActionInputs, 'sourceDateEpoch'>, info: BuilderInfo): void {
  const version = info.version?.version;
  if (inputs.sourceDateEpoch && version) {
    const cmp = compareBuildkitVersions(version, REWRITE_TIMESTAMP_SINCE);
    if (cmp !== undefined && cmp < 0) {
      throw new InputError(
        'source-date-epoch',
        `Input "source-date-epoch" needs BuildKit ${REWRITE_TIMESTAMP_SINCE} or later to rewrite layer timestamps; builder ${info.endpoint.address} runs ${version}`,
      );
    }
  }
}
