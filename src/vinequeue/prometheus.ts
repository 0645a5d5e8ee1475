/**
 * VineQueue metrics (seed 002 "监控指标") in a prom-client Registry, computed at scrape time from
 * `getMetrics()` like src/monitor/prometheus.ts (custom metrics with `get()`: nothing recorded twice).
 */
import type { Registry } from 'prom-client';
import type { VineMetrics } from './queue.js';
import { computedMetric as computed, type PromValue as Value } from '../metrics/prom.js';


/**
 * Registers the VineQueue metrics into `registry` under `prefix` (default `gatectl_vinequeue_`):
 * enqueued_total, sent_total, errors_total, dropped_total, batches_sent_total, rejected_total{code},
 * retries_total, breaker_opens_total, wal_recovered_total, wal_corrupt_records_total (counters);
 * memory_queue_size (items), wal_size_bytes, wal_backlog (items), wal_segments,
 * avg_send_latency_seconds, backoff_seconds, circuit_state{state} (1 for the current state, 0 for the
 * others) (gauges). `source` is called at each scrape; when it returns null (no queue yet) the metrics
 * have no samples. Throws (prom-client) when a metric of the same name is already registered.
 */
export function registerVineQueueMetrics(registry: Registry, source: () => VineMetrics | null, prefix = 'gatectl_vinequeue_'): void {
  const one = (f: (m: VineMetrics) => number) => (): Value[] => {
    const m = source();
    return m === null ? [] : [{ value: f(m), labels: {} }];
  };
  const metrics = [
    computed(`${prefix}enqueued_total`, 'Items accepted by enqueue (memory or WAL)', 'counter', one((m) => m.enqueued_total)),
    computed(`${prefix}sent_total`, 'Items acknowledged by the sink', 'counter', one((m) => m.sent_total)),
    computed(`${prefix}errors_total`, 'Failed send attempts and failed prepares (batches)', 'counter', one((m) => m.errors_total)),
    computed(`${prefix}dropped_total`, 'Items given up (retries exhausted without WAL, failed prepare, stop timeout without WAL)', 'counter', one((m) => m.dropped_total)),
    computed(`${prefix}batches_sent_total`, 'Batches acknowledged by the sink', 'counter', one((m) => m.batches_sent_total)),
    computed(`${prefix}rejected_total`, 'Enqueue calls refused, by error code', 'counter', () => {
      const m = source();
      return m === null ? [] : Object.entries(m.rejected_total).map(([code, value]) => ({ value, labels: { code } }));
    }),
    computed(`${prefix}retries_total`, 'Send retries scheduled', 'counter', one((m) => m.retries_total)),
    computed(`${prefix}breaker_opens_total`, 'Times the circuit breaker opened', 'counter', one((m) => m.breaker_opens_total)),
    computed(`${prefix}wal_recovered_total`, 'WAL records read back from an earlier process', 'counter', one((m) => m.wal_recovered_total)),
    computed(`${prefix}wal_corrupt_records_total`, 'WAL records skipped as corrupt or torn', 'counter', one((m) => m.wal_corrupt_records_total)),
    computed(`${prefix}memory_queue_size`, 'Items held in memory', 'gauge', one((m) => m.memory_queue_size)),
    computed(`${prefix}wal_size_bytes`, 'Bytes of the WAL segment files', 'gauge', one((m) => m.wal_size)),
    computed(`${prefix}wal_backlog`, 'Items overflowed to the WAL not yet read back', 'gauge', one((m) => m.wal_backlog)),
    computed(`${prefix}wal_segments`, 'Live WAL segment files', 'gauge', one((m) => m.wal_segments)),
    computed(`${prefix}avg_send_latency_seconds`, 'Mean duration of acknowledged sends, seconds', 'gauge', one((m) => m.avg_send_latency_ms / 1000)),
    computed(`${prefix}backoff_seconds`, 'Backpressure delay applied to enqueue, seconds', 'gauge', one((m) => m.backoff_ms / 1000)),
    computed(`${prefix}circuit_state`, 'Circuit breaker state: 1 for the current state', 'gauge', () => {
      const m = source();
      return m === null ? [] : (['closed', 'open', 'half-open'] as const).map((s) => ({ value: m.circuit_state === s ? 1 : 0, labels: { state: s } }));
    }),
  ];
  for (const m of metrics) registry.registerMetric(m as unknown as Parameters<Registry['registerMetric']>[0]);
}
