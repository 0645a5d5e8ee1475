/** Resolution of load flags into LoadOptions (validated; errors name the flag and the fix). */
import { InvalidInputError } from '../errors.js';
import { DEFAULT_SLOW_READ_BYTES_PER_S, DEFAULT_SLOW_RECEIVE_WINDOW_BYTES, parseSlowClientsPercent, type SlowClientsOptions } from '../load/slow-reader.js';
import type { LoadOptions } from '../load/run.js';
import type { LoadModel } from '../load/engine.js';
import { stagesToSchedule, type MixEntry, type Schedule } from '../scenario/index.js';
import type { CapacityOptions } from '../metrics/capacity.js';
import { parseThreshold } from '../metrics/thresholds.js';
import { oneOf } from './resolve.js';
import { parseDurationMs } from '../duration.js';

/** Load flags as given on the command line. */
/** Longest `--duration` accepted without `--no-duration-limit`, ms (24 h: a longer one is usually a typo). */
export const MAX_DURATION_MS = 86_400_000;

export interface LoadFlags {
  clients: number;
  duration: string;
  /** false: `--no-duration-limit` (a --duration above MAX_DURATION_MS is accepted) */
  'duration-limit'?: boolean;
  /** total requests/s across all clients (open model; wins over rate-per-client) */
  rate?: string;
  'rate-per-client'?: string;
  model?: string;
  'max-in-flight'?: number;
  concurrency?: number;
  'think-time'?: string;
  'payload-bytes': number;
  heartbeat?: string;
  'connect-timeout': string;
  'drain-timeout': string;
  /** false: `--no-reconnect` (default true) */
  reconnect?: boolean;
  'client-idle-timeout'?: string;
  workers?: number;
  shard?: string;
  /** `--start-at TIME`: ISO 8601 with a zone */
  'start-at'?: string;
  /** `--slow-clients P%` and its two settings (bytes/s, bytes) */
  'slow-clients'?: string;
  'slow-read-rate'?: number;
  'slow-receive-window'?: number;
}

/**
 * Default `--client-idle-timeout`, ms: a QUIC target silent this long (keep-alive PINGs at a third
 * of it unanswered) is declared lost, so a dead target is noticed within about 2 s (issue 15 §3).
 */
export const DEFAULT_CLIENT_IDLE_TIMEOUT_MS = 2000;

/**
 * `--client-idle-timeout` in ms (300 ms to 10 min; the QUIC dialer refuses below 300 ms).
 * Throws InvalidInputError naming the flag and the fix.
 */
export function parseClientIdleTimeoutMs(text: string | undefined): number {
  if (text === undefined) return DEFAULT_CLIENT_IDLE_TIMEOUT_MS;
  const ms = parseDurationMs(text, '--client-idle-timeout', { maxMs: 600_000, limitHint: 'use at most 10m' });
  if (ms < 300) throw new InvalidInputError(`--client-idle-timeout ${JSON.stringify(text)} is too short: use at least 300ms (keep-alive PINGs go out at a third of it), e.g. 2s`);
  return ms;
}

/**
 * `{ slowClients }` from `--slow-clients P%` (with --slow-read-rate bytes/s and --slow-receive-window
 * bytes, defaults DEFAULT_SLOW_READ_BYTES_PER_S and DEFAULT_SLOW_RECEIVE_WINDOW_BYTES), or nothing
 * for none or 0%. Throws InvalidInputError for a share outside 0–100 % or a setting without the flag.
 */
function slowClientsField(flags: LoadFlags): { slowClients?: SlowClientsOptions } {
  if (flags['slow-clients'] === undefined) {
    const orphan = (['slow-read-rate', 'slow-receive-window'] as const).find((f) => flags[f] !== undefined);
    if (orphan !== undefined) throw new InvalidInputError(`--${orphan} is a setting of the slow readers: give --slow-clients P% too (e.g. --slow-clients 1%)`);
    return {};
  }
  const percent = parseSlowClientsPercent(flags['slow-clients']);
  if (percent === 0) return {};
  return {
    slowClients: {
      percent,
      readBytesPerS: flags['slow-read-rate'] ?? DEFAULT_SLOW_READ_BYTES_PER_S,
      receiveWindowBytes: flags['slow-receive-window'] ?? DEFAULT_SLOW_RECEIVE_WINDOW_BYTES,
    },
  };
}

