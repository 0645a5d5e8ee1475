import type { WorkerStats } from './worker-pool.js';
/**
 * SendQueueStats (seed 000 核心结构体): counters of the ordered send path, shared by all sessions of
 * one gateway. Latencies are kept in ns as the seed's `AvgSendLatencyNs` / `MaxSendLatencyNs`.
 */

/** Snapshot of SendQueueStats, JSON-ready (snake_case keys as in seed 000). */
export interface SendQueueStatsSnapshot {
  total_enqueued: number;
  total_sent: number;
  total_failed: number;
  /** always 0: a full send queue falls back to a synchronous send instead of dropping */
  dropped_tasks: number;
  sync_fallbacks: number;
  /** frames still in a queue when their session closed (never sent, counted here, not dropped silently) */
  discarded_on_close: number;
  /** transport writes (a batch of coalesced frames is one write) */
  writes: number;
  /** mean duration of one transport write, in ns */
  avg_send_latency_ns: number;
  /** longest transport write, in ns */
  max_send_latency_ns: number;
  /** total_sent / (total_sent + total_failed), 1 when nothing was sent */
  success_rate: number;
  /** frames currently waiting out of order, over all sessions */
  waiting_frames: number;
  /** session drains waiting for a send worker */
  send_queue_length: number;
  /** mean of the workers' utilisation, 0..1 (0 in sync mode) */
  worker_utilisation: number;
  workers: WorkerStats[];
}

/** Mutable counters; the queue and the pool update them on the send path (no allocation). */
export class SendQueueStats {
  totalEnqueued = 0;
  totalSent = 0;
  totalFailed = 0;
  droppedTasks = 0;
  syncFallbacks = 0;
  discardedOnClose = 0;
  writes = 0;
  sendLatencySumNs = 0;
  maxSendLatencyNs = 0;
  waitingFrames = 0;

  /** Records one transport write of `frames` frames that took `ns` ns. */
  recordWrite(frames: number, ns: number): void {
    this.writes++;
    this.totalSent += frames;
    this.sendLatencySumNs += ns;
    if (ns > this.maxSendLatencyNs) this.maxSendLatencyNs = ns;
  }
}
