/**
 * Async-quota configuration (seed 003 配置优化): the seed's `async_quota` keys and defaults, its two
 * presets (高并发场景优化 → `high-concurrency`, 低延迟场景优化 → `low-latency`), read from a YAML file
 * (`yaml` package) and overridable by explicit values. Durations use the `ms` library's syntax
 * (`5s`, `100ms`, `1m`).
 *
 * gatectl extensions (not in the seed, documented in docs/quota.md): `async_quota.store.path`,
 * `async_quota.store.synchronous` and `async_quota.quota_types.<name>.{limit,window}`.
 *
 * Precedence (lowest first): defaults < preset < file < overrides.
 */
import { readFileSync } from 'node:fs';
import { durationMsOrUndefined, formatDurationMs } from '../duration.js';
import { parse as parseYaml, YAMLError } from 'yaml';
import { InvalidInputError } from '../errors.js';
import { defaultStateDir, stateFiles } from '../state-dir.js';

/** Consumer settings (seed 003 `async_quota.consumer.*`). Durations in ms. */
export interface QuotaConsumerConfig {
  /** `worker_count`: batching workers (seed default 3). */
  workerCount: number;
  /** `channel_size`: bound of the event channel (seed default 1000); beyond it, the synchronous fallback. */
  channelSize: number;
  /** `batch_size`: events per batch before a write (seed default 10). */
  batchSize: number;
  /** `flush_interval`: a partial batch is written at least this often, in ms (seed default 5 s). */
  flushIntervalMs: number;
  /** `retry_attempts`: retries after a failed batch write, so 1 + retry_attempts attempts in all (seed default 3). */
  retryAttempts: number;
  /** `retry_delay`: pause between attempts, in ms (seed default 100 ms). */
  retryDelayMs: number;
}

/** One quota type: its limit per fixed window (windows aligned to the Unix epoch). */
export interface QuotaTypeConfig {
  /** default limit per user per window (a user's own limit in the store overrides it) */
  limit: number;
  /** window length in ms */
  windowMs: number;
}

/** SQLite `synchronous` pragma for the WAL journal: `normal` (commit durable against a process crash) or `full` (fsync per commit). */
export type QuotaSynchronous = 'normal' | 'full';

/** Effective, validated quota configuration (frozen by `resolveQuotaConfig`). */
export interface QuotaConfig {
  /** `async_quota.enabled`: async consumption when true; false makes every consume synchronous. */
  enabled: boolean;
  consumer: QuotaConsumerConfig;
  store: {
    /** `async_quota.store.path`: SQLite file, created on first run (default: quota.db in the state directory, src/state-dir.ts). */
    path: string;
    /** `async_quota.store.synchronous` */
    synchronous: QuotaSynchronous;
  };
  /** `async_quota.quota_types`: the accepted quota types; anything else is refused. */
  quotaTypes: Readonly<Record<string, QuotaTypeConfig>>;
  /** Where the values came from (for /quota/stats and run records). */
  source: { preset: QuotaPresetName; file: string | null };
}

/** Names accepted by `preset`. */
export const QUOTA_PRESET_NAMES = ['default', 'high-concurrency', 'low-latency'] as const;
/** A preset name. */
export type QuotaPresetName = (typeof QUOTA_PRESET_NAMES)[number];


/** Seed 003 默认配置. */
export const DEFAULT_CONSUMER_CONFIG: Readonly<QuotaConsumerConfig> = Object.freeze({
  workerCount: 3, channelSize: 1000, batchSize: 10, flushIntervalMs: 5000, retryAttempts: 3, retryDelayMs: 100,
});

/**
 * The seed's presets, as partial consumer settings over the defaults. Seed 003 高并发场景优化:
 * 5 workers, channel 2000, batch 20, flush 3 s; 低延迟场景优化: 2 workers, channel 500, batch 5, flush 1 s.
 */
