/**
 * `gatectl load --metrics-port P` (issue 12 §4): the load generator's own figures in Prometheus
 * text format (prom-client registry) at `http://127.0.0.1:P/metrics`, so a long run can be watched
 * in Grafana. Values are read at scrape time from the once-a-second progress ticks
 * (computedMetric, metrics/prom.ts); nothing is recorded per request twice. Metrics:
 * - `gatectl_load_requests_total`, `gatectl_load_responses_total`, `gatectl_load_errors_total`
 *   (error responses + transport errors), `gatectl_load_violations_total` (counters since the run
 *   began; the ticks' sums);
 * - `gatectl_load_request_rate`, `gatectl_load_response_rate` (gauges: requests/s and responses/s
 *   of the last second), `gatectl_load_clients_connected`, `gatectl_load_clients`,
 *   `gatectl_load_phase{phase}` (1 for the current phase: connecting, steady, draining, done);
 * - `gatectl_load_e2e_latency_seconds`: histogram of the corrected e2e latency of every response so
 *   far (the ticks' per-second HDR histograms added up, converted with hdrToPromValues: buckets
 *   10 µs … 30 s);
 * - `gatectl_load_e2e_p50_seconds`, `gatectl_load_e2e_p99_seconds`,
 *   `gatectl_load_schedule_lag_p99_seconds`: gauges of the last second;
 * - prom-client's default process metrics with the prefix `gatectl_load_` (CPU, RSS, event-loop
 *   lag, GC) of the gatectl process.
 * With `--workers N` the counters are the processes' sums; the default metrics are the parent's.
 */
import { Registry, collectDefaultMetrics } from 'prom-client';
import { computedMetric, hdrToPromValues, prepareHdrConversion } from '../metrics/prom.js';
import { createHistogram } from '../metrics/histogram.js';
import { listenLocal, type LocalServer } from './http.js';
import type { ProgressTick } from '../metrics/progress.js';

const PHASES = ['connecting', 'steady', 'draining', 'done'] as const;

/** A running exporter: feed it ticks, stop it at the end. */
export interface PromExporter {
  readonly server: LocalServer;
  /** Folds one progress tick into the figures. */
  tick(t: ProgressTick): void;
  /** Marks the run finished (phase `done`); the figures stay until close. */
  done(): void;
  close(): Promise<void>;
  /** the registry, for tests */
  readonly registry: Registry;
}

/**
 * Starts the exporter on 127.0.0.1:`port` (0: any free port). Serves `GET /metrics` (404 otherwise).
 * Throws InvalidInputError when the port cannot be used.
 */
export async function startPromExporter(port: number): Promise<PromExporter> {
  const e2e = createHistogram();
  prepareHdrConversion(e2e);
  const state = { requests: 0, responses: 0, errors: 0, violations: 0, rps: 0, resps: 0, connected: 0, clients: 0,
    phase: 'connecting' as (typeof PHASES)[number], p50: 0, p99: 0, lag: 0 };
  const registry = new Registry();
  const one = (name: string, help: string, type: 'counter' | 'gauge', get: () => number) =>
    registry.registerMetric(computedMetric(name, help, type, () => [{ value: get(), labels: {} }]) as never);
  one('gatectl_load_requests_total', 'Requests sent by the load generator since the run began', 'counter', () => state.requests);
  one('gatectl_load_responses_total', 'Responses received since the run began', 'counter', () => state.responses);
  one('gatectl_load_errors_total', 'Error responses and transport errors since the run began', 'counter', () => state.errors);
  one('gatectl_load_violations_total', 'Protocol violations (reorders, gaps, duplicates, notify order) since the run began', 'counter', () => state.violations);
  one('gatectl_load_request_rate', 'Requests sent in the last second (requests/s)', 'gauge', () => state.rps);
  one('gatectl_load_response_rate', 'Responses received in the last second (responses/s)', 'gauge', () => state.resps);
  one('gatectl_load_clients_connected', 'Clients connected now', 'gauge', () => state.connected);
  one('gatectl_load_clients', 'Clients of this run', 'gauge', () => state.clients);
  one('gatectl_load_e2e_p50_seconds', 'e2e latency p50 of the responses of the last second (coordinated-omission corrected), seconds', 'gauge', () => state.p50 / 1e6);
  one('gatectl_load_e2e_p99_seconds', 'e2e latency p99 of the responses of the last second (coordinated-omission corrected), seconds', 'gauge', () => state.p99 / 1e6);
  one('gatectl_load_schedule_lag_p99_seconds', 'Schedule lag (actual - intended send time) p99 of the requests of the last second, seconds', 'gauge', () => state.lag / 1e6);
  registry.registerMetric(computedMetric('gatectl_load_phase', 'Phase of the run: 1 for the current one', 'gauge',
    () => PHASES.map((p) => ({ value: p === state.phase ? 1 : 0, labels: { phase: p } }))) as never);
  registry.registerMetric(computedMetric('gatectl_load_e2e_latency_seconds', 'e2e latency of every response so far (intended send time to response, coordinated-omission corrected), seconds', 'histogram',
    () => hdrToPromValues('gatectl_load_e2e_latency_seconds', e2e, {})) as never);
  collectDefaultMetrics({ register: registry, prefix: 'gatectl_load_' });
  const server = await listenLocal(port, '--metrics-port', (req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('gatectl load: the metrics are at /metrics\n');
      return;
    }
    registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err.message}\n`));
  });
  return {
    server,
    registry,
    tick(t) {
      e2e.add(t.e2e);
      Object.assign(state, {
        requests: t.requests_total, responses: t.responses_total, errors: t.errors, violations: t.violations, rps: t.requests_per_s, resps: t.responses_per_s,
        connected: t.connected, clients: t.clients, phase: t.phase, p50: t.e2e_p50_us, p99: t.e2e_p99_us, lag: t.schedule_lag_p99_us,
      });
    },
    done() { state.phase = 'done'; },
    close: () => server.close(),
  };
}
