/** Flags shared by serve, load and compare (oclif). Values are validated in src/config. */
import { Flags } from '@oclif/core';

/** Gateway flags (serve, and the in-process target of load/compare). */
export const gatewayFlags = {
  host: Flags.string({ description: 'address the gateway binds to', default: '127.0.0.1' }),
  transport: Flags.string({ description: 'quic or tcp', default: 'quic' }),
  'upstream-latency': Flags.string({ description: 'mock upstream latency per call (mean for exponential), e.g. 5ms', default: '5ms' }),
  'upstream-distribution': Flags.string({ description: 'mock latency distribution: fixed, uniform, exponential or lognormal', default: 'fixed' }),
  'upstream-error-rate': Flags.string({ description: 'mock: fraction of calls that fail (500), 0..1' }),
  'upstream-pause': Flags.string({ description: 'mock: one stop-the-world pause of this length (e.g. 1s) starting at call number --upstream-pause-after' }),
  'upstream-pause-after': Flags.integer({ description: 'mock: the call number that starts the --upstream-pause (default 1000)', min: 1 }),
  'upstream-timeout-rate': Flags.string({ description: 'mock: fraction of calls that never answer (504 after --task-timeout), 0..1' }),
  upstream: Flags.string({ description: 'HTTP upstream base URL (protobuf or JSON UpstreamRequest over POST); default: the in-process mock' }),
  'before-notifies': Flags.integer({ description: 'notifies sent before each response', default: 1, min: 0, max: 100 }),
  'after-notifies': Flags.integer({ description: 'notifies sent after each response', default: 1, min: 0, max: 100 }),
  'processor-workers': Flags.integer({ description: 'AsyncRequestProcessor workers (PROCESSOR_MAX_WORKERS, default CPU×4)', min: 1 }),
  'processor-queue-size': Flags.integer({ description: 'AsyncRequestProcessor queue (PROCESSOR_MAX_QUEUE_SIZE, default 10000); full → 503', min: 1 }),
  'task-timeout': Flags.string({ description: 'upstream call timeout (PROCESSOR_TASK_TIMEOUT, default 30s); on expiry 504' }),
  'send-workers': Flags.integer({ description: 'QUEUE_SEND_WORKER_COUNT', min: 1 }),
  'send-queue-size': Flags.integer({ description: 'QUEUE_SEND_QUEUE_SIZE', min: 1 }),
  'max-queue-size': Flags.integer({ description: 'QUEUE_MAX_QUEUE_SIZE', min: 1 }),
  'batch-size': Flags.integer({ description: 'QUEUE_SEND_BATCH_SIZE', min: 1 }),
  'lock-scope': Flags.string({ description: 'QUEUE_LOCK_SCOPE: global or session' }),
  'max-frame-bytes': Flags.integer({ description: 'largest accepted frame in bytes (default 1 MiB)', min: 16 }),
  quota: Flags.string({ description: 'seed 003 quota consumption: auto (sync with --mode sync, async with --mode async), sync, async or off', default: 'auto' }),
  config: Flags.string({ description: 'YAML config with an async_quota: section (seed 003 keys: enabled, consumer.worker_count, channel_size, batch_size, flush_interval, retry_attempts, retry_delay)' }),
  'quota-preset': Flags.string({ description: 'seed 003 preset: default, high-concurrency or low-latency' }),
  'quota-db': Flags.string({ description: 'SQLite file of the quota store (default .gatectl/quota.db, created on first run)' }),
  'quota-workers': Flags.integer({ description: 'async_quota.consumer.worker_count', min: 1 }),
  'quota-batch-size': Flags.integer({ description: 'async_quota.consumer.batch_size', min: 1 }),
  'events-url': Flags.string({ description: 'export one event per business request through VineQueue (WAL, batches, breaker) to this HTTP sink as NDJSON' }),
  'events-dir': Flags.string({ description: 'WAL directory of the event export (default .gatectl/events-wal)' }),
  'session-buffer-limit': Flags.integer({ description: 'frames a session may have unwritten before it is closed as a slow consumer (default 10000)', min: 1 }),
  'write-stall-timeout': Flags.string({ description: 'a write pending this long closes the session as a slow consumer (default 10s; 0 = never)' }),
  'max-sessions': Flags.integer({ description: 'most concurrent sessions; beyond it new connections are refused (default 100000)', min: 1 }),
  'session-rate-limit': Flags.integer({ description: 'business requests per second per session; beyond it 429 (default: no cap)', min: 1 }),
  'idle-timeout': Flags.string({ description: 'close sessions silent (no request, ack or heartbeat) for this long, e.g. 90s; 0 = never (default 90s)' }),
};

