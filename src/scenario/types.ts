/**
 * Typed scenario (issue 4 §3), as `loadScenario` returns it: durations in ms, keys camelCase,
 * defaults filled. The YAML form is described by schema.ts and docs/load-engine.md.
 */
import type { LatencyDistribution } from '../upstream/index.js';

/** One stage, durations in ms. `clients`/`rate` are the stage's target level (undefined = keep). */
export interface ScenarioStage {
  kind: 'ramp' | 'steady' | 'burst';
  /** stage length, ms (> 0) */
  durationMs: number;
  /** connections at the end of the stage (ramp: linear towards it; steady: step to it) */
  clients?: number;
  /** total requests/s over all clients at the end of the stage (open model) */
  rate?: number;
  /** row name of the stage in reports and comparisons */
  label?: string;
}

/** One request kind of the mix. Payload size is uniform on [min, max] bytes (min = max for a fixed size). */
export interface MixEntry {
  action: 'hello' | 'business' | 'zone';
  /** relative share (> 0); the shares are weight / Σ weights */
  weight: number;
  payloadBytes: { min: number; max: number };
}

/** Settings of the in-process mock upstream (units as MockUpstreamConfig: ms). Undefined = default. */
export interface ScenarioUpstream {
  latencyMs?: number;
  distribution?: LatencyDistribution;
  lognormalSigma?: number;
  errorRate?: number;
  timeoutRate?: number;
  beforeNotifies?: number;
  afterNotifies?: number;
  /** HTTP upstream base URL instead of the mock */
  url?: string;
}

/** Overrides of the in-process gateway (undefined = the mode's default). */
export interface ScenarioGateway {
  mode?: 'sync' | 'async';
  sendWorkers?: number;
  sendQueueSize?: number;
  maxQueueSize?: number;
  batchSize?: number;
  lockScope?: 'global' | 'session';
  processorWorkers?: number;
  processorQueueSize?: number;
  /** upstream call timeout, ms */
  taskTimeoutMs?: number;
}

/**
 * The slow-reader fault of a scenario (`slow_clients`, issue 14 §6): the share of clients, and the
 * read bound (bytes/s) and receive window (bytes) when the scenario sets them (null = the default).
 */
export interface ScenarioSlowClients {
  /** percent of the clients, 0–100 */
  percent: number;
  readBytesPerS: number | null;
  receiveWindowBytes: number | null;
}

/** A validated scenario. */
export interface Scenario {
  /** path it was read from */
  file: string;
  name: string;
  description: string;
  source: string | null;
  /** true when the `full:` block was applied */
  full: boolean;
  /** gateway URL, or null for the in-process gateway */
  target: string | null;
  /** transport of the in-process gateway */
  transport: 'quic' | 'tcp';
  model: 'open' | 'closed';
  /** connections at the start (before the first stage) */
  clients: number;
  /** total requests/s at the start (open model with `rate`), else null */
  rate: number | null;
  /** requests/s per client (open model with `rate_per_client`), else null */
  ratePerClient: number | null;
  /** requests in flight per client (closed model; default 1), else null */
  concurrency: number | null;
  /** pause between a response and the next request, ms (closed model; default 0) */
  thinkTimeMs: number;
  /** outstanding requests per client before an arrival is dropped (open model), null = engine default */
  maxInFlight: number | null;
  connectTimeoutMs: number | null;
  drainTimeoutMs: number | null;
  /** stages in order; a scenario without stages has one steady stage of `duration` */
  stages: ScenarioStage[];
  /** Σ stage durations, ms */
  durationMs: number;
  /** request mix; default one entry: business, weight 1, 64 bytes */
  mix: MixEntry[];
  upstream: ScenarioUpstream;
  gateway: ScenarioGateway;
  /** k6 threshold expressions (already checked with parseThreshold) */
  thresholds: string[];
  /** `slow_clients`, or null for none */
  slowClients: ScenarioSlowClients | null;
  /** non-fatal remarks, e.g. upstream settings next to a remote target */
  warnings: string[];
}
