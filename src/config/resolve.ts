/**
 * Configuration resolution (DESIGN §1 config/): flags > environment (`QUEUE_*`) > mode profile >
 * defaults, validated, returned frozen. Durations use the `ms` library's syntax (`500ms`, `20s`, `1m`).
 */
import ms from 'ms';
import { InvalidInputError } from '../errors.js';
import { defaultQueueConfig, queueConfigFromEnv, type LockScope, type QueueConfig } from '../queue/index.js';
import { defaultProcessorConfig, DEFAULT_EVENTS_DIR, DEFAULT_IDLE_TIMEOUT_MS, type GatewayConfig, type ProcessorMode } from '../gateway/config.js';
import { DEFAULT_MOCK_UPSTREAM, LATENCY_DISTRIBUTIONS, type LatencyDistribution } from '../upstream/index.js';
import { DEFAULT_MAX_FRAME_BYTES } from '../protocol/index.js';
import { resolveQuotaConfig } from '../quota/index.js';
import { TRANSPORT_NAMES } from '../transport/index.js';

/** Accepted `--mode` values. */
export const MODES: readonly ProcessorMode[] = ['sync', 'async'];

/**
 * Parses a duration such as `20s`, `5ms`, `1.5m` into ms. A bare number without a unit is refused
 * (ambiguous). Throws InvalidInputError naming `name` and the expected form.
 */
export function parseDurationMs(input: string, name: string, opts: { allowZero?: boolean } = {}): number {
  const text = input.trim();
  const value = /^\d+(\.\d+)?$/.test(text) ? undefined : (ms as (s: string) => number | undefined)(text);
  if (value === undefined || !Number.isFinite(value) || value < 0 || (value === 0 && opts.allowZero !== true)) {
    throw new InvalidInputError(`${name} ${JSON.stringify(input)} is not a valid duration: use a positive number with a unit, e.g. 500ms, 20s or 1m`);
  }
  return value;
}

/** Checks `value` is one of `accepted`; throws InvalidInputError listing them. */
export function oneOf<T extends string>(value: string, accepted: readonly T[], name: string): T {
  if (!(accepted as readonly string[]).includes(value)) {
    throw new InvalidInputError(`${name} ${JSON.stringify(value)} is not supported: use one of ${accepted.join(', ')}`);
  }
  return value as T;
}

/** Gateway settings as given on the command line (all optional but host/port/transport). */
export interface GatewayFlags {
  host: string;
  port: number;
  transport: string;
  mode?: string;
  'upstream-latency': string;
  'upstream-distribution': string;
  'before-notifies': number;
  'after-notifies': number;
  'processor-workers'?: number;
  'processor-queue-size'?: number;
  'task-timeout'?: string;
  'send-workers'?: number;
  'session-buffer-limit'?: number;
  'write-stall-timeout'?: string;
  'max-sessions'?: number;
  'session-rate-limit'?: number;
  'send-queue-size'?: number;
  'max-queue-size'?: number;
  'batch-size'?: number;
  'lock-scope'?: string;
  'max-frame-bytes'?: number;
  /** e.g. `90s`; `0` disables */
  'idle-timeout'?: string;
  cert?: string;
  key?: string;
  'upstream-error-rate'?: string;
  'upstream-timeout-rate'?: string;
  'upstream-pause'?: string;
  'upstream-pause-after'?: number;
  /** HTTP upstream base URL */
  upstream?: string;
  /** quota consumption: auto (follows --mode), sync, async or off */
  quota?: string;
  /** YAML file with an `async_quota:` section (seed 003 配置) */
  config?: string;
  'quota-preset'?: string;
  'quota-db'?: string;
  'quota-workers'?: number;
  'quota-batch-size'?: number;
  /** VineQueue event export: HTTP sink URL (NDJSON) */
  'events-url'?: string;
  /** VineQueue WAL directory of the event export */
  'events-dir'?: string;
}

