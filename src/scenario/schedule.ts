/**
 * How the load engine interprets a scenario's stages (issue 4 §3), as pure functions of time.
 *
 * The level is a pair (rate, clients): rate = total requests/s over all clients (open model),
 * clients = connections. It starts at the scenario's top-level `rate` and `clients` (0 when
 * absent: k6's ramping executors also start from 0). Stages run one after another:
 * - `ramp {duration, clients?, rate?}`: both move linearly from the current level to the stage's
 *   values (an absent one stays) over `duration`; the level afterwards is the stage's.
 * - `steady {duration, clients?, rate?}`: steps to the given values at the stage start (absent =
 *   keep) and holds them; the level afterwards is the stage's.
 * - `burst {duration, rate}`: steps to `rate` for `duration` (clients unchanged), then the level
 *   returns to what it was before the burst (a spike, seed 003 场景3 "100 QPS 突增到 2000 QPS").
 * With `rate_per_client` (open model) rate(t) = rate_per_client × clients(t) (still piecewise
 * linear). In the closed model rate(t) is 0: clients(t) connections each keep `concurrency`
 * requests in flight.
 *
 * Time is ms from the start of the first stage; segments are half-open [startMs, endMs), so at a
 * boundary the next stage's value applies (a burst starts exactly at its start). After the end,
 * rate is 0 and clients stays at the last value.
 *
 * Open-model engine contract (wrk2 / k6 constant- and ramping-arrival-rate): the i-th request
 * (i = 0, 1, 2, …, over all clients) is due at `arrivalTimeMs(schedule, i)`, i.e. when the
 * cumulative arrivals ∫rate reach i — for a constant rate λ that is t0 + i/λ. Corrected latency is
 * measured from that time. A shard k of n takes the arrivals i ≡ k (mod n), so the union of shards
 * is exactly the single-process schedule; clients(t) is split the same way (client j belongs to
 * shard j mod n).
 */
import type { Scenario, ScenarioStage } from './types.js';

/** One stage as a linear piece of the schedule. Rates in requests/s, times in ms. */
export interface ScheduleSegment {
  /** index of the stage in scenario.stages */
  stage: number;
  kind: ScenarioStage['kind'];
  /** the stage's label, if the scenario gave one */
  label?: string;
  startMs: number;
  endMs: number;
  rateFrom: number;
  rateTo: number;
  clientsFrom: number;
  clientsTo: number;
  /** cumulative arrivals (requests) before startMs */
  arrivalsBefore: number;
}

/** A scenario's schedule: rate(t) and clients(t) as linear pieces. */
export interface Schedule {
  model: Scenario['model'];
  segments: ScheduleSegment[];
  /** Σ stage durations, ms */
  durationMs: number;
  /** most connections at any time (what the engine should dial) */
  maxClients: number;
  /** highest total requests/s at any time */
  maxRate: number;
  /** total arrivals over the schedule (open model; 0 for closed) */
  totalArrivals: number;
}

/** The parts of a Scenario the schedule depends on. */
export type ScheduleInput = Pick<Scenario, 'model' | 'clients' | 'rate' | 'ratePerClient' | 'stages'>;

/** Builds the schedule of `scenario` (semantics in the module docstring). Pure; never throws. */
export function stagesToSchedule(scenario: ScheduleInput): Schedule {
  const open = scenario.model === 'open';
  const perClient = open ? scenario.ratePerClient : null;
  let clients = scenario.clients;
  let rate = open ? (scenario.rate ?? 0) : 0;
  let t = 0;
  let arrivals = 0;
  const segments: ScheduleSegment[] = [];
  scenario.stages.forEach((s, stage) => {
    const clientsTo = s.kind === 'burst' ? clients : (s.clients ?? clients);
    const rateTo = !open ? 0 : s.rate ?? rate;
    const from = s.kind === 'ramp' ? { c: clients, r: rate } : { c: clientsTo, r: rateTo };
    const seg: ScheduleSegment = {
      stage, kind: s.kind, ...(s.label !== undefined ? { label: s.label } : {}), startMs: t, endMs: t + s.durationMs,
      clientsFrom: from.c, clientsTo,
      rateFrom: perClient !== null ? perClient * from.c : from.r,
      rateTo: perClient !== null ? perClient * clientsTo : rateTo,
      arrivalsBefore: arrivals,
    };
    segments.push(seg);
    arrivals += ((seg.rateFrom + seg.rateTo) / 2) * (s.durationMs / 1000);
    t = seg.endMs;
    if (s.kind !== 'burst') {
      clients = clientsTo;
      rate = rateTo;
    }
  });
  return {
    model: scenario.model,
    segments,
    durationMs: t,
    maxClients: Math.max(scenario.clients, ...segments.flatMap((g) => [g.clientsFrom, g.clientsTo])),
    maxRate: Math.max(0, ...segments.flatMap((g) => [g.rateFrom, g.rateTo])),
    totalArrivals: arrivals,
  };
}

