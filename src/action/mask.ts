// Registering secret values with the runner's log masker. The runner masks
// log lines one at a time, so a multi-line value matched only as a whole
// would leak line by line: each line is registered on its own as well.
import * as runner from '../github/runner.js';

/**
 * Lines shorter than this are not masked on their own: a line like `}` or
 * `--` carries no secret, and masking it would star out that text all over
 * the job log.
 */
export const MIN_MASKED_LINE = 4;

/** Masks a value and each of its lines (once each). */
export function maskSecret(value: string, seen?: Set<string>): void {
  if (value.trim() === '') return;
  const mask = (text: string): void => {
    if (seen?.has(text)) return;
    seen?.add(text);
    runner.setSecret(text);
  };
  mask(value);
  if (/[\r\n]/.test(value)) {
    for (const line of value.split(/\r?\n|\r/)) if (line.trim().length >= MIN_MASKED_LINE) mask(line.trim());
  }
}
