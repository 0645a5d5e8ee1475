/**
 * Errors of the upstream layer (seed 004 §5.2: an upstream failure becomes a 500 for the client, an
 * upstream timeout a 504 — seed 004 §3.4). One class per failure, each with a stable code, like
 * `src/errors.ts`.
 */
import { GatectlError } from '../errors.js';

/**
 * The upstream call failed: the service rejected it (non-2xx HTTP status, injected mock error), the
 * answer did not parse, or the connection failed. Code `GATECTL_UPSTREAM`; the gateway answers 500
 * (seed 004 §5.2). The message carries the detail (status, parse error, socket error).
 */
export class UpstreamError extends GatectlError {
  /** HTTP status of the answer when the failure is a non-2xx status; otherwise undefined. */
  readonly status: number | undefined;

  /**
   * @param message human-readable detail, shown to the client as ErrorResponse.detail
   * @param options `cause` (the underlying error), `status` (HTTP status), `code` (subclasses only)
   */
  constructor(message: string, options?: { cause?: unknown; status?: number; code?: string }) {
    super(message, options?.code ?? 'GATECTL_UPSTREAM', options?.cause === undefined ? undefined : { cause: options.cause });
    this.status = options?.status;
  }
}

/**
 * The upstream did not answer within the call's timeout (seed 004 §3.4, default 30 s there). Code
 * `GATECTL_UPSTREAM_TIMEOUT`; the gateway answers 504. A subclass of UpstreamError, so test for it
 * first.
 */
export class UpstreamTimeoutError extends UpstreamError {
  /** The timeout that expired, in ms. */
  readonly timeoutMs: number;

  /**
   * @param timeoutMs the timeout that expired, in ms
   * @param detail what was waited for, e.g. `POST http://127.0.0.1:9000/upstream/business`
   */
  constructor(timeoutMs: number, detail: string, options?: { cause?: unknown }) {
    super(`upstream timeout: no answer within ${timeoutMs} ms (${detail})`, { ...options, code: 'GATECTL_UPSTREAM_TIMEOUT' });
    this.timeoutMs = timeoutMs;
  }
}