/** Default per-client cap on outstanding requests in the open model. */
export const DEFAULT_MAX_IN_FLIGHT = 1000;

function positiveRate(text: string, name: string, max: number): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || n > max) {
    throw new InvalidInputError(`${name} ${JSON.stringify(text)} is not valid: use a number of requests per second above 0 and at most ${max}, e.g. ${name === '--rate' ? '1000' : '1 or 0.5'}`);
  }
  return n;
}

/** `--start-at` must not lie further ahead than this, ms (24 h): a typo, not a plan. */
const START_AT_MAX_AHEAD_MS = 24 * 3_600_000;
/** ... nor further back than this, ms (10 min): a stale manifest, not a late pod. */
const START_AT_MAX_BEHIND_MS = 10 * 60_000;

/**
 * Parses `--start-at TIME` (ISO 8601 with a zone, e.g. `2026-12-01T23:50:00Z` or
 * `2026-12-02T00:50:00+01:00`) into Date.now() ms. `now` is the current time (tests). Throws
 * InvalidInputError for another form, a time without a zone (each pod would read it in its own),
 * more than 24 h ahead, or more than 10 min past.
 */
export function parseStartAt(text: string, now = Date.now()): number {
  const form = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;
  const t = form.test(text.trim()) ? Date.parse(text.trim()) : NaN;
  if (!Number.isFinite(t)) {
    throw new InvalidInputError(`--start-at ${JSON.stringify(text)} is not a time with a zone: use ISO 8601 such as 2026-12-01T23:50:00Z, e.g. $(date -u -d '+2 minutes' +%Y-%m-%dT%H:%M:%SZ)`);
  }
  if (t - now > START_AT_MAX_AHEAD_MS) throw new InvalidInputError(`--start-at ${text} is more than 24 h ahead: give the instant the shards should start, minutes from now`);
  if (now - t > START_AT_MAX_BEHIND_MS) throw new InvalidInputError(`--start-at ${text} was ${Math.round((now - t) / 60_000)} min ago: set a fresh start time (the manifest is stale?)`);
  return t;
}

/**
 * Parses `--shard i/n` (0-based, as Kubernetes' JOB_COMPLETION_INDEX). Throws InvalidInputError.
 */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m === null ? NaN : Number(m[1]);
  const count = m === null ? NaN : Number(m[2]);
  if (m === null || count < 1 || index >= count) {
    throw new InvalidInputError(`--shard ${JSON.stringify(text)} is not valid: use INDEX/COUNT with 0 ≤ INDEX < COUNT, e.g. 0/4 (INDEX is 0-based like JOB_COMPLETION_INDEX)`);
  }
  return { index, count };
}

/**
 * Validates and converts load flags. The open model's rate is `--rate` (total) or
 * `--rate-per-client` × clients (default 1/s per client). `schedule` and `mix` (from a scenario)
 * replace the flag-derived ones when given. Throws InvalidInputError.
 */