export const QUOTA_PRESETS: Readonly<Record<QuotaPresetName, Readonly<Partial<QuotaConsumerConfig>>>> = Object.freeze({
  default: {},
  'high-concurrency': { workerCount: 5, channelSize: 2000, batchSize: 20, flushIntervalMs: 3000 },
  'low-latency': { workerCount: 2, channelSize: 500, batchSize: 5, flushIntervalMs: 1000 },
});

/** Default quota types: `requests` (1 per business request), 100000 per user per minute. */
export const DEFAULT_QUOTA_TYPES: Readonly<Record<string, QuotaTypeConfig>> = Object.freeze({
  requests: { limit: 100_000, windowMs: 60_000 },
});

/**
 * The YAML shape (and the shape of `overrides`): snake_case keys as in seed 003. Durations are
 * strings with a unit (`"5s"`); in `overrides` a number is also accepted and read as ms.
 */
export interface QuotaConfigInput {
  async_quota?: {
    enabled?: boolean;
    consumer?: {
      worker_count?: number;
      channel_size?: number;
      batch_size?: number;
      flush_interval?: string | number;
      retry_attempts?: number;
      retry_delay?: string | number;
    };
    store?: { path?: string; synchronous?: QuotaSynchronous };
    quota_types?: Record<string, { limit?: number; window?: string | number }>;
  };
}

/** Options of `resolveQuotaConfig`. */
export interface ResolveQuotaConfigOptions {
  /** YAML file with an `async_quota:` section. */
  file?: string;
  /** preset name (`default`, `high-concurrency`, `low-latency`) */
  preset?: string;
  /** explicit values (e.g. from flags), same shape as the file; `undefined` leaves are ignored */
  overrides?: QuotaConfigInput;
  /** the store file when neither `file` nor `overrides` names one (default: quota.db in the state directory, src/state-dir.ts) */
  defaultStorePath?: string;
  /** top-level keys other than `async_quota` that the file may contain (ignored here); others are refused */
  otherSections?: readonly string[];
}

const CONSUMER_KEYS = ['worker_count', 'channel_size', 'batch_size', 'flush_interval', 'retry_attempts', 'retry_delay'] as const;
const INT_RANGES: Record<'worker_count' | 'channel_size' | 'batch_size' | 'retry_attempts', [number, number]> = {
  worker_count: [1, 64],
  channel_size: [1, 1_000_000],
  batch_size: [1, 10_000],
  retry_attempts: [0, 100],
};

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Builds the error message prefix: `FILE: ` or `overrides: `. */
class Checker {
  constructor(private readonly where: string) {}

  fail(path: string, rule: string, got: unknown): never {
    throw new InvalidInputError(`${this.where}: ${path} must be ${rule}, got ${JSON.stringify(got) ?? String(got)}`);
  }

  keys(path: string, obj: unknown, allowed: readonly string[]): Record<string, unknown> {
    if (!isPlainObject(obj)) this.fail(path, `a mapping with keys ${allowed.join(', ')}`, obj);
    for (const k of Object.keys(obj)) {
      if (!allowed.includes(k)) {
        throw new InvalidInputError(`${this.where}: unknown key ${path}.${k}: accepted keys under ${path} are ${allowed.join(', ')}`);
      }
    }
    return obj;
  }

  int(path: string, v: unknown, [lo, hi]: [number, number]): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) this.fail(path, `an integer ${lo}..${hi}`, v);
    return v;
  }

  positive(path: string, v: unknown): number {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) this.fail(path, 'a number above 0', v);
    return v;
  }

  bool(path: string, v: unknown): boolean {
    if (typeof v !== 'boolean') this.fail(path, 'true or false', v);
    return v;
  }

  /** Duration `"5s"`/`"100ms"` (or a number of ms when `numbersAreMs`), within [loMs, hiMs]. */
  duration(path: string, v: unknown, loMs: number, hiMs: number, numbersAreMs: boolean): number {
    const rule = `a duration with a unit from ${formatDurationMs(loMs)} to ${formatDurationMs(hiMs)}, e.g. "100ms" or "5s"`;
    let out: number | undefined;
    if (typeof v === 'number' && numbersAreMs) out = v;
    else if (typeof v === 'string' && v.trim() !== '0') out = durationMsOrUndefined(v);
    if (out === undefined || !Number.isFinite(out) || out < loMs || out > hiMs) this.fail(path, rule, v);
    return out;
  }
}

