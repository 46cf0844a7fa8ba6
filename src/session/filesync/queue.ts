// A FIFO that workers await. Items are file IDs requested by the daemon. The
// queue has a capacity: the reader checks `full` and waits for `room()`
// before pushing, so a daemon that requests faster than we serve is held
// back by HTTP/2 flow control instead of growing the queue without bound.

export class WorkQueue<T> {
  private items: T[] = [];
  private head = 0;
  private waiters: ((item: T | undefined) => void)[] = [];
  private roomWaiters: (() => void)[] = [];
  private closed = false;

  /** `capacity`: how many items may wait; `full` turns true there. */
  constructor(readonly capacity = Infinity) {}

  /** Items waiting for a worker. */
  get size(): number {
    return this.items.length - this.head;
  }

  /** True when a push now would go beyond the capacity (never once closed). */
  get full(): boolean {
    return !this.closed && this.size >= this.capacity;
  }

  /** Resolves once the queue is below its capacity, or closed. */
  room(): Promise<void> {
    if (!this.full) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

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
      if (this.roomWaiters.length && !this.full) for (const wake of this.roomWaiters.splice(0)) wake();
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
    for (const wake of this.roomWaiters.splice(0)) wake();
  }
}
