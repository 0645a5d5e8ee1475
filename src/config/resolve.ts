/**
 * Configuration resolution (DESIGN §1 config/): flags > environment (`QUEUE_*`) > mode profile >
 * defaults, validated, returned frozen. Durations use gatectl's one grammar (src/duration.ts: `500ms`, `20s`, `1m30s`).
 */
import { parseDurationMs } from '../duration.js';
import { InvalidInputError } from '../errors.js';
import { defaultQueueConfig, queueConfigFromEnv, type LockScope, type QueueConfig } from '../queue/index.js';
import {
  defaultProcessorConfig, DEFAULT_GATEWAY_MAX_FRAME_BYTES, DEFAULT_HELLO_TIMEOUT_MS, DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_HEADER_BYTES, DEFAULT_MAX_HEADER_ENTRIES, DEFAULT_PENDING_SESSIONS_SHARE, DEFAULT_TURN_BUDGET, HELLO_TIMEOUT_RANGE_MS,
  MAX_FRAME_BYTES_RANGE, type GatewayConfig, type ProcessorMode,
} from '../gateway/config.js';
import { DEFAULT_MOCK_UPSTREAM, LATENCY_DISTRIBUTIONS, type LatencyDistribution } from '../upstream/index.js';
import { resolveQuotaConfig } from '../quota/index.js';
import { defaultStateDir, stateFiles } from '../state-dir.js';
import { TRANSPORT_NAMES } from '../transport/index.js';

/** Accepted `--mode` values. */
export const MODES: readonly ProcessorMode[] = ['sync', 'async'];

/**
 * Parses a size in bytes: a whole number of bytes (`65536`) or one with a binary unit, `B`, `KiB` or
 * `MiB` (case-insensitive: `64KiB`, `1MiB`). Throws InvalidInputError naming `name`, the value and
 * the accepted forms.
 */
export function parseByteSize(input: string, name: string): number {
  const m = /^(\d+)\s*(b|kib|mib)?$/i.exec(input.trim());
  if (m === null) {
    throw new InvalidInputError(`${name} ${JSON.stringify(input)} is not a size: use bytes (65536) or a number with KiB or MiB (64KiB, 1MiB)`);
  }
  const unit = (m[2] ?? 'b').toLowerCase();
  return Number(m[1]) * (unit === 'mib' ? 1024 * 1024 : unit === 'kib' ? 1024 : 1);
}