interface Mutable {
  enabled: boolean;
  consumer: QuotaConsumerConfig;
  store: { path: string; synchronous: QuotaSynchronous };
  quotaTypes: Record<string, QuotaTypeConfig>;
}

/** Applies one input (file or overrides) onto `out`, validating every key. */
function applyInput(out: Mutable, input: unknown, c: Checker, numbersAreMs: boolean, otherSections: readonly string[]): void {
  if (input === undefined || input === null) return;
  const top = c.keys('(top level)', input, ['async_quota', ...otherSections]);
  const aq = top.async_quota;
  if (aq === undefined || aq === null) return;
  const a = c.keys('async_quota', aq, ['enabled', 'consumer', 'store', 'quota_types']);
  if (a.enabled !== undefined) out.enabled = c.bool('async_quota.enabled', a.enabled);
  if (a.consumer !== undefined && a.consumer !== null) {
    const k = c.keys('async_quota.consumer', a.consumer, CONSUMER_KEYS);
    const p = (key: string) => `async_quota.consumer.${key}`;
    if (k.worker_count !== undefined) out.consumer.workerCount = c.int(p('worker_count'), k.worker_count, INT_RANGES.worker_count);
    if (k.channel_size !== undefined) out.consumer.channelSize = c.int(p('channel_size'), k.channel_size, INT_RANGES.channel_size);
    if (k.batch_size !== undefined) out.consumer.batchSize = c.int(p('batch_size'), k.batch_size, INT_RANGES.batch_size);
    if (k.retry_attempts !== undefined) out.consumer.retryAttempts = c.int(p('retry_attempts'), k.retry_attempts, INT_RANGES.retry_attempts);
    if (k.flush_interval !== undefined) out.consumer.flushIntervalMs = c.duration(p('flush_interval'), k.flush_interval, 1, 3_600_000, numbersAreMs);
    if (k.retry_delay !== undefined) out.consumer.retryDelayMs = c.duration(p('retry_delay'), k.retry_delay, 0, 60_000, numbersAreMs);
  }
  if (a.store !== undefined && a.store !== null) {
    const s = c.keys('async_quota.store', a.store, ['path', 'synchronous']);
    if (s.path !== undefined) {
      if (typeof s.path !== 'string' || s.path.trim() === '') c.fail('async_quota.store.path', 'a non-empty file path', s.path);
      out.store.path = s.path;
    }
    if (s.synchronous !== undefined) {
      if (s.synchronous !== 'normal' && s.synchronous !== 'full') c.fail('async_quota.store.synchronous', 'one of normal, full', s.synchronous);
      out.store.synchronous = s.synchronous;
    }
  }
  if (a.quota_types !== undefined && a.quota_types !== null) {
    if (!isPlainObject(a.quota_types)) c.fail('async_quota.quota_types', 'a mapping of type name to {limit, window}', a.quota_types);
    for (const [name, def] of Object.entries(a.quota_types)) {
      const path = `async_quota.quota_types.${name}`;
      if (!/^[a-z][a-z0-9_]{0,63}$/.test(name)) c.fail(`${path} (name)`, 'lowercase letters, digits and _ (starting with a letter, at most 64)', name);
      const d = c.keys(path, def, ['limit', 'window']);
      const prev = out.quotaTypes[name];
      const limit = d.limit !== undefined ? c.positive(`${path}.limit`, d.limit) : prev?.limit;
      const windowMs = d.window !== undefined ? c.duration(`${path}.window`, d.window, 1000, 366 * 86_400_000, numbersAreMs) : prev?.windowMs;
      if (limit === undefined) c.fail(`${path}.limit`, 'a number above 0 (required for a new type)', undefined);
      if (windowMs === undefined) c.fail(`${path}.window`, 'a duration such as "1m" (required for a new type)', undefined);
      out.quotaTypes[name] = { limit, windowMs };
    }
  }
}

