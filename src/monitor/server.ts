/**
 * Monitoring endpoints of seed 000 (HTTP监控接口), JSON on the monitor port, bound to 127.0.0.1 by
 * default. Paths and keys are a contract: the `curl … | jq …` lines of seed 000 work as written.
 * This module builds the bodies from the gateway's live figures on the gateway's thread; it
 * computes nothing the gateway did not measure. The HTTP server itself runs on a worker thread
 * (front.ts), so connections, parsing and writing answers never take the gateway's event loop.
 */
import { EventEmitter } from 'node:events';
import { MessageChannel, Worker } from 'node:worker_threads';
import { AddressInUseError, InvalidInputError } from '../errors.js';
import type { GatewayServer } from '../gateway/index.js';
import { QUEUE_ENV } from '../queue/index.js';
import { summarize } from '../metrics/histogram.js';
import { optimizationAnalysis } from './optimization.js';
import { Exposition, EXPOSITION_MAX_AGE_MS, createGatewayRegistry } from './prometheus.js';
import { familyByLabel } from '../gateway/counters.js';
import { quotaHealthJson, quotaStatsJson } from '../quota/index.js';
import { isLoopbackHost, startFront, type FrontOptions, type FrontPort, type FrontReply, type FrontRequest } from './front.js';

export { ADMIN_ENDPOINTS, MONITOR_ENDPOINTS, isLoopbackHost, parsePushRequest } from './front.js';

/** Options of the monitor server. */
export interface MonitorOptions {
  /** serve `POST /push` (server-initiated unbound notifies); off by default */
  admin?: boolean;
  /** bearer token every request must carry (`Authorization: Bearer …`); required off loopback */
  token?: string;
  /** longest a `/metrics` text is served from the cache, ms (default 1000) */
  metricsMaxAgeMs?: number;
  /**
   * where the HTTP front runs: `worker` (default, its own thread) or `inline` (this thread, over a
   * MessageChannel: for measuring what the worker saves)
   */
  front?: 'worker' | 'inline';
}

/** Seed 000 性能调优指南 presets, as environment settings. */
export const CONFIGURATION_EXAMPLES = {
  high_performance: { QUEUE_SEND_WORKER_COUNT: '8', QUEUE_SEND_QUEUE_SIZE: '2000', QUEUE_MAX_QUEUE_SIZE: '2000' },
  memory_constrained: { QUEUE_SEND_WORKER_COUNT: '2', QUEUE_SEND_QUEUE_SIZE: '500' },
  debug: { QUEUE_ENABLE_ASYNC_SEND: 'false', QUEUE_ENABLE_DEBUG_LOG: 'true' },
} as const;

/**
 * `/gateway/stats` (issue 16 §4): every gateway counter, and the same counters grouped the way an
 * operator asks: sessions by state, closes, refused connections and refused requests by reason,
 * frame errors by reason, login failures, error responses by code, fairness and crash counts. The
 * groups come from the table `/metrics` is built from (gateway/counters.ts).
 */
export function gatewayStatsJson(gw: GatewayServer): unknown {
  const c = gw.snapshotCounters();
  const held = gw.heldInput();
  const frameErrors = Object.values(c.frame_errors).reduce((a, b) => a + b, 0);
  return {
    gateway_stats: {
      sessions: {
        total: c.sessions_active,
        by_state: { connected: c.sessions_pending, active: c.sessions_active - c.sessions_pending },
        created: c.sessions_created,
        limits: { max_sessions: gw.config.maxSessions, max_pending_sessions: gw.config.maxPendingSessions, hello_timeout_ms: gw.config.helloTimeoutMs },
      },
      closes_by_reason: { ...familyByLabel('gatectl_session_closes_total', 'reason', c), login_refused: c.login_failures, frame_error: frameErrors },
      connections_refused_by_reason: familyByLabel('gatectl_connections_refused_total', 'reason', c),
      requests_refused_by_reason: { ...familyByLabel('gatectl_requests_refused_total', 'reason', c), processor_queue_full: gw.processor?.rejected ?? 0 },
      frame_errors_by_reason: c.frame_errors,
      login_failures: c.login_failures,
      errors_by_code: c.errors_by_code,
      fairness: {
        deferrals: c.input_deferrals, read_pauses: c.read_pauses, sessions_holding_input: held.sessions, held_input_bytes: held.bytes,
        paused_sessions: held.paused, turn_budget: gw.config.turnBudget, max_frame_bytes: gw.config.maxFrameBytes,
      },
      uncaught_errors: familyByLabel('gatectl_uncaught_errors_total', 'kind', c),
      counters: c,
    },
  };
}

