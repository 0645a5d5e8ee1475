/**
 * Prometheus exposition of the gateway's figures (prom-client registry and text format). Nothing is
 * recorded twice: at scrape time the metrics are read from the gateway snapshot, and the stage
 * latencies are converted from the HDR histograms (µs) into Prometheus histogram buckets (seconds)
 * through prom-client's custom-metric interface (an object with `name` and `get()`).
 */
import { registerVineQueueMetrics } from '../vinequeue/index.js';
import { registerQuotaMetrics } from '../quota/index.js';
import { computedMetric as computed, hdrToPromValues, type PromValue as Value } from '../metrics/prom.js';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { SERVER_STAGES } from '../metrics/stages.js';
import type { GatewayServer } from '../gateway/index.js';

export function createGatewayRegistry(gw: GatewayServer): Registry {
  const reg = new Registry();
  collectDefaultMetrics({ register: reg, prefix: 'gatectl_process_' });
  const one = (value: number): Value[] => [{ value, labels: {} }];
  const byLabel = (label: string, o: Record<string, number>): Value[] => Object.entries(o).map(([k, v]) => ({ value: v, labels: { [label]: k } }));
  const metrics = [
    computed('gatectl_stage_latency_seconds', 'Server stage latency (seed 001 stage names), from the HDR histograms', 'histogram',
      () => SERVER_STAGES.flatMap((s) => hdrToPromValues('gatectl_stage_latency_seconds', gw.stages.histogram(s), { stage: s }))),
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
    computed('gatectl_sessions_active', 'Live sessions', 'gauge', () => one(gw.sessions.size)),
    computed('gatectl_requests_total', 'Business requests read', 'counter', () => one(gw.snapshotCounters().requests)),
    computed('gatectl_responses_total', 'Business responses enqueued', 'counter', () => one(gw.snapshotCounters().responses)),
    computed('gatectl_error_responses_total', 'ErrorResponses sent, by code', 'counter', () => byLabel('code', gw.snapshotCounters().errors_by_code)),
    computed('gatectl_frame_errors_total', 'Connections closed for a bad frame, by reason', 'counter', () => byLabel('reason', gw.snapshotCounters().frame_errors)),
    computed('gatectl_upstream_errors_total', 'Upstream calls that failed (500)', 'counter', () => one(gw.snapshotCounters().upstream_errors)),
    computed('gatectl_upstream_timeouts_total', 'Upstream calls that timed out (504)', 'counter', () => one(gw.snapshotCounters().upstream_timeouts)),
    computed('gatectl_processor_queue_length', 'AsyncRequestProcessor tasks waiting', 'gauge', () => one(gw.processor?.stats().queue_length ?? 0)),
    computed('gatectl_processor_submitted_total', 'Tasks submitted to the AsyncRequestProcessor', 'counter', () => one(gw.processor?.submitted ?? 0)),
    computed('gatectl_processor_rejected_total', 'Tasks refused with 503 (queue full)', 'counter', () => one(gw.processor?.rejected ?? 0)),
    computed('gatectl_processor_skipped_invalid_session_total', 'Tasks skipped because their session closed', 'counter', () => one(gw.processor?.skippedInvalidSession ?? 0)),
  ];
  const transport = (key: string): Value[] => {
    const v = gw.transportStats()?.[key];
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
      const v = gw.transportStats()?.invalid_datagrams;
      return typeof v === 'object' ? byLabel('reason', v) : [];
    }),
  );
  for (const m of metrics) reg.registerMetric(m as unknown as Parameters<Registry['registerMetric']>[0]);
  registerVineQueueMetrics(reg, () => gw.events?.queue.getMetrics() ?? null);
  if (gw.quota !== null) registerQuotaMetrics(reg, gw.quota);
  return reg;
}
