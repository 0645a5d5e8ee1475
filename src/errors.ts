/**
 * gatectl's error classes: one class per failure, each with a stable `code` and the exit code a
 * command returns for it. Modelled on undici `lib/core/errors.js` (one class, one code) and k6
 * `errext/exitcodes` (typed exit codes).
 *
 * Exit codes (DESIGN §6): 0 ok, 2 bad usage or input, 99 a threshold failed, 1 anything else.
 */

/** Exit code for bad usage or bad input (flags, env, files). */
export const EXIT_USAGE = 2;
/** Exit code for runtime failures (network, target, I/O). */
export const EXIT_RUNTIME = 1;
/** Exit code for failed thresholds (k6 convention). */
export const EXIT_THRESHOLD = 99;

/** Base class of every error gatectl raises on purpose. `code` is stable and machine-readable. */
export class GatectlError extends Error {
  /** Stable identifier, e.g. `GATECTL_BAD_INPUT`. */
  readonly code: string;
  /** Process exit code a command should return for this error. */
  readonly exitCode: number;

  constructor(message: string, code = 'GATECTL_ERROR', exitCode = EXIT_RUNTIME, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** Bad user input: a flag, environment variable, scenario or result file. Exit code 2. */
export class InvalidInputError extends GatectlError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'GATECTL_BAD_INPUT', EXIT_USAGE, options);
  }
}

/** A frame that exceeds the maximum size or does not decode (DESIGN §3). */
export class FrameError extends GatectlError {
  /** `oversize` (length prefix above the limit), `decode` (protobuf decode failed) or `varint` (malformed length). */
  readonly reason: 'oversize' | 'decode' | 'varint';
  constructor(reason: 'oversize' | 'decode' | 'varint', message: string, options?: { cause?: unknown }) {
    super(message, 'GATECTL_FRAME', EXIT_RUNTIME, options);
    this.reason = reason;
  }
}

/** The ordered queue's waiting heap is full (`QUEUE_MAX_QUEUE_SIZE`); the message was not accepted. */
export class QueueFullError extends GatectlError {
  constructor(message: string) {
    super(message, 'GATECTL_QUEUE_FULL', EXIT_RUNTIME);
  }
}

/**
 * A session that does not read: its unwritten frames passed the session buffer limit, or one write
 * stalled longer than the write-stall timeout (issue 7). The gateway closes it as `slow_consumer`.
 */
export class SlowConsumerError extends GatectlError {
  constructor(message: string) {
    super(message, 'GATECTL_SLOW_CONSUMER', EXIT_RUNTIME);
  }
}

/** A transport failure: listen, dial, write or close. */
export class TransportError extends GatectlError {
  constructor(message: string, code = 'GATECTL_TRANSPORT', options?: { cause?: unknown }) {
    super(message, code, EXIT_RUNTIME, options);
  }
}

/** The address to listen on is already in use. Exit code 2: the user picks another port. */
export class AddressInUseError extends GatectlError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'GATECTL_ADDRESS_IN_USE', EXIT_USAGE, options);
  }
}

/** A target could not be reached within the connect timeout. */
export class ConnectTimeoutError extends TransportError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 'GATECTL_CONNECT_TIMEOUT', options);
  }
}