/** Builds the JSON body of a monitor path, or null for an unknown path (pure over the gateway's snapshot). */
export function monitorBody(gw: GatewayServer, path: string): unknown {
  switch (path) {
    case '/healthz':
      return { status: 'ok', sessions: gw.sessions.size, transport: gw.transportStats() };
    case '/gateway/stats':
      return gatewayStatsJson(gw);
    case '/queue/config': {
      const q = gw.config.queue;
      return {
        queue_configuration: {
          current_config: {
            enable_async_send: q.enableAsyncSend, send_worker_count: q.sendWorkerCount, send_queue_size: q.sendQueueSize,
            max_queue_size: q.maxQueueSize, send_batch_size: q.sendBatchSize, lock_scope: q.lockScope, enable_debug_log: q.enableDebugLog,
          },
          environment_variables: QUEUE_ENV,
          configuration_examples: CONFIGURATION_EXAMPLES,
        },
      };
    }
    case '/queue/async-stats': {
      const { workers, ...summary } = gw.send.snapshot();
      const sessions = [...gw.send.sessionQueues]
        .map((q) => ({ session_id: q.sessionId, next_expected_seq: q.nextExpectedSeq, ready: q.readyCount, waiting: q.waitingCount }))
        .sort((a, b) => b.ready + b.waiting - (a.ready + a.waiting))
        .slice(0, 10);
      return { async_queue_analysis: { summary: { sessions: gw.sessions.size, mode: gw.config.queue.enableAsyncSend ? 'async' : 'sync', ...summary }, workers, top_sessions: sessions } };
    }
    case '/latency/send-ordered': {
      const s = gw.stages.snapshot();
      return {
        send_ordered_message_latency_analysis: {
          unit: 'µs',
          queuing_phase: { enqueue_latency: s.enqueue_latency, lock_wait: s.lock_wait, send_queue_wait: s.send_queue_wait },
          sending_phase: { direct_send_latency: s.direct_send_latency, write_message_latency: s.write_message_latency },
          metrics_phase: { metrics_update_latency: s.metrics_update_latency },
        },
      };
    }
    case '/latency/business': {
      const s = gw.stages.snapshot();
      return { business_latency_analysis: { unit: 'µs', upstream_latency: s.upstream_latency, business_latency: s.business_latency, quota_check_latency: s.quota_check_latency, quota_consume_latency: s.quota_consume_latency } };
    }
    case '/queue/optimization':
      return optimizationAnalysis({
        queue: gw.send.snapshot(),
        enqueue: summarize(gw.stages.histogram('enqueue_latency')),
        lockWait: summarize(gw.stages.histogram('lock_wait')),
        config: gw.config.queue,
      });
    case '/processor/stats': {
      const c = gw.snapshotCounters();
      const stats = gw.processor?.stats();
      return {
        processor: stats === undefined ? null : { ...stats, upstream_errors: c.upstream_errors, timeouts: c.upstream_timeouts },
        mode: gw.config.processorMode,
      };
    }
    case '/quota/stats':
      return gw.quota === null ? { quota_stats: { enabled: false } } : quotaStatsJson(gw.quota);
    case '/quota/health':
      return gw.quota === null ? { healthy: true, enabled: false, reasons: [] } : quotaHealthJson(gw.quota);
    case '/events/stats': {
      const e = gw.config.events;
      return { event_export: e === undefined || gw.events === null ? { enabled: false } : { enabled: true, url: e.url, wal_dir: e.dir, ...gw.events.metrics() } };
    }
    default:
      return null;
  }
}

/** What the monitor uses of the front's thread: a Worker, or the inline stand-in. */
type FrontHandle = Pick<Worker, 'postMessage' | 'on' | 'once' | 'unref' | 'terminate'>;

/** The front on this thread, behind a MessageChannel, shaped like the worker it replaces. */
function inlineFront(options: FrontOptions): FrontHandle {
  const { port1, port2 } = new MessageChannel();
  const events = new EventEmitter();
  port1.on('message', (m) => events.emit('message', m));
  port2.once('close', () => events.emit('exit', 0));
  startFront(options, port2 as unknown as FrontPort);
  const handle = {
    postMessage: (m: unknown) => port1.postMessage(m),
    on: (e: string, f: (...a: unknown[]) => void) => { events.on(e, f); return handle; },
    once: (e: string, f: (...a: unknown[]) => void) => { events.once(e, f); return handle; },
    unref: () => { port1.unref(); port2.unref(); },
    terminate: async () => { port1.close(); return 0; },
  };
  return handle as unknown as FrontHandle;
}

/** A running monitor server. */
export interface MonitorServer {
  /** `http://host:port` */
  url: string;
  close(): Promise<void>;
}