function rate(v: string | undefined, name: string): number {
  if (v === undefined) return 0;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) {
    throw new InvalidInputError(`${name} ${JSON.stringify(v)} is not valid: use a fraction from 0 to 1, e.g. 0.01`);
  }
  return n;
}

/** Validates an http(s) URL given as `name`. Throws InvalidInputError naming the flag and the fix. */
function httpUrl(v: string, name: string): string {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new InvalidInputError(`${name} ${JSON.stringify(v)} is not a URL: use http://HOST:PORT`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new InvalidInputError(`${name} ${JSON.stringify(v)}: use an http:// or https:// URL`);
  }
  return v;
}

/**
 * Resolves a frozen GatewayConfig. Processor limits (seed 004 AsyncConfig) also come from
 * `PROCESSOR_MAX_WORKERS`, `PROCESSOR_MAX_QUEUE_SIZE` and `PROCESSOR_TASK_TIMEOUT` (e.g. `30s`). `--mode sync` is the "before" profile of DESIGN §4 (sync send,
 * global lock, sync processor); `--mode async` the "after" (async send, session lock, async
 * processor). Without `--mode`, `QUEUE_ENABLE_ASYNC_SEND` picks the profile (default async).
 * Throws InvalidInputError for any bad value, naming the flag or variable.
 */
export function resolveGatewayConfig(flags: GatewayFlags, env: NodeJS.ProcessEnv = process.env): Readonly<GatewayConfig> {
  const fromEnv = queueConfigFromEnv(env);
  const mode: ProcessorMode = flags.mode !== undefined
    ? oneOf(flags.mode, MODES, '--mode')
    : (fromEnv.enableAsyncSend ?? true) ? 'async' : 'sync';
  const queue: QueueConfig = { ...defaultQueueConfig(mode === 'async'), ...fromEnv, enableAsyncSend: mode === 'async' };
  if (fromEnv.lockScope === undefined) queue.lockScope = mode === 'async' ? 'session' : 'global';
  if (flags['send-workers'] !== undefined) queue.sendWorkerCount = flags['send-workers'];
  if (flags['session-buffer-limit'] !== undefined) queue.sessionBufferLimit = flags['session-buffer-limit'];
  if (flags['send-queue-size'] !== undefined) queue.sendQueueSize = flags['send-queue-size'];
  if (flags['max-queue-size'] !== undefined) queue.maxQueueSize = flags['max-queue-size'];
  if (flags['batch-size'] !== undefined) queue.sendBatchSize = flags['batch-size'];
  if (flags['lock-scope'] !== undefined) queue.lockScope = oneOf<LockScope>(flags['lock-scope'], ['global', 'session'], '--lock-scope');
  const processor = defaultProcessorConfig();
  const envInt = (name: string): number | undefined => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    if (!/^\d+$/.test(v.trim()) || Number(v) < 1 || Number(v) > 1_000_000) {
      throw new InvalidInputError(`${name}=${JSON.stringify(v)} is not valid: use a whole number from 1 to 1000000`);
    }
    return Number(v);
  };
  processor.maxWorkers = envInt('PROCESSOR_MAX_WORKERS') ?? processor.maxWorkers;
  processor.maxQueueSize = envInt('PROCESSOR_MAX_QUEUE_SIZE') ?? processor.maxQueueSize;
  const envTimeout = env.PROCESSOR_TASK_TIMEOUT;
  if (flags['processor-workers'] !== undefined) processor.maxWorkers = flags['processor-workers'];
  if (flags['processor-queue-size'] !== undefined) processor.maxQueueSize = flags['processor-queue-size'];
  processor.taskTimeoutMs = flags['task-timeout'] !== undefined
    ? parseDurationMs(flags['task-timeout'], '--task-timeout')
    : envTimeout !== undefined && envTimeout !== '' ? parseDurationMs(envTimeout, 'PROCESSOR_TASK_TIMEOUT') : processor.taskTimeoutMs;
  if ((flags.cert === undefined) !== (flags.key === undefined)) {
    throw new InvalidInputError('--cert and --key go together: give both PEM files, or neither to generate a self-signed certificate');
  }
  const config: GatewayConfig = {
    host: flags.host,
    port: flags.port,
    transport: oneOf(flags.transport, TRANSPORT_NAMES, '--transport'),
    processorMode: mode,
    processor,
    queue,
    upstream: {
      ...DEFAULT_MOCK_UPSTREAM,
      latencyMs: parseDurationMs(flags['upstream-latency'], '--upstream-latency', { allowZero: true }),
      distribution: oneOf<LatencyDistribution>(flags['upstream-distribution'], LATENCY_DISTRIBUTIONS, '--upstream-distribution'),
      errorRate: rate(flags['upstream-error-rate'], '--upstream-error-rate'),
      timeoutRate: rate(flags['upstream-timeout-rate'], '--upstream-timeout-rate'),
      ...(flags['upstream-pause'] !== undefined
        ? { pause: { afterCalls: flags['upstream-pause-after'] ?? 1000, durationMs: parseDurationMs(flags['upstream-pause'], '--upstream-pause') } }
        : {}),
      beforeNotifies: flags['before-notifies'],
      afterNotifies: flags['after-notifies'],
    },
    maxFrameBytes: flags['max-frame-bytes'] ?? DEFAULT_MAX_FRAME_BYTES,
    writeStallTimeoutMs: flags['write-stall-timeout'] !== undefined ? parseDurationMs(flags['write-stall-timeout'], '--write-stall-timeout', { allowZero: true }) : 10_000,
    maxSessions: flags['max-sessions'] ?? 100_000,
    sessionRateLimit: flags['session-rate-limit'] ?? 0,
    idleTimeoutMs: flags['idle-timeout'] !== undefined ? parseDurationMs(flags['idle-timeout'], '--idle-timeout', { allowZero: true }) : DEFAULT_IDLE_TIMEOUT_MS,
    ...(flags.cert !== undefined ? { certPath: flags.cert, keyPath: flags.key } : {}),
    ...(flags.upstream !== undefined ? { upstreamUrl: httpUrl(flags.upstream, '--upstream') } : {}),
    quota: resolveQuota(flags, mode),
    ...(flags['events-url'] !== undefined ? { events: { url: httpUrl(flags['events-url'], '--events-url'), dir: flags['events-dir'] ?? DEFAULT_EVENTS_DIR } } : {}),
  };
  return deepFreeze(config);
}

