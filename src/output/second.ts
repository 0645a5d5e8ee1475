/**
 * The per-second record of the live outputs (NDJSON, CSV, dashboard), made from the load run's
 * once-a-second progress tick (load/run.ts ProgressTick), and the final record that makes the
 * seconds add up to the result's totals.
 *
 * Counts are per second (the tick's difference to the previous tick); latencies are µs, of the
 * responses received (e2e) or requests sent (schedule lag) in that second. The seconds cover the
 * whole run (connecting, steady, draining), so their sums are the run's totals except for what
 * happened after the last tick; `tailSecond` adds that remainder from the result.
 */
import type { RunResult } from '../metrics/result.js';
import type { ProgressTick } from '../metrics/progress.js';
import { createHistogram, decodeHistogram, type Histogram } from '../metrics/histogram.js';
import { totalErrors } from '../metrics/compare.js';
import { statKey, type LatencyStat } from '../report/percentiles.js';


/** One second of a run (or the `end` remainder), as written to NDJSON and CSV. */
export interface LiveSecond {
  type: 'second';
  /** wall-clock time of the tick, ISO 8601 */
  time: string;
  /** `end`: what the run counted after the last tick (from the result), so the seconds add up */
  phase: 'connecting' | 'steady' | 'draining' | 'end';
  /** seconds since the phase began (connecting: since the first dial; steady, draining: since the steady start) */
  elapsed_s: number;
  connected: number;
  clients: number;
  /** requests sent, responses and errors (error responses + transport errors) in this second */
  requests: number;
  responses: number;
  errors: number;
  /** protocol violations seen in this second */
  violations: number;
  /** e2e statistics of this second's responses, µs, keys `e2e_p50_us`, `e2e_p95_us`, `e2e_max_us`, … (0 with no response) */
  [e2eStat: `e2e_${string}`]: number;
  /** schedule lag p99 of this second's requests, µs */
  schedule_lag_p99_us: number;
}

/** Column order of the CSV output for `stats`. */
export function secondColumns(stats: readonly LatencyStat[]): string[] {
  return ['time', 'phase', 'elapsed_s', 'connected', 'clients', 'requests', 'responses', 'errors', 'violations',
    ...e2eKeys(stats), 'schedule_lag_p99_us'];
}

/** `e2e_<stat>` keys: always p50 and p99, then the other `--percentiles` in their order. */
function e2eKeys(stats: readonly LatencyStat[]): string[] {
  return [...new Set(['e2e_p50_us', 'e2e_p99_us', ...stats.map((s) => `e2e_${statKey(s)}`)])];
}

/** Turns ticks into LiveSeconds, keeping the running sums `tailSecond` needs. */
export class SecondBuilder {
  private lastErrors = 0;
  private lastViolations = 0;
  /** sums of the seconds built so far */
  readonly sums = { requests: 0, responses: 0, errors: 0, violations: 0 };
  /** e2e of every tick so far (µs), to tell the `end` second's latencies from the result's total */
  private readonly seen = createHistogram();

  constructor(private readonly stats: readonly LatencyStat[]) {}

  /** The LiveSecond of `t` (latency statistics read from its histogram, µs). */
  fromTick(t: ProgressTick, now = new Date()): LiveSecond {
    this.seen.add(t.e2e);
    const out: Record<string, unknown> = {
      type: 'second', time: now.toISOString(), phase: t.phase, elapsed_s: t.elapsed_s, connected: t.connected, clients: t.clients,
      requests: t.requests_per_s, responses: t.responses_per_s, errors: t.errors - this.lastErrors, violations: t.violations - this.lastViolations,
      e2e_p50_us: t.e2e_p50_us, e2e_p99_us: t.e2e_p99_us,
    };
    this.e2eStats(out, t.e2e);
    out.schedule_lag_p99_us = t.schedule_lag_p99_us;
    this.lastErrors = t.errors;
    this.lastViolations = t.violations;
    this.add(out as unknown as LiveSecond);
    return out as unknown as LiveSecond;
  }

  /** Sets `e2e_<stat>_us` of `out` for every statistic not yet set, from `h` (0 when it is empty). */
  private e2eStats(out: Record<string, unknown>, h: Histogram): void {
    const has = h.totalCount > 0;
    for (const s of this.stats) {
      const key = `e2e_${statKey(s)}`;
      if (key in out) continue;
      out[key] = !has ? 0 : s.kind === 'percentile' ? h.getValueAtPercentile(s.p) : s.kind === 'min' ? h.getValueAtPercentile(0) : s.kind === 'max' ? h.maxValue : Math.round(h.mean * 10) / 10;
    }
  }

  /**
   * The remainder after the last tick: the result's totals (requests sent, responses, error
   * responses + transport errors, violations) minus the seconds' sums, as a second with phase `end`.
   * With it the seconds add up to the result exactly. Its e2e statistics are those of the
   * remaining responses (the result's e2e histogram minus the ticks'; 0 when there are none or the
   * two do not agree); its schedule lag is 0 (the ticks carry only its p99, not a histogram).
   */
  tailSecond(r: RunResult, now = new Date()): LiveSecond {
    const c = r.client;
    const v = c.violations;
    const errors = totalErrors(r) - c.unanswered - c.connect_failures - c.hello_failures;
    const out: Record<string, unknown> = {
      type: 'second', time: now.toISOString(), phase: 'end', elapsed_s: Math.round(r.steady_s), connected: c.connected, clients: c.clients,
      requests: c.requests_sent - this.sums.requests, responses: c.responses - this.sums.responses, errors: errors - this.sums.errors,
      violations: v.reorders + v.gaps + v.duplicates + v.notify_order_violations - this.sums.violations,
    };
    const rest = decodeHistogram(c.latency.e2e.histogram);
    rest.subtract(this.seen);
    const agree = rest.totalCount === out.responses && rest.totalCount > 0;
    out.e2e_p50_us = agree ? rest.getValueAtPercentile(50) : 0;
    out.e2e_p99_us = agree ? rest.getValueAtPercentile(99) : 0;
    this.e2eStats(out, agree ? rest : createHistogram());
    out.schedule_lag_p99_us = 0;
    this.add(out as unknown as LiveSecond);
    return out as unknown as LiveSecond;
  }

  private add(s: LiveSecond): void {
    this.sums.requests += s.requests;
    this.sums.responses += s.responses;
    this.sums.errors += s.errors;
    this.sums.violations += s.violations;
  }
}
