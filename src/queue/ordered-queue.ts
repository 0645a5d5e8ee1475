/**
 * OrderedMessageQueue (seeds 000 and 001): per-session delivery in `server_seq` order.
 *
 * - `sync` send mode (the "before", seed 001 问题代码): the queue lock is held while the message is
 *   written and the write awaited, and while waiting messages are flushed (processWaitingMessages).
 * - `async` send mode (seed 000 Plan A / seed 001 方案1): under the lock only the ready/waiting
 *   bookkeeping; a send worker of the SendWorkerPool writes the ready frames, coalescing up to
 *   `sendBatchSize` of them into one write (seed 001 方案2). At most one drain per session is in
 *   flight, so per-session order survives the pool. A full pool queue falls back to a synchronous
 *   send in the caller (seed 000 优雅降级), counted in `sync_fallbacks`.
 *
 * Out-of-order messages wait in a min-heap keyed by server_seq, bounded by `maxQueueSize`
 * (QUEUE_MAX_QUEUE_SIZE); beyond it enqueueMessage rejects with QueueFullError — never a silent drop.
 */
import { Heap } from 'heap-js';
import { Mutex } from 'async-mutex';
import Denque from 'denque';
import { performance } from 'node:perf_hooks';
import { QueueFullError, GatectlError, SlowConsumerError } from '../errors.js';
import type { QueueConfig } from './config.js';
import { SendQueueStats, type SendQueueStatsSnapshot } from './stats.js';
import { BoundedWorkerPool } from './worker-pool.js';
import { silentLogger, type Logger } from '../log.js';

/** Stages this module measures (names of DESIGN §5). */
export type QueueStage =
  | 'enqueue_latency' | 'lock_wait' | 'direct_send_latency' | 'write_message_latency'
  | 'metrics_update_latency' | 'send_queue_wait';

/** Receives stage durations in µs. The gateway passes its StageRecorder. */
export interface QueueStageSink {
  record(stage: QueueStage, us: number): void;
}

/** Writes bytes (one frame or several coalesced) to the session's connection; rejects if closed. */
export type FrameWriter = (data: Uint8Array) => Promise<void>;

interface WaitingMessage {
  serverSeq: number;
  frame: Uint8Array;
}

const bySeq = (a: WaitingMessage, b: WaitingMessage): number => a.serverSeq - b.serverSeq;

/**
 * The send side of one gateway: configuration, the global lock, SendQueueStats and (async mode)
 * the send worker pool. Creates one OrderedMessageQueue per session.
 */
export class OrderedSendSystem {
  readonly stats = new SendQueueStats();
  /** Async mode: send workers, each taking one session drain at a time (QUEUE_SEND_WORKER_COUNT, QUEUE_SEND_QUEUE_SIZE). */
  readonly pool: BoundedWorkerPool<OrderedMessageQueue> | null;
  /** The one lock of `global` scope. */
  readonly globalLock = new Mutex();
  private readonly queues = new Set<OrderedMessageQueue>();
  /** True when `QUEUE_ENABLE_DEBUG_LOG` is on: one debug line per enqueue, drain and fallback. */
  readonly debug: boolean;

  /**
   * @param config effective queue configuration (frozen by the caller)
   * @param sink stage recorder (µs)
   * @param log where debug lines go (pino); only used when `config.enableDebugLog`
   */
  constructor(readonly config: Readonly<QueueConfig>, readonly sink: QueueStageSink, readonly log: Logger = silentLogger) {
    this.debug = config.enableDebugLog && log.isLevelEnabled('debug');
    this.pool = config.enableAsyncSend
      ? new BoundedWorkerPool<OrderedMessageQueue>(config.sendWorkerCount, config.sendQueueSize, (q) => {
        q.sink.record('send_queue_wait', (performance.now() - q.submittedAt) * 1000);
        return q.drainReady();
      })
      : null;
  }

  /** Creates the queue of a session whose frames go through `writer`. */
  createQueue(sessionId: string, writer: FrameWriter): OrderedMessageQueue {
    const q = new OrderedMessageQueue(this, sessionId, writer);
    this.queues.add(q);
    return q;
  }

  /** @internal called by a queue on close */
  forget(q: OrderedMessageQueue): void {
    this.queues.delete(q);
  }

  /** Live sessions' queues. */
  get sessionQueues(): ReadonlySet<OrderedMessageQueue> {
    return this.queues;
  }

  /** JSON snapshot of SendQueueStats, with per-worker utilisation. */
  snapshot(): SendQueueStatsSnapshot {
    const s = this.stats;
    const workers = this.pool?.workerStats() ?? [];  // WorkerStats per send worker
    const attempted = s.totalSent + s.totalFailed;
    return {
      total_enqueued: s.totalEnqueued,
      total_sent: s.totalSent,
      total_failed: s.totalFailed,
      dropped_tasks: s.droppedTasks,
      sync_fallbacks: s.syncFallbacks,
      discarded_on_close: s.discardedOnClose,
      writes: s.writes,
      avg_send_latency_ns: s.writes === 0 ? 0 : Math.round(s.sendLatencySumNs / s.writes),
      max_send_latency_ns: Math.round(s.maxSendLatencyNs),
      success_rate: attempted === 0 ? 1 : s.totalSent / attempted,
      waiting_frames: s.waitingFrames,
      send_queue_length: this.pool?.queueLength ?? 0,
      worker_utilisation: workers.length === 0 ? 0 : workers.reduce((a, w) => a + w.utilisation, 0) / workers.length,
      workers,
    };
  }

