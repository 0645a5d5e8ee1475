/**
 * Capacity search (issue 5 §6, `gatectl load --find-max`): the highest arrival rate the target
 * serves within an SLO. Open-model steps of `stepMs` each: the rate doubles from `startRate` until a
 * step breaks the SLO or the error budget (or `maxRate` is reached), then `refine` bisection steps
 * between the last rate that held and the first that broke. Every step is a real run; the result
 * lists them all and the last rate that held. Error budget: `errors:rate<budget`.
 */
import { stagesToSchedule } from '../scenario/index.js';
import type { LatencySummary } from '../metrics/histogram.js';
import type { RunResult } from '../metrics/result.js';
import { evaluateThresholds, formatActual } from './thresholds.js';
import { runLoad, type LoadOptions, type ProgressTick, type TargetHandle } from './run.js';

/** Schema tag of a capacity result. */
export const CAPACITY_SCHEMA = 'gatectl.capacity/v1';

/** Options of a capacity search. Rates in requests/s, durations in ms. */
export interface CapacityOptions {
  startRate: number;
  maxRate: number;
  stepMs: number;
  /** bisection steps after the first broken step */
  refine: number;
  /** k6 threshold expressions every step must pass, e.g. `e2e:p(99)<100ms` */
  slo: string[];
  /** largest accepted error rate (errors / requests) */
  errorBudget: number;
}

/** One step of the search. */
export interface CapacityStep {
  rate: number;
  ok: boolean;
  /** SLO/budget expressions that failed, with the measured value */
  failed: string[];
  responses_per_s: number;
  dropped_iterations: number;
  /** corrected e2e latency of the step, µs */
  e2e: LatencySummary;
  errors: number;
}

/** A capacity search's result (`schema: gatectl.capacity/v1`). */
export interface CapacityResult {
  schema: typeof CAPACITY_SCHEMA;
  label: string;
  started_at: string;
  finished_at: string;
  slo: string[];
  error_budget: number;
  step_ms: number;
  steps: CapacityStep[];
  /** highest step rate that held, requests/s; null when even the start rate broke */
  max_rate_held: number | null;
  /** the step at max_rate_held (its latency is the "at max QPS" figure) */
  at_max: CapacityStep | null;
  /** configuration shared by the steps (clients, target, …) */
  config: Record<string, unknown>;
  /** true when the top step reached maxRate without breaking: the capacity is above it */
  capped: boolean;
}

function step(r: RunResult, rate: number, exprs: string[]): CapacityStep {
  const results = evaluateThresholds(r, exprs);
  const c = r.client;
  const errors = Object.values(c.errors_by_code).reduce((a, b) => a + b, 0) + Object.values(c.transport_errors).reduce((a, b) => a + b, 0);
  return {
    rate,
    ok: results.every((t) => t.ok),
    failed: results.filter((t) => !t.ok).map((t) => `${t.expr} (actual ${formatActual(t)})`),
    responses_per_s: c.responses_per_s,
    dropped_iterations: c.dropped_iterations ?? 0,
    e2e: c.latency.e2e.summary,
    errors,
  };
}

/**
 * Runs the search against `target` with `base` (clients, timeouts, mix…; its schedule is replaced
 * per step). `onStep` is told each finished step. Throws what runLoad throws (e.g. TransportError).
 */
export async function findMaxRate(base: LoadOptions, opts: CapacityOptions, target: TargetHandle,
  onStep?: (s: CapacityStep) => void, onProgress?: (t: ProgressTick) => void): Promise<CapacityResult> {
  const startedAt = new Date().toISOString();
  const exprs = [...opts.slo, `errors:rate<${opts.errorBudget}`, 'dropped_iterations:count<1'];
  const steps: CapacityStep[] = [];
  let config: Record<string, unknown> = {};
  const run = async (rate: number): Promise<CapacityStep> => {
    const schedule = stagesToSchedule({ model: 'open', clients: base.clients, rate, ratePerClient: null, stages: [{ kind: 'steady', durationMs: opts.stepMs }] });
    const r = await runLoad({ ...base, model: 'open', schedule, scheduleLabel: `capacity step ${rate}/s` }, target, onProgress);
    config = r.config;
    const s = step(r, rate, exprs);
    steps.push(s);
    onStep?.(s);
    return s;
  };
  let good: CapacityStep | null = null;
  let bad: CapacityStep | null = null;
  for (let rate = opts.startRate; ; rate = Math.min(opts.maxRate, rate * 2)) {
    const s = await run(rate);
    if (!s.ok) {
      bad = s;
      break;
    }
    good = s;
    if (rate >= opts.maxRate) break;
  }
  for (let i = 0; i < opts.refine && bad !== null; i++) {
    const lo = good?.rate ?? 0;
    const mid = Math.round((lo + bad.rate) / 2);
    if (mid <= lo || mid >= bad.rate) break;
    const s = await run(mid);
    if (s.ok) good = s;
    else bad = s;
  }
  return {
    schema: CAPACITY_SCHEMA,
    label: base.label,
    started_at: startedAt,
    finished_at: new Date().toISOString(),
    slo: opts.slo,
    error_budget: opts.errorBudget,
    step_ms: opts.stepMs,
    steps,
    max_rate_held: good?.rate ?? null,
    at_max: good,
    config,
    capped: bad === null,
  };
}
