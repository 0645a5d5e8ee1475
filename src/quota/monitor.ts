/**
 * Monitoring of the async quota (seed 003 监控和统计, 健康检查): the JSON bodies of `/quota/stats`
 * and `/quota/health` (pure functions of the service's counters) and its Prometheus metrics
 * (computed at scrape time from the same counters and HDR histograms; nothing recorded twice).
 */
import type { Registry } from 'prom-client';
import { encodeLatency } from '../metrics/histogram.js';
import { computedMetric as m, hdrToPromValues, type PromValue as Value } from '../metrics/prom.js';
import { quotaConfigToJson } from './config.js';
import type { QuotaService } from './service.js';

/** Monitor paths served from this module's bodies. */
export const QUOTA_ENDPOINTS = ['/quota/stats', '/quota/health'] as const;

/**
 * Body of `/quota/stats`: `{ quota_stats: { mode, consumer_stats (seed 003 ConsumerStats + increments,
 * retries), channel {length, capacity, pending_events, inflight_batches}, service {checks, denied,
 * cache_hits, cache_misses, sync_consumes, sync_fallbacks, sync_failures}, latency {unit: 'µs',
 * publish_to_durable, sync_consume, check: EncodedLatency}, config (seed keys), durable } }`.
 * `durable` (issue 15, `--quota-durable`; null without it) is DurableQuotaStats: WAL depth
 * (`wal_depth_events`, events appended not yet applied), `wal_bytes`, `wal_segments`,
 * `appended_events`, `applied_events`, `duplicate_events`, `replayed_events`, `corrupt_records`,
 * `store_errors`, `circuit_state`, `pruned_ids` and `recovery` (what the start recovered).
 */
export function quotaStatsJson(service: QuotaService): unknown {
  const c = service.consumer;
  return {
    quota_stats: {
      mode: service.mode,
      consumer_stats: c.stats(),
      channel: { length: c.channelLength, capacity: c.channelCapacity, pending_events: c.pending, inflight_batches: c.inflightBatches },
      service: service.serviceCounters(),
      latency: {
        unit: 'µs',
        publish_to_durable: encodeLatency(c.lag),
        sync_consume: encodeLatency(service.syncLatency),
        check: encodeLatency(service.checkLatency),
      },
      config: quotaConfigToJson(service.config),
      durable: service.durable?.stats() ?? null,
    },
  };
}

/**
 * Body of `/quota/health`: `{ healthy, reasons: string[], mode, pending_events, channel_fill (0..1),
 * ms_since_last_batch (ms, null before the first), consumer_stats }`. The monitor server answers
 * 200 when healthy, else 503.
 */
export function quotaHealthJson(service: QuotaService): { healthy: boolean; reasons: string[]; [k: string]: unknown } {
  const h = service.health();
  const c = service.consumer;
  const since = c.msSinceLastBatch();
  return {
    healthy: h.healthy,
    reasons: h.reasons,
    mode: service.mode,
    pending_events: c.pending,
    channel_fill: c.channelLength / c.channelCapacity,
    ms_since_last_batch: since === null ? null : Math.round(since),
    consumer_stats: c.stats(),
  };
}

/**
 * Adds the quota metrics to `registry` (prom-client; values read at scrape time):
 * `gatectl_quota_events_total{state=accepted|processed|failed|dropped}`, `gatectl_quota_batches_total`,
 * `gatectl_quota_increments_total`, `gatectl_quota_retries_total`, `gatectl_quota_sync_consumes_total`,
 * `gatectl_quota_sync_fallbacks_total`, `gatectl_quota_checks_total{result=allowed|denied}`,
 * `gatectl_quota_cache_total{result=hit|miss}`, gauges `gatectl_quota_channel_length`,
 * `gatectl_quota_channel_capacity`, `gatectl_quota_pending_events`, `gatectl_quota_healthy` (1/0),
 * and histograms (seconds) `gatectl_quota_lag_seconds` (publish → durable write),
 * `gatectl_quota_sync_consume_seconds`, `gatectl_quota_check_seconds`. With `--quota-durable`
 * also `gatectl_quota_wal_depth_events` (gauge), `gatectl_quota_wal_events_total{state=appended|
 * applied|duplicate|replayed|corrupt}` and `gatectl_quota_wal_bytes` (gauge).
 */
