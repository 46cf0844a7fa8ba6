// A count of bytes held against a limit, shared by every call of a session.
// The daemon decides how many calls it opens and how fast it reads, so what
// the session holds for it (requests not handled yet, responses not sent
// yet) is counted here and kept near the limit, whatever the daemon does.

export class ByteBudget {
  private heldBytes = 0;
  private peakBytes = 0;
  private readonly waiters: { bytes: number; resolve: () => void }[] = [];

  constructor(readonly limit: number) {}

  /** Bytes held now. */
  get held(): number {
    return this.heldBytes;
  }

  /** The most ever held at once. */
  get peak(): number {
    return this.peakBytes;
  }

  /** Takers waiting for room. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Takes `bytes` if they fit under the limit; false (nothing taken) otherwise. */
  tryTake(bytes: number): boolean {
    if (this.heldBytes + bytes > this.limit) return false;
    this.add(bytes);
    return true;
  }

  /** Takes `bytes` whether they fit or not (bytes already in memory that must be accounted). */
  force(bytes: number): void {
    this.add(bytes);
  }

  /**
   * Waits until the budget is below its limit, then takes `bytes`. Waiters
   * are served in order, each as soon as the budget is below the limit, so
   * what is held stays below the limit plus one taker's bytes. Resolves with
   * false, taking nothing, when one of the signals aborts first.
   */
  take(bytes: number, signals: readonly (AbortSignal | undefined)[] = []): Promise<boolean> {
    if (this.waiters.length === 0 && this.heldBytes < this.limit) {
      this.add(bytes);
      return Promise.resolve(true);
    }
    if (signals.some((s) => s?.aborted)) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const stopListening = (): void => {
        for (const s of signals) s?.removeEventListener('abort', onAbort);
      };
      const waiter = {
        bytes,
        resolve: () => {
          stopListening();
          resolve(true);
        },
      };
      const onAbort = (): void => {
        stopListening();
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(false);
      };
      for (const s of signals) s?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  release(bytes: number): void {
    if (bytes <= 0) return;
    this.heldBytes = Math.max(0, this.heldBytes - bytes);
    this.wake();
  }

  private add(bytes: number): void {
    if (bytes <= 0) return;
    this.heldBytes += bytes;
    if (this.heldBytes > this.peakBytes) this.peakBytes = this.heldBytes;
  }

  private wake(): void {
    while (this.waiters.length > 0 && this.heldBytes < this.limit) {
      const next = this.waiters.shift()!;
      this.add(next.bytes);
      next.resolve();
    }
  }
}
