/**
 * Counters and histograms shared by all load clients of one run (one set per generator process).
 * Histograms come from the metrics factory and record µs.
 */
import { createHistogram, recordUs, type Histogram } from '../metrics/histogram.js';
import type { ViolationCounts } from '../metrics/result.js';

/** Mutable run-wide client metrics. */
export class ClientMetrics {
  /** intended send time → response, µs (coordinated-omission corrected) */
  readonly e2e: Histogram = createHistogram();
  /** actual send time → response, µs (what a closed-loop tool would report) */
  readonly e2eUncorrected: Histogram = createHistogram();
  /** e2e of the current second, reset each tick (for the time series and progress line) */
  readonly e2eInterval: Histogram = createHistogram();
  readonly connect: Histogram = createHistogram();
  readonly scheduleLag: Histogram = createHistogram();
  readonly violations: ViolationCounts = { reorders: 0, gaps: 0, duplicates: 0, notify_order_violations: 0 };
  readonly errorsByCode: Record<string, number> = {};
  readonly transportErrors: Record<string, number> = {};
  requestsSent = 0;
  responses = 0;
  /** notifies bound to a request (grid ≠ 0) */
  notifies = 0;
  /** server-initiated notifies (placement UNBOUND, grid 0) */
  unboundNotifies = 0;
  heartbeats = 0;
  /** open model: intended sends skipped because the client already had `maxInFlight` requests outstanding (k6 dropped_iterations) */
  droppedIterations = 0;
  errors = 0;

  /** Per schedule stage (scenario stages): requests sent and corrected e2e (µs), by intended send time. */
  readonly stageSent: number[] = [];
  readonly stageE2e: Histogram[] = [];
  private stageEnds: number[] = [];
  private stageOrigin = 0;

  /**
   * Starts per-stage accounting: `endsMs` are the stages' end times in ms after `origin`
   * (performance.now() ms of the steady start). Requests are assigned by intended send time.
   */
  beginStages(origin: number, endsMs: readonly number[]): void {
    this.stageOrigin = origin;
    this.stageEnds = [...endsMs];
    this.stageSent.length = 0;
    this.stageE2e.length = 0;
    for (let i = 0; i < endsMs.length; i++) {
      this.stageSent.push(0);
      this.stageE2e.push(createHistogram());
    }
  }

  private stageOf(intended: number): number {
    const t = intended - this.stageOrigin;
    const ends = this.stageEnds;
    for (let i = 0; i < ends.length; i++) if (t < ends[i]!) return i;
    return ends.length - 1;
  }

  /** A request intended at `intended` (performance.now() ms) left; `lagMs` = actual - intended send time, ms. */
  requestSent(lagMs: number, intended: number): void {
    this.requestsSent++;
    recordUs(this.scheduleLag, lagMs * 1000);
    if (this.stageEnds.length > 0) this.stageSent[this.stageOf(intended)]!++;
  }

  /**
   * A response to the request intended at `intended` arrived `ms` ms after that time and
   * `uncorrectedMs` ms after its actual send.
   */
  response(ms: number, uncorrectedMs: number, intended: number): void {
    this.responses++;
    recordUs(this.e2e, ms * 1000);
    recordUs(this.e2eUncorrected, uncorrectedMs * 1000);
    recordUs(this.e2eInterval, ms * 1000);
    if (this.stageEnds.length > 0) recordUs(this.stageE2e[this.stageOf(intended)]!, ms * 1000);
  }

  /** An ErrorResponse with `code` arrived. */
  errorResponse(code: number): void {
    this.errors++;
    this.errorsByCode[code] = (this.errorsByCode[code] ?? 0) + 1;
  }

  /** A connection-level failure of `kind`. */
  transportError(kind: string): void {
    this.errors++;
    this.transportErrors[kind] = (this.transportErrors[kind] ?? 0) + 1;
  }
}
