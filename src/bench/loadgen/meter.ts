/**
 * How the load-generator benchmark measures one phase, the same way for raw echo and gatectl: CPU of
 * both processes, and the responses the null gateway counted inside the phase's window (less a
 * margin at each end), timed on the gateway's own clock.
 */
import { performance } from 'node:perf_hooks';
import type { NullGateway, TargetSample } from './null-gateway.js';
import type { ThroughputCell } from './result.js';

const noop = (): void => undefined;

/** The benchmark's clients (gatectl and raw echo): connect timeout and longest drain after a phase, ms. */
export const BENCH_TIMEOUTS_MS = Object.freeze({ connect: 30_000, drain: 10_000 });

/** `n` rounded to 1 decimal. */
export const round1 = (n: number): number => Math.round(n * 10) / 10;

/** Σ f(x) over `xs`. */
export const sumBy = <T>(xs: readonly T[], f: (x: T) => number): number => xs.reduce((a, x) => a + f(x), 0);

/** Margin left out at each end of the in-window count: the in-flight fill and the drain, ms. */
export function windowMarginMs(durationMs: number): number {
  return Math.min(250, durationMs / 10);
}

/**
 * What one phase cost and delivered, seen from outside the clients: CPU of both processes from
 * `start()` to `stop()` (just before the window to the end of the drain), and the responses the
 * null gateway wrote inside the window less a margin at each end (`windowMarginMs`), counted and
 * timed by the gateway itself — the same measure for raw echo and gatectl.
 */
export class PhaseMeter {
  private t0 = 0;
  private self0: NodeJS.CpuUsage = { user: 0, system: 0 };
  private gw0: TargetSample | null = null;
  private inWindow: Promise<[TargetSample, TargetSample]> | null = null;
  wallMs = 0;
  generatorCpuUs = 0;
  gatewayCpuUs = 0;
  /** gateway-counted responses and acks over start..stop */
  gatewayResponses = 0;
  gatewayAcks = 0;
  /** gateway-counted responses inside the window, and the window's length on the gateway's clock, s */
  windowResponses = 0;
  windowS = 0;
  constructor(private readonly gateway: NullGateway) {}
  /** CPU marks now; the window opens `delayMs` from now and lasts `durationMs`. */
  async start(delayMs: number, durationMs: number): Promise<void> {
    this.gw0 = await this.gateway.sample();
    this.self0 = process.cpuUsage();
    this.t0 = performance.now();
    const margin = windowMarginMs(durationMs);
    const at = (ms: number) => new Promise<TargetSample>((resolve, reject) => setTimeout(() => this.gateway.sample().then(resolve, reject), ms));
    this.inWindow = Promise.all([at(delayMs + margin), at(delayMs + durationMs - margin)]);
    this.inWindow.catch(noop);
  }
  async stop(): Promise<void> {
    this.wallMs = performance.now() - this.t0;
    const self = process.cpuUsage(this.self0);
    const gw = await this.gateway.sample();
    const gw0 = this.gw0!;
    this.generatorCpuUs = self.user + self.system;
    this.gatewayCpuUs = gw.userUs + gw.systemUs - gw0.userUs - gw0.systemUs;
    this.gatewayResponses = gw.responses - gw0.responses;
    this.gatewayAcks = gw.acks - gw0.acks;
    const [a, b] = await this.inWindow!;
    this.windowResponses = b.responses - a.responses;
    this.windowS = (b.atMs - a.atMs) / 1000;
  }
}

/**
 * A ThroughputCell from a stopped PhaseMeter and the clients' own counts (`phaseS`: the phase's
 * length as the clients saw it, s); the gatectl-only fields null.
 */
export function cellFrom(phase: ThroughputCell['phase'], round: number, w: PhaseMeter, c: { connected: number; requests: number; responses: number; errors: number; phaseS: number }): ThroughputCell {
  const wallUs = w.wallMs * 1000;
  return {
    phase, round, connected: c.connected, requests: c.requests, responses: c.responses, window_s: Math.round(w.windowS * 1000) / 1000,
    window_responses: w.windowResponses,
    responses_per_s: w.windowS > 0 ? round1(w.windowResponses / w.windowS) : 0,
    client_responses_per_s: round1(c.responses / c.phaseS),
    acks_per_response: w.gatewayResponses > 0 ? Math.round((w.gatewayAcks / w.gatewayResponses) * 1000) / 1000 : 0,
    generator_cpu_percent: round1((w.generatorCpuUs / wallUs) * 100),
    gateway_cpu_percent: round1((w.gatewayCpuUs / wallUs) * 100),
    generator_cpu_ns_per_response: w.gatewayResponses > 0 ? Math.round((w.generatorCpuUs * 1000) / w.gatewayResponses) : 0,
    gateway_cpu_ns_per_response: w.gatewayResponses > 0 ? Math.round((w.gatewayCpuUs * 1000) / w.gatewayResponses) : 0,
    errors: c.errors, e2e_p50_us: null, e2e_p99_us: null, event_loop_delay_p99_ms: null, generator_bound: null, violations: null,
  };
}
