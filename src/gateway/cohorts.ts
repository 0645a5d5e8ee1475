/**
 * Client cohorts (issue 14 §6): the send-queue stages of sessions kept apart by the cohort their
 * client declared in Hello, so a run with slow readers can report the healthy sessions'
 * `enqueue_latency` and `lock_wait` apart from the slow sessions'. A load client declares its cohort
 * by ending Hello's `client_version` with ` cohort=NAME` (e.g. `gatectl/0.1 cohort=slow`); sessions
 * that declare none are in no cohort and only in the gateway's overall stages. Declaring a cohort
 * changes nothing in how the session is served: it only labels its measurements.
 */
import { StageRecorder, type ServerStage } from '../metrics/stages.js';
import type { EncodedLatency } from '../metrics/histogram.js';
import type { QueueStage, QueueStageSink } from '../queue/index.js';
import type { Cohort } from '../protocol/cohort.js';

export { COHORTS, cohortOf, type Cohort } from '../protocol/cohort.js';

/**
 * Per-cohort stage recorders. `sinkFor` gives the queue sink of a session in a cohort: it records
 * every stage (µs) both into the gateway's overall recorder and into the cohort's.
 */
export class CohortStages {
  private readonly recorders = new Map<Cohort, StageRecorder>();
  private readonly sinks = new Map<Cohort, QueueStageSink>();

  /** @param overall the gateway's StageRecorder (every session) */
  constructor(private readonly overall: StageRecorder) {}

  /** The sink of a session in `cohort` (one object per cohort, created on first use). */
  sinkFor(cohort: Cohort): QueueStageSink {
    let sink = this.sinks.get(cohort);
    if (sink === undefined) {
      const rec = new StageRecorder();
      this.recorders.set(cohort, rec);
      const overall = this.overall;
      sink = {
        record(stage: QueueStage, us: number): void {
          overall.record(stage, us);
          rec.record(stage, us);
        },
      };
      this.sinks.set(cohort, sink);
    }
    return sink;
  }

  /** Encoded queue-stage histograms (µs) of each cohort that has a session, or null when none has. */
  snapshot(): Partial<Record<Cohort, Partial<Record<ServerStage, EncodedLatency>>>> | null {
    if (this.recorders.size === 0) return null;
    const out: Partial<Record<Cohort, Partial<Record<ServerStage, EncodedLatency>>>> = {};
    for (const [cohort, rec] of this.recorders) out[cohort] = rec.snapshot();
    return out;
  }

  /** Clears every cohort's histograms (the start of the measured phase). */
  reset(): void {
    for (const rec of this.recorders.values()) rec.reset();
  }
}
