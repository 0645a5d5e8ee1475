/**
 * Shapes of the async quota module (seed 003 配额事件结构, ConsumerStats), plus its errors.
 * user_id is a string (the gateway's Hello.user_id), where the seed's Go struct has int64.
 */
import { GatectlError } from '../errors.js';

/** Seed 003 `QuotaUsageEvent`: one consumption, published on the consumer's channel. */
export interface QuotaUsageEvent {
  /** the user charged (Hello.user_id) */
  user_id: string;
  /** a configured quota type, e.g. `requests` */
  quota_type: string;
  /** amount consumed, a finite number above 0 */
  value: number;
  /** when it was consumed, ms since the Unix epoch; selects the usage window */
  timestamp: number;
  /** the request's id (logged with a batch that fails) */
  request_id: string;
  /** free-form; not stored (usage is aggregated per window) */
  metadata?: Record<string, unknown>;
}

/** Result of `checkQuota`: usage of the current window as the check saw it. */
export interface QuotaCheckResult {
  /** true when `used + value <= limit` */
  allowed: boolean;
  /** the user's limit for this window (own limit, else the type's default) */
  limit: number;
  /** durable usage of the current window (the async path lags by up to flush_interval) */
  used: number;
  /** max(0, limit - used) */
  remaining: number;
}

/** Seed 003 `ConsumerStats`, plus `increments` (grouped store writes). Counts since start. */
export interface ConsumerStats {
  /** events accepted by the channel */
  total_events: number;
  /** events durably written by the consumer */
  processed_events: number;
  /** events whose batch still failed after all retries (each logged with its request id) */
  failed_events: number;
  /** events the channel refused (full or stopped); each one was consumed synchronously instead (降级机制), none lost */
  dropped_events: number;
  /** batches the consumer finished (written or failed) */
  batch_count: number;
  /** per-(user, quota_type, window) increments written: one per group of a batch (批量数据库操作) */
  increments: number;
  /** store attempts that failed and were retried */
  retries: number;
}

/** One aggregated store write: `delta` added to the usage of (user_id, quota_type, window_start). */
export interface UsageIncrement {
  user_id: string;
  quota_type: string;
  /** window start, ms since the Unix epoch */
  window_start: number;
  /** summed event values */
  delta: number;
}

/** ErrorResponse code for an exceeded quota (DESIGN §3). */
export const QUOTA_EXCEEDED_CODE = 429;

/**
 * A request over its quota. The gateway maps it to `ErrorResponse{code: 429}` (`status`), with
 * `message` as the response message. Carries the check result.
 */
export class QuotaExceededError extends GatectlError {
  /** ErrorResponse code: 429 */
  readonly status = QUOTA_EXCEEDED_CODE;
  constructor(readonly userId: string, readonly quotaType: string, readonly value: number, readonly result: QuotaCheckResult) {
    super(`quota exceeded: user ${userId} ${quotaType} used ${result.used} of ${result.limit} this window, asked for ${value}`, 'GATECTL_QUOTA_EXCEEDED');
  }
}

/** The quota store failed (a write after all retries, a read, or the store worker died). */
export class QuotaStoreError extends GatectlError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'GATECTL_QUOTA_STORE', options);
  }
}
