/**
 * The capacity search's result types (`gatectl.capacity/v1`, issue 5 §6): what `load --find-max`
 * writes and `report` renders. The search itself is src/load/capacity.ts.
 */
import type { LatencySummary } from './histogram.js';

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
  /** true when SIGINT stopped the search (issue 11 §2): the steps listed are the ones run */
  interrupted?: boolean;
}