/**
 * Starts the monitor on host:port (and, with `options.admin`, `POST /push`). With `options.token`,
 * every request needs `Authorization: Bearer <token>` (401 otherwise). The HTTP server runs on a
 * worker thread; bodies are built here when it asks, `/metrics` at most once per
 * `options.metricsMaxAgeMs` (1 s) whatever the scrape rate, yielding this thread's event loop every
 * 0.3 ms of work or so (issue 16 §3). Rejects with InvalidInputError when `host` is not
 * loopback and no token is given (issue 7: the monitor and admin endpoints are never open to the
 * network), AddressInUseError when the port is taken.
 */
export function startMonitor(gw: GatewayServer, host: string, port: number, options: MonitorOptions = {}): Promise<MonitorServer> {
  if (!isLoopbackHost(host) && (options.token === undefined || options.token === '')) {
    return Promise.reject(new InvalidInputError(`--monitor-host ${host} is reachable from other machines: give a token (--monitor-token-file FILE or GATECTL_MONITOR_TOKEN; clients send "Authorization: Bearer TOKEN"), or bind 127.0.0.1`));
  }
  const exposition = new Exposition((stats) => createGatewayRegistry(gw, stats));
  // one build now, while nothing waits for it: the first one compiles the code paths (10-15 ms of work)
  exposition.build().catch(() => undefined);
  const workerData: FrontOptions = {
    host, port, admin: options.admin === true, metricsMaxAgeMs: options.metricsMaxAgeMs ?? EXPOSITION_MAX_AGE_MS,
    ...(options.token !== undefined ? { token: options.token } : {}),
  };
  const worker: FrontHandle = options.front === 'inline' ? inlineFront(workerData) : new Worker(new URL('./front-worker.js', import.meta.url), { workerData });
  const reply = (m: FrontReply) => worker.postMessage(m);
  const replyJson = (id: number, status: number, body: unknown) => reply({ type: 'reply', id, status, contentType: 'application/json', body: JSON.stringify(body, null, 2) });
  const onRequest = (m: FrontRequest): void => {
    if (m.type === 'push') {
      gw.push(m.target, { topic: m.topic, payload: m.payload }).then(
        (delivered) => replyJson(m.id, 200, { delivered }),
        (err: Error) => replyJson(m.id, 500, { error: `push failed: ${err.message}` }),
      );
      return;
    }
    if (m.type !== 'body') return;
    if (m.path === '/metrics') {
      exposition.stats.scrapes = m.scrapes;
      exposition.build().then(
        (body) => reply({ type: 'reply', id: m.id, status: 200, contentType: exposition.contentType, body }),
        (err: Error) => replyJson(m.id, 500, { error: `metrics failed: ${err.message}` }),
      );
      return;
    }
    let body: unknown;
    try {
      body = monitorBody(gw, m.path);
    } catch (err) {
      return replyJson(m.id, 500, { error: `${m.path} failed: ${(err as Error).message}` });
    }
    if (body === null) return replyJson(m.id, 404, { error: `no such endpoint: ${m.path}` });
    // /quota/health answers 503 when unhealthy, so a probe can use the status alone
    const status = m.path === '/quota/health' && (body as { healthy: boolean }).healthy === false ? 503 : 200;
    replyJson(m.id, status, body);
  };
  return new Promise((resolve, reject) => {
    let listening = false;
    worker.on('error', (err) => {
      if (!listening) reject(err);
      else gw.log.error({ err }, 'monitor front failed: the monitor is down, the gateway goes on');
    });
    worker.once('exit', (code) => {
      if (!listening) reject(new Error(`monitor worker exited with code ${code} before listening`));
    });
    worker.on('message', (m: FrontRequest) => {
      if (m.type === 'listening') {
        listening = true;
        worker.unref();
        const h = m.address.includes(':') ? `[${m.address}]` : m.address;
        let closing: Promise<void> | null = null;
        resolve({
          url: `http://${h}:${m.port}`,
          close: () => {
            closing ??= new Promise<void>((done) => {
              const timer = setTimeout(() => void worker.terminate().then(() => done()), 2000);
              worker.once('exit', () => { clearTimeout(timer); done(); });
              reply({ type: 'close' });
            });
            return closing;
          },
        });
      } else if (m.type === 'listen-error') {
        void worker.terminate();
        reject(m.code === 'EADDRINUSE'
          ? new AddressInUseError(`monitor port ${host}:${port} is already in use: pass --monitor-port 0 or another free port`)
          : new Error(`monitor cannot listen on ${host}:${port}: ${m.message}`));
      } else {
        onRequest(m);
      }
    });
  });
}
