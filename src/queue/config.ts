/**
 * Ordered-queue configuration: the `QUEUE_*` environment contract of seed 000 (配置管理, 性能调优指南)
 * plus `QUEUE_SEND_BATCH_SIZE` (seed 001 方案2) and `QUEUE_LOCK_SCOPE` (DESIGN §4).
 */
import { InvalidInputError } from '../errors.js';

/** Where the queue lock lives: one for all sessions (seed 001: "1000 clients contend for the same queueMux") or one per session. */
export type LockScope = 'global' | 'session';

/** Effective queue configuration. */
export interface QueueConfig {
  /** `QUEUE_ENABLE_ASYNC_SEND`: async send mode (seed 000 Plan A) when true, sync (send under the lock) when false. */
  enableAsyncSend: boolean;
  /** `QUEUE_SEND_WORKER_COUNT`: send workers in async mode. */
  sendWorkerCount: number;
  /** `QUEUE_SEND_QUEUE_SIZE`: bound of the async send task queue; beyond it, a synchronous fallback send. */
  sendQueueSize: number;
  /** `QUEUE_MAX_QUEUE_SIZE`: bound of each session's waiting (out-of-order) heap. */
  maxQueueSize: number;
  /** `QUEUE_SEND_BATCH_SIZE`: ready frames of one session coalesced into one write by a worker. */
  sendBatchSize: number;
  /** `QUEUE_LOCK_SCOPE`: `global` or `session`. */
  lockScope: LockScope;
  /** `QUEUE_ENABLE_DEBUG_LOG`: per-message debug lines on stderr. */
  enableDebugLog: boolean;
  /**
   * Frames one session may have ready but unwritten (async mode) before it is a slow consumer
   * (issue 7): the next enqueue rejects with SlowConsumerError and the gateway closes the session.
   * Flag `--session-buffer-limit`, not a seed 000 variable. Default 10000.
   */
  sessionBufferLimit: number;
}

/** Defaults of seed 000 (batch size 10 from seed 001 方案2's maxBatchSize). Lock scope: global in sync mode, session in async mode. */
export function defaultQueueConfig(enableAsyncSend = true): QueueConfig {
  return {
    enableAsyncSend,
    sendWorkerCount: 4,
    sendQueueSize: 1000,
    maxQueueSize: 1000,
    sendBatchSize: 10,
    lockScope: enableAsyncSend ? 'session' : 'global',
    enableDebugLog: false,
    sessionBufferLimit: 10_000,
  };
}

/** Fields set by a seed 000 `QUEUE_*` variable (the others are gatectl flags only). */
export type QueueEnvField = Exclude<keyof QueueConfig, 'sessionBufferLimit'>;

/** Names of the seed 000 environment variables, keyed by config field. */
export const QUEUE_ENV: Record<QueueEnvField, string> = {
  enableAsyncSend: 'QUEUE_ENABLE_ASYNC_SEND',
  sendWorkerCount: 'QUEUE_SEND_WORKER_COUNT',
  sendQueueSize: 'QUEUE_SEND_QUEUE_SIZE',
  maxQueueSize: 'QUEUE_MAX_QUEUE_SIZE',
  sendBatchSize: 'QUEUE_SEND_BATCH_SIZE',
  lockScope: 'QUEUE_LOCK_SCOPE',
  enableDebugLog: 'QUEUE_ENABLE_DEBUG_LOG',
};

function parseBool(name: string, v: string): boolean {
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new InvalidInputError(`${name}=${JSON.stringify(v)} is not valid: accepted values are true or false`);
}

function parsePositiveInt(name: string, v: string, max = 1_000_000): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < 1 || n > max) {
    throw new InvalidInputError(`${name}=${JSON.stringify(v)} is not valid: use a whole number from 1 to ${max}`);
  }
  return n;
}

/**
 * Reads the `QUEUE_*` variables present in `env` (others are left out of the result).
 * Throws InvalidInputError naming the variable and the accepted values.
 */
export function queueConfigFromEnv(env: NodeJS.ProcessEnv): Partial<QueueConfig> {
  const out: Partial<QueueConfig> = {};
  const get = (k: QueueEnvField): string | undefined => {
    const v = env[QUEUE_ENV[k]];
    return v === undefined || v === '' ? undefined : v;
  };
  let v: string | undefined;
  if ((v = get('enableAsyncSend')) !== undefined) out.enableAsyncSend = parseBool(QUEUE_ENV.enableAsyncSend, v);
  if ((v = get('sendWorkerCount')) !== undefined) out.sendWorkerCount = parsePositiveInt(QUEUE_ENV.sendWorkerCount, v, 1024);
  if ((v = get('sendQueueSize')) !== undefined) out.sendQueueSize = parsePositiveInt(QUEUE_ENV.sendQueueSize, v);
  if ((v = get('maxQueueSize')) !== undefined) out.maxQueueSize = parsePositiveInt(QUEUE_ENV.maxQueueSize, v);
  if ((v = get('sendBatchSize')) !== undefined) out.sendBatchSize = parsePositiveInt(QUEUE_ENV.sendBatchSize, v, 1000);
  if ((v = get('lockScope')) !== undefined) {
    if (v !== 'global' && v !== 'session') {
      throw new InvalidInputError(`${QUEUE_ENV.lockScope}=${JSON.stringify(v)} is not valid: accepted values are global or session`);
    }
    out.lockScope = v;
  }
  if ((v = get('enableDebugLog')) !== undefined) out.enableDebugLog = parseBool(QUEUE_ENV.enableDebugLog, v);
  return out;
}
