/**
 * The gatectl side of the load-generator benchmark: `runLoad` (src/load/run.ts) against the null
 * gateway, closed model (the figure compared with raw echo) and open model (did it keep up?), one
 * generator process. The LoadOptions are typed values spread over `gatectl load`'s defaults
 * (../load-options.ts), never flags parsed again.
 */
import { runLoad, type LoadOptions, type TargetHandle } from '../../load/run.js';
import type { RunResult } from '../../metrics/result.js';
import { cliLoadOptions, steadySchedule } from '../load-options.js';
import { BENCH_TIMEOUTS_MS, PhaseMeter, cellFrom, round1 } from './meter.js';
import type { NullGateway } from './null-gateway.js';
import type { LoadgenBenchOptions } from './options.js';
import type { OpenModelCell, ThroughputCell } from './result.js';

/** An open-model run kept up when its schedule lag p99 stayed at or below this, µs (runLoad warns above it). */
export const KEPT_UP_LAG_P99_US = 50_000;

type PhaseShape = Pick<LoadgenBenchOptions, 'connections' | 'inFlight' | 'durationS' | 'payloadBytes'>;

/**
 * gatectl's open model at `rate` requests/s in total (`gatectl load -R`): N clients
 * (`connections`), one phase of `durationS`, `payloadBytes` payloads, 30 s connect timeout, 10 s
 * drain, one generator process, the CLI's default --max-in-flight; the rest `gatectl load`'s defaults.
 */
export function openLoadOptions(o: PhaseShape, rate: number): LoadOptions {
  return {
    ...cliLoadOptions({ clients: o.connections, durationMs: Math.round(o.durationS * 1000), rate, payloadBytes: o.payloadBytes, label: 'loadgen-bench-open' }),
    connectTimeoutMs: BENCH_TIMEOUTS_MS.connect,
    drainTimeoutMs: BENCH_TIMEOUTS_MS.drain,
  };
}

/** gatectl's closed model: as openLoadOptions, but K requests in flight per client (`inFlight`, `--model closed --concurrency K`). */
export function closedLoadOptions(o: PhaseShape): LoadOptions {
  const open = openLoadOptions(o, 1);
  return {
    ...open, model: 'closed', concurrency: o.inFlight, schedule: steadySchedule(o.connections, open.schedule.durationMs, null),
    scheduleLabel: `closed, ${o.inFlight} in flight per client`, label: 'loadgen-bench-closed',
  };
}

function gatectlCell(phase: 'gatectl_closed' | 'gatectl_open', round: number, w: PhaseMeter, r: RunResult): ThroughputCell {
  const c = r.client;
  const errors = Object.values(c.errors_by_code).reduce((a, b) => a + b, 0) + Object.values(c.transport_errors).reduce((a, b) => a + b, 0);
  const v = c.violations;
  return {
    ...cellFrom(phase, round, w, { connected: c.connected, requests: c.requests_sent, responses: c.responses, errors, phaseS: r.steady_s }),
    e2e_p50_us: c.latency.e2e.summary.p50_us, e2e_p99_us: c.latency.e2e.summary.p99_us,
    event_loop_delay_p99_ms: r.generator.event_loop_delay_p99_ms, generator_bound: r.generator.generator_bound,
    violations: v.gaps + v.reorders + v.duplicates + v.notify_order_violations,
  };
}

/** The null gateway as runLoad's target; runLoad starts the steady phase 50 ms after markSteadyStart. */
function targetHandle(gw: NullGateway, w: PhaseMeter, durationMs: number): TargetHandle {
  return {
    url: gw.url, kind: 'remote', ca: gw.certPem, insecure: false,
    markSteadyStart: () => w.start(50, durationMs),
    serverResult: async () => { await w.stop(); return null; },
  };
}

/** Runs gatectl's closed model once (N clients, concurrency K; closedLoadOptions) and measures it as a ThroughputCell of `round`. */
export async function closedPhase(o: PhaseShape, gw: NullGateway, round: number): Promise<ThroughputCell> {
  const w = new PhaseMeter(gw);
  const opts = closedLoadOptions(o);
  return gatectlCell('gatectl_closed', round, w, await runLoad(opts, targetHandle(gw, w, opts.schedule.durationMs)));
}

/** Runs gatectl's open model once at `rate` requests/s (openLoadOptions) and measures it, with whether it kept up. */
export async function openPhase(o: PhaseShape, gw: NullGateway, rate: number): Promise<OpenModelCell> {
  const w = new PhaseMeter(gw);
  const opts = openLoadOptions(o, rate);
  const r = await runLoad(opts, targetHandle(gw, w, opts.schedule.durationMs));
  const cell = gatectlCell('gatectl_open', 0, w, r);
  const requestsPerS = round1(r.client.requests_sent / r.steady_s);
  const lag = r.client.latency.schedule_lag.summary.p99_us;
  const dropped = r.client.dropped_iterations ?? 0;
  return {
    ...cell, target_rate_per_s: rate, requests_per_s: requestsPerS, max_in_flight: opts.maxInFlight,
    dropped_iterations: dropped, schedule_lag_p99_us: lag,
    e2e_uncorrected_p99_us: r.client.latency.e2e_uncorrected?.summary.p99_us ?? 0,
    kept_up: dropped === 0 && requestsPerS >= 0.98 * rate && lag <= KEPT_UP_LAG_P99_US,
  };
}
