/**
 * RunResult (DESIGN §6): the JSON a load run writes, `schema: "gatectl.run/v1"`. Every figure in it
 * was measured in that run; histograms travel encoded so results can be merged exactly. Fields
 * marked optional were added after the first results were written (issue 4); readers treat them
 * as absent, never as 0.
 */
import type { EncodedLatency } from './histogram.js';
import type { CapacityResult } from './capacity.js';

/** Schema tag of a run result. */
export const RUN_SCHEMA = 'gatectl.run/v1';
/** Schema tag of a comparison result. */
export const COMPARISON_SCHEMA = 'gatectl.compare/v1';

/** Protocol-violation counters (DESIGN §3). */
export interface ViolationCounts {
  /** a push whose server_seq was missing earlier and arrived late */
  reorders: number;
  /** a push whose server_seq skipped ahead of the next expected one */
  gaps: number;
  /** a server_seq seen twice */
  duplicates: number;
  /** a before-notify after its response, or an after-notify before it */
  notify_order_violations: number;
}

/** One second of the steady phase. */
export interface TimeSeriesPoint {
  /** seconds since the steady phase began */
  t_s: number;
  connected: number;
  requests: number;
  responses: number;
  errors: number;
  /** e2e p99 of responses received in this second, in µs (0 when none) */
  e2e_p99_us: number;
  /**
   * that second's e2e histogram (µs), base64 HDR encoding, so `report --merge` computes the merged
   * second's percentiles exactly (issue 14 §7); absent in older results
   */
  e2e_histogram?: string;
  /** that second's schedule-lag histogram (µs), base64 HDR encoding; absent in older results */
  schedule_lag_histogram?: string;
  /** sessions set up again after a loss in this second (absent before issue 15) */
  reconnects?: number;
  /** requests lost with a session in this second (absent before issue 15) */
  lost_on_disconnect?: number;
  /** e2e p50 of responses received in this second, in µs (0 when none; absent in results before issue 12) */
  e2e_p50_us?: number;
  /** schedule lag (actual − intended send time) p99 of the requests sent in this second, in µs (0 when none; absent before issue 12) */
  schedule_lag_p99_us?: number;
}

/**
 * A window of a run in which at least one client had lost its session and not said Hello again
 * (issue 15). Times in ms since the steady start (negative: before it) and as ISO wall-clock times.
 */
export interface OutageWindow {
  /** the target went silent: the last data the first lost client heard (idle-timeout losses) or the first loss */
  start_ms: number;
  /** the last lost client said Hello again (or the steady phase ended: `recovered` false) */
  end_ms: number;
  duration_ms: number;
  /** the first session of the window was declared lost (≥ start_ms: the client idle timeout) */
  detected_ms?: number;
  /** sessions lost in the window (a client lost twice counts twice) */
  clients_lost: number;
  /** requests in flight on those sessions when they were lost */
  lost_on_disconnect: number;
  /** every client lost in it was connected again before the steady phase ended */
  recovered: boolean;
  started_at: string;
  ended_at: string;
}

