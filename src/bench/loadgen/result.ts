/**
 * The load-generator benchmark's result (`gatectl.loadgen-bench/v2`, the JSON file): one measured
 * phase (ThroughputCell), the open-model phase, the micro-costs, the transport section. Types and
 * the goals only; the measurements fill them in.
 */
import type { BenchEnvironment } from '../environment.js';
import type { LoadgenBenchOptions } from './options.js';
import type { ReferenceComparison } from './reference.js';

/** Result schema id (v2: the `transport` section and its options). */
export const LOADGEN_BENCH_SCHEMA = 'gatectl.loadgen-bench/v2';
/** Goal of issue 4: gatectl closed-model responses/s ≥ 0.85 × raw echo responses/s. */
export const THROUGHPUT_GOAL = 0.85;

/** One measured throughput phase. */
export interface ThroughputCell {
  phase: 'raw_echo' | 'gatectl_closed' | 'gatectl_open';
  /** 1-based round (the open-model phase is round 0) */
  round: number;
  /** connections (raw) / clients (gatectl) connected */
  connected: number;
  /** requests the clients sent in the phase */
  requests: number;
  /** responses the clients received to them (during the phase and the drain) */
  responses: number;
  /** the counting window on the null gateway's clock (the phase less a margin at each end), s */
  window_s: number;
  /** responses the null gateway wrote inside the window */
  window_responses: number;
  /** window_responses ÷ window_s, responses/s (the throughput compared) */
  responses_per_s: number;
  /** client-side figure: responses ÷ phase length (drain included, as `gatectl load` reports it), responses/s */
  client_responses_per_s: number;
  /** ClientAcks the gateway received per response it wrote, over the phase and drain */
  acks_per_response: number;
  /** generator (this process) CPU time over wall time from just before the window to the end of the drain, % of one core */
  generator_cpu_percent: number;
  /** null gateway process CPU over the same interval, % of one core */
  gateway_cpu_percent: number;
  /** generator CPU time per response, ns */
  generator_cpu_ns_per_response: number;
  /** null gateway CPU time per response, ns */
  gateway_cpu_ns_per_response: number;
  /** write failures and error responses */
  errors: number;
  /** gatectl only (null for raw echo): corrected e2e latency p50/p99, µs */
  e2e_p50_us: number | null;
  e2e_p99_us: number | null;
  /** the generator's event-loop delay p99 over the phase and drain, ms (raw echo: measured the same way as runLoad does) */
  event_loop_delay_p99_ms: number | null;
  /** gatectl only: whether runLoad marked the run generator_bound (event-loop delay p99 > 20 ms) */
  generator_bound: boolean | null;
  /** gatectl only: gaps + reorders + duplicates + notify-order violations seen by the clients */
  violations: number | null;
}

/** The open-model phase: a throughput cell plus whether it kept up. */
export interface OpenModelCell extends ThroughputCell {
  /** offered arrival rate = openFraction × raw echo responses/s, requests/s */
  target_rate_per_s: number;
  /** requests sent ÷ window, requests/s */
  requests_per_s: number;
  /** per-client cap on outstanding requests (the CLI default) */
  max_in_flight: number;
  /** intended sends skipped at the cap (k6 dropped_iterations) */
  dropped_iterations: number;
  /** schedule lag p99 (actual − intended send), µs */
  schedule_lag_p99_us: number;
  /** uncorrected e2e p99 (from the actual send), µs */
  e2e_uncorrected_p99_us: number;
  /** no dropped iteration, requests/s ≥ 98 % of the target, schedule lag p99 ≤ 50 ms */
  kept_up: boolean;
}

/** Cost of recording into the factory histogram, measured in this process. */
export interface HistogramCost {
  /** values recorded (log-uniform over 1 µs .. 1 s) */
  values: number;
  /** recordUs, including reading the value from a typed array, ns per value */
  ns_per_record: number;
  /** the same loop summing the values instead of recording them, ns per value */
  loop_overhead_ns: number;
  /** ns_per_record − loop_overhead_ns, ns per value */
  net_ns_per_record: number;
  /** encodeHistogram of the filled histogram, µs per encode */
  encode_us: number;
  /** its encoded length, bytes (base64 text) */
  encoded_bytes: number;
  /** decodeHistogram of that text (into a factory histogram), µs per decode */
  decode_us: number;
}

/** Per-message cost of the load client's codec path, measured in this process. */
export interface CodecCost {
  iterations: number;
  /** BusinessRequest frame (64-byte payload by default), bytes */
  request_bytes: number;
  /** BusinessResponse frame, bytes */
  response_bytes: number;
  /** ClientMessageType.encodeDelimited of a BusinessRequest, ns per message */
  request_encode_ns: number;
  /** FrameDecoder.push of one BusinessResponse frame (varint + ServerPush decode), ns per message */
  response_decode_ns: number;
}

