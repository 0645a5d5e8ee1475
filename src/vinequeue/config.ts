/**
 * VineQueue configuration (seed 002 "V2配置示例", "性能调优", "迁移指南"): `defaultConfig()` is the V1
 * baseline, `v2Config()` (alias `V4Config` / `v4Config`, the name of the seed's sample) the optimised
 * one. Field names are the seed's in camelCase (EnableCompression → enableCompression …). A config is
 * a plain object: copy it, change fields, pass it to `create()`.
 */
import os from 'node:os';
import { InvalidInputError } from '../errors.js';

/** `v1`: one mutex-guarded FIFO consumed item by item, one sender. `v2`: double buffer swapped without copying, processor and sender pools. */
export type Architecture = 'v1' | 'v2';

/** Full configuration. Units are in the field names (…Ms = ms, …Bytes = bytes, sizes in items). */
export interface VineQueueConfig {
  /** queue design, see {@link Architecture} */
  architecture: Architecture;
  /** a batch is sent when it holds this many items (seed: 1000) */
  batchSize: number;
  /** …or when the oldest unsent item has waited this long, in ms (seed: 5 s) */
  flushIntervalMs: number;
  /** items held in memory at most; beyond it items overflow to the WAL, or enqueue rejects with VineQueueFullError */
  memoryQueueSize: number;
  /** batches being prepared (sink `prepare`, e.g. NDJSON + gzip on the libuv pool) at once (seed ProcessorPoolSize = NumCPU) */
  processorPoolSize: number;
  /** batches in flight to the sink at once (seed SenderPoolSize = NumCPU × 2) */
  senderPoolSize: number;
  /** v2: hand the swapped-out buffer to the sender as the batch, no item copy (seed UseZeroCopy) */
  useZeroCopy: boolean;
  /** a send that has not settled after this many ms is aborted and counted as a failure; 0 = no limit */
  sendTimeoutMs: number;
  /** attempts after the first failure before a batch is dropped (WAL off) — with the WAL on a batch is never dropped */
  maxRetries: number;
  /** first retry delay in ms; doubles each attempt (exponential backoff) */
  retryBaseMs: number;
  /** retry delay cap in ms */
  retryMaxMs: number;
  /** random share of the delay, 0..1 (0.2 = ±20 % jitter) */
  retryJitter: number;
  /** seed EnableCircuitBreaker */
  enableCircuitBreaker: boolean;
  /** consecutive failed sends that open the breaker */
  breakerFailureThreshold: number;
  /** ms the breaker stays open before one half-open probe */
  breakerCoolDownMs: number;
  /** while open, enqueue rejects with CircuitOpenError instead of queueing (default false: items wait, in the WAL if on) */
  breakerFailFast: boolean;
  /** seed EnableBackpressure */
  enableBackpressure: boolean;
  /** queue depth (memory + WAL backlog, items) above which backpressure engages */
  backpressureThreshold: number;
  /** `delay`: enqueue waits BackoffMs before accepting; `reject`: enqueue rejects with BackpressureError */
  backpressureMode: 'delay' | 'reject';
  /** largest backpressure delay in ms (reached when the depth reaches memoryQueueSize) */
  backpressureMaxDelayMs: number;
  /** write-ahead log on/off; needs walDir */
  enableWal: boolean;
  /** directory of the segment files `vq-<16 digits>.wal` (created if missing) */
  walDir: string;
  /** a segment is sealed and a new one started beyond this size, in bytes */
  walSegmentBytes: number;
  /** WAL bytes at most; an overflowing enqueue beyond it rejects with VineQueueFullError */
  walMaxBytes: number;
  /** `always`: fdatasync before enqueue resolves; `interval`: fdatasync every walFsyncIntervalMs */
  walFsync: 'always' | 'interval';
  /** fdatasync period in ms for walFsync `interval` */
  walFsyncIntervalMs: number;
  /**
   * Write each group commit with `writevSync` on the event loop (a page-cache write of a few µs)
   * instead of on the libuv thread pool: lower enqueue latency (no pool round trip, no queueing
   * behind other pool work such as fdatasync or gzip), at the cost of blocking the loop for that
   * write. Default false. (`serve --quota-durable` turns it on: each answer waits for its write.)
   */
  walSyncWrite: boolean;
  /** seed EnableCompression: compress each WAL record */
  enableCompression: boolean;
  /** seed CompressionType; only `snappy` */
  compressionType: 'snappy';
  /** AES-256-GCM for WAL records */
  enableEncryption: boolean;
  /** environment variable holding the 32-byte key as 64 hex digits or base64 */
  encryptionKeyEnv: string;
  /** file holding the key (32 raw bytes, or hex/base64 text); takes precedence over the env variable */
  encryptionKeyFile: string | null;
}

/** CPUs the queue sizes its pools from (os.availableParallelism()). */
export function cpuCount(): number {
  return os.availableParallelism();
}

