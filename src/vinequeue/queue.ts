/**
 * VineQueue: a durable asynchronous batch queue (seed 002). Producers `enqueue` items; the queue
 * groups them into batches (by size or interval), hands batches to a sink through a processor pool
 * (sink `prepare`) and a sender pool (sink `send`), retries failures with exponential backoff and
 * jitter behind a circuit breaker, applies backpressure, and — with the WAL on — keeps every item on
 * disk until the sink acknowledged it.
 *
 * Items: any JSON value (objects, arrays, strings, numbers…) or a Buffer/Uint8Array. In memory they are
 * kept as given (never copied or serialised); only the WAL serialises them (JSON text, or the raw
 * bytes). Items recovered from the WAL come back as parsed JSON, or as a Buffer for byte items.
 *
 * Two architectures share everything but the memory path:
 * - `v1` (defaultConfig): one FIFO array guarded by an async-mutex; each enqueue takes the lock; the
 *   processor takes the lock and moves items one by one (`shift`) into a new batch array; one
 *   processor and one sender; enqueueBatch is a loop of enqueue. This reproduces the seed's V1
 *   (mutex, single queue, no batching optimisations) in Node.
 * - `v2` (v2Config): the primary buffer is swapped out whole when it reaches batchSize (the
 *   secondary, recycled from a small pool of emptied arrays, becomes primary) and the swapped-out
 *   array *is* the batch (zero copy); no lock on the enqueue path (one event loop: the seed's "atomic
 *   instead of mutex"); enqueueBatch checks once and pushes all; processorPoolSize batches prepared and
 *   senderPoolSize batches sent concurrently.
 *
 * Node runs the queue on one event loop: the pools are concurrency (overlapping awaits, and the libuv
 * thread pool for gzip), not threads.
 */
import { performance } from 'node:perf_hooks';
import { Mutex } from 'async-mutex';
import { InvalidInputError } from '../errors.js';
import { CircuitBreaker, type CircuitState } from './breaker.js';
import { validateConfig, type VineQueueConfig } from './config.js';
import { BackpressureError, CircuitOpenError, VineQueueClosedError, VineQueueFullError, SinkError } from './errors.js';
import { Wal, type Segment } from './wal.js';

/** What a send receives besides the batch. */
export interface SendContext {
  /** aborted when the send exceeds `sendTimeoutMs` or stop() times out; pass it to your I/O */
  signal: AbortSignal;
  /** 0 for the first try, n for the n-th retry */
  attempt: number;
}

/**
 * The simple form of a sink: send `items` (the batch, in enqueue order), resolve when the downstream
 * acknowledged them, reject otherwise. The array is the queue's buffer: do not keep it after the
 * promise settles.
 */
export type SendFn<T> = (items: readonly T[], ctx: SendContext) => Promise<void>;

/**
 * The full form of a sink. `prepare` (optional) turns a batch into a payload on the processor pool
 * (e.g. NDJSON + gzip) once; `send` delivers the payload and is retried with the same payload. A
 * `prepare` that throws drops the batch (counted in errors_total and dropped_total).
 */
export interface Sink<T, P = unknown> {
  prepare?(items: readonly T[]): P | Promise<P>;
  send(payload: P, ctx: SendContext): Promise<void>;
  /** released at the end of stop() */
  close?(): Promise<void>;
}

/**
 * Seed 002 "监控指标" (Metrics struct), snake_case, plus a few extra counters. Counts are items unless
 * the name says batches or records.
 */