function segmentAt(s: Schedule, tMs: number): ScheduleSegment | undefined {
  // few segments: a linear scan is cheaper than anything clever
  for (const g of s.segments) if (tMs < g.endMs) return tMs >= g.startMs ? g : undefined;
  return undefined;
}

function lerp(from: number, to: number, g: ScheduleSegment, tMs: number): number {
  return g.endMs === g.startMs ? to : from + ((to - from) * (tMs - g.startMs)) / (g.endMs - g.startMs);
}

/** Total requests/s due at `tMs` (ms since the schedule began); 0 before 0 and from the end on. */
export function rateAt(s: Schedule, tMs: number): number {
  const g = segmentAt(s, tMs);
  return g === undefined ? 0 : lerp(g.rateFrom, g.rateTo, g, tMs);
}

/**
 * Connections wanted at `tMs` (ms since the schedule began), rounded to a whole number; before 0 the
 * first segment's start, from the end on the last segment's end value.
 */
export function clientsAt(s: Schedule, tMs: number): number {
  if (s.segments.length === 0) return 0;
  if (tMs < 0) return Math.round(s.segments[0]!.clientsFrom);
  const g = segmentAt(s, tMs);
  if (g === undefined) return Math.round(s.segments.at(-1)!.clientsTo);
  return Math.round(lerp(g.clientsFrom, g.clientsTo, g, tMs));
}

/** Arrivals due in [0, tMs) — ∫ rate dt, a real number of requests (open model). */
export function cumulativeArrivals(s: Schedule, tMs: number): number {
  if (tMs <= 0) return 0;
  const g = segmentAt(s, tMs);
  if (g === undefined) return s.totalArrivals;
  const dt = tMs - g.startMs;
  return g.arrivalsBefore + ((g.rateFrom + lerp(g.rateFrom, g.rateTo, g, tMs)) / 2) * (dt / 1000);
}

/**
 * Intended send time, ms since the schedule began, of the i-th request (i = 0, 1, …): the first
 * t with cumulativeArrivals(t) = i; for a constant rate λ/s this is i × 1000/λ. Null when the
 * schedule ends before it (i ≥ totalArrivals) or i is negative / not an integer.
 */
export function arrivalTimeMs(s: Schedule, i: number): number | null {
  if (!Number.isInteger(i) || i < 0 || i >= s.totalArrivals - 1e-9) return null;
  for (const g of s.segments) {
    const inSeg = ((g.rateFrom + g.rateTo) / 2) * ((g.endMs - g.startMs) / 1000);
    if (i >= g.arrivalsBefore + inSeg || inSeg === 0) continue;
    // N(τ) = (a τ + b τ²/2) / 1000 with a = rate at start (/s), b = slope (/s per ms); solve N(τ) = k
    const k = (i - g.arrivalsBefore) * 1000;
    if (k <= 0) return g.startMs;
    const a = g.rateFrom;
    const b = (g.rateTo - g.rateFrom) / (g.endMs - g.startMs);
    const tau = b === 0 ? k / a : (2 * k) / (a + Math.sqrt(Math.max(0, a * a + 2 * b * k)));
    return g.startMs + Math.min(tau, g.endMs - g.startMs);
  }
  return null;
}
