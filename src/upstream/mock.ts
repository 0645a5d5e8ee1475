/**
 * The built-in mock upstream service, in-process (zero network overhead). It answers logins (Hello)
 * and business/zone requests after a configurable latency, with `beforeNotifies` and
 * `afterNotifies` notifies bound to the request (seed 004 §4.1: grid = the request's seq_id), and can
 * inject failures (`errorRate`, seed 004 §5.2 → 500) and silences (`timeoutRate`, seed 004 §3.4 → 504).
 * `startMockUpstreamServer` (http-server.ts) serves the same behaviour over HTTP.
 */
import { performance } from 'node:perf_hooks';
import { InvalidInputError } from '../errors.js';
import { NotifyPlacement, type Notify, type UpstreamRequest, type UpstreamResponse } from '../protocol/index.js';
import { UpstreamError, UpstreamTimeoutError } from './errors.js';

/**
 * Latency distribution of the mock, each with mean `latencyMs`:
 * - `fixed`: always `latencyMs`;
 * - `uniform`: uniform on [0, 2 × latencyMs];
 * - `exponential`: exponential with mean `latencyMs`;
 * - `lognormal`: exp(μ + σZ), Z standard normal, σ = `lognormalSigma` (default 0.5) and
 *   μ = ln(latencyMs) − σ²/2 so that the mean is `latencyMs` (median latencyMs·e^(−σ²/2)).
 */
export type LatencyDistribution = 'fixed' | 'uniform' | 'exponential' | 'lognormal';

/** Every LatencyDistribution, for flag validation. */
export const LATENCY_DISTRIBUTIONS: readonly LatencyDistribution[] = Object.freeze(['fixed', 'uniform', 'exponential', 'lognormal'] as const);

/** Mock upstream settings. */
export interface MockUpstreamConfig {
  /** mean latency of one call, in ms (0 = answer on the next event-loop turn) */
  latencyMs: number;
  /** shape of the latency around its mean `latencyMs` */
  distribution: LatencyDistribution;
  /** σ of the log of the latency for `lognormal` (dimensionless, > 0); default 0.5; ignored otherwise */
  lognormalSigma?: number;
  /** notifies to send before the response, per request */
  beforeNotifies: number;
  /** notifies to send after the response, per request */
  afterNotifies: number;
  /**
   * fraction of business/zone calls, 0..1, that reject with UpstreamError after their latency
   * (seed 004 §5.2: the gateway answers 500); default 0. Logins are never failed.
   */
  errorRate?: number;
  /**
   * fraction of business/zone calls, 0..1, that never answer (seed 004 §3.4: the caller's timeout
   * fires, the gateway answers 504); default 0. Such a call arms no timer. Logins always answer.
   * `errorRate + timeoutRate` must not exceed 1.
   */
  timeoutRate?: number;
  /**
   * one stop-the-world pause (a GC pause, a failover): when business/zone call number `afterCalls`
   * starts, every call started in the next `durationMs` ms answers only after that window ends.
   * Absent = no pause. For coordinated-omission tests (issue 4).
   */
  pause?: { afterCalls: number; durationMs: number };
}

/** Defaults: 5 ms fixed, one before- and one after-notify, σ 0.5 for lognormal, no injected errors or timeouts. */
export const DEFAULT_MOCK_UPSTREAM: Readonly<Required<Omit<MockUpstreamConfig, 'pause'>>> = Object.freeze({
  latencyMs: 5, distribution: 'fixed', lognormalSigma: 0.5, beforeNotifies: 1, afterNotifies: 1, errorRate: 0, timeoutRate: 0,
});

/** Options of one upstream call. */
export interface UpstreamCallOptions {
  /**
   * reject with UpstreamTimeoutError when no answer arrives within this many ms (seed 004 §3.4);
   * 0 or absent = the implementation's default (HttpUpstream: its `timeoutMs` option; MockUpstream: none)
   */
  timeoutMs?: number;
  /** abort the call; it then rejects with UpstreamError (`aborted`) */
  signal?: AbortSignal;
}

