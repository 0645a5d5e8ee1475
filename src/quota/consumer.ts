/**
 * `QuotaConsumer` (seed 003 异步配额消费者): a bounded channel of QuotaUsageEvents (`channel_size`)
 * served by `worker_count` workers. Each worker collects up to `batch_size` events, writes a full
 * batch at once and a partial one every `flush_interval` (智能刷新机制); a batch is grouped by
 * (user, quota type, window) and applied as one increment per group in one store transaction
 * (批量数据库操作), retried `retry_attempts` times `retry_delay` apart (失败重试机制). A batch that
 * still fails is counted in `failed_events` and logged with its request ids, never silently dropped.
 *
 * The workers are async loops on the caller's event loop; the writes themselves run on the store's
 * worker thread (SqliteQuotaStore), so up to `worker_count` batches are in flight at once.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { createHistogram, recordUs, type Histogram } from '../metrics/histogram.js';
import { BoundedChannel, CLOSED, TIMEOUT } from './channel.js';
import type { QuotaConsumerConfig } from './config.js';
import type { QuotaStore } from './store.js';
import type { ConsumerStats, QuotaUsageEvent, UsageIncrement } from './types.js';

/** The logging the consumer needs (pino-compatible). */
export interface QuotaLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Default logger: pino, level `warn`, JSON lines on stderr. */
export function defaultQuotaLogger(): QuotaLogger {
  return pino({ name: 'gatectl.quota', level: 'warn' }, pino.destination(2));
}

/** Options of a QuotaConsumer. */
export interface QuotaConsumerOptions {
  config: QuotaConsumerConfig;
  store: QuotaStore;
  /** window length (ms) of a quota type; the event's window is floor(timestamp / window) * window */
  windowMsOf(quotaType: string): number;
  /** called after a batch is durable, with its increments (the service invalidates its cache here: 缓存失效) */
  onApplied?(incs: readonly UsageIncrement[]): void;
  logger?: QuotaLogger;
  /**
   * Health turns false when events are pending and no batch finished for this long (ms). Default:
   * 2 × flush_interval + (retry_attempts + 1) × retry_delay + 5000 ms.
   */
  stallAfterMs?: number;
}

/** Health of the consumer: `healthy` and, when not, why. */
export interface ConsumerHealth {
  healthy: boolean;
  /** human-readable reasons; empty when healthy */
  reasons: string[];
}

/** What `stop` flushed. */
export interface ConsumerStopResult {
  /** events durably written between the call and the end of the stop */
  flushed_events: number;
  /** events whose batch failed (after all retries) during the stop */
  failed_events: number;
  /** events still not written when the stop ended (0 unless it timed out) */
  remaining_events: number;
  /** true when `timeoutMs` passed before every worker finished */
  timed_out: boolean;
}

interface Envelope {
  ev: QuotaUsageEvent;
  /** window start, ms since the epoch */
  ws: number;
  /** performance.now() at publish, ms */
  t: number;
}

/** Seed 003 QuotaConsumer. Starts its workers on construction. */
export class QuotaConsumer {
  /** Lag from publish to durable write, µs (one value per event written by the consumer). */
  readonly lag: Histogram = createHistogram();
  private readonly channel: BoundedChannel<Envelope>;
  private readonly workers: Promise<void>[] = [];
  private readonly logger: QuotaLogger;
  private readonly stallAfterMs: number;
  private totalEvents = 0;
  private processedEvents = 0;
  private failedEvents = 0;
  private droppedEvents = 0;
  private batchCount = 0;
  private incrementCount = 0;
  private retryCount = 0;
  private inflight = 0;
  private lastBatchFailed = false;
  private lastProgressAt = performance.now();
  private lastBatchAt: number | null = null;
  private stopping = false;

  constructor(private readonly opts: QuotaConsumerOptions) {
    this.channel = new BoundedChannel<Envelope>(opts.config.channelSize);
    this.logger = opts.logger ?? defaultQuotaLogger();
    const c = opts.config;
    this.stallAfterMs = opts.stallAfterMs ?? 2 * c.flushIntervalMs + (c.retryAttempts + 1) * c.retryDelayMs + 5000;
    for (let i = 0; i < c.workerCount; i++) this.workers.push(this.runWorker());
  }

  /** The consumer settings in use. */
  get config(): QuotaConsumerConfig {
    return this.opts.config;
  }

  /**
   * Seed 003 `PublishEvent`: puts the (already validated) event on the channel without blocking.
   * Returns false and counts it in `dropped_events` when the channel is full or the consumer is
   * stopping; the caller then consumes it synchronously (降级机制).
   */
  publish(ev: QuotaUsageEvent): boolean {
    const w = this.opts.windowMsOf(ev.quota_type);
    const t = performance.now();
    if (!this.channel.trySend({ ev, ws: Math.floor(ev.timestamp / w) * w, t })) {
      this.droppedEvents++;
      return false;
    }
    if (this.pending === 0) this.lastProgressAt = t;
    this.totalEvents++;
    return true;
  }

  /** Events accepted but not yet written or failed (in the channel, in a worker's batch, or being written). */
  get pending(): number {
    return this.totalEvents - this.processedEvents - this.failedEvents;
  }

  /** Events buffered in the channel. */
  get channelLength(): number {
    return this.channel.length;
  }

  /** Channel capacity (`channel_size`). */
  get channelCapacity(): number {
    return this.channel.capacity;
  }

  /** Batches being written right now. */
  get inflightBatches(): number {
    return this.inflight;
  }

