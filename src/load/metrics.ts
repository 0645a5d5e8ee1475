/**
 * Counters and histograms shared by all load clients of one run (one set per generator thread).
 * Histograms come from the metrics factory and record µs.
 */
import { createHistogram, recordUs, type Histogram } from '../metrics/histogram.js';
import type { ViolationCounts } from '../metrics/result.js';

/** Mutable run-wide client metrics. */
export class ClientMetrics {
  readonly e2e: Histogram = createHistogram();
  /** e2e of the current second, reset each tick (for the time series and progress line) */
  readonly e2eInterval: Histogram = createHistogram();
  readonly connect: Histogram = createHistogram();
  readonly scheduleLag: Histogram = createHistogram();
  readonly violations: ViolationCounts = { reorders: 0, gaps: 0, duplicates: 0, notify_order_violations: 0 };
  readonly errorsByCode: Record<string, number> = {};
  readonly transportErrors: Record<string, number> = {};
  requestsSent = 0;
  responses = 0;
  notifies = 0;
  errors = 0;
  /** true once the steady phase ended: late responses are still counted, but not in the time series */
  recording = true;

  /** A request left; `lagMs` = actual - scheduled send time, ms. */
  requestSent(lagMs: number): void {
    this.requestsSent++;
    recordUs(this.scheduleLag, lagMs * 1000);
  }

  /** A response arrived `ms` ms after its scheduled send time. */
  response(ms: number): void {
    this.responses++;
    recordUs(this.e2e, ms * 1000);
    recordUs(this.e2eInterval, ms * 1000);
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