export interface VineMetrics {
  /** items accepted by enqueue/enqueueBatch (memory or WAL) */
  enqueued_total: number;
  /** items the sink acknowledged */
  sent_total: number;
  /** failed send attempts (batches; each retry that fails counts again), plus failed prepares */
  errors_total: number;
  /** items given up: retries exhausted without WAL, a failed prepare, or left in memory when stop() timed out without WAL */
  dropped_total: number;
  /** batches the sink acknowledged */
  batches_sent_total: number;
  /** items held in memory (buffer, batches being prepared, sent or waiting to retry) */
  memory_queue_size: number;
  /** bytes of the WAL segment files (0 with the WAL off) */
  wal_size: number;
  /** mean duration of acknowledged sends, in ms (sink `send` call to resolution) */
  avg_send_latency_ms: number;
  /** circuit breaker state (`closed` when the breaker is off) */
  circuit_state: CircuitState;
  /** backpressure delay currently applied to enqueue, in ms (0 below the threshold) */
  backoff_ms: number;
  /** enqueue calls refused, by error code */
  rejected_total: Record<'GATECTL_VINEQUEUE_CLOSED' | 'GATECTL_VINEQUEUE_FULL' | 'GATECTL_CIRCUIT_OPEN' | 'GATECTL_BACKPRESSURE', number>;
  /** retries scheduled */
  retries_total: number;
  /** times the breaker opened */
  breaker_opens_total: number;
  /** items in the WAL not yet read back into memory (overflow backlog; records of a recovered WAL not yet read are not included) */
  wal_backlog: number;
  /** WAL records read back from segments of an earlier process */
  wal_recovered_total: number;
  /** WAL records skipped as corrupt or torn */
  wal_corrupt_records_total: number;
  /** live WAL segment files */
  wal_segments: number;
}

/** What stop() reports. */
export interface StopResult {
  /** everything was acknowledged by the sink before the timeout */
  flushed: boolean;
  /** items not acknowledged when stop() returned */
  remaining: number;
  /** of those, items kept in the WAL for the next start (all of them with the WAL on) */
  persisted: number;
  /** of those, items lost (WAL off) — also added to dropped_total */
  dropped: number;
}

interface Batch<T> {
  items: T[];
  segs: Segment[] | null;
  attempts: number;
  payload: unknown;
  /** WAL write of the batch's newest record (group commits finish in order); the sink gets the batch only after it */
  written: Promise<void> | null;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const ARRAY_POOL_MAX = 64;

/**
 * The queue. Build it with {@link create}; call `start()` before enqueueing and `stop()` at the end.
 * `T` is the item type (a JSON value or a Buffer, see the file comment).
 */
export class VineQueue<T = unknown> {
  readonly config: Readonly<VineQueueConfig>;
  private readonly sink: Sink<T>;
  private readonly v2: boolean;
  private readonly mutex: Mutex | null;
  private readonly breaker: CircuitBreaker | null;
  private wal: Wal | null = null;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private halted = false;
  private stopResult: StopResult | null = null;

  private buf: T[] = [];
  private bufSegs: Segment[] | null = null;
  private readonly freeArrays: T[][] = [];
  private memSize = 0;
  private spilling = false;
  private spilled = 0;
  private refilling = false;
  /** WAL write of the newest record pushed into memory (null: none, or the WAL is off) */
  private lastWritten: Promise<void> | null = null;
  /** reading an earlier process's WAL (start() found records); cleared once the cursor left its segments */
  private recovering = false;
  private v1Processing = false;
  private flushTimer: NodeJS.Timeout | null = null;
  private breakerTimer: NodeJS.Timeout | null = null;
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly inflight = new Set<AbortController>();
  private readonly toPrepare: Batch<T>[] = [];
  private readonly toSend: Batch<T>[] = [];
  private preparing = 0;
  private sending = 0;
  private backoffMs = 0;

  private enqueued = 0;
  private sent = 0;
  private errors = 0;
  private dropped = 0;
  private batches = 0;
  private retries = 0;
  private sendMsSum = 0;
  private readonly rejected = { GATECTL_VINEQUEUE_CLOSED: 0, GATECTL_VINEQUEUE_FULL: 0, GATECTL_CIRCUIT_OPEN: 0, GATECTL_BACKPRESSURE: 0 };

  /** Use {@link create}. */
  constructor(config: VineQueueConfig, send: SendFn<T> | Sink<T>) {
    validateConfig(config);
    this.config = Object.freeze({ ...config });
    this.sink = typeof send === 'function' ? { send: (payload, ctx) => send(payload as T[], ctx) } : (send as Sink<T>);
    this.v2 = config.architecture === 'v2';
    this.mutex = this.v2 ? null : new Mutex();
    this.breaker = config.enableCircuitBreaker ? new CircuitBreaker(config.breakerFailureThreshold, config.breakerCoolDownMs) : null;
  }