/**
 * The gateway's quota setting: `--quota auto` (default) consumes synchronously with `--mode sync`
 * and asynchronously with `--mode async` (issue 5: the compare profiles include the quota mode);
 * `async_quota.enabled: false` in the config makes every consume synchronous; `--quota off` turns
 * quota off. Throws InvalidInputError for a bad value, preset or config file.
 */
function resolveQuota(flags: GatewayFlags, mode: ProcessorMode): GatewayConfig['quota'] {
  const q = oneOf(flags.quota ?? 'auto', ['auto', 'sync', 'async', 'off'] as const, '--quota');
  if (q === 'off') return null;
  const config = resolveQuotaConfig({
    ...(flags.config !== undefined ? { file: flags.config } : {}),
    ...(flags['quota-preset'] !== undefined ? { preset: flags['quota-preset'] } : {}),
    overrides: { async_quota: { consumer: { worker_count: flags['quota-workers'], batch_size: flags['quota-batch-size'] }, store: { path: flags['quota-db'] } } },
  });
  const quotaMode = q === 'auto' ? (config.enabled ? mode : 'sync') : q;
  return { config, mode: quotaMode };
}

function deepFreeze<T extends object>(o: T): Readonly<T> {
  for (const v of Object.values(o)) if (v !== null && typeof v === 'object') deepFreeze(v as object);
  return Object.freeze(o);
}