/** Human form of a byte count for messages: `64KiB`, `16MiB`, or bytes. */
function sizeText(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)}MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024}KiB`;
  return `${bytes} bytes`;
}

/**
 * Checks that `value` (from flag `name`) is a whole number from `min` to `max`; throws
 * InvalidInputError naming the flag, the bad value and the accepted range (`why` explains a bound
 * that comes from another flag).
 */
export function inRange(value: number, name: string, min: number, max: number, why = ''): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidInputError(`${name} ${value} is out of range: use a whole number from ${min} to ${max}${why}`);
  }
  return value;
}

/**
 * `--max-frame-size` (a size such as `64KiB`), or its older spelling `--max-frame-bytes` (bytes);
 * default 64 KiB. Throws InvalidInputError for both at once, a bad size, or one outside 1 KiB .. 16 MiB.
 */
function maxFrameBytes(flags: GatewayFlags): number {
  const size = flags['max-frame-size'];
  const bytes = flags['max-frame-bytes'];
  if (size !== undefined && bytes !== undefined) {
    throw new InvalidInputError('--max-frame-size and --max-frame-bytes are the same setting: give only --max-frame-size');
  }
  if (size === undefined && bytes === undefined) return DEFAULT_GATEWAY_MAX_FRAME_BYTES;
  const name = size !== undefined ? '--max-frame-size' : '--max-frame-bytes';
  const value = size !== undefined ? parseByteSize(size, name) : bytes!;
  const { min, max } = MAX_FRAME_BYTES_RANGE;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidInputError(`${name} ${JSON.stringify(size ?? bytes)} is out of range: use ${sizeText(min)} to ${sizeText(max)} (${min} to ${max} bytes); the default is ${sizeText(DEFAULT_GATEWAY_MAX_FRAME_BYTES)}`);
  }
  return value;
}

/** `--hello-timeout` in ms: 0 (no deadline) or 100 ms .. 10 min; default 10 s. Throws InvalidInputError. */
function helloTimeoutMs(v: string | undefined): number {
  if (v === undefined) return DEFAULT_HELLO_TIMEOUT_MS;
  const t = parseDurationMs(v, '--hello-timeout', { allowZero: true });
  const { min, max } = HELLO_TIMEOUT_RANGE_MS;
  if (t !== 0 && (t < min || t > max)) {
    throw new InvalidInputError(`--hello-timeout ${JSON.stringify(v)} is out of range: use 0 (no deadline) or ${min}ms to ${max / 60_000}m`);
  }
  return t;
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
  /** QUIC: stateless retry (address validation) for new connections; default true */
  'quic-retry'?: boolean;
  'session-rate-limit'?: number;
  'send-queue-size'?: number;
  'max-queue-size'?: number;
  'batch-size'?: number;
  'lock-scope'?: string;
  /** older spelling of --max-frame-size, in bytes */
  'max-frame-bytes'?: number;
  /** largest frame: bytes or `64KiB`, `1MiB`; 1 KiB .. 16 MiB, default 64 KiB */
  'max-frame-size'?: string;
  /** Hello deadline, e.g. `10s`; `0` disables */
  'hello-timeout'?: string;
  /** sessions without a completed Hello, at most (default 10% of --max-sessions) */
  'max-pending-sessions'?: number;
  /** entries in one request's headers map, at most (default 64) */
  'max-header-entries'?: number;
  /** bytes of one request's header keys and values, at most (default 8192) */
  'max-header-bytes'?: number;
  /** fairness: bytes of one session's input decoded per event-loop turn (default 4096) */
  'turn-budget-bytes'?: number;
  /** fairness: messages of one session dispatched per event-loop turn (default 32) */
  'turn-budget-messages'?: number;
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
  /** issue 15: async quota consumption through a VineQueue WAL (crash-safe, replayed at start) */
  'quota-durable'?: boolean;
  /** WAL directory of --quota-durable */
  'quota-wal-dir'?: string;
  /** `interval` or `always` */
  'quota-wal-fsync'?: string;
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
 * State files the flags do not name (quota store, quota WAL, event WAL) go under `stateDir`
 * (src/state-dir.ts: serve's data directory by default; load and compare pass a temporary one).
 * Throws InvalidInputError for any bad value, naming the flag or variable.
 */
export function resolveGatewayConfig(flags: GatewayFlags, env: NodeJS.ProcessEnv = process.env, stateDir: string = defaultStateDir(env)): Readonly<GatewayConfig> {
  const files = stateFiles(stateDir);
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
  const maxSessions = flags['max-sessions'] ?? 100_000;
  const frameBytes = maxFrameBytes(flags);
  const maxPendingSessions = flags['max-pending-sessions'] !== undefined
    ? inRange(flags['max-pending-sessions'], '--max-pending-sessions', 1, maxSessions, ' (at most --max-sessions)')
    : Math.max(1, Math.ceil(maxSessions * DEFAULT_PENDING_SESSIONS_SHARE));
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
    maxFrameBytes: frameBytes,
    writeStallTimeoutMs: flags['write-stall-timeout'] !== undefined ? parseDurationMs(flags['write-stall-timeout'], '--write-stall-timeout', { allowZero: true }) : 10_000,
    maxSessions,
    quicRetry: flags['quic-retry'] ?? true,
    helloTimeoutMs: helloTimeoutMs(flags['hello-timeout']),
    maxPendingSessions,
    maxHeaderEntries: inRange(flags['max-header-entries'] ?? DEFAULT_MAX_HEADER_ENTRIES, '--max-header-entries', 0, 100_000),
    maxHeaderBytes: flags['max-header-bytes'] !== undefined
      ? inRange(flags['max-header-bytes'], '--max-header-bytes', 0, frameBytes, ' (at most --max-frame-size)')
      : Math.min(DEFAULT_MAX_HEADER_BYTES, frameBytes),
    turnBudget: {
      bytes: inRange(flags['turn-budget-bytes'] ?? DEFAULT_TURN_BUDGET.bytes, '--turn-budget-bytes', 1024, MAX_FRAME_BYTES_RANGE.max),
      messages: inRange(flags['turn-budget-messages'] ?? DEFAULT_TURN_BUDGET.messages, '--turn-budget-messages', 1, 100_000),
    },
    sessionRateLimit: flags['session-rate-limit'] ?? 0,
    idleTimeoutMs: flags['idle-timeout'] !== undefined ? parseDurationMs(flags['idle-timeout'], '--idle-timeout', { allowZero: true }) : DEFAULT_IDLE_TIMEOUT_MS,
    ...(flags.cert !== undefined ? { certPath: flags.cert, keyPath: flags.key } : {}),
    ...(flags.upstream !== undefined ? { upstreamUrl: httpUrl(flags.upstream, '--upstream') } : {}),
    quota: resolveQuota(flags, mode, files.quotaDb),
    ...resolveQuotaDurable(flags, files.quotaWalDir),
    ...(flags['events-url'] !== undefined ? { events: { url: httpUrl(flags['events-url'], '--events-url'), dir: flags['events-dir'] ?? files.eventsDir } } : {}),
  };
  return deepFreeze(config);
}

/**
 * The gateway's quota setting: `--quota auto` (default) consumes synchronously with `--mode sync`
 * and asynchronously with `--mode async` (issue 5: the compare profiles include the quota mode);
 * `async_quota.enabled: false` in the config makes every consume synchronous; `--quota off` turns
 * quota off. Throws InvalidInputError for a bad value, preset or config file.
 */
function resolveQuota(flags: GatewayFlags, mode: ProcessorMode, defaultStorePath: string): GatewayConfig['quota'] {
  const q = oneOf(flags.quota ?? 'auto', ['auto', 'sync', 'async', 'off'] as const, '--quota');
  if (q === 'off') return null;
  const config = resolveQuotaConfig({
    ...(flags.config !== undefined ? { file: flags.config } : {}),
    ...(flags['quota-preset'] !== undefined ? { preset: flags['quota-preset'] } : {}),
    overrides: { async_quota: { consumer: { worker_count: flags['quota-workers'], batch_size: flags['quota-batch-size'] }, store: { path: flags['quota-db'] } } },
    defaultStorePath,
  });
  const quotaMode = q === 'auto' ? (config.enabled ? mode : 'sync') : q;
  return { config, mode: quotaMode };
}

/**
 * `--quota-durable` (issue 15) → `{quotaDurable: {walDir, fsync}}`, else `{}`. Throws
 * InvalidInputError for `--quota-wal-dir`/`--quota-wal-fsync` without `--quota-durable`, for
 * `--quota-durable` with `--quota off`, and for an fsync value other than interval or always.
 */
function resolveQuotaDurable(flags: GatewayFlags, defaultWalDir: string): Pick<GatewayConfig, 'quotaDurable'> {
  if (flags['quota-durable'] !== true) {
    for (const f of ['quota-wal-dir', 'quota-wal-fsync'] as const) {
      if (flags[f] !== undefined) throw new InvalidInputError(`--${f} applies to --quota-durable: add --quota-durable or drop --${f}`);
    }
    return {};
  }
  if (flags.quota === 'off') throw new InvalidInputError('--quota-durable needs quota on: drop --quota off, or drop --quota-durable');
  const fsync = oneOf(flags['quota-wal-fsync'] ?? 'interval', ['interval', 'always'] as const, '--quota-wal-fsync');
  return { quotaDurable: { walDir: flags['quota-wal-dir'] ?? defaultWalDir, fsync } };
}

function deepFreeze<T extends object>(o: T): Readonly<T> {
  for (const v of Object.values(o)) if (v !== null && typeof v === 'object') deepFreeze(v as object);
  return Object.freeze(o);
}
