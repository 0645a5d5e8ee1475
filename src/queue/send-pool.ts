/**
 * Send worker pool of the async send mode (seed 000 Plan A: SendWorker, SendTask; DESIGN §4).
 * `workerCount` async workers take session drains from a bounded FIFO of `queueSize` entries; each
 * task is one session whose ready frames the worker writes. `submit` never blocks: it returns false
 * when the FIFO is full, and the caller falls back to a synchronous send.
 */
import { performance } from 'node:perf_hooks';
import type { QueueStageSink, OrderedMessageQueue } from './ordered-queue.js';
import type { SendWorkerStats } from './stats.js';

interface WorkerState {
  id: number;
  tasks: number;
  frames: number;
  busyMs: number;
  busy: boolean;
}

/** Bounded task FIFO plus `workerCount` sending loops. */
export class SendWorkerPool {
  private readonly fifo: (OrderedMessageQueue | undefined)[];
  private head = 0;
  private size = 0;
  private readonly idleWorkers: ((q: OrderedMessageQueue | null) => void)[] = [];
  private readonly workers: WorkerState[] = [];
  private readonly startedAt = performance.now();
  private stopped = false;

  /**
   * @param workerCount QUEUE_SEND_WORKER_COUNT
   * @param queueSize QUEUE_SEND_QUEUE_SIZE (FIFO bound)
   * @param sink stage recorder: `send_queue_wait` in µs
   */
  constructor(workerCount: number, private readonly queueSize: number, private readonly sink: QueueStageSink) {
    this.fifo = new Array(queueSize);
    for (let i = 0; i < workerCount; i++) {
      const w: WorkerState = { id: i + 1, tasks: 0, frames: 0, busyMs: 0, busy: false };
      this.workers.push(w);
      void this.run(w);
    }
  }

  /** Session drains waiting for a worker. */
  get queueLength(): number {
    return this.size;
  }

  /** True when no task is queued and no worker is sending. */
  get idle(): boolean {
    return this.size === 0 && this.workers.every((w) => !w.busy);
  }

  /** Hands a session drain to the pool. Returns false, taking nothing, when the FIFO is full or the pool stopped. */
  submit(q: OrderedMessageQueue): boolean {
    if (this.stopped) return false;
    const waiter = this.idleWorkers.pop();
    if (waiter !== undefined) {
      waiter(q);
      return true;
    }
    if (this.size >= this.queueSize) return false;
    this.fifo[(this.head + this.size) % this.queueSize] = q;
    this.size++;
    return true;
  }

  /** Stops the workers once they finish their current task; queued tasks are drained by the caller of stop. */
  stop(): void {
    this.stopped = true;
    for (const w of this.idleWorkers.splice(0)) w(null);
  }

  /** Per-worker figures; utilisation is busy time over the pool's lifetime. */
  workerStats(): SendWorkerStats[] {
    const elapsed = Math.max(1e-9, performance.now() - this.startedAt);
    return this.workers.map((w) => ({
      id: w.id, tasks: w.tasks, frames: w.frames, busy_ms: Math.round(w.busyMs * 1000) / 1000,
      utilisation: Math.min(1, w.busyMs / elapsed),
    }));
  }

  private take(): OrderedMessageQueue | null | Promise<OrderedMessageQueue | null> {
    if (this.size > 0) {
      const q = this.fifo[this.head]!;
      this.fifo[this.head] = undefined;
      this.head = (this.head + 1) % this.queueSize;
      this.size--;
      return q;
    }
    if (this.stopped) return null;
    return new Promise((resolve) => this.idleWorkers.push(resolve));
  }

  private async run(w: WorkerState): Promise<void> {
    for (;;) {
      let q = this.take();
      if (q instanceof Promise) q = await q;
      if (q === null) return;
      const t = performance.now();
      this.sink.record('send_queue_wait', (t - q.submittedAt) * 1000);
      w.busy = true;
      w.tasks++;
      w.frames += await q.drainReady();
      w.busy = false;
      w.busyMs += performance.now() - t;
    }
  }
}