/**
 * The V1 baseline (seed 002 "V1配置 DefaultConfig()"): architecture v1, one processor and one sender,
 * no zero-copy, no breaker, no backpressure, WAL off. Batches of 1000 items or 5 s.
 */
export function defaultConfig(): VineQueueConfig {
  return {
    architecture: 'v1',
    batchSize: 1000,
    flushIntervalMs: 5000,
    memoryQueueSize: 100_000,
    processorPoolSize: 1,
    senderPoolSize: 1,
    useZeroCopy: false,
    sendTimeoutMs: 10_000,
    maxRetries: 3,
    retryBaseMs: 100,
    retryMaxMs: 10_000,
    retryJitter: 0.2,
    enableCircuitBreaker: false,
    breakerFailureThreshold: 5,
    breakerCoolDownMs: 30_000,
    breakerFailFast: false,
    enableBackpressure: false,
    backpressureThreshold: 80_000,
    backpressureMode: 'delay',
    backpressureMaxDelayMs: 100,
    enableWal: false,
    walDir: '',
    walSegmentBytes: 16 * 1024 * 1024,
    walMaxBytes: 1024 * 1024 * 1024,
    walFsync: 'interval',
    walFsyncIntervalMs: 1000,
    walSyncWrite: false,
    enableCompression: false,
    compressionType: 'snappy',
    enableEncryption: false,
    encryptionKeyEnv: 'VINEQUEUE_WAL_KEY',
    encryptionKeyFile: null,
  };
}

/**
 * The optimised V2 configuration (seed 002 "V4Config()"): architecture v2, zero-copy double buffer,
 * processorPoolSize = CPUs, senderPoolSize = 2 × CPUs, circuit breaker (5 failures, 30 s cool-down),
 * backpressure (delay above 80 % of the memory queue, up to 100 ms). WAL off until walDir is set and
 * enableWal turned on.
 */
export function v2Config(): VineQueueConfig {
  const cpus = cpuCount();
  return {
    ...defaultConfig(),
    architecture: 'v2',
    processorPoolSize: cpus,
    senderPoolSize: cpus * 2,
    useZeroCopy: true,
    enableCircuitBreaker: true,
    enableBackpressure: true,
  };
}

/** The seed's name for {@link v2Config}. */
export const V4Config = v2Config;
/** camelCase alias of {@link v2Config}. */
export const v4Config = v2Config;

/**
 * Checks a configuration. Throws InvalidInputError naming the field, the value and the allowed range.
 */
export function validateConfig(c: VineQueueConfig): void {
  const int = (name: keyof VineQueueConfig, min: number) => {
    const v = c[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new InvalidInputError(`vinequeue config ${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  };
  if (c.architecture !== 'v1' && c.architecture !== 'v2') throw new InvalidInputError(`vinequeue config architecture must be 'v1' or 'v2', got ${JSON.stringify(c.architecture)}`);
  int('batchSize', 1); int('flushIntervalMs', 1); int('memoryQueueSize', 1); int('processorPoolSize', 1); int('senderPoolSize', 1);
  int('sendTimeoutMs', 0); int('maxRetries', 0); int('retryBaseMs', 0); int('retryMaxMs', 0);
  int('breakerFailureThreshold', 1); int('breakerCoolDownMs', 0); int('backpressureThreshold', 0); int('backpressureMaxDelayMs', 0);
  int('walSegmentBytes', 4096); int('walMaxBytes', 4096); int('walFsyncIntervalMs', 1);
  if (!(c.retryJitter >= 0 && c.retryJitter <= 1)) throw new InvalidInputError(`vinequeue config retryJitter must be within 0..1, got ${c.retryJitter}`);
  if (c.backpressureMode !== 'delay' && c.backpressureMode !== 'reject') throw new InvalidInputError(`vinequeue config backpressureMode must be 'delay' or 'reject', got ${JSON.stringify(c.backpressureMode)}`);
  if (c.walFsync !== 'always' && c.walFsync !== 'interval') throw new InvalidInputError(`vinequeue config walFsync must be 'always' or 'interval', got ${JSON.stringify(c.walFsync)}`);
  if (typeof c.walSyncWrite !== 'boolean') throw new InvalidInputError(`vinequeue config walSyncWrite must be true or false, got ${JSON.stringify(c.walSyncWrite)}`);
  if (c.compressionType !== 'snappy') throw new InvalidInputError(`vinequeue config compressionType must be 'snappy', got ${JSON.stringify(c.compressionType)}`);
  if (c.enableWal && c.walDir === '') throw new InvalidInputError('vinequeue config enableWal needs walDir: set walDir to a directory for the segment files');
  if ((c.enableEncryption || c.enableCompression) && !c.enableWal) throw new InvalidInputError('vinequeue config enableEncryption / enableCompression apply to the WAL: turn enableWal on (with walDir) or turn them off');
}