/** The whole benchmark result (JSON file). */
export interface LoadgenBenchResult {
  schema: typeof LOADGEN_BENCH_SCHEMA;
  created_at: string;
  /** the command line that produced it */
  command: string;
  environment: BenchEnvironment & {
    /** os.loadavg() (1, 5, 15 min) before and after the run */
    loadavg_start: number[]; loadavg_end: number[];
  };
  options: LoadgenBenchOptions;
  throughput: {
    raw_echo: ThroughputCell[];
    gatectl_closed: ThroughputCell[];
    /** Σ responses ÷ Σ windows over the rounds, responses/s */
    raw_echo_responses_per_s: number;
    gatectl_closed_responses_per_s: number;
    /** gatectl_closed_responses_per_s ÷ raw_echo_responses_per_s */
    ratio: number;
    /** the same ratio per round */
    round_ratios: number[];
    /**
     * Diagnostic, robust to a busy machine: mean generator CPU per response of raw echo ÷ that of
     * gatectl closed (1 = gatectl costs the generator no more per response than the raw client)
     */
    generator_cpu_per_response_ratio: number;
    goal: number;
    goal_met: boolean;
  };
  open: OpenModelCell;
  histogram: HistogramCost;
  codec: CodecCost;
  /** QUIC vs TCP raw echo, memory per connection, factor against the reference run (issue 13); null with --skip-transport */
  transport: TransportSection | null;
  warnings: string[];
}

/** One raw echo figure of the transport section: one transport at one shape. */
export interface TransportCell {
  transport: 'quic' | 'tcp';
  connections: number;
  in_flight: number;
  /**
   * 'measured': one raw echo phase in the transport section (its own fresh null gateway per transport, PRIME_ECHOES echoes per
   * connection before the window); 'main_raw_echo': the main section's raw echo rounds (same transport, shape and payload), pooled
   */
  source: 'measured' | 'main_raw_echo';
  /** the raw echo phases behind the figure (one when measured; round 0) */
  phases: ThroughputCell[];
  /** connections open in the phases (the fewest over them) */
  connected: number;
  /** Σ window_responses ÷ Σ window_s over the phases, responses/s (counted by the null gateway, as everywhere) */
  responses_per_s: number;
  /** mean over the phases, ns of generator / null gateway CPU per response */
  generator_cpu_ns_per_response: number;
  gateway_cpu_ns_per_response: number;
  /** write errors over the phases */
  errors: number;
}

/** QUIC ÷ TCP raw echo throughput at one shape. */
export interface QuicTcpRatio {
  connections: number;
  in_flight: number;
  quic_responses_per_s: number;
  tcp_responses_per_s: number;
  /** quic_responses_per_s ÷ tcp_responses_per_s (0 when tcp is 0) */
  ratio: number;
  /**
   * Diagnostic, robust to a busy machine: CPU per response of both processes (generator + null gateway, ns) of tcp ÷ that of
   * quic (1 = quic costs as little CPU per response as tcp; 0 when a figure is missing)
   */
  cpu_per_response_ratio: number;
  /** issue 13's goal at this shape (0.3 at 1000 × 1); null at other shapes */
  goal_min_ratio: number | null;
  goal_met: boolean | null;
}

/** Memory of one process at 0 and at N connections (process.memoryUsage, KB = 1024 bytes). */
export interface MemorySide {
  /** connections open when sampled at N (client: its open connections; server: the null gateway's own count) */
  connections: number;
  rss_at_0_kb: number;
  rss_at_n_kb: number;
  /** (rss_at_n_kb − rss_at_0_kb) ÷ connections, KB per connection */
  rss_per_connection_kb: number;
  /** V8 heap used at 0 and at N and its share per connection, KB (diagnostic: the JS part of the RSS growth) */
  heap_used_at_0_kb: number;
  heap_used_at_n_kb: number;
  heap_used_per_connection_kb: number;
  /** issue 13's bound (QUIC: client 100, server 150 KB per connection, at ≥ 1000 connections); null otherwise */
  goal_max_kb_per_connection: number | null;
  goal_met: boolean | null;
}

/** Memory per connection of one transport, client (generator process) and server (null gateway process). */
export interface TransportMemory {
  transport: 'quic' | 'tcp';
  /** the memory shape: the transport section's shape with the most connections */
  connections: number;
  in_flight: number;
  /** pause before each sample, ms */
  settle_ms: number;
  /** requests each connection echoed before the sample at N */
  prime_echoes: number;
  client: MemorySide;
  server: MemorySide;
}

/** The transport section (issue 13). */
export interface TransportSection {
  shapes: { connections: number; in_flight: number }[];
  /** length of each measured phase (the main section's --duration), s */
  phase_s: number;
  /** one per transport (quic, tcp) × shape */
  cells: TransportCell[];
  /** one per shape */
  quic_tcp: QuicTcpRatio[];
  /** quic and tcp at the memory shape */
  memory: TransportMemory[];
  reference: ReferenceComparison | null;
  /** why `reference` is null (file missing or unreadable, no cell of its transport and shape, other payload); null when present */
  reference_unavailable: string | null;
}
