/**
 * VineQueue's errors (seed 002 "错误处理": ErrQueueClosed, ErrQueueFull, ErrCircuitOpen,
 * ErrBackpressure), one class per failure with a stable `GATECTL_*` code, in the style of src/errors.ts
 * (the seed's Go names are kept in each docstring).
 * Test with `instanceof` or with `err.code`.
 */
import { GatectlError } from '../errors.js';

/** Stable codes of the VineQueue errors. */
export const VINEQUEUE_CODES = Object.freeze({
  queueClosed: 'GATECTL_VINEQUEUE_CLOSED',
  queueFull: 'GATECTL_VINEQUEUE_FULL',
  circuitOpen: 'GATECTL_CIRCUIT_OPEN',
  backpressure: 'GATECTL_BACKPRESSURE',
  walKey: 'GATECTL_WAL_KEY',
  walCorrupt: 'GATECTL_WAL_CORRUPT',
  sink: 'GATECTL_SINK',
} as const);

/** enqueue after stop() began, or before start(). Code `GATECTL_VINEQUEUE_CLOSED` (seed 002's `ErrQueueClosed`, "queue is closed"). */
export class VineQueueClosedError extends GatectlError {
  constructor(message = 'queue is closed: enqueue was called before start() or after stop(); create and start a new queue') {
    super(message, VINEQUEUE_CODES.queueClosed);
  }
}

/**
 * The memory queue is full and the item could not overflow to the WAL (WAL disabled, or the WAL is at
 * `wal.maxBytes`). Code `GATECTL_VINEQUEUE_FULL` (seed 002's `ErrQueueFull`, "queue is full"). The item was not accepted.
 */
export class VineQueueFullError extends GatectlError {
  constructor(message: string) {
    super(message, VINEQUEUE_CODES.queueFull);
  }
}

/**
 * The circuit breaker is open and `circuitBreaker.failFast` is on, so enqueue refuses new items until
 * the half-open probe succeeds. Code `GATECTL_CIRCUIT_OPEN` (seed 002's `ErrCircuitOpen`, "circuit breaker is open": retry later).
 */
export class CircuitOpenError extends GatectlError {
  constructor(message: string) {
    super(message, VINEQUEUE_CODES.circuitOpen);
  }
}

/**
 * The queue depth is above `backpressure.threshold` and `backpressure.mode` is `reject`. Code
 * `BackpressureError` (seed 002 "backpressure active": slow down). `backoffMs` is the delay the queue
 * suggests before the next attempt, in ms.
 */
export class BackpressureError extends GatectlError {
  /** suggested delay before retrying, in ms */
  readonly backoffMs: number;
  constructor(message: string, backoffMs: number) {
    super(message, VINEQUEUE_CODES.backpressure);
    this.backoffMs = backoffMs;
  }
}

/**
 * The WAL cannot be read with the configured key: a segment is encrypted and no key is configured, or
 * the key does not match the segment's key check. Raised by start(); nothing is deleted. Code
 * `WalKeyError`; exit code 2 (the user fixes the key or its source).
 */
export class WalKeyError extends GatectlError {
  constructor(message: string) {
    super(message, VINEQUEUE_CODES.walKey);
  }
}

/**
 * A WAL segment file is not a VineQueue segment (bad magic or header). Raised by start(); nothing is
 * deleted. Code `GATECTL_WAL_CORRUPT` (seed 002's `ErrWalCorrupt`). (A corrupt or torn *record* is not an error: it is skipped and counted
 * in `wal_corrupt_records_total`.)
 */
export class WalCorruptError extends GatectlError {
  constructor(message: string) {
    super(message, VINEQUEUE_CODES.walCorrupt);
  }
}

/**
 * A sink refused a batch: non-2xx HTTP status (`status` set), connection failure, or no answer within
 * the send timeout. Code `GATECTL_SINK` (seed 002's `ErrSink`). The queue counts it in errors_total, retries, and feeds the breaker.
 */
export class SinkError extends GatectlError {
  /** HTTP status when the failure is a non-2xx answer, else undefined */
  readonly status: number | undefined;
  constructor(message: string, options?: { cause?: unknown; status?: number }) {
    super(message, VINEQUEUE_CODES.sink, options?.cause === undefined ? undefined : { cause: options.cause });
    this.status = options?.status;
  }
}