/** Client-side results. */
export interface ClientResult {
  clients: number;
  connected: number;
  connect_failures: number;
  hello_failures: number;
  requests_sent: number;
  responses: number;
  /** notifies bound to a request (grid ≠ 0) */
  notifies: number;
  /** server-initiated notifies (placement UNBOUND) */
  unbound_notifies?: number;
  /** Heartbeats sent by idle clients */
  heartbeats?: number;
  /** open model: intended sends skipped because the client had `max_in_flight` requests outstanding (k6 dropped_iterations) */
  dropped_iterations?: number;
  /** requests never answered by the end of the drain period (those lost with their session included: `lost_on_disconnect`) */
  unanswered: number;
  /** sessions lost (peer closed, or silent for the client idle timeout: transport_errors.idle_timeout) during the run (issue 15) */
  disconnects?: number;
  /** sessions set up again after a loss (dial + Hello 200) */
  reconnects?: number;
  /** reconnect attempts that failed (dial failed or timed out, Hello refused) */
  reconnect_failures?: number;
  /** requests in flight when their session was lost: never answered, so also part of `unanswered` */
  lost_on_disconnect?: number;
  /**
   * the part of lost_on_disconnect lost to an unreachable target: the session went silent (client
   * idle timeout), a reconnect could not dial the target, or the session was not back by the end
   * (a session the gateway closed and that reconnected at once is not counted)
   */
  lost_unreachable?: number;
  /** open model: arrivals never sent because their client was disconnected when the schedule ended (part of dropped_iterations) */
  dropped_disconnected?: number;
  /** time clients spent disconnected during the steady phase: clients that were, sum and longest, ms; per client (user id → ms, only those > 0) */
  disconnected?: { clients: number; total_ms: number; max_ms: number; per_client_ms: Record<string, number> };
  /** outage windows of the run, merged over generator processes */
  outages?: OutageWindow[];
  /** ErrorResponses received, by code */
  errors_by_code: Record<string, number>;
  /** connection-level failures (write failed, connection closed by the peer), by kind */
  transport_errors: Record<string, number>;
  violations: ViolationCounts;
  /** responses / steady-phase seconds */
  responses_per_s: number;
  /** requests sent / steady-phase seconds */
  requests_per_s: number;
  latency: {
    /** request's intended send time to its response, µs (coordinated-omission corrected; closed model: same as uncorrected) */
    e2e: EncodedLatency;
    /** request's actual send time to its response, µs (what a closed-loop tool reports; wrk2 -U) */
    e2e_uncorrected?: EncodedLatency;
    /** dial to stream open, µs */
    connect: EncodedLatency;
    /** actual send time minus scheduled send time, µs: how late the generator was */
    schedule_lag: EncodedLatency;
  };
  /**
   * `--slow-clients` (issue 14 §6): the slow readers' own figures. When present, every other field
   * of ClientResult counts the healthy clients only, so a slow reader's latency never hides in (or
   * inflates) the healthy clients' percentiles.
   */
  slow?: SlowClientsResult;
}

/** The slow readers of a `--slow-clients` run (load/slow-reader.ts). Latencies in µs. */
export interface SlowClientsResult {
  /** slow clients in this run (or shard), and how many said Hello */
  clients: number;
  connected: number;
  /** the bound each slow client reads its stream at, bytes/s, and the stream receive window it advertises, bytes */
  read_bytes_per_s: number;
  receive_window_bytes: number;
  requests_sent: number;
  responses: number;
  unanswered: number;
  errors_by_code: Record<string, number>;
  /** e.g. closed_by_peer: the gateway closed a slow consumer (write-stall timeout or session buffer limit) */
  transport_errors: Record<string, number>;
  latency: { e2e: EncodedLatency };
}

/** The load generator's view of itself. */
export interface GeneratorResult {
  /** generator processes (`--workers`; 1 = the gatectl process itself) */
  workers?: number;
  /** event-loop delay of the generator with the worst p99 (each generator process measures its own), ms */
  event_loop_delay_p99_ms: number;
  event_loop_delay_max_ms: number;
  /** true when the generator, not the target, limited the run (see README) */
  generator_bound: boolean;
  /**
   * largest resident set size of the gatectl process (the generator when --workers is 1), sampled
   * once per second during this run, bytes. The in-process gateway runs in a process of its own
   * since issue 14 §4: its peak is `server.peak_rss_bytes`
   */
  peak_rss_bytes: number;
  /** with --workers > 1: largest resident set size of one generator child process, bytes */
  workers_peak_rss_bytes?: number;
  /**
   * the generators' transport counters, summed over generator processes (QUIC: packets_in/out,
   * bytes_in/out, handshakes_*, invalid_datagrams by reason, lost_packets, …; see the README)
   */
  transport?: Record<string, number | Record<string, number>>;
  /** CPU time (user + system) of the generator processes in the steady phase and drain, summed, µs */
  cpu_us?: number;
  /** cpu_us ÷ the responses received, µs per response */
  cpu_us_per_response?: number;
}

