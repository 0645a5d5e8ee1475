/**
 * A bounded channel: the TypeScript stand-in for seed 003's `eventChannel chan *QuotaUsageEvent`
 * (buffered, capacity `channel_size`). No maintained npm package gives a bounded, non-blocking-send
 * channel with receive-with-timeout, so this is a small array-backed ring buffer (documented in
 * docs/quota.md):
 * - `trySend` never blocks (Go's `select { case ch <- e: default: }`): false when full or closed;
 *   an item goes straight to a waiting receiver when there is one.
 * - `tryReceive` takes an item if one is buffered; `receive(timeoutMs)` waits for one, for the
 *   timeout (a ticker case in Go's select), or for close-and-empty.
 * Single-threaded (one event loop): no locks needed.
 */

/** `receive` result when the timeout passed first. */
export const TIMEOUT: unique symbol = Symbol('timeout');
/** `receive` result when the channel is closed and empty. */
export const CLOSED: unique symbol = Symbol('closed');

interface Waiter<T> {
  resolve(v: T | typeof TIMEOUT | typeof CLOSED): void;
  timer: NodeJS.Timeout | undefined;
}

/** Bounded FIFO channel of `T` with `capacity` slots. */
export class BoundedChannel<T> {
  private readonly ring: (T | undefined)[];
  private head = 0;
  private size = 0;
  private readonly waiters: Waiter<T>[] = [];
  private isClosed = false;

  /** @param capacity slots (an integer ≥ 1) */
  constructor(readonly capacity: number) {
    this.ring = new Array<T | undefined>(capacity);
  }

  /** Items buffered. */
  get length(): number {
    return this.size;
  }

  /** True after `close()`. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Receivers currently waiting. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Hands `item` to a waiting receiver or buffers it. Returns false (taking nothing) when full or closed. */
  trySend(item: T): boolean {
    if (this.isClosed) return false;
    const w = this.waiters.shift();
    if (w !== undefined) {
      if (w.timer !== undefined) clearTimeout(w.timer);
      w.resolve(item);
      return true;
    }
    if (this.size >= this.capacity) return false;
    this.ring[(this.head + this.size) % this.capacity] = item;
    this.size++;
    return true;
  }

  /** Takes the oldest buffered item, or undefined when none is buffered. */
  tryReceive(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.ring[this.head];
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.size--;
    return item;
  }

  /**
   * Takes the oldest item, waiting up to `timeoutMs` (ms; Infinity: no timeout) for one.
   * Resolves TIMEOUT when the time passed, CLOSED when the channel is closed and empty.
   */
  receive(timeoutMs: number): Promise<T | typeof TIMEOUT | typeof CLOSED> {
    const item = this.tryReceive();
    if (item !== undefined) return Promise.resolve(item);
    if (this.isClosed) return Promise.resolve(CLOSED);
    return new Promise((resolve) => {
      const w: Waiter<T> = { resolve, timer: undefined };
      if (Number.isFinite(timeoutMs)) {
        w.timer = setTimeout(() => {
          const i = this.waiters.indexOf(w);
          if (i >= 0) this.waiters.splice(i, 1);
          resolve(TIMEOUT);
        }, Math.max(0, timeoutMs));
      }
      this.waiters.push(w);
    });
  }

  /** Refuses further sends; buffered items can still be received; waiting receivers get CLOSED. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const w of this.waiters.splice(0)) {
      if (w.timer !== undefined) clearTimeout(w.timer);
      w.resolve(CLOSED);
    }
  }
}