export function registerQuotaMetrics(registry: Registry, service: QuotaService): void {
  const one = (value: number): Value[] => [{ value, labels: {} }];
  const c = service.consumer;
  const metrics = [
    m('gatectl_quota_events_total', 'Quota events by state (seed 003 ConsumerStats)', 'counter', () => {
      const s = c.stats();
      return [
        { value: s.total_events, labels: { state: 'accepted' } }, { value: s.processed_events, labels: { state: 'processed' } },
        { value: s.failed_events, labels: { state: 'failed' } }, { value: s.dropped_events, labels: { state: 'dropped' } },
      ];
    }),
    m('gatectl_quota_batches_total', 'Batches finished by the quota consumer', 'counter', () => one(c.stats().batch_count)),
    m('gatectl_quota_increments_total', 'Grouped usage increments written by the consumer', 'counter', () => one(c.stats().increments)),
    m('gatectl_quota_retries_total', 'Batch writes retried', 'counter', () => one(c.stats().retries)),
    m('gatectl_quota_sync_consumes_total', 'Events consumed synchronously', 'counter', () => one(service.serviceCounters().sync_consumes)),
    m('gatectl_quota_sync_fallbacks_total', 'Async consumes that fell back to sync (channel full)', 'counter', () => one(service.serviceCounters().sync_fallbacks)),
    m('gatectl_quota_checks_total', 'Quota checks by result', 'counter', () => {
      const s = service.serviceCounters();
      return [{ value: s.checks - s.denied, labels: { result: 'allowed' } }, { value: s.denied, labels: { result: 'denied' } }];
    }),
    m('gatectl_quota_cache_total', 'Quota checks by cache result', 'counter', () => {
      const s = service.serviceCounters();
      return [{ value: s.cache_hits, labels: { result: 'hit' } }, { value: s.cache_misses, labels: { result: 'miss' } }];
    }),
    m('gatectl_quota_channel_length', 'Events buffered in the quota channel', 'gauge', () => one(c.channelLength)),
    m('gatectl_quota_channel_capacity', 'Quota channel capacity (channel_size)', 'gauge', () => one(c.channelCapacity)),
    m('gatectl_quota_pending_events', 'Events accepted but not yet written', 'gauge', () => one(c.pending)),
    m('gatectl_quota_healthy', '1 when the quota consumer is healthy, else 0', 'gauge', () => one(service.health().healthy ? 1 : 0)),
    m('gatectl_quota_lag_seconds', 'Publish to durable write lag of async quota events', 'histogram', () => hdrToPromValues('gatectl_quota_lag_seconds', c.lag, {})),
    m('gatectl_quota_sync_consume_seconds', 'Synchronous quota consume latency', 'histogram', () => hdrToPromValues('gatectl_quota_sync_consume_seconds', service.syncLatency, {})),
    m('gatectl_quota_check_seconds', 'Quota check latency', 'histogram', () => hdrToPromValues('gatectl_quota_check_seconds', service.checkLatency, {})),
  ];
  const d = service.durable;
  if (d !== null) {
    metrics.push(
      m('gatectl_quota_wal_depth_events', 'Quota events appended to the WAL and not yet applied to the store', 'gauge', () => one(d.depth)),
      m('gatectl_quota_wal_events_total', 'Quota WAL events by state (issue 15 --quota-durable)', 'counter', () => {
        const s = d.stats();
        return [
          { value: s.appended_events, labels: { state: 'appended' } }, { value: s.applied_events, labels: { state: 'applied' } },
          { value: s.duplicate_events, labels: { state: 'duplicate' } }, { value: s.replayed_events, labels: { state: 'replayed' } },
          { value: s.corrupt_records, labels: { state: 'corrupt' } },
        ];
      }),
      m('gatectl_quota_wal_bytes', 'Bytes of the quota WAL segment files', 'gauge', () => one(d.stats().wal_bytes)),
    );
  }
  for (const x of metrics) registry.registerMetric(x as unknown as Parameters<Registry['registerMetric']>[0]);
}