/** Drops `undefined` leaves so that flag objects with unset flags can be passed as overrides. */
function pruneUndefined(v: unknown): unknown {
  if (!isPlainObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = pruneUndefined(x);
  return out;
}

/** Reads and parses a YAML file. Throws InvalidInputError naming the file (and line for syntax errors). */
export function readQuotaConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidInputError(`${file}: cannot read the quota config file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): check the --config path`, { cause: err });
  }
  try {
    return parseYaml(text);
  } catch (err) {
    const pos = err instanceof YAMLError && err.linePos ? ` at line ${err.linePos[0].line}, column ${err.linePos[0].col}` : '';
    throw new InvalidInputError(`${file}: not valid YAML${pos}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
}

/**
 * Resolves the quota configuration: defaults (seed 003 默认配置) < preset < `file` < `overrides`,
 * every value validated. Returns a frozen QuotaConfig.
 *
 * Throws InvalidInputError naming the file (or `overrides`), the key path, the bad value and the
 * accepted range, e.g. `quota.yaml: async_quota.consumer.batch_size must be an integer 1..10000, got 0`;
 * an unknown key lists the accepted keys; an unknown preset lists the preset names.
 */
export function resolveQuotaConfig(opts: ResolveQuotaConfigOptions = {}): QuotaConfig {
  const presetName = (opts.preset ?? 'default') as QuotaPresetName;
  if (!QUOTA_PRESET_NAMES.includes(presetName)) {
    throw new InvalidInputError(`quota preset ${JSON.stringify(opts.preset)} is not known: use one of ${QUOTA_PRESET_NAMES.join(', ')}`);
  }
  const out: Mutable = {
    enabled: true,
    consumer: { ...DEFAULT_CONSUMER_CONFIG, ...QUOTA_PRESETS[presetName] },
    store: { path: opts.defaultStorePath ?? stateFiles(defaultStateDir()).quotaDb, synchronous: 'normal' },
    quotaTypes: Object.fromEntries(Object.entries(DEFAULT_QUOTA_TYPES).map(([k, v]) => [k, { ...v }])),
  };
  const other = opts.otherSections ?? [];
  if (opts.file !== undefined) applyInput(out, readQuotaConfigFile(opts.file), new Checker(opts.file), false, other);
  if (opts.overrides !== undefined) applyInput(out, pruneUndefined(opts.overrides), new Checker('overrides'), true, []);
  const types: Record<string, QuotaTypeConfig> = {};
  for (const [k, v] of Object.entries(out.quotaTypes)) types[k] = Object.freeze({ ...v });
  return Object.freeze({
    enabled: out.enabled,
    consumer: Object.freeze(out.consumer),
    store: Object.freeze(out.store),
    quotaTypes: Object.freeze(types),
    source: Object.freeze({ preset: presetName, file: opts.file ?? null }),
  });
}

/** The configuration in the seed's YAML shape (snake_case, durations as `ms` strings), for /quota/stats and run records. */
export function quotaConfigToJson(c: QuotaConfig): Record<string, unknown> {
  return {
    async_quota: {
      enabled: c.enabled,
      consumer: {
        worker_count: c.consumer.workerCount,
        channel_size: c.consumer.channelSize,
        batch_size: c.consumer.batchSize,
        flush_interval: formatDurationMs(c.consumer.flushIntervalMs),
        retry_attempts: c.consumer.retryAttempts,
        retry_delay: formatDurationMs(c.consumer.retryDelayMs),
      },
      store: { path: c.store.path, synchronous: c.store.synchronous },
      quota_types: Object.fromEntries(Object.entries(c.quotaTypes).map(([k, v]) => [k, { limit: v.limit, window: formatDurationMs(v.windowMs) }])),
    },
    preset: c.source.preset,
    file: c.source.file,
  };
}
