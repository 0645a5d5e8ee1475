/**
 * gatectl's error classes: one class per failure, each with a stable `GATECTL_*` code (undici
 * `lib/core/errors.js`: one class, one code). Runtime code throws them; only the command edge
 * decides what a code means for the process: the code → exit-code list is src/cli/exit-codes.ts
 * (k6 `errext/exitcodes`). Errors cross thread and process boundaries as {@link WireError}
 * (`{code, message}`) and are rebuilt by {@link errorFromWire}.
 */

/** Base class of every error gatectl raises on purpose. `code` is stable and machine-readable. */
export class GatectlError extends Error {
  /** Stable identifier, e.g. `GATECTL_BAD_INPUT`. */
  readonly code: string;

  constructor(message: string, code = 'GATECTL_ERROR', options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Bad user input: a flag, environment variable, scenario or result file (`GATECTL_BAD_INPUT`). */
export class InvalidInputError extends GatectlError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'GATECTL_BAD_INPUT', options);
  }
}

/** A frame that exceeds the maximum size or does not decode (DESIGN §3). */
export class FrameError extends GatectlError {
  /** `oversize` (length prefix above the limit), `decode` (protobuf decode failed) or `varint` (malformed length). */
  readonly reason: 'oversize' | 'decode' | 'varint';
  constructor(reason: 'oversize' | 'decode' | 'varint', message: string, options?: { cause?: unknown }) {
    super(message, 'GATECTL_FRAME', options);
    this.reason = reason;
  }
}

/** The ordered queue's waiting heap is full (`QUEUE_MAX_QUEUE_SIZE`); the message was not accepted. */
export class QueueFullError extends GatectlError {
  constructor(message: string) {
    super(message, 'GATECTL_QUEUE_FULL');
  }
}

/**
 * A session that does not read: its unwritten frames passed the session buffer limit, or one write
 * stalled longer than the write-stall timeout (issue 7). The gateway closes it as `slow_consumer`.
 */
export class SlowConsumerError extends GatectlError {
  constructor(message: string) {
    super(message, 'GATECTL_SLOW_CONSUMER');
  }
}

/** A transport failure: listen, dial, write or close. */
export class TransportError extends GatectlError {
  constructor(message: string, code = 'GATECTL_TRANSPORT', options?: { cause?: unknown }) {
    super(message, code, options);
  }
}

/** The address to listen on is already in use (`GATECTL_ADDRESS_IN_USE`): the user picks another port. */
export class AddressInUseError extends GatectlError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'GATECTL_ADDRESS_IN_USE', options);
  }
}

/** A target could not be reached within the connect timeout. */
export class ConnectTimeoutError extends TransportError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'GATECTL_CONNECT_TIMEOUT', options);
  }
}

/**
 * The run was interrupted (SIGINT, Ctrl-C) after its partial result was written
 * (`GATECTL_INTERRUPTED`; exit 130 as for any SIGINT). `result` is what `--json` prints.
 */
export class InterruptedError extends GatectlError {
  readonly result: unknown;
  constructor(message: string, result?: unknown) {
    super(message, 'GATECTL_INTERRUPTED');
    this.result = result;
  }
}

/** An error as it crosses a thread or process boundary (postMessage, IPC, JSON). */
export interface WireError {
  code: string;
  message: string;
}

/** `err` (an Error or a WireError-like object) as a {@link WireError}; a code that is not `GATECTL_*` (e.g. Node's `ENOENT`) becomes `GATECTL_ERROR`. */
export function errorToWire(err: unknown): WireError {
  if (typeof err === 'object' && err !== null) {
    const { code, message } = err as { code?: unknown; message?: unknown };
    if (err instanceof Error || typeof message === 'string') {
      return { code: typeof code === 'string' && code.startsWith('GATECTL_') ? code : 'GATECTL_ERROR', message: String(message) };
    }
  }
  return { code: 'GATECTL_ERROR', message: String(err) };
}

const REVIVERS: Readonly<Record<string, (message: string) => GatectlError>> = {
  GATECTL_BAD_INPUT: (m) => new InvalidInputError(m),
  GATECTL_ADDRESS_IN_USE: (m) => new AddressInUseError(m),
  GATECTL_CONNECT_TIMEOUT: (m) => new ConnectTimeoutError(m),
  GATECTL_TRANSPORT: (m) => new TransportError(m),
  GATECTL_QUEUE_FULL: (m) => new QueueFullError(m),
  GATECTL_SLOW_CONSUMER: (m) => new SlowConsumerError(m),
  GATECTL_INTERRUPTED: (m) => new InterruptedError(m),
};

/**
 * Rebuilds a {@link WireError} as its class (InvalidInputError for `GATECTL_BAD_INPUT`, …); a code
 * without a class here becomes a GatectlError with that code, so the exit code stays right.
 */
export function errorFromWire(w: Partial<WireError>): GatectlError {
  const code = typeof w.code === 'string' && w.code !== '' ? w.code : 'GATECTL_ERROR';
  const message = w.message ?? code;
  return REVIVERS[code]?.(message) ?? new GatectlError(message, code);
}

/**
 * A benchmark's own pass/fail checks failed (`gatectl bench soak`: a lost response, an order
 * violation, a fault not handled, e2e p99 or RSS growth over its bound); its result files were
 * written first and name the failed checks (`GATECTL_BENCH_FAILED`, exit 1).
 */
export class BenchFailedError extends GatectlError {
  constructor(message: string) {
    super(message, 'GATECTL_BENCH_FAILED');
  }
}
