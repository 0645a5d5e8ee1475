/**
 * Prometheus exposition of the gateway's figures (prom-client registry and text format). Nothing is
 * recorded twice: at build time the metrics are read from the gateway's live figures, and the stage
 * latencies are converted from the HDR histograms (µs) into Prometheus histogram buckets (seconds)
 * through prom-client's custom-metric interface (an object with `name` and `get()`). Every gateway
 * counter appears, through the table of gateway/counters.ts.
 *
 * A build runs on the gateway's thread (the figures live there), yielding to the event loop once
 * `EXPOSITION_SLICE_MS` of work has run (`Exposition`); the monitor's HTTP front caches the text
 * for `EXPOSITION_MAX_AGE_MS` (issue 16 §3: a scrape held the gateway's loop for 12-17 ms, and 200
 * concurrent scrapes for seconds). Measured (`node dist/test/hardening-probe.js build`): a warm
 * build is about 2 ms of work (10 ms the first time), held in runs of about 0.5 ms (median).
 */
import { performance } from 'node:perf_hooks';
import { registerVineQueueMetrics } from '../vinequeue/index.js';
import { registerQuotaMetrics } from '../quota/index.js';
import { computedMetric as computed, hdrToPromValues, prepareHdrConversion, type PromValue as Value } from '../metrics/prom.js';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { SERVER_STAGES } from '../metrics/stages.js';
import type { GatewayServer } from '../gateway/index.js';
import { COUNTER_FAMILIES, familySamples, type CounterFamily } from '../gateway/counters.js';

/** How long a built exposition is served before the next build, ms: at most one build per second. */
export const EXPOSITION_MAX_AGE_MS = 1000;

/** Work a build does before it yields to the event loop, ms. */
export const EXPOSITION_SLICE_MS = 0.3;

/** What the exposition cost: builds, scrapes served, and the builds' event-loop time (ms, yields excluded). */
export interface ExpositionStats {
  builds: number;
  scrapes: number;
  last_build_ms: number;
  max_build_ms: number;
  /** the longest run of build work between two yields to the event loop in the last build, ms */
  last_longest_slice_ms: number;
}

/**
 * Builds the text of a registry in slices; concurrent callers of `build()` share one build. The
 * caller caches (the monitor's front serves one text for `EXPOSITION_MAX_AGE_MS`).
 */
export class Exposition {
  private building: Promise<Buffer> | null = null;
  readonly stats: ExpositionStats = { builds: 0, scrapes: 0, last_build_ms: 0, max_build_ms: 0, last_longest_slice_ms: 0 };
  private readonly registry: Registry;

  /**
   * @param makeRegistry builds the registry; it receives this exposition's stats, for metrics about
   *   the exposition itself
   */
  constructor(makeRegistry: (stats: () => ExpositionStats) => Registry) {
    this.registry = makeRegistry(() => this.stats);
  }

  /** Content type of the exposition (Prometheus text format 0.0.4). */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition bytes (UTF-8); rejects with the registry's error when a build fails. */
  build(): Promise<Buffer> {
    this.building ??= this.buildSliced().finally(() => { this.building = null; });
    return this.building;
  }

  /**
   * Builds the text metric by metric, as prom-client's `registry.metrics()` does (same output),
   * but yields to the event loop whenever `EXPOSITION_SLICE_MS` of work has run since the last
   * yield, so one build never holds the gateway's loop for long (one metric, e.g. ten stage
   * histograms' formatting, is the smallest unit). `last_build_ms` counts the work, not the yields;
   * `last_longest_slice_ms` the longest run between two yields.
   */
  private async buildSliced(): Promise<Buffer> {
    const t0 = performance.now();
    const yielded0 = yieldedMs;
    holdStart = t0;
    longestHold = 0;
    const parts: string[] = [];
    for (const metric of this.registry.getMetricsAsArray()) {
      parts.push(await this.registry.getSingleMetricAsString(metric.name));
      if (performance.now() - holdStart >= EXPOSITION_SLICE_MS) await yieldTurn();
    }
    const body = Buffer.from(`${parts.join('\n\n')}\n`, 'utf8');
    const end = performance.now();
    const busy = end - t0 - (yieldedMs - yielded0);
    this.stats.builds++;
    this.stats.last_build_ms = busy;
    this.stats.max_build_ms = Math.max(this.stats.max_build_ms, busy);
    this.stats.last_longest_slice_ms = Math.max(longestHold, end - holdStart);
    return body;
  }
}

