/**
 * A bounded work queue served by N async workers: the shape shared by the send worker pool of the
 * async send mode (seed 000 Plan A: SendTask channel + SendWorker goroutines) and the gateway's
 * AsyncRequestProcessor (seed 004 §2.3: taskQueue channel + worker goroutines). `submit` never
 * blocks (Go's `select { case ch <- t: default: }`): it returns false when the FIFO is full.
 */
import { performance } from 'node:perf_hooks';

/** Per-worker figures. */
export interface WorkerStats {
  id: number;
  /** items taken */
  tasks: number;
  /** time spent in the handler, in ms */
  busy_ms: number;
  /** busy time / pool lifetime, 0..1 */
  utilisation: number;
}

interface WorkerState {
  id: number;
  tasks: number;
  busyMs: number;
  busy: boolean;
}

/** Bounded FIFO of items plus `workerCount` loops that each await `handler(item)` for one item at a time. */
export class BoundedWorkerPool<T> {
  private readonly fifo: (T | undefined)[];
  private head = 0;
  private size = 0;
  private readonly idleWorkers: ((item: T | null) => void)[] = [];
  private readonly workers: WorkerState[] = [];
  private readonly startedAt = performance.now();
  private stopped = false;

  /**
   * @param workerCount number of concurrent handlers
   * @param capacity FIFO bound (items waiting for a worker)
   * @param handler processes one item; must not reject (a rejection is caught and ignored, the worker goes on)
   */
  constructor(workerCount: number, readonly capacity: number, private readonly handler: (item: T) => Promise<unknown>) {
    this.fifo = new Array(capacity);
    for (let i = 0; i < workerCount; i++) {
      const w: WorkerState = { id: i + 1, tasks: 0, busyMs: 0, busy: false };
      this.workers.push(w);
      void this.run(w);
    }
  }

  /** Items waiting for a worker. */
  get queueLength(): number {
    return this.size;
  }

  /** Number of workers. */
  get workerCount(): number {
    return this.workers.length;
  }

  /** Items queued plus items being handled. */
  get pending(): number {
    let busy = 0;
    for (const w of this.workers) if (w.busy) busy++;
    return this.size + busy;
  }

  /** True when no item is queued and no worker is busy. */
  get idle(): boolean {
    return this.size === 0 && this.workers.every((w) => !w.busy);
  }

  /** True until `stop()`. */
  get started(): boolean {
    return !this.stopped;
  }

  /** Hands an item to the pool. Returns false, taking nothing, when the FIFO is full or the pool stopped. */
  submit(item: T): boolean {
    if (this.stopped) return false;
    const waiter = this.idleWorkers.pop();
    if (waiter !== undefined) {
      waiter(item);
      return true;
    }
    if (this.size >= this.capacity) return false;
    this.fifo[(this.head + this.size) % this.capacity] = item;
    this.size++;
    return true;
  }

  /** Removes and returns the items still queued (not yet taken by a worker), oldest first. */
  takeQueued(): T[] {
    const out: T[] = [];
    while (this.size > 0) {
      out.push(this.fifo[this.head]!);
      this.fifo[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
      this.size--;
    }
    return out;
  }

  /** Refuses new items; workers finish what is queued, then exit. */
  stop(): void {
    this.stopped = true;
    for (const w of this.idleWorkers.splice(0)) w(null);
  }

  /** Waits until the pool is idle or `timeoutMs` (ms) passed; resolves true when idle. */
  async whenIdle(timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (!this.idle) {
      if (performance.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 5));
    }
    return true;
  }

  /** Per-worker figures. */
  workerStats(): WorkerStats[] {
    const elapsed = Math.max(1e-9, performance.now() - this.startedAt);
    return this.workers.map((w) => ({
      id: w.id, tasks: w.tasks, busy_ms: Math.round(w.busyMs * 1000) / 1000, utilisation: Math.min(1, w.busyMs / elapsed),
    }));
  }

  private take(): T | null | Promise<T | null> {
    if (this.size > 0) {
      const item = this.fifo[this.head]!;
      this.fifo[this.head] = undefined;
      this.head = (this.head + 1) % this.capacity;
      this.size--;
      return item;
    }
    if (this.stopped) return null;
    return new Promise((resolve) => this.idleWorkers.push(resolve));
  }

  private async run(w: WorkerState): Promise<void> {
    for (;;) {
      let item = this.take();
      if (item instanceof Promise) item = await item;
      if (item === null) return;
      const t = performance.now();
      w.busy = true;
      w.tasks++;
      try {
        await this.handler(item);
      } catch {
        // handlers own their errors; the worker must survive
      }
      w.busy = false;
      w.busyMs += performance.now() - t;
    }
  }
}