  /**
   * Opens the WAL (when on) and starts the queue. Recovery of records left by an earlier process runs
   * in the background (start does not wait for it); new items queue behind them. When `signal` aborts,
   * the queue stops (stop() with the default timeout).
   * @throws WalKeyError (missing or wrong encryption key — nothing deleted), WalCorruptError (a file that is
   *         not a segment), InvalidInputError (start called twice), fs errors from the WAL directory.
   */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.state !== 'new') throw new InvalidInputError('VineQueue.start() was called twice: a queue starts once; create a new one to restart');
    if (this.config.enableWal) {
      this.wal = await Wal.open(this.config);
      this.bufSegs = [];
    }
    this.state = 'running';
    if (this.wal !== null && this.wal.hasBacklog()) {
      this.spilling = true;
      this.recovering = this.wal.cursorInRecovered();
      void this.refill();
    }
    if (signal !== undefined) {
      if (signal.aborted) await this.stop();
      else signal.addEventListener('abort', () => { void this.stop(); }, { once: true });
    }
  }

  /** Checks state, breaker and backpressure for `n` items; returns the delay to apply in ms. */
  private admit(n: number): number {
    if (this.state !== 'running') {
      this.rejected.GATECTL_VINEQUEUE_CLOSED += n;
      throw new VineQueueClosedError();
    }
    if (this.breaker !== null && this.config.breakerFailFast && this.breaker.state === 'open') {
      this.rejected.GATECTL_CIRCUIT_OPEN += n;
      throw new CircuitOpenError(`circuit breaker is open after ${this.config.breakerFailureThreshold} consecutive failed sends; retry in ${this.breaker.msUntilProbe()} ms`);
    }
    if (!this.config.enableBackpressure) return 0;
    const depth = this.memSize + this.spilled;
    const thr = this.config.backpressureThreshold;
    if (depth < thr) {
      this.backoffMs = 0;
      return 0;
    }
    const span = Math.max(1, this.config.memoryQueueSize - thr);
    this.backoffMs = Math.max(1, Math.min(this.config.backpressureMaxDelayMs, Math.ceil((this.config.backpressureMaxDelayMs * (depth - thr + 1)) / span)));
    if (this.config.backpressureMode === 'reject') {
      this.rejected.GATECTL_BACKPRESSURE += n;
      throw new BackpressureError(`backpressure active: queue depth ${depth} items is at or above the threshold ${thr}; slow down and retry in ${this.backoffMs} ms`, this.backoffMs);
    }
    return this.backoffMs;
  }

  private full(n: number): VineQueueFullError {
    this.rejected.GATECTL_VINEQUEUE_FULL += n;
    return new VineQueueFullError(this.wal === null
      ? `queue is full: ${this.memSize} items in memory (memoryQueueSize ${this.config.memoryQueueSize}) and the WAL is off; raise memoryQueueSize, turn enableWal on, or slow down`
      : `queue is full: memory holds ${this.memSize} items and the WAL is at ${this.wal.sizeBytes} of walMaxBytes ${this.config.walMaxBytes} bytes; raise walMaxBytes or check the sink`);
  }

  /**
   * Accepts one item. Resolves once the item is in memory and, with the WAL on, written to the WAL
   * (fdatasync'ed too when walFsync is `always`). With backpressure in `delay` mode it first waits
   * BackoffMs.
   * @throws VineQueueClosedError (not started / stopping), CircuitOpenError (breaker open and breakerFailFast),
   *         BackpressureError (above the threshold in `reject` mode), VineQueueFullError (memory full and no
   *         room in the WAL), TypeError (item not JSON-serialisable, WAL on), fs errors of the WAL write.
   */
  async enqueue(item: T): Promise<void> {
    const delay = this.admit(1);
    if (delay > 0) {
      await sleep(delay);
      if (this.state !== 'running') { this.rejected.GATECTL_VINEQUEUE_CLOSED++; throw new VineQueueClosedError(); }
    }
    const wal = this.wal;
    if (wal === null) {
      if (this.memSize >= this.config.memoryQueueSize) throw this.full(1);
      this.enqueued++;
      if (this.mutex !== null) await this.mutex.runExclusive(() => this.pushV1(item, null));
      else this.push(item, null);
      return;
    }
    const rec = wal.encode(item);
    if (this.spilling || this.memSize >= this.config.memoryQueueSize) {
      if (wal.wouldExceed(rec.length, this.config.walMaxBytes)) throw this.full(1);
      this.startSpill();
      const { written } = wal.append(rec);
      this.spilled++;
      this.enqueued++;
      return written;
    }
    const { seg, written } = wal.append(rec);
    this.enqueued++;
    this.lastWritten = written;
    if (this.mutex !== null) await this.mutex.runExclusive(() => this.pushV1(item, seg));
    else this.push(item, seg);
    return written;
  }

  /**
   * Accepts several items (seed 002 "批量入队 EnqueueBatch"). v2: one admission check and one WAL group
   * for all; without the WAL it is all-or-nothing (VineQueueFullError when they do not all fit). v1: a loop
   * of enqueue. Resolves like enqueue, once all are accepted. Throws like enqueue.
   */
  async enqueueBatch(items: readonly T[]): Promise<void> {
    if (!this.v2) {
      for (const it of items) await this.enqueue(it);
      return;
    }
    if (items.length === 0) return;
    const delay = this.admit(items.length);
    if (delay > 0) {
      await sleep(delay);
      if (this.state !== 'running') { this.rejected.GATECTL_VINEQUEUE_CLOSED += items.length; throw new VineQueueClosedError(); }
    }
    const wal = this.wal;
    if (wal === null) {
      if (this.memSize + items.length > this.config.memoryQueueSize) throw this.full(items.length);
      this.enqueued += items.length;
      for (const it of items) this.push(it, null);
      return;
    }
    const recs = items.map((it) => wal.encode(it));
    let bytes = 0;
    let room = this.spilling ? 0 : Math.max(0, this.config.memoryQueueSize - this.memSize);
    for (let i = room; i < recs.length; i++) bytes += recs[i]!.length;
    if (bytes > 0 && wal.wouldExceed(bytes, this.config.walMaxBytes)) throw this.full(items.length);
    let written: Promise<void> = Promise.resolve();
    for (let i = 0; i < items.length; i++) {
      if (room > 0 && !this.spilling) {
        room--;
        const r = wal.append(recs[i]!);
        this.lastWritten = r.written;
        this.push(items[i]!, r.seg);
        written = r.written;
      } else {
        this.startSpill();
        written = wal.append(recs[i]!).written;
        this.spilled++;
      }
    }
    this.enqueued += items.length;
    return written;
  }

  private startSpill(): void {
    if (this.spilling) return;
    this.spilling = true;
    this.wal!.markSpillStart();
    // After the caller's append (synchronous, right after this), so the cursor is behind the head.
    queueMicrotask(() => { void this.refill(); });
  }

  /** v2: push into the primary buffer; swap it out as a batch at batchSize. */
  private push(item: T, seg: Segment | null): void {
    if (this.buf.length === 0) this.armFlushTimer();
    this.buf.push(item);
    if (seg !== null) this.bufSegs!.push(seg);
    this.memSize++;
    if (this.buf.length >= this.config.batchSize) this.cutV2();
  }

  /** v1: push into the FIFO (called under the mutex); the processor loop takes batches. */
  private pushV1(item: T, seg: Segment | null): void {
    if (this.buf.length === 0) this.armFlushTimer();
    this.buf.push(item);
    if (seg !== null) this.bufSegs!.push(seg);
    this.memSize++;
    if (this.buf.length >= this.config.batchSize) void this.processV1(false);
  }

  private armFlushTimer(): void {
    if (this.flushTimer !== null) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      this.cutPartial();
    }, this.config.flushIntervalMs);
  }

  /** Sends whatever is buffered now, below batchSize (interval expired, or stopping). */
  private cutPartial(): void {
    if (this.buf.length === 0) return;
    if (this.v2) this.cutV2();
    else void this.processV1(true);
  }

  /** v2: the primary buffer becomes the batch (no copy); a recycled empty array becomes primary. */
  private cutV2(): void {
    if (this.flushTimer !== null) { clearTimeout(this.flushTimer); this.flushTimer = null; }
    const batch: Batch<T> = { items: this.buf, segs: this.bufSegs, attempts: 0, payload: null, written: this.lastWritten };
    this.buf = this.freeArrays.pop() ?? [];
    this.bufSegs = this.wal === null ? null : [];
    this.toPrepare.push(batch);
    this.pump();
  }

  /** v1: one processor; under the lock, moves up to batchSize items one by one into a new array. */
  private async processV1(force: boolean): Promise<void> {
    if (this.v1Processing) return;
    this.v1Processing = true;
    try {
      while (this.buf.length >= this.config.batchSize || (force && this.buf.length > 0)) {
        const batch = await this.mutex!.runExclusive(() => {
          const n = Math.min(this.config.batchSize, this.buf.length);
          const items: T[] = [];
          const segs: Segment[] | null = this.bufSegs === null ? null : [];
          for (let i = 0; i < n; i++) {
            items.push(this.buf.shift()!);
            if (segs !== null) segs.push(this.bufSegs!.shift()!);
          }
          if (this.buf.length === 0 && this.flushTimer !== null) { clearTimeout(this.flushTimer); this.flushTimer = null; }
          return { items, segs, attempts: 0, payload: null, written: this.lastWritten } as Batch<T>;
        });
        this.toPrepare.push(batch);
        this.pump();
      }
      if (this.buf.length > 0) this.armFlushTimer();
    } finally {
      this.v1Processing = false;
    }
  }

  /** Moves batches through the processor pool and the sender pool, within their sizes and the breaker. */
  private pump(): void {
    if (this.halted) return;
    while (this.preparing < this.config.processorPoolSize && this.toPrepare.length > 0) {
      const b = this.toPrepare.shift()!;
      if (this.sink.prepare === undefined) {
        b.payload = b.items;
        this.toSend.push(b);
      } else {
        this.preparing++;
        void this.prepare(b);
      }
    }
    while (this.sending < this.config.senderPoolSize && this.toSend.length > 0) {
      if (this.breaker !== null && !this.breaker.tryAcquire()) {
        this.armBreakerTimer();
        break;
      }
      const b = this.toSend.shift()!;
      this.sending++;
      void this.sendOne(b);
    }
  }

  private armBreakerTimer(): void {
    if (this.breakerTimer !== null || this.breaker === null) return;
    const ms = this.breaker.msUntilProbe();
    if (ms <= 0) return; // half-open with a probe out: its settlement pumps again
    this.breakerTimer = setTimeout(() => { this.breakerTimer = null; this.pump(); }, ms);
  }

  private async prepare(b: Batch<T>): Promise<void> {
    try {
      b.payload = await this.sink.prepare!(b.items);
      this.toSend.push(b);
    } catch {
      this.errors++;
      this.dropped += b.items.length;
      this.finish(b);
    } finally {
      this.preparing--;
      this.pump();
    }
  }

  private async sendOne(b: Batch<T>): Promise<void> {
    if (b.written !== null) {
      // write-ahead: the sink never sees an item the WAL does not hold yet (a crash in between would
      // deliver it without a record to replay or acknowledge); a failed write rejected its enqueue
      await b.written.catch(() => undefined);
      b.written = null;
    }
    const ac = new AbortController();
    const timeoutMs = this.config.sendTimeoutMs;
    const timer = timeoutMs > 0 ? setTimeout(() => ac.abort(new SinkError(`send timed out: the sink did not acknowledge within sendTimeoutMs ${timeoutMs} ms`)), timeoutMs) : null;
    this.inflight.add(ac);
    const t0 = performance.now();
    let ok = false;
    try {
      const p = this.sink.send(b.payload, { signal: ac.signal, attempt: b.attempts });
      // A hanging sink that ignores the signal still counts as failed at the timeout.
      await (timer === null ? p : Promise.race([p, new Promise<never>((_, reject) => {
        ac.signal.addEventListener('abort', () => reject(ac.signal.reason), { once: true });
      })]));
      ok = true;
    } catch {
      ok = false;
    } finally {
      if (timer !== null) clearTimeout(timer);
      this.inflight.delete(ac);
      this.sending--;
    }
    if (this.halted) return;
    if (ok) {
      this.sendMsSum += performance.now() - t0;
      this.sent += b.items.length;
      this.batches++;
      this.breaker?.onSuccess();
      this.finish(b);
    } else {
      this.errors++;
      this.breaker?.onFailure();
      b.attempts++;
      if (this.wal === null && b.attempts > this.config.maxRetries) {
        this.dropped += b.items.length;
        this.finish(b);
      } else {
        this.retries++;
        const base = Math.min(this.config.retryMaxMs, this.config.retryBaseMs * 2 ** Math.min(30, b.attempts - 1));
        const delay = Math.max(0, Math.round(base * (1 + this.config.retryJitter * (2 * Math.random() - 1))));
        const t = setTimeout(() => {
          this.retryTimers.delete(t);
          this.toSend.unshift(b);
          this.pump();
        }, delay);
        this.retryTimers.add(t);
      }
    }
    this.pump();
  }

  /** A batch is done (acknowledged or given up): release memory, WAL records, and the array. */
  private finish(b: Batch<T>): void {
    this.memSize -= b.items.length;
    if (b.segs !== null && this.wal !== null) {
      const segs = b.segs;
      let i = 0;
      while (i < segs.length) {
        const s = segs[i]!;
        let n = 0;
        while (i < segs.length && segs[i] === s) { n++; i++; }
        this.wal.ack(s, n);
      }
    }
    if (this.v2 && this.freeArrays.length < ARRAY_POOL_MAX) {
      b.items.length = 0;
      this.freeArrays.push(b.items);
    }
    if (this.spilling) void this.refill();
  }

  /** Reads the WAL backlog (recovered records first, then overflow) into memory as room allows. */
  private async refill(): Promise<void> {
    const wal = this.wal;
    if (this.refilling || wal === null) return;
    this.refilling = true;
    try {
      while (!this.halted && this.state !== 'stopped') {
        if (this.recovering && !wal.cursorInRecovered()) {
          // every recovered record is in memory: send the last partial batch now, not a flush interval later
          this.recovering = false;
          this.cutPartial();
        }
        if (wal.caughtUp()) {
          this.spilling = false;
          this.spilled = 0;
          break;
        }
        const room = this.config.memoryQueueSize - this.memSize;
        if (room <= 0) break; // finish() calls again when a batch is done
        const r = await wal.read<T>(Math.min(room, this.config.batchSize));
        if (r.items.length === 0) {
          await Promise.race([wal.waitFlush(), sleep(5)]);
          continue;
        }
        this.spilled = Math.max(0, this.spilled - (r.items.length - r.recovered));
        if (this.mutex !== null) {
          await this.mutex.runExclusive(() => { for (let i = 0; i < r.items.length; i++) this.pushV1(r.items[i]!, r.segs[i]!); });
        } else {
          for (let i = 0; i < r.items.length; i++) this.push(r.items[i]!, r.segs[i]!);
        }
        if (this.state === 'stopping') this.cutPartial();
      }
    } finally {
      this.refilling = false;
    }
  }

  /** Seed 002 GetMetrics(): a snapshot of the counters and gauges (a new object each call). */
  getMetrics(): VineMetrics {
    return {
      enqueued_total: this.enqueued,
      sent_total: this.sent,
      errors_total: this.errors,
      dropped_total: this.dropped,
      batches_sent_total: this.batches,
      memory_queue_size: this.memSize,
      wal_size: this.wal?.sizeBytes ?? 0,
      avg_send_latency_ms: this.batches === 0 ? 0 : this.sendMsSum / this.batches,
      circuit_state: this.breaker?.state ?? 'closed',
      backoff_ms: this.config.enableBackpressure && this.memSize + this.spilled >= this.config.backpressureThreshold ? this.backoffMs : 0,
      rejected_total: { ...this.rejected },
      retries_total: this.retries,
      breaker_opens_total: this.breaker?.opens ?? 0,
      wal_backlog: this.spilled,
      wal_recovered_total: this.wal?.counters.recovered ?? 0,
      wal_corrupt_records_total: this.wal?.counters.corrupt ?? 0,
      wal_segments: this.wal?.segmentCount ?? 0,
    };
  }

  /**
   * When the oldest live WAL segment was created, ms since the epoch (see Wal.oldestSegmentMs: 0
   * while a segment of an earlier process is on disk); null with the WAL off. A sink that remembers
   * what it acknowledged (e.g. ids for deduplication) can forget what it acknowledged before this
   * time, minus a margin for clock steps: no record still on disk was enqueued earlier.
   */
  walOldestSegmentMs(): number | null {
    return this.wal?.oldestSegmentMs() ?? null;
  }

  /** Segments of an earlier process still on disk (0 with the WAL off, or once recovery is done). */
  walRecoveringSegments(): number {
    return this.wal?.recoveredSegmentsLive ?? 0;
  }

  /**
   * Waits until recovery is complete — every record of an earlier process's WAL was read, delivered
   * to the sink and acknowledged (or skipped as corrupt), and its segment file deleted — or
   * `timeoutMs` (ms) passed. Resolves true when complete (immediately with nothing to recover or the
   * WAL off), false on timeout (recovery goes on in the background).
   */
  async whenRecovered(timeoutMs: number): Promise<boolean> {
    if (this.wal === null) return true;
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      this.wal.whenRecovered().then(() => true),
      new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs); }),
    ]);
    clearTimeout(timer);
    return done;
  }

  private idle(): boolean {
    return this.memSize === 0 && this.spilled === 0 && (this.wal === null || !this.wal.hasBacklog());
  }

  /**
   * Graceful stop (seed 002 "优雅关闭: 带超时的优雅停止"): refuses new items (VineQueueClosedError), sends
   * everything buffered (and the WAL backlog) until the sink acknowledged it or `timeoutMs` (default
   * 10000 ms) passed. Then aborts sends still in flight, closes the WAL — unacknowledged items stay in
   * it for the next start — and the sink. Without the WAL, unsent items are counted in dropped_total.
   * Calling it again returns the first result.
   */
  async stop(opts: { timeoutMs?: number } = {}): Promise<StopResult> {
    if (this.stopResult !== null) return this.stopResult;
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const wasNew = this.state === 'new';
    this.state = 'stopping';
    const deadline = performance.now() + timeoutMs;
    if (!wasNew) {
      this.cutPartial();
      void this.refill();
      while (!this.idle() && performance.now() < deadline) {
        this.cutPartial();
        if (this.spilling) void this.refill();
        await sleep(Math.min(10, Math.max(1, deadline - performance.now())));
      }
    }
    this.halted = true;
    const flushed = this.idle();
    for (const ac of this.inflight) ac.abort(new SinkError('send aborted: stop() timed out'));
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    if (this.breakerTimer !== null) clearTimeout(this.breakerTimer);
    const remaining = this.memSize + this.spilled;
    let persisted = 0;
    let dropped = 0;
    if (this.wal !== null) {
      persisted = remaining;
      await this.wal.close();
    } else {
      dropped = remaining;
      this.dropped += remaining;
    }
    await this.sink.close?.();
    this.state = 'stopped';
    this.stopResult = { flushed, remaining, persisted, dropped };
    return this.stopResult;
  }
}

/**
 * Seed 002 `New(config, sendFunc)`: a queue with `config` (defaultConfig() = V1, v2Config() = V2)
 * delivering to `send` — a function `(items, {signal, attempt}) => Promise<void>` or a Sink object
 * (e.g. createHttpSink). Call `start()` next.
 * @throws InvalidInputError when a config field is out of range (the message names it).
 */
export function create<T = unknown>(config: VineQueueConfig, send: SendFn<T> | Sink<T>): VineQueue<T> {
  return new VineQueue<T>(config, send);
}
