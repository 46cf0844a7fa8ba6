// Cancellation shared by every long step of main (probe, download, start,
// envd install, build). The runner cancels a job with SIGINT, then SIGTERM,
// then SIGKILL about ten seconds later; whatever main has not cleaned up or
// recorded for post by then is leaked. So every wait that can take longer
// than a moment must end as soon as the job's signal aborts.

/** The job was cancelled; `what` says what was interrupted, for the log. */
export class CancelledError extends Error {
  override readonly name = 'CancelledError';
  constructor(what: string) {
    super(`cancelled while ${what}`);
  }
}

/** Throws CancelledError when the signal has aborted. */
export function throwIfCancelled(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new CancelledError(what);
}

/**
 * Settles like `work`, unless the signal aborts first: then rejects with
 * CancelledError at once. The work itself goes on (for calls that take no
 * signal, e.g. @actions/tool-cache downloads); its result is dropped, and
 * its rejection observed so it cannot surface as an unhandled one.
 */
export function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(new CancelledError(what));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      work.catch(() => undefined);
      reject(new CancelledError(what));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** setTimeout as a promise that rejects with CancelledError when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal, what = 'waiting'): Promise<void> {
  return abortable(
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      // An aborted wait must not hold the process open until the timer fires.
      signal?.addEventListener('abort', () => clearTimeout(timer), { once: true });
    }),
    signal,
    what,
  );
}

/** A signal that aborts with either input: the job's cancel and a per-request timeout. */
export function anySignal(...signals: (AbortSignal | undefined)[]): AbortSignal | undefined {
  const given = signals.filter((s): s is AbortSignal => s !== undefined);
  if (given.length <= 1) return given[0];
  return AbortSignal.any(given);
}
