/**
 * Flags shared by serve, load and compare (oclif). Values are validated in src/config. Each flag
 * belongs to a --help section (oclif `helpGroup`): LOAD, TARGET, OUTPUT, CAPACITY, and for the
 * gateway GATEWAY, GATEWAY LIMITS and QUOTA & EVENTS, so `load --help` reads by concern.
 */
import { Flags } from '@oclif/core';

/** `flags` with oclif's `helpGroup` set to `group` where a flag names none (its --help section). */
export function inGroup<T extends Record<string, object>>(group: string, flags: T): T {
  return Object.fromEntries(Object.entries(flags).map(([name, flag]) => [name, { helpGroup: group, ...flag }])) as T;
}

const LIMITS = 'GATEWAY LIMITS';
const UPSTREAM = 'UPSTREAM';
const CLIENTS = 'CLIENTS';
const QUOTA = 'QUOTA & EVENTS';

/** Gateway flags (serve, and the in-process target of load/compare). */
export const gatewayFlags = inGroup('GATEWAY', {
  host: Flags.string({ description: 'address the gateway binds to', default: '127.0.0.1' }),
  transport: Flags.string({ description: 'quic or tcp', default: 'quic' }),
  'upstream-latency': Flags.string({ helpGroup: UPSTREAM, description: 'mock upstream latency per call (mean for exponential), e.g. 5ms', default: '5ms' }),
  'upstream-distribution': Flags.string({ helpGroup: UPSTREAM, description: 'mock latency distribution: fixed, uniform, exponential or lognormal', default: 'fixed' }),
  'upstream-error-rate': Flags.string({ helpGroup: UPSTREAM, description: 'mock: fraction of calls that fail (500), 0..1' }),
  'upstream-pause': Flags.string({ helpGroup: UPSTREAM, description: 'mock: one stop-the-world pause of this length (e.g. 1s) starting at call number --upstream-pause-after' }),
  'upstream-pause-after': Flags.integer({ helpGroup: UPSTREAM, description: 'mock: the call number that starts the --upstream-pause (default 1000)', min: 1 }),
  'upstream-timeout-rate': Flags.string({ helpGroup: UPSTREAM, description: 'mock: fraction of calls that never answer (504 after --task-timeout), 0..1' }),
  upstream: Flags.string({ helpGroup: UPSTREAM, description: 'HTTP upstream base URL (protobuf or JSON UpstreamRequest over POST); default: the in-process mock' }),
  'before-notifies': Flags.integer({ description: 'notifies sent before each response', default: 1, min: 0, max: 100 }),
  'after-notifies': Flags.integer({ description: 'notifies sent after each response', default: 1, min: 0, max: 100 }),
  'processor-workers': Flags.integer({ description: 'async mode: requests handled at once by the request processor (env PROCESSOR_MAX_WORKERS; default CPUs × 4)', min: 1 }),
  'processor-queue-size': Flags.integer({ description: 'async mode: requests waiting for a processor worker, at most; beyond it 503 (env PROCESSOR_MAX_QUEUE_SIZE; default 10000)', min: 1 }),
  'task-timeout': Flags.string({ description: 'longest upstream call; on expiry 504 (env PROCESSOR_TASK_TIMEOUT; default 30s)' }),
  'send-workers': Flags.integer({ description: 'async send: workers that write queued messages to the sessions (env QUEUE_SEND_WORKER_COUNT)', min: 1 }),
  'send-queue-size': Flags.integer({ description: 'async send: messages waiting for a send worker, at most (env QUEUE_SEND_QUEUE_SIZE)', min: 1 }),
  'max-queue-size': Flags.integer({ description: 'messages one session may hold out of order, waiting for an earlier server_seq, at most (env QUEUE_MAX_QUEUE_SIZE)', min: 1 }),
  'batch-size': Flags.integer({ description: 'async send: messages a send worker writes to one session in one go, at most (env QUEUE_SEND_BATCH_SIZE)', min: 1 }),
  'lock-scope': Flags.string({ description: 'the ordered queue\'s lock: global (one lock for every session, as seed 001\'s gateway) or session (one per session) (env QUEUE_LOCK_SCOPE)' }),
  'max-frame-size': Flags.string({ helpGroup: LIMITS, description: 'largest frame either way: bytes or 64KiB, 1MiB (default 64KiB, 1KiB to 16MiB); a bigger client frame gets 413 and its session is closed' }),
  'max-frame-bytes': Flags.integer({ helpGroup: LIMITS, description: 'older spelling of --max-frame-size, in bytes' }),
  'hello-timeout': Flags.string({ helpGroup: LIMITS, description: 'a session that has not completed Hello this long after connecting gets 408 and is closed; heartbeats do not extend it (default 10s; 0 = never; 100ms to 10m)' }),
  'max-pending-sessions': Flags.integer({ helpGroup: LIMITS, description: 'sessions still without a completed Hello, at most; they count towards --max-sessions (default 10% of it; 1 to --max-sessions)' }),
  'max-header-entries': Flags.integer({ helpGroup: LIMITS, description: 'entries in one request\'s headers map, at most; beyond it 400 (default 64)' }),
  'max-header-bytes': Flags.integer({ helpGroup: LIMITS, description: 'bytes of one request\'s header keys and values, at most; beyond it 400 (default 8192)' }),
  'turn-budget-bytes': Flags.integer({ helpGroup: LIMITS, description: 'fairness: bytes of one session\'s input decoded per event-loop turn before the other sessions go (default 4096; 1024 to 16777216)' }),
  'turn-budget-messages': Flags.integer({ helpGroup: LIMITS, description: 'fairness: messages of one session handled per event-loop turn before the other sessions go (default 32; 1 to 100000)' }),
  quota: Flags.string({ helpGroup: QUOTA, description: 'seed 003 quota consumption: auto (sync with --mode sync, async with --mode async), sync, async or off', default: 'auto' }),
  config: Flags.string({ helpGroup: QUOTA, description: 'YAML config with an async_quota: section (seed 003 keys: enabled, consumer.worker_count, channel_size, batch_size, flush_interval, retry_attempts, retry_delay)' }),
  'quota-preset': Flags.string({ helpGroup: QUOTA, description: 'seed 003 preset: default, high-concurrency or low-latency' }),
  'quota-db': Flags.string({ helpGroup: QUOTA, description: 'SQLite file of the quota store, created on first run (default quota.db in the state directory: $GATECTL_STATE_DIR, else ~/.local/share/gatectl; load/compare: a temporary one)' }),
  'quota-workers': Flags.integer({ helpGroup: QUOTA, description: 'async quota: consumers writing usage batches to the store (config async_quota.consumer.worker_count)', min: 1 }),
  'quota-batch-size': Flags.integer({ helpGroup: QUOTA, description: 'async quota: consumption events per store write, at most (config async_quota.consumer.batch_size)', min: 1 }),
  'quota-durable': Flags.boolean({ helpGroup: QUOTA, description: 'write each async quota consumption to a write-ahead log (VineQueue) before the answer, apply it to the store in batches, and replay it after a crash (each event counted once); a start first applies what the WAL holds', default: false }),
  'quota-wal-dir': Flags.string({ helpGroup: QUOTA, description: 'with --quota-durable: WAL directory, empty or made by gatectl for the same --quota-db (default quota-wal in the state directory, see --quota-db)' }),
  'quota-wal-fsync': Flags.string({ helpGroup: QUOTA, description: 'with --quota-durable: interval (fdatasync every second; survives a process crash, a machine crash loses up to 1 s) or always (fdatasync before each answer)' }),
  'events-url': Flags.string({ helpGroup: QUOTA, description: 'export one event per business request through VineQueue (WAL, batches, breaker) to this HTTP sink as NDJSON' }),
  'events-dir': Flags.string({ helpGroup: QUOTA, description: 'WAL directory of the event export (default events-wal in the state directory, see --quota-db)' }),
  'session-buffer-limit': Flags.integer({ helpGroup: LIMITS, description: 'frames a session may have unwritten before it is closed as a slow consumer (default 10000)', min: 1 }),
  'write-stall-timeout': Flags.string({ helpGroup: LIMITS, description: 'a write pending this long closes the session as a slow consumer (default 10s; 0 = never)' }),
  'quic-retry': Flags.boolean({ helpGroup: LIMITS, description: 'QUIC: validate a new client\'s address with a stateless Retry before keeping state for it (on by default; --no-quic-retry saves that round trip)', allowNo: true }),
  'max-sessions': Flags.integer({ helpGroup: LIMITS, description: 'most concurrent sessions; beyond it new connections are refused (default 100000)', min: 1 }),
  'session-rate-limit': Flags.integer({ helpGroup: LIMITS, description: 'business requests per second per session; beyond it 429 (default: no cap)', min: 1 }),
  'idle-timeout': Flags.string({ description: 'close sessions silent (no request, ack or heartbeat) for this long, e.g. 90s; 0 = never (default 90s)', helpGroup: LIMITS }),
});

