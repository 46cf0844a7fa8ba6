// An unbounded FIFO that workers await. Items are file IDs (small numbers),
// so not bounding it costs little, and the reader never has to stop reading:
// a stalled reader would also stall the FIN and ERR packets behind the REQs.

export class WorkQueue<T> {
  private items: T[] = [];
  private head = 0;
  private waiters: ((item: T | undefined) => void)[] = [];
  private closed = false;

  push(item: T): void {
    if (this.closed) return;
    const waiter = this.waiters.shift();
    if (waiter) waiter(item);
    else this.items.push(item);
  }

  /** The next item, or undefined once the queue is closed. */
  take(): Promise<T | undefined> {
    if (this.head < this.items.length) {
      const item = this.items[this.head++]!;
      // Compact now and then instead of shift() on every take (O(n) each).
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      return Promise.resolve(item);
    }
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Drops queued items and releases every waiter: used to stop, not to drain. */
  close(): void {
    this.closed = true;
    this.items = [];
    this.head = 0;
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }
}
