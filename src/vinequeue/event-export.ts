/**
 * Event export of the gateway through VineQueue (issue 6 §6): one GatewayEvent per business request,
 * batched to an HTTP sink as NDJSON, with the WAL in `dir` so events survive a crash or a sink outage.
 * `export()` never throws into the gateway: every refusal is counted.
 */
import { v2Config, type VineQueueConfig } from './config.js';
import { createHttpSink } from './http-sink.js';
import { create, type StopResult, type VineMetrics, type VineQueue } from './queue.js';

/** One business request as exported (one NDJSON line). Latencies in µs, timestamp in ms since the epoch. */
export interface GatewayEvent {
  session_id: string;
  action: string;
  /** response code given to the client (200, 500, 504, 503 …) */
  code: number;
  /** upstream call duration, µs */
  upstream_latency_us: number;
  /** request read to response enqueued, µs (seed 001 business_latency) */
  business_latency_us: number;
  /** when the request was answered, ms since the Unix epoch */
  ts_ms: number;
}

/** Options of createEventExporter. */
export interface EventExporterOptions {
  /** HTTP sink URL receiving NDJSON POSTs */
  url: string;
  /** WAL directory (created if missing) */
  dir: string;
  /** overrides on top of v2Config() with the WAL on in `dir` and a 1 s flush interval */
  config?: Partial<VineQueueConfig>;
  /** gzip the POST bodies (default false) */
  gzip?: boolean;
}

/** Exporter metrics: the queue's, plus export() calls that were refused. */
export interface EventExporterMetrics extends VineMetrics {
  /** export() calls whose enqueue was refused or failed (closed, full, backpressure, breaker, WAL error) */
  export_failures_total: number;
}

/** The handle the gateway holds. */
export interface EventExporter {
  /** Queues one event. Never throws and never waits; a refusal is counted in export_failures_total. */
  export(event: GatewayEvent): void;
  /** Metrics snapshot (new object per call). */
  metrics(): EventExporterMetrics;
  /** Stops the queue (see VineQueue.stop): sends what it can within `timeoutMs` (ms), keeps the rest in the WAL. */
  stop(timeoutMs?: number): Promise<StopResult>;
  /** the underlying queue (for registerVineQueueMetrics) */
  readonly queue: VineQueue<GatewayEvent>;
}

/**
 * Creates and starts an exporter: v2Config() with the WAL on in `dir` (fsync every 1 s), a 1 s flush
 * interval, backpressure off, an HTTP sink on `url`, then `config` overrides. Resolves once the queue started (recovery
 * of events left in `dir` by an earlier run continues in the background).
 * @throws InvalidInputError (bad URL or config), WalKeyError / WalCorruptError (unreadable WAL in `dir`)
 */
export async function createEventExporter(opts: EventExporterOptions): Promise<EventExporter> {
  // Backpressure off: export() does not wait, so a delay would only pile up timers; a full memory
  // queue overflows to the WAL instead, and a full WAL is counted as an export failure.
  const config: VineQueueConfig = { ...v2Config(), enableWal: true, walDir: opts.dir, flushIntervalMs: 1000, enableBackpressure: false, ...opts.config };
  const queue = create<GatewayEvent>(config, createHttpSink<GatewayEvent>({ url: opts.url, gzip: opts.gzip ?? false }));
  await queue.start();
  let failures = 0;
  const onFail = () => { failures++; };
  return {
    queue,
    export(event: GatewayEvent): void {
      try {
        queue.enqueue(event).catch(onFail);
      } catch {
        failures++;
      }
    },
    metrics: () => ({ ...queue.getMetrics(), export_failures_total: failures }),
    stop: (timeoutMs = 10_000) => queue.stop({ timeoutMs }),
  };
}