  /** Waits until every ready frame is written (or `timeoutMs` ms pass), then stops the pool. */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      let busy = this.pool !== null && !this.pool.idle;
      for (const q of this.queues) if (q.readyCount > 0 || q.draining) busy = true;
      if (!busy) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const done = performance.now() < deadline;
    this.pool?.stop();
    return done;
  }
}

/** One session's ordered queue. Create it with `OrderedSendSystem.createQueue`. */
export class OrderedMessageQueue {
  /** The server_seq that must be sent next (seed 001 `nextExpectedSeq`); starts at 1. */
  nextExpectedSeq = 1;
  /** True while a send worker (or a fallback caller) owns this session's ready frames. */
  draining = false;
  /** performance.now() (ms) when the current drain task was submitted to the pool. */
  submittedAt = 0;
  /** performance.now() (ms) when the write in progress began; 0 when none is (slow-consumer detection) */
  writeStartedAt = 0;
  private readonly waiting = new Heap<WaitingMessage>(bySeq);
  /** frames ready to write, in server_seq order: a ring (Denque), as it grows to sessionBufferLimit for a slow reader and Array#shift is O(n) */
  private readonly ready = new Denque<Uint8Array>();
  private readonly lock: Mutex;
  private closed = false;
  /**
   * Where this queue's stage durations (µs) go: the system's sink, or one that also records them
   * for the session's cohort (gateway/cohorts.ts, issue 14 §6), set after Hello.
   */
  sink: QueueStageSink;

  /** @internal use OrderedSendSystem.createQueue */
  constructor(private readonly system: OrderedSendSystem, readonly sessionId: string, private readonly writer: FrameWriter) {
    this.lock = system.config.lockScope === 'global' ? system.globalLock : new Mutex();
    this.sink = system.sink;
  }

  /** Frames ready to send (async mode). */
  get readyCount(): number {
    return this.ready.length;
  }

  /** Frames waiting out of order. */
  get waitingCount(): number {
    return this.waiting.length;
  }

  /**
   * Accepts the encoded `frame` of the push with `serverSeq`. Sync mode: resolves once this frame
   * and every waiting frame that became sendable are written. Async mode: resolves once the frame
   * is queued (or, on pool overflow, written by the fallback).
   * Rejects with QueueFullError when the waiting heap is full, GatectlError for a duplicate
   * server_seq or a closed queue, or the transport's error when a sync-mode write fails.
   */
  enqueueMessage(serverSeq: number, frame: Uint8Array): Promise<void> {
    return this.enqueueMessages(serverSeq, [frame]);
  }