/** `read()`'s value, computed again only when the last one is more than `maxAgeMs` (default 100 ms) old. */
function fresh<T>(read: () => T, maxAgeMs = 100): () => T {
  let at = -Infinity;
  let value: T;
  return () => {
    const now = performance.now();
    if (now - at > maxAgeMs) {
      value = read();
      at = now;
    }
    return value;
  };
}

/** Time spent waiting in `yieldTurn`, ms (builds subtract it from their duration). */
let yieldedMs = 0;
/** When the current run of build work began (the last resume), and the longest run so far, ms. */
let holdStart = 0;
let longestHold = 0;

/** Resolves on a later event-loop turn (after pending I/O); closes the current run of build work. */
function yieldTurn(): Promise<void> {
  const t = performance.now();
  longestHold = Math.max(longestHold, t - holdStart);
  return new Promise((resolve) => setImmediate(() => {
    holdStart = performance.now();
    yieldedMs += holdStart - t;
    resolve();
  }));
}

/**
 * `gatectl_stage_latency_seconds{stage}`: every stage's HDR histogram converted at build time, one
 * stage per event-loop turn once a slice of work has run (ten histograms in one go took over 1 ms
 * with wide histograms).
 */
function stageLatencyMetric(gw: GatewayServer) {
  const name = 'gatectl_stage_latency_seconds';
  const help = 'Server stage latency (seed 001 stage names), from the HDR histograms';
  return {
    name, help, type: 'histogram' as const, aggregator: 'sum' as const,
    get: async () => {
      const values: Value[] = [];
      for (const s of SERVER_STAGES) {
        values.push(...hdrToPromValues(name, gw.stages.histogram(s), { stage: s }));
        if (performance.now() - holdStart >= EXPOSITION_SLICE_MS) await yieldTurn();
      }
      return { name, help, type: 'histogram' as const, aggregator: 'sum' as const, values };
    },
  };
}

/**
 * The gateway's registry: stage histograms, queue, sessions, every gateway counter, processor,
 * transport, quota and event-export metrics, the process metrics (`gatectl_process_*`) and, when
 * `exposition` is given, the monitor's own cost (`gatectl_monitor_*`).
 */