export function resolveLoadOptions(flags: LoadFlags, label: string, recordedConfig: Record<string, unknown> = {},
  overrides: { schedule?: Schedule; scheduleLabel?: string; mix?: MixEntry[] } = {}): LoadOptions {
  if (!Number.isInteger(flags.clients) || flags.clients < 1) {
    throw new InvalidInputError(`--clients ${flags.clients} is not valid: use a whole number of at least 1`);
  }
  const model = oneOf<LoadModel>(flags.model ?? 'open', ['open', 'closed'], '--model');
  if (flags.rate !== undefined && flags['rate-per-client'] !== undefined) {
    throw new InvalidInputError('--rate and --rate-per-client both given: use --rate for the total arrival rate or --rate-per-client for a per-client rate, not both');
  }
  if (model === 'closed' && (flags.rate !== undefined || flags['rate-per-client'] !== undefined)) {
    throw new InvalidInputError('--model closed has no arrival rate: drop --rate/--rate-per-client, or use --concurrency and --think-time to shape the closed loop');
  }
  const durationMs = parseDurationMs(flags.duration, '--duration', flags['duration-limit'] === false ? {} : { maxMs: MAX_DURATION_MS, limitHint: 'give --no-duration-limit for a longer run' });
  const rate = flags.rate !== undefined
    ? positiveRate(flags.rate, '--rate', 10_000_000)
    : positiveRate(flags['rate-per-client'] ?? '1', '--rate-per-client', 10_000) * flags.clients;
  const schedule = overrides.schedule ?? stagesToSchedule({ model, clients: flags.clients, rate: model === 'open' ? rate : null, ratePerClient: null, stages: [{ kind: 'steady', durationMs }] });
  const workers = flags.workers ?? 1;
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new InvalidInputError(`--workers ${workers} is not valid: use 1..64 generator processes`);
  return {
    clients: schedule.maxClients,
    model,
    schedule,
    scheduleLabel: overrides.scheduleLabel ?? (model === 'open' ? `constant ${rate}/s` : `closed, ${flags.concurrency ?? 1} in flight per client`),
    maxInFlight: flags['max-in-flight'] ?? DEFAULT_MAX_IN_FLIGHT,
    concurrency: flags.concurrency ?? 1,
    thinkTimeMs: flags['think-time'] !== undefined ? parseDurationMs(flags['think-time'], '--think-time', { allowZero: true }) : 0,
    mix: overrides.mix ?? [{ action: 'business', weight: 1, payloadBytes: { min: flags['payload-bytes'], max: flags['payload-bytes'] } }],
    heartbeatMs: flags.heartbeat !== undefined ? parseDurationMs(flags.heartbeat, '--heartbeat', { allowZero: true }) : 30_000,
    connectTimeoutMs: parseDurationMs(flags['connect-timeout'], '--connect-timeout'),
    drainTimeoutMs: parseDurationMs(flags['drain-timeout'], '--drain-timeout', { allowZero: true }),
    reconnect: flags.reconnect !== false,
    clientIdleTimeoutMs: parseClientIdleTimeoutMs(flags['client-idle-timeout']),
    workers,
    ...slowClientsField(flags),
    ...(flags.shard !== undefined ? { shard: parseShard(flags.shard) } : {}),
    ...(flags['start-at'] !== undefined ? { startAtEpochMs: parseStartAt(flags['start-at']) } : {}),
    label,
    recordedConfig,
  };
}

/** `--find-max` flags. */
export interface CapacityFlags {
  rate?: string;
  slo?: string[];
  'error-budget'?: string;
  'start-rate'?: number;
  'max-rate'?: number;
  'step-duration'?: string;
  refine?: number;
  scenario?: string;
}

/**
 * Capacity-search options from flags: the start rate is `--start-rate`, else the run's own constant rate,
 * SLO default `e2e:p(99)<100ms`, error budget 0.01, 5 s steps, 3 refinements. Throws
 * InvalidInputError for a bad value, a bad SLO expression or a scenario (the search makes its own steps).
 */
export function resolveCapacityOptions(flags: CapacityFlags, load: LoadOptions): CapacityOptions {
  if (flags.scenario !== undefined) throw new InvalidInputError('--find-max makes its own constant-rate steps: drop --scenario (or run the scenario without --find-max)');
  if (load.model !== 'open') throw new InvalidInputError('--find-max steps the arrival rate: use the open model (drop --model closed)');
  const budget = Number(flags['error-budget'] ?? '0.01');
  if (!Number.isFinite(budget) || budget < 0 || budget > 1) throw new InvalidInputError(`--error-budget ${JSON.stringify(flags['error-budget'])} is not valid: use a fraction from 0 to 1, e.g. 0.01`);
  const slo = flags.slo ?? ['e2e:p(99)<100ms'];
  for (const e of slo) parseThreshold(e);
  return {
    startRate: flags['start-rate'] ?? load.schedule.maxRate,
    maxRate: flags['max-rate'] ?? 1_000_000,
    stepMs: parseDurationMs(flags['step-duration'] ?? '5s', '--step-duration'),
    refine: flags.refine ?? 3,
    slo,
    errorBudget: budget,
  };
}