/** An upstream service as the gateway sees it (seed 004 §2.1 callUpstreamService). */
export interface Upstream {
  /**
   * Login for Hello (seed 004 §3.1, synchronous in the gateway); resolves with code 200 (accepted)
   * or another code (rejected, e.g. 401). Rejects with UpstreamError when the service fails.
   */
  login(userId: string, token: string): Promise<{ code: number; message: string }>;
  /**
   * A business/zone call. Rejects with UpstreamTimeoutError when `opts.timeoutMs` expires
   * (gateway: 504) and with UpstreamError on any other failure (gateway: 500, seed 004 §5.2).
   */
  call(req: UpstreamRequest, opts?: UpstreamCallOptions): Promise<UpstreamResponse>;
  /** Releases sockets and timers, if the implementation holds any. */
  close?(): Promise<void>;
}

const EMPTY = new Uint8Array(0);

const enum Fate { OK, ERROR, SILENT }

/**
 * In-process mock implementing Upstream. No I/O; per call one timer (none for 0 ms latency: the next
 * event-loop turn) and the response objects.
 */
export class MockUpstream implements Upstream {
  private readonly latencyMs: number;
  private readonly distribution: LatencyDistribution;
  private readonly sigma: number;
  /** μ of the lognormal, so that the mean is latencyMs */
  private readonly mu: number;
  private readonly errorRate: number;
  /** errorRate + timeoutRate: a draw below it and at or above errorRate is a silent call */
  private readonly failRate: number;

  /**
   * @param config latency (ms), distribution, notifies and injected error/timeout rates; missing
   *   optional fields take DEFAULT_MOCK_UPSTREAM values
   * @throws InvalidInputError when a value is out of range (negative latency, rate outside 0..1,
   *   errorRate + timeoutRate > 1, σ ≤ 0, unknown distribution)
   */
  constructor(readonly config: Readonly<MockUpstreamConfig>) {
    const { latencyMs, distribution } = config;
    const sigma = config.lognormalSigma ?? DEFAULT_MOCK_UPSTREAM.lognormalSigma;
    const errorRate = config.errorRate ?? 0;
    const timeoutRate = config.timeoutRate ?? 0;
    if (!(latencyMs >= 0) || !Number.isFinite(latencyMs)) throw new InvalidInputError(`mock upstream: latencyMs must be a finite number >= 0, got ${latencyMs}`);
    if (!LATENCY_DISTRIBUTIONS.includes(distribution)) {
      throw new InvalidInputError(`mock upstream: distribution must be one of ${LATENCY_DISTRIBUTIONS.join(', ')}, got ${String(distribution)}`);
    }
    if (!(sigma > 0) || !Number.isFinite(sigma)) throw new InvalidInputError(`mock upstream: lognormalSigma must be a finite number > 0, got ${sigma}`);
    for (const [name, v] of [['errorRate', errorRate], ['timeoutRate', timeoutRate]] as const) {
      if (!(v >= 0 && v <= 1)) throw new InvalidInputError(`mock upstream: ${name} must be between 0 and 1, got ${v}`);
    }
    if (errorRate + timeoutRate > 1) throw new InvalidInputError(`mock upstream: errorRate + timeoutRate must not exceed 1, got ${errorRate} + ${timeoutRate}`);
    this.latencyMs = latencyMs;
    this.distribution = distribution;
    this.sigma = sigma;
    this.mu = latencyMs > 0 ? Math.log(latencyMs) - (sigma * sigma) / 2 : 0;
    this.errorRate = errorRate;
    this.failRate = errorRate + timeoutRate;
  }

  private calls = 0;
  private pauseUntil = 0;

  /** One business/zone call's latency, ms: a draw plus what is left of the configured pause. */
  private callLatencyMs(): number {
    const p = this.config.pause;
    let extra = 0;
    if (p !== undefined) {
      const now = performance.now();
      if (++this.calls === p.afterCalls) this.pauseUntil = now + p.durationMs;
      if (now < this.pauseUntil) extra = this.pauseUntil - now;
    }
    return this.sampleLatencyMs() + extra;
  }

  /** Draws one latency in ms (≥ 0) from the configured distribution; mean `latencyMs`. Never throws. */
  sampleLatencyMs(): number {
    const mean = this.latencyMs;
    if (mean <= 0) return 0;
    switch (this.distribution) {
      case 'fixed': return mean;
      case 'uniform': return Math.random() * 2 * mean;
      case 'exponential': return -Math.log(1 - Math.random()) * mean;
      case 'lognormal': {
        // Box–Muller: 1 - random() is in (0, 1], so the log is finite
        const z = Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
        return Math.exp(this.mu + this.sigma * z);
      }
    }
  }

