/**
 * Saturation as a verdict (issue 14 §3): did the target keep up with the load it was offered? A
 * side that served less than 95% of the offered arrival rate, whose backlog grew through the steady
 * phase (every second of its last quarter above every second of its first), that dropped arrivals
 * at `--max-in-flight` or whose processor shed requests with 503 is `saturated`: its e2e latency is then mostly queueing time (the wait behind the backlog, wrk2's
 * and Gil Tene's "coordinated omission" point: an open-model latency of an overloaded system grows
 * with the length of the run, not with the system's speed) and says nothing about the design.
 * Pure: reads a RunResult only.
 */
import type { RunResult, StageResult } from './result.js';

/** A side served less than this share of the offered rate → saturated. */
export const SERVED_RATIO_MIN = 0.95;
/** Backlog growth (in seconds of arrivals, Little's law) that always counts as growth, s: 50 ms. */
export const BACKLOG_GROWTH_MIN_S = 0.05;

/** The verdict for one run (one side of one round). */
export interface SaturationVerdict {
  /** false when the run cannot be judged (closed model: its offered rate follows the served rate) */
  judged: boolean;
  saturated: boolean;
  /** open model: arrivals per second the schedule offered over the recorded steady seconds, /s; null when unknown */
  offered_per_s: number | null;
  /** requests per second the generator sent: offered × (requests sent ÷ the schedule's arrivals), /s */
  sent_per_s: number | null;
  /**
   * requests per second answered (BusinessResponse or ErrorResponse) during the steady phase:
   * offered × served_ratio, /s (answered ÷ steady seconds when the offered rate is unknown)
   */
  served_per_s: number | null;
  /**
   * BusinessResponses per second during the steady phase, computed like served_per_s (answers that
   * came in the drain after the steady phase are not counted), /s
   */
  responses_per_s: number | null;
  /** share of the offered arrivals answered in the steady phase: (answered ÷ sent, per-second ticks) × (sent ÷ offered, whole run), at most 1 */
  served_ratio: number | null;
  /**
   * client backlog (requests sent and not yet answered) as seconds of arrivals (backlog ÷ offered
   * rate: Little's law's waiting time): the largest of the first quarter of the steady seconds (the
   * first second skipped as warm-up) and the smallest of the last quarter, s; in requests when the
   * offered rate is unknown. Growth = end − start above 50 ms (10 requests) is saturation.
   */
  backlog_start: number | null;
  backlog_end: number | null;
  /** `s` (seconds of arrivals) or `requests` */
  backlog_unit: 's' | 'requests';
  /** why it is saturated, or why it could not be judged; empty when it kept up */
  reasons: string[];
}

/** Arrivals the open-model schedule offers in [0, tS] seconds of the steady phase (piecewise-linear rates). */
function offeredArrivals(stages: readonly StageResult[], tS: number): number {
  let sum = 0;
  const t = tS * 1000;
  for (const g of stages) {
    const a = g.start_ms;
    const b = Math.min(g.end_ms, t);
    if (b <= a) continue;
    const len = g.end_ms - g.start_ms;
    const rateAt = (x: number) => g.rate_from + (len === 0 ? 0 : ((g.rate_to - g.rate_from) * (x - a)) / len);
    sum += ((rateAt(a) + rateAt(b)) / 2) * ((b - a) / 1000);
  }
  return sum;
}

/** The offered rate (/s) at second `t_s` of the schedule (mid-second), or null. */
function rateAt(run: RunResult, tS: number): number | null {
  const stages = run.stages;
  if (stages !== undefined && stages.length > 0) return offeredArrivals(stages, tS) - offeredArrivals(stages, tS - 1);
  const r = run.config.rate_per_s;
  return typeof r === 'number' && r > 0 ? r : null;
}

/**
 * Judges one run. Uses the run's time series (requests, responses and errors per second of the
 * steady phase), its schedule (`stages`, or `config.rate_per_s` for results written before
 * stages), `client.dropped_iterations` and the processor's `rejected_503`. A run with no time
 * series is judged on dropped iterations and 503s only.
 */
