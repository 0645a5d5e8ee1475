/**
 * VineQueue's errors (seed 002 "错误处理": ErrQueueClosed, ErrQueueFull, ErrCircuitOpen,
 * ErrBackpressure), one class per failure with a stable `code`, in the style of src/errors.ts.
 * Test with `instanceof` or with `err.code`.
 */
import { EXIT_RUNTIME, EXIT_USAGE, GatectlError } from '../errors.js';

/** Stable codes of the VineQueue errors. */
export const VINEQUEUE_CODES = Object.freeze({
  queueClosed: 'ErrQueueClosed',
  queueFull: 'ErrQueueFull',
  circuitOpen: 'ErrCircuitOpen',
  backpressure: 'ErrBackpressure',
  walKey: 'ErrWalKey',
  walCorrupt: 'ErrWalCorrupt',
  sink: 'ErrSink',
} as const);

/** enqueue after stop() began, or before start(). Code `ErrQueueClosed` (seed 002 "queue is closed"). */
export class ErrQueueClosed extends GatectlError {
  constructor(message = 'queue is closed: enqueue was called before start() or after stop(); create and start a new queue') {
    super(message, VINEQUEUE_CODES.queueClosed, EXIT_RUNTIME);
  }
}

/**
 * The memory queue is full and the item could not overflow to the WAL (WAL disabled, or the WAL is at
 * `wal.maxBytes`). Code `ErrQueueFull` (seed 002 "queue is full"). The item was not accepted.
 */
export class ErrQueueFull extends GatectlError {
  constructor(message: string) {
    super(message, VINEQUEUE_CODES.queueFull, EXIT_RUNTIME);
  }
}

/**
 * The circuit breaker is open and `circuitBreaker.failFast` is on, so enqueue refuses new items until
 * the half-open probe succeeds. Code `ErrCircuitOpen` (seed 002 "circuit breaker is open": retry later).
 */
export class ErrCircuitOpen extends GatectlError {
  constructor(message: string) {
    super(message, VINEQUEUE_CODES.circuitOpen, EXIT_RUNTIME);
  }
}

/**
 * The queue depth is above `backpressure.threshold` and `backpressure.mode` is `reject`. Code
 * `ErrBackpressure` (seed 002 "backpressure active": slow down). `backoffMs` is the delay the queue
 * suggests before the next attempt, in ms.
 */
export class ErrBackpressure extends GatectlError {
  /** suggested delay before retrying, in ms */
  readonly backoffMs: number;
  constructor(message: string, backoffMs: number) {
    super(message, VINEQUEUE_CODES.backpressure, EXIT_RUNTIME);
    this.backoffMs = backoffMs;
  }
}

/**
 * The WAL cannot be read with the configured key: a segment is encrypted and no key is configured, or
 * the key does not match the segment's key check. Raised by start(); nothing is deleted. Code
 * `ErrWalKey`; exit code 2 (the user fixes the key or its source).
 */
export class ErrWalKey extends GatectlError {
  constructor(message: string) {
    super(message, VINEQUEUE_CODES.walKey, EXIT_USAGE);
  }
}

/**
 * A WAL segment file is not a VineQueue segment (bad magic or header). Raised by start(); nothing is
 * deleted. Code `ErrWalCorrupt`. (A corrupt or torn *record* is not an error: it is skipped and counted
 * in `wal_corrupt_records_total`.)
 */
export class ErrWalCorrupt extends GatectlError {
  constructor(message: string) {
    super(message, VINEQUEUE_CODES.walCorrupt, EXIT_RUNTIME);
  }
}

/**
 * A sink refused a batch: non-2xx HTTP status (`status` set), connection failure, or no answer within
 * the send timeout. Code `ErrSink`. The queue counts it in errors_total, retries, and feeds the breaker.
 */
export class ErrSink extends GatectlError {
  /** HTTP status when the failure is a non-2xx answer, else undefined */
  readonly status: number | undefined;
  constructor(message: string, options?: { cause?: unknown; status?: number }) {
    super(message, VINEQUEUE_CODES.sink, EXIT_RUNTIME, options?.cause === undefined ? undefined : { cause: options.cause });
    this.status = options?.status;
  }
}