/** Server-side figures: stage histograms and queue/processor stats. */
export interface ServerResult {
  /** where they came from */
  source: 'in-process' | 'monitor';
  stages: Record<string, EncodedLatency>;
  queue: Record<string, unknown>;
  processor: Record<string, unknown> | null;
  counters: Record<string, unknown>;
  /** the target's transport counters (in-process QUIC gateway: packets, handshakes, invalid_datagrams by reason, …) */
  transport?: Record<string, number | Record<string, number>>;
  /**
   * send-queue stages (enqueue_latency, lock_wait, …, µs) of the sessions of each client cohort
   * (`healthy`, `slow`) in a `--slow-clients` run (issue 14 §6); absent otherwise
   */
  cohorts?: Record<string, Record<string, EncodedLatency>>;
  /** in-process target: CPU time (user + system) its process used in the steady phase and drain, µs */
  cpu_us?: number;
  /** cpu_us ÷ the responses the clients received, µs per response */
  cpu_us_per_response?: number;
  /** in-process target: the peak resident set size of its process since it started, bytes */
  peak_rss_bytes?: number;
}

/** One schedule stage of a run. Times in ms since the steady start; rates in requests/s. */
export interface StageResult {
  index: number;
  kind: 'ramp' | 'steady' | 'burst';
  /** the scenario's label for the stage, if any */
  label?: string;
  start_ms: number;
  end_ms: number;
  rate_from: number;
  rate_to: number;
  clients_from: number;
  clients_to: number;
  /** requests whose intended send time fell in the stage */
  requests: number;
  /** responses to those requests (count of `e2e`) */
  responses: number;
  e2e: EncodedLatency;
}

/** A whole run. */
export interface RunResult {
  schema: typeof RUN_SCHEMA;
  /** e.g. `sync`, `async` or the target URL */
  label: string;
  started_at: string;
  finished_at: string;
  /** measured length of the steady phase, seconds */
  steady_s: number;
  /** the instant the steady phase began (ISO 8601; `--start-at` when given and met): time series seconds count from it */
  steady_started_at?: string;
  config: Record<string, unknown>;
  environment: { node: string; platform: string; cpus: number; cpu_model: string; total_mem_bytes: number };
  client: ClientResult;
  generator: GeneratorResult;
  server: ServerResult | null;
  timeseries: TimeSeriesPoint[];
  warnings: string[];
  /** true when the run was stopped early (SIGINT, issue 11 §2): `steady_s` is the time it ran */
  interrupted?: boolean;
  /**
   * Per-stage summaries (issue 4 §3): one entry per schedule stage (a flag-only run has one steady
   * stage); requests by intended send time, e2e corrected latency in µs.
   */
  stages?: StageResult[];
  /**
   * the latency statistics its reports show (`--percentiles`, issue 12), normalised labels in the
   * order given, e.g. `["p50", "p90", "p95", "p99", "p99.9", "max"]`; absent: the default, that list
   */
  percentiles?: string[];
  /** thresholds evaluated on this run (`--threshold`, scenario), k6 syntax; `actual` in µs for latencies */
  thresholds?: { expr: string; ok: boolean; actual: number | null; reason?: string }[];
}

/** A before/after comparison of two runs. */
export interface ComparisonResult {
  schema: typeof COMPARISON_SCHEMA;
  created_at: string;
  before: RunResult;
  after: RunResult;
  /**
   * Extra measurements of each side (seed 003 tables): a single-call run (one client, one request in
   * flight) and a capacity search (`--find-max`), when the comparison made them.
   */
  extras?: {
    single_call?: { before: RunResult; after: RunResult };
    capacity?: { before: CapacityResult; after: CapacityResult };
  };
}
