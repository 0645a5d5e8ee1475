/**
 * Capacity search (issue 5 §6, `gatectl load --find-max`): the highest arrival rate the target
 * serves within an SLO. Open-model steps of `stepMs` each: the rate doubles from `startRate` until a
 * step breaks the SLO or the error budget (or `maxRate` is reached), then `refine` bisection steps
 * between the last rate that held and the first that broke. Every step is a real run; the result
 * lists them all and the last rate that held. Error budget: `errors:rate<budget`.
 */
import { stagesToSchedule } from '../scenario/schedule.js';
import { CAPACITY_SCHEMA, type CapacityOptions, type CapacityResult, type CapacityStep } from '../metrics/capacity.js';
import type { RunResult } from '../metrics/result.js';
import { evaluateThresholds, formatActual } from '../metrics/thresholds.js';
import { runLoad, type LoadOptions, type ProgressTick, type TargetHandle } from './run.js';

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
 * per step). `onStep` is told each finished step. When `signal` aborts (SIGINT), the step running
 * ends early and is kept, no further step starts, and the result is marked `interrupted`.
 * Throws what runLoad throws (e.g. TransportError).
 */
export async function findMaxRate(base: LoadOptions, opts: CapacityOptions, target: TargetHandle,
  onStep?: (s: CapacityStep) => void, onProgress?: (t: ProgressTick) => void, signal?: AbortSignal): Promise<CapacityResult> {
  const startedAt = new Date().toISOString();
  const exprs = [...opts.slo, `errors:rate<${opts.errorBudget}`, 'dropped_iterations:count<1'];
  const steps: CapacityStep[] = [];
  let config: Record<string, unknown> = {};
  const run = async (rate: number): Promise<CapacityStep> => {
    const schedule = stagesToSchedule({ model: 'open', clients: base.clients, rate, ratePerClient: null, stages: [{ kind: 'steady', durationMs: opts.stepMs }] });
    const r = await runLoad({ ...base, model: 'open', schedule, scheduleLabel: `capacity step ${rate}/s` }, target, onProgress, signal);
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
    if (rate >= opts.maxRate || signal?.aborted === true) break;
  }
  for (let i = 0; i < opts.refine && bad !== null && signal?.aborted !== true; i++) {
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
    capped: bad === null && signal?.aborted !== true,
    ...(signal?.aborted === true ? { interrupted: true } : {}),
  };
}
