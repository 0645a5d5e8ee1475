/**
 * The built-in mock upstream service, in-process (zero network overhead). It answers logins (Hello)
 * and business/zone requests after a configurable latency, with `beforeNotifies` and
 * `afterNotifies` notifies bound to the request (seed 004 §4.1: grid = the request's seq_id).
 */
import { NotifyPlacement, type Notify, type UpstreamRequest, type UpstreamResponse } from '../protocol/index.js';

/** Latency distribution of the mock: a constant, or exponential with the given mean. */
export type LatencyDistribution = 'fixed' | 'exponential';

/** Mock upstream settings. */
export interface MockUpstreamConfig {
  /** mean latency of one call, in ms (0 = answer on the next event-loop turn) */
  latencyMs: number;
  distribution: LatencyDistribution;
  /** notifies to send before the response, per request */
  beforeNotifies: number;
  /** notifies to send after the response, per request */
  afterNotifies: number;
}

/** Defaults: 5 ms fixed, one before- and one after-notify. */
export const DEFAULT_MOCK_UPSTREAM: Readonly<MockUpstreamConfig> = Object.freeze({
  latencyMs: 5, distribution: 'fixed', beforeNotifies: 1, afterNotifies: 1,
});

/** An upstream service as the gateway sees it. */
export interface Upstream {
  /** Login for Hello; resolves with code 200 (accepted) or 401. */
  login(userId: string, token: string): Promise<{ code: number; message: string }>;
  /** A business/zone call; rejects on failure. */
  call(req: UpstreamRequest): Promise<UpstreamResponse>;
}

const EMPTY = new Uint8Array(0);

/** In-process mock implementing Upstream. */
export class MockUpstream implements Upstream {
  constructor(private readonly config: Readonly<MockUpstreamConfig>) {}

  /** Draws one latency in ms from the configured distribution. */
  sampleLatencyMs(): number {
    const { latencyMs, distribution } = this.config;
    if (latencyMs <= 0) return 0;
    return distribution === 'fixed' ? latencyMs : -Math.log(1 - Math.random()) * latencyMs;
  }

  private delay(): Promise<void> {
    const ms = this.sampleLatencyMs();
    return new Promise((resolve) => (ms <= 0 ? setImmediate(resolve) : setTimeout(resolve, ms)));
  }

  async login(userId: string, _token: string): Promise<{ code: number; message: string }> {
    await this.delay();
    return userId === '' ? { code: 401, message: 'user_id is required' } : { code: 200, message: 'ok' };
  }

  async call(req: UpstreamRequest): Promise<UpstreamResponse> {
    await this.delay();
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
}
