/**
 * The gateway's counters (issue 16 §4: every counter visible) and, for each, the Prometheus series
 * it appears as. `/metrics` (monitor/prometheus.ts) and `/gateway/stats` (monitor/server.ts) are
 * both built from `COUNTER_SERIES`, whose type requires an entry for every key of
 * `GatewayCounters`: a counter added without a series does not compile.
 */

/** Gateway counters beyond the queue and processor stats. Counts since start; gauges are marked. */
export interface GatewayCounters {
  sessions_created: number;
  /** gauge: live sessions (pending and active) */
  sessions_active: number;
  /** gauge: live sessions that have not completed Hello */
  sessions_pending: number;
  hellos: number;
  requests: number;
  responses: number;
  acks: number;
  /** ErrorResponses sent (in-band and out-of-band), by code */
  errors_by_code: Record<string, number>;
  /** connections closed for a bad frame, by reason (oversize → 413, decode, varint) */
  frame_errors: Record<string, number>;
  upstream_errors: number;
  upstream_timeouts: number;
  /** upstream answers whose data, headers and notify payloads exceeded the frame limit (answered 500) */
  upstream_oversize: number;
  /** pushes that could not be enqueued (session closed, failed write in sync mode) */
  send_failures: number;
  /** sessions closed because their waiting heap passed QUEUE_MAX_QUEUE_SIZE */
  queue_full_closes: number;
  /** sessions closed after `idleTimeoutMs` without a request, ack or heartbeat */
  idle_closes: number;
  /** sessions closed (408) because they had not completed Hello within `helloTimeoutMs` */
  hello_timeouts: number;
  /** pending sessions closed (503) to make room for a new connection (`maxPendingSessions` reached) */
  pending_evictions: number;
  /** sessions whose connection the peer closed (or the transport lost) */
  peer_closes: number;
  /** sessions closed by a graceful stop */
  shutdown_closes: number;
  heartbeats: number;
  /** server-initiated (unbound) notifies pushed through `push()` / `POST /push` */
  unbound_notifies: number;
  /** Hellos refused by the upstream login (the session is closed) */
  login_failures: number;
  /** sessions closed because they did not read (session buffer limit or write stall) */
  slow_consumer_closes: number;
  /** connections refused (503) because `maxSessions` sessions were open */
  refused_max_sessions: number;
  /** connections refused (503) because `maxPendingSessions` sessions all had a Hello in progress */
  refused_pending_sessions: number;
  /** connections closed at once because the gateway was stopping */
  refused_connections_shutting_down: number;
  /** business requests answered 429 by the per-session rate cap */
  rate_limited: number;
  /** business requests answered 400 because their headers map passed an entry or byte cap */
  headers_too_large: number;
  /** business requests answered 503 because the gateway was shutting down (new ones, and queued ones a stop could not finish) */
  refused_shutting_down: number;
  /** times a session's input was held for a later event-loop turn (its per-turn budget was spent) */
  input_deferrals: number;
  /** times the gateway told a session's transport to stop reading (its held input passed the high-water mark) */
  read_pauses: number;
  /** uncaught exceptions seen by `serve`'s crash policy */
  uncaught_exceptions: number;
  /** unhandled promise rejections seen by `serve`'s crash policy */
  unhandled_rejections: number;
}

/** A fresh set of counters, all zero. */
export function emptyCounters(): GatewayCounters {
  return {
    sessions_created: 0, sessions_active: 0, sessions_pending: 0, hellos: 0, requests: 0, responses: 0, acks: 0,
    errors_by_code: {}, frame_errors: {}, upstream_errors: 0, upstream_timeouts: 0, upstream_oversize: 0, send_failures: 0,
    queue_full_closes: 0, idle_closes: 0, hello_timeouts: 0, pending_evictions: 0, peer_closes: 0, shutdown_closes: 0,
    heartbeats: 0, unbound_notifies: 0, login_failures: 0, slow_consumer_closes: 0, refused_max_sessions: 0,
    refused_pending_sessions: 0, refused_connections_shutting_down: 0, rate_limited: 0, headers_too_large: 0,
    refused_shutting_down: 0, input_deferrals: 0, read_pauses: 0, uncaught_exceptions: 0, unhandled_rejections: 0,
  };
}

