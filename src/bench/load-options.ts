/**
 * LoadOptions for the benchmarks that drive `runLoad` (the loadgen bench's gatectl phases, the
 * soak): typed values spread over one base, as src/load/capacity.ts does (`{ ...base, model:
 * 'open', schedule }`), never flag objects parsed again (issue 11 §4). The base holds what
 * `gatectl load` uses when no flag is given (src/cli/flags.ts defaults through
 * src/config/load.ts resolveLoadOptions); test/bench.test.ts checks the two agree.
 */
import { DEFAULT_CLIENT_IDLE_TIMEOUT_MS, DEFAULT_MAX_IN_FLIGHT } from '../config/load.js';
import type { LoadOptions } from '../load/run.js';
import { stagesToSchedule, type Schedule } from '../scenario/schedule.js';

/** `gatectl load`'s defaults of --heartbeat, --connect-timeout and --drain-timeout, ms. */
export const CLI_DEFAULT_TIMES_MS = Object.freeze({ heartbeat: 30_000, connectTimeout: 10_000, drainTimeout: 10_000 });

/** One steady stage of `durationMs` ms: open at `rate` requests/s in total (`--rate`), or closed when `rate` is null. */
export function steadySchedule(clients: number, durationMs: number, rate: number | null): Schedule {
  return stagesToSchedule({ model: rate === null ? 'closed' : 'open', clients, rate, ratePerClient: null, stages: [{ kind: 'steady', durationMs }] });
}

/**
 * What `gatectl load -c CLIENTS -d DURATION -R RATE --payload-bytes PAYLOAD` resolves to (open
 * model; every other flag at its default, one generator process), labelled `label`. Spread it and
 * replace what differs, e.g. `{ ...cliLoadOptions(…), model: 'closed', concurrency: 8, schedule:
 * steadySchedule(n, ms, null) }`.
 */
export function cliLoadOptions(o: { clients: number; durationMs: number; rate: number; payloadBytes: number; label: string }): LoadOptions {
  return {
    clients: o.clients,
    model: 'open',
    schedule: steadySchedule(o.clients, o.durationMs, o.rate),
    scheduleLabel: `constant ${o.rate}/s`,
    maxInFlight: DEFAULT_MAX_IN_FLIGHT,
    concurrency: 1,
    thinkTimeMs: 0,
    mix: [{ action: 'business', weight: 1, payloadBytes: { min: o.payloadBytes, max: o.payloadBytes } }],
    heartbeatMs: CLI_DEFAULT_TIMES_MS.heartbeat,
    connectTimeoutMs: CLI_DEFAULT_TIMES_MS.connectTimeout,
    drainTimeoutMs: CLI_DEFAULT_TIMES_MS.drainTimeout,
    reconnect: true,
    clientIdleTimeoutMs: DEFAULT_CLIENT_IDLE_TIMEOUT_MS,
    workers: 1,
    label: o.label,
    recordedConfig: {},
  };
}