  /**
   * Accepts `frames` with consecutive server_seq values from `firstSeq`, under one lock acquisition
   * (one group: a request's before-notifies, response and after-notifies). Same semantics and
   * errors as enqueueMessage; `enqueue_latency` is recorded once per call.
   */
  async enqueueMessages(firstSeq: number, frames: readonly Uint8Array[]): Promise<void> {
    const sys = this.system;
    const t0 = performance.now();
    const release = await this.lock.acquire();
    const tLocked = performance.now();
    this.sink.record('lock_wait', (tLocked - t0) * 1000);
    let fallback = false;
    try {
      if (this.closed) throw new GatectlError(`session ${this.sessionId}: queue is closed; server_seq ${firstSeq} not accepted`, 'GATECTL_QUEUE_CLOSED');
      if (firstSeq < this.nextExpectedSeq) {
        throw new GatectlError(`session ${this.sessionId}: duplicate server_seq ${firstSeq} (next expected ${this.nextExpectedSeq})`, 'GATECTL_QUEUE_DUPLICATE');
      }
      if (firstSeq > this.nextExpectedSeq) {
        if (this.waiting.length + frames.length > sys.config.maxQueueSize) {
          throw new QueueFullError(
            `session ${this.sessionId}: waiting heap is full (${this.waiting.length} frames, QUEUE_MAX_QUEUE_SIZE=${sys.config.maxQueueSize}); ` +
            `server_seq ${firstSeq} not accepted while ${this.nextExpectedSeq} is missing. Raise QUEUE_MAX_QUEUE_SIZE.`);
        }
        for (let i = 0; i < frames.length; i++) this.waiting.push({ serverSeq: firstSeq + i, frame: frames[i]! });
        sys.stats.waitingFrames += frames.length;
        sys.stats.totalEnqueued += frames.length;
        if (sys.debug) sys.log.debug({ session: this.sessionId, first_seq: firstSeq, frames: frames.length, nextExpectedSeq: this.nextExpectedSeq, waiting: this.waiting.length }, 'out of order: waiting');
        return;
      }
      sys.stats.totalEnqueued += frames.length;
      if (sys.pool === null) {
        // sync mode: send while holding the lock, then processWaitingMessages under the same lock
        for (const frame of frames) {
          await this.sendMessageDirectly(frame);
          this.nextExpectedSeq++;
        }
        for (let top = this.waiting.peek(); top !== undefined && top.serverSeq === this.nextExpectedSeq; top = this.waiting.peek()) {
          this.waiting.pop();
          sys.stats.waitingFrames--;
          await this.sendMessageDirectly(top.frame);
          this.nextExpectedSeq++;
        }
        if (sys.debug) sys.log.debug({ session: this.sessionId, first_seq: firstSeq, frames: frames.length, nextExpectedSeq: this.nextExpectedSeq }, 'sent under lock');
        return;
      }
      // async mode: bookkeeping only
      if (this.ready.length + frames.length > sys.config.sessionBufferLimit) {
        throw new SlowConsumerError(`session ${this.sessionId}: ${this.ready.length} frames are waiting to be written (limit ${sys.config.sessionBufferLimit}); the client is not reading`);
      }
      for (const frame of frames) this.ready.push(frame);
      this.nextExpectedSeq += frames.length;
      for (let top = this.waiting.peek(); top !== undefined && top.serverSeq === this.nextExpectedSeq; top = this.waiting.peek()) {
        this.waiting.pop();
        sys.stats.waitingFrames--;
        this.ready.push(top.frame);
        this.nextExpectedSeq++;
      }
      if (!this.draining) {
        this.draining = true;
        this.submittedAt = performance.now();
        if (!sys.pool.submit(this)) {
          sys.stats.syncFallbacks++;
          fallback = true;
        }
      }
      if (sys.debug) sys.log.debug({ session: this.sessionId, first_seq: firstSeq, frames: frames.length, ready: this.ready.length, fallback }, fallback ? 'send queue full: sync fallback' : 'enqueued');
    } finally {
      release();
      if (!fallback) this.sink.record('enqueue_latency', (performance.now() - t0) * 1000);
    }
    if (!fallback) return;
    // pool queue full: this caller sends synchronously (outside the lock), keeping session order
    // because it owns the drain
    try {
      await this.drainReady();
    } finally {
      this.sink.record('enqueue_latency', (performance.now() - t0) * 1000);
    }
  }

  /**
   * Writes the ready frames in batches of up to `sendBatchSize` until none is left, then gives up
   * ownership. Called by a send worker, or by enqueueMessage on fallback. Never rejects: a failed
   * write counts the frames in `total_failed` and closes the queue.
   */
  async drainReady(): Promise<number> {
    const sys = this.system;
    const batchSize = sys.config.sendBatchSize;
    let frames = 0;
    try {
      while (this.ready.length > 0) {
        const n = Math.min(batchSize, this.ready.length);
        const data = n === 1 ? this.ready.shift()! : Buffer.concat(this.ready.splice(0, n)!);
        const tw = performance.now();
        this.writeStartedAt = tw;
        try {
          await this.writer(data);
          this.writeStartedAt = 0;
        } catch {
          this.writeStartedAt = 0;
          sys.stats.totalFailed += n + this.ready.length;
          this.ready.clear();
          this.closeInternal();
          return frames;
        }
        const tm = performance.now();
        this.sink.record('write_message_latency', (tm - tw) * 1000);
        sys.stats.recordWrite(n, (tm - tw) * 1e6);
        this.sink.record('metrics_update_latency', (performance.now() - tm) * 1000);
        frames += n;
        if (sys.debug) sys.log.debug({ session: this.sessionId, frames: n, bytes: data.length, write_us: Math.round((tm - tw) * 1000) }, 'batch written');
      }
    } finally {
      this.draining = false;
    }
    return frames;
  }

  /** Sync mode: write one frame and update the stats (seed 001 sendMessageDirectly). */
  private async sendMessageDirectly(frame: Uint8Array): Promise<void> {
    const sys = this.system;
    const td = performance.now();
    this.writeStartedAt = td;
    try {
      await this.writer(frame);
    } catch (err) {
      sys.stats.totalFailed++;
      throw err;
    } finally {
      this.writeStartedAt = 0;
    }
    const tm = performance.now();
    this.sink.record('write_message_latency', (tm - td) * 1000);
    sys.stats.recordWrite(1, (tm - td) * 1e6);
    const te = performance.now();
    this.sink.record('metrics_update_latency', (te - tm) * 1000);
    this.sink.record('direct_send_latency', (te - td) * 1000);
  }

  /** Closes the queue: frames still waiting or ready are counted in `discarded_on_close`. */
  close(): void {
    this.closeInternal();
  }

  private closeInternal(): void {
    if (this.closed) return;
    this.closed = true;
    const sys = this.system;
    sys.stats.discardedOnClose += this.waiting.length + this.ready.length;
    sys.stats.waitingFrames -= this.waiting.length;
    this.waiting.clear();
    this.ready.clear();
    sys.forget(this);
  }
}
