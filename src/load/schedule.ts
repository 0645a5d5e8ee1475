/**
 * Arrival schedules of the open model (k6 constant/ramping-arrival-rate, wrk2 `-R`): the total
 * request rate as a function of time since the steady phase began, and how many clients take part.
 * Request k's intended send time follows from the rate: t₀ = 0, t_{k+1} = t_k + 1000/λ(t_k) ms, so a
 * constant λ gives t_k = k/λ exactly (wrk2). Latency is measured from these intended times.
 */

/** A request mix entry: `weight` shares of requests use `action` with `payloadBytes` bytes. */
export interface MixEntry {
  action: string;
  weight: number;
  payloadBytes: number;
}

/** A point of a piecewise-linear schedule: at `tMs` ms the total rate is `rate` req/s (and `clients` take part). */
export interface SchedulePoint {
  tMs: number;
  rate: number;
  /** clients taking part; absent = all */
  clients?: number;
}

/**
 * Total arrival rate and active clients over the steady phase, as plain data (it crosses to worker
 * threads): piecewise linear between `points` (sorted by tMs; two points at the same time make a
 * step), constant after the last point. Times are ms since the steady start.
 */
export interface ArrivalSchedule {
  /** length of the steady phase, ms */
  durationMs: number;
  points: SchedulePoint[];
  /** human description for the result (e.g. `constant 1000/s`) */
  describe: string;
}

/** A constant total rate (requests/s) for `durationMs` ms. */
export function constantSchedule(rate: number, durationMs: number): ArrivalSchedule {
  return { durationMs, points: [{ tMs: 0, rate }], describe: `constant ${rate}/s` };
}

function segment(s: ArrivalSchedule, t: number): [SchedulePoint, SchedulePoint, number] {
  const p = s.points;
  if (t <= p[0]!.tMs || p.length === 1) return [p[0]!, p[0]!, 0];
  let lo = 0;
  let hi = p.length - 1;
  if (t >= p[hi]!.tMs) return [p[hi]!, p[hi]!, 0];
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (p[mid]!.tMs <= t) lo = mid;
    else hi = mid;
  }
  const a = p[lo]!;
  const b = p[hi]!;
  return [a, b, b.tMs === a.tMs ? 1 : (t - a.tMs) / (b.tMs - a.tMs)];
}

/** Total requests per second at `tMs` ms (linear between points). */
export function rateAt(s: ArrivalSchedule, tMs: number): number {
  const [a, b, f] = segment(s, tMs);
  return a.rate + (b.rate - a.rate) * f;
}

/** Clients taking part at `tMs` ms (rounded, linear between points), or undefined when the schedule does not limit them. */
export function clientsAt(s: ArrivalSchedule, tMs: number): number | undefined {
  const [a, b, f] = segment(s, tMs);
  if (a.clients === undefined || b.clients === undefined) return a.clients ?? b.clients;
  return Math.round(a.clients + (b.clients - a.clients) * f);
}

/**
 * Scales a whole-run schedule to one slice (a worker thread or a `--shard`) holding `sliceClients`
 * of `totalClients`: the slice sends that share of the rate and of the active clients.
 */
export function scaleSchedule(s: ArrivalSchedule, sliceClients: number, totalClients: number): ArrivalSchedule {
  const share = sliceClients / totalClients;
  return {
    durationMs: s.durationMs,
    points: s.points.map((p) => ({
      tMs: p.tMs,
      rate: p.rate * share,
      ...(p.clients !== undefined ? { clients: Math.max(1, Math.min(sliceClients, Math.round(p.clients * share))) } : {}),
    })),
    describe: share === 1 ? s.describe : `${s.describe} × ${sliceClients}/${totalClients}`,
  };
}

/**
 * Picks mix entries deterministically in proportion to their weights (smooth weighted round-robin,
 * as nginx does for upstreams), so a run's mix is exact and repeatable without a random generator.
 */
export class MixPicker {
  private readonly current: number[];
  private readonly total: number;

  /** @throws Error when the mix is empty or a weight is not positive (validated earlier by the caller) */
  constructor(readonly entries: readonly MixEntry[]) {
    if (entries.length === 0 || entries.some((e) => !(e.weight > 0))) throw new Error('mix needs at least one entry with a positive weight');
    this.current = entries.map(() => 0);
    this.total = entries.reduce((a, e) => a + e.weight, 0);
  }

  /** Index of the next entry. */
  next(): number {
    let best = 0;
    for (let i = 0; i < this.entries.length; i++) {
      this.current[i]! += this.entries[i]!.weight;
      if (this.current[i]! > this.current[best]!) best = i;
    }
    this.current[best]! -= this.total;
    return best;
  }
}