/** Load flags (load and compare). */
export const loadFlags = inGroup('LOAD', {
  clients: Flags.integer({ char: 'c', aliases: ['vus'], description: 'concurrent clients, one connection each (k6 --vus)', default: 1000, min: 1 }),
  duration: Flags.string({ char: 'd', description: 'length of the steady phase: 500ms, 30s, 1m30s, 2h (at most 24h unless --no-duration-limit)', default: '30s' }),
  'duration-limit': Flags.boolean({ description: 'refuse a --duration above 24h (a typo such as 100h); --no-duration-limit lifts it', default: true, allowNo: true }),
  model: Flags.string({ description: 'open (arrival rate, coordinated-omission corrected) or closed (--concurrency in flight per client)', default: 'open' }),
  rate: Flags.string({ char: 'R', description: 'open model: total requests per second across all clients (wrk2 -R, k6 constant-arrival-rate)' }),
  'rate-per-client': Flags.string({ description: 'open model: requests per second per client (default 1; total = clients × this)' }),
  'max-in-flight': Flags.integer({ description: 'open model: outstanding requests per client; an arrival beyond it waits in the client\'s backlog and leaves late (schedule lag, wrk2); what still waits when the schedule ends is dropped_iterations (k6)', default: 1000, min: 1 }),
  concurrency: Flags.integer({ description: 'closed model: requests in flight per client', default: 1, min: 1 }),
  'think-time': Flags.string({ description: 'closed model: pause after each answer, e.g. 100ms', default: '0ms' }),
  heartbeat: Flags.string({ helpGroup: CLIENTS, description: 'a client silent this long sends a Heartbeat (0 = never)', default: '30s' }),
  workers: Flags.integer({ helpGroup: CLIENTS, description: 'generator processes the clients are split over (histograms merged, never averaged)', default: 1, min: 1, max: 64 }),
  'start-at': Flags.string({ description: 'wall-clock start of the steady phase, ISO 8601 with a zone (e.g. 2026-12-01T23:50:00Z): the clients connect first, then every shard begins its schedule at this instant (deploy/k8s sets it for all pods)' }),
  shard: Flags.string({ helpGroup: CLIENTS, description: 'run slice INDEX/COUNT (0-based) of the clients and of the rate; merge the results with report --merge' }),
  'payload-bytes': Flags.integer({ description: 'business request payload size in bytes', default: 64, min: 0, max: 1_000_000 }),
  'connect-timeout': Flags.string({ helpGroup: CLIENTS, description: 'per-connection connect timeout', default: '10s' }),
  'drain-timeout': Flags.string({ helpGroup: CLIENTS, description: 'longest wait for outstanding responses after the steady phase', default: '10s' }),
  'slow-clients': Flags.string({ description: 'load fault (seed 001): this share of the clients, e.g. 1%, read their stream slowly (--slow-read-rate, twenty reads a second, through a --slow-receive-window stream window), so QUIC flow control stalls the gateway\'s writes to them; their figures are reported apart (QUIC only)' }),
  'slow-read-rate': Flags.integer({ description: 'with --slow-clients: bytes per second each slow client reads at most (default 32768)', min: 1 }),
  'slow-receive-window': Flags.integer({ description: 'with --slow-clients: stream receive window each slow client advertises and keeps, bytes (default 1024; a healthy client\'s is 1 MiB): a write stalls when the pushes of one request (the response echoes --payload-bytes) do not fit in it', min: 64, max: 1_048_576 }),
  reconnect: Flags.boolean({ helpGroup: CLIENTS, description: 'a client whose connection is lost dials again (backoff 100 ms to 5 s with jitter), says Hello and goes on with the schedule; --no-reconnect: it stays closed for the rest of the run', default: true, allowNo: true }),
  'client-idle-timeout': Flags.string({ helpGroup: CLIENTS, description: 'QUIC: declare the target lost when it sent nothing (keep-alive PINGs unanswered) for this long, e.g. 2s (300ms to 10m)', default: '2s' }),
  quiet: Flags.boolean({ helpGroup: 'OUTPUT', description: 'no progress line on stderr', default: false }),
  scenario: Flags.string({ description: 'scenario YAML (scenarios/*.yaml): stages, mix, upstream, gateway settings and thresholds' }),
  full: Flags.boolean({ description: 'with --scenario: apply its full: block (the report\'s full-length test)', default: false }),
  threshold: Flags.string({ description: 'k6-style pass/fail criterion, repeatable: e2e:p(99)<50ms, errors:rate<0.01, enqueue_latency:p(99)<1ms; any failure → exit 99', multiple: true }),
});