  /**
   * Login (seed 004 §3.1): after one sampled latency, code 200 for a non-empty userId and a token
   * that is neither empty nor starts with `invalid`, else 401. Never fails or stays silent
   * (errorRate/timeoutRate apply to `call` only).
   */
  async login(userId: string, token: string): Promise<{ code: number; message: string }> {
    await this.delay(this.sampleLatencyMs());
    if (userId === '') return { code: 401, message: 'user_id is required' };
    if (token === '' || token.startsWith('invalid')) return { code: 401, message: 'invalid token' };
    return { code: 200, message: 'ok' };
  }

  /**
   * A business/zone call: after one sampled latency, code 200 with `data` = the request payload and
   * `beforeNotifies` + `afterNotifies` notifies with grid = `req.seqId` (seed 004 §4.1).
   * With probability `errorRate` it rejects with UpstreamError after the latency instead; with
   * probability `timeoutRate` it never answers: it rejects with UpstreamTimeoutError after
   * `opts.timeoutMs` if given, else never settles (and holds no timer).
   * `opts.signal` aborts the call with UpstreamError.
   */
  call(req: UpstreamRequest, opts?: UpstreamCallOptions): Promise<UpstreamResponse> {
    const fate = this.drawFate();
    if (opts === undefined || ((opts.timeoutMs ?? 0) <= 0 && opts.signal === undefined)) {
      // fast path: no deadline, no abort
      if (fate === Fate.SILENT) return new Promise<never>(() => {});
      return this.delay(this.callLatencyMs()).then(() => this.answer(fate, req));
    }
    return this.guardedCall(fate, req, opts);
  }

  private drawFate(): Fate {
    if (this.failRate <= 0) return Fate.OK;
    const r = Math.random();
    return r < this.errorRate ? Fate.ERROR : r < this.failRate ? Fate.SILENT : Fate.OK;
  }

  private delay(ms: number): Promise<void> {
    return new Promise((resolve) => (ms <= 0 ? setImmediate(resolve) : setTimeout(resolve, ms)));
  }

  private answer(fate: Fate, req: UpstreamRequest): UpstreamResponse {
    if (fate === Fate.ERROR) {
      throw new UpstreamError(`mock upstream: injected error (errorRate ${this.errorRate}) for action '${req.action ?? ''}' seq_id ${req.seqId ?? 0}`);
    }
    const grid = req.seqId ?? 0;
    const notifies: Notify[] = [];
    for (let i = 0; i < this.config.beforeNotifies; i++) {
      notifies.push({ grid, placement: NotifyPlacement.BEFORE_RESPONSE, topic: 'before', payload: EMPTY });
    }
    for (let i = 0; i < this.config.afterNotifies; i++) {
      notifies.push({ grid, placement: NotifyPlacement.AFTER_RESPONSE, topic: 'after', payload: EMPTY });
    }
    return { code: 200, message: 'ok', data: req.payload ?? EMPTY, notifies };
  }

  /** call() with a deadline and/or an abort signal. */
  private guardedCall(fate: Fate, req: UpstreamRequest, opts: UpstreamCallOptions): Promise<UpstreamResponse> {
    const { signal } = opts;
    const timeoutMs = opts.timeoutMs ?? 0;
    return new Promise<UpstreamResponse>((resolve, reject) => {
      if (signal?.aborted) return reject(new UpstreamError('mock upstream: call aborted', { cause: signal.reason }));
      let answerTimer: NodeJS.Timeout | undefined;
      let deadline: NodeJS.Timeout | undefined;
      const done = (): void => {
        clearTimeout(answerTimer);
        clearTimeout(deadline);
        signal?.removeEventListener('abort', onAbort);
      };
      function onAbort(): void {
        done();
        reject(new UpstreamError('mock upstream: call aborted', { cause: signal?.reason }));
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs > 0) {
        deadline = setTimeout(() => {
          done();
          reject(new UpstreamTimeoutError(timeoutMs, `mock upstream, action '${req.action ?? ''}' seq_id ${req.seqId ?? 0}`));
        }, timeoutMs);
      }
      if (fate !== Fate.SILENT) {
        answerTimer = setTimeout(() => {
          done();
          try {
            resolve(this.answer(fate, req));
          } catch (err) {
            reject(err as Error);
          }
        }, this.callLatencyMs());
      }
    });
  }
}
