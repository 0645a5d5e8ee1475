/**
 * Circuit breaker of VineQueue's sender (seed 002 "熔断器机制: 防止下游故障导致雪崩", "连续失败自动熔断"):
 * `closed` → `open` after `failureThreshold` consecutive failed sends → after `coolDownMs` one probe
 * send is let through (`half-open`) → `closed` when it succeeds, `open` again (fresh cool-down) when it
 * fails. Time comes from `now()` (ms) so tests can drive it.
 */

/** Breaker states as reported in metrics (circuit_state). */
export type CircuitState = 'closed' | 'open' | 'half-open';

/** A consecutive-failure circuit breaker. Not tied to the queue: any sender can use it. */
export class CircuitBreaker {
  private stateValue: CircuitState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  /** times the breaker went from closed or half-open to open */
  opens = 0;

  /**
   * @param failureThreshold consecutive failures that open it (>= 1)
   * @param coolDownMs ms it stays open before a half-open probe
   * @param now clock in ms (default Date.now)
   */
  constructor(readonly failureThreshold: number, readonly coolDownMs: number, private readonly now: () => number = Date.now) {}

  /** Current state; an open breaker whose cool-down has passed reports `half-open`. */
  get state(): CircuitState {
    if (this.stateValue === 'open' && this.now() - this.openedAt >= this.coolDownMs) this.stateValue = 'half-open';
    return this.stateValue;
  }

  /** ms until an open breaker lets a probe through (0 when not open). */
  msUntilProbe(): number {
    return this.state === 'open' ? Math.max(0, this.openedAt + this.coolDownMs - this.now()) : 0;
  }

  /**
   * Asks to send. True when closed, or when half-open and no probe is in flight (the caller's send is
   * then the probe); false when open or a probe is already out.
   */
  tryAcquire(): boolean {
    const s = this.state;
    if (s === 'closed') return true;
    if (s === 'half-open' && !this.probing) { this.probing = true; return true; }
    return false;
  }

  /** Reports a successful send: closes the breaker and resets the failure count. */
  onSuccess(): void {
    this.failures = 0;
    this.probing = false;
    this.stateValue = 'closed';
  }

  /** Reports a failed send: a failed probe, or the threshold-th consecutive failure, opens the breaker. */
  onFailure(): void {
    this.failures++;
    const wasProbe = this.probing;
    this.probing = false;
    if (wasProbe || this.stateValue === 'half-open' || (this.stateValue === 'closed' && this.failures >= this.failureThreshold)) {
      if (this.stateValue !== 'open') this.opens++;
      this.stateValue = 'open';
      this.openedAt = this.now();
    }
  }
}