export function createGatewayRegistry(gw: GatewayServer, exposition?: () => ExpositionStats): Registry {
  const reg = new Registry();
  collectDefaultMetrics({ register: reg, prefix: 'gatectl_process_' });
  prepareHdrConversion(gw.stages.histogram(SERVER_STAGES[0]));
  const one = (value: number): Value[] => [{ value, labels: {} }];
  // figures that walk every session or connection: read once per build, not once per metric
  const transportStats = fresh(() => gw.transportStats());
  const heldInput = fresh(() => gw.heldInput());
  const byLabel = (label: string, o: Record<string, number>): Value[] => Object.entries(o).map(([k, v]) => ({ value: v, labels: { [label]: k } }));
  const metrics = [
    stageLatencyMetric(gw),
    computed('gatectl_queue_enqueued_total', 'Frames accepted by the ordered queues', 'counter', () => one(gw.send.stats.totalEnqueued)),
    computed('gatectl_queue_sent_total', 'Frames written', 'counter', () => one(gw.send.stats.totalSent)),
    computed('gatectl_queue_failed_total', 'Frames whose write failed', 'counter', () => one(gw.send.stats.totalFailed)),
    computed('gatectl_queue_dropped_tasks_total', 'Send tasks dropped (always 0: a full queue falls back to a synchronous send)', 'counter', () => one(gw.send.stats.droppedTasks)),
    computed('gatectl_queue_sync_fallbacks_total', 'Synchronous sends because the send task queue was full', 'counter', () => one(gw.send.stats.syncFallbacks)),
    computed('gatectl_queue_discarded_on_close_total', 'Frames still queued when their session closed', 'counter', () => one(gw.send.stats.discardedOnClose)),
    computed('gatectl_queue_writes_total', 'Transport writes (a coalesced batch is one write)', 'counter', () => one(gw.send.stats.writes)),
    computed('gatectl_queue_waiting_frames', 'Frames waiting out of order, all sessions', 'gauge', () => one(gw.send.stats.waitingFrames)),
    computed('gatectl_queue_send_queue_length', 'Session drains waiting for a send worker', 'gauge', () => one(gw.send.pool?.queueLength ?? 0)),
    computed('gatectl_queue_worker_utilisation', 'Busy share of each send worker since start (0..1)', 'gauge',
      () => (gw.send.pool?.workerStats() ?? []).map((w) => ({ value: w.utilisation, labels: { worker: w.id } }))),
    computed('gatectl_fairness_held_input_bytes', 'Bytes read from clients and held for a later event-loop turn, all sessions', 'gauge', () => one(heldInput().bytes)),
    computed('gatectl_fairness_paused_sessions', 'Sessions whose transport is told not to read (held input above the high-water mark)', 'gauge', () => one(heldInput().paused)),
    computed('gatectl_processor_queue_length', 'AsyncRequestProcessor tasks waiting', 'gauge', () => one(gw.processor?.stats().queue_length ?? 0)),
    computed('gatectl_processor_submitted_total', 'Tasks submitted to the AsyncRequestProcessor', 'counter', () => one(gw.processor?.submitted ?? 0)),
    computed('gatectl_processor_rejected_total', 'Tasks refused with 503 (queue full)', 'counter', () => one(gw.processor?.rejected ?? 0)),
    computed('gatectl_processor_skipped_invalid_session_total', 'Tasks skipped because their session closed', 'counter', () => one(gw.processor?.skippedInvalidSession ?? 0)),
  ];
  const transport = (key: string): Value[] => {
    const v = transportStats()?.[key];
    return typeof v === 'number' ? one(v) : [];
  };
  const TRANSPORT_COUNTERS: [string, string][] = [
    ['packets_in', 'UDP datagrams received by the listener'],
    ['packets_out', 'UDP datagrams sent by the listener'],
    ['bytes_in', 'UDP payload bytes received'],
    ['bytes_out', 'UDP payload bytes sent'],
    ['handshakes_started', 'QUIC handshakes started (Initials accepted)'],
    ['handshakes_completed', 'QUIC handshakes completed'],
    ['handshakes_failed', 'QUIC handshakes that ended before completing'],
    ['handshakes_refused', 'Initials refused by the handshake or connection cap'],
    ['retries_sent', 'Stateless Retry packets sent (address validation)'],
    ['version_negotiations_sent', 'Version Negotiation packets sent'],
    ['streamless_closes', 'Connections closed because they opened no stream in time'],
    ['recv_errors', 'Datagrams quiche refused inside a known connection'],
    ['lost_packets', 'Packets quiche declared lost'],
    ['retransmitted_packets', 'Packets quiche retransmitted'],
  ];
  for (const [key, help] of TRANSPORT_COUNTERS) {
    metrics.push(computed(`gatectl_transport_${key}_total`, help, 'counter', () => transport(key)));
  }
  metrics.push(
    computed('gatectl_transport_connections', 'Transport connections open (handshaking, established or draining)', 'gauge', () => transport('connections')),
    computed('gatectl_transport_invalid_datagrams_total', 'Datagrams dropped before reaching a connection, by reason', 'counter', () => {
      const v = transportStats()?.invalid_datagrams;
      return typeof v === 'object' ? byLabel('reason', v) : [];
    }),
  );
  // every gateway counter (gateway/counters.ts)
  for (const family of Object.keys(COUNTER_FAMILIES) as CounterFamily[]) {
    const f = COUNTER_FAMILIES[family];
    metrics.push(computed(family, f.help, f.type, () => familySamples(family, gw.snapshotCounters())));
  }
  if (exposition !== undefined) {
    metrics.push(
      computed('gatectl_monitor_exposition_builds_total', 'Times this exposition was built (at most once per second)', 'counter', () => one(exposition().builds)),
      computed('gatectl_monitor_scrapes_total', 'Scrapes of /metrics answered by the monitor (all but one per build from its cache)', 'counter', () => one(exposition().scrapes)),
      computed('gatectl_monitor_exposition_build_seconds', 'Event-loop time of the last completed build of this exposition', 'gauge', () => one(exposition().last_build_ms / 1000)),
      computed('gatectl_monitor_exposition_longest_slice_seconds', 'Longest run of the last build between two yields to the event loop', 'gauge', () => one(exposition().last_longest_slice_ms / 1000)),
    );
  }
  for (const m of metrics) reg.registerMetric(m as unknown as Parameters<Registry['registerMetric']>[0]);
  registerVineQueueMetrics(reg, () => gw.events?.queue.getMetrics() ?? null);
  if (gw.quota !== null) registerQuotaMetrics(reg, gw.quota);
  return reg;
}