/** Prometheus families the counters appear in: type and help text. */
export const COUNTER_FAMILIES = {
  gatectl_sessions_created_total: { type: 'counter', help: 'Sessions created (connections accepted)' },
  gatectl_sessions_active: { type: 'gauge', help: 'Live sessions, pending and active' },
  gatectl_sessions_pending: { type: 'gauge', help: 'Live sessions that have not completed Hello' },
  gatectl_hellos_total: { type: 'counter', help: 'Hellos handled' },
  gatectl_requests_total: { type: 'counter', help: 'Business requests read' },
  gatectl_responses_total: { type: 'counter', help: 'Business responses enqueued' },
  gatectl_acks_total: { type: 'counter', help: 'Client acks read' },
  gatectl_heartbeats_total: { type: 'counter', help: 'Client heartbeats read' },
  gatectl_error_responses_total: { type: 'counter', help: 'ErrorResponses sent (in-band and out-of-band), by code' },
  gatectl_frame_errors_total: { type: 'counter', help: 'Connections closed for a bad frame, by reason (oversize is answered 413)' },
  gatectl_upstream_errors_total: { type: 'counter', help: 'Upstream calls that failed (500)' },
  gatectl_upstream_timeouts_total: { type: 'counter', help: 'Upstream calls that timed out (504)' },
  gatectl_upstream_oversize_total: { type: 'counter', help: 'Upstream answers larger than the frame limit (answered 500)' },
  gatectl_send_failures_total: { type: 'counter', help: 'Pushes that could not be enqueued (closed session, failed write)' },
  gatectl_unbound_notifies_total: { type: 'counter', help: 'Server-initiated unbound notifies pushed' },
  gatectl_login_failures_total: { type: 'counter', help: 'Hellos refused by the upstream login (session closed)' },
  gatectl_session_closes_total: { type: 'counter', help: 'Sessions closed, by reason (login failures and bad frames have their own series)' },
  gatectl_connections_refused_total: { type: 'counter', help: 'Connections refused at accept, by reason (503 before closing)' },
  gatectl_requests_refused_total: { type: 'counter', help: 'Business requests refused before the upstream, by reason' },
  gatectl_fairness_deferrals_total: { type: 'counter', help: 'Times a session\'s input was held for a later event-loop turn (per-turn budget spent)' },
  gatectl_fairness_read_pauses_total: { type: 'counter', help: 'Times a session\'s transport was told to stop reading (held input above the high-water mark)' },
  gatectl_uncaught_errors_total: { type: 'counter', help: 'Uncaught exceptions and unhandled rejections seen by the crash policy, by kind' },
} as const;

/** Name of a counter family. */
export type CounterFamily = keyof typeof COUNTER_FAMILIES;

/**
 * How one counter appears: its family, and either fixed `labels` (a number counter) or `byLabel`,
 * the label that carries the keys of a record counter (`errors_by_code` → `code`).
 */
export interface CounterSeries {
  family: CounterFamily;
  labels?: Readonly<Record<string, string>>;
  byLabel?: string;
}