/** Load flags (load and compare). */
export const loadFlags = {
  clients: Flags.integer({ description: 'concurrent clients (one connection each)', default: 1000, min: 1 }),
  duration: Flags.string({ description: 'length of the steady phase, e.g. 20s', default: '30s' }),
  model: Flags.string({ description: 'open (arrival rate, coordinated-omission corrected) or closed (--concurrency in flight per client)', default: 'open' }),
  rate: Flags.string({ description: 'open model: total requests per second across all clients (wrk2 -R, k6 constant-arrival-rate)' }),
  'rate-per-client': Flags.string({ description: 'open model: requests per second per client (default 1; total = clients × this)' }),
  'max-in-flight': Flags.integer({ description: 'open model: outstanding requests per client beyond which an intended send is dropped and counted (dropped_iterations)', default: 1000, min: 1 }),
  concurrency: Flags.integer({ description: 'closed model: requests in flight per client', default: 1, min: 1 }),
  'think-time': Flags.string({ description: 'closed model: pause after each answer, e.g. 100ms', default: '0ms' }),
  heartbeat: Flags.string({ description: 'a client silent this long sends a Heartbeat (0 = never)', default: '30s' }),
  workers: Flags.integer({ description: 'generator processes the clients are split over (histograms merged, never averaged)', default: 1, min: 1, max: 64 }),
  shard: Flags.string({ description: 'run slice INDEX/COUNT (0-based) of the clients and of the rate; merge the results with report --merge' }),
  'payload-bytes': Flags.integer({ description: 'business request payload size in bytes', default: 64, min: 0, max: 1_000_000 }),
  'connect-timeout': Flags.string({ description: 'per-connection connect timeout', default: '10s' }),
  'drain-timeout': Flags.string({ description: 'longest wait for outstanding responses after the steady phase', default: '10s' }),
  quiet: Flags.boolean({ description: 'no progress line on stderr', default: false }),
  scenario: Flags.string({ description: 'scenario YAML (scenarios/*.yaml): stages, mix, upstream, gateway settings and thresholds' }),
  full: Flags.boolean({ description: 'with --scenario: apply its full: block (the report\'s full-length test)', default: false }),
  threshold: Flags.string({ description: 'k6-style pass/fail criterion, repeatable: e2e:p(99)<50ms, errors:rate<0.01, enqueue_latency:p(99)<1ms; any failure → exit 99', multiple: true }),
};

/** Capacity-search flags (load and compare). */
export const capacityFlags = {
    'find-max': Flags.boolean({ description: 'capacity search: open-model steps doubling from --rate until --slo or --error-budget breaks, then bisection; reports the last rate that held', default: false }),
    slo: Flags.string({ description: 'with --find-max: k6 threshold each step must pass (repeatable; default e2e:p(99)<100ms)', multiple: true }),
    'error-budget': Flags.string({ description: 'with --find-max: largest error rate a step may have (default 0.01)' }),
    'start-rate': Flags.integer({ description: 'with --find-max: the first step\'s rate, requests/s (default: the run\'s --rate; compare: 100)', min: 1 }),
    'max-rate': Flags.integer({ description: 'with --find-max: highest rate tried, requests/s (default 1000000)', min: 1 }),
    'step-duration': Flags.string({ description: 'with --find-max: length of each step (default 5s)' }),
    refine: Flags.integer({ description: 'with --find-max: bisection steps after the first broken step (default 3)', min: 0, max: 20 }),
};