export function judgeSaturation(run: RunResult): SaturationVerdict {
  const out: SaturationVerdict = {
    judged: true, saturated: false, offered_per_s: null, sent_per_s: null, served_per_s: null, responses_per_s: null, served_ratio: null,
    backlog_start: null, backlog_end: null, backlog_unit: 'requests', reasons: [],
  };
  if (run.config.model === 'closed') {
    out.judged = false;
    if (run.timeseries.length > 0) out.responses_per_s = run.timeseries.reduce((a, p) => a + p.responses, 0) / run.timeseries[run.timeseries.length - 1]!.t_s;
    out.reasons.push('closed model: the offered rate follows the served rate, so it cannot outrun the target');
    return out;
  }
  const series = run.timeseries;
  const T = series.length > 0 ? series[series.length - 1]!.t_s : 0;
  if (T > 0) {
    // answered ÷ sent over the same per-second ticks: a tick can cover more than 1 s when the
    // generator's event loop stalls, so counts are compared within the ticks, never with the clock
    const answered = series.reduce((a, p) => a + p.responses + p.errors, 0);
    const sent = series.reduce((a, p) => a + p.requests, 0);
    const offered = run.stages !== undefined && run.stages.length > 0 ? offeredArrivals(run.stages, T) / T : rateAt(run, T);
    out.offered_per_s = offered;
    const ok = series.reduce((a, p) => a + p.responses, 0);
    const keptPace = sent === 0 ? 0 : answered / sent;
    if (offered !== null && offered > 0) {
      // the generator's own pace over the whole run: every arrival of the schedule, sent or dropped
      const planned = run.stages !== undefined && run.stages.length > 0 ? offeredArrivals(run.stages, run.steady_s) : offered * run.steady_s;
      const sentShare = planned > 0 ? Math.min(1, run.client.requests_sent / planned) : 1;
      out.sent_per_s = offered * sentShare;
      out.served_ratio = Math.min(1, keptPace) * sentShare;
      out.served_per_s = offered * out.served_ratio;
      out.responses_per_s = offered * sentShare * (sent === 0 ? 0 : Math.min(1, ok / sent));
      if (out.served_ratio < SERVED_RATIO_MIN) {
        out.reasons.push(`served ${out.served_per_s.toFixed(1)}/s of the ${offered.toFixed(1)}/s offered (${(out.served_ratio * 100).toFixed(1)}% < ${SERVED_RATIO_MIN * 100}%)` +
          (sentShare < SERVED_RATIO_MIN ? `; the generator itself sent only ${out.sent_per_s.toFixed(1)}/s` : ''));
      }
    } else {
      out.served_per_s = answered / T;
      out.responses_per_s = ok / T;
      out.sent_per_s = sent / T;
    }
    // backlog per second: cumulative sent − cumulative answered, in seconds of arrivals when the rate is known
    const rates = series.map((p) => rateAt(run, p.t_s));
    const unit: 's' | 'requests' = rates.every((r) => r !== null && r > 0) ? 's' : 'requests';
    let inFlight = 0;
    const backlog = series.map((p, i) => {
      inFlight += p.requests - p.responses - p.errors;
      return unit === 's' ? Math.max(0, inFlight) / rates[i]! : Math.max(0, inFlight);
    });
    out.backlog_unit = unit;
    const steady = backlog.slice(1);
    const q = Math.floor(steady.length / 4);
    if (q >= 1) {
      // grew *through* the phase: every second of the last quarter above every second of the first,
      // by more than the floor (a bump or a noisy backlog that falls back does not count)
      const start = Math.max(...steady.slice(0, q));
      const end = Math.min(...steady.slice(-q));
      out.backlog_start = start;
      out.backlog_end = end;
      const floor = unit === 's' ? BACKLOG_GROWTH_MIN_S : 10;
      if (end - start > floor) {
        const fmt = (v: number) => (unit === 's' ? `${(v * 1000).toFixed(0)} ms of arrivals` : `${v.toFixed(0)} requests`);
        out.reasons.push(`backlog grew through the steady phase: at most ${fmt(start)} in its first quarter, at least ${fmt(end)} in its last`);
      }
    }
  }
  const dropped = run.client.dropped_iterations ?? 0;
  if (dropped > 0) out.reasons.push(`${dropped} arrivals dropped at --max-in-flight ${String(run.config.max_in_flight)}`);
  const shed = Number((run.server?.processor as { rejected_503?: unknown } | null | undefined)?.rejected_503 ?? 0);
  if (shed > 0) out.reasons.push(`the processor shed ${shed} requests with 503 (queue full)`);
  out.saturated = out.reasons.length > 0;
  return out;
}