/** Capacity-search flags (load and compare). */
export const capacityFlags = inGroup('CAPACITY', {
    'find-max': Flags.boolean({ description: 'capacity search: open-model steps doubling from --rate until --slo or --error-budget breaks, then bisection; reports the last rate that held', default: false }),
    slo: Flags.string({ description: 'with --find-max: k6 threshold each step must pass (repeatable; default e2e:p(99)<100ms)', multiple: true }),
    'error-budget': Flags.string({ description: 'with --find-max: largest error rate a step may have (default 0.01)' }),
    'start-rate': Flags.integer({ description: 'with --find-max: the first step\'s rate, requests/s (default: the run\'s --rate; compare: 100)', min: 1 }),
    'max-rate': Flags.integer({ description: 'with --find-max: highest rate tried, requests/s (default 1000000)', min: 1 }),
    'step-duration': Flags.string({ description: 'with --find-max: length of each step (default 5s)' }),
    refine: Flags.integer({ description: 'with --find-max: bisection steps after the first broken step (default 3)', min: 0, max: 20 }),
});

/** Outputs and report statistics of `load` (issue 12 §3-5). */
export const outputFlags = inGroup('OUTPUT', {
  out: Flags.string({
    description: 'repeatable: a bare FILE is the result JSON (default reports/run-<mode>-<time>.json); json=FILE also writes one JSON object per second and a final summary (NDJSON) while the run goes, csv=FILE one row per second (k6 --out)',
    multiple: true,
  }),
  percentiles: Flags.string({ description: 'latency statistics the reports, --out json/csv and the dashboard show, in this order: percentiles and min, mean, max (k6 summaryTrendStats; default 50,90,95,99,99.9,max)' }),
  dashboard: Flags.boolean({ description: 'serve a live page on 127.0.0.1 (--dashboard-port) that updates each second during the run and offers the HTML report at the end', default: false }),
  'dashboard-port': Flags.integer({ description: 'with --dashboard: its port on 127.0.0.1 (default 5665, as k6; 0 = any free port)', min: 0, max: 65535 }),
  'metrics-port': Flags.integer({ description: 'expose the load generator\'s own metrics (request rate, e2e latency histogram, clients connected, errors, violations) in Prometheus format at http://127.0.0.1:PORT/metrics during the run (0 = any free port)', min: 0, max: 65535 }),
});
