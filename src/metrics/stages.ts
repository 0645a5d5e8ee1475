/**
 * Server stage recorder (DESIGN §5; stage names from seed 001 "时延分布数据"). One µs histogram per
 * stage, created by the histogram factory; `snapshot()` encodes them for transport to the load
 * generator or the monitor.
 */
import { createHistogram, encodeLatency, recordUs, type EncodedLatency, type Histogram } from './histogram.js';

/** Names of the server-side stages, in display order. */
export const SERVER_STAGES = [
  'enqueue_latency',        // enqueueMessages call (one request's group of pushes) to return
  'lock_wait',              // waiting for the queue lock
  'direct_send_latency',    // sendMessageDirectly: write + metrics update
  'write_message_latency',  // the transport write, awaited
  'metrics_update_latency', // SendQueueStats update after a write
  'send_queue_wait',        // async: task submitted to a send worker taking it
  'upstream_latency',       // upstream call
  'business_latency',       // request read to response enqueued
  'quota_check_latency',    // seed 003 CheckQuota (cache, or a store read on a miss)
  'quota_consume_latency',  // seed 003 consume: sync = the store write awaited; async = the channel publish
] as const;

/** One server stage name. */
export type ServerStage = (typeof SERVER_STAGES)[number];

/** Records stage durations in µs into one histogram per stage. */
export class StageRecorder {
  private readonly hists = new Map<ServerStage, Histogram>();

  constructor() {
    for (const s of SERVER_STAGES) this.hists.set(s, createHistogram());
  }

  /** Records `us` (µs) for `stage`. */
  record(stage: ServerStage, us: number): void {
    recordUs(this.hists.get(stage)!, us);
  }

  /** The live histogram of a stage (do not mutate). */
  histogram(stage: ServerStage): Histogram {
    return this.hists.get(stage)!;
  }

  /** Summaries and encoded histograms of every stage, keyed by stage name. */
  snapshot(): Record<ServerStage, EncodedLatency> {
    const out = {} as Record<ServerStage, EncodedLatency>;
    for (const s of SERVER_STAGES) out[s] = encodeLatency(this.hists.get(s)!);
    return out;
  }

  /** Clears every histogram. */
  reset(): void {
    for (const h of this.hists.values()) h.reset();
  }
}
