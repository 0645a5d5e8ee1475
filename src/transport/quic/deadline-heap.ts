/**
 * The timer structure of a QUIC endpoint: one binary min-heap of connections ordered by their next
 * deadline, so an endpoint arms a single `setTimeout` for the earliest one instead of one timer per
 * connection or per packet (issue 13: "one timer structure for all connections of an endpoint").
 *
 * Each entry remembers its own position (`heapIndex`), so changing a deadline is O(log n) in place.
 * heap-js, the kept library this project already uses elsewhere, removes or updates an element with
 * a linear search (O(n)); quiche changes a connection's deadline after nearly every packet, which at
 * 10,000 connections makes that the wrong shape.
 */

/** What the heap orders: an absolute deadline (ms, `performance.now()` clock) and a slot for its index. */
export interface DeadlineEntry {
  /** Absolute deadline in ms on the `performance.now()` clock; `Infinity` = none. */
  deadline: number;
  /** Position in the heap, -1 when not in it. Owned by the heap. */
  heapIndex: number;
}

/** A binary min-heap of DeadlineEntry by `deadline`. Not thread-safe (one event loop). */
export class DeadlineHeap<T extends DeadlineEntry> {
  private readonly items: T[] = [];

  /** Number of entries. */
  get size(): number {
    return this.items.length;
  }

  /** The entry with the earliest deadline, or undefined when empty. */
  peek(): T | undefined {
    return this.items[0];
  }

  /**
   * Sets `entry.deadline` to `deadline` (ms) and puts it where it belongs: inserts it when absent,
   * moves it when present, removes it when `deadline` is Infinity.
   */
  set(entry: T, deadline: number): void {
    if (deadline === Infinity) {
      entry.deadline = Infinity;
      this.remove(entry);
      return;
    }
    const previous = entry.deadline;
    entry.deadline = deadline;
    if (entry.heapIndex < 0) {
      entry.heapIndex = this.items.length;
      this.items.push(entry);
      this.up(entry.heapIndex);
    } else if (deadline < previous) {
      this.up(entry.heapIndex);
    } else if (deadline > previous) {
      this.down(entry.heapIndex);
    }
  }

  /** Removes `entry` if it is in the heap. */
  remove(entry: T): void {
    const i = entry.heapIndex;
    if (i < 0) return;
    entry.heapIndex = -1;
    const last = this.items.pop() as T;
    if (i === this.items.length) return;
    this.items[i] = last;
    last.heapIndex = i;
    this.down(i);
    this.up(last.heapIndex);
  }

  /** Removes and returns the earliest entry whose deadline is ≤ `now` (ms), or undefined. */
  popDue(now: number): T | undefined {
    const top = this.items[0];
    if (top === undefined || top.deadline > now) return undefined;
    this.remove(top);
    return top;
  }

  private up(i: number): void {
    const items = this.items;
    const entry = items[i];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent];
      if (p.deadline <= entry.deadline) break;
      items[i] = p;
      p.heapIndex = i;
      i = parent;
    }
    items[i] = entry;
    entry.heapIndex = i;
  }

  private down(i: number): void {
    const items = this.items;
    const n = items.length;
    const entry = items[i];
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && items[right].deadline < items[left].deadline ? right : left;
      const c = items[child];
      if (c.deadline >= entry.deadline) break;
      items[i] = c;
      c.heapIndex = i;
      i = child;
    }
    items[i] = entry;
    entry.heapIndex = i;
  }
}