/** The series of every gateway counter (the type makes the table complete). */
export const COUNTER_SERIES: { readonly [K in keyof GatewayCounters]: CounterSeries } = {
  sessions_created: { family: 'gatectl_sessions_created_total' },
  sessions_active: { family: 'gatectl_sessions_active' },
  sessions_pending: { family: 'gatectl_sessions_pending' },
  hellos: { family: 'gatectl_hellos_total' },
  requests: { family: 'gatectl_requests_total' },
  responses: { family: 'gatectl_responses_total' },
  acks: { family: 'gatectl_acks_total' },
  heartbeats: { family: 'gatectl_heartbeats_total' },
  errors_by_code: { family: 'gatectl_error_responses_total', byLabel: 'code' },
  frame_errors: { family: 'gatectl_frame_errors_total', byLabel: 'reason' },
  upstream_errors: { family: 'gatectl_upstream_errors_total' },
  upstream_timeouts: { family: 'gatectl_upstream_timeouts_total' },
  upstream_oversize: { family: 'gatectl_upstream_oversize_total' },
  send_failures: { family: 'gatectl_send_failures_total' },
  unbound_notifies: { family: 'gatectl_unbound_notifies_total' },
  login_failures: { family: 'gatectl_login_failures_total' },
  idle_closes: { family: 'gatectl_session_closes_total', labels: { reason: 'idle' } },
  hello_timeouts: { family: 'gatectl_session_closes_total', labels: { reason: 'hello_timeout' } },
  pending_evictions: { family: 'gatectl_session_closes_total', labels: { reason: 'pending_evicted' } },
  slow_consumer_closes: { family: 'gatectl_session_closes_total', labels: { reason: 'slow_consumer' } },
  queue_full_closes: { family: 'gatectl_session_closes_total', labels: { reason: 'queue_full' } },
  peer_closes: { family: 'gatectl_session_closes_total', labels: { reason: 'peer' } },
  shutdown_closes: { family: 'gatectl_session_closes_total', labels: { reason: 'shutdown' } },
  refused_max_sessions: { family: 'gatectl_connections_refused_total', labels: { reason: 'max_sessions' } },
  refused_pending_sessions: { family: 'gatectl_connections_refused_total', labels: { reason: 'pending_sessions' } },
  refused_connections_shutting_down: { family: 'gatectl_connections_refused_total', labels: { reason: 'shutting_down' } },
  rate_limited: { family: 'gatectl_requests_refused_total', labels: { reason: 'rate_limited' } },
  headers_too_large: { family: 'gatectl_requests_refused_total', labels: { reason: 'headers_too_large' } },
  refused_shutting_down: { family: 'gatectl_requests_refused_total', labels: { reason: 'shutting_down' } },
  input_deferrals: { family: 'gatectl_fairness_deferrals_total' },
  read_pauses: { family: 'gatectl_fairness_read_pauses_total' },
  uncaught_exceptions: { family: 'gatectl_uncaught_errors_total', labels: { kind: 'exception' } },
  unhandled_rejections: { family: 'gatectl_uncaught_errors_total', labels: { kind: 'rejection' } },
};

/** One Prometheus sample of a counter family: value and labels. */
export interface CounterSample {
  value: number;
  labels: Record<string, string>;
}

/**
 * The samples of `family` from `counters`: one per number counter of the family (with its fixed
 * labels), one per key of a record counter (labelled `byLabel`).
 */
export function familySamples(family: CounterFamily, counters: GatewayCounters): CounterSample[] {
  const out: CounterSample[] = [];
  for (const key of Object.keys(COUNTER_SERIES) as (keyof GatewayCounters)[]) {
    const series = COUNTER_SERIES[key];
    if (series.family !== family) continue;
    const v = counters[key];
    if (typeof v === 'number') out.push({ value: v, labels: { ...series.labels } });
    else for (const [k, n] of Object.entries(v)) out.push({ value: n, labels: { [series.byLabel ?? 'key']: k } });
  }
  return out;
}

/**
 * A labelled family as a JSON object, `{label value: count}` (e.g. closes by reason), from the
 * same table as `/metrics`.
 */
export function familyByLabel(family: CounterFamily, label: string, counters: GatewayCounters): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of familySamples(family, counters)) {
    const k = s.labels[label];
    if (k !== undefined) out[k] = s.value;
  }
  return out;
}