  /** ms since the last batch finished, or null before the first. */
  msSinceLastBatch(): number | null {
    return this.lastBatchAt === null ? null : performance.now() - this.lastBatchAt;
  }

  /** Seed 003 `GetStats`: a copy of the counters. */
  stats(): ConsumerStats {
    return {
      total_events: this.totalEvents,
      processed_events: this.processedEvents,
      failed_events: this.failedEvents,
      dropped_events: this.droppedEvents,
      batch_count: this.batchCount,
      increments: this.incrementCount,
      retries: this.retryCount,
    };
  }

  /**
   * Health with reasons. Unhealthy when: stopped; the store is down; the channel is ≥ 90 % full;
   * events are pending and no batch finished for `stallAfterMs` (stalled); the last batch failed.
   */
  health(): ConsumerHealth {
    const reasons: string[] = [];
    if (this.stopping) reasons.push('consumer stopped');
    if (!this.opts.store.alive) reasons.push(`quota store ${this.opts.store.path} is not available`);
    if (this.channel.length >= 0.9 * this.channel.capacity) reasons.push(`channel ${this.channel.length}/${this.channel.capacity} is at least 90% full`);
    const idleMs = performance.now() - this.lastProgressAt;
    if (this.pending > 0 && idleMs > this.stallAfterMs) {
      reasons.push(`stalled: ${this.pending} events pending and no batch finished for ${Math.round(idleMs)} ms (limit ${this.stallAfterMs} ms)`);
    }
    if (this.lastBatchFailed) reasons.push('the last batch failed after all retries');
    return { healthy: reasons.length === 0, reasons };
  }

  /** Seed 003 `IsHealthy`. */
  isHealthy(): boolean {
    return this.health().healthy;
  }

  /**
   * Closes the channel (later publishes return false), lets the workers write everything buffered,
   * then resolves with what was flushed; gives up waiting after `timeoutMs` (ms). Does not close the store.
   */
  async stop(timeoutMs: number): Promise<ConsumerStopResult> {
    const processed0 = this.processedEvents;
    const failed0 = this.failedEvents;
    this.stopping = true;
    this.channel.close();
    const ac = new AbortController();
    const timedOut = await Promise.race([
      Promise.all(this.workers).then(() => false),
      sleep(timeoutMs, true, { signal: ac.signal }).catch(() => false),
    ]);
    ac.abort();
    return {
      flushed_events: this.processedEvents - processed0,
      failed_events: this.failedEvents - failed0,
      remaining_events: this.pending,
      timed_out: timedOut,
    };
  }

  private async runWorker(): Promise<void> {
    const { batchSize, flushIntervalMs } = this.opts.config;
    let batch: Envelope[] = [];
    let nextFlush = performance.now() + flushIntervalMs;
    for (;;) {
      let item = this.channel.tryReceive();
      if (item === undefined) {
        const r = await this.channel.receive(nextFlush - performance.now());
        if (r === CLOSED) {
          if (batch.length > 0) await this.processBatch(batch);
          return;
        }
        if (r !== TIMEOUT) item = r;
      }
      if (item !== undefined) batch.push(item);
      const now = performance.now();
      const tick = now >= nextFlush;
      if (tick) nextFlush = now + flushIntervalMs;
      if (batch.length >= batchSize || (tick && batch.length > 0)) {
        const b = batch;
        batch = [];
        await this.processBatch(b);
      }
    }
  }

  /** Groups a batch into increments, writes them in one transaction with retries, updates stats. */
  private async processBatch(batch: Envelope[]): Promise<void> {
    this.inflight++;
    const incs: UsageIncrement[] = [];
    const byUser = new Map<string, UsageIncrement[]>();
    for (const { ev, ws } of batch) {
      let list = byUser.get(ev.user_id);
      if (list === undefined) byUser.set(ev.user_id, (list = []));
      let g: UsageIncrement | undefined;
      for (const x of list) if (x.quota_type === ev.quota_type && x.window_start === ws) { g = x; break; }
      if (g === undefined) {
        g = { user_id: ev.user_id, quota_type: ev.quota_type, window_start: ws, delta: ev.value };
        list.push(g);
        incs.push(g);
      } else {
        g.delta += ev.value;
      }
    }
    const { retryAttempts, retryDelayMs } = this.opts.config;
    let lastErr: unknown;
    let ok = false;
    for (let attempt = 0; attempt <= retryAttempts; attempt++) {
      try {
        await this.opts.store.apply(incs);
        ok = true;
        break;
      } catch (err) {
        lastErr = err;
        if (attempt < retryAttempts) {
          this.retryCount++;
          this.logger.warn({ attempt: attempt + 1, of: retryAttempts + 1, events: batch.length, err: (err as Error).message }, 'quota batch write failed; retrying');
          if (retryDelayMs > 0) await sleep(retryDelayMs);
        }
      }
    }
    const done = performance.now();
    this.batchCount++;
    this.inflight--;
    this.lastProgressAt = done;
    this.lastBatchAt = done;
    if (ok) {
      this.processedEvents += batch.length;
      this.incrementCount += incs.length;
      this.lastBatchFailed = false;
      for (const e of batch) recordUs(this.lag, (done - e.t) * 1000);
      this.opts.onApplied?.(incs);
    } else {
      this.failedEvents += batch.length;
      this.lastBatchFailed = true;
      this.logger.error({
        events: batch.length, attempts: retryAttempts + 1, err: (lastErr as Error)?.message,
        request_ids: batch.map((e) => e.ev.request_id), increments: incs,
      }, 'quota batch write failed after all retries; usage not recorded');
    }
  }
}
