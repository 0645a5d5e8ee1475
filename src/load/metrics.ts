/**
 * Counters and histograms shared by all load clients of one run (one set per generator process).
 * Histograms come from the metrics factory and record µs.
 *
 * Each response's latency is recorded twice (corrected and uncorrected), each value into exactly
 * one histogram; the other views are exact merges (adding counts), never a second record:
 * - corrected e2e goes into the histogram of the current second; at each second (`takeIntervalE2e`)
 *   that histogram is added to the run's total, so the total (`e2eTotal`) is the sum of the seconds;
 * - with one schedule stage (every run without a scenario's stages), that stage's e2e is the total
 *   itself; with several, each response is recorded in its stage's histogram (by intended send time).
 */
import { createHistogram, mergeHistograms, recordUs, type Histogram } from '../metrics/histogram.js';
import type { ViolationCounts } from '../metrics/result.js';

/** Mutable run-wide client metrics. */
export class ClientMetrics {
  /** intended send time → response, µs, of the responses since the last `takeIntervalE2e` (the current second) */
  private readonly e2eInterval: Histogram = createHistogram();
  /** intended send time → response, µs, of the responses before the last `takeIntervalE2e` */
  private readonly e2eBefore: Histogram = createHistogram();
  /** actual send time → response, µs (what a closed-loop tool would report) */
  readonly e2eUncorrected: Histogram = createHistogram();
  readonly connect: Histogram = createHistogram();
  /** actual − intended send time, µs, of the requests sent since the last `takeIntervalScheduleLag` (the current second) */
  private readonly scheduleLagInterval: Histogram = createHistogram();
  /** actual − intended send time, µs, of the requests sent before the last `takeIntervalScheduleLag` */
  private readonly scheduleLagBefore: Histogram = createHistogram();
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
  /** sessions lost (issue 15): the peer closed them or was silent for the client idle timeout */
  disconnects = 0;
  /** requests in flight when their session was lost (never answered) */
  lostOnDisconnect = 0;
  /**
   * the part of lostOnDisconnect lost because the target was unreachable: the session went silent
   * (client idle timeout), or a reconnect could not dial it, or it was not back by the end
   */
  lostUnreachable = 0;
  /** sessions set up again after a loss (dial + Hello 200) */
  reconnects = 0;
  /** reconnect attempts that failed (dial, handshake timeout, Hello refused) */
  reconnectFailures = 0;
  /** open model: arrivals never sent because their client was disconnected (part of droppedIterations) */
  droppedDisconnected = 0;

  /** Per schedule stage (scenario stages): requests sent, by intended send time. */
  readonly stageSent: number[] = [];
  /** Per stage, when there are several: corrected e2e (µs), by intended send time (see `stageE2e`). */
  private readonly stageHistograms: Histogram[] = [];
  private stageEnds: number[] = [];
  private stageOrigin = 0;

  /** Empties the latency histograms of the steady phase (e2e, uncorrected, schedule lag; not connect). */
  resetLatency(): void {
    this.e2eInterval.reset();
    this.e2eBefore.reset();
    this.e2eUncorrected.reset();
    this.scheduleLagInterval.reset();
    this.scheduleLagBefore.reset();
  }

  /** actual − intended send time, µs, of every request since `resetLatency`: a new histogram (the sum of the seconds). */
  get scheduleLag(): Histogram {
    return mergeHistograms([this.scheduleLagBefore, this.scheduleLagInterval]);
  }

  /**
   * Ends the current second for the schedule lag: returns `encode(schedule lag of the requests sent
   * since the last call)` (µs) and adds those counts to the total, as `takeIntervalE2e` does for e2e.
   */
  takeIntervalScheduleLag(encode: (h: Histogram) => string): string {
    const encoded = encode(this.scheduleLagInterval);
    this.scheduleLagBefore.add(this.scheduleLagInterval);
    this.scheduleLagInterval.reset();
    return encoded;
  }

  /**
   * Starts per-stage accounting: `endsMs` are the stages' end times in ms after `origin`
   * (performance.now() ms of the steady start). Requests are assigned by intended send time.
   */
  beginStages(origin: number, endsMs: readonly number[]): void {
    this.stageOrigin = origin;
    this.stageEnds = [...endsMs];
    this.stageSent.length = 0;
    this.stageHistograms.length = 0;
    for (let i = 0; i < endsMs.length; i++) {
      this.stageSent.push(0);
      if (endsMs.length > 1) this.stageHistograms.push(createHistogram());
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
    recordUs(this.scheduleLagInterval, lagMs * 1000);
    const stages = this.stageEnds.length;
    if (stages === 1) this.stageSent[0]!++;
    else if (stages > 1) this.stageSent[this.stageOf(intended)]!++;
  }

  /**
   * A response to the request intended at `intended` arrived `ms` ms after that time and
   * `uncorrectedMs` ms after its actual send.
   */
  response(ms: number, uncorrectedMs: number, intended: number): void {
    this.responses++;
    recordUs(this.e2eInterval, ms * 1000);
    recordUs(this.e2eUncorrected, uncorrectedMs * 1000);
    if (this.stageEnds.length > 1) recordUs(this.stageHistograms[this.stageOf(intended)]!, ms * 1000);
  }

  /**
   * Ends the current second: returns `encode(e2e of the responses since the last call)` and adds
   * those counts to the total.
   */
  takeIntervalE2e(encode: (h: Histogram) => string): string {
    const encoded = encode(this.e2eInterval);
    this.e2eBefore.add(this.e2eInterval);
    this.e2eInterval.reset();
    return encoded;
  }

  /** Corrected e2e of every response since `resetLatency` (µs): a new histogram. */
  e2eTotal(): Histogram {
    return mergeHistograms([this.e2eBefore, this.e2eInterval]);
  }

  /** Corrected e2e (µs) of the responses to requests intended in stage `i` (of `beginStages`): a new histogram. */
  stageE2e(i: number): Histogram {
    return this.stageEnds.length > 1 ? mergeHistograms([this.stageHistograms[i]!]) : this.e2eTotal();
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
